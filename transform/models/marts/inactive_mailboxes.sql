select
    mailbox,
    domain,
    status,
    last_login_at,
    {{ dbt.datediff('last_login_at', dbt.current_timestamp(), 'day') }} as days_since_login
from {{ ref('mailboxes') }}
where last_login_at is null
    or last_login_at < {{ dbt.dateadd('day', -var('inactive_after_days'), dbt.current_timestamp()) }}
