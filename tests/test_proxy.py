"""The environment's proxy, the same in the three taps: every call goes through it with
the credentials its URL carries (HTTPS tunnelled with ``CONNECT``), none when ``NO_PROXY``
names the server, and through it a tap reads exactly what it reads without it. An HTTPS
proxy whose certificate does not verify is named in one line, at once."""

from __future__ import annotations

import base64

import pytest
from network_support import TAPS, records
from sandbox.postgres import free_port
from sandbox.testing import ForwardProxy, failure_line, network_env, run_tap, self_signed_tls

from sandbox import RunningSandbox

PROXY_PASSWORD = "Proxy-Secret-7"
PROXY_AUTHORIZATION = "Basic " + base64.b64encode(b"proxy-user:Proxy-Secret-7").decode()


def with_credentials(proxy):
    return proxy.url.replace("http://", f"http://proxy-user:{PROXY_PASSWORD}@")


@pytest.fixture(params=list(TAPS))
def tap(request, start_sandbox):
    """(tap, config for a URL, its sandbox, the records it reads without a proxy)."""
    vendor, settings, config, _ = TAPS[request.param]
    sandbox = start_sandbox(vendor, **settings)
    direct = records(run_tap(request.param, config(sandbox.url), env=network_env()))
    return request.param, config, sandbox, direct


def test_every_call_goes_through_the_proxy_with_its_credentials(tap):
    name, config, sandbox, direct = tap
    calls_before = len(sandbox.app.requests)
    with ForwardProxy() as proxy:
        env = network_env(http_proxy=with_credentials(proxy))
        run = run_tap(name, config(sandbox.url), env=env)
    assert records(run) == direct
    assert len(proxy.seen) == len(sandbox.app.requests) - calls_before
    assert all(line.split(" ", 1)[1].startswith(sandbox.url + "/") for line in proxy.seen)
    assert set(proxy.authorizations) == {PROXY_AUTHORIZATION}


def test_https_goes_through_the_proxy_in_a_tunnel(tap, tmp_path):
    name, config, sandbox, direct = tap
    tls, certificate = self_signed_tls(tmp_path)
    with RunningSandbox(sandbox.app, tls=tls) as secure, ForwardProxy() as proxy:
        env = network_env(https_proxy=with_credentials(proxy))
        run = run_tap(name, config(secure.url), env={**env, "REQUESTS_CA_BUNDLE": str(certificate)})
    assert records(run) == direct
    assert proxy.seen
    assert set(proxy.seen) == {f"CONNECT 127.0.0.1:{secure.port}"}
    assert set(proxy.authorizations) == {PROXY_AUTHORIZATION}


def test_no_proxy_keeps_calls_off_the_proxy(tap):
    name, config, sandbox, direct = tap
    with ForwardProxy() as proxy:
        env = network_env(http_proxy=proxy.url, no_proxy="127.0.0.1")
        run = run_tap(name, config(sandbox.url), env=env)
    assert records(run) == direct
    assert proxy.seen == []


def test_an_https_proxy_with_an_untrusted_certificate_is_named_at_once(tap, tmp_path):
    """``requests`` reports it as a proxy it cannot reach; it was retried and then said
    "Cannot reach ... after N attempts" in the two SDK taps, and named the server instead
    of the proxy in tap-iredadmin."""
    name, config, sandbox, direct = tap
    tls, certificate = self_signed_tls(tmp_path)
    slow_retries = {"max_retries": 3, "retry_base_seconds": 5}  # a retry would wait 2.5 s+
    with RunningSandbox(sandbox.app, tls=tls) as secure, ForwardProxy(tls=tls) as proxy:
        env = network_env(https_proxy=proxy.url)
        run = run_tap(name, config(secure.url) | slow_retries, env=env, timeout=60)
        test = run_tap(name, config(secure.url), args=("--test",), env=env, timeout=60)
        trusted = run_tap(
            name, config(secure.url), env={**env, "REQUESTS_CA_BUNDLE": str(certificate)}
        )
    line = failure_line(run)
    proxy_port = proxy.url.rsplit(":", 1)[1]
    assert f"the TLS certificate of the proxy 127.0.0.1:{proxy_port} is not trusted (" in line
    assert "retry" not in run.stderr
    assert test.returncode == 1
    assert line[line.index("the TLS certificate") :] in test.stderr  # the same words
    assert records(trusted) == direct
    assert set(proxy.seen) == {f"CONNECT 127.0.0.1:{secure.port}"}


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_a_proxy_url_requests_cannot_read_never_shows_its_password(tap, scheme):
    """``requests`` puts the whole proxy URL (here with a port out of range) in its error."""
    name, config, sandbox, _ = tap
    proxy_url = f"{scheme}://proxy-user:{PROXY_PASSWORD}@127.0.0.1:99999"
    env = network_env(http_proxy=proxy_url, https_proxy=proxy_url)
    run = run_tap(name, config(sandbox.url), env=env, timeout=60)
    test = run_tap(name, config(sandbox.url), args=("--test",), env=env, timeout=60)
    assert run.returncode == 1
    assert test.returncode == 1
    for text in (run.stdout, run.stderr, test.stdout, test.stderr):
        assert PROXY_PASSWORD not in text


def test_the_connection_test_names_a_proxy_that_refuses(tap):
    name, config, sandbox, _ = tap
    port = free_port()
    env = network_env(http_proxy=f"http://proxy-user:{PROXY_PASSWORD}@127.0.0.1:{port}")
    test = run_tap(name, config(sandbox.url), args=("--test",), env=env, timeout=60)
    assert test.returncode == 1
    assert (
        f"cannot reach the proxy 127.0.0.1:{port} (connection refused): check the proxy "
        "variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)"
    ) in test.stderr
    assert PROXY_PASSWORD not in test.stdout + test.stderr
