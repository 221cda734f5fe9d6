"""End to end: ``meltano run tap-rediffmail target-postgres`` (and target-duckdb)
into real databases; rows equal ground truth and re-runs add no duplicates."""

from __future__ import annotations

import json

import duckdb
import psycopg
import pytest
from rediffmail_support import ACTIVITY, OUTBOUND, PERIOD_END, PERIOD_START
from sandbox.rediffmail import DEMO_PASSWORD
from sandbox.testing import assert_no_secrets, meltano

pytestmark = pytest.mark.usefixtures("meltano_installed")

STATE_ID = "demo:tap-rediffmail-to-{target}"
MID_MORNING = "2026-11-11T05:30:00+00:00"


@pytest.fixture
def pipeline_env(rediff, tmp_path):
    env = rediff(extra_fields=True)
    variables = {
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "TAP_REDIFFMAIL_API_URL": f"{env.sandbox.url}/logs/get",
        "TAP_REDIFFMAIL_START_DATE": PERIOD_START,
        "TAP_REDIFFMAIL_END_DATE": PERIOD_END,
        "TAP_REDIFFMAIL_WINDOW_MINUTES": "360",
    }
    return env, variables


def counts_from(cursor_execute) -> dict[str, tuple[int, int]]:
    """(rows, distinct keys) per report table."""
    return {
        table: cursor_execute(f"SELECT count(*), count(DISTINCT record_key) FROM {table}")  # noqa: S608
        for table in (OUTBOUND, ACTIVITY)
    }


def test_meltano_run_into_postgres_is_complete_and_idempotent(
    pipeline_env, postgres_server, tmp_path
):
    env, variables = pipeline_env
    database = postgres_server.create_database("rediffmail_e2e")
    system_db = postgres_server.create_database("rediffmail_meltano_system")
    variables |= {
        # State lives in PostgreSQL, as in the scheduled workflow: it survives a fresh runner.
        "MELTANO_DATABASE_URI": postgres_server.dsn(system_db).replace(
            "postgresql://", "postgresql+psycopg://"
        ),
        **postgres_server.target_env(database, "rediffmail"),
    }
    truth = env.truth()
    expected = {name: (len(rows), len(rows)) for name, rows in truth.items()}

    def counts():
        with psycopg.connect(postgres_server.dsn(database)) as conn:
            conn.execute("SET search_path TO rediffmail")
            return counts_from(lambda sql: conn.execute(sql).fetchone())

    first = meltano("--environment=demo", "run", "tap-rediffmail", "target-postgres", env=variables)
    assert counts() == expected
    calls_after_first = len(env.app.api_calls("/logs/get"))

    state = json.loads(
        meltano("state", "get", STATE_ID.format(target="target-postgres"), env=variables).stdout
    )
    assert state["singer_state"]["bookmarks"]["report_windows"]["replication_key_value"] == (
        PERIOD_END
    )

    # Scheduled again: resumes from state, nothing new to read, nothing added.
    meltano("--environment=demo", "run", "tap-rediffmail", "target-postgres", env=variables)
    assert len(env.app.api_calls("/logs/get")) == calls_after_first
    assert counts() == expected

    # Everything read again: upserts on record_key leave the same rows.
    again = meltano(
        "--environment=demo", "run", "--full-refresh", "tap-rediffmail", "target-postgres",
        env=variables,
    )  # fmt: skip
    assert counts() == expected
    assert_no_secrets([DEMO_PASSWORD], first.stdout, first.stderr, again.stderr, json.dumps(state))


def test_three_window_plans_load_exactly_the_truth_into_postgres(rediff, postgres_server, tmp_path):
    """One period read under three plans into one PostgreSQL schema: hourly windows up
    to mid-morning; resumed from that state with half-day windows; then everything
    again (--full-refresh) in 90-minute windows split adaptively. Upserts on
    record_key must leave exactly the sandbox's rows: no event gets a second key."""
    env = rediff(hourly_system_sweep=True)
    database = postgres_server.create_database("rediffmail_plans")
    base = {
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "TAP_REDIFFMAIL_API_URL": f"{env.sandbox.url}/logs/get",
        "TAP_REDIFFMAIL_START_DATE": PERIOD_START,
        **postgres_server.target_env(database, "rediffmail"),
    }
    plans = [
        ({"TAP_REDIFFMAIL_WINDOW_MINUTES": "60", "TAP_REDIFFMAIL_END_DATE": MID_MORNING}, ()),
        ({"TAP_REDIFFMAIL_WINDOW_MINUTES": "720", "TAP_REDIFFMAIL_END_DATE": PERIOD_END}, ()),
        (
            {
                "TAP_REDIFFMAIL_WINDOW_MINUTES": "90",
                "TAP_REDIFFMAIL_MAX_ROWS_PER_WINDOW": "150",
                "TAP_REDIFFMAIL_END_DATE": PERIOD_END,
            },
            ("--full-refresh",),
        ),
    ]
    truth = env.truth()
    expected = {name: (len(rows), len(rows)) for name, rows in truth.items()}
    for settings, flags in plans:
        meltano(
            "--environment=demo", "run", *flags, "tap-rediffmail", "target-postgres",
            env=base | settings,
        )  # fmt: skip
    with psycopg.connect(postgres_server.dsn(database)) as conn:
        conn.execute("SET search_path TO rediffmail")
        assert counts_from(lambda sql: conn.execute(sql).fetchone()) == expected


def test_meltano_run_into_duckdb(pipeline_env, tmp_path):
    env, variables = pipeline_env
    path = tmp_path / "mail.duckdb"
    variables["TARGET_DUCKDB_FILEPATH"] = str(path)
    truth = env.truth()
    expected = {name: (len(rows), len(rows)) for name, rows in truth.items()}

    def counts():
        with duckdb.connect(str(path), read_only=True) as conn:
            conn.execute("SET schema = 'tap_rediffmail'")  # one schema per tap
            return counts_from(lambda sql: conn.execute(sql).fetchone())

    meltano("--environment=demo", "run", "tap-rediffmail", "target-duckdb", env=variables)
    assert counts() == expected
    meltano(
        "--environment=demo", "run", "--full-refresh", "tap-rediffmail", "target-duckdb",
        env=variables,
    )  # fmt: skip
    assert counts() == expected


def test_config_test_without_settings_names_each_missing_one(tmp_path):
    """``meltano config test`` shows only the tap's last line: that line names them all."""
    result = meltano(
        "config", "test", "tap-rediffmail",
        env={"MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db"}, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    shown = " ".join((result.stdout + result.stderr).split())  # Meltano wraps long lines
    assert "3 settings to fix: domain, user_email, start_date" in shown, shown[-3000:]
    assert "Config validation failed" not in shown
