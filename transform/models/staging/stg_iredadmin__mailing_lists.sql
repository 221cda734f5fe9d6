with current_rows as (
    {{ current_rows(source('iredadmin', 'mailing_lists'), ['address']) }}
)

select
    address,
    domain,
    cast(id as bigint) as list_id,
    name,
    description,
    accesspolicy,
    cast(maxmsgsize as bigint) as max_message_bytes,
    cast(is_newsletter as boolean) as is_newsletter,
    cast(active as boolean) as is_active,
    {{ utc('created') }} as created_at,
    settings,
    extra,
    {{ utc('_sdc_batched_at') }} as loaded_at
from current_rows
