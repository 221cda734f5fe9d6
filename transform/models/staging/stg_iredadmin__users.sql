with current_rows as (
    {{ current_rows(source('iredadmin', 'users'), ['username']) }}
)

select
    username as mailbox,
    domain,
    name,
    language,
    cast(quota as bigint) as quota_mb,
    department,
    employeeid,
    cast(isadmin as boolean) as is_admin,
    cast(isglobaladmin as boolean) as is_global_admin,
    cast(active as boolean) as is_active,
    {{ utc('created') }} as created_at,
    {{ utc('expired') }} as expires_at,
    {{ utc('passwordlastchange') }} as password_changed_at,
    {{ utc('last_login_imap') }} as last_login_imap_at,
    {{ utc('last_login_pop3') }} as last_login_pop3_at,
    {{ utc('last_login_lda') }} as last_delivery_at,
    cast(used_quota_bytes as bigint) as used_quota_bytes,
    cast(used_quota_messages as bigint) as used_quota_messages,
    mailing_lists,
    {{ array_text('forwardings') }} as forwardings,
    services,
    settings,
    extra,
    {{ utc('_sdc_batched_at') }} as loaded_at
from current_rows
