"""The SDK's built-in tap tests, run against a RediffMail sandbox."""

from __future__ import annotations

from sandbox.rediffmail import DEMO_DOMAIN, DEMO_PASSWORD, DEMO_USER
from singer_sdk.testing import get_tap_test_class
from tap_rediffmail.tap import TapRediffMail

from sandbox import RunningSandbox, make_app

# The SDK builds its test class at import time from a fixed config, so this
# sandbox lives for the whole session (a daemon thread).
_SANDBOX = RunningSandbox(
    make_app("rediffmail", activity_timestamps=True, extra_fields=True, record_status_fields=True)
).__enter__()

TestTapRediffMail = get_tap_test_class(
    TapRediffMail,
    config={
        "api_url": f"{_SANDBOX.url}/logs/get",
        "domain": DEMO_DOMAIN,
        "user_email": DEMO_USER,
        "password": DEMO_PASSWORD,
        "start_date": "2026-11-10T00:00:00+00:00",
        "end_date": "2026-11-10T12:00:00+00:00",
        "window_minutes": 240,
        "min_seconds_between_calls": 0,
    },
)
