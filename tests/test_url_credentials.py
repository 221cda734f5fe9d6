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
# ``]`` unescaped: ``requests`` takes it, ``urllib.parse`` refuses it.
PASSWORDS = [
    ("Url-Secret-9", "Url-Secret-9"),
    ("p%40ss!word1", "p@ss!word1"),
    ("br]cket-Pass3", "br]cket-Pass3"),
]


@pytest.mark.parametrize(
    ("in_url", "password"), PASSWORDS, ids=["plain", "escaped", "unescaped-bracket"]
)
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


@pytest.mark.parametrize("tap", list(TAPS))
def test_a_url_setting_without_scheme_is_one_line_naming_it(tap):
    """The usual slip (no ``https://``) stops sync and ``--test`` before any call, with
    the setting named and the URL shown without its password."""
    _vendor, _settings, config, url_setting = TAPS[tap]
    settings = config("http://127.0.0.1:9")
    settings[url_setting] = "web-user:Url-Secret-9@mail.example.com/api"
    expected = f"{tap}: invalid setting '{url_setting}' = 'mail.example.com/api': must be an "
    for args in ((), ("--test",)):
        run = run_tap(tap, settings, args=args)
        assert run.returncode != 0
        errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
        assert len(errors) == 1, run.stderr[-2000:]
        assert expected + "http:// or https:// URL with a host" in errors[0]
        assert not any(word in run.stderr + run.stdout for word in ("web-user", "Url-Secret-9"))


@pytest.mark.parametrize("tap", list(TAPS))
def test_the_connection_test_of_a_wrong_path_shows_no_user_or_password(tap, start_sandbox):
    """A 404 is reported with the address called, which carries them."""
    vendor, settings, config, _ = TAPS[tap]
    sandbox = start_sandbox(vendor, **settings)
    wrong = config(sandbox.url.replace("http://", "http://web-user:Url-Secret-9@") + "/nothing")
    test = run_tap(tap, wrong, args=("--test",), env=network_env())
    assert test.returncode == 1
    assert f"127.0.0.1:{sandbox.port}/nothing" in test.stderr
    assert not any(word in test.stdout + test.stderr for word in ("web-user", "Url-Secret-9"))
