"""--test: one line naming the cause within 30 s whatever the sync settings, or a
report of the variant the server speaks, from one call."""

from __future__ import annotations

import time

import pytest
import requests
from sandbox.postgres import free_port
from sandbox.rediffmail import DEMO_DOMAIN

PREFIX = "tap-rediffmail --test failed: "
SYNC_TUNING = ("min_seconds_between_calls", "retry_base_seconds", "request_timeout")


def default_config(env, **overrides):
    """The test config with the sync's own defaults: 60 s pacing, 300 s timeout, 5 tries."""
    config = {k: v for k, v in env.config(**overrides).items() if k not in SYNC_TUNING}
    return {k: v.format(port=env.sandbox.port, dead=free_port()) if isinstance(v, str) else v
            for k, v in config.items()}  # fmt: skip


def timed_test(env, config):
    began = time.monotonic()
    run = env.run(config, args=("--test",))
    return run, time.monotonic() - began


def failure_line(run) -> str:
    lines = [line for line in run.stderr.splitlines() if line.startswith(PREFIX)]
    assert len(lines) == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert run.returncode == 1
    return lines[0].removeprefix(PREFIX)


@pytest.mark.parametrize(
    ("config", "settings", "cause"),
    [
        ({"api_url": "http://nonexistent.invalid/logs/get"}, {},
         "DNS failure: the host name 'nonexistent.invalid' does not resolve: check the URL"),
        ({"api_url": "http://127.0.0.1:{dead}/logs/get"}, {},
         "connection refused by 127.0.0.1:"),
        ({"api_url": "https://127.0.0.1:{port}/logs/get"}, {},
         "TLS failure with 127.0.0.1:"),
        ({"password": "not-the-password"}, {},
         "RediffMail rejected the credentials of admin@example.co.in"),
        ({}, {"allowed_ips": ["198.51.100.7"]},
         "ask Rediff support to allow-list the public IP"),
        ({"api_url": "http://127.0.0.1:{port}/logs/wrong"}, {},
         "HTTP 404 from 127.0.0.1:{port}/logs/wrong: no API answers at this address"),
    ],
    ids=["dns", "refused", "tls", "401", "403-ip-allow-list", "404-wrong-url"],
)  # fmt: skip
def test_failure_is_one_line_naming_the_cause_within_30_s(rediff, config, settings, cause):
    env = rediff(**settings)
    run, seconds = timed_test(env, default_config(env, **config))
    assert cause.format(port=env.sandbox.port) in failure_line(run)
    assert seconds < 30
    assert len(env.app.api_calls()) <= 1, "no retries on the test path"


def test_timeout_is_named_within_30_s_whatever_request_timeout(rediff):
    env = rediff()
    env.app.faults.latency_seconds = 12  # longer than the test's call timeout, not the sync's
    run, seconds = timed_test(env, default_config(env))
    assert "timeout: 127.0.0.1:" in failure_line(run)
    assert "sent no answer within 8 s" in failure_line(run)
    assert seconds < 30


def test_rate_limit_is_named_and_not_waited_for(rediff):
    env = rediff()
    env.app.faults.rate_limit_interval = 60
    requests.post(f"{env.sandbox.url}/logs/get", data={"domain": DEMO_DOMAIN}, timeout=5)
    run, seconds = timed_test(env, default_config(env))
    line = failure_line(run)
    assert "RediffMail rate limit (429" in line
    assert "try again in a minute" in line
    assert seconds < 30


@pytest.mark.parametrize(
    ("style", "shown"),
    [
        ("http", "[failure sent as HTTP 401 with status 'failure']"),
        ("200", "[failure sent as HTTP 200 with status 'failure', status_code 401]"),
    ],
)
def test_failure_line_names_the_failure_format(rediff, style, shown):
    env = rediff(failure_style=style)
    run, _ = timed_test(env, default_config(env, password="not-the-password"))
    assert failure_line(run).endswith(shown)


def report_of(run) -> dict[str, str]:
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert lines[0] == "tap-rediffmail connection test"
    return dict(line.strip().split("  ", 1) for line in lines[1:])


def test_report_of_the_default_variant_from_one_call(rediff):
    env = rediff()
    run, seconds = timed_test(env, default_config(env))
    report = {k: v.strip() for k, v in report_of(run).items()}
    assert len(env.app.api_calls("/logs/get")) == 1
    assert seconds < 30
    truth = env.truth("2026-11-12T23:00:00+00:00", "2026-11-13T00:00:00+00:00")
    outbound, activity = (len(truth[name]) for name in truth)
    assert report["window"] == "2026-11-12T23:00:00+00:00 .. 2026-11-13T00:00:00+00:00 (one call)"
    assert report["answer"] == "HTTP 200, status 'success', status_code 200"
    assert report["rows"] == f"outbound_mail_delivery_report {outbound}, activity_report {activity}"
    # activity rows have no date_time here: only the outbound rows are placed
    assert report["timezone"] == f"Asia/Kolkata (UTC+05:30): all {outbound} rows inside the window"
    assert report["activity time"] == "no timestamp field: activity rows are placed by their window"
    assert report["failure format"].startswith("not seen: the call succeeded")


def test_report_of_another_variant(rediff):
    env = rediff(success_status="Success", render_timezone="UTC", activity_timestamps=True)
    run, _ = timed_test(env, default_config(env))
    report = {k: v.strip() for k, v in report_of(run).items()}
    assert report["answer"] == "HTTP 200, status 'Success', status_code 200"
    assert report["timezone"].startswith("Asia/Kolkata (UTC+05:30): ")
    assert "rows outside the window; UTC+00:00 would fit" in report["timezone"]
    assert report["activity time"] == "yes: date_time"


def test_report_suggests_the_offset_that_fits(rediff):
    env = rediff()  # renders Asia/Kolkata
    run, _ = timed_test(env, default_config(env, timezone="UTC"))
    timezone = report_of(run)["timezone"].strip()
    assert timezone.startswith("UTC (UTC+00:00): ")
    assert "UTC+05:30 would fit" in timezone
