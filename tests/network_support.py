"""Each tap's config for a sandbox URL, for the tests that run all three taps the same
way over the network (TLS, proxies, credentials in URLs)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sandbox.iredadmin import DEMO_ADMIN
from sandbox.iredadmin import DEMO_PASSWORD as IREDADMIN_PASSWORD
from sandbox.mailprotector import DEMO_API_KEY, DEMO_DOMAIN_ID
from sandbox.rediffmail import DEMO_DOMAIN, DEMO_USER
from sandbox.rediffmail import DEMO_PASSWORD as REDIFF_PASSWORD

FROZEN = time.time()  # the Mailprotector sandbox's clock: every run sees the same entries
QUICK = {"retry_base_seconds": 0.01, "request_timeout": 5}


def rediffmail_config(url):
    return {
        "api_url": f"{url}/logs/get", "domain": DEMO_DOMAIN, "user_email": DEMO_USER,
        "password": REDIFF_PASSWORD, "start_date": "2026-11-10T00:00:00+00:00",
        "end_date": "2026-11-10T12:00:00+00:00", "window_minutes": 360,
        "min_seconds_between_calls": 0, **QUICK,
    }  # fmt: skip


def mailprotector_config(url):
    start = datetime.fromtimestamp(FROZEN, UTC) - timedelta(hours=3)
    return {
        "api_key": DEMO_API_KEY, "base_url": url, "domain_ids": [DEMO_DOMAIN_ID],
        "start_date": start.isoformat(), "settle_delay_seconds": 0, "overlap_seconds": 0,
        **QUICK,
    }  # fmt: skip


def iredadmin_config(url):
    return {
        "base_url": f"{url}/iredadmin", "username": DEMO_ADMIN, "password": IREDADMIN_PASSWORD,
        **QUICK,
    }  # fmt: skip


# tap -> (sandbox vendor, sandbox settings, config for a URL, the setting holding the URL)
TAPS = {
    "tap-rediffmail": ("rediffmail", {}, rediffmail_config, "api_url"),
    "tap-mailprotector": ("mailprotector", {"frozen_at": FROZEN}, mailprotector_config, "base_url"),
    "tap-iredadmin": (
        "iredadmin",
        {"domains": 2, "users_per_domain": 3},
        iredadmin_config,
        "base_url",
    ),
}


def records(run):
    """The run's records, in order; the run succeeded and wrote some."""
    assert run.returncode == 0, run.stderr[-2000:]
    found = [(m["stream"], m["record"]) for m in run.messages if m["type"] == "RECORD"]
    assert found, "no records: a comparison with them could not fail"
    return found
