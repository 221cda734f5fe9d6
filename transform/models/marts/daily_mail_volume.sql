with events as (
    select *, {{ utc_day('occurred_at') }} as day
    from {{ ref('mail_events') }}
),

messages as (
    select source, tenant_domain, day, message_key, max(size_bytes) as size_bytes
    from events
    group by source, tenant_domain, day, message_key
),

message_totals as (
    select
        source, tenant_domain, day,
        count(*) as messages,
        sum(size_bytes) as bytes
    from messages
    group by source, tenant_domain, day
),

recipient_totals as (
    select
        source, tenant_domain, day,
        count(*) as recipients,
        count(distinct sender) as distinct_senders
    from events
    group by source, tenant_domain, day
)

select
    message_totals.source || ' ' || message_totals.tenant_domain || ' '
        || cast(message_totals.day as {{ dbt.type_string() }}) as volume_key,
    message_totals.source,
    message_totals.tenant_domain,
    message_totals.day,
    message_totals.messages,
    recipient_totals.recipients,
    message_totals.bytes,
    recipient_totals.distinct_senders
from message_totals
inner join recipient_totals
    on recipient_totals.source = message_totals.source
    and recipient_totals.tenant_domain = message_totals.tenant_domain
    and recipient_totals.day = message_totals.day
