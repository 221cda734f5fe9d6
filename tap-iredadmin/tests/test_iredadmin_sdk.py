"""The SDK's built-in tap tests, run against an iRedAdmin sandbox."""

from __future__ import annotations

from sandbox.iredadmin import DEMO_ADMIN, DEMO_PASSWORD
from singer_sdk.testing import get_tap_test_class
from tap_iredadmin.tap import TapIRedAdmin

from sandbox import RunningSandbox, make_app

# The SDK builds its test class at import time from a fixed config, so this
# sandbox lives for the whole session (a daemon thread).
_SANDBOX = RunningSandbox(make_app("iredadmin", extra_columns=True)).__enter__()

TestTapIRedAdmin = get_tap_test_class(
    TapIRedAdmin,
    config={
        "base_url": f"{_SANDBOX.url}/iredadmin",
        "username": DEMO_ADMIN,
        "password": DEMO_PASSWORD,
        "user_details": True,
        "user_policies": True,
    },
)
