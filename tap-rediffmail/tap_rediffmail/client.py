"""Everything peculiar to RediffMail Pro's log API: one form-encoded POST per time
window that answers both reports, failures that may come with HTTP 200, an IP
allow-list, about one call per minute, and no paging (so windows are planned
here, and split when a report may have been truncated)."""

from __future__ import annotations

import base64
import codecs
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from datetime import UTC, datetime
from functools import cached_property
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec
import requests
from mailtaps_common.keys import KeyedRecords
from mailtaps_common.parsing import parse_json
from mailtaps_common.probe import status_cause
from mailtaps_common.retry import RetryRules
from mailtaps_common.secrets import redact
from mailtaps_common.tls import verify_setting
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.pagination import BaseAPIPaginator
from singer_sdk.streams import RESTStream
from singer_sdk.streams.rest import PageContext
from typing_extensions import override

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

REPORTS = ("outbound_mail_delivery_report", "activity_report")


def parse_utc(value: str) -> datetime:
    """An ISO 8601 instant; naive values are taken as UTC."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso_utc(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


class Window(NamedTuple):
    """A half-open time range ``[start, end)`` in Unix seconds."""

    start: int
    end: int


KEY_CELL_SECONDS = 86400  # UTC days: no window crosses one (see ``key_cell``)


def key_cell(epoch: int) -> int:
    """Start of the UTC day holding ``epoch``: the unit in which rows without a
    timestamp are told apart, whatever the window plan."""
    return epoch - epoch % KEY_CELL_SECONDS


class WindowPlanner:
    """Plans the windows of one run.

    Each ``window_seconds`` cell of the UTC epoch grid is cut in binary halves:
    at level ``k`` the boundaries are ``cell + floor(size * i / 2**k)``. A window
    runs from the current position to the next boundary of the current level, so
    the same data and the same level give the same windows, run after run. The
    level rises when a window is busy (more than ``max_rows`` rows) or truncated
    (a report reached ``row_cap``) and falls again after sparse windows. No window
    crosses a UTC midnight, whatever ``window_seconds`` is.
    """

    def __init__(
        self,
        start: int,
        horizon: int,
        window_seconds: int,
        max_rows: int,
        row_cap: int | None,
        level: int = 0,
    ) -> None:
        self.horizon = horizon
        self.window_seconds = window_seconds
        self.max_rows = max_rows
        self.row_cap = row_cap
        # At this level every second is a boundary: windows cannot get smaller.
        self.max_level = (window_seconds - 1).bit_length()
        self.level = min(level, self.max_level)
        self.current: Window | None = self._window_from(start) if start < horizon else None

    def _window_from(self, position: int) -> Window:
        """From ``position`` to the next boundary of the current level: the smallest
        ``i`` with ``cell + size * i // parts > position``."""
        offset = position % self.window_seconds
        parts = 2**self.level
        i = -(-(offset + 1) * parts // self.window_seconds)
        boundary = position - offset + self.window_seconds * i // parts
        return Window(position, min(boundary, self.horizon, key_cell(position) + KEY_CELL_SECONDS))

    def truncated(self, counts: dict[str, int]) -> bool:
        return self.row_cap is not None and max(counts.values(), default=0) >= self.row_cap

    def accept(self, counts: dict[str, int]) -> bool:
        """Record the answer for the current window; False means it must be read again
        in smaller pieces (a report may have been truncated)."""
        window = self.current
        assert window is not None
        if self.truncated(counts):
            if window.end - window.start <= 1:
                raise FatalAPIError(
                    f"Window {iso_utc(window.start)} holds {max(counts.values())} rows "
                    f"in one second, reaching row_cap={self.row_cap}: it cannot be split "
                    "further, so rows may be missing. Raise row_cap if the API allows more."
                )
            while True:  # ends at max_level at the latest, where windows are 1 s
                self.level = min(self.level + 1, self.max_level)
                smaller = self._window_from(window.start)
                if smaller.end < window.end:
                    self.current = smaller
                    return False
        total = sum(counts.values())
        if total > self.max_rows:
            self.level = min(self.level + 1, self.max_level)
        elif total < self.max_rows // 4 and self.level > 0:
            self.level -= 1
        self.current = self._window_from(window.end) if window.end < self.horizon else None
        return True


class WindowPaginator(BaseAPIPaginator[Window | None]):
    """Walks the planner's windows; each "page" is one window's call."""

    def __init__(self, planner: WindowPlanner) -> None:
        super().__init__(planner.current)
        self.planner = planner

    @override
    def get_next(self, response: requests.Response) -> Window | None:
        return self.planner.current

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        """An empty or re-planned window is not the end of the data."""
        return True


def encode_password(config: Mapping[str, Any]) -> str:
    """The ``passwd`` form value: standard padded base64 of the UTF-8 password."""
    if config.get("password_base64"):
        return str(config["password_base64"]).strip()
    return base64.b64encode(str(config["password"]).encode("utf-8")).decode("ascii")


class Pacer:
    """Starts a call no sooner than ``interval`` seconds after the previous one
    ended, so the server never sees two calls closer together than that. Each wait
    is logged, so a quiet minute does not look like a hang."""

    def __init__(self, interval: float, logger: logging.Logger) -> None:
        self.interval = interval
        self.logger = logger
        self._last_end: float | None = None

    def __enter__(self) -> None:
        if self._last_end is not None:
            delay = self._last_end + self.interval - time.monotonic()
            if delay > 0:
                self.logger.info(
                    "pacing: next call in %s s", f"{delay:.0f}" if delay >= 1 else f"{delay:.2f}"
                )
                time.sleep(delay)

    def __exit__(self, *exc: object) -> None:
        self._last_end = time.monotonic()


class CallAheadSession(requests.Session):
    """A session that can send the next request before it is asked to.

    The API has no paging: the tap asks for a window, writes its rows, then asks for
    the next one, so each answer's wait added to the run. Sent ahead, in a thread,
    while the rows are written, the call overlaps them; the answer's body is read
    only when the request is sent for real, so no second body is held meanwhile
    (it waits in the socket). The thread is a daemon: a run that fails meanwhile does
    not wait for the call to end.
    """

    def __init__(self) -> None:
        super().__init__()
        self._ahead: tuple[requests.PreparedRequest, Future[requests.Response]] | None = None

    def send_ahead(self, request: requests.PreparedRequest, pacer: Pacer, **kwargs: Any) -> None:
        """Send ``request`` now, paced, in a thread; ``kwargs`` as for ``send``."""
        answer: Future[requests.Response] = Future()

        def call() -> None:
            try:
                with pacer:
                    answer.set_result(requests.Session.send(self, request, stream=True, **kwargs))
            except BaseException as exc:  # raised where the answer is taken
                answer.set_exception(exc)

        threading.Thread(target=call, daemon=True).start()
        self._ahead = (request, answer)

    def sent_ahead(self, request: requests.PreparedRequest) -> bool:
        """Whether ``request`` was sent ahead; waits for a call ahead to end, so
        that calls never overlap, and forgets one that was another request."""
        if self._ahead is None:
            return False
        ahead, answer = self._ahead
        answer.exception()  # waits
        if (ahead.method, ahead.url, ahead.body) == (request.method, request.url, request.body):
            return True
        self._ahead = None
        return False

    @override
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """The answer of the call sent ahead, if it was this request; else sent now."""
        if not self.sent_ahead(request):
            return super().send(request, **kwargs)
        assert self._ahead is not None
        answer, self._ahead = self._ahead[1], None
        response = answer.result()
        if not kwargs.get("stream"):
            _ = response.content  # read now, as ``requests`` does
        return response


class RediffMailStream(RetryRules, KeyedRecords, RESTStream[Window | None]):
    """Base for the stream that calls ``/logs/get``."""

    vendor = "the RediffMail API"
    url_setting = "api_url"

    http_method = "POST"
    payload_as_json = False
    path = ""

    @cached_property
    def pacer(self) -> Pacer:
        return Pacer(float(self.config["min_seconds_between_calls"]), self.logger)

    @property
    @override
    def url_base(self) -> str:
        return str(self.config["api_url"])

    @property
    @override
    def timeout(self) -> int:
        return int(self.config["request_timeout"])

    @property
    @override
    def requests_session(self) -> CallAheadSession:
        return self.call_ahead_session

    @cached_property
    def call_ahead_session(self) -> CallAheadSession:
        session = CallAheadSession()
        session.verify = verify_setting(bool(self.config["verify_tls"]))
        return session

    @override
    def prepare_request_payload(
        self, context: Context | None, next_page_token: Window | None
    ) -> dict[str, str]:
        assert next_page_token is not None
        return {
            "domain": self.config["domain"],
            "user_email": self.config["user_email"],
            "passwd": encode_password(self.config),
            "fromtime_epoch": str(next_page_token.start),
            "totime_epoch": str(next_page_token.end),
        }

    # -- calls: pacing, retries, errors ----------------------------------
    @override
    def request_decorator(
        self, func: Callable[..., requests.Response]
    ) -> Callable[..., requests.Response]:
        """Pace every attempt, retries included (a call sent ahead was paced when it
        was sent); the retry rules are the shared ones."""

        def paced(request: requests.PreparedRequest, context: Context | None) -> requests.Response:
            if self.requests_session.sent_ahead(request):
                return func(request, context)
            with self.pacer:
                return func(request, context)

        return super().request_decorator(paced)

    def call_ahead(self, window: Window) -> None:
        """Send the call for ``window`` now (see :class:`CallAheadSession`), built as the
        SDK builds each call of its loop, so that the SDK's own request matches it."""
        request = self.get_http_request(
            page=PageContext(stream_context=None, next_page_token=window)
        )
        prepared = self.build_prepared_request(
            method=request.method, url=request.url, params=request.encode_params(),
            headers=request.headers, data=request.data,
        )  # fmt: skip
        self.requests_session.send_ahead(
            self.authenticator(prepared),
            self.pacer,
            timeout=self.timeout,
            allow_redirects=self.allow_redirects,
        )

    @override
    def response_error_message(self, response: requests.Response) -> str:
        """The SDK default echoes the body; this names status and vendor message only."""
        return redact(
            f"RediffMail API answered HTTP {response.status_code}: "
            f"{_vendor_message(response, _json_or_none(response))}"
        )

    @override
    def validate_response(self, response: requests.Response) -> None:
        """Failures can come as HTTP errors or as HTTP 200 with a failure status, and
        bodies can be HTML or cut short; parse once and classify. A plain successful
        answer is only skimmed: its rows are parsed one at a time as they are read."""
        if response.status_code < HTTPStatus.BAD_REQUEST:
            skimmed = _skim_reports(response.content)
            if skimmed is not None:
                response.report_rows = skimmed  # type: ignore[attr-defined]  # read by reports_of
                return
        payload = _json_or_none(response)
        status_code = response.status_code
        if isinstance(payload, dict) and str(payload.get("status", "")).lower() != "success":
            body_code = payload.get("status_code")
            if isinstance(body_code, int | str) and str(body_code).isdigit():
                status_code = int(body_code) if int(body_code) >= 400 else 500
            elif status_code < 400:
                status_code = 500
        message = redact(_vendor_message(response, payload))

        if response.status_code == HTTPStatus.NOT_FOUND:  # the API's own failures are 400s
            raise FatalAPIError(f"{status_cause(response, 'api_url')} ({message})")
        if status_code == HTTPStatus.UNAUTHORIZED:
            raise FatalAPIError(
                f"RediffMail rejected the credentials of {self.config['user_email']} for "
                f"{self.config['domain']} (401: {message}): check user_email, domain and "
                "password (plain in 'password', or standard base64 in 'password_base64')"
            )
        if status_code == HTTPStatus.FORBIDDEN:
            raise FatalAPIError(
                f"RediffMail refused this machine's IP address (403: {message}): ask Rediff "
                "support to allow-list the public IP (or CIDR range) the tap runs from"
            )
        if status_code == HTTPStatus.TOO_MANY_REQUESTS:
            raise RetriableAPIError(f"RediffMail rate limit (429: {message})", response)
        if status_code >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableAPIError(f"RediffMail server error ({status_code}: {message})", response)
        if status_code >= HTTPStatus.BAD_REQUEST:
            raise FatalAPIError(f"RediffMail refused the request ({status_code}: {message})")
        if payload is None:
            kind = (
                "HTML"
                if b"<html" in response.content[:512].lower()
                else "invalid or truncated JSON"
            )
            raise RetriableAPIError(
                f"RediffMail answered {kind} ({len(response.content)} bytes) instead of JSON",
                response,
            )
        if not isinstance(payload, dict):
            raise FatalAPIError(
                f"RediffMail answered a JSON {type(payload).__name__}, not an object"
            )
        data = payload.get("data")
        if not isinstance(data, dict | type(None)):
            raise FatalAPIError(f"RediffMail 'data' is {type(data).__name__}, expected an object")
        for name in REPORTS:
            rows = (data or {}).get(name)
            if not isinstance(rows, list | type(None)):
                raise FatalAPIError(
                    f"RediffMail '{name}' is {type(rows).__name__}, expected a list"
                )
        reports = {name: (data or {}).get(name) or [] for name in REPORTS}
        response.report_rows = reports  # type: ignore[attr-defined]  # parsed once, read by reports_of

    @staticmethod
    def reports_of(response: requests.Response) -> dict[str, list[Any]]:
        """Both reports of a validated response (missing or null keys are empty), each
        row as :func:`read_row` takes it."""
        return response.report_rows  # type: ignore[attr-defined, no-any-return]  # see validate_response


class _SkimmedReports(msgspec.Struct):
    outbound_mail_delivery_report: list[msgspec.Raw] | None = None
    activity_report: list[msgspec.Raw] | None = None


class _SkimmedAnswer(msgspec.Struct):
    """A successful answer with each row left as its JSON text (a view of the body)."""

    status: Any = None
    data: _SkimmedReports | None = None


_skim_answer = msgspec.json.Decoder(_SkimmedAnswer).decode


def _skim_reports(body: bytes) -> dict[str, list[Any]] | None:
    """The rows of each report of a successful answer, unparsed, or None when the
    answer is anything else (a failure, another shape, JSON that msgspec refuses
    but Python reads): those are parsed whole, as Python reads them.

    Parsed whole, a day of rows as Python objects takes about 3 KB per row; as views
    of the body, a few dozen bytes, and :func:`read_row` parses each one with the
    same parser when it is read.
    """
    try:
        answer = _skim_answer(body)
    except msgspec.DecodeError:
        return None
    if str(answer.status).lower() != "success" or not _python_reads_utf8(body):
        return None
    data = answer.data
    return {name: (getattr(data, name) if data else None) or [] for name in REPORTS}


def _python_reads_utf8(body: bytes) -> bool:
    """Whether ``json.loads`` could decode the body (UTF-8, surrogates let through),
    checked in slices so that no second copy of a large body is made."""
    if body.isascii():
        return True
    decoder = codecs.getincrementaldecoder("utf-8")("surrogatepass")
    view = memoryview(body)
    step = 1 << 20
    try:
        for at in range(0, len(body), step):
            decoder.decode(view[at : at + step])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def read_row(row: Any) -> Any:
    """A report row as Python objects, parsed here
    (:func:`~mailtaps_common.parsing.parse_json`) if it was only skimmed."""
    return parse_json(row) if isinstance(row, msgspec.Raw) else row


def _json_or_none(response: requests.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def _vendor_message(response: requests.Response, payload: Any) -> str:
    if isinstance(payload, dict) and payload.get("message"):
        return str(payload["message"])[:200]
    return response.reason or "no message"
