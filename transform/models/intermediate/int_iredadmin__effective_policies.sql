{#- The spam, throttle and greylisting policy in force for every mailbox and
    every domain, resolved as iRedMail does: the mailbox's own setting over its
    domain's over the global one (@.). Spam (amavisd) and throttle (iRedAPD)
    settings fall through field by field: an unset (null) spam field, or a
    throttle limit of -1 (inherit), is taken from the next level. The *_scope
    columns say which level the policy came from. -#}
{%- set levels = [('user', 'u'), ('domain', 'd'), ('global', 'g')] -%}
{%- set spam_fields = [
    'bypass_spam_checks', 'bypass_virus_checks', 'bypass_banned_checks',
    'bypass_header_checks', 'spam_lover', 'virus_lover', 'spam_tag2_level', 'spam_kill_level',
] -%}
{%- set throttle_fields = [
    'throttle_period_seconds', 'throttle_max_msgs', 'throttle_max_rcpts',
    'throttle_max_quota_bytes', 'throttle_msg_size_bytes',
] -%}
{%- set kinds = {
    'spam': "policy_type = 'spam'",
    'inbound': "policy_type = 'throttle' and direction = 'inbound'",
    'outbound': "policy_type = 'throttle' and direction = 'outbound'",
    'greylisting': "policy_type = 'greylisting'",
} -%}

with policies as (
    select * from {{ ref('stg_iredadmin__policies') }}
),

accounts as (
    select mailbox as account, 'mailbox' as account_type, domain
    from {{ ref('stg_iredadmin__users') }}
    union all
    select domain as account, 'domain' as account_type, domain
    from {{ ref('stg_iredadmin__domains') }}
),

{% for kind, condition in kinds.items() %}
{{ kind }} as (
    select * from policies where {{ condition }}
),
{% endfor %}

resolved as (
    select
        accounts.account,
        accounts.account_type,
        accounts.domain,
        {%- for kind in kinds %}
        case
            {%- for scope, level in levels %}
            when {{ kind }}_{{ level }}.account is not null then '{{ scope }}'
            {%- endfor %}
        end as {{ kind }}_scope,
        {%- endfor %}
        {%- for field in spam_fields %}
        coalesce(
            {%- for scope, level in levels %}
            spam_{{ level }}.{{ field }}{{ ',' if not loop.last }}
            {%- endfor %}
        ) as {{ field }},
        {%- endfor %}
        {%- for direction in ['inbound', 'outbound'] %}
        {%- for field in throttle_fields %}
        coalesce(
            {%- for scope, level in levels %}
            nullif({{ direction }}_{{ level }}.{{ field }}, -1){{ ',' if not loop.last }}
            {%- endfor %}
        ) as {{ direction }}_{{ field }},
        {%- endfor %}
        {%- endfor %}
        coalesce(
            {%- for scope, level in levels %}
            greylisting_{{ level }}.greylisting_status,
            {%- endfor %}
            'disabled'
        ) = 'enabled' as greylisting_enabled
    from accounts
    {%- for kind in kinds %}
    left join {{ kind }} as {{ kind }}_u
        on {{ kind }}_u.account = accounts.account and accounts.account_type = 'mailbox'
    left join {{ kind }} as {{ kind }}_d on {{ kind }}_d.account = '@' || accounts.domain
    left join {{ kind }} as {{ kind }}_g on {{ kind }}_g.account = '@.'
    {%- endfor %}
)

select
    account_type || ' ' || account as account_key,
    *
from resolved
