"""One set of retry rules for every tap.

- ``max_retries`` counts retries after the first attempt: 0 means one attempt.
- A 429 or 503 with ``Retry-After`` (seconds, or an HTTP date) waits that long, up
  to ``retry_max_seconds``; a longer one is capped and the log says so.
- Any other retriable failure waits ``retry_base_seconds * 2**n`` (n = 0, 1, ...),
  capped at ``retry_max_seconds``, with jitter: a random wait between half and all
  of it, so workers or runs that failed together do not retry together.
- Every retry logs one line: ``HTTP 429 from host/path (Retry-After 30 s): retry 2 of
  5 in 30.0 s``.

:class:`RetryPolicy` plugs into the ``backoff`` library, which the SDK's
``RESTStream`` uses: :class:`RetryRules` wires it into the SDK's hooks, and a tap
with its own client passes the same methods to ``backoff.on_exception``.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import backoff
import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from typing_extensions import override

from mailtaps_common.bases import RESTStreamMixin
from mailtaps_common.secrets import shown_url
from mailtaps_common.tls import certificate_distrust, untrusted_certificate

RETRY_AFTER_STATUSES = frozenset({429, 503})
#: The fix to name when a call still fails after every retry.
EXHAUSTED_HINT = "try again later or raise max_retries"

#: What the SDK's ``RESTStream.request_decorator`` retries.
RETRIABLE_EXCEPTIONS = (
    ConnectionResetError,
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class ServerWait(float):
    """A wait the server asked for with ``Retry-After`` (already capped); jitter
    leaves it as it is. ``asked`` is what the server sent, in seconds."""

    asked: float

    def __new__(cls, seconds: float, asked: float) -> ServerWait:
        wait = super().__new__(cls, seconds)
        wait.asked = asked
        return wait


def retry_after_seconds(
    response: requests.Response | None, now: datetime | None = None
) -> float | None:
    """Seconds a 429 or 503 asks to wait, from ``Retry-After`` as seconds or as an
    HTTP date; ``None`` without a usable header or for any other status."""
    if response is None or response.status_code not in RETRY_AFTER_STATUSES:
        return None
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def location(exception: BaseException | None) -> str | None:
    """``host/path`` of the call that failed (no query string), when known."""
    response = getattr(exception, "response", None)
    url = getattr(response, "url", None) or getattr(exception, "url", None)
    if not url:
        request = getattr(exception, "request", None)
        url = getattr(request, "url", None)
    if not url:
        return None
    parts = urlsplit(shown_url(str(url)))  # never the user and password
    return f"{parts.netloc}{parts.path}"


def unreachable(vendor: str, where: str | None, max_tries: int, cause: str, setting: str) -> str:
    """The one line for a server that never answered, after every attempt."""
    return (
        f"Cannot reach {vendor} at {where or '?'} after {attempts(max_tries)} ({cause}): "
        f"check {setting} and the network"
    )


def transport_cause(exception: BaseException) -> str:
    """The exception type and its OS-level reason, without urllib3's long wrapping."""
    errno = re.search(r"\[Errno -?\d+\] [^'\")]+", str(exception))
    reason = f" {errno.group(0).strip()}" if errno else ""
    return type(exception).__name__ + reason


def failure_cause(exception: BaseException | None) -> str:
    """A short cause: ``HTTP 503``, ``ConnectionError ([Errno 111] ...)``, or the
    tap's own one-line message for a bad answer that came with a success status."""
    if exception is None:
        return "unknown failure"
    response = getattr(exception, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int) and status >= 400:
        return f"HTTP {status}"
    if isinstance(exception, requests.exceptions.RequestException):
        return transport_cause(exception)
    text = str(exception).strip().splitlines()
    return text[0][:200] if text else type(exception).__name__


def attempts(count: int) -> str:
    return f"{count} attempt" + ("" if count == 1 else "s")


def _seconds(value: float) -> str:
    return f"{value:.1f}" if value >= 1 else f"{value:.2g}"


@dataclass(frozen=True)
class RetryPolicy:
    """The retry rules with one tap's settings."""

    max_retries: int
    base_seconds: float
    max_seconds: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RetryPolicy:
        """From the settings ``max_retries``, ``retry_base_seconds`` and
        ``retry_max_seconds`` (JSON numbers may arrive as Decimal)."""
        return cls(
            max_retries=int(config["max_retries"]),
            base_seconds=float(config["retry_base_seconds"]),
            max_seconds=float(config["retry_max_seconds"]),
        )

    @property
    def max_tries(self) -> int:
        """Attempts in all: the first one and ``max_retries`` more."""
        return self.max_retries + 1

    def wait_generator(self) -> Generator[float, BaseException | None, None]:
        """A ``backoff`` wait generator: ``backoff`` sends it the exception of each
        failed attempt and sleeps for what it yields (after :meth:`jitter`)."""
        exception = yield 0.0  # backoff primes the generator before the first failure
        retry = 0
        while True:
            exception = yield self.wait_after(exception, retry)
            retry += 1

    def wait_after(self, exception: BaseException | None, retry: int) -> float:
        """The wait before retry ``retry + 1``: Retry-After (capped) or exponential."""
        asked = retry_after_seconds(getattr(exception, "response", None))
        if asked is not None:
            return ServerWait(min(asked, self.max_seconds), asked)
        return min(self.base_seconds * 2.0**retry, self.max_seconds)

    def jitter(self, value: float) -> float:
        """Between half and all of an exponential wait; a server's wait as asked."""
        if isinstance(value, ServerWait):
            return value
        return value / 2 + random.uniform(0, value / 2)

    def describe(self, details: Mapping[str, Any]) -> str:
        """The log line for one retry, from ``backoff``'s handler details."""
        exception = details.get("exception")
        wait = details.get("wait") or 0.0
        where = location(exception)
        text = failure_cause(exception) + (f" from {where}" if where else "")
        if isinstance(wait, ServerWait):
            capped = (
                f", capped at retry_max_seconds={self.max_seconds:g}"
                if wait.asked > self.max_seconds
                else ""
            )
            text += f" (Retry-After {wait.asked:g} s{capped})"
        return f"{text}: retry {details.get('tries')} of {self.max_retries} in {_seconds(wait)} s"


class RetryRules(RESTStreamMixin):
    """Mix into an SDK ``RESTStream`` (before it) to apply :class:`RetryPolicy`
    through the SDK's backoff hooks.

    ``request_decorator`` is the SDK's, minus the ``backoff`` library's own log lines
    (raw exception text, a second ERROR line). A call still failing after every
    retry ends in one line that says so; a connection that never came about names
    the host and the setting to check.
    """

    vendor: str = "the API"  # e.g. "the Mailprotector API", for the final error
    url_setting: str = "base_url"  # the setting that holds the API's address

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy.from_config(self.config)

    @override
    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        return self.retry_policy.wait_generator()

    @override
    def backoff_max_tries(self) -> int:
        return self.retry_policy.max_tries

    @override
    def backoff_jitter(self, value: float) -> float:
        return self.retry_policy.jitter(value)

    @override
    def backoff_handler(self, details: Any) -> None:
        self.logger.warning("%s", self.retry_policy.describe(details))

    @override
    def request_decorator(
        self, func: Callable[..., requests.Response]
    ) -> Callable[..., requests.Response]:
        retried = backoff.on_exception(
            self.backoff_wait_generator,
            RETRIABLE_EXCEPTIONS,
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            jitter=self.backoff_jitter,
            giveup=lambda exc: certificate_distrust(exc) is not None,  # retrying cannot help
            logger=None,
        )(func)

        def call(*args: Any, **kwargs: Any) -> requests.Response:
            try:
                return retried(*args, **kwargs)
            except RetriableAPIError as exc:
                raise FatalAPIError(
                    f"{exc}: still failing after {attempts(self.retry_policy.max_tries)}; "
                    f"{EXHAUSTED_HINT}"
                ) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                url = str(exc.request.url) if exc.request is not None else ""
                if untrusted := untrusted_certificate(url, exc):
                    raise FatalAPIError(untrusted) from None
                if isinstance(exc, requests.exceptions.SSLError):
                    raise FatalAPIError(
                        f"TLS failure with {location(exc) or self.vendor} "
                        f"({transport_cause(exc)}): check {self.url_setting} and the server's "
                        "certificate"
                    ) from None
                raise FatalAPIError(
                    unreachable(
                        self.vendor,
                        location(exc),
                        self.retry_policy.max_tries,
                        transport_cause(exc),
                        self.url_setting,
                    )
                ) from None

        return call
