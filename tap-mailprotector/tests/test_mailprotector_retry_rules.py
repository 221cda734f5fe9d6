"""The shared retry rules and failure lines, against the Mailprotector sandbox."""

from __future__ import annotations

import re
from itertools import pairwise

from sandbox.postgres import free_port
from sandbox.testing import failure_line

API = r"127\.0\.0\.1:\d+/api/v1/\S+"


def gaps_after(mp, status: int) -> list[float]:
    calls = mp.app.api_calls("/api/v1/")
    return [later.at - call.at for call, later in pairwise(calls) if call.status == status]


def complete_run(mp, **config):
    run = mp.run(mp.config(**config))
    assert run.returncode == 0, run.stderr[-2000:]
    mp.assert_complete(mp.emitted_ids(run, 102), 102, mp.bookmarks(run.last_state)[102])
    return run


def test_429_retry_after_in_seconds_is_honoured(mailprotector):
    mp = mailprotector()
    mp.app.faults.retry_after = "0.3"
    mp.app.faults.fail_next = ["ok", "http_429"]
    run = complete_run(mp)
    assert min(gaps_after(mp, 429)) >= 0.3
    assert re.search(
        rf"HTTP 429 from {API} \(Retry-After 0\.3 s\): retry 1 of 6 in 0\.3 s", run.stderr
    )


def test_503_retry_after_as_an_http_date_is_honoured(mailprotector):
    mp = mailprotector()
    mp.app.faults.retry_after = "date+3"  # an HTTP date 3 s after the 503 is served
    mp.app.faults.fail_next = ["ok", "http_503"]
    run = complete_run(mp, retry_max_seconds=10)
    assert min(gaps_after(mp, 503)) >= 1.0  # the date has whole seconds: 2-3 s ahead
    assert re.search(
        rf"HTTP 503 from {API} \(Retry-After [123](\.\d+)? s\): retry 1 of 6", run.stderr
    )


def test_a_longer_retry_after_is_capped_and_the_log_says_so(mailprotector):
    mp = mailprotector()
    mp.app.faults.retry_after = "30"
    mp.app.faults.fail_next = ["http_503"]
    run = complete_run(mp, retry_max_seconds=0.3)
    assert 0.3 <= min(gaps_after(mp, 503)) < 5
    assert re.search(
        rf"HTTP 503 from {API} \(Retry-After 30 s, capped at retry_max_seconds=0\.3\): "
        r"retry 1 of 6 in 0\.3 s",
        run.stderr,
    )


def test_max_retries_zero_is_one_attempt(mailprotector):
    mp = mailprotector()
    mp.app.faults.fail_next = ["http_503"]
    run = mp.run(mp.config(max_retries=0))
    assert failure_line(run) == (
        "HTTP 503 Service Unavailable for /api/v1/domains/102: Internal error: still failing "
        "after 1 attempt; try again later or raise max_retries"
    )
    assert len(mp.app.api_calls("/api/v1/")) == 1


def test_exhausted_retries_end_in_one_line(mailprotector):
    mp = mailprotector()
    mp.app.faults.fail_next = ["http_502"] * 3
    run = mp.run(mp.config(max_retries=2))
    assert failure_line(run) == (
        "HTTP 502 Bad Gateway for /api/v1/domains/102: Internal error: still failing "
        "after 3 attempts; try again later or raise max_retries"
    )


def test_unreachable_host_is_one_line(mailprotector):
    mp = mailprotector()
    port = free_port()
    run = mp.run(mp.config(base_url=f"http://127.0.0.1:{port}", max_retries=1))
    assert failure_line(run) == (
        f"Cannot reach the Mailprotector API at 127.0.0.1:{port}/api/v1/domains/102 after 2 "
        "attempts (ConnectionError [Errno 111] Connection refused): check base_url and the "
        "network"
    )
