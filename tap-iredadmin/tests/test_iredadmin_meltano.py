"""End to end: ``meltano run tap-iredadmin target-postgres`` twice; accounts deleted
upstream between the runs are marked deleted, the rest is unchanged, no duplicates."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sandbox.iredadmin import DEMO_PASSWORD
from sandbox.testing import assert_no_secrets, meltano

pytestmark = pytest.mark.usefixtures("meltano_installed")

KEYS = {
    "domains": "domain",
    "users": "username",
    "aliases": "address",
    "mailing_lists": "address",
    "policies": "policy_type || ' ' || account || ' ' || direction",
}
DELETED_USER = "bruno.kowalski@example.net"
DELETED_ALIAS = "support@example.com"


def snapshot(dsn: str) -> dict[str, dict[str, tuple[bool, dict[str, Any]]]]:
    """Per table: key -> (deleted?, the row without Singer metadata)."""
    tables: dict[str, dict[str, tuple[bool, dict[str, Any]]]] = {}
    with psycopg.connect(dsn) as conn:
        conn.execute("SET search_path TO iredadmin")
        for table, key in KEYS.items():
            cursor = conn.execute(f"SELECT {key} AS pk, * FROM {table} ORDER BY 1")  # noqa: S608
            names = [column.name for column in cursor.description or []]
            rows: dict[str, tuple[bool, dict[str, Any]]] = {}
            for row in cursor.fetchall():
                values = dict(zip(names, row, strict=True))
                assert values["pk"] not in rows, f"duplicate {key} {values['pk']} in {table}"
                data = {n: v for n, v in values.items() if not n.startswith("_sdc_")}
                rows[values["pk"]] = (values["_sdc_deleted_at"] is not None, data)
            tables[table] = rows
    return tables


def test_rows_deleted_upstream_are_marked_deleted(
    iredadmin: Any, postgres_server: Any, tmp_path: Any
) -> None:
    ira = iredadmin()
    database = postgres_server.create_database("iredadmin_e2e")
    env = {
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "TAP_IREDADMIN_BASE_URL": ira.config()["base_url"],
        # the directory alone (the demo also reads every mailbox's details and policies)
        "TAP_IREDADMIN_USER_DETAILS": "false",
        "TAP_IREDADMIN_USER_POLICIES": "false",
        **postgres_server.target_env(database, "iredadmin"),
    }
    run = ("--environment=demo", "run", "tap-iredadmin", "target-postgres")
    first_run = meltano(*run, env=env)
    first = snapshot(postgres_server.dsn(database))
    truth = ira.truth()
    assert sorted(first["domains"]) == sorted(truth["domains"])
    assert sorted(first["users"]) == sorted(truth["users"])
    assert sorted(first["aliases"]) == sorted(truth["aliases"])
    assert sorted(first["mailing_lists"]) == sorted(truth["mailing_lists"])
    assert len(first["policies"]) == len(ira.expected_policies(users=False))
    assert not any(deleted for rows in first.values() for deleted, _ in rows.values())

    hashes = [u["password"] for users in ira.app.users.values() for u in users.values()]
    ira.app.delete_user(DELETED_USER)
    ira.app.delete_alias(DELETED_ALIAS)
    second_run = meltano(*run, env=env)
    second = snapshot(postgres_server.dsn(database))

    for table, rows in second.items():
        assert rows.keys() == first[table].keys(), f"{table}: rows added or lost"
        gone = {DELETED_USER} if table == "users" else set()
        gone |= {DELETED_ALIAS} if table == "aliases" else set()
        assert {k for k, (deleted, _) in rows.items() if deleted} == gone, table
    changed = {DELETED_USER, "example.net"}  # the mailbox and its domain's user count
    for table in ("domains", "users", "mailing_lists", "policies"):
        unchanged = {k: v[1] for k, v in first[table].items() if k not in changed}
        now = {k: v[1] for k, v in second[table].items() if k not in changed}
        assert now == unchanged, table
    before, after = first["domains"]["example.net"][1], second["domains"]["example.net"][1]
    assert after["num_existing_users"] == before["num_existing_users"] - 1
    # the alias rows follow the mailbox deletion too (it left their member lists)
    live_aliases = {k for k, (deleted, _) in second["aliases"].items() if not deleted}
    assert live_aliases == set(ira.truth()["aliases"])

    assert_no_secrets(
        [*hashes, DEMO_PASSWORD],
        first_run.stdout, first_run.stderr, second_run.stdout, second_run.stderr,
    )  # fmt: skip
