"""Every stream equals the sandbox's ground truth."""

from __future__ import annotations

from typing import Any

from sandbox.iredadmin import DEMO_DOMAIN_ADMIN, DEMO_DOMAIN_ADMIN_PASSWORD

STREAMS = ("domains", "users", "aliases", "mailing_lists", "policies")


def policy_map(records: list[dict[str, Any]]) -> dict[tuple[str, str, str], Any]:
    keys = [(r["policy_type"], r["account"], r["direction"]) for r in records]
    assert len(keys) == len(set(keys)), "duplicate policy records"
    return {(r["policy_type"], r["account"], r["direction"]): r["settings"] for r in records}


def test_every_stream_equals_ground_truth(iredadmin: Any) -> None:
    ira = iredadmin(domains=4, users_per_domain=15, aliases_per_domain=6)
    ira.app.add_alias("nobody@example.org", members=[])  # an alias without members
    run = ira.run(user_details=True, user_policies=True, max_workers=4)
    assert run.returncode == 0, run.stderr[-2000:]
    truth = ira.truth()

    assert [r["domain"] for r in run.records("domains")] == truth["domains"]
    assert [r["username"] for r in run.records("users")] == truth["users"]
    assert [r["address"] for r in run.records("mailing_lists")] == truth["mailing_lists"]
    aliases = {r["address"]: r for r in run.records("aliases")}
    assert list(aliases) == list(truth["aliases"])
    for address, expected in truth["aliases"].items():
        assert aliases[address]["members"] == expected["members"], address
        assert aliases[address]["moderators"] == expected["moderators"], address

    policies = policy_map(run.records("policies"))
    assert policies == ira.expected_policies()
    scopes = {r["scope"] for r in run.records("policies")}
    assert scopes == {"global", "domain", "user"}
    assert {k[0] for k in policies} == {"spam", "throttle", "greylisting", "greylisting_whitelists"}
    assert {k[2] for k in policies if k[0] == "throttle"} == {"inbound", "outbound"}


def test_domain_and_user_details_and_types(iredadmin: Any) -> None:
    ira = iredadmin()
    ira.app.update_user("anna.kowalski@example.com", _forwardings=["anna@home.example"])
    run = ira.run(user_details=True)
    assert run.returncode == 0, run.stderr[-2000:]
    domains = {r["domain"]: r for r in run.records("domains")}
    stored = ira.app.domains["example.com"]
    assert domains["example.com"]["catchall"] == stored["_catchall"]
    assert domains["example.com"]["alias_domains"] == stored["_alias_domains"]
    assert domains["example.com"]["num_existing_users"] == len(ira.app.users["example.com"])
    assert domains["example.com"]["created"].endswith("+00:00")

    users = {r["username"]: r for r in run.records("users")}
    anna = users["anna.kowalski@example.com"]
    source = ira.app.users["example.com"]["anna.kowalski@example.com"]
    assert anna["forwardings"] == ["anna@home.example"]
    assert anna["active"] is bool(source["active"])
    assert anna["services"]["imap"] is bool(source["enableimap"])
    assert anna["used_quota_bytes"] == source["used_quota"]["bytes"]
    assert anna["stored_messages"] == source["used_quota"]["messages"]
    assert users["postmaster@example.com"]["isglobaladmin"] is True
    assert users["postmaster@example.com"]["last_login_pop3"] is None  # epoch 0 = never
    assert all(r["extra"] == {} for r in run.records("users"))


def test_without_user_options_only_global_and_domain_policies(iredadmin: Any) -> None:
    ira = iredadmin()
    run = ira.run()
    assert run.returncode == 0, run.stderr[-2000:]
    assert policy_map(run.records("policies")) == ira.expected_policies(users=False)
    assert ira.calls("/user/") == 0
    assert all(r["forwardings"] is None for r in run.records("users"))


def test_records_are_in_the_same_order_sequential_or_concurrent(iredadmin: Any) -> None:
    ira = iredadmin(users_per_domain=30, aliases_per_domain=9)
    sequential = ira.run(max_workers=1, user_policies=True)
    concurrent = ira.run(max_workers=8, user_policies=True)
    for stream in STREAMS:
        assert sequential.records(stream) == concurrent.records(stream), stream
        assert sequential.records(stream), stream


def test_activate_version_follows_each_complete_table(iredadmin: Any) -> None:
    run = iredadmin().run()
    assert run.returncode == 0, run.stderr[-2000:]
    for stream in STREAMS:
        kinds = [m["type"] for m in run.messages if m.get("stream") == stream]
        assert kinds.count("ACTIVATE_VERSION") == 1, stream
        last_record = len(kinds) - 1 - kinds[::-1].index("RECORD")
        assert kinds.index("ACTIVATE_VERSION") > last_record, stream
        versions = {
            m["version"] for m in run.messages if m.get("stream") == stream and "version" in m
        }
        assert len(versions) == 1, stream


def test_activate_version_can_be_switched_off(iredadmin: Any) -> None:
    run = iredadmin().run(emit_activate_version_messages=False)
    assert run.returncode == 0
    assert not [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"]


def test_normal_admin_gets_its_domains_and_skips_global_data_with_a_warning(
    iredadmin: Any,
) -> None:
    ira = iredadmin()
    run = ira.run(
        username=DEMO_DOMAIN_ADMIN, password=DEMO_DOMAIN_ADMIN_PASSWORD, user_policies=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
    truth = ira.truth(DEMO_DOMAIN_ADMIN)
    assert truth["domains"] == ["example.net"]
    assert [r["domain"] for r in run.records("domains")] == truth["domains"]
    assert [r["username"] for r in run.records("users")] == truth["users"]
    assert [r["address"] for r in run.records("aliases")] == list(truth["aliases"])
    policies = policy_map(run.records("policies"))
    assert policies == ira.expected_policies(DEMO_DOMAIN_ADMIN)
    assert not [k for k in policies if k[1] == "@."]
    warnings = [line for line in run.stderr.splitlines() if "WARNING" in line]
    assert any("global (@.) policies" in w and "PERMISSION_DENIED" in w for w in warnings)
    # the skip is expected for this admin: deletions still propagate
    assert [
        m for m in run.messages if m["type"] == "ACTIVATE_VERSION" and m["stream"] == "policies"
    ]


def test_columns_of_other_versions_are_kept_or_null(iredadmin: Any) -> None:
    ira = iredadmin(extra_columns=True, dropped_columns=["rank", "employeeid"])
    run = ira.run()
    assert run.returncode == 0, run.stderr[-2000:]
    users = run.records("users")
    assert all(u["rank"] is None and u["employeeid"] is None for u in users)
    assert all(u["extra"] == {"mailboxformat": "maildir"} for u in users)
    assert all(u["services"]["sogowebmail"] is True for u in users)  # "y" in a newer version
    assert all(d["extra"]["mailboxformat"] == "maildir" for d in run.records("domains"))


def test_numbers_sent_as_strings_are_typed(iredadmin: Any) -> None:
    ira = iredadmin(numbers_as_strings=True)
    run = ira.run()
    assert run.returncode == 0, run.stderr[-2000:]
    users = {r["username"]: r for r in run.records("users")}
    for mail, source in ira.app.users["example.com"].items():
        assert users[mail]["quota"] == source["quota"]
        assert users[mail]["active"] is bool(source["active"])
        assert users[mail]["services"]["smtp"] is bool(source["enablesmtp"])
    assert all(isinstance(r["id"], int) for r in run.records("mailing_lists"))


def test_odd_dates_become_null_and_the_rest_iso_utc(iredadmin: Any) -> None:
    """Dates as servers write them: naive text (either separator, padded), with an
    offset, MySQL zero dates, epoch seconds, epoch milliseconds (past year 9999) and
    non-numbers. None of them ends the run; what is no date is null."""
    ira = iredadmin()
    ira.app.update_user(
        "anna.kowalski@example.com",
        created=" 2024-02-29 23:59:58 ",
        modified="0000-00-00 00:00:00",
        expired="2024-03-01T10:00:00+02:00",
        passwordlastchange="yesterday",
        last_login={"imap": 1706356440, "pop3": 1706356440123, "lda": float("inf")},
    )
    ira.app.update_user("postmaster@example.com", created="2023-01-01T12:35:47.250000")
    ira.app.update_user(  # epoch seconds at the edges of a day, of a month and of year 9999
        "bruno.kowalski@example.com",
        last_login={"imap": 951_868_799, "pop3": 253_402_300_799, "lda": 1706356440.5},
    )
    ira.app.update_user("chen.kowalski@example.com", last_login={"imap": 1, "lda": 86_400})
    run = ira.run()
    assert run.returncode == 0, run.stderr[-2000:]
    users = {r["username"]: r for r in run.records("users")}
    anna = users["anna.kowalski@example.com"]
    assert anna["created"] == "2024-02-29T23:59:58+00:00"
    assert anna["modified"] is None
    assert anna["expired"] == "2024-03-01T10:00:00+02:00"
    assert anna["passwordlastchange"] is None
    assert anna["last_login_imap"] == "2024-01-27T11:54:00+00:00"
    assert anna["last_login_pop3"] is None
    assert anna["last_login_lda"] is None
    assert users["postmaster@example.com"]["created"] == "2023-01-01T12:35:47.250000+00:00"
    bruno = users["bruno.kowalski@example.com"]
    assert bruno["last_login_imap"] == "2000-02-29T23:59:59+00:00"
    assert bruno["last_login_pop3"] == "9999-12-31T23:59:59+00:00"
    assert bruno["last_login_lda"] == "2024-01-27T11:54:00.500000+00:00"
    chen = users["chen.kowalski@example.com"]
    assert (chen["last_login_imap"], chen["last_login_lda"]) == (
        "1970-01-01T00:00:01+00:00",
        "1970-01-02T00:00:00+00:00",
    )
