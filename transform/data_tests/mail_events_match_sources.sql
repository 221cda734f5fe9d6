-- mail_events holds exactly the current rows of its two sources: every row of
-- either source once, nothing else. Returns the keys that are missing or extra.
with expected as (
    select 'rediffmail' as source, record_key as source_key
    from {{ ref('stg_rediffmail__outbound_mail_delivery_report') }}
    union all
    select 'mailprotector' as source, log_id as source_key
    from {{ ref('stg_mailprotector__domain_logs') }}
),

actual as (
    select source, source_key from {{ ref('mail_events') }}
),

missing as (
    select * from expected
    except
    select * from actual
),

extra as (
    select * from actual
    except
    select * from expected
)

select 'missing' as problem, * from missing
union all
select 'extra' as problem, * from extra
