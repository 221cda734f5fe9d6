"""``meltano run <tap> target-postgres`` without the loader's connection settings stops
with one line naming them, before anything is loaded: no traceback from the loader, none
from Meltano (a ``BrokenPipeError`` when the loader died under the tap's output)."""

from __future__ import annotations

import os

import pytest
from sandbox.iredadmin import DEMO_PASSWORD
from sandbox.testing import assert_no_secrets, meltano

pytestmark = pytest.mark.usefixtures("meltano_installed")

NEEDS = "target-postgres needs host, port, user, password, database; not set: "


@pytest.fixture
def without_postgres_settings(monkeypatch, tmp_path):
    for name in os.environ:
        if name.startswith(("PG_", "TARGET_POSTGRES_", "MELTANO_")):
            monkeypatch.delenv(name)
    return {"MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db"}


def loader_failure(result) -> str:
    """The one line the loader wrote; the run failed and nothing printed a traceback."""
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "BrokenPipeError" not in result.stderr, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if " target-postgres " in line]
    assert len(lines) == 1, lines
    return lines[0].split(" target-postgres ", 1)[1]


def test_demo_environment_has_no_postgres(start_sandbox, without_postgres_settings):
    sandbox = start_sandbox("iredadmin")  # answers at once: the tap has output to send
    env = without_postgres_settings | {"TAP_IREDADMIN_BASE_URL": f"{sandbox.url}/iredadmin"}
    result = meltano(
        "--environment=demo", "run", "tap-iredadmin", "target-postgres", env=env, check=False
    )
    line = loader_failure(result)
    assert line.startswith(NEEDS + "user, password, database ("), line
    assert "meltano config set target-postgres" in line


def test_prod_environment_with_unset_pg_variables(start_sandbox, without_postgres_settings):
    """An unset repository secret arrives as an empty variable: empty is missing."""
    sandbox = start_sandbox("iredadmin")
    env = without_postgres_settings | {
        "IREDADMIN_BASE_URL": f"{sandbox.url}/iredadmin",
        "IREDADMIN_USERNAME": "postmaster@example.com",
        "IREDADMIN_PASSWORD": DEMO_PASSWORD,
        "PG_HOST": "",
        "PG_USER": "",
        "PG_PASSWORD": "",
    }
    result = meltano(
        "--environment=prod", "run", "tap-iredadmin", "target-postgres", env=env, check=False
    )
    line = loader_failure(result)
    assert line.startswith(NEEDS + "host, port, user, password, database ("), line
    assert_no_secrets([DEMO_PASSWORD], result.stdout, result.stderr)
