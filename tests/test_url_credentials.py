"""A password in a tap's URL setting (HTTP authentication in front of an API:
``https://user:password@host/...``) is a secret like the others, in the three taps: it
is redacted where the URL is shown (a retry's warning, the connection test's report)."""

from __future__ import annotations

import pytest
from network_support import TAPS
from sandbox.testing import assert_no_secrets, proxy_env, run_tap

URL_PASSWORD = "Url-Secret-9"


@pytest.mark.parametrize("tap", list(TAPS))
def test_a_password_in_the_url_is_redacted(tap, start_sandbox):
    vendor, settings, config, url_setting = TAPS[tap]
    sandbox = start_sandbox(vendor, **settings)
    with_password = config(sandbox.url)
    with_password[url_setting] = with_password[url_setting].replace(
        "http://", f"http://web-user:{URL_PASSWORD}@"
    )
    sandbox.app.faults.fail_next = ["http_500"]  # one retry, whose warning shows the URL
    run = run_tap(tap, with_password, env=proxy_env())
    assert run.returncode == 0, run.stderr[-2000:]
    assert "HTTP 500 from web-user:[redacted]@127.0.0.1" in run.stderr
    test = run_tap(tap, with_password, args=("--test",), env=proxy_env())
    assert test.returncode == 0, test.stderr[-2000:]
    assert_no_secrets([URL_PASSWORD], run.stdout, run.stderr, test.stdout, test.stderr)
