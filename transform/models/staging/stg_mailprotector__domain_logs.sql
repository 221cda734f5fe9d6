with current_rows as (
    {{ current_rows(source('mailprotector', 'domain_logs'), ['id']) }}
)

select
    id as log_id,
    cast(domain_id as bigint) as domain_id,
    {{ json_text('"domain"', 'name') }} as tenant_domain,
    uuid,
    {{ utc('received_at') }} as received_at,
    sender,
    "from" as from_header,
    recipient,
    direction,
    subject,
    cast({{ json_text('score', 'score') }} as bigint) as spam_score,
    decision,
    quarantine_type,
    origin,
    ip,
    helo,
    ptr,
    postfix_queue_id,
    {{ array_text('results_data') }} as results_data,
    {{ array_size('rule_ids') }} as rule_count,
    {{ json_text('"user"', 'name') }} as user_name,
    {{ json_text('customer', 'name') }} as customer_name,
    {{ json_text('reseller', 'name') }} as reseller_name,
    extra,
    {{ utc('_sdc_batched_at') }} as loaded_at
from current_rows
