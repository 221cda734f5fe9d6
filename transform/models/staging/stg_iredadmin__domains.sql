with current_rows as (
    {{ current_rows(source('iredadmin', 'domains'), ['domain']) }}
)

select
    domain,
    description,
    cast(aliases as bigint) as max_aliases,
    cast(mailboxes as bigint) as max_mailboxes,
    cast(maillists as bigint) as max_mailing_lists,
    cast(maxquota as bigint) as max_mailbox_quota_mb,
    cast(quota as bigint) as quota_mb,
    transport,
    cast(backupmx as boolean) as is_backup_mx,
    cast(active as boolean) as is_active,
    {{ utc('created') }} as created_at,
    {{ utc('expired') }} as expires_at,
    {{ array_text('catchall') }} as catchall,
    {{ array_text('alias_domains') }} as alias_domains,
    relayhost,
    cast(num_existing_users as bigint) as mailbox_count,
    cast(allocated_quota as bigint) as allocated_quota_mb,
    settings,
    extra,
    {{ utc('_sdc_batched_at') }} as loaded_at
from current_rows
