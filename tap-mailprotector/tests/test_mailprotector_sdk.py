"""The SDK's built-in tap tests, run against a Mailprotector sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox.mailprotector import DEMO_API_KEY
from singer_sdk.testing import get_tap_test_class
from tap_mailprotector.tap import TapMailprotector

from sandbox import RunningSandbox, make_app

# The SDK builds its test class at import time from a fixed config, so this sandbox
# lives for the whole session (a daemon thread).
_SANDBOX = RunningSandbox(
    make_app("mailprotector", volumes={102: 60.0}, bursts=[], extra_fields=True)
).__enter__()

TestTapMailprotector = get_tap_test_class(
    TapMailprotector,
    config={
        "api_key": DEMO_API_KEY,
        "base_url": _SANDBOX.url,
        "reseller_id": 343,
        "start_date": (datetime.now(UTC) - timedelta(hours=6)).isoformat(),
        "settle_delay_seconds": 0,
    },
)
