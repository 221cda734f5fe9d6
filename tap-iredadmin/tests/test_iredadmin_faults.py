"""Each fault ends in a clear error or a warning that names what was skipped."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest
from sandbox.iredadmin import DEMO_ADMIN
from sandbox.postgres import free_port
from sandbox.testing import BIN, failure_line


def error_text(run: Any) -> str:
    """Logged errors and the last line (an exception raised outside the SDK's hook)."""
    lines = run.stderr.strip().splitlines()
    return "\n".join([line for line in lines if "ERROR" in line] + lines[-1:])


@pytest.mark.parametrize(
    ("settings", "config", "cause"),
    [
        ({}, {"password": "wrong-password"}, "INVALID_CREDENTIALS (wrong username or password)"),
        ({}, {"username": "postmaster"}, "INVALID_USERNAME (username must be the admin's full"),
        ({"allowed_ips": ["10.9.8.7"]}, {}, "NOT_AUTHORIZED (this client's IP address is not"),
    ],
    ids=["credentials", "username", "ip-not-allowed"],
)
def test_connection_test_names_the_cause(
    iredadmin: Any, settings: dict[str, Any], config: dict[str, Any], cause: str
) -> None:
    ira = iredadmin(**settings)
    run = ira.run("--test", **config)
    assert run.returncode != 0
    assert f"login to {ira.config()['base_url']} as" in error_text(run)
    assert cause in error_text(run)


def test_connection_test_names_a_switched_off_api(iredadmin: Any) -> None:
    ira = iredadmin(api_enabled=False)
    run = ira.run("--test")
    assert run.returncode == 1
    assert "every /api URL under it is HTTP 404: the RESTful API is switched off" in run.stderr
    assert "Traceback" not in run.stderr


def test_connection_test_passes(iredadmin: Any) -> None:
    run = iredadmin().run("--test")
    assert run.returncode == 0, run.stderr[-2000:]


def test_ip_allow_list_admits_an_allowed_client(iredadmin: Any) -> None:
    ira = iredadmin(client_ip="10.9.8.7", allowed_ips=["10.9.8.7"])
    run = ira.run()
    assert run.returncode == 0, run.stderr[-2000:]
    ira.sandbox.set_client_ip("10.0.0.1")
    run = ira.run()
    assert "NOT_AUTHORIZED" in error_text(run)


def test_unreachable_host_is_one_line(iredadmin: Any) -> None:
    """As in the other two taps: the address called, the cause and the setting to check."""
    ira = iredadmin()
    port = free_port()
    run = ira.run(base_url=f"http://127.0.0.1:{port}/iredadmin", max_retries=1)
    assert failure_line(run) == (
        f"Cannot reach iRedAdmin-Pro at 127.0.0.1:{port}/iredadmin/api/login after 2 attempts "
        "(NewConnectionError [Errno 111] Connection refused): check base_url and the network"
    )


def test_persistent_500_on_an_endpoint_fails_naming_it(iredadmin: Any) -> None:
    ira = iredadmin(endpoint_faults={"/api/users/example.net": "http_500"})
    run = ira.run(max_retries=2)
    assert run.returncode != 0
    assert "GET /api/users/example.net failed after 3 attempts: HTTP 500" in error_text(run)
    assert ira.calls("/users/example.net") == 3


@pytest.mark.parametrize("fault", ["http_500", "http_503", "html", "truncated", "reset", "timeout"])
def test_transient_faults_are_retried_to_full_data(iredadmin: Any, fault: str) -> None:
    ira = iredadmin(users_per_domain=5, aliases_per_domain=2)
    ira.app.faults.timeout_seconds = 2.5  # beyond the tap's request_timeout of 2 s
    ira.app.faults.fail_next = [fault, fault]
    run = ira.run(max_workers=2)
    assert run.returncode == 0, run.stderr[-2000:]
    truth = ira.truth()
    assert run.counts() == {
        "domains": len(truth["domains"]),
        "users": len(truth["users"]),
        "aliases": len(truth["aliases"]),
        "mailing_lists": len(truth["mailing_lists"]),
        "policies": len(ira.expected_policies(users=False)),
    }
    assert "retry 2 of 5" in run.stderr


@pytest.mark.parametrize("workers", [2, 8])
def test_429_is_retried_after_retry_after(iredadmin: Any, workers: int) -> None:
    """A 429 pauses every worker, not only the one that got it: otherwise the others
    keep the allowance used up and the waiting call can lose on every retry."""
    ira = iredadmin()
    ira.app.faults.rate_limit_interval = 0.02
    ira.app.faults.rate_limit_retry_after = 0.05
    run = ira.run(max_workers=workers, max_retries=8, retry_base_seconds=0)
    assert run.returncode == 0, run.stderr[-2000:]
    assert [r["username"] for r in run.records("users")] == ira.truth()["users"]
    assert any(r.status == 429 for r in ira.app.requests)
    assert re.search(
        r"HTTP 429 from 127\.0\.0\.1:\d+/iredadmin/api/\S+ \(Retry-After 0\.05 s\): "
        r"retry 1 of 8 in 0\.05 s",
        run.stderr,
    )


def test_error_storm_is_survived(iredadmin: Any) -> None:
    ira = iredadmin()
    ira.app.faults.error_rate = 0.15
    ira.app.faults.error_kinds = ["http_500", "http_502", "html", "truncated", "reset"]
    run = ira.run(max_retries=8, user_policies=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert [r["username"] for r in run.records("users")] == ira.truth()["users"]


def test_mailing_list_service_down_is_skipped_with_a_warning(iredadmin: Any) -> None:
    ira = iredadmin(endpoint_faults={"/api/mls/example.org": "API_SERVER_NOT_REACHABLE"})
    run = ira.run()
    assert run.returncode == 0, run.stderr[-2000:]
    warnings = [line for line in run.stderr.splitlines() if "WARNING" in line]
    assert any(
        "mailing_lists: skipped the mailing lists of example.org" in w
        and "API_SERVER_NOT_REACHABLE" in w
        for w in warnings
    )
    expected = [a for a in ira.truth()["mailing_lists"] if not a.endswith("@example.org")]
    assert [r["address"] for r in run.records("mailing_lists")] == expected
    # an incomplete table must not retire the rows it could not read
    streams = {m["stream"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"}
    assert streams == {"domains", "users", "aliases", "policies"}


def test_permission_denied_on_account_data_fails_naming_endpoint(iredadmin: Any) -> None:
    ira = iredadmin(endpoint_faults={"/api/aliases/example.net": "PERMISSION_DENIED"})
    run = ira.run()
    assert run.returncode != 0
    assert "GET /api/aliases/example.net failed: PERMISSION_DENIED" in error_text(run)


def test_a_failure_answer_is_never_data(iredadmin: Any) -> None:
    ira = iredadmin(endpoint_faults={"/api/domain/": "failure:KeyError: 'mail'"})
    run = ira.run()
    assert run.returncode != 0
    assert "GET /api/domain/example.com failed: KeyError: 'mail'" in error_text(run)
    assert not run.records("domains")


def test_truncated_json_is_an_error_after_retries(iredadmin: Any) -> None:
    ira = iredadmin(endpoint_faults={"/api/domains": "truncated"})
    run = ira.run(max_retries=1)
    assert run.returncode != 0
    assert "GET /api/domains failed after 2 attempts: the answer is not valid JSON" in (
        error_text(run)
    )


def test_bad_config_is_rejected(iredadmin: Any) -> None:
    ira = iredadmin()
    run = ira.run(config={"base_url": ira.config()["base_url"], "username": DEMO_ADMIN})
    assert run.returncode != 0
    assert "tap-iredadmin: missing required setting 'password'" in run.stderr
    run = ira.run(max_workers=0)
    assert run.returncode != 0
    assert "tap-iredadmin: invalid setting 'max_workers' = 0: must be from 1 to 64" in run.stderr


def test_verify_tls_off_logs_a_warning(iredadmin: Any) -> None:
    run = iredadmin().run(verify_tls=False)
    assert run.returncode == 0
    assert "verify_tls is off" in run.stderr


@pytest.mark.parametrize("args", [("--about", "--format=json"), ("--discover",)])
def test_about_and_discover_need_no_config(args: tuple[str, ...]) -> None:
    result = subprocess.run(
        [str(BIN / "tap-iredadmin"), *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    output = json.loads(result.stdout)
    if args[0] == "--about":
        assert "emit_activate_version_messages" in output["settings"]["properties"]
    else:
        assert {s["stream"] for s in output["streams"]} == {
            "domains", "users", "aliases", "mailing_lists", "policies"
        }  # fmt: skip
