"""The retry rules on their own: Retry-After forms, caps, backoff, the log line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from mailtaps_common.retry import RetryPolicy, ServerWait, retry_after_seconds
from singer_sdk.exceptions import RetriableAPIError

NOW = datetime(2026, 11, 20, 8, 0, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_retries=5, base_seconds=2, max_seconds=60)


def answer(status: int, retry_after: str | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.url = "https://example.com/logs/get?page=2"
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response


def failure(status: int, retry_after: str | None = None) -> RetriableAPIError:
    return RetriableAPIError(f"HTTP {status}", answer(status, retry_after))


@pytest.mark.parametrize(
    ("status", "header", "seconds"),
    [
        (429, "30", 30.0),
        (503, "0.5", 0.5),
        (429, "Fri, 20 Nov 2026 08:01:30 GMT", 90.0),
        (503, "Fri, 20 Nov 2026 07:59:00 GMT", 0.0),  # a date in the past: no wait
        (429, "-5", 0.0),
        (429, "soon", None),
        (429, None, None),
        (500, "30", None),  # only 429 and 503 ask for a wait
    ],
)
def test_retry_after_in_seconds_or_as_an_http_date(status, header, seconds):
    assert retry_after_seconds(answer(status, header), now=NOW) == seconds


def waits(policy: RetryPolicy, exceptions: list[BaseException]) -> list[float]:
    generator = policy.wait_generator()
    generator.send(None)  # as backoff primes it
    return [generator.send(exception) for exception in exceptions]


def test_exponential_from_the_base_capped_at_the_maximum():
    assert waits(POLICY, [failure(500)] * 7) == [2, 4, 8, 16, 32, 60, 60]


def test_retry_after_is_honoured_and_capped():
    honoured, capped = waits(POLICY, [failure(429, "30"), failure(503, "900")])
    assert (honoured, honoured.asked) == (30, 30)
    assert (capped, capped.asked) == (60, 900)
    assert POLICY.jitter(capped) == 60, "a server's wait is not jittered"


def test_jitter_spreads_backoff_between_half_and_all_of_it():
    spread = {POLICY.jitter(8.0) for _ in range(200)}
    assert min(spread) >= 4.0
    assert max(spread) <= 8.0
    assert len(spread) > 100


def test_max_retries_counts_retries_after_the_first_attempt():
    assert RetryPolicy(0, 1, 1).max_tries == 1
    assert (
        RetryPolicy.from_config(
            {"max_retries": 5, "retry_base_seconds": 1, "retry_max_seconds": 300}
        ).max_tries
        == 6
    )


def test_one_log_format():
    line = POLICY.describe(
        {"exception": failure(429, "30"), "tries": 2, "wait": ServerWait(30, 30)}
    )
    assert line == "HTTP 429 from example.com/logs/get (Retry-After 30 s): retry 2 of 5 in 30.0 s"
    line = POLICY.describe(
        {"exception": failure(503, "900"), "tries": 1, "wait": ServerWait(60, 900)}
    )
    assert line == (
        "HTTP 503 from example.com/logs/get (Retry-After 900 s, capped at "
        "retry_max_seconds=60): retry 1 of 5 in 60.0 s"
    )
    line = POLICY.describe({"exception": failure(502), "tries": 3, "wait": 5.25})
    assert line == "HTTP 502 from example.com/logs/get: retry 3 of 5 in 5.2 s"
