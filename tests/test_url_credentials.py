"""A password in a tap's URL setting (HTTP authentication in front of an API:
``https://user:password@host/...``) never shows, in the three taps: URLs are shown
without their user and password (a retry's warning, the connection test's report), and
the password is redacted as a secret wherever else it might appear."""

from __future__ import annotations

import pytest
from network_support import TAPS
from sandbox.testing import assert_no_secrets, network_env, run_tap

# (as written in the URL, the password it stands for): ``requests`` rewrites some
# characters of the second (``%40`` kept, ``!`` kept), so only not showing it is safe.
PASSWORDS = [("Url-Secret-9", "Url-Secret-9"), ("p%40ss!word1", "p@ss!word1")]


@pytest.mark.parametrize(("in_url", "password"), PASSWORDS, ids=["plain", "escaped"])
@pytest.mark.parametrize("tap", list(TAPS))
def test_a_password_in_the_url_never_shows(tap, in_url, password, start_sandbox):
    vendor, settings, config, url_setting = TAPS[tap]
    sandbox = start_sandbox(vendor, **settings)
    with_password = config(sandbox.url)
    with_password[url_setting] = with_password[url_setting].replace(
        "http://", f"http://web-user:{in_url}@"
    )
    sandbox.app.faults.fail_next = ["http_500"]  # one retry, whose warning shows the URL
    run = run_tap(tap, with_password, env=network_env())
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"HTTP 500 from 127.0.0.1:{sandbox.port}/" in run.stderr
    test = run_tap(tap, with_password, args=("--test",), env=network_env())
    assert test.returncode == 0, test.stderr[-2000:]
    assert f"http://127.0.0.1:{sandbox.port}" in test.stdout  # the report's URL row
    texts = [run.stdout, run.stderr, test.stdout, test.stderr]
    assert not any("web-user" in text for text in texts)
    assert_no_secrets([password, in_url], *texts)
