with current_rows as (
    {{ current_rows(source('rediffmail', 'activity_report'), ['record_key']) }}
)

select
    record_key,
    domain as tenant_domain,
    {{ utc('date_time_utc') }} as occurred_at,
    {{ utc('window_start') }} as window_start,
    {{ utc('window_end') }} as window_end,
    actionby,
    actionon,
    upper(usertype) as usertype,
    actiontype,
    clientip,
    useragent,
    extra,
    {{ utc('_sdc_batched_at') }} as loaded_at
from current_rows
