"""RediffMail Pro log API imitation (the API as ``tap-rediffmail/README.md`` describes it).

``POST /logs/get`` with a form body returns both reports for ``[from, to)``.
Data is generated per UTC hour from a seeded generator, so any range is
reproducible and ``truth()`` can say exactly what exists in a window.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from .core import Request, Response, SandboxApp

DEMO_DOMAIN = "example.co.in"
DEMO_USER = "admin@example.co.in"
DEMO_PASSWORD = "sandbox-demo-password"  # noqa: S105 - the sandbox's own fake account

_FIRST = ["amol", "priya", "renoj", "sneha", "arjun", "meera", "kabir", "anita", "rahul", "zoya"]
_LAST = ["m", "s", "k", "iyer", "nair", "shah", "das", "rao"]
_SUBJECTS = [
    " Impotant announcement",
    "Quarterly report – Q3",  # noqa: RUF001 - real subjects carry en dashes
    "  दिवाली की शुभकामनाएँ",
    "Réunion de lundi",
    "Invoice #{n}",
    "RE: Shipment delayed 🚚",
    " FW: KYC documents",
    "Team lunch ☕ on Friday",
    "பணி அட்டவணை",
    "Password expiry notice",
]
_ACTIONS = [
    "FAR", "SWEEPDELETE_USER", "PASSWORD_CHANGED", "LOGIN", "LOGOUT", "CREATE_USER",
    "DELETE_USER", "ALIAS_ADD", "FORWARD_SET", "QUOTA_CHANGE", "MFA_ENABLED", "IMAP_ENABLE",
]  # fmt: skip
_AGENTS = [
    "Mozilla/5.0 ",
    "Mozilla/5.0  Gecko/20100101 Firefox/130.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/129.0 Safari/537.36",
    "RediffMailApp/4.2 (Android 14)",
    "Thunderbird/128.3.1",
    "",
]
_ATTACHMENTS = ["invoice.pdf", "report Q3.xlsx", "photo.jpg", "प्रस्ताव.docx", "notes.txt"]
_EXTERNAL = ["gmail.com", "yahoo.co.in", "partner.example.com", "outlook.com"]


@dataclass
class RediffSettings:
    """Switchable behaviour of the imitation (see the foundation issue)."""

    domain: str = DEMO_DOMAIN
    user_email: str = DEMO_USER
    password: str = DEMO_PASSWORD
    allowed_ips: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])
    mails_per_hour: float = 40.0
    activities_per_hour: float = 12.0
    # "http": failures carry the matching HTTP status; "200": HTTP 200 + failure body.
    failure_style: str = "http"
    success_status: str = "success"  # the spelling of ``status`` in a successful answer
    render_timezone: str = "Asia/Kolkata"
    # "present" | "missing" | "null": how the two report keys come back.
    report_keys: str = "present"
    extra_fields: bool = False
    # "mixed" (null, string or list) | "string" | "list"
    attachment_style: str = "mixed"
    activity_timestamps: bool = False
    # An identical SYSTEM row every hour (a cleanup job): identical rows without a
    # timestamp in different windows of one day.
    hourly_system_sweep: bool = False
    record_status_fields: bool = False
    odd_value_types: bool = False  # counts as strings, or not numbers at all
    row_cap: int | None = None
    max_window_seconds: int = 31 * 86400


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class RediffMailSandbox(SandboxApp):
    name = "rediffmail"

    def __init__(self, seed: int = 7, **settings: Any) -> None:
        super().__init__(seed)
        self.settings = RediffSettings(**settings)
        self.route("POST", "/logs/get", self.get_logs)
        # The same window asked again (a retry, a benchmark) is answered from here.
        self._answers: dict[tuple[int, int, str], Response] = {}

    def caller_key(self, request: Request) -> str:
        return request.form().get("domain", "") if request.body else request.client_ip

    # -- failures in the vendor's style ------------------------------------
    def failure(self, status_code: int, message: str, **headers: str) -> Response:
        body = {"status": "failure", "status_code": status_code, "message": message}
        http_status = status_code if self.settings.failure_style == "http" else 200
        return Response.json(body, status=http_status, **headers)

    def too_many_requests(self, headers: dict[str, str]) -> Response:
        return self.failure(429, "Rate limit exceeded: about 1 call per minute", **headers)

    def vendor_fault(self, fault: str, request: Request) -> Response | None:
        if fault.startswith("failure_"):
            code = int(fault.removeprefix("failure_"))
            return self.failure(code, "Temporary failure, try again later")
        if fault == "rate_limit":
            return self.too_many_requests({})
        if fault == "json_array":  # valid JSON of the wrong shape
            return Response.json(["unexpected"])
        if fault == "data_string":
            return Response.json({"status": "success", "status_code": 200, "data": "n/a"})
        return None

    # -- the endpoint -----------------------------------------------------
    def get_logs(self, request: Request) -> Response:
        s = self.settings
        form = request.form()
        if request.client_ip not in s.allowed_ips:
            return self.failure(403, f"IP {request.client_ip} is not allowed to use this API")
        if (
            form.get("domain") != s.domain
            or form.get("user_email") != s.user_email
            or form.get("passwd") != _b64(s.password)
        ):
            return self.failure(401, "Authentication failed")
        try:
            start = int(form["fromtime_epoch"])
            end = int(form["totime_epoch"])
        except (KeyError, ValueError):
            return self.failure(400, "fromtime_epoch and totime_epoch must be epoch seconds")
        if end <= start or end - start > s.max_window_seconds:
            return self.failure(400, "Invalid time range")

        key = (start, end, repr(s))
        with self.lock:
            answer = self._answers.get(key)
        if answer is None:
            answer = self.render_logs(start, end)
            with self.lock:
                self._answers = {key: answer}  # the last answer only: it can be large
        return answer

    def render_logs(self, start: int, end: int) -> Response:
        s = self.settings
        reports = self.reports(start, end)
        if s.row_cap is not None:
            reports = {name: rows[: s.row_cap] for name, rows in reports.items()}
        if s.report_keys == "missing":
            reports = {name: rows for name, rows in reports.items() if rows}
        elif s.report_keys == "null":
            reports = {name: (rows or None) for name, rows in reports.items()}
        return Response.json({"status": s.success_status, "status_code": 200, "data": reports})

    # -- data -------------------------------------------------------------
    def reports(self, start: int, end: int) -> dict[str, list[dict[str, Any]]]:
        """Both reports for ``[start, end)`` as the API renders them (no faults, no cap)."""
        s = self.settings
        zone = ZoneInfo(s.render_timezone)
        outbound: list[dict[str, Any]] = []
        activity: list[dict[str, Any]] = []
        for hour in range(start // 3600, (end - 1) // 3600 + 1):
            mails, actions = _hour_events(
                self.seed, s.domain, hour, s.mails_per_hour, s.activities_per_hour
            )
            if s.hourly_system_sweep:
                actions = sorted([*actions, (hour * 3600 + 1800, _sweep_row(s.domain))], key=_at)
            for at, row in mails:
                if start <= at < end:
                    outbound.append(self._render_outbound(at, row, zone))
            for at, row in actions:
                if start <= at < end:
                    activity.append(self._render_activity(at, row, zone))
        return {"outbound_mail_delivery_report": outbound, "activity_report": activity}

    def _render_outbound(self, at: int, row: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
        s = self.settings
        out = {"date_time": _render_time(at, zone), **row}
        names = out.pop("attachments")
        if s.attachment_style == "list":
            out["attachment_names"] = names or None
        elif s.attachment_style == "string" or len(names) < 2:
            out["attachment_names"] = ",".join(names) or None
        else:
            out["attachment_names"] = names
        if s.record_status_fields:
            out["status"] = "delivered"
            out["status_code"] = 250
        if s.odd_value_types:
            out["mail_size_bytes"] = str(out["mail_size_bytes"])
            out["rcpt_cc_count"] = "n/a"
        if s.extra_fields:
            out["message_class"] = "bulk" if row["rcpt_to_count"] > 3 else "personal"
            out["tls"] = {"version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384"}
        return out

    def _render_activity(self, at: int, row: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
        out = dict(row)
        if self.settings.activity_timestamps:
            out["date_time"] = _render_time(at, zone)
        if self.settings.extra_fields:
            out["session_id"] = f"s{at:x}"
        return out

    def truth(self, query: dict[str, list[str]]) -> dict[str, Any]:
        start = int(query["from"][0])
        end = int(query["to"][0])
        reports = self.reports(start, end)
        if query.get("rows", ["0"])[0] in ("1", "true"):
            return reports
        return {name: len(rows) for name, rows in reports.items()}


def _sweep_row(domain: str) -> dict[str, Any]:
    return {
        "actionby": "system", "actionon": f"mailbox-cleaner@{domain}", "usertype": "SYSTEM",
        "actiontype": "SWEEPDELETE_USER", "clientip": "127.0.0.1", "useragent": "",
    }  # fmt: skip


def _at(event: tuple[int, dict[str, Any]]) -> int:
    return event[0]


def _render_time(at: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(at, UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _poisson_count(rng: random.Random, mean: float) -> int:
    """A count around ``mean`` (normal approximation is enough for test data)."""
    if mean <= 0:
        return 0
    return max(0, round(rng.gauss(mean, mean**0.5)))


@lru_cache(maxsize=256)
def _hour_events(
    seed: int, domain: str, hour: int, mails_per_hour: float, activities_per_hour: float
) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, dict[str, Any]]]]:
    """Every outbound row and activity of one UTC hour, in time order."""
    rng = random.Random(f"{seed}:{domain}:{hour}")
    base = hour * 3600
    users = [f"{f}{last}@{domain}" for f in _FIRST for last in _LAST[:3]]

    mails: list[tuple[int, dict[str, Any]]] = []
    for n in range(_poisson_count(rng, mails_per_hour)):
        at = base + rng.randrange(3600)
        sender = rng.choice([*users[:6], f"admin@{domain}"])
        to, cc, bcc = rng.choice([1, 1, 1, 2, 3, 5]), rng.choice([0, 0, 1, 2]), rng.choice([0, 1])
        recipients = [
            rng.choice(users)
            if rng.random() < 0.6
            else f"{rng.choice(_FIRST)}@{rng.choice(_EXTERNAL)}"
            for _ in range(to + cc + bcc)
        ]
        http = rng.random() < 0.7
        row_common = {
            "from_address": sender,
            "return_path": sender if rng.random() < 0.9 else f"bounces@{domain}",
            "service": "HTTP" if http else "SMTP",
            "subject": rng.choice(_SUBJECTS).format(n=hour * 100 + n),
            "sender_ip": (
                f"119.252.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                if rng.random() < 0.8
                else f"2402:3a80:{rng.randrange(65536):x}::{rng.randrange(1, 65536):x}"
            ),
            "rcpt_to_count": to,
            "rcpt_cc_count": cc,
            "rcpt_bcc_count": bcc,
            "attachments": rng.sample(_ATTACHMENTS, rng.choice([0, 0, 0, 1, 2])),
            "mail_size_bytes": rng.randrange(900, 25_000_000 if rng.random() < 0.05 else 90_000),
        }
        for recipient in recipients:
            mails.append((at, {**row_common, "recipient": recipient}))
        if rng.random() < 0.08:  # a resend: identical rows in the same second
            mails.extend((at, {**row_common, "recipient": r}) for r in recipients[:1])

    actions: list[tuple[int, dict[str, Any]]] = []
    for _ in range(_poisson_count(rng, activities_per_hour)):
        at = base + rng.randrange(3600)
        usertype = rng.choice(["ADMIN", "USER", "USER", "SYSTEM"])
        actor = f"admin@{domain}" if usertype == "ADMIN" else rng.choice(users)
        row = {
            "actionby": "system" if usertype == "SYSTEM" else actor,
            "actionon": rng.choice(users),
            "usertype": usertype,
            "actiontype": rng.choice(_ACTIONS),
            "clientip": f"119.252.144.{rng.randrange(1, 255)}",
            "useragent": rng.choice(_AGENTS),
        }
        actions.append((at, row))
        if rng.random() < 0.05:
            actions.append((at, dict(row)))

    mails.sort(key=lambda item: item[0])
    actions.sort(key=lambda item: item[0])
    return mails, actions
