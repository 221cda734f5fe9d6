"""Bad servers: ignored filters, throttling, errors, forbidden domains, secrets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sandbox.mailprotector import DEMO_API_KEY, OTHER_RESELLER_API_KEY
from sandbox.testing import TapRun, assert_no_secrets, failure_line

HOT = 105
BURST = [{"domain_id": HOT, "ago_seconds": 5400, "seconds": 3600, "count": 1200, "tie_group": 30}]


def no_secret_anywhere(run: TapRun, *secrets: str) -> None:
    assert_no_secrets([DEMO_API_KEY, *secrets], run.stdout, run.stderr, json.dumps(run.states))


@pytest.mark.parametrize("style", ["operator", "start_end_date", "date_start_end"])
def test_each_time_filter_style(mailprotector, style):
    mp = mailprotector(time_filter=style)
    run = mp.run(mp.config(time_filter_style=style))
    assert run.returncode == 0, run.stderr[-2000:]
    mp.assert_complete(mp.emitted_ids(run, 102), 102, mp.bookmarks(run.last_state)[102])


@pytest.mark.parametrize(
    ("server", "tap"), [("ignored", "operator"), ("date_start_end", "operator")]
)
def test_server_ignoring_the_time_filter_stops_the_run(mailprotector, server, tap):
    mp = mailprotector(time_filter=server)
    run = mp.run(mp.config(time_filter_style=tap))
    assert run.returncode != 0
    assert "does not apply the time filter (time_filter_style='operator')" in run.stderr
    assert run.records("domain_logs") == []
    assert mp.bookmarks(run.last_state) == {}
    assert mp.log_requests() == 1, "it must stop at the first page, not read everything"


def gaps_after_429(mp) -> list[float]:
    calls = mp.app.api_calls("/api/v1/")
    return [later.at - call.at for call, later in pairwise(calls) if call.status == 429]


def test_429_with_retry_after_is_honoured(mailprotector):
    mp = mailprotector(bursts=BURST, result_cap=200, page_size_max=50)
    mp.app.faults.rate_limit_interval = 0.05
    mp.app.faults.rate_limit_retry_after = 0.3
    run = mp.run(mp.config(domain_ids=[HOT], result_cap=200, page_size=50, max_retries=3))
    assert run.returncode == 0, run.stderr[-2000:]
    mp.assert_complete(mp.emitted_ids(run, HOT), HOT, mp.bookmarks(run.last_state)[HOT])
    gaps = gaps_after_429(mp)
    assert gaps, "no 429 was served: this test could not fail"
    assert min(gaps) >= 0.28, "the tap retried before Retry-After"


def test_429_without_retry_after_backs_off_exponentially(mailprotector):
    mp = mailprotector(bursts=BURST, result_cap=200, page_size_max=50)
    mp.app.faults.rate_limit_interval = 0.1
    run = mp.run(mp.config(domain_ids=[HOT], result_cap=200, page_size=50, max_retries=8))
    assert run.returncode == 0, run.stderr[-2000:]
    mp.assert_complete(mp.emitted_ids(run, HOT), HOT, mp.bookmarks(run.last_state)[HOT])
    assert gaps_after_429(mp), "no 429 was served: this test could not fail"


def test_storm_of_5xx_timeouts_html_truncated_json_completes(mailprotector):
    mp = mailprotector(bursts=BURST, result_cap=200, page_size_max=50)
    mp.app.faults.update(
        {
            "error_rate": 0.3,
            "error_kinds": [
                "http_500",
                "http_502",
                "http_503",
                "timeout",
                "html",
                "truncated",
                "reset",
                "echo_key",
            ],
            "timeout_seconds": 1.5,
        }
    )
    config = mp.config(
        domain_ids=[HOT], result_cap=200, page_size=50, max_retries=10, request_timeout=1
    )
    run = mp.run(config)
    assert run.returncode == 0, run.stderr[-2000:]
    faults = {r.fault for r in mp.app.requests if r.fault}
    assert {"timeout", "truncated", "html", "echo_key"} <= faults
    mp.assert_complete(mp.emitted_ids(run, HOT), HOT, mp.bookmarks(run.last_state)[HOT])
    no_secret_anywhere(run)


def test_persistent_errors_fail_clearly_without_advancing_past_unemitted_data(mailprotector):
    mp = mailprotector(bursts=BURST, result_cap=200, page_size_max=50)
    states = 0

    def break_server_after_two_windows(message: dict) -> bool:
        nonlocal states
        states += message["type"] == "STATE"
        if states == 3:
            mp.app.faults.update({"error_rate": 1.0, "error_kinds": ["http_503", "echo_key"]})
        return False

    run = mp.run(
        mp.config(domain_ids=[HOT], result_cap=200, page_size=50, max_retries=2),
        kill_when=break_server_after_two_windows,
    )
    assert run.returncode != 0
    last_line = run.stderr.strip().splitlines()[-1]
    assert "HTTP 50" in last_line
    assert "/api/v1/domains/105/logs" in last_line
    assert mp.bookmarks(run.last_state), "expected progress before the failure"
    mp.assert_no_gap(set(mp.emitted_ids(run)), run.last_state)
    no_secret_anywhere(run)


def test_401_stops_at_once_and_names_the_key(mailprotector):
    mp = mailprotector()
    wrong = "mp-wrong-key-0123456789"
    run = mp.run(mp.config(api_key=wrong))
    assert run.returncode != 0
    assert "HTTP 401" in run.stderr
    assert "check api_key" in run.stderr
    assert len(mp.app.api_calls("/api/v1/")) == 1, "401 must not be retried"
    no_secret_anywhere(run, wrong)


def test_wrong_base_url_is_named_when_nothing_was_read(mailprotector):
    """A base_url with a wrong path makes every domain a 404: the line names base_url."""
    mp = mailprotector()
    wrong = f"{mp.sandbox.url}/v9"
    run = mp.run(mp.config(base_url=wrong, domain_ids=[102, 105]))
    assert failure_line(run) == (
        "domain 102: HTTP 404, it does not exist (HTTP 404 Not Found for "
        "/v9/api/v1/domains/102: No route for /v9/api/v1/domains/102); nothing was read "
        f"before it: check base_url ({wrong}) too"
    )
    assert run.states == [] or not mp.bookmarks(run.last_state)


def test_a_missing_domain_after_others_is_not_blamed_on_base_url(mailprotector):
    mp = mailprotector()
    run = mp.run(mp.config(domain_ids=[102, 999]))
    assert failure_line(run) == (
        "domain 999: HTTP 404, it does not exist (HTTP 404 Not Found for "
        "/api/v1/domains/999: Record not found)"
    )


def test_skipping_every_domain_fails_the_run(mailprotector):
    """on_domain_error=skip drops retired domains; when none is left, a wrong base_url
    or key is likelier, and a run that read nothing must not look like a success."""
    mp = mailprotector()
    wrong = f"{mp.sandbox.url}/v9"
    run = mp.run(mp.config(base_url=wrong, domain_ids=[102, 105], on_domain_error="skip"))
    assert failure_line(run) == (
        "every domain was skipped, none was read (on_domain_error=skip): check base_url "
        f"({wrong}), api_key and domain_ids; the first: domain 102: HTTP 404, it does not "
        "exist (HTTP 404 Not Found for /v9/api/v1/domains/102: No route for "
        "/v9/api/v1/domains/102)"
    )
    assert run.records("domain_logs") == []


def test_forbidden_and_unknown_domains_skipped_when_configured(mailprotector):
    mp = mailprotector()
    run = mp.run(mp.config(domain_ids=[201, 102, 999], on_domain_error="skip"))
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Skipping domain 201: HTTP 403" in run.stderr
    assert "Skipping domain 999: HTTP 404" in run.stderr
    assert [r["id"] for r in run.records("domains")] == [102]
    mp.assert_complete(mp.emitted_ids(run, 102), 102, mp.bookmarks(run.last_state)[102])
    assert set(mp.bookmarks(run.last_state)) == {102}


def test_forbidden_domain_fails_the_run_by_default(mailprotector):
    mp = mailprotector()
    run = mp.run(mp.config(domain_ids=[102, 201]))
    assert run.returncode != 0
    last_line = run.stderr.strip().splitlines()[-1]
    assert "domain 201: HTTP 403, the API key is not allowed on it" in last_line
    mp.assert_no_gap(set(mp.emitted_ids(run)), run.last_state)


def test_key_of_another_reseller_gets_403_for_the_reseller(mailprotector):
    mp = mailprotector()
    run = mp.run(mp.config(api_key=OTHER_RESELLER_API_KEY, domain_ids=None, reseller_id=343))
    assert run.returncode != 0
    assert "reseller 343: HTTP 403" in run.stderr
    no_secret_anywhere(run, OTHER_RESELLER_API_KEY)


def test_start_older_than_retention_is_clamped_with_a_warning(mailprotector):
    mp = mailprotector(volumes={102: 2.0})
    start = datetime.now(UTC) - timedelta(days=20)
    run = mp.run(mp.config(start_date=start.isoformat()))
    assert run.returncode == 0, run.stderr[-2000:]
    warning = next(line for line in run.stderr.splitlines() if "retention" in line)
    assert "domain 102: entries from " + start.isoformat()[:16] in warning
    assert "older than the 14-day retention" in warning
    assert run.records("domain_logs"), "retained entries must still be read"


def test_unknown_fields_are_kept_in_extra(mailprotector):
    mp = mailprotector(extra_fields=True)
    run = mp.run(mp.config())
    assert run.returncode == 0, run.stderr[-2000:]
    record = run.records("domain_logs")[0]
    assert record["extra"]["tls"]["version"] == "TLSv1.3"
    assert record["decision"]
    assert "not found in catalog schema" not in run.stderr


def test_fields_deselected_in_the_catalog_are_left_out(mailprotector):
    """Records skip the SDK's deselection walk only when nothing is deselected."""
    mp = mailprotector(volumes={102: 2.0})
    config = mp.config()
    catalog = json.loads(mp.run(config, args=("--discover",)).stdout)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if entry["tap_stream_id"] == "domain_logs" and item["breadcrumb"] in (
                ["properties", "subject"],
                ["properties", "score", "properties", "score"],
            ):
                item["metadata"]["selected"] = False
            elif item["breadcrumb"] == []:
                item["metadata"]["selected"] = True
    run = mp.run(config, catalog=catalog)
    assert run.returncode == 0, run.stderr[-2000:]
    logs = run.records("domain_logs")
    assert logs
    assert all("subject" not in record for record in logs)
    assert all("score" not in (record.get("score") or {}) for record in logs)
    # The other fields stay (the sandbox sends a null sender now and then, as bounces do).
    assert all("sender" in record and record["received_at"] for record in logs)
    assert any(record["sender"] for record in logs)


def test_stream_maps_apply_to_every_record(mailprotector):
    """Records go straight to the writer only without maps: a configured map still
    applies (the SDK's own path), to every record."""
    mp = mailprotector(volumes={102: 200.0})
    sender_domain = "(sender or '@').split('@')[1]"
    maps = {"domain_logs": {"subject": "__NULL__", "sender_domain": sender_domain}}
    run = mp.run(mp.config(stream_maps=maps))
    assert run.returncode == 0, run.stderr[-2000:]
    logs = run.records("domain_logs")
    mp.assert_complete([record["id"] for record in logs], 102, mp.bookmarks(run.last_state)[102])
    assert all("subject" not in record for record in logs)
    assert all(
        record["sender_domain"] == (record["sender"] or "@").split("@")[1] for record in logs
    )
    assert any(record["sender_domain"] for record in logs)
