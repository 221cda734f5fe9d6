{#- One row per policy set on an account; the settings of each policy type as
    typed columns (null for the other types). Throttle limits: -1 inherit, 0 none. -#}
with current_rows as (
    {{ current_rows(source('iredadmin', 'policies'), ['policy_type', 'account', 'direction']) }}
)

select
    policy_type || ' ' || account || ' ' || direction as policy_key,
    policy_type,
    account,
    direction,
    scope,
    domain,
    case scope when 'user' then 100 when 'domain' then 10 else 0 end as priority,
    cast({{ json_text('settings', 'bypass_spam_checks') }} as boolean) as bypass_spam_checks,
    cast({{ json_text('settings', 'bypass_virus_checks') }} as boolean) as bypass_virus_checks,
    cast({{ json_text('settings', 'bypass_banned_checks') }} as boolean) as bypass_banned_checks,
    cast({{ json_text('settings', 'bypass_header_checks') }} as boolean) as bypass_header_checks,
    cast({{ json_text('settings', 'spam_lover') }} as boolean) as spam_lover,
    cast({{ json_text('settings', 'virus_lover') }} as boolean) as virus_lover,
    cast({{ json_text('settings', 'spam_tag2_level') }} as double precision) as spam_tag2_level,
    cast({{ json_text('settings', 'spam_kill_level') }} as double precision) as spam_kill_level,
    cast({{ json_text('settings', 'period') }} as bigint) as throttle_period_seconds,
    cast({{ json_text('settings', 'max_msgs') }} as bigint) as throttle_max_msgs,
    cast({{ json_text('settings', 'max_rcpts') }} as bigint) as throttle_max_rcpts,
    cast({{ json_text('settings', 'max_quota') }} as bigint) as throttle_max_quota_bytes,
    cast({{ json_text('settings', 'msg_size') }} as bigint) as throttle_msg_size_bytes,
    {{ json_text('settings', 'status') }} as greylisting_status,
    settings,
    {{ utc('_sdc_batched_at') }} as loaded_at
from current_rows
