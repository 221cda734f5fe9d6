"""Every switchable failure: a bounded retry that ends complete, or a clear error
with the bookmark not past anything unemitted. Secrets never show."""

from __future__ import annotations

import itertools

import pytest
from rediffmail_support import (
    OUTBOUND,
    assert_matches_truth,
    bookmark,
    records_of,
)
from sandbox.rediffmail import DEMO_PASSWORD
from sandbox.testing import failure_line

ONE_DAY = "2026-11-11T00:00:00+00:00"


@pytest.mark.parametrize(
    ("failure_style", "faults"),
    [
        ("http", ["http_500", "http_503", "http_502"]),
        ("http", ["timeout", "reset"]),
        ("http", ["html", "truncated"]),
        ("200", ["failure_500", "failure_503"]),
        ("200", ["rate_limit", "html"]),
        ("http", ["rate_limit", "failure_502"]),
    ],
)
def test_transient_failures_are_retried_to_completion(rediff, failure_style, faults):
    env = rediff(failure_style=failure_style)
    env.app.faults.timeout_seconds = 3  # longer than the tap's 2 s request timeout
    env.app.faults.fail_next = ["ok", *faults]
    run = env.run(env.config(end_date=ONE_DAY))
    assert run.returncode == 0, run.stderr[-2000:]
    assert_matches_truth(records_of(run), env.truth(end=ONE_DAY))
    served = [c.fault for c in env.app.api_calls("/logs/get") if c.fault]
    assert served == faults
    assert "retry 1 of 5 in" in run.stderr


def test_storm_of_random_failures_ends_complete(rediff):
    env = rediff()
    env.app.faults.error_rate = 0.4
    env.app.faults.error_kinds = ["http_500", "html", "truncated", "failure_503", "rate_limit"]
    run = env.run(env.config(max_retries=8))
    assert run.returncode == 0, run.stderr[-2000:]
    assert_matches_truth(records_of(run), env.truth())
    assert sum(1 for c in env.app.api_calls() if c.fault) >= 3


def test_exhausted_retries_fail_without_advancing_the_bookmark(rediff):
    env = rediff()
    env.app.faults.fail_next = ["ok", "ok", *["http_503"] * 10]
    run = env.run(env.config(max_retries=3))
    assert run.returncode != 0
    assert "RediffMail server error (503" in run.stderr
    windows = run.records("report_windows")
    assert len(windows) == 2
    assert bookmark(run) == windows[-1]["window_end"]
    # Everything up to the bookmark was emitted, nothing after it.
    truth = env.truth(end=bookmark(run))
    assert_matches_truth(records_of(run), truth)
    assert len(env.app.api_calls("/logs/get")) == 2 + 1 + 3, "max_retries=3: four attempts"


@pytest.mark.parametrize("failure_style", ["http", "200"])
def test_bad_credentials_stop_at_once_naming_the_cause(rediff, failure_style):
    env = rediff(failure_style=failure_style)
    run = env.run(env.config(password="wrong-" + DEMO_PASSWORD[::-1]))
    assert run.returncode != 0
    assert "rejected the credentials of admin@example.co.in" in run.stderr
    assert run.last_state is None or bookmark(run) is None
    assert len(env.app.api_calls("/logs/get")) == 1, "401 is not retried"


def test_password_base64_is_accepted(rediff):
    import base64

    env = rediff()
    encoded = base64.b64encode(DEMO_PASSWORD.encode()).decode()
    run = env.run(env.config(password=None, password_base64=encoded, end_date=ONE_DAY))
    assert run.returncode == 0, run.stderr[-1000:]
    assert run.records(OUTBOUND)


def test_wrong_api_url_is_named(rediff):
    """A 404 is the address (the API's own failures are 400s): one line naming api_url."""
    env = rediff()
    run = env.run(env.config(api_url=f"{env.sandbox.url}/logs/gets"))
    assert failure_line(run) == (
        f"HTTP 404 from 127.0.0.1:{env.sandbox.port}/logs/gets: no API answers at this "
        "address; check api_url (No route for /logs/gets)"
    )
    assert run.last_state is None or bookmark(run) is None
    assert len(env.app.api_calls()) == 1, "a 404 is not retried"


@pytest.mark.parametrize("failure_style", ["http", "200"])
def test_ip_not_allow_listed_names_the_fix(rediff, failure_style):
    env = rediff(failure_style=failure_style, client_ip="203.0.113.9")
    run = env.run()
    assert run.returncode != 0
    assert "allow-list the public IP" in run.stderr
    assert len(env.app.api_calls("/logs/get")) == 1


def test_rate_limit_with_retry_after_is_honoured(rediff):
    env = rediff()
    env.app.faults.rate_limit_interval = 0.6
    env.app.faults.rate_limit_retry_after = 0.6
    run = env.run(env.config(end_date=ONE_DAY))
    assert run.returncode == 0, run.stderr[-2000:]
    assert_matches_truth(records_of(run), env.truth(end=ONE_DAY))
    calls = env.app.api_calls("/logs/get")
    limited = [i for i, c in enumerate(calls) if c.status == 429]
    assert limited, "the sandbox should have limited the unpaced tap"
    for i in limited:
        assert calls[i + 1].at - calls[i].at >= 0.6


def test_rate_limit_without_retry_after_backs_off(rediff):
    env = rediff()
    env.app.faults.rate_limit_interval = 0.3
    run = env.run(env.config(end_date=ONE_DAY, retry_base_seconds=0.2, max_retries=6))
    assert run.returncode == 0, run.stderr[-2000:]
    assert_matches_truth(records_of(run), env.truth(end=ONE_DAY))


def test_calls_never_come_faster_than_configured(rediff):
    env = rediff()
    env.app.faults.fail_next = ["ok", "http_500", "ok", "html"]  # retries are paced too
    env.app.faults.rate_limit_interval = 0.4  # the server would say 429 if we were faster
    run = env.run(env.config(end_date=ONE_DAY, min_seconds_between_calls=0.45))
    assert run.returncode == 0, run.stderr[-2000:]
    calls = env.app.api_calls("/logs/get")
    assert len(calls) == 4 + 2
    gaps = [b.at - a.at for a, b in itertools.pairwise(calls)]
    assert min(gaps) >= 0.45, gaps
    assert all(c.status != 429 for c in calls)


@pytest.mark.parametrize("report_keys", ["missing", "null"])
def test_missing_or_null_reports_count_as_empty(rediff, report_keys):
    env = rediff(report_keys=report_keys, activities_per_hour=0.3)
    run = env.run(env.config(end_date=ONE_DAY, window_minutes=60))
    assert run.returncode == 0, run.stderr[-2000:]
    assert any(w["activity_count"] == 0 for w in run.records("report_windows"))
    assert_matches_truth(records_of(run), env.truth(end=ONE_DAY))
    assert bookmark(run) == ONE_DAY


@pytest.mark.parametrize("style", ["string", "list"])
def test_attachment_names_any_shape(rediff, style):
    env = rediff(attachment_style=style, record_status_fields=True)
    run = env.run(env.config(end_date=ONE_DAY))
    assert run.returncode == 0
    assert_matches_truth(records_of(run), env.truth(end=ONE_DAY))
    with_files = [r for r in run.records(OUTBOUND) if r["attachment_names"]]
    assert with_files
    assert all(isinstance(r["attachment_names"], list) for r in with_files)
    assert all(r["status_code"] == 250 for r in run.records(OUTBOUND))


def test_attachment_names_are_the_same_record_whichever_shape_the_api_uses(rediff):
    """A comma-joined string, a list, a single name or null/empty: the same names,
    the same record and the same key."""
    by_style = {}
    for style in ("string", "list", "mixed"):
        env = rediff(attachment_style=style)
        run = env.run(env.config(end_date=ONE_DAY))
        assert run.returncode == 0, run.stderr[-2000:]
        by_style[style] = {r["record_key"]: r for r in run.records(OUTBOUND)}
    assert by_style["string"] == by_style["list"] == by_style["mixed"]
    names = [r["attachment_names"] for r in by_style["string"].values()]
    assert any(len(n) > 1 for n in names), "mails with several attachments expected"
    assert all(isinstance(n, list) and all("," not in name for name in n) for n in names)
    assert [] in names, "a mail without attachments has an empty list"


def test_unexpected_value_types_are_kept_not_lost(rediff):
    env = rediff(odd_value_types=True)
    run = env.run(env.config(end_date="2026-11-10T06:00:00+00:00"))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.records(OUTBOUND)
    for record in run.records(OUTBOUND):
        assert isinstance(record["mail_size_bytes"], int)  # numeric string: coerced
        assert record["rcpt_cc_count"] is None  # not a number: kept verbatim in extra
        assert record["extra"]["rcpt_cc_count"] == "n/a"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("json_array", "answered a JSON list, not an object"),
        ("data_string", "'data' is str, expected an object"),
    ],
)
def test_unexpected_response_shape_stops_with_the_bookmark_before_it(rediff, fault, message):
    env = rediff()
    env.app.faults.fail_next = ["ok", fault]
    run = env.run(env.config(end_date=ONE_DAY))
    assert run.returncode != 0
    assert message in run.stderr
    assert len(run.records("report_windows")) == 1
    assert bookmark(run) == run.records("report_windows")[0]["window_end"]
