"""End to end: the three taps loaded with Meltano, then ``dbt build`` (models and their
dbt tests) on PostgreSQL and on DuckDB; what the models hold equals the sandboxes' truth,
and a second load plus build adds only the new rows to ``mail_events``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sandbox.iredadmin import DEMO_PASSWORD as IREDADMIN_PASSWORD
from sandbox.testing import PROJECT_ROOT, assert_no_secrets, meltano

from sandbox import RunningSandbox

pytestmark = pytest.mark.usefixtures("meltano_installed")

MAILPROTECTOR_DOMAINS = (102, 103, 104, 105)  # what reseller 343 lists
RECENT_LOGIN = "anna.larsen@example.com"  # given a login yesterday: not inactive


@dataclass
class Vendors:
    """The three sandboxes and the time range the RediffMail loads read."""

    rediffmail: RunningSandbox
    mailprotector: RunningSandbox
    iredadmin: RunningSandbox
    start: datetime

    def env(self, tmp_path: Path, rediffmail_end: datetime) -> dict[str, str]:
        return {
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
            "TAP_REDIFFMAIL_API_URL": f"{self.rediffmail.url}/logs/get",
            "TAP_REDIFFMAIL_START_DATE": self.start.isoformat(),
            "TAP_REDIFFMAIL_END_DATE": rediffmail_end.isoformat(),
            "TAP_MAILPROTECTOR_BASE_URL": self.mailprotector.url,
            "TAP_MAILPROTECTOR_START_DATE": self.start.isoformat(),
            "TAP_MAILPROTECTOR_SETTLE_DELAY_SECONDS": "0",
            "TAP_IREDADMIN_BASE_URL": f"{self.iredadmin.url}/iredadmin",
        }

    def rediffmail_rows(self, end: datetime) -> dict[str, int]:
        """Rows per RediffMail report from the start to ``end``."""
        since, until = str(int(self.start.timestamp())), str(int(end.timestamp()))
        return self.rediffmail.app.truth({"from": [since], "to": [until]})  # type: ignore[no-any-return]

    def mailprotector_ids(self, state: dict[str, Any]) -> set[str]:
        """Every log entry from the start to each domain's bookmark."""
        partitions = state["singer_state"]["bookmarks"]["domain_logs"]["partitions"]
        marks = {p["context"]["domain_id"]: p["replication_key_value"] for p in partitions}
        assert set(marks) == set(MAILPROTECTOR_DOMAINS)
        start_ms = int(self.start.timestamp() * 1000)
        return {
            entry["id"]
            for domain_id, mark in marks.items()
            for entry in self.mailprotector.app.entries(
                domain_id, start_ms, int(datetime.fromisoformat(mark).timestamp() * 1000)
            )
        }


@pytest.fixture
def vendors(start_sandbox: Callable[..., RunningSandbox]) -> Vendors:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    iredadmin = start_sandbox("iredadmin")
    yesterday = int(time.time()) - 86400
    iredadmin.app.update_user(
        RECENT_LOGIN, last_login={"imap": yesterday, "pop3": 0, "lda": yesterday}
    )
    return Vendors(
        rediffmail=start_sandbox("rediffmail"),
        mailprotector=start_sandbox("mailprotector", bursts=[]),
        iredadmin=iredadmin,
        start=hour - timedelta(hours=4),  # loads end an hour back at most: past the lag
    )


Query = Callable[[str], list[tuple[Any, ...]]]


def check_models(query: Query, vendors: Vendors, rediffmail_end: datetime, state: Any) -> None:
    """The models against the sandboxes' truth."""
    rediffmail = vendors.rediffmail_rows(rediffmail_end)
    events = dict(query("SELECT source, count(*) FROM analytics.mail_events GROUP BY source"))
    assert events["rediffmail"] == rediffmail["outbound_mail_delivery_report"]
    mailprotector_ids = {key for (key,) in query(
        "SELECT source_key FROM analytics.mail_events WHERE source = 'mailprotector'"
    )}  # fmt: skip
    assert mailprotector_ids == vendors.mailprotector_ids(state)
    (activity,) = query("SELECT count(*) FROM analytics.admin_activity")[0]
    assert activity == rediffmail["activity_report"]
    (volume,) = query("SELECT sum(recipients) FROM analytics.daily_mail_volume")[0]
    assert volume == sum(events.values())

    ira = vendors.iredadmin.app
    truth = ira.truth({})
    mailboxes = {row[0]: row[1:] for row in query(
        "SELECT mailbox, aliases, mailing_lists, greylisting_enabled, greylisting_scope, "
        "spam_kill_level, spam_policy_scope FROM analytics.mailboxes"
    )}  # fmt: skip
    assert set(mailboxes) == set(truth["users"])
    for mail, (aliases, lists, *_) in mailboxes.items():
        member_of = sorted(a for a, row in truth["aliases"].items() if mail in row["members"])
        assert (aliases or "") == ", ".join(member_of), mail
        domain = mail.split("@")[1]
        subscribed = sorted(
            a for a, ml in ira.mailing_lists[domain].items() if mail in ml["_subscribers"]
        )
        assert (lists or "") == ", ".join(subscribed), mail

    # Effective policy: the mailbox's own over its domain's over the global one.
    grey, spam = truth["greylisting"], truth["spam"]

    def own_domain(mail: str) -> str:
        return "@" + mail.split("@")[1]

    overrides = [
        m for m in truth["users"] if m in grey and grey[m] != grey.get(own_domain(m), grey["@."])
    ]
    assert overrides, "the sandbox seeds no mailbox greylisting that overrides its domain's"
    for mail in truth["users"]:
        domain = own_domain(mail)
        status = grey.get(mail, grey.get(domain, grey.get("@.", "disabled")))
        scope = "user" if mail in grey else "domain" if domain in grey else "global"
        assert mailboxes[mail][2:4] == (status == "enabled", scope), mail
        policy = spam.get(mail) or spam.get(domain) or spam["@."]
        assert mailboxes[mail][4] == pytest.approx(policy["spam_kill_level"]), mail

    inactive = {mailbox for (mailbox,) in query("SELECT mailbox FROM analytics.inactive_mailboxes")}
    assert RECENT_LOGIN not in inactive
    assert inactive == set(truth["users"]) - {RECENT_LOGIN}  # the sandbox's logins are old

    exceptions = {tuple(row) for row in query(
        "SELECT account, exception FROM analytics.policy_exceptions WHERE is_own_setting"
    )}  # fmt: skip
    expected = {
        (account.removeprefix("@"), "greylisting_disabled")
        for account, status in grey.items()
        if status == "disabled" and account != "@."
    }
    for account, policy in spam.items():
        if account != "@.":
            for check in ("spam", "virus", "banned", "header"):
                if policy[f"bypass_{check}_checks"] == "Y":
                    expected.add((account.removeprefix("@"), f"bypass_{check}_checks"))
    assert exceptions == expected


def mail_events_rows_written(target: str) -> int:
    """How many rows the last dbt build wrote into mail_events (from run_results.json)."""
    path = PROJECT_ROOT / ".meltano" / "transform" / target / "target" / "run_results.json"
    results = json.loads(path.read_text())["results"]
    (node,) = [r for r in results if r["unique_id"] == "model.mailtaps.mail_events"]
    assert node["status"] == "success"
    return int(node["adapter_response"]["rows_affected"])


def test_postgres_models_match_truth_and_mail_events_grow_incrementally(
    vendors: Vendors, postgres_server: Any, tmp_path: Path
) -> None:
    import psycopg

    database = postgres_server.create_database("models_e2e")
    first_end = vendors.start + timedelta(hours=2)
    env = {
        **vendors.env(tmp_path, first_end),
        "TARGET_POSTGRES_HOST": postgres_server.host,
        "TARGET_POSTGRES_PORT": str(postgres_server.port),
        "TARGET_POSTGRES_USER": postgres_server.user,
        "TARGET_POSTGRES_PASSWORD": postgres_server.password,
        "TARGET_POSTGRES_DATABASE": database,
        "DBT_POSTGRES_HOST": postgres_server.host,
        "DBT_POSTGRES_PORT": str(postgres_server.port),
        "DBT_POSTGRES_USER": postgres_server.user,
        "DBT_POSTGRES_PASSWORD": postgres_server.password,
        "DBT_POSTGRES_DBNAME": database,
    }

    def query(sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(postgres_server.dsn(database)) as conn:
            return conn.execute(sql).fetchall()

    first = meltano(
        "--environment=demo", "run",
        "tap-rediffmail", "target-postgres", "tap-mailprotector", "target-postgres",
        "tap-iredadmin", "target-postgres", "dbt-postgres:build",
        env=env,
    )  # fmt: skip
    state = json.loads(
        meltano("state", "get", "demo:tap-mailprotector-to-target-postgres", env=env).stdout
    )
    check_models(query, vendors, first_end, state)
    total = query("SELECT count(*) FROM analytics.mail_events")[0][0]

    # A second RediffMail load, one more hour: the build adds just those rows.
    second_end = first_end + timedelta(hours=1)
    second = meltano(
        "--environment=demo",
        "run",
        "tap-rediffmail",
        "target-postgres",
        "dbt-postgres:build",
        env={**env, "TAP_REDIFFMAIL_END_DATE": second_end.isoformat()},
    )
    new_rows = (
        vendors.rediffmail_rows(second_end)["outbound_mail_delivery_report"]
        - vendors.rediffmail_rows(first_end)["outbound_mail_delivery_report"]
    )
    assert new_rows > 0
    assert mail_events_rows_written("postgres") == new_rows
    assert query("SELECT count(*) FROM analytics.mail_events")[0][0] == total + new_rows
    check_models(query, vendors, second_end, state)
    assert_no_secrets(
        [IREDADMIN_PASSWORD],
        first.stdout, first.stderr, second.stdout, second.stderr,
    )  # fmt: skip


def test_duckdb_models_match_truth(vendors: Vendors, tmp_path: Path) -> None:
    import duckdb

    database = tmp_path / "mail.duckdb"
    end = vendors.start + timedelta(hours=2)
    env = {
        **vendors.env(tmp_path, end),
        "TARGET_DUCKDB_FILEPATH": str(database),
        "DBT_DUCKDB_PATH": str(database),
    }
    meltano(
        "--environment=demo", "run",
        "tap-rediffmail", "target-duckdb", "tap-mailprotector", "target-duckdb",
        "tap-iredadmin", "target-duckdb", "dbt-duckdb:build",
        env=env,
    )  # fmt: skip
    state = json.loads(
        meltano("state", "get", "demo:tap-mailprotector-to-target-duckdb", env=env).stdout
    )

    def query(sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(database), read_only=True) as conn:
            return conn.execute(sql).fetchall()

    check_models(query, vendors, end, state)
