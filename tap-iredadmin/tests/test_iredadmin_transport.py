"""The tap's calls over TLS and through a proxy, as ``requests`` would make them:
certificate checked (or not, with ``verify_tls`` off), a CA bundle from the
environment trusted, and the environment's proxy used unless ``NO_PROXY`` says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.testing import ForwardProxy, failure_line, self_signed_tls

NO_PROXY = {"NO_PROXY": "", "no_proxy": "", "HTTPS_PROXY": "", "https_proxy": ""}


def assert_complete(ira: Any, run: Any) -> None:
    assert run.returncode == 0, run.stderr[-2000:]
    truth = ira.truth()
    assert [r["domain"] for r in run.records("domains")] == truth["domains"]
    assert [r["username"] for r in run.records("users")] == truth["users"]
    assert [r["address"] for r in run.records("aliases")] == list(truth["aliases"])


def test_an_untrusted_certificate_ends_the_run_at_once_naming_it(
    iredadmin: Any, tmp_path: Path
) -> None:
    tls, _ = self_signed_tls(tmp_path)
    ira = iredadmin(domains=2, users_per_domain=3, tls=tls)
    run = ira.run(max_retries=3, retry_base_seconds=5)  # a retry would wait 2.5 s or more
    line = failure_line(run)
    assert line.startswith(f"POST /api/login: the TLS certificate of {ira.sandbox.url[8:]} is not")
    assert "self-signed certificate" in line
    assert "REQUESTS_CA_BUNDLE, or set verify_tls to false" in line
    assert "retry" not in run.stderr
    assert run.messages == [m for m in run.messages if m["type"] == "SCHEMA"]


def test_with_verify_tls_off_an_untrusted_certificate_is_read(
    iredadmin: Any, tmp_path: Path
) -> None:
    tls, _ = self_signed_tls(tmp_path)
    ira = iredadmin(domains=2, users_per_domain=3, tls=tls)
    run = ira.run(verify_tls=False)
    assert_complete(ira, run)
    assert "verify_tls is off" in run.stderr


def test_a_ca_bundle_named_in_the_environment_is_trusted(iredadmin: Any, tmp_path: Path) -> None:
    tls, certificate = self_signed_tls(tmp_path)
    ira = iredadmin(domains=2, users_per_domain=3, tls=tls)
    run = ira.run(env={"REQUESTS_CA_BUNDLE": str(certificate)})
    assert_complete(ira, run)


def test_calls_go_through_the_environment_proxy(iredadmin: Any) -> None:
    ira = iredadmin(domains=2, users_per_domain=3)
    with ForwardProxy() as proxy:
        run = ira.run(env={**NO_PROXY, "HTTP_PROXY": proxy.url})
    assert_complete(ira, run)
    base = ira.config()["base_url"]
    assert proxy.seen[0] == f"POST {base}/api/login"
    assert len(proxy.seen) == len(ira.app.requests)
    assert all(line.split(" ", 1)[1].startswith(base + "/api/") for line in proxy.seen)


def test_no_proxy_keeps_calls_off_the_proxy(iredadmin: Any) -> None:
    ira = iredadmin(domains=2, users_per_domain=3)
    with ForwardProxy() as proxy:
        run = ira.run(env={**NO_PROXY, "HTTP_PROXY": proxy.url, "NO_PROXY": "127.0.0.1"})
    assert_complete(ira, run)
    assert proxy.seen == []
