"""TLS verification, the same in the three taps: a server certificate that does not verify
ends the run at once (no retry) with one line saying what to set; trusted through a CA
bundle named in ``REQUESTS_CA_BUNDLE`` (which the SDK's ``Session.send`` used to ignore),
or read unverified with ``verify_tls: false``, a tap reads over HTTPS exactly the records
it reads over plain HTTP from the same sandbox."""

from __future__ import annotations

import pytest
from network_support import TAPS, records
from sandbox.testing import failure_line, network_env, run_tap, self_signed_tls

from sandbox import RunningSandbox


@pytest.fixture(params=list(TAPS))
def servers(request, start_sandbox, tmp_path):
    """(tap, config for a URL, the sandbox over HTTP, the same app over HTTPS, the CA file)."""
    vendor, settings, config, _ = TAPS[request.param]
    tls, certificate = self_signed_tls(tmp_path)
    plain = start_sandbox(vendor, **settings)
    with RunningSandbox(plain.app, tls=tls) as secure:
        yield request.param, config, plain, secure, certificate


@pytest.mark.parametrize("blank", ["", " "], ids=["url", "url-after-a-blank"])
def test_an_untrusted_certificate_ends_the_run_at_once_naming_it(servers, blank):
    """``requests`` strips a blank before the URL; tap-iredadmin then verified nothing."""
    tap, config, _, secure, _ = servers
    slow_retries = {"max_retries": 3, "retry_base_seconds": 5}  # a retry would wait 2.5 s+
    url = blank + secure.url
    run = run_tap(tap, config(url) | slow_retries, env=network_env(), timeout=60)
    line = failure_line(run)
    assert f"the TLS certificate of 127.0.0.1:{secure.port} is not trusted (self" in line
    assert line.endswith(
        "if it is right, name its CA in REQUESTS_CA_BUNDLE, or set verify_tls to false"
    )
    assert "retry" not in run.stderr
    assert {m["type"] for m in run.messages} <= {"SCHEMA"}
    test = run_tap(tap, config(url), args=("--test",), env=network_env(), timeout=60)
    assert test.returncode == 1
    assert line[line.index("the TLS certificate") :] in test.stderr  # the same words


def test_a_ca_bundle_named_in_the_environment_is_trusted(servers):
    tap, config, plain, secure, certificate = servers
    over_http = records(run_tap(tap, config(plain.url), env=network_env()))
    env = {**network_env(), "REQUESTS_CA_BUNDLE": str(certificate)}
    assert records(run_tap(tap, config(secure.url), env=env)) == over_http
    test = run_tap(tap, config(secure.url), args=("--test",), env=env)
    assert test.returncode == 0, test.stderr[-2000:]


def test_with_verify_tls_off_an_untrusted_certificate_is_read(servers):
    tap, config, plain, secure, _ = servers
    over_http = records(run_tap(tap, config(plain.url), env=network_env()))
    run = run_tap(tap, config(secure.url) | {"verify_tls": False}, env=network_env())
    assert records(run) == over_http
    assert "verify_tls is" in run.stderr  # the warning that it is off


def test_a_ca_bundle_variable_naming_no_file_is_one_line(servers, tmp_path):
    tap, config, _, secure, _ = servers
    missing = tmp_path / "no-such-bundle.pem"
    env = {**network_env(), "REQUESTS_CA_BUNDLE": str(missing)}
    line = failure_line(run_tap(tap, config(secure.url), env=env, timeout=60))
    assert f"REQUESTS_CA_BUNDLE names {missing}, which does not exist: fix or unset it" in line
