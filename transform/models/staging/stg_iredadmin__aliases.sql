with current_rows as (
    {{ current_rows(source('iredadmin', 'aliases'), ['address']) }}
)

select
    address,
    domain,
    name,
    accesspolicy,
    cast(active as boolean) as is_active,
    {{ utc('created') }} as created_at,
    members,
    {{ array_size('members') }} as member_count,
    {{ array_text('moderators') }} as moderators,
    extra,
    {{ utc('_sdc_batched_at') }} as loaded_at
from current_rows
