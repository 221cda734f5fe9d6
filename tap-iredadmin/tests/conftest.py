"""Fixtures for the tap-iredadmin tests: a sandbox plus the tap run against it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sandbox.iredadmin import DEMO_ADMIN, DEMO_PASSWORD, IRedAdminSandbox
from sandbox.testing import TapRun, run_tap

from sandbox import RunningSandbox


@dataclass
class IRedAdmin:
    """A running iRedAdmin sandbox and the tap pointed at it."""

    sandbox: RunningSandbox

    @property
    def app(self) -> IRedAdminSandbox:
        return self.sandbox.app  # type: ignore[return-value]

    def config(self, **overrides: Any) -> dict[str, Any]:
        return {
            "base_url": f"{self.sandbox.url}/iredadmin",
            "username": DEMO_ADMIN,
            "password": DEMO_PASSWORD,
            "retry_base_seconds": 0.01,
            "request_timeout": 2,
            **overrides,
        }

    def run(self, *args: str, config: dict[str, Any] | None = None, **overrides: Any) -> TapRun:
        return run_tap("tap-iredadmin", config or self.config(**overrides), args=args, timeout=120)

    def calls(self, path: str) -> int:
        return len(self.app.api_calls(f"/iredadmin/api{path}"))

    def truth(self, admin: str = DEMO_ADMIN) -> dict[str, Any]:
        return self.app.truth({"admin": [admin]})

    def expected_policies(
        self, admin: str = DEMO_ADMIN, *, users: bool = True
    ) -> dict[tuple[str, str, str], Any]:
        """(policy type, account, direction) -> settings, from the ground truth."""
        truth = self.truth(admin)
        expected: dict[tuple[str, str, str], Any] = {}
        for account, policy in truth["spam"].items():
            yes_no = {"Y": True, "N": False}
            expected["spam", account, "any"] = {k: yes_no.get(v, v) for k, v in policy.items()}
        for key, setting in truth["throttle"].items():
            account, direction = key.rsplit("/", 1)
            expected["throttle", account, direction] = setting
        for account, status in truth["greylisting"].items():
            expected["greylisting", account, "any"] = {"status": status}
        for account, lists in truth["greylisting_whitelists"].items():
            if any(lists.values()):
                expected["greylisting_whitelists", account, "any"] = lists
        if not users:
            expected = {k: v for k, v in expected.items() if k[1].startswith("@")}
        return expected


@pytest.fixture
def iredadmin(start_sandbox: Callable[..., RunningSandbox]) -> Callable[..., IRedAdmin]:
    """``iredadmin(**sandbox_settings)`` starts a small iRedAdmin sandbox for the test."""

    def make(client_ip: str | None = None, **settings: Any) -> IRedAdmin:
        return IRedAdmin(start_sandbox("iredadmin", client_ip=client_ip, **settings))

    return make
