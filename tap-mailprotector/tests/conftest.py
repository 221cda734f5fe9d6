"""Fixtures for the tap-mailprotector tests: a lean sandbox, tap configs, ground truth."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sandbox.mailprotector import DEMO_API_KEY, MailprotectorSandbox
from sandbox.testing import TapRun, run_tap

from sandbox import RunningSandbox

EXECUTABLE = "tap-mailprotector"


@dataclass
class Mailprotector:
    """A running imitation plus what a test needs to judge the tap against it."""

    sandbox: RunningSandbox
    start: datetime  # the tap's start_date in these tests

    @property
    def app(self) -> MailprotectorSandbox:
        assert isinstance(self.sandbox.app, MailprotectorSandbox)
        return self.sandbox.app

    def config(self, **overrides: Any) -> dict[str, Any]:
        return {
            "api_key": DEMO_API_KEY,
            "base_url": self.sandbox.url,
            "domain_ids": [102],
            "start_date": self.start.isoformat(),
            "settle_delay_seconds": 0,
            "overlap_seconds": 0,
            "retry_base_seconds": 0.01,
            "retry_max_seconds": 0.5,
            "request_timeout": 5,
            **overrides,
        }

    def run(self, config: dict[str, Any], **kwargs: Any) -> TapRun:
        return run_tap(EXECUTABLE, config, **kwargs)

    def truth_ids(self, domain_id: int, end: datetime | str | None = None) -> list[str]:
        """Ids that exist for a domain from ``start`` up to ``end`` (default: now)."""
        query = {"domain": [str(domain_id)], "from": [self.start.isoformat()], "ids": ["1"]}
        if end is not None:
            query["to"] = [end if isinstance(end, str) else end.isoformat()]
        return self.app.truth(query)["ids"]

    def log_requests(self) -> int:
        return sum(1 for r in self.app.api_calls("/api/v1/domains/") if r.path.endswith("/logs"))

    @staticmethod
    def emitted_ids(run: TapRun, domain_id: int | None = None) -> list[str]:
        return [
            r["id"]
            for r in run.records("domain_logs")
            if domain_id is None or r["domain_id"] == domain_id
        ]

    @staticmethod
    def bookmarks(state: dict[str, Any] | None) -> dict[int, str]:
        """``{domain_id: bookmark}`` from a tap state."""
        stream = (state or {}).get("bookmarks", {}).get("domain_logs", {})
        return {
            p["context"]["domain_id"]: p["replication_key_value"]
            for p in stream.get("partitions", [])
            if "replication_key_value" in p
        }

    def assert_complete(self, ids: list[str], domain_id: int, end: str) -> None:
        """Every id of the ground truth in ``[start, end)``, none twice, none invented."""
        truth = self.truth_ids(domain_id, end)
        assert truth, "the scenario has no entries: this check could not fail"
        duplicates = [i for i, n in Counter(ids).items() if n > 1]
        assert not duplicates, f"{len(duplicates)} ids emitted twice"
        missing = set(truth) - set(ids)
        assert not missing, f"{len(missing)} of {len(truth)} entries missing"
        assert set(ids) <= set(truth), "ids outside the ground truth"

    def assert_no_gap(self, ids: set[str], state: dict[str, Any] | None) -> None:
        """No bookmark lies past an entry that was never emitted."""
        for domain_id, bookmark in self.bookmarks(state).items():
            missing = set(self.truth_ids(domain_id, bookmark)) - ids
            assert not missing, (
                f"domain {domain_id}: bookmark {bookmark} passes {len(missing)} unemitted entries"
            )


@pytest.fixture
def mailprotector(start_sandbox: Callable[..., RunningSandbox]) -> Callable[..., Mailprotector]:
    """``mailprotector(**settings)``: a sandbox with modest traffic on domain 102 only
    (override ``volumes``/``bursts``) and a tap start three hours back."""

    def start(**settings: Any) -> Mailprotector:
        lean = {"volumes": {102: 40.0, 201: 5.0}, "bursts": []}
        sandbox = start_sandbox("mailprotector", **{**lean, **settings})
        return Mailprotector(sandbox, datetime.now(UTC) - timedelta(hours=3))

    return start
