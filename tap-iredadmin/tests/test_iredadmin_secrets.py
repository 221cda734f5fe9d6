"""Password hashes and the admin password never leave the tap."""

from __future__ import annotations

import json
from typing import Any

from sandbox.iredadmin import DEMO_PASSWORD
from sandbox.testing import assert_no_secrets

WRONG_PASSWORD = "wrong-Passw0rd!"


def hashes(ira: Any) -> list[str]:
    found = [user["password"] for users in ira.app.users.values() for user in users.values()]
    assert all(h.startswith("{SSHA512}") for h in found)
    return found


def test_no_hash_or_password_in_any_output(iredadmin: Any) -> None:
    ira = iredadmin(extra_columns=True)
    run = ira.run(user_details=True, user_policies=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert all("password" not in record for record in run.records("users"))
    assert all("password" not in record["extra"] for record in run.records("users"))
    assert_no_secrets([*hashes(ira), DEMO_PASSWORD], run.stdout, run.stderr, json.dumps(run.states))
    assert "{SSHA512}" not in run.stdout + run.stderr


def test_no_password_in_failures(iredadmin: Any) -> None:
    ira = iredadmin()
    wrong = ira.run("--test", password=WRONG_PASSWORD)
    assert wrong.returncode != 0
    ira.app.settings.endpoint_faults = {"/api/users/": "http_500"}
    failing = ira.run(max_retries=1)
    assert failing.returncode != 0
    assert "HTTP 500" in failing.stderr
    assert_no_secrets(
        [*hashes(ira), DEMO_PASSWORD, WRONG_PASSWORD],
        wrong.stdout, wrong.stderr, failing.stdout, failing.stderr,
    )  # fmt: skip
