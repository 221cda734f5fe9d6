"""Everything peculiar to the Mailprotector HTTP API: authentication, errors and
retries, the domain lists, and reading message logs losslessly in spite of the
5000-record cap, unstable ordering of equal timestamps and a time filter that is
not documented publicly (see the tap's README).
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from urllib.parse import parse_qs, urlsplit

import requests
from mailtaps_common.keys import KeyedRecords
from mailtaps_common.parsing import parse_json
from mailtaps_common.retry import RetryRules
from mailtaps_common.secrets import redact
from mailtaps_common.selection import WholeRecords
from mailtaps_common.text import StorableText, may_hold_unstorable
from mailtaps_common.tls import verify_setting
from requests.utils import resolve_proxies
from singer_sdk import RESTStream
from singer_sdk.authenticators import BearerTokenAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import PageNumberPaginator
from typing_extensions import override

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context
    from singer_sdk.streams.rest import HTTPRequest, PageContext

MS = 1  # window bounds and timestamps are integer epoch milliseconds
SECOND = 1000
# Parameter names of the time filter per style; bounds are half-open [start, end).
TIME_FILTER_PARAMS = {
    "operator": ("received_at[geq]", "received_at[lt]"),
    "start_end_date": ("start_date", "end_date"),
    "date_start_end": ("date_start", "date_end"),
}
AUTO_STYLE = "auto"  # time_filter_style: probe the server once per run


class AuthenticationError(FatalAPIError):
    """401: the key is missing or invalid. Nothing else can work; stop at once."""


class EntityAccessError(FatalAPIError):
    """403/404 on one domain, reseller or customer."""

    def __init__(self, entity: str, status: int, detail: str) -> None:
        self.entity = entity
        self.status = status
        reason = "the API key is not allowed on it" if status == 403 else "it does not exist"
        super().__init__(f"{entity}: HTTP {status}, {reason} ({detail})")


class LogReadError(FatalAPIError):
    """The log API answered in a way that would lose data if the tap went on."""


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds (floor), exact: no float rounding of ``.913`` to ``.912``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(milliseconds=1)


def parse_datetime(value: str) -> datetime:
    """ISO 8601; a value without offset is UTC."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(ms: int) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. ``2026-11-21T08:00:00.000Z``."""
    moment = datetime.fromtimestamp(ms // 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def body_of(response: requests.Response) -> t.Any:
    """The response's JSON (:func:`~mailtaps_common.parsing.parse_json`), parsed once
    per response (``response.json()`` parses again on every call). Raises
    ``ValueError`` when the body is not JSON."""
    try:
        return response.parsed_body  # type: ignore[attr-defined]
    except AttributeError:
        pass
    body = parse_json(response.content)
    response.parsed_body = body  # type: ignore[attr-defined]
    return body


def parse_received_at(value: t.Any) -> int:
    if not isinstance(value, str):
        raise ValueError(f"received_at is {type(value).__name__}, not a string")
    return to_ms(parse_datetime(value))


class HostProxiesSession(requests.Session):
    """A session that looks up the proxy settings of the environment (``HTTPS_PROXY``,
    ``NO_PROXY``, ...) once per scheme and host instead of for every request: requests
    scans the whole environment three times per request, about a tenth of a log
    read's time under Meltano's large environment. The environment does not change
    during a run, and the proxies depend on nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self._proxies_by_host: dict[tuple[str, str], dict[str, str]] = {}

    @override
    def send(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:
        if "proxies" not in kwargs:
            parts = urlsplit(request.url or "")
            host = (parts.scheme, parts.netloc)
            if host not in self._proxies_by_host:
                self._proxies_by_host[host] = resolve_proxies(request, self.proxies, self.trust_env)
            kwargs["proxies"] = self._proxies_by_host[host]
        return super().send(request, **kwargs)


class MailprotectorStream(RetryRules, KeyedRecords, StorableText, WholeRecords, RESTStream):
    """Base of the streams: authentication, timeouts, TLS, errors and retries (the
    shared rules of :mod:`mailtaps_common.retry`)."""

    vendor = "the Mailprotector API"
    # Values arrive as JSON types and the schema declares them as such, so the SDK's
    # per-value conformance pass changed nothing but cost about 45 % of the run time.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    @property
    @override
    def url_base(self) -> str:
        return str(self.config["base_url"]).rstrip("/")

    @property
    @override
    def authenticator(self) -> BearerTokenAuthenticator:
        return BearerTokenAuthenticator(token=self.config["api_key"])

    @property
    @override
    def http_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    @property
    @override
    def timeout(self) -> int:
        return int(self.config["request_timeout"])

    @cached_property
    @override
    def requests_session(self) -> requests.Session:
        session = HostProxiesSession()
        session.verify = verify_setting(self.config["verify_tls"])
        return session

    # -- errors -------------------------------------------------------------
    @override
    def response_error_message(self, response: requests.Response) -> str:
        """One line naming status, path and the server's message, never the key."""
        path = urlsplit(response.url).path
        try:
            body = body_of(response)
            detail = body.get("message") if isinstance(body, dict) else None
        except ValueError:
            detail = None
        if detail is None:
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            detail = f"{len(response.content)} bytes of {kind}"
        detail = redact(str(detail))[:200]
        return f"HTTP {response.status_code} {response.reason} for {path}: {detail}"

    def entity_of(self, response: requests.Response) -> str:
        """Which tenant entity a request was about, for 403/404 messages."""
        parts = urlsplit(response.url).path.split("/")
        for kind, label in (
            ("domains", "domain"),
            ("resellers", "reseller"),
            ("customers", "customer"),
        ):
            if kind in parts and parts.index(kind) + 1 < len(parts):
                return f"{label} {parts[parts.index(kind) + 1]}"
        return urlsplit(response.url).path

    @override
    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status == 401:
            raise AuthenticationError(
                f"{self.response_error_message(response)}; the API key was rejected, check api_key"
            )
        if status in (403, 404):
            raise EntityAccessError(
                self.entity_of(response), status, self.response_error_message(response)
            )
        if status == 429 or status >= 500:
            raise RetriableAPIError(self.response_error_message(response), response)
        if status >= 400:
            raise FatalAPIError(self.response_error_message(response))
        try:
            body_of(response)
        except ValueError:
            raise RetriableAPIError(
                f"{self.response_error_message(response)} (status {status} but the body "
                "is not complete JSON)",
                response,
            ) from None

    @override
    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        body = self.storable(body_of(response), suspect=may_hold_unstorable(response.content))
        rows = body if isinstance(body, list) else [body]
        for row in rows:
            if not isinstance(row, dict):
                raise FatalAPIError(
                    f"{self.response_error_message(response)}: expected JSON objects, "
                    f"got {type(row).__name__}"
                )
            yield row


class DomainListPaginator(PageNumberPaginator):
    """``page``/``per_page`` lists end with a short page; a single object ends at once."""

    def __init__(self, per_page: int) -> None:
        super().__init__(start_value=1)
        self.per_page = per_page

    @override
    def has_more(self, response: requests.Response) -> bool:
        body = body_of(response)
        return isinstance(body, list) and len(body) == self.per_page


# -- message logs ---------------------------------------------------------------


@dataclass
class LogPage:
    rows: list[tuple[int, dict[str, t.Any]]]  # (received_at ms, entry), checked
    total: int | None  # from X-Pagination, when present


@dataclass
class LogQuery:
    """One filtered, ascending query over ``[start, end)`` and the pages it returned."""

    domain_id: int
    start: int
    end: int
    pages: list[LogPage] = field(default_factory=list)
    refused: bool = False  # a page past the cap was answered with HTTP 422

    @property
    def rows(self) -> list[tuple[int, dict[str, t.Any]]]:
        return [row for page in self.pages for row in page.rows]

    @override
    def __str__(self) -> str:
        return f"domain {self.domain_id}, window [{iso(self.start)}, {iso(self.end)})"


@dataclass
class Window:
    """What a finished window yields: complete rows for ``[start, done_until)``."""

    rows: list[dict[str, t.Any]]
    done_until: int
    requests: int


class LogPaginator(PageNumberPaginator):
    """Pages of one :class:`LogQuery`: stop at a short page, at the total the server
    reported, or before the first page that would start past the cap (the rows of a
    query stopped early are a prefix; :meth:`MessageLogStream.is_complete` tells)."""

    def __init__(self, query: LogQuery, page_size: int, cap: int) -> None:
        super().__init__(start_value=1)
        self.query = query
        self.page_size = page_size
        self.cap = cap

    @override
    def has_more(self, response: requests.Response) -> bool:
        if self.query.refused or not self.query.pages:
            return False
        page = self.query.pages[-1]
        read = self.current_value * self.page_size
        return (
            len(page.rows) >= self.page_size
            and read < self.cap
            and (page.total is None or read < page.total)
        )


class MessageLogStream(MailprotectorStream):
    """Reads ``/domains/{id}/logs`` in closed ascending windows without losing entries.

    A window is read page by page (largest page size, ``received_at`` ascending).
    If the cap cuts it short (full pages up to the cap, a refused or empty page after
    a full one), the rows before the last timestamp seen are complete, because the
    order is ascending: the window is split there and the rest is read as the next
    window. Entries sharing one timestamp may come back in a different order on
    every page; that shows as an id served twice (and, by count, as many missing),
    so such a timestamp is re-read on its own until every id is in.
    """

    path = "/api/v1/domains/{domain_id}/logs"
    replication_key = "received_at"

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._query: LogQuery | None = None
        configured = self.config.get("time_filter_style", AUTO_STYLE)
        self._style: str | None = None if configured == AUTO_STYLE else configured

    @property
    def time_filter_style(self) -> str:
        """The style in use: configured, found by :meth:`resolve_time_filter_style`, or
        ``operator`` until then (a wrong style still fails: rows outside the window)."""
        return self._style or "operator"

    def resolve_time_filter_style(self, context: Context) -> None:
        """With ``auto``, find the style the server applies, once per run, on the first
        domain that has an entry to probe with."""
        if self._style is not None:
            return
        self._style = self.detect_time_filter_style(lambda p: self.send_log_query(context, p))
        if self._style is None:
            self.log("domain %s: no entry to probe the time filter with", context["domain_id"])
        else:
            self.log("time_filter_style auto: the server applies %r", self._style)

    def send_log_query(self, context: Context, params: dict[str, t.Any]) -> requests.Response:
        """One log request outside the windows, with the stream's retries."""
        prepared = self.build_prepared_request(
            method="GET", url=self.get_url(context), params=params, headers=self.http_headers
        )
        return self.request_decorator(self._request)(prepared, context)

    def detect_time_filter_style(
        self, send: t.Callable[[dict[str, t.Any]], requests.Response]
    ) -> str | None:
        """The style whose filter the server applies: the newest entry is asked for with
        each style's bounds around its millisecond, and only the style that answers with
        that entry and nothing outside applies. ``None`` when the domain has no entry."""
        order = {"sort_field": "received_at", "sort_direction": "desc", "page": 1}
        newest = send({**order, "page_size": 1}).json()
        if not isinstance(newest, list) or not newest or not isinstance(newest[0], dict):
            return None
        at = parse_received_at(newest[0].get("received_at"))
        for style, (start_param, end_param) in TIME_FILTER_PARAMS.items():
            window = {start_param: iso(at), end_param: iso(at + MS)}
            rows = send({**order, "page_size": self.config["page_size"], **window}).json()
            if not isinstance(rows, list):
                continue
            inside = [r for r in rows if isinstance(r, dict) and _received_ms(r) == at]
            if len(inside) == len(rows) and newest[0].get("id") in {r.get("id") for r in rows}:
                return style
        raise LogReadError(
            "none of the time filter styles (" + ", ".join(TIME_FILTER_PARAMS) + ") is "
            "applied by the server: a query for one millisecond returned other entries. "
            "Stopping instead of reading everything."
        )

    @property
    @override
    def is_sorted(self) -> bool:
        """Rows are emitted in ascending ``received_at``, so any STATE the SDK writes
        mid-window (every 10,000 records) is a safe resume point."""
        return True

    @property
    @override
    def check_sorted(self) -> bool:
        """Off: each run re-reads an overlap that starts before the bookmark."""
        return False

    # -- requests -------------------------------------------------------------
    @override
    def get_new_paginator(self) -> LogPaginator:
        assert self._query is not None
        return LogPaginator(self._query, self.config["page_size"], self.config["result_cap"])

    @override
    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        request = super().get_http_request(page=page)
        assert self._query is not None
        start_param, end_param = TIME_FILTER_PARAMS[self.time_filter_style]
        request.params = {
            "page": page.next_page_token,
            "page_size": self.config["page_size"],
            "sort_field": "received_at",
            "sort_direction": "asc",
            start_param: iso(self._query.start),
            end_param: iso(self._query.end),
        }
        return request

    @override
    def validate_response(self, response: requests.Response) -> None:
        page = int(parse_qs(urlsplit(response.url).query).get("page", ["1"])[0])
        if response.status_code == 422 and page > 1 and self._query is not None:
            self._query.refused = True  # past the cap: the rows so far are a prefix
            return
        super().validate_response(response)

    @override
    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        query = self._query
        assert query is not None
        if query.refused:
            return
        body = self.storable(body_of(response), suspect=may_hold_unstorable(response.content))
        if not isinstance(body, list):
            raise LogReadError(
                f"{self.response_error_message(response)}: expected a JSON array of log "
                f"entries, got {type(body).__name__}"
            )
        pagination = _pagination(response)
        served_size = pagination.get("page_size")
        if isinstance(served_size, int) and served_size < self.config["page_size"]:
            raise LogReadError(
                f"{query}: the server serves pages of {served_size} entries, not the "
                f"configured page_size {self.config['page_size']}; a short page would be "
                f"taken for the end of the data. Set page_size to {served_size}."
            )
        total = pagination.get("total")
        page = LogPage(self.checked_rows(query, body), total if isinstance(total, int) else None)
        query.pages.append(page)
        yield from body

    def run_query(self, context: Context, start: int, end: int) -> LogQuery:
        self._query = LogQuery(context["domain_id"], start, end)
        try:
            for _ in self.request_records(context):
                pass
            return self._query
        finally:
            self._query = None

    # -- windows --------------------------------------------------------------
    def checked_rows(
        self, query: LogQuery, body: list[t.Any]
    ) -> list[tuple[int, dict[str, t.Any]]]:
        """``(received_at ms, row)`` pairs of one page; fail at once if the server
        ignored the time filter or the ascending sort, which lossless reading needs."""
        out: list[tuple[int, dict[str, t.Any]]] = []
        previous = next((p.rows[-1][0] for p in reversed(query.pages) if p.rows), query.start)
        for row in body:
            try:
                if not isinstance(row, dict) or not isinstance(row.get("id"), str | int):
                    raise ValueError("not an object with an id")
                at = parse_received_at(row.get("received_at"))
            except ValueError as exc:
                raise LogReadError(f"{query}: unreadable log entry ({exc})") from None
            if not query.start <= at < query.end:
                raise LogReadError(
                    f"{query}: the server returned an entry received at {iso(at)}, outside "
                    "the window; it does not apply the time filter (time_filter_style="
                    f"{self.time_filter_style!r}). Stopping instead of reading "
                    "everything."
                )
            if at < previous:
                raise LogReadError(
                    f"{query}: entries are not in ascending received_at order; the server "
                    "ignored sort_field=received_at"
                )
            previous = at
            out.append((at, row))
        return out

    def is_complete(self, query: LogQuery) -> bool:
        """Whether the query provably returned every entry of its range: it ended on a
        short page. A full last page, an empty or refused page after full ones, or a
        stop at the reported total may all be a cap (the total itself may be capped,
        at a cap lower than configured), so they are not taken as proof."""
        if query.refused or not query.pages:
            return not query.refused
        last = query.pages[-1].rows
        page_size = int(self.config["page_size"])
        if len(query.pages) == 1:
            return len(last) < page_size
        return 0 < len(last) < page_size

    def read_window(self, context: Context, start: int, end: int) -> Window:
        query = self.run_query(context, start, end)
        requests_used = len(query.pages) + query.refused
        rows = query.rows
        done_until = end
        if not self.is_complete(query):
            last = rows[-1][0]
            if last <= start:
                raise LogReadError(
                    f"domain {context['domain_id']}: at least {len(rows)} entries share "
                    f"received_at {iso(start)}, more than the {self.config['result_cap']} "
                    "one query can return; this window cannot be split further, so those "
                    "entries cannot all be read. Stopping with the bookmark before them."
                )
            done_until = last  # split: [start, last) is complete, [last, end) comes next
            rows = [(at, row) for at, row in rows if at < last]

        by_id: dict[t.Any, tuple[int, dict[str, t.Any]]] = {}
        unstable: set[int] = set()
        for at, row in rows:
            if row["id"] in by_id:
                unstable.add(at)
            by_id[row["id"]] = (at, row)
        for at in sorted(unstable):
            group, used = self.read_tie_group(context, at)
            requests_used += used
            by_id = {key: value for key, value in by_id.items() if value[0] != at}
            by_id.update({row["id"]: (at, row) for row in group})
        ordered = sorted(by_id.values(), key=lambda item: item[0])
        return Window([row for _, row in ordered], done_until, requests_used)

    def read_tie_group(self, context: Context, at: int) -> tuple[list[dict[str, t.Any]], int]:
        """Every entry received at ``at`` (one millisecond), re-read until the ids
        collected reach the count served in one pass."""
        passes = self.config["tie_reread_passes"]
        found: dict[t.Any, dict[str, t.Any]] = {}
        requests_used = 0
        served = 0
        for attempt in range(1, passes + 1):
            query = self.run_query(context, at, at + MS)
            requests_used += len(query.pages) + query.refused
            rows = query.rows
            if not self.is_complete(query):
                raise LogReadError(
                    f"domain {context['domain_id']}: {len(rows)} or more entries share "
                    f"received_at {iso(at)}, more than one query can return; this window "
                    "cannot be split further. Stopping with the bookmark before them."
                )
            served = max(served, len(rows))
            found.update((row["id"], row) for _, row in rows)
            if len(found) >= served:
                if attempt > 1:
                    self.log(
                        "domain %s: %d entries at %s came back in unstable order; "
                        "all collected after %d reads",
                        context["domain_id"],
                        served,
                        iso(at),
                        attempt,
                    )
                return list(found.values()), requests_used
        raise LogReadError(
            f"domain {context['domain_id']}: {served} entries share received_at {iso(at)} "
            f"and come back in a different order on every page; only {len(found)} distinct "
            f"ids after {passes} reads (tie_reread_passes). Stopping with the bookmark "
            "before them."
        )


def _received_ms(row: dict[str, t.Any]) -> int | None:
    try:
        return parse_received_at(row.get("received_at"))
    except ValueError:
        return None


def _pagination(response: requests.Response) -> dict[str, t.Any]:
    """The ``X-Pagination`` header's JSON object; empty when absent or unreadable."""
    try:
        value = json.loads(response.headers.get("X-Pagination") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
