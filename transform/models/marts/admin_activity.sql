with activity as (
    select * from {{ ref('stg_rediffmail__activity_report') }}
)

select
    record_key as activity_key,
    'rediffmail' as source,
    tenant_domain,
    occurred_at,
    window_start,
    window_end,
    actionby as actor,
    actionon as target,
    usertype as user_type,
    actiontype as action,
    actiontype in (
        {%- for action in var('sensitive_actions') %}
        '{{ action }}'{{ ',' if not loop.last }}
        {%- endfor %}
    ) as is_sensitive,
    clientip as client_ip,
    useragent as user_agent
from activity
