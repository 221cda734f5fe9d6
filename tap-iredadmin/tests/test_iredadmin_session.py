"""One login per run; a lost session is re-established once, transparently."""

from __future__ import annotations

from typing import Any

import pytest

STREAMS = ("domains", "users", "aliases", "mailing_lists", "policies")


def assert_complete(ira: Any, run: Any) -> None:
    assert run.returncode == 0, run.stderr[-2000:]
    truth = ira.truth()
    assert [r["domain"] for r in run.records("domains")] == truth["domains"]
    assert [r["username"] for r in run.records("users")] == truth["users"]
    members = {r["address"]: r["members"] for r in run.records("aliases")}
    assert members == {a: v["members"] for a, v in truth["aliases"].items()}
    assert [r["address"] for r in run.records("mailing_lists")] == truth["mailing_lists"]
    policies = {(r["policy_type"], r["account"], r["direction"]) for r in run.records("policies")}
    assert policies == set(ira.expected_policies())


@pytest.mark.parametrize("backend", ["MYSQL", "PGSQL"])
def test_one_login_shared_by_all_streams_and_workers(iredadmin: Any, backend: str) -> None:
    ira = iredadmin(backend=backend)  # cookie iRedAdmin-Pro-MYSQL or -PGSQL
    run = ira.run(max_workers=8, user_details=True, user_policies=True)
    assert_complete(ira, run)
    assert ira.calls("/login") == 1


@pytest.mark.parametrize(
    ("redirect_prefixes", "workers", "redirected"),
    # Every session is dropped after 40 calls, mid-run with any call order; the calls
    # then answer LOGIN_REQUIRED, or 303 to the login page (prefixes that redirect).
    [([], 4, False), (["/api/"], 1, True), (["/api/"], 8, True)],
    ids=["login-required", "redirect-to-login", "redirect-to-login-workers"],
)
def test_session_expiring_mid_run_completes_with_full_data(
    iredadmin: Any, redirect_prefixes: list[str], workers: int, redirected: bool
) -> None:
    ira = iredadmin(expire_sessions_after_calls=40, redirect_prefixes=redirect_prefixes)
    run = ira.run(max_workers=workers, user_details=True, user_policies=True)
    assert_complete(ira, run)
    assert ira.calls("/login") == 2
    assert any(r.status == 303 for r in ira.app.requests) == redirected
    assert "session lost; logging in again" in run.stderr


def test_session_lost_again_right_after_login_fails_clearly(iredadmin: Any) -> None:
    ira = iredadmin(session_idle_seconds=0)  # every session is gone by the next call
    run = ira.run()
    assert run.returncode != 0
    assert "the session was lost again right after logging in (LOGIN_REQUIRED)" in run.stderr
    assert ira.calls("/login") == 2


def test_anonymous_cookies_in_answers_do_not_log_the_run_out(iredadmin: Any) -> None:
    """Every failure answer carries a fresh anonymous session cookie; kept in a
    shared jar it would log out every later call."""
    ira = iredadmin(endpoint_faults={"/api/mls/": "API_SERVER_NOT_REACHABLE"})
    run = ira.run(max_workers=4)
    assert run.returncode == 0, run.stderr[-2000:]
    assert ira.calls("/login") == 1
    assert len(run.records("policies")) == len(ira.expected_policies(users=False))
