"""``--test``: one call for the newest hour the tap may read, then a report of what
the server speaks (status spelling, failure format, timezone of ``date_time``,
timestamps on activity rows). One call, because the API allows about one a minute."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from mailtaps_common import probe
from mailtaps_common.secrets import shown_url
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_rediffmail.client import REPORTS, Window, encode_password, iso_utc, read_row

if TYPE_CHECKING:
    import requests

    from tap_rediffmail.streams import ReportWindowsStream
    from tap_rediffmail.tap import TapRediffMail

PROBE_WINDOW_SECONDS = 3600
QUARTER_HOUR = 900


def run(tap: TapRediffMail) -> bool:
    config = tap.config
    secrets = [config.get("password") or "", config.get("password_base64") or ""]
    if config.get("password"):
        secrets.append(encode_password(dict(config)))
    stream: ReportWindowsStream = tap.streams["report_windows"]  # type: ignore[assignment]  # typed Stream in the SDK
    budget = probe.Budget(float(config["request_timeout"]))
    return probe.run(tap.name, lambda b: _probe(stream, b), budget, secrets)


def _probe(stream: ReportWindowsStream, budget: probe.Budget) -> probe.Report:
    config = stream.config
    end = stream.horizon()
    window = Window(end - min(int(config["window_minutes"]) * 60, PROBE_WINDOW_SECONDS), end)
    prepared = stream.build_prepared_request(
        method="POST",
        url=stream.url_base,
        data=stream.prepare_request_payload(None, window),
        headers=stream.http_headers,
    )
    response = probe.send(stream.requests_session, prepared, budget)
    body = _json_object(response)
    failure_format = _failure_format(response, body)
    if response.status_code == 404 and not failure_format:
        raise probe.ProbeError(probe.status_cause(response, "api_url") or "HTTP 404")
    try:
        stream.validate_response(response)
    except (FatalAPIError, RetriableAPIError) as exc:
        line = str(exc)
        if "429" in (str(response.status_code), str((body or {}).get("status_code"))):
            line += "; another client used this minute's call: try again in a minute"
        raise probe.ProbeError(f"{line} [{failure_format or 'no failure body'}]") from None
    assert body is not None  # validate_response accepts JSON objects only
    reports = {
        name: [read_row(row) for row in rows] for name, rows in stream.reports_of(response).items()
    }

    report = probe.Report(f"{stream.tap_name} connection test")
    report.add("api_url", shown_url(stream.url_base))
    report.add("window", f"{iso_utc(window.start)} .. {iso_utc(window.end)} (one call)")
    report.add("answer", f"HTTP {response.status_code}, status {body.get('status')!r}, "
                         f"status_code {body.get('status_code')!r}")  # fmt: skip
    report.add("failure format", "not seen: the call succeeded (the tap reads failures sent "
                                 "with the HTTP status and with HTTP 200 alike)")  # fmt: skip
    report.add("rows", ", ".join(f"{name} {len(reports[name])}" for name in REPORTS))
    report.add("timezone", _timezone_fit(reports, window, config["timezone"]))
    report.add("activity time", _activity_time(reports["activity_report"]))
    unknown = sorted({k for row in reports["outbound_mail_delivery_report"] for k in row}
                     - set(_OUTBOUND_FIELDS))  # fmt: skip
    report.add("extra fields", ", ".join(unknown) if unknown else "none")
    return report


_OUTBOUND_FIELDS = (
    "date_time", "from_address", "return_path", "recipient", "service", "subject", "sender_ip",
    "rcpt_to_count", "rcpt_cc_count", "rcpt_bcc_count", "mail_size_bytes", "attachment_names",
    "status", "status_code",
)  # fmt: skip


def _json_object(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _failure_format(response: requests.Response, body: dict[str, Any] | None) -> str | None:
    """How a failure answer was sent, or None for a success or a non-vendor answer."""
    if body is None or "status" not in body or str(body["status"]).lower() == "success":
        return None
    code = body.get("status_code")
    if response.status_code == 200:
        return f"failure sent as HTTP 200 with status {body['status']!r}, status_code {code!r}"
    return f"failure sent as HTTP {response.status_code} with status {body['status']!r}"


def _timezone_fit(reports: dict[str, list[dict[str, Any]]], window: Window, zone_name: str) -> str:
    """Whether the naive ``date_time`` values fall inside the window under the configured
    zone, and which UTC offsets would place them all inside if not."""
    local = []
    for rows in reports.values():
        for row in rows:
            try:
                naive = datetime.fromisoformat(str(row.get("date_time")).strip())
            except ValueError:
                continue
            local.append(int(naive.replace(tzinfo=UTC).timestamp()))
    if not local:
        return f"{zone_name}: not checked, no row with a date_time in the window"
    zone = ZoneInfo(zone_name)
    offset = zone.utcoffset(datetime.fromtimestamp(window.start, UTC).replace(tzinfo=None))
    configured = int((offset or timedelta(0)).total_seconds())
    outside = sum(1 for at in local if not window.start <= at - configured < window.end)
    if not outside:
        return f"{zone_name} (UTC{_offset(configured)}): all {len(local)} rows inside the window"
    # offset o fits when start <= at - o < end for every row
    low, high = max(local) - window.end, min(local) - window.start
    fitting = [o for o in range(-12 * 3600, 14 * 3600 + 1, QUARTER_HOUR) if low < o <= high]
    hint = (
        "UTC" + " or UTC".join(_offset(o) for o in fitting[:3]) + " would fit: set timezone "
        "to a zone with that offset"
        if fitting
        else "no fixed UTC offset fits"
    )
    where = f"{zone_name} (UTC{_offset(configured)})"
    return f"{where}: {outside} of {len(local)} rows outside the window; {hint}"


def _offset(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def _activity_time(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "not checked, no activity row in the window"
    fields = sorted({k for row in rows for k in row if "time" in k or "date" in k})
    if fields:
        return f"yes: {', '.join(fields)}"
    return "no timestamp field: activity rows are placed by their window"
