"""The tap's calls through a proxy, as ``requests`` would make them: the environment's
proxy used (with its credentials, and tunnelled for HTTPS) unless ``NO_PROXY`` says so;
and credentials in ``base_url`` kept out of the output. TLS verification, the same in
the three taps, is tested in ``tests/test_tls.py``."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from sandbox.testing import ForwardProxy, assert_no_secrets, proxy_env, self_signed_tls

PROXY_USER, PROXY_PASSWORD = "proxy-user", "Proxy-Secret-7"
PROXY_AUTHORIZATION = "Basic " + base64.b64encode(b"proxy-user:Proxy-Secret-7").decode()


def with_credentials(proxy: ForwardProxy) -> str:
    return proxy.url.replace("http://", f"http://{PROXY_USER}:{PROXY_PASSWORD}@")


def assert_complete(ira: Any, run: Any) -> None:
    assert run.returncode == 0, run.stderr[-2000:]
    truth = ira.truth()
    assert [r["domain"] for r in run.records("domains")] == truth["domains"]
    assert [r["username"] for r in run.records("users")] == truth["users"]
    assert [r["address"] for r in run.records("aliases")] == list(truth["aliases"])


def test_calls_go_through_the_environment_proxy_with_its_credentials(iredadmin: Any) -> None:
    ira = iredadmin(domains=2, users_per_domain=3)
    with ForwardProxy() as proxy:
        run = ira.run(env=proxy_env(http_proxy=with_credentials(proxy)))
    assert_complete(ira, run)
    base = ira.config()["base_url"]
    assert proxy.seen[0] == f"POST {base}/api/login"
    assert len(proxy.seen) == len(ira.app.requests)
    assert all(line.split(" ", 1)[1].startswith(base + "/api/") for line in proxy.seen)
    assert set(proxy.authorizations) == {PROXY_AUTHORIZATION}
    assert_no_secrets([PROXY_PASSWORD], run.stdout, run.stderr)


def test_https_goes_through_the_proxy_in_a_tunnel(iredadmin: Any, tmp_path: Path) -> None:
    tls, certificate = self_signed_tls(tmp_path)
    ira = iredadmin(domains=2, users_per_domain=3, tls=tls)
    with ForwardProxy() as proxy:
        env = proxy_env(https_proxy=with_credentials(proxy))
        run = ira.run(env={**env, "REQUESTS_CA_BUNDLE": str(certificate)})
    assert_complete(ira, run)
    assert proxy.seen
    assert set(proxy.seen) == {f"CONNECT 127.0.0.1:{ira.sandbox.port}"}
    assert set(proxy.authorizations) == {PROXY_AUTHORIZATION}


def test_no_proxy_keeps_calls_off_the_proxy(iredadmin: Any) -> None:
    ira = iredadmin(domains=2, users_per_domain=3)
    with ForwardProxy() as proxy:
        run = ira.run(env=proxy_env(http_proxy=proxy.url, no_proxy="127.0.0.1"))
    assert_complete(ira, run)
    assert proxy.seen == []


def test_credentials_in_base_url_stay_out_of_the_output(iredadmin: Any) -> None:
    """HTTP authentication in front of iRedAdmin-Pro, given in the URL: its password is
    redacted where the URL is shown (each retry's warning, the connection test's report)."""
    ira = iredadmin(domains=2, users_per_domain=3, endpoint_faults={"/api/users/": "http_500"})
    base_url = ira.config()["base_url"].replace("http://", "http://web-user:Url-Secret-9@")
    run = ira.run(base_url=base_url, max_retries=1, env=proxy_env())
    assert "HTTP 500 from web-user:[redacted]@127.0.0.1" in run.stderr
    ira.app.settings.endpoint_faults = {}
    test = ira.run("--test", base_url=base_url, env=proxy_env())
    assert test.returncode == 0, test.stderr[-2000:]
    assert "base_url  http://web-user:[redacted]@127.0.0.1" in test.stdout
    assert_no_secrets(["Url-Secret-9"], run.stdout, run.stderr, test.stdout, test.stderr)
