"""The shared policies through the sandbox: key-less rows are skipped and counted, a
server that echoes the password does not put it in any output."""

from __future__ import annotations

import base64
import json
from typing import Any

from mailtaps_common.secrets import forms
from sandbox.iredadmin import DEMO_PASSWORD
from sandbox.testing import assert_no_secrets


def test_users_without_username_are_skipped_with_one_warning(iredadmin: Any) -> None:
    ira = iredadmin(null_usernames=2)
    run = ira.run()
    assert run.returncode == 0, run.stderr[-2000:]
    users = run.records("users")
    domains = len(ira.truth()["domains"])
    assert all(user["username"] is not None for user in users)
    assert len(users) == len(ira.truth()["users"]) - 2 * domains
    warnings = [line for line in run.stderr.splitlines() if "without a value" in line]
    assert len(warnings) == 1, warnings
    assert f"users: skipped {2 * domains} records" in warnings[0]
    assert "primary key field 'username'" in warnings[0]


def test_a_password_echoed_by_the_server_is_redacted_in_every_form(iredadmin: Any) -> None:
    ira = iredadmin(login_echoes_password=True)
    for args in ((), ("--test",)):
        run = ira.run(*args)
        assert run.returncode != 0
        assert "DB error: password=[redacted] (base64 [redacted])" in run.stderr
        assert_no_secrets([DEMO_PASSWORD], run.stdout, run.stderr, json.dumps(run.states))
        for form in forms(DEMO_PASSWORD):
            assert form not in run.stdout + run.stderr


def test_a_one_character_password_is_redacted_without_garbling_words(iredadmin: Any) -> None:
    ira = iredadmin(login_echoes_password=True)
    run = ira.run(password="e")
    assert run.returncode != 0
    assert "password=[redacted] (base64 [redacted]): Max retries exceeded" in run.stderr
    assert "password=e " not in run.stderr
    assert base64.b64encode(b"e").decode() not in run.stderr
