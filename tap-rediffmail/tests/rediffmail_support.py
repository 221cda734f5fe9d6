"""Helpers for the tap-rediffmail tests: the sandbox handle and truth comparison."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox.rediffmail import DEMO_DOMAIN, DEMO_PASSWORD, DEMO_USER, RediffMailSandbox
from sandbox.testing import TapRun, assert_no_secrets, run_tap

from sandbox import RunningSandbox

PERIOD_START = "2026-11-10T00:00:00+00:00"
PERIOD_END = "2026-11-13T00:00:00+00:00"
OUTBOUND = "outbound_mail_delivery_report"
ACTIVITY = "activity_report"


def epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso).astimezone(UTC).timestamp())


@dataclass
class Rediff:
    """A running sandbox and a tap config that points at it."""

    sandbox: RunningSandbox

    @property
    def app(self) -> RediffMailSandbox:
        return self.sandbox.app  # type: ignore[return-value]

    def config(self, **overrides: Any) -> dict[str, Any]:
        config = {
            "api_url": f"{self.sandbox.url}/logs/get",
            "domain": DEMO_DOMAIN,
            "user_email": DEMO_USER,
            "password": DEMO_PASSWORD,
            "start_date": PERIOD_START,
            "end_date": PERIOD_END,
            "window_minutes": 360,
            "min_seconds_between_calls": 0,
            "retry_base_seconds": 0.01,
            "request_timeout": 2,
        }
        config.update(overrides)
        return {k: v for k, v in config.items() if v is not None}

    def run(self, config: dict[str, Any] | None = None, **kwargs: Any) -> TapRun:
        """Run the tap; every run is checked for leaked secrets."""
        result = run_tap("tap-rediffmail", config or self.config(), **kwargs)
        assert_no_secrets([DEMO_PASSWORD], result.stdout, result.stderr)
        return result

    def truth(self, start: str = PERIOD_START, end: str = PERIOD_END) -> dict[str, list[dict]]:
        return self.app.reports(epoch(start), epoch(end))


def _names(value: Any) -> list[str]:
    """The attachment names a row stands for, whichever shape the API wrote."""
    if isinstance(value, str):
        return [name.strip() for name in value.split(",") if name.strip()]
    return list(value or [])


def comparable(stream: str, row: dict[str, Any]) -> str:
    """A row reduced to what the API said, for multiset comparison of tap and truth.

    Works on both sides: undeclared fields sit in ``extra`` in tap records.
    """
    flat = {**(row.get("extra") or {}), **row}
    if stream == OUTBOUND:
        keys = [
            "date_time", "from_address", "return_path", "recipient", "service", "subject",
            "sender_ip", "rcpt_to_count", "rcpt_cc_count", "rcpt_bcc_count", "mail_size_bytes",
        ]  # fmt: skip
        picked = {k: flat.get(k) for k in keys}
        picked["attachment_names"] = _names(flat.get("attachment_names"))
    else:
        keys = ["actionby", "actionon", "usertype", "actiontype", "clientip", "useragent"]
        picked = {k: flat.get(k) for k in keys}
    return json.dumps(picked, sort_keys=True, ensure_ascii=False)


def assert_matches_truth(records: dict[str, list[dict]], truth: dict[str, list[dict]]) -> None:
    for stream in (OUTBOUND, ACTIVITY):
        got = Counter(comparable(stream, r) for r in records[stream])
        want = Counter(comparable(stream, r) for r in truth[stream])
        missing, extra = want - got, got - want
        summary = f"{stream}: got {sum(got.values())}, truth {sum(want.values())}"
        assert not missing, f"{summary}; {sum(missing.values())} missing"
        assert not extra, f"{summary}; {sum(extra.values())} unexpected"


def records_of(*runs: TapRun, dedupe: bool = False) -> dict[str, list[dict]]:
    """Records per report across runs; ``dedupe`` keeps one per record_key, as an
    upserting target would."""
    out: dict[str, list[dict]] = {}
    for stream in (OUTBOUND, ACTIVITY):
        rows = [r for run in runs for r in run.records(stream)]
        if dedupe:
            rows = list({r["record_key"]: r for r in rows}.values())
        out[stream] = rows
    return out


def bookmark(run: TapRun, state: dict | None = None) -> str | None:
    state = state if state is not None else run.last_state
    if not state:
        return None
    return state["bookmarks"]["report_windows"].get("replication_key_value")
