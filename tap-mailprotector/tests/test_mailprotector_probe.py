"""--test: one line naming the cause within 30 s, or a report of the log API's variant;
``time_filter_style: auto`` picks the style the server applies."""

from __future__ import annotations

import time

import pytest
from sandbox.mailprotector import DEMO_API_KEY
from sandbox.postgres import free_port
from sandbox.testing import assert_no_secrets, run_tap

EXECUTABLE = "tap-mailprotector"
PREFIX = "tap-mailprotector --test failed: "
SYNC_TUNING = ("retry_base_seconds", "retry_max_seconds", "request_timeout")


def timed_test(mp, **overrides):
    """``--test`` with the sync's default retries and timeouts unless overridden."""
    config = {k: v for k, v in mp.config().items() if k not in SYNC_TUNING}
    for key, value in overrides.items():
        config[key] = value.format(url=mp.sandbox.url, port=mp.sandbox.port, dead=free_port()) \
            if isinstance(value, str) else value  # fmt: skip
    began = time.monotonic()
    run = run_tap(EXECUTABLE, config, args=("--test",))
    assert_no_secrets([DEMO_API_KEY], run.stdout, run.stderr)
    return run, time.monotonic() - began


def failure_lines(run) -> list[str]:
    assert run.returncode == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    return [line.removeprefix(PREFIX) for line in run.stderr.splitlines() if PREFIX in line]


@pytest.mark.parametrize(
    ("config", "cause"),
    [
        ({"base_url": "http://nonexistent.invalid"},
         "DNS failure: the host name 'nonexistent.invalid' does not resolve: check the URL"),
        ({"base_url": "http://127.0.0.1:{dead}"}, "connection refused by 127.0.0.1:"),
        ({"base_url": "https://127.0.0.1:{port}"}, "TLS failure with 127.0.0.1:"),
        ({"api_key": "mp-not-a-key-987654321"},
         "HTTP 401 Unauthorized for /api/v1/domains/102: Unauthorized; the API key was rejected"),
        ({"domain_ids": [201]}, "domain 201: HTTP 403, the API key is not allowed on it"),
        ({"base_url": "{url}/wrong"},
         "every domain, reseller and customer asked for answered HTTP 404 at "
         "http://127.0.0.1:{port}/wrong: check base_url"),
    ],
    ids=["dns", "refused", "tls", "401", "403", "404-wrong-url"],
)  # fmt: skip
def test_failure_is_one_line_naming_the_cause_within_30_s(mailprotector, config, cause):
    mp = mailprotector()
    run, seconds = timed_test(mp, **config)
    assert failure_lines(run) == [failure_lines(run)[0]]
    assert cause.format(port=mp.sandbox.port) in failure_lines(run)[0]
    assert seconds < 30
    assert len(mp.app.api_calls()) <= 1, "no retries on the test path"


def test_timeout_is_named_within_30_s(mailprotector):
    mp = mailprotector()
    mp.app.faults.latency_seconds = 3
    run, seconds = timed_test(mp, request_timeout=1)
    assert failure_lines(run) == [f"timeout: 127.0.0.1:{mp.sandbox.port} sent no answer within "
                                  "1 s: the server is down or overloaded"]  # fmt: skip
    assert seconds < 30


def test_each_failing_domain_is_named(mailprotector):
    mp = mailprotector()
    run, _ = timed_test(mp, domain_ids=[102, 201, 999])
    assert failure_lines(run) == [
        "domain 201: HTTP 403, the API key is not allowed on it (HTTP 403 Forbidden for "
        "/api/v1/domains/201: Not authorized to access this record)",
        "domain 999: HTTP 404, it does not exist (HTTP 404 Not Found for /api/v1/domains/999: "
        "Record not found)",
    ]
    assert "  domains       102 (mpdemo.net)\n" in run.stdout


def report_of(run) -> dict[str, str]:
    lines = run.stdout.splitlines()
    assert lines[0] == "tap-mailprotector connection test", run.stderr[-2000:]
    return {k: v.strip() for k, v in (line.strip().split("  ", 1) for line in lines[1:])}


def test_report_of_the_default_variant(mailprotector):
    mp = mailprotector()
    run, seconds = timed_test(mp, domain_ids=None, reseller_id=343)
    assert run.returncode == 0, run.stderr[-2000:]
    assert seconds < 30
    report = report_of(run)
    assert report["domains"] == (
        "102 (mpdemo.net), 103 (mpdemo.org), 104 (pending-demo.net), 105 (hotshop.example)"
    )
    assert report["probed on"] == "the log of domain 102 (mpdemo.net)"
    assert report["X-Pagination"] == (
        'present: {"total": 5000, "total_pages": 50, "page": 1, "page_size": 100, "next_page": 2}'
    )
    assert report["page size"] == "100 honoured (page_size)"
    assert report["time filter"] == (
        "operator (received_at[geq], received_at[lt]); time_filter_style is 'auto'"
    )
    assert report["result cap"] == (
        "empty pages past 5000 entries (silent truncation); X-Pagination total stops at 5000"
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"time_filter": "start_end_date", "cap_style": "422"},
            {
                "time filter": "start_end_date (start_date, end_date); time_filter_style is 'auto'",
                "result cap": "HTTP 422 for page 51, past 5000 entries; X-Pagination total "
                "stops at 5000",
            },
        ),
        (
            {"time_filter": "date_start_end", "pagination_header": False},
            {
                "X-Pagination": "absent",
                "time filter": "date_start_end (date_start, date_end); time_filter_style is 'auto'",
                "result cap": "empty page past 5000 entries: a silent cap, or fewer entries "
                "than that",
            },
        ),
        (
            {"total_capped": False},
            {"result cap": "empty pages past 5000 entries (silent truncation)"},
        ),
        (
            {"result_cap": 20000},
            {"result cap": "entries served past 5000: the server's cap is higher than result_cap"},
        ),
    ],
    ids=["start_end_date-422", "date_start_end-no-header", "true-total", "higher-cap"],
)
def test_report_per_variant(mailprotector, settings, expected):
    mp = mailprotector(**settings)
    run, _ = timed_test(mp)
    assert run.returncode == 0, run.stderr[-2000:]
    report = report_of(run)
    assert {k: report[k] for k in expected} == expected
    if "total_capped" in settings:
        assert report["X-Pagination"].startswith('present: {"total": 1')  # the true count


@pytest.mark.parametrize(
    ("settings", "config", "problem"),
    [
        ({"page_size_max": 50}, {},
         "the server serves at most 50 entries per page, not page_size 100; a short page would "
         "be taken for the end of the data: set page_size to 50"),
        ({"page_size_max": 50, "pagination_header": False}, {},
         "the server serves at most 50 entries per page, not page_size 100; a short page would "
         "be taken for the end of the data: set page_size to 50"),
        ({"time_filter": "ignored"}, {},
         "none of the time filter styles (operator, start_end_date, date_start_end) is applied "
         "by the server"),
        ({"time_filter": "start_end_date"}, {"time_filter_style": "operator"},
         "the server applies the time filter style 'start_end_date', not "
         "time_filter_style='operator': set it to 'start_end_date' or 'auto'"),
    ],
    ids=["page-size-clamped", "page-size-clamped-no-header", "filter-ignored", "wrong-style"],
)  # fmt: skip
def test_report_names_what_would_break_a_sync(mailprotector, settings, config, problem):
    mp = mailprotector(**settings)
    run, seconds = timed_test(mp, **config)
    assert run.stdout.startswith("tap-mailprotector connection test")
    [line] = failure_lines(run)
    assert line.startswith(problem)
    assert seconds < 30


@pytest.mark.parametrize("style", ["operator", "start_end_date", "date_start_end"])
def test_auto_style_syncs_every_entry_whatever_the_server_applies(mailprotector, style):
    mp = mailprotector(time_filter=style)
    run = mp.run(mp.config(domain_ids=None, reseller_id=343))
    assert run.returncode == 0, run.stderr[-2000:]
    found = [line for line in run.stderr.splitlines() if "time_filter_style auto" in line]
    assert len(found) == 1, "probed once per run"
    assert found[0].endswith(f"time_filter_style auto: the server applies {style!r}")
    mp.assert_complete(mp.emitted_ids(run, 102), 102, mp.bookmarks(run.last_state)[102])


def test_auto_style_stops_when_no_style_applies(mailprotector):
    mp = mailprotector(time_filter="ignored")
    run = mp.run(mp.config())
    assert run.returncode != 0
    assert "none of the time filter styles (operator, start_end_date, date_start_end)" in run.stderr
    assert run.records("domain_logs") == []
    assert mp.bookmarks(run.last_state) == {}
