"""The same directory through every backend and release gives the same records."""

from __future__ import annotations

import copy
from typing import Any

import psycopg
import pytest
from sandbox.iredadmin import DEMO_DOMAIN_ADMIN, DEMO_DOMAIN_ADMIN_PASSWORD
from sandbox.testing import assert_no_secrets, meltano

STREAMS = ("domains", "users", "aliases", "mailing_lists", "policies")
DOMAINS = ["example.com", "example.net", "example.org"]
OPTIONS = {"user_details": True, "user_policies": True, "max_workers": 4}
# (sandbox backend, era, what the tap reports)
VARIANTS = [
    ("PGSQL", "pre-2.8", "backend sql, era pre-2.8"),
    ("MYSQL", "pre-2.7", "backend sql, era pre-2.7"),
    ("MYSQL", "pre-2.6", "backend sql, era pre-2.6"),
    ("LDAP", "current", "backend ldap, era current"),
    ("LDAP", "pre-2.8", "backend ldap, era pre-2.8"),
    ("LDAP", "pre-2.7", "backend ldap, era pre-2.7"),
    ("LDAP", "pre-2.6", "backend ldap, era pre-2.6"),
]
ERAS = ("current", "pre-2.8", "pre-2.7", "pre-2.6")
# Record fields an LDAP server has no source for (null there).
LDAP_UNAVAILABLE = {
    "users": {"rank"},
    "aliases": {"accesspolicy"},
    "mailing_lists": {"id", "is_newsletter"},
}


def expected_from(records: dict[str, list[dict[str, Any]]], backend: str, era: str) -> Any:
    """The current SQL records as the variant can give them (the README lists each
    difference): LDAP keeps no empty values ("" comes as null), lists its ``mail``
    service, lacks a few SQL columns and, before LDAP-3.0, the catch-all; greylisting
    came with SQL-2.7.0 / LDAP-2.9.0."""
    expected = copy.deepcopy(records)
    older = ERAS.index(era)
    if older >= ERAS.index("pre-2.7"):
        expected["policies"] = [
            r for r in expected["policies"] if not r["policy_type"].startswith("greylisting")
        ]
    if backend != "LDAP":
        return expected
    for stream, rows in expected.items():
        for row in rows:
            for key, value in row.items():
                if value == "":
                    row[key] = None
            for key in LDAP_UNAVAILABLE.get(stream, ()):
                row[key] = None
            if stream == "users":
                row["services"]["mail"] = True
            if stream == "domains" and older >= ERAS.index("pre-2.8"):
                row["catchall"] = None
    return expected


def all_records(run: Any) -> dict[str, list[dict[str, Any]]]:
    return {stream: run.records(stream) for stream in STREAMS}


@pytest.mark.parametrize(
    ("backend", "era", "found"), VARIANTS, ids=[v[0] + "-" + v[1] for v in VARIANTS]
)
def test_every_variant_gives_the_records_of_the_current_sql_release(
    iredadmin: Any, backend: str, era: str, found: str
) -> None:
    current = iredadmin()
    current.app.update_user("anna.kowalski@example.com", _forwardings=["anna@home.example"])
    reference = current.run(**OPTIONS)
    assert reference.returncode == 0, reference.stderr[-2000:]
    truth = current.truth()
    assert [r["username"] for r in reference.records("users")] == truth["users"]

    variant = iredadmin(backend=backend, era=era)
    variant.app.update_user("anna.kowalski@example.com", _forwardings=["anna@home.example"])
    domains = {} if era == "current" else {"domains": DOMAINS}
    run = variant.run(**OPTIONS, **domains)
    assert run.returncode == 0, run.stderr[-2000:]
    assert all_records(run) == expected_from(all_records(reference), backend, era)

    detected = [line for line in run.stderr.splitlines() if "iRedAdmin-Pro at" in line]
    assert len(detected) == 1, detected  # logged once
    assert "INFO" in detected[0]
    assert found in detected[0]
    if era == "pre-2.7":
        assert variant.calls("/greylisting/") == 1  # the probe that found them missing
    if era == "pre-2.6":
        assert variant.calls("/greylisting/") == 0  # the old envelope says it all
    assert variant.calls("/login") == 1


def test_ldap_answers_are_mapped_field_by_field(iredadmin: Any) -> None:
    ira = iredadmin(backend="LDAP", era="pre-2.8")
    ira.app.update_user("anna.kowalski@example.com", _forwardings=["anna@home.example"])
    run = ira.run(user_details=True, domains=DOMAINS)
    assert run.returncode == 0, run.stderr[-2000:]
    users = {r["username"]: r for r in run.records("users")}
    anna = users["anna.kowalski@example.com"]
    stored = ira.app.users["example.com"]["anna.kowalski@example.com"]
    assert anna["quota"] == stored["quota"]  # mailQuota in bytes, the record in MB
    assert anna["name"] == stored["name"]
    assert anna["language"] == stored["language"]
    assert anna["domain"] == "example.com"  # from the address: entries carry no domain
    assert anna["forwardings"] == ["anna@home.example"]  # mailForwardingAddress
    assert anna["active"] is bool(stored["active"])  # accountStatus
    assert anna["created"] == stored["created"] + "+00:00"  # createTimestamp
    postmaster = users["postmaster@example.com"]
    assert postmaster["isadmin"] is True
    assert postmaster["isglobaladmin"] is True
    assert "domainadmin" not in postmaster["services"]
    domains = {r["domain"]: r for r in run.records("domains")}
    assert domains["example.com"]["mailboxes"] == ira.app.domains["example.com"]["mailboxes"]
    assert domains["example.com"]["settings"] == ira.app.domains["example.com"]["settings"]
    aliases = {r["address"]: r for r in run.records("aliases")}
    assert (
        aliases["sales@example.com"]["members"]
        == ira.truth()["aliases"]["sales@example.com"]["members"]
    )
    assert all(r["extra"] == {} for stream in STREAMS[:4] for r in run.records(stream))


def test_no_ldap_password_hash_in_any_output(iredadmin: Any) -> None:
    ira = iredadmin(backend="LDAP")
    run = ira.run(user_details=True)
    assert run.returncode == 0, run.stderr[-2000:]
    hashes = [u["password"] for users in ira.app.users.values() for u in users.values()]
    assert_no_secrets(hashes, run.stdout, run.stderr)
    assert all("userPassword" not in r["extra"] for r in run.records("users"))


def test_release_without_domain_list_asks_for_the_domains_setting(iredadmin: Any) -> None:
    run = iredadmin(era="pre-2.8").run()
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert "GET /api/domains: HTTP 404" in last
    assert "has no domain list; set `domains`" in last


def test_domains_setting_restricts_a_current_server(iredadmin: Any) -> None:
    run = iredadmin().run(domains=["example.net"])
    assert run.returncode == 0, run.stderr[-2000:]
    assert [r["domain"] for r in run.records("domains")] == ["example.net"]
    assert {r["domain"] for r in run.records("users")} == {"example.net"}


def test_settings_force_backend_and_era(iredadmin: Any) -> None:
    ira = iredadmin(backend="LDAP")
    run = ira.run(backend="ldap", api_era="pre-2.7", domains=DOMAINS)
    assert run.returncode == 0, run.stderr[-2000:]
    detected = [line for line in run.stderr.splitlines() if "iRedAdmin-Pro at" in line]
    assert "backend ldap, era pre-2.7" in detected[0]
    assert "set by api_era" in detected[0]
    assert "set by backend" in detected[0]
    assert ira.calls("/greylisting/") == 0  # a release without greylisting is not asked
    assert run.records("users")


def test_normal_admin_on_an_old_release_detects_greylisting(iredadmin: Any) -> None:
    """The probe answers PERMISSION_DENIED for a normal admin: the endpoint exists."""
    ira = iredadmin(era="pre-2.8")
    ira.app.set_policy("greylisting", "@example.net", "disabled")
    run = ira.run(
        username=DEMO_DOMAIN_ADMIN, password=DEMO_DOMAIN_ADMIN_PASSWORD, domains=["example.net"]
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "era pre-2.8" in run.stderr
    greylisting = [r for r in run.records("policies") if r["policy_type"] == "greylisting"]
    assert [(r["account"], r["settings"]) for r in greylisting if r["scope"] == "domain"] == [
        ("@example.net", {"status": "disabled"})
    ]


def loaded_rows(dsn: str, schema: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Per table: primary key -> the row without Singer metadata."""
    keys = {
        "domains": "domain",
        "users": "username",
        "aliases": "address",
        "mailing_lists": "address",
        "policies": "policy_type || ' ' || account || ' ' || direction",
    }
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    with psycopg.connect(dsn) as conn:
        conn.execute(f"SET search_path TO {schema}")
        for table, key in keys.items():
            cursor = conn.execute(f"SELECT {key} AS pk, * FROM {table} ORDER BY 1")  # noqa: S608
            names = [column.name for column in cursor.description or []]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            tables[table] = {
                row.pop("pk"): {k: v for k, v in row.items() if not k.startswith("_sdc_")}
                for row in rows
            }
            assert len(tables[table]) == len(rows), f"duplicate keys in {schema}.{table}"
    return tables


@pytest.mark.usefixtures("meltano_installed")
def test_ldap_through_meltano_into_postgres_equals_sql(
    iredadmin: Any, postgres_server: Any, tmp_path: Any
) -> None:
    database = postgres_server.create_database("iredadmin_variants")
    loaded = {}
    for backend in ("MYSQL", "LDAP"):
        ira = iredadmin(backend=backend)
        schema = f"iredadmin_{backend.lower()}"
        env = {
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/{backend}.db",
            "TAP_IREDADMIN_BASE_URL": ira.config()["base_url"],
            "TARGET_POSTGRES_HOST": postgres_server.host,
            "TARGET_POSTGRES_PORT": str(postgres_server.port),
            "TARGET_POSTGRES_USER": postgres_server.user,
            "TARGET_POSTGRES_PASSWORD": postgres_server.password,
            "TARGET_POSTGRES_DATABASE": database,
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
        }
        result = meltano("--environment=demo", "run", "tap-iredadmin", "target-postgres", env=env)
        assert f"backend {'ldap' if backend == 'LDAP' else 'sql'}, era current" in result.stderr
        hashes = [u["password"] for users in ira.app.users.values() for u in users.values()]
        assert_no_secrets(hashes, result.stdout, result.stderr)
        loaded[backend] = loaded_rows(postgres_server.dsn(database), schema)

    truth = ira.truth()
    assert sorted(loaded["LDAP"]["users"]) == sorted(truth["users"])
    assert sorted(loaded["LDAP"]["aliases"]) == sorted(truth["aliases"])
    sql = {table: list(rows.values()) for table, rows in loaded["MYSQL"].items()}
    expected = expected_from(sql, "LDAP", "current")
    for table, rows in loaded["LDAP"].items():
        assert list(rows.values()) == expected[table], table


@pytest.mark.parametrize(
    ("settings", "config", "cause"),
    [
        (
            {"backend": "LDAP"},
            {"backend": "sql"},
            "GET /api/domains: no domain has `domain` when read as backend sql, era current",
        ),
        (
            {"era": "pre-2.8"},
            {"api_era": "current"},
            "GET /api/domains: HTTP 404, but api_era is current: releases before SQL-2.8.0",
        ),
    ],
    ids=["backend", "era"],
)
def test_a_wrong_forced_variant_stops_with_one_line(
    iredadmin: Any, settings: dict[str, Any], config: dict[str, Any], cause: str
) -> None:
    run = iredadmin(**settings).run(**config)
    assert run.returncode != 0
    assert cause in run.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("backend", "era", "found"), VARIANTS, ids=[v[0] + "-" + v[1] for v in VARIANTS]
)
def test_connection_test_reports_the_variant(
    iredadmin: Any, backend: str, era: str, found: str
) -> None:
    domains = {} if era == "current" else {"domains": DOMAINS}
    run = iredadmin(backend=backend, era=era).run("--test", **domains)
    assert run.returncode == 0, run.stderr[-2000:]
    server = [line.split() for line in run.stdout.splitlines() if line.split()[:1] == ["server"]]
    assert len(server) == 1, run.stdout
    assert found in " ".join(server[0]), run.stdout
    assert "Traceback" not in run.stderr
