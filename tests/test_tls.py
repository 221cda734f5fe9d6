"""TLS verification, the same in the three taps: a server certificate that does not verify
ends the run at once (no retry) with one line saying what to set; trusted through a CA
bundle named in ``REQUESTS_CA_BUNDLE`` (which the SDK's ``Session.send`` used to ignore),
or read unverified with ``verify_tls: false``, a tap reads over HTTPS exactly the records
it reads over plain HTTP from the same sandbox."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sandbox.iredadmin import DEMO_ADMIN
from sandbox.iredadmin import DEMO_PASSWORD as IREDADMIN_PASSWORD
from sandbox.mailprotector import DEMO_API_KEY, DEMO_DOMAIN_ID
from sandbox.rediffmail import DEMO_DOMAIN, DEMO_USER
from sandbox.rediffmail import DEMO_PASSWORD as REDIFF_PASSWORD
from sandbox.testing import failure_line, proxy_env, run_tap, self_signed_tls

from sandbox import RunningSandbox

FROZEN = time.time()  # the Mailprotector sandbox's clock: both runs see the same entries
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


TAPS = {
    "tap-rediffmail": ("rediffmail", {}, rediffmail_config),
    "tap-mailprotector": ("mailprotector", {"frozen_at": FROZEN}, mailprotector_config),
    "tap-iredadmin": ("iredadmin", {"domains": 2, "users_per_domain": 3}, iredadmin_config),
}


@pytest.fixture(params=list(TAPS))
def servers(request, start_sandbox, tmp_path):
    """(tap, config for a URL, the sandbox over HTTP, the same app over HTTPS, the CA file)."""
    vendor, settings, config = TAPS[request.param]
    tls, certificate = self_signed_tls(tmp_path)
    plain = start_sandbox(vendor, **settings)
    with RunningSandbox(plain.app, tls=tls) as secure:
        yield request.param, config, plain, secure, certificate


def records(run):
    assert run.returncode == 0, run.stderr[-2000:]
    found = [(m["stream"], m["record"]) for m in run.messages if m["type"] == "RECORD"]
    assert found, "no records: this comparison could not fail"
    return found


def test_an_untrusted_certificate_ends_the_run_at_once_naming_it(servers):
    tap, config, _, secure, _ = servers
    slow_retries = {"max_retries": 3, "retry_base_seconds": 5}  # a retry would wait 2.5 s+
    run = run_tap(tap, config(secure.url) | slow_retries, env=proxy_env(), timeout=60)
    line = failure_line(run)
    assert f"the TLS certificate of 127.0.0.1:{secure.port} is not trusted (self" in line
    assert line.endswith(
        "if it is right, name its CA in REQUESTS_CA_BUNDLE, or set verify_tls to false"
    )
    assert "retry" not in run.stderr
    assert {m["type"] for m in run.messages} <= {"SCHEMA"}


def test_a_ca_bundle_named_in_the_environment_is_trusted(servers):
    tap, config, plain, secure, certificate = servers
    over_http = records(run_tap(tap, config(plain.url), env=proxy_env()))
    env = {**proxy_env(), "REQUESTS_CA_BUNDLE": str(certificate)}
    assert records(run_tap(tap, config(secure.url), env=env)) == over_http
    test = run_tap(tap, config(secure.url), args=("--test",), env=env)
    assert test.returncode == 0, test.stderr[-2000:]


def test_with_verify_tls_off_an_untrusted_certificate_is_read(servers):
    tap, config, plain, secure, _ = servers
    over_http = records(run_tap(tap, config(plain.url), env=proxy_env()))
    run = run_tap(tap, config(secure.url) | {"verify_tls": False}, env=proxy_env())
    assert records(run) == over_http
    assert "verify_tls is" in run.stderr  # the warning that it is off
