"""End to end: ``meltano run tap-mailprotector target-postgres`` into a throwaway
PostgreSQL; rows equal ground truth and a second run adds no duplicates."""

from __future__ import annotations

import json

import psycopg
import pytest
from sandbox.mailprotector import DEMO_API_KEY
from sandbox.testing import assert_no_secrets, meltano

pytestmark = pytest.mark.usefixtures("meltano_installed")

STATE_ID = "demo:tap-mailprotector-to-target-postgres"
DOMAINS = (102, 103, 104, 105)  # what reseller 343 lists
BURST = [{"domain_id": 105, "ago_seconds": 5400, "seconds": 300, "count": 2500, "tie_group": 60}]


def test_meltano_run_into_postgres_matches_truth_and_reruns_add_no_duplicates(
    mailprotector, postgres_server, tmp_path
):
    mp = mailprotector(bursts=BURST, result_cap=1000, unstable_ties=True)
    database = postgres_server.create_database("mailprotector_e2e")
    variables = {
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "TAP_MAILPROTECTOR_BASE_URL": mp.sandbox.url,
        "TAP_MAILPROTECTOR_START_DATE": mp.start.isoformat(),
        "TAP_MAILPROTECTOR_RESULT_CAP": "1000",
        "TAP_MAILPROTECTOR_SETTLE_DELAY_SECONDS": "0",
        **postgres_server.target_env(database, "mailprotector"),
    }

    def run_and_check() -> tuple[str, str]:
        result = meltano(
            "--environment=demo", "run", "tap-mailprotector", "target-postgres", env=variables
        )
        state = meltano("state", "get", STATE_ID, env=variables).stdout
        marks = mp.bookmarks(json.loads(state)["singer_state"])
        assert set(marks) == set(DOMAINS)
        truth = {i for d in DOMAINS for i in mp.truth_ids(d, marks[d])}
        with psycopg.connect(postgres_server.dsn(database)) as conn:
            rows, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT id) FROM mailprotector.domain_logs"
            ).fetchone()
            ids = {row[0] for row in conn.execute("SELECT id FROM mailprotector.domain_logs")}
            domains = conn.execute("SELECT count(*) FROM mailprotector.domains").fetchone()[0]
        assert rows == distinct, "duplicate rows"
        assert ids == truth
        assert domains == len(DOMAINS)
        return result.stderr, state

    first_log, first_state = run_and_check()
    second_log, second_state = run_and_check()  # resumes from state; overlap re-read upserts
    assert_no_secrets([DEMO_API_KEY], first_log, second_log, first_state, second_state)
