with users as (
    select * from {{ ref('stg_iredadmin__users') }}
),

alias_members as (
    select address, {{ array_elements('members') }} as mailbox
    from {{ ref('stg_iredadmin__aliases') }}
),

alias_membership as (
    select
        mailbox,
        {{ dbt.listagg('address', "', '", 'order by address') }} as aliases
    from alias_members
    group by mailbox
),

list_members as (
    select mailbox, {{ array_elements('mailing_lists') }} as address
    from users
),

list_membership as (
    select
        mailbox,
        {{ dbt.listagg('address', "', '", 'order by address') }} as mailing_lists
    from list_members
    group by mailbox
),

policies as (
    select * from {{ ref('int_iredadmin__effective_policies') }}
    where account_type = 'mailbox'
)

select
    users.mailbox,
    users.domain,
    users.name,
    case
        when not users.is_active then 'disabled'
        when users.expires_at < {{ dbt.current_timestamp() }} then 'expired'
        else 'active'
    end as status,
    users.is_admin,
    users.is_global_admin,
    users.quota_mb,
    users.used_quota_bytes,
    users.used_quota_messages,
    case when users.quota_mb > 0
        then round(cast(100.0 * users.used_quota_bytes / (users.quota_mb * 1048576.0) as numeric), 1)
    end as quota_used_percent,
    case
        when users.last_login_pop3_at is null then users.last_login_imap_at
        when users.last_login_imap_at is null then users.last_login_pop3_at
        when users.last_login_imap_at > users.last_login_pop3_at then users.last_login_imap_at
        else users.last_login_pop3_at
    end as last_login_at,
    users.password_changed_at,
    users.created_at,
    alias_membership.aliases,
    list_membership.mailing_lists,
    users.forwardings,
    policies.spam_scope as spam_policy_scope,
    policies.bypass_spam_checks,
    policies.bypass_virus_checks,
    policies.bypass_banned_checks,
    policies.bypass_header_checks,
    policies.spam_tag2_level,
    policies.spam_kill_level,
    policies.outbound_scope as outbound_throttle_scope,
    policies.outbound_throttle_period_seconds,
    policies.outbound_throttle_max_msgs,
    policies.outbound_throttle_max_rcpts,
    policies.inbound_scope as inbound_throttle_scope,
    policies.inbound_throttle_period_seconds,
    policies.inbound_throttle_max_msgs,
    policies.inbound_throttle_max_rcpts,
    policies.greylisting_scope,
    policies.greylisting_enabled
from users
left join alias_membership on alias_membership.mailbox = users.mailbox
left join list_membership on list_membership.mailbox = users.mailbox
left join policies on policies.account = users.mailbox
