with current_rows as (
    {{ current_rows(source('rediffmail', 'report_windows'), ['domain', 'window_start', 'window_end']) }}
)

select
    domain || ' ' || cast(window_start as {{ dbt.type_string() }}) as window_key,
    domain as tenant_domain,
    {{ utc('window_start') }} as window_start,
    {{ utc('window_end') }} as window_end,
    cast(outbound_count as bigint) as outbound_count,
    cast(activity_count as bigint) as activity_count,
    {{ utc('_sdc_batched_at') }} as loaded_at
from current_rows
