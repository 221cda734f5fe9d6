with current_rows as (
    {{ current_rows(source('rediffmail', 'outbound_mail_delivery_report'), ['record_key']) }}
)

select
    record_key,
    domain as tenant_domain,
    {{ utc('date_time_utc') }} as sent_at,
    date_time as sent_at_local_text,
    {{ utc('window_start') }} as window_start,
    {{ utc('window_end') }} as window_end,
    from_address,
    return_path,
    recipient,
    service,
    subject,
    sender_ip,
    cast(rcpt_to_count as bigint) as rcpt_to_count,
    cast(rcpt_cc_count as bigint) as rcpt_cc_count,
    cast(rcpt_bcc_count as bigint) as rcpt_bcc_count,
    cast(mail_size_bytes as bigint) as mail_size_bytes,
    {{ array_text('attachment_names') }} as attachment_names,
    {{ array_size('attachment_names') }} as attachment_count,
    status,
    cast(status_code as bigint) as status_code,
    extra,
    {{ utc('_sdc_batched_at') }} as loaded_at
from current_rows
