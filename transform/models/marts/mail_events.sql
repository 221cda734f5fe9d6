{#- Incremental: each build reads only the rows of each source loaded after the
    newest it already holds (a loader stamps and commits a batch at once, and one
    tap's loads do not overlap), and replaces events by key: a row the tap sent
    again (an overlap re-read, a full refresh) is updated, never doubled. -#}
{{ config(
    materialized='incremental',
    unique_key='event_key',
    incremental_strategy='delete+insert',
) }}

with rediffmail as (
    select
        'rediffmail' as source,
        record_key as source_key,
        tenant_domain,
        sent_at as occurred_at,
        'outbound' as direction,
        from_address as sender,
        recipient,
        subject,
        mail_size_bytes as size_bytes,
        sender_ip,
        status as result,
        status_code as result_code,
        {{ dbt.hash(dbt.concat([
            "tenant_domain", "'|'", "coalesce(from_address, '')", "'|'",
            "coalesce(cast(sent_at as " ~ dbt.type_string() ~ "), record_key)", "'|'",
            "coalesce(subject, '')", "'|'",
            "coalesce(cast(mail_size_bytes as " ~ dbt.type_string() ~ "), '')", "'|'",
            "coalesce(sender_ip, '')",
        ])) }} as message_key,
        loaded_at
    from {{ ref('stg_rediffmail__outbound_mail_delivery_report') }}
    {% if is_incremental() %}
    where loaded_at > (
        select coalesce(max(loaded_at), {{ utc("'1970-01-01'") }})
        from {{ this }}
        where source = 'rediffmail'
    )
    {% endif %}
),

mailprotector as (
    select
        'mailprotector' as source,
        log_id as source_key,
        tenant_domain,
        received_at as occurred_at,
        direction,
        sender,
        recipient,
        subject,
        cast(null as bigint) as size_bytes,
        ip as sender_ip,
        decision as result,
        spam_score as result_code,
        {{ dbt.hash(dbt.concat([
            "tenant_domain", "'|'", "coalesce(postfix_queue_id, log_id)",
        ])) }} as message_key,
        loaded_at
    from {{ ref('stg_mailprotector__domain_logs') }}
    {% if is_incremental() %}
    where loaded_at > (
        select coalesce(max(loaded_at), {{ utc("'1970-01-01'") }})
        from {{ this }}
        where source = 'mailprotector'
    )
    {% endif %}
),

events as (
    select * from rediffmail
    union all
    select * from mailprotector
)

select
    source || ':' || source_key as event_key,
    *
from events
