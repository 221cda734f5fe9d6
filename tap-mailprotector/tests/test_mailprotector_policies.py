"""The shared policies through the sandbox: bad settings stop every path before any
request with one line each; a NUL or lone surrogate loads into PostgreSQL as U+FFFD."""

from __future__ import annotations

import json

import psycopg
import pytest
from sandbox.mailprotector import UNSTORABLE_SUBJECT
from sandbox.testing import meltano

EXECUTABLE = "tap-mailprotector"


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        ({"max_window_hours": 0}, "invalid setting 'max_window_hours' = 0: must be greater than 0"),
        ({"max_window_hours": -1}, "invalid setting 'max_window_hours' = -1: must be greater"),
        ({"overlap_seconds": -60}, "invalid setting 'overlap_seconds' = -60: must be from 0 to"),
        ({"settle_delay_seconds": -1}, "invalid setting 'settle_delay_seconds' = -1: must be"),
        ({"request_timeout": 0}, "invalid setting 'request_timeout' = 0: must be from 1 to 3600"),
        ({"start_date": ""}, "invalid setting 'start_date' = '': must be an ISO 8601 date-time"),
        ({"start_date": "yesterday"}, "invalid setting 'start_date' = 'yesterday': must be an ISO"),
        ({"api_key": None}, "tap-mailprotector: missing required setting 'api_key'"),
    ],
)
def test_bad_setting_stops_sync_and_test_before_any_request(mailprotector, changes, line):
    mp = mailprotector()
    config = {k: v for k, v in mp.config(**changes).items() if v is not None}
    for args in ((), ("--test",)):
        run = mp.run(config, args=args, timeout=60)
        assert run.returncode != 0
        errors = [x for x in run.stderr.splitlines() if "invalid setting" in x or "missing" in x]
        assert len(errors) == 1, run.stderr[-2000:]
        assert f"tap-mailprotector: {line.removeprefix('tap-mailprotector: ')}" in errors[0]
        assert "Traceback" not in run.stderr
    assert mp.app.api_calls() == []


def test_discovery_refuses_a_bad_value_and_warns_of_a_typo(mailprotector):
    mp = mailprotector()
    bad = mp.run({**mp.config(max_window_hours=0)}, args=("--discover",), timeout=60)
    assert bad.returncode != 0
    assert "invalid setting 'max_window_hours' = 0: must be greater than 0" in bad.stderr
    assert "Traceback" not in bad.stderr
    typo = mp.run({**mp.config(), "overlap_second": 5}, args=("--discover",), timeout=60)
    assert typo.returncode == 0, typo.stderr[-2000:]
    assert "unknown setting 'overlap_second' (did you mean 'overlap_seconds'?)" in typo.stderr
    assert mp.app.api_calls() == []


@pytest.mark.usefixtures("meltano_installed")
def test_meltano_paths_name_the_bad_setting(mailprotector, tmp_path):
    mp = mailprotector()
    variables = {
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "TAP_MAILPROTECTOR_BASE_URL": mp.sandbox.url,
        "TAP_MAILPROTECTOR_START_DATE": mp.start.isoformat(),
        # an integer setting: a decimal one set this way fails in Meltano itself (issue 7.6)
        "TAP_MAILPROTECTOR_OVERLAP_SECONDS": "-60",
    }
    line = "tap-mailprotector: invalid setting 'overlap_seconds' = -60: must be from 0 to 86400"
    for command in (
        ("select", "tap-mailprotector", "--list"),
        ("config", "test", "tap-mailprotector"),
    ):
        result = meltano("--environment=demo", *command, env=variables, check=False)
        assert result.returncode != 0, command
        shown = " ".join((result.stdout + result.stderr).split())  # Meltano wraps long lines
        assert line in shown, (command, result.stderr[-3000:])
    assert mp.app.api_calls() == []


@pytest.mark.usefixtures("meltano_installed")
def test_nul_and_lone_surrogate_load_into_postgres_as_replacement_characters(
    mailprotector, postgres_server, tmp_path
):
    mp = mailprotector(unstorable_subjects=True)
    database = postgres_server.create_database("mailprotector_unstorable")
    variables = {
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "TAP_MAILPROTECTOR_BASE_URL": mp.sandbox.url,
        "TAP_MAILPROTECTOR_DOMAIN_IDS": "[102]",
        "TAP_MAILPROTECTOR_START_DATE": mp.start.isoformat(),
        "TAP_MAILPROTECTOR_SETTLE_DELAY_SECONDS": "0",
        **postgres_server.target_env(database, "mailprotector"),
    }
    run = meltano(
        "--environment=demo", "run", "tap-mailprotector", "target-postgres", env=variables
    )
    state = json.loads(
        meltano("state", "get", "demo:tap-mailprotector-to-target-postgres", env=variables).stdout
    )
    bookmark = mp.bookmarks(state["singer_state"])[102]
    truth = set(mp.truth_ids(102, bookmark))
    cleaned = UNSTORABLE_SUBJECT[1].replace("\x00", "\ufffd").replace("\ud800", "\ufffd")
    with psycopg.connect(postgres_server.dsn(database)) as conn:
        ids = {row[0] for row in conn.execute("SELECT id FROM mailprotector.domain_logs")}
        subjects = dict(
            conn.execute(
                "SELECT subject, count(*) FROM mailprotector.domain_logs GROUP BY subject"
            ).fetchall()
        )
    assert ids == truth, "rows lost or invented"
    assert subjects.get(cleaned, 0) > 0, "no row carried the unstorable subject"
    assert UNSTORABLE_SUBJECT[0] not in subjects
    replaced = 2 * subjects[cleaned]
    assert f"domain_logs: replaced {replaced} characters a target cannot store" in run.stderr
