{#- One row per account and check it escapes, with the level the setting comes
    from: 'domain' on a mailbox row means the mailbox inherits its domain's. -#}
{%- set checks = [
    ('bypass_spam_checks', 'spam_scope'),
    ('bypass_virus_checks', 'spam_scope'),
    ('bypass_banned_checks', 'spam_scope'),
    ('bypass_header_checks', 'spam_scope'),
] -%}

with policies as (
    select * from {{ ref('int_iredadmin__effective_policies') }}
),

exceptions as (
    {%- for check, scope in checks %}
    select account, account_type, domain, '{{ check }}' as exception, {{ scope }} as set_at
    from policies
    where {{ check }}
    union all
    {%- endfor %}
    select account, account_type, domain, 'greylisting_disabled' as exception,
        coalesce(greylisting_scope, 'default') as set_at
    from policies
    where not greylisting_enabled
)

select
    account_type || ' ' || account || ' ' || exception as exception_key,
    *,
    set_at = case account_type when 'mailbox' then 'user' else 'domain' end as is_own_setting
from exceptions
