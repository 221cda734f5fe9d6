with current_rows as (
    {{ current_rows(source('mailprotector', 'domains'), ['id']) }}
)

select
    cast(id as bigint) as domain_id,
    name as domain_name,
    cast({{ json_text('account', 'id') }} as bigint) as account_id,
    {{ json_text('account', 'name') }} as account_name,
    {{ json_text('domain_status', 'name') }} as domain_status,
    {{ json_text('parent', 'name') }} as parent_name,
    {{ utc('created_at') }} as created_at,
    {{ utc('updated_at') }} as updated_at,
    extra,
    {{ utc('_sdc_batched_at') }} as loaded_at
from current_rows
