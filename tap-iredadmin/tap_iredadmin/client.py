"""Everything peculiar to the iRedAdmin-Pro RESTful API (see the tap's README).

One :class:`IRedAdminClient` per run, owned by the tap and shared by all streams:
it logs in once, keeps the session cookie, logs in again once when the session
is lost, unwraps the ``_success`` envelope (failures come with HTTP 200), retries
transient failures a bounded number of times, and sends per-item calls ahead,
at most ``max_workers`` out at once. Its calls go through one :class:`Transport`.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from http.client import HTTPException
from itertools import islice
from typing import Any, TypeVar, cast
from urllib.parse import quote, urlencode

import backoff
import requests
import urllib3
from mailtaps_common.parsing import parse_json
from mailtaps_common.retry import (
    EXHAUSTED_HINT,
    RetryPolicy,
    attempts,
    location,
    transport_cause,
    unreachable,
)
from mailtaps_common.secrets import redact, shown_url
from mailtaps_common.text import may_hold_unstorable
from mailtaps_common.tls import untrusted_certificate, verify_setting
from requests.adapters import HTTPAdapter
from singer_sdk.exceptions import FatalAPIError
from typing_extensions import override
from urllib3.connection import HTTPConnection
from urllib3.util.proxy import connection_requires_http_tunnel

from . import variants
from .variants import ERAS, Variant

T = TypeVar("T")
Row = TypeVar("Row")
R = TypeVar("R")

SESSION_LOST = "LOGIN_REQUIRED"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
API_OFF_HINT = (
    "the RESTful API is switched off (ENABLE_RESTFUL_API = True in iRedAdmin-Pro's "
    "settings.py) or base_url is wrong"
)
REASON_HINTS = {
    "NOT_AUTHORIZED": (
        "this client's IP address is not allowed to use the API "
        "(RESTRICT_API_ACCESS / RESTFUL_API_CLIENTS in iRedAdmin-Pro's settings.py)"
    ),
    "INVALID_CREDENTIALS": "wrong username or password",
    "INVALID_USERNAME": "username must be the admin's full email address",
    "EMPTY_PASSWORD": "the password is empty",
    "PERMISSION_DENIED": "this admin may not read it",
}
# The spam-policy endpoint per scope; the other policy endpoints take "global",
# a domain or an email address in the same place.
SPAM_PATHS = {
    "global": "/api/spampolicy/global",
    "domain": "/api/spampolicy/domain/{account}",
    "user": "/api/spampolicy/user/{account}",
}


class IRedAdminError(FatalAPIError):
    """A failure the tap cannot work around; the message names endpoint and cause."""


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer, read whole. ``status_code``, ``headers`` and ``url`` are named
    as on a ``requests.Response``, which the shared retry rules read."""

    status_code: int
    headers: urllib3.HTTPHeaderDict
    content: bytes
    url: str


@dataclass(eq=False, slots=True)
class SentCall:
    """A GET sent ahead: the connection its answer will come on (None once read, or
    when it could not be sent: the call is then made in turn), the session cookie it
    went with, whether it holds a place (:class:`Places`), and its answer when read
    early."""

    path: str
    cookie: str
    connection: HTTPConnection | None
    holds_place: bool
    answer: Answer | None = None


class CallsOut(threading.local):
    """This thread's calls sent ahead whose answers are not read yet, oldest first,
    and its rank for places (:class:`Places`): the position of the stream it reads."""

    def __init__(self) -> None:
        self.sent: deque[SentCall] = deque()
        self.rank = 0


class Places:
    """``count`` places for calls out at once, shared by the threads reading streams.

    A freed place goes to the waiting thread of the earliest stream, and a thread
    takes a free place only when no earlier stream waits. With a plain semaphore the
    thread reading 1,000 alias details took back every place it freed, and the pages
    of mailboxes the main thread was waiting for came one per round trip (20 ms per
    call: x6.2 instead of x6.9 faster than one call at a time).
    """

    def __init__(self, count: int) -> None:
        self._free = count
        self._lock = threading.Lock()
        self._waiting: list[tuple[int, int, threading.Lock]] = []  # a heap: rank, arrival
        self._arrivals = itertools.count()

    def take(self, rank: int, *, wait: bool) -> bool:
        """A place, or False when ``wait`` is off and none is free for ``rank``."""
        with self._lock:
            if self._free and not (self._waiting and self._waiting[0][0] <= rank):
                self._free -= 1
                return True
            if not wait:
                return False
            turn = threading.Lock()
            turn.acquire()
            heapq.heappush(self._waiting, (rank, next(self._arrivals), turn))
        turn.acquire()  # released by give(), which hands this thread the place
        return True

    def give(self) -> None:
        """Free a place: to the first waiting thread, if any."""
        with self._lock:
            if self._waiting:
                heapq.heappop(self._waiting)[2].release()
            else:
                self._free += 1


class Transport:
    """Calls to the server straight through the urllib3 connection pool that
    ``requests`` would use, one at a time (:meth:`call`) or sent ahead and read later
    (:meth:`send`, :meth:`receive`).

    ``requests.Session.request`` merges the session's headers, cookies, hooks and
    environment again on every call: about 0.6 ms of CPU per call here, of which the
    pool itself takes 0.2 ms. With no latency, the 1,457 calls of a 51k-record run
    spent a quarter of the tap's CPU there. What ``requests`` decides is still
    decided by it, once: the environment's proxy for ``base_url`` (``no_proxy``
    included), TLS verification and the CA bundle, the default headers, and
    credentials in the URL. There is no cookie jar: the client sends the session
    cookie itself. Transport failures of :meth:`call` raise urllib3's ``HTTPError``.

    Sending ahead is what lets one thread keep several calls out at once (see
    :meth:`IRedAdminClient.get_each`). urllib3 has no public way to do it: it uses the
    pool's ``_get_conn`` and ``_put_conn`` (in urllib3 since 1.x), and only
    connections that :meth:`call` has opened, so opening one (TLS, the proxy's
    CONNECT, their errors) stays urllib3's own. Anything that goes wrong in between
    is left to :meth:`call`, which makes the call again.
    """

    def __init__(self, base_url: str, *, verify_tls: bool, pool_size: int) -> None:
        verify = verify_setting(verify_tls)
        headers = {**requests.utils.default_headers(), "Accept": "application/json"}
        root = requests.Request("GET", base_url + "/", headers=headers).prepare()
        assert root.url is not None  # prepare() sets it
        proxies = requests.utils.get_environ_proxies(root.url)  # quoted: a "]" in a password
        # One connection per call out at once, one for a login meanwhile, and one for
        # the retry that holds the rate-limit pause (it goes without a place).
        self._adapter = HTTPAdapter(pool_maxsize=pool_size + 2)  # owns the pool's manager
        self._pool = self._adapter.get_connection_with_tls_context(root, verify, proxies=proxies)
        self._adapter.cert_verify(self._pool, root.url, verify, None)  # stripped, as requests
        self._target = self._adapter.request_url(root, proxies).rstrip("/")
        self._headers = {
            name: value if isinstance(value, str) else value.decode("latin-1")
            for name, value in root.headers.items()
        }
        # What urlopen adds to each call through a proxy that is not a CONNECT tunnel.
        pool = self._pool
        forwarded = pool.proxy is not None and not connection_requires_http_tunnel(
            pool.proxy, pool.proxy_config, pool.scheme
        )
        self._sent_headers = {**self._headers, **(pool.proxy_headers if forwarded else {})}
        self.base_url = shown_url(root.url).rstrip("/")  # for messages: no user and password

    def call(
        self, method: str, path: str, *, headers: dict[str, str], body: bytes | None, timeout: float
    ) -> Answer:
        """``path`` (already quoted) under ``base_url``; no redirect followed."""
        response = self._pool.urlopen(
            method, self._target + path, body=body, headers={**self._headers, **headers},
            redirect=False, assert_same_host=False, retries=False, timeout=timeout,
        )  # fmt: skip
        return Answer(response.status, response.headers, response.data, self.base_url + path)

    def send(self, path: str, *, headers: dict[str, str], timeout: float) -> HTTPConnection | None:
        """A GET of ``path`` sent on an open connection of the pool, its answer left to
        :meth:`receive`; None when no open connection is free or sending failed (the
        call is then to be made with :meth:`call`)."""
        connection = cast(HTTPConnection, self._pool._get_conn())
        if connection.is_closed:  # new, or dropped by the server: call() opens it
            self._pool._put_conn(connection)
            return None
        try:
            connection.timeout = timeout
            headers = {**self._sent_headers, **headers}
            connection.request("GET", self._target + path, headers=headers)
        except (OSError, HTTPException):
            self.discard(connection)
            return None
        return connection

    def receive(self, connection: HTTPConnection, path: str) -> Answer | None:
        """The answer to what :meth:`send` sent on ``connection``; None when it could not
        be read (the call is then to be made with :meth:`call`)."""
        try:
            response = connection.getresponse()
            content = response.data
        except (OSError, HTTPException, urllib3.exceptions.HTTPError):
            self.discard(connection)
            return None
        self._pool._put_conn(connection)
        return Answer(response.status, response.headers, content, self.base_url + path)

    def discard(self, connection: HTTPConnection) -> None:
        """Close a connection whose answer will not be read; its slot in the pool is free."""
        connection.close()
        self._pool._put_conn(None)


class TransientCallError(Exception):
    """One failed attempt worth retrying. ``response`` (when there was one) carries
    the status and any ``Retry-After``; ``url`` is what was called."""

    def __init__(self, cause: str, *, response: Answer | None = None, url: str) -> None:
        super().__init__(cause)
        self.response = response
        self.url = url


class RateLimitPause:
    """Holds every thread's calls back while one of them waits out a 429.

    The API limits the caller, not a thread: when one call gets a 429, the others
    must not keep using the allowance, or the waiting call can lose the race on
    every retry and fail with its retries used up (seen under CPU load). The thread
    that got the 429 holds the pause through its wait and retry; the others wait
    for it before their next call. The SDK makes one call at a time, so nothing of
    it does this.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()

    def held(self) -> bool:
        """Whether this thread holds the pause."""
        return getattr(self._local, "held", False)

    def hold(self) -> None:
        if not self.held():
            self._lock.acquire()
            self._local.held = True

    def release(self) -> None:
        if self.held():
            self._local.held = False
            self._lock.release()

    def wait_turn(self) -> None:
        """Return at once, or when the thread holding the pause is done."""
        if not self.held():
            with self._lock:
                pass


class ApiError(IRedAdminError):
    """An answer with ``_success: false``."""

    def __init__(self, endpoint: str, reason: str) -> None:
        self.endpoint = endpoint
        self.reason = reason
        hint = REASON_HINTS.get(reason)
        super().__init__(f"{endpoint} failed: {reason}" + (f" ({hint})" if hint else ""))


class NotFoundError(IRedAdminError):
    """HTTP 404 on an endpoint (after a login: one this release does not have)."""


def account_path(account: str) -> str:
    """A domain or an email address as a URL path segment."""
    return quote(account, safe="@")


class ReadAhead(Iterable[Row]):
    """A stream's rows read by a thread before the stream's turn comes.

    The SDK syncs one stream after the other: 50,000 mailboxes take the one core
    (typing and writing them) while no call is out, then 1,000 alias details keep
    the tap waiting on the server while the core idles. With more than one call out
    allowed, the streams after the one being written are read ahead, so their calls
    are out meanwhile (20 ms per call: x5.6 -> x6.9 faster than one call at a time,
    measured with a worker pool). At most
    ``READ_AHEAD_ROWS`` rows wait per stream, handed over in chunks (a hand-over per
    row would cost more than it saves). A failure is raised where the rows are
    taken, after the rows read before it, in the stream they belong to. The thread is
    a daemon: a run that fails meanwhile does not wait for it.
    """

    CHUNK_ROWS = 250
    READ_AHEAD_ROWS = 10_000

    def __init__(self, rows: Iterable[Row], settle: Callable[[], None]) -> None:
        """``settle``: called in the thread before it waits for room (the client's
        :meth:`~IRedAdminClient.settle`: a thread never waits holding places)."""
        self._chunks: queue.Queue[list[Row] | BaseException | None] = queue.Queue(
            self.READ_AHEAD_ROWS // self.CHUNK_ROWS
        )
        self._settle = settle
        threading.Thread(target=self._read, args=(rows,), daemon=True).start()

    def _read(self, rows: Iterable[Row]) -> None:
        chunk: list[Row] = []
        try:
            for row in rows:
                chunk.append(row)
                if len(chunk) == self.CHUNK_ROWS:
                    self._hand_over(chunk)
                    chunk = []
        except BaseException as exc:  # raised where the rows are taken, after those read
            self._hand_over(chunk)
            self._hand_over(exc)
        else:
            self._hand_over(chunk)
            self._hand_over(None)

    def _hand_over(self, item: list[Row] | BaseException | None) -> None:
        try:
            self._chunks.put_nowait(item)
        except queue.Full:
            self._settle()
            self._chunks.put(item)

    @override
    def __iter__(self) -> Iterator[Row]:
        while (chunk := self._chunks.get()) is not None:
            if isinstance(chunk, BaseException):
                raise chunk
            yield from chunk


class IRedAdminClient:
    """The run's logged-in session with iRedAdmin-Pro.

    Kept outside the SDK's ``RESTStream`` because the SDK has neither piece: one
    cookie login shared by every stream (and re-established once when lost), and
    per-item calls kept out several at once (one call per mailbox would otherwise
    wait for the one before it). Retries follow the shared rules through the same
    ``backoff`` library the SDK uses.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        logger: logging.Logger,
        request_timeout: float = 60,
        verify_tls: bool = True,
        retry: RetryPolicy,
        max_workers: int = 8,
        backend: str = "auto",
        api_era: str = "auto",
        domains: list[str] | None = None,
    ) -> None:
        self.username = username
        self._password = password
        self.logger = logger
        self.timeout = request_timeout
        self.retry = retry
        self._rate_limit = RateLimitPause()
        self.max_workers = max(1, max_workers)
        self._transport = Transport(
            base_url.rstrip("/"), verify_tls=verify_tls, pool_size=self.max_workers
        )
        self.base_url = self._transport.base_url  # for messages: no user and password
        # Every answer sets a cookie, and one to a call without a valid session a new
        # anonymous one: only the cookie of the last login is sent.
        self._cookie: str | None = None
        self._login_lock = threading.Lock()
        # Places for calls out at once, shared by the streams read ahead (get_each).
        self._places = Places(self.max_workers)
        self._calls_out = CallsOut()
        self._domains: dict[str, dict[str, Any]] | None = None
        # Set once any answer may hold NUL or a lone surrogate: from then on the
        # streams check their rows (mailtaps_common.text).
        self.unstorable_seen = False
        self._forced_backend = None if backend == "auto" else backend
        self._forced_era = None if api_era == "auto" else api_era
        self._configured_domains = list(domains or [])
        self._old_envelope = False
        self._variant: Variant | None = None
        self._variant_lock = threading.RLock()
        self._listed_domains: dict[str, dict[str, Any]] | None = None
        if not verify_tls:
            logger.warning(
                "verify_tls is off: the TLS certificate of %s is not checked", self.base_url
            )
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    @classmethod
    def from_config(cls, config: dict[str, Any], logger: logging.Logger) -> IRedAdminClient:
        return cls(
            config["base_url"],
            config["username"],
            config["password"],
            logger=logger,
            # Defaults come from the tap's config schema. JSON numbers in the config
            # may arrive as Decimal.
            request_timeout=float(config["request_timeout"]),
            verify_tls=config["verify_tls"],
            retry=RetryPolicy.from_config(config),
            max_workers=int(config["max_workers"]),
            backend=config.get("backend", "auto"),
            api_era=config.get("api_era", "auto"),
            domains=config.get("domains"),
        )

    # -- session -------------------------------------------------------------
    def login(self) -> None:
        """``POST /api/login``; the cookie it sets is sent with every later call."""
        response, body = self._request("POST", "/api/login", cookie=None)
        target = f"login to {self.base_url} as {self.username}"
        if response.status_code == 404:
            raise IRedAdminError(f"{target} failed: HTTP 404: {API_OFF_HINT}")
        success = variants.success_of(body)
        if success is None:
            raise IRedAdminError(
                f"{target} failed: HTTP {response.status_code} without iRedAdmin's JSON envelope"
            )
        self._old_envelope = variants.is_old_envelope(body)
        if not success:
            reason = _reason(body)
            hint = REASON_HINTS.get(reason)
            raise IRedAdminError(f"{target} failed: {reason}" + (f" ({hint})" if hint else ""))
        cookies = [
            pair
            for header in response.headers.getlist("Set-Cookie")
            if (pair := header.split(";", 1)[0].strip()).startswith("iRedAdmin")
            and pair.partition("=")[2]  # a cookie being deleted comes without a value
        ]
        if not cookies:
            raise IRedAdminError(f"{target} succeeded but set no iRedAdmin session cookie")
        self._cookie = cookies[-1]  # as a browser would keep it

    def _session_cookie(self) -> str:
        with self._login_lock:
            if self._cookie is None:
                self.login()
            assert self._cookie is not None  # login() sets it or raises
            return self._cookie

    def _login_again(self, lost_cookie: str) -> None:
        """Log in again, unless another thread already did since ``lost_cookie``."""
        with self._login_lock:
            if self._cookie == lost_cookie:
                self.logger.info("iRedAdmin session lost; logging in again")
                self._cookie = None
                self.login()

    def get(self, path: str, sent: SentCall | None = None) -> Any:
        """The payload of a GET: ``_data`` (``setting`` for throttles). ``sent``: the
        call was already sent (:meth:`get_each`), its answer is the first attempt's.

        A lost session (``LOGIN_REQUIRED`` or a 303 to the login page) is
        re-established once and the call repeated; losing it again fails.
        """
        endpoint = f"GET {path}"
        cookie = sent.cookie if sent else self._session_cookie()
        response, body = self._request("GET", path, cookie=cookie, sent=sent)
        if _lost_session(response, body) is not None:
            self._login_again(cookie)
            response, body = self._request("GET", path, cookie=self._session_cookie(), sent=sent)
            lost = _lost_session(response, body)
            if lost is not None:
                raise IRedAdminError(
                    f"{endpoint}: the session was lost again right after logging in ({lost})"
                )
        return self._payload(endpoint, response, body)

    def _payload(self, endpoint: str, response: Answer, body: Any) -> Any:
        if response.status_code == 404:
            raise NotFoundError(f"{endpoint}: HTTP 404: {API_OFF_HINT}")
        if response.status_code != 200:
            raise IRedAdminError(f"{endpoint}: unexpected HTTP {response.status_code}")
        success = variants.success_of(body)
        if success is None:
            raise IRedAdminError(f"{endpoint}: the answer is not iRedAdmin's JSON envelope")
        if not success:
            raise ApiError(endpoint, _reason(body))
        for key in variants.DATA_KEYS:
            if key in body:
                return body[key]
        raise IRedAdminError(f"{endpoint}: the answer has neither _data nor setting")

    def _request(
        self, method: str, path: str, *, cookie: str | None, sent: SentCall | None = None
    ) -> tuple[Answer, Any]:
        """One call, retried by the shared rules (``backoff`` with
        :class:`~mailtaps_common.retry.RetryPolicy`, as in the SDK's streams) after
        transient failures: connection errors, timeouts, 429/5xx, and bodies that
        are not JSON (HTML error pages, truncated answers). Returns the response and
        its parsed body (``None`` for redirects and 404s)."""
        headers = {"Cookie": cookie} if cookie else {}
        form = None
        if method == "POST":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            form = urlencode({"username": self.username, "password": self._password}).encode()
        retried = backoff.on_exception(
            self.retry.wait_generator,
            TransientCallError,
            max_tries=self.retry.max_tries,
            jitter=self.retry.jitter,
            on_backoff=self._before_retry,
            logger=None,
        )(self._attempt)
        try:
            return retried(method, path, form, headers, sent)
        except TransientCallError as exc:
            if exc.response is None:  # no answer at all: the address or the network
                raise IRedAdminError(
                    unreachable(
                        "iRedAdmin-Pro", location(exc), self.retry.max_tries, str(exc), "base_url"
                    )
                ) from None
            raise IRedAdminError(
                f"{method} {path} failed after {attempts(self.retry.max_tries)}: {exc}; "
                f"{EXHAUSTED_HINT}"
            ) from None
        finally:
            self._rate_limit.release()

    def _attempt(
        self,
        method: str,
        path: str,
        form: bytes | None,
        headers: dict[str, str],
        sent: SentCall | None,
    ) -> tuple[Answer, Any]:
        """One attempt: the answer to ``sent`` the first time (when it could be read),
        else a call made now, in a place when the call is one of get_each's."""
        response = None
        if sent is not None:
            response, sent.answer = _sent_answer(self._transport, sent), None
        try:
            if response is None:
                self._rate_limit.wait_turn()
                # The call holding the pause goes without a place: the threads waiting
                # for it may hold them all.
                if sent is not None and not sent.holds_place and not self._rate_limit.held():
                    self._take_place()
                    sent.holds_place = True
                response = self._transport.call(
                    method, path, headers=headers, body=form, timeout=self.timeout
                )
        except urllib3.exceptions.HTTPError as exc:
            if untrusted := untrusted_certificate(self.base_url, exc):  # not transient
                raise IRedAdminError(f"{method} {path}: {untrusted}") from None
            raise TransientCallError(transport_cause(exc), url=self.base_url + path) from None
        cause, body = _check_transport(response)
        if cause is not None:
            raise TransientCallError(cause, response=response, url=response.url)
        if may_hold_unstorable(response.content):
            self.unstorable_seen = True
        return response, body

    def _before_retry(self, details: Any) -> None:
        exception = details.get("exception")
        response = getattr(exception, "response", None)
        if response is not None and response.status_code == 429:
            self._rate_limit.hold()
        else:
            self._rate_limit.release()
        self.logger.warning("%s", self.retry.describe(details))

    # -- concurrency ---------------------------------------------------------
    def get_each(self, paths: Iterable[str], *, tolerate: Collection[str] = ()) -> Iterator[Any]:
        """:meth:`get` of each path, in order, with calls sent ahead: at most
        ``max_workers`` out at once, among all the streams read ahead.

        The thread that reads the answers sends the calls too (:meth:`Transport.send`).
        A pool of worker threads made them before: at no latency each call on a worker
        handed the GIL over several times (44 futex calls a call), and cost twice the
        CPU of a call made in turn; sent ahead, a call costs less than one made in turn,
        and at 20 ms per call as many are out. An ``ApiError`` whose reason is in
        ``tolerate`` comes in place of its payload.
        """
        out: deque[SentCall] = deque()
        try:
            for path in paths:  # may be read by calls of their own: those share the places
                if len(out) >= self.max_workers:
                    yield self._answer(out.popleft(), tolerate)
                out.append(self._send(path))
            while out:
                yield self._answer(out.popleft(), tolerate)
        finally:
            for sent in out:  # the consumer stopped early, or a call failed
                if sent.connection is not None:
                    self._calls_out.sent.remove(sent)
                    self._transport.discard(sent.connection)
                if sent.holds_place:
                    self._places.give()

    def _send(self, path: str) -> SentCall:
        self._rate_limit.wait_turn()
        cookie = self._session_cookie()
        self._take_place()
        connection = self._transport.send(path, headers={"Cookie": cookie}, timeout=self.timeout)
        sent = SentCall(path, cookie, connection, holds_place=connection is not None)
        if sent.holds_place:
            self._calls_out.sent.append(sent)
        else:
            self._places.give()
        return sent

    def _take_place(self) -> None:
        """A place for one call out. While none is free, this thread's oldest call out
        is read and kept for the stream that sent it: a thread never waits for a place
        while it holds one (two streams of one thread, one listing what the other
        reads in detail, would each wait for the other)."""
        calls_out = self._calls_out.sent
        while not self._places.take(self._calls_out.rank, wait=not calls_out):
            self._read_early(calls_out.popleft())

    def ranked(self, rank: int, rows: Iterable[Row]) -> Iterator[Row]:
        """``rows``, read by a thread whose calls get places after those of lower
        ``rank`` (:class:`Places`)."""
        self._calls_out.rank = rank
        yield from rows

    def settle(self) -> None:
        """Read the answers to every call this thread has out, kept for the streams
        that sent them, so that their places are free while the thread waits."""
        calls_out = self._calls_out.sent
        while calls_out:
            self._read_early(calls_out.popleft())

    def _read_early(self, sent: SentCall) -> None:
        _sent_answer(self._transport, sent)
        sent.holds_place = False
        self._places.give()

    def _answer(self, sent: SentCall, tolerate: Collection[str]) -> Any:
        """The payload of a call sent ahead. Its place is held until it is done: a
        retry or a call made in turn takes one (:meth:`_attempt`)."""
        if sent.connection is not None:  # still out
            self._calls_out.sent.remove(sent)
        try:
            return self.get(sent.path, sent)
        except ApiError as failure:
            if failure.reason in tolerate:
                return failure
            raise
        finally:
            if sent.holds_place:
                sent.holds_place = False
                self._places.give()

    # -- variant ---------------------------------------------------------------
    @property
    def variant(self) -> Variant:
        """The backend and release the server speaks: found from its answers once per
        run (the ``backend`` and ``api_era`` settings may force either) and logged."""
        with self._variant_lock:
            if self._variant is None:
                self._variant = self._detect()
                self.logger.info("iRedAdmin-Pro at %s: %s", self.base_url, self._variant.describe())
            return self._variant

    def _detect(self) -> Variant:
        """Login (its envelope), ``GET /api/domains`` (present? LDAP names?) and, only
        when the domain list is missing, ``GET /api/greylisting/global`` (present?)."""
        self._session_cookie()
        era = self._forced_era
        seen: list[str] = []
        if era is None or ERAS.index(era) < ERAS.index("pre-2.8"):
            try:
                self._listed_domains = self._domain_list()
            except NotFoundError:
                if era is not None:
                    raise IRedAdminError(
                        f"GET /api/domains: HTTP 404, but api_era is {era}: releases before "
                        "SQL-2.8.0 / LDAP-3.0 have no domain list; set api_era to auto"
                    ) from None
        if era is None:
            domain_list = self._listed_domains is not None
            greylisting = domain_list and not self._old_envelope
            if not domain_list and not self._old_envelope:
                greylisting = self._has_greylisting()
            era = variants.era_from(
                old_envelope=self._old_envelope, greylisting=greylisting, domain_list=domain_list
            )
            seen.append("success/msg envelope" if self._old_envelope else "_success envelope")
            seen.append("/api/domains " + ("answers" if domain_list else "is HTTP 404"))
            if not domain_list and not self._old_envelope:
                seen.append("greylisting " + ("answers" if greylisting else "is HTTP 404"))
        else:
            seen.append("era set by api_era")
        backend = self._forced_backend
        if backend is None:
            sample = next(iter((self._listed_domains or {}).values()), None)
            if sample is None and self._configured_domains:
                sample = self._object(f"/api/domain/{account_path(self._configured_domains[0])}")
            backend = "ldap" if sample is not None and variants.looks_ldap(sample) else "sql"
            seen.append(
                "LDAP attribute names" if backend == "ldap" else "SQL column names"
                if sample is not None else "no domain to look at: SQL assumed"
            )  # fmt: skip
        else:
            seen.append("backend set by backend")
        return Variant(backend, era, ", ".join(seen))

    def _domain_list(self) -> dict[str, dict[str, Any]]:
        data = self.get("/api/domains")
        if not isinstance(data, dict):
            raise IRedAdminError("GET /api/domains: _data is not an object keyed by domain")
        return data

    def _has_greylisting(self) -> bool:
        try:
            self.get("/api/greylisting/global")
        except NotFoundError:
            return False
        except ApiError:
            pass  # e.g. PERMISSION_DENIED for a normal admin: the endpoint exists
        return True

    def _normal(
        self, kind: str, path: str, row: dict[str, Any], *, detail: bool = False
    ) -> dict[str, Any]:
        """An answer of any variant in the current SQL shape (``tap_iredadmin.variants``)."""
        for key in variants.SECRET_KEYS:
            row.pop(key, None)
        variant = self.variant
        if variant.backend == "ldap":
            row = variants.from_ldap(kind, row, detail=detail)
        elif variant.era != "current":
            row = variants.from_old_sql(row)
            if kind == "domain" and detail:
                row.setdefault("catchall", [])  # before SQL-2.7.0 it was left out when unset
        if detail:
            self._check_keyed(kind, path, [row])
        return row

    def _normal_list(
        self, kind: str, path: str, rows: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """A list answer in the current shape. One row without its key is the
        server's (the stream skips it with a warning); all rows without it means
        the answers were read as the wrong variant."""
        normal = [self._normal(kind, path, row) for row in rows]
        self._check_keyed(kind, path, normal)
        return normal

    def _check_keyed(self, kind: str, path: str, rows: list[dict[str, Any]]) -> None:
        key = variants.KEY_FIELDS[kind]
        if rows and not any(row.get(key) for row in rows):
            raise IRedAdminError(
                f"GET {path}: no {kind} has `{key}` when read as {self.variant.describe()}; "
                "if backend or api_era is set, is it right?"
            )

    # -- reads ----------------------------------------------------------------
    def domains(self) -> dict[str, dict[str, Any]]:
        """The domains (``/api/domains``, an object keyed by name), read once per run;
        only those of the ``domains`` setting when it is set. Releases before
        SQL-2.8.0 / LDAP-3.0 have no domain list: the setting names them."""
        if self._domains is None:
            variant = self.variant
            wanted = self._configured_domains
            if self._listed_domains is not None:
                rows = {
                    name: self._normal("domain", "/api/domains", row)
                    for name, row in self._listed_domains.items()
                    if not wanted or name in wanted
                }
                self._check_keyed("domain", "/api/domains", list(rows.values()))
            elif wanted:
                rows = dict(zip(wanted, self.domain_details(wanted), strict=True))
            else:
                raise IRedAdminError(
                    f"GET /api/domains: HTTP 404: this iRedAdmin-Pro release ({variant.era}, "
                    f"{variants.RELEASES[variant.era]}) has no domain list; set `domains` to "
                    "the names of the domains to read"
                )
            self._domains = rows
        return self._domains

    def domain_details(self, domains: Iterable[str]) -> Iterator[dict[str, Any]]:
        """``/api/domain/<domain>`` of each domain."""
        for path, data in self._each("/api/domain/{}", domains):
            yield self._normal("domain", path, _as_object(path, data), detail=True)

    def users(self, domains: Iterable[str]) -> Iterator[list[dict[str, Any]]]:
        """The mailboxes of each domain, without the ``password`` hash the list carries."""
        return self._lists("user", "/api/users/{}", domains)

    def user_details(self, mails: Iterable[str]) -> Iterator[dict[str, Any] | None]:
        """``/api/user/<mail>`` of each mailbox; None for one deleted since it was listed."""
        return self._details("user", "/api/user/{}", mails)

    def aliases(self, domains: Iterable[str]) -> Iterator[list[dict[str, Any]]]:
        return self._lists("alias", "/api/aliases/{}", domains)

    def alias_details(self, addresses: Iterable[str]) -> Iterator[dict[str, Any] | None]:
        """``/api/alias/<mail>`` (members, moderators) of each alias; None for one deleted
        since it was listed."""
        return self._details("alias", "/api/alias/{}", addresses)

    def mailing_lists(self, domains: Iterable[str]) -> Iterator[list[dict[str, Any]] | ApiError]:
        """The lists of each domain, or the failure when the mailing-list service
        (mlmmjadmin) is down."""
        down = ("API_SERVER_NOT_REACHABLE",)
        for path, data in self._each("/api/mls/{}", domains, tolerate=down):
            yield data if isinstance(data, ApiError) else (
                self._normal_list("mailing_list", path, _as_list(path, data))
            )  # fmt: skip

    def _lists(
        self, kind: str, template: str, domains: Iterable[str]
    ) -> Iterator[list[dict[str, Any]]]:
        """The list answer of each domain, in the current shape."""
        for path, data in self._each(template, domains):
            yield self._normal_list(kind, path, _as_list(path, data))

    def _details(
        self, kind: str, template: str, accounts: Iterable[str]
    ) -> Iterator[dict[str, Any] | None]:
        """The detail answer of each account; None for one deleted since it was listed."""
        for path, data in self._each(template, accounts, tolerate=("NO_SUCH_ACCOUNT",)):
            yield None if isinstance(data, ApiError) else (
                self._normal(kind, path, _as_object(path, data), detail=True)
            )  # fmt: skip

    def policies(
        self, accounts: Iterable[tuple[str, str]]
    ) -> Iterator[list[tuple[str, str, dict[str, Any]]] | ApiError]:
        """For each (scope, account): (policy type, direction, settings) of every policy
        set on it, or, for the global scope only, the ``PERMISSION_DENIED`` failure of a
        normal admin.

        ``scope`` is global, domain or user; unset policies (``{}``, greylisting
        ``inherit``, no whitelisted senders) are left out.
        """
        groups: deque[tuple[str, list[str]]] = deque()

        def paths() -> Iterator[str]:
            for scope, account in accounts:
                group = self._policy_paths(scope, account)
                groups.append((scope, group))
                yield from group

        answers = self.get_each(paths(), tolerate=("PERMISSION_DENIED",))
        for first in answers:
            scope, group = groups.popleft()
            payloads = [first, *islice(answers, len(group) - 1)]
            failures = [payload for payload in payloads if isinstance(payload, ApiError)]
            if failures and scope == "global":
                yield failures[0]
            elif failures:
                raise failures[0]
            else:
                yield _policies_found(
                    [_as_object(path, data) for path, data in zip(group, payloads, strict=True)]
                )

    def _policy_paths(self, scope: str, account: str) -> list[str]:
        segment = "global" if scope == "global" else account_path(account)
        paths = [
            SPAM_PATHS[scope].format(account=segment),
            f"/api/throttle/{segment}/inbound",
            f"/api/throttle/{segment}/outbound",
        ]
        if self.variant.has_greylisting:  # greylisting came with SQL-2.7.0 / LDAP-2.9.0
            paths += [f"/api/greylisting/{segment}", f"/api/greylisting/{segment}/whitelists"]
        return paths

    def _each(
        self, template: str, accounts: Iterable[str], *, tolerate: Collection[str] = ()
    ) -> Iterator[tuple[str, Any]]:
        """(path, payload or tolerated ``ApiError``) of ``template`` filled with each
        account, by :meth:`get_each`."""
        paths = (template.format(account_path(account)) for account in accounts)
        return paired(paths, lambda paths: self.get_each(paths, tolerate=tolerate))

    def _object(self, path: str) -> dict[str, Any]:
        return _as_object(path, self.get(path))


def paired(
    items: Iterable[T], fetch: Callable[[Iterable[T]], Iterator[R]]
) -> Iterator[tuple[T, R]]:
    """Each item with what ``fetch`` gives for it. ``fetch`` takes the items ahead of
    its results (it sends calls ahead), so they wait in a queue meanwhile."""
    waiting: deque[T] = deque()

    def taken() -> Iterator[T]:
        for item in items:
            waiting.append(item)
            yield item

    for result in fetch(taken()):
        yield waiting.popleft(), result


def _sent_answer(transport: Transport, sent: SentCall) -> Answer | None:
    if sent.connection is not None:
        sent.answer = transport.receive(sent.connection, sent.path)
        sent.connection = None
    return sent.answer


def _as_list(path: str, data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise IRedAdminError(f"GET {path}: _data is not a list of objects")
    return data


def _as_object(path: str, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise IRedAdminError(f"GET {path}: _data is not an object")
    return data


def _policies_found(settings: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """The policies set among the answers of :meth:`IRedAdminClient._policy_paths`."""
    spam, inbound, outbound, *greylisting = settings
    found: list[tuple[str, str, dict[str, Any]]] = []
    if spam:
        found.append(("spam", "any", {k: _yes_no(v) for k, v in spam.items()}))
    for direction, throttle in (("inbound", inbound), ("outbound", outbound)):
        if throttle:
            found.append(("throttle", direction, throttle))
    if greylisting:
        status, whitelists = greylisting
        if status.get("status", "inherit") != "inherit":
            found.append(("greylisting", "any", status))
        if any(whitelists.values()):
            found.append(("greylisting_whitelists", "any", whitelists))
    return found


def _reason(body: dict[str, Any]) -> str:
    """``_msg`` (or ``msg`` before SQL-2.6.0) of a failure, redacted and cut short (it
    may be a Python exception text that quotes the password)."""
    return redact(variants.reason_of(body))


def _lost_session(response: Answer, body: Any) -> str | None:
    if response.status_code in (301, 302, 303, 307):
        location = response.headers.get("Location", "")
        if "login" in location:
            return f"HTTP {response.status_code} to the login page"
        return None
    if variants.success_of(body) is False and variants.reason_of(body) == SESSION_LOST:
        return SESSION_LOST
    return None


def _check_transport(response: Answer) -> tuple[str | None, Any]:
    """(why the call should be retried or None, the parsed JSON body)."""
    if response.status_code in RETRY_STATUSES:
        return f"HTTP {response.status_code}", None
    if response.status_code != 200:
        return None, None
    try:
        return None, parse_json(response.content)
    except ValueError:
        kind = response.headers.get("Content-Type", "?").split(";")[0]
        return (
            f"the answer is not valid JSON (HTTP 200, {kind}, {len(response.content)} bytes)",
            None,
        )


def _yes_no(value: Any) -> Any:
    """amavisd's ``Y``/``N`` flags as booleans."""
    if isinstance(value, str) and value in ("Y", "N", "y", "n"):
        return value in ("Y", "y")
    return value
