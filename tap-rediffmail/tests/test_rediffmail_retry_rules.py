"""The shared retry rules and failure lines, against the RediffMail sandbox."""

from __future__ import annotations

import re
from itertools import pairwise

from rediffmail_support import assert_matches_truth, records_of
from sandbox.postgres import free_port
from sandbox.testing import failure_line

ONE_DAY = "2026-11-11T00:00:00+00:00"  # four 6-hour windows
HOST = r"127\.0\.0\.1:\d+/logs/get"


def gaps_after(env, status: int) -> list[float]:
    calls = env.app.api_calls("/logs/get")
    return [later.at - call.at for call, later in pairwise(calls) if call.status == status]


def complete_run(env, **config):
    run = env.run(env.config(end_date=ONE_DAY, **config))
    assert run.returncode == 0, run.stderr[-2000:]
    assert_matches_truth(records_of(run), env.truth(end=ONE_DAY))
    return run


def test_429_retry_after_in_seconds_is_honoured(rediff):
    env = rediff()
    env.app.faults.retry_after = "0.4"
    env.app.faults.fail_next = ["ok", "http_429"]
    run = complete_run(env)
    assert min(gaps_after(env, 429)) >= 0.4
    assert re.search(
        rf"HTTP 429 from {HOST} \(Retry-After 0\.4 s\): retry 1 of 5 in 0\.4 s", run.stderr
    )


def test_503_retry_after_as_an_http_date_is_honoured(rediff):
    env = rediff()
    env.app.faults.retry_after = "date+3"  # an HTTP date 3 s after the 503 is served
    env.app.faults.fail_next = ["ok", "http_503"]
    run = complete_run(env)
    assert min(gaps_after(env, 503)) >= 1.0  # the date has whole seconds: 2-3 s ahead
    assert re.search(
        rf"HTTP 503 from {HOST} \(Retry-After [123](\.\d+)? s\): retry 1 of 5", run.stderr
    )


def test_a_longer_retry_after_is_capped_and_the_log_says_so(rediff):
    env = rediff()
    env.app.faults.retry_after = "30"
    env.app.faults.fail_next = ["http_429"]
    run = complete_run(env, retry_max_seconds=0.3)
    assert 0.3 <= min(gaps_after(env, 429)) < 5
    assert re.search(
        rf"HTTP 429 from {HOST} \(Retry-After 30 s, capped at retry_max_seconds=0\.3\): "
        r"retry 1 of 5 in 0\.3 s",
        run.stderr,
    )


def test_429_without_retry_after_backs_off_from_the_base(rediff):
    env = rediff()
    env.app.faults.fail_next = ["ok", "http_429", "http_429"]
    run = complete_run(env, retry_base_seconds=0.2)
    first, second = gaps_after(env, 429)
    assert first >= 0.1, "between half and all of 0.2 s"
    assert second >= 0.2, "between half and all of 0.4 s"
    # two significant digits: a wait of 0.195 s or more is written 0.2
    assert re.search(rf"HTTP 429 from {HOST}: retry 1 of 5 in 0\.(1\d*|2) s", run.stderr)
    assert re.search(rf"HTTP 429 from {HOST}: retry 2 of 5 in 0\.[234]\d* s", run.stderr)


def test_max_retries_zero_is_one_attempt(rediff):
    env = rediff()
    env.app.faults.fail_next = ["ok", "http_503"]
    run = env.run(env.config(end_date=ONE_DAY, max_retries=0))
    assert failure_line(run) == (
        "RediffMail server error (503: Internal error): still failing after 1 attempt; "
        "try again later or raise max_retries"
    )
    assert len(env.app.api_calls("/logs/get")) == 2


def test_exhausted_retries_end_in_one_line(rediff):
    env = rediff()
    env.app.faults.fail_next = ["ok", *["http_503"] * 3]
    run = env.run(env.config(end_date=ONE_DAY, max_retries=2))
    assert failure_line(run) == (
        "RediffMail server error (503: Internal error): still failing after 3 attempts; "
        "try again later or raise max_retries"
    )


def test_unreachable_host_is_one_line_and_debug_shows_the_traceback(rediff):
    env = rediff()
    port = free_port()
    config = env.config(api_url=f"http://127.0.0.1:{port}/logs/get", max_retries=1)
    assert failure_line(env.run(config)) == (
        f"Cannot reach the RediffMail API at 127.0.0.1:{port}/logs/get after 2 attempts "
        "(ConnectionError [Errno 111] Connection refused): check api_url and the network"
    )
    debug = env.run(config, env={"LOGLEVEL": "debug"})
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr


def test_pacing_waits_are_logged_as_pacing(rediff):
    env = rediff()
    run = complete_run(env, min_seconds_between_calls=0.3)
    assert re.search(r"pacing: next call in 0\.[0-3]\d s", run.stderr)


def test_progress_names_windows_records_and_range(rediff):
    env = rediff()
    run = complete_run(env)
    truth = env.truth(end=ONE_DAY)
    rows = sum(len(rows) for rows in truth.values())
    assert rows, "the scenario has no rows: this check could not fail"
    assert (
        f"report_windows done: 4 windows, {rows} records, covering "
        "2026-11-10T00:00:00+00:00 to 2026-11-11T00:00:00+00:00"
    ) in run.stderr
