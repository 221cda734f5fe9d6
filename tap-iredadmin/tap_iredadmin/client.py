"""Everything peculiar to the iRedAdmin-Pro RESTful API (see the tap's README).

One :class:`IRedAdminClient` per run, owned by the tap and shared by all streams:
it logs in once, keeps the session cookie, logs in again once when the session
is lost, unwraps the ``_success`` envelope (failures come with HTTP 200), retries
transient failures a bounded number of times, and runs per-item calls on a
bounded worker pool. Its calls go through one :class:`Transport`.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
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


class Transport:
    """Calls to the server straight through the urllib3 connection pool that
    ``requests`` would use.

    ``requests.Session.request`` merges the session's headers, cookies, hooks and
    environment again on every call: about 0.6 ms of CPU per call here, of which the
    pool itself takes 0.2 ms. With no latency, the 1,457 calls of a 51k-record run
    spent a quarter of the tap's CPU there. What ``requests`` decides is still
    decided by it, once: the environment's proxy for ``base_url`` (``no_proxy``
    included), TLS verification and the CA bundle, the default headers, and
    credentials in the URL. There is no cookie jar: the client sends the session
    cookie itself. Transport failures raise urllib3's ``HTTPError``.
    """

    def __init__(self, base_url: str, *, verify_tls: bool, pool_size: int) -> None:
        verify = verify_setting(verify_tls)
        headers = {**requests.utils.default_headers(), "Accept": "application/json"}
        root = requests.Request("GET", base_url + "/", headers=headers).prepare()
        assert root.url is not None  # prepare() sets it
        proxies = requests.utils.get_environ_proxies(root.url)  # quoted: a "]" in a password
        self._adapter = HTTPAdapter(pool_maxsize=pool_size)  # owns the pool's manager
        self._pool = self._adapter.get_connection_with_tls_context(root, verify, proxies=proxies)
        self._adapter.cert_verify(self._pool, root.url, verify, None)  # stripped, as requests
        self._target = self._adapter.request_url(root, proxies).rstrip("/")
        self._headers = {
            name: value if isinstance(value, str) else value.decode("latin-1")
            for name, value in root.headers.items()
        }
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


class TransientCallError(Exception):
    """One failed attempt worth retrying. ``response`` (when there was one) carries
    the status and any ``Retry-After``; ``url`` is what was called."""

    def __init__(self, cause: str, *, response: Answer | None = None, url: str) -> None:
        super().__init__(cause)
        self.response = response
        self.url = url


class RateLimitPause:
    """Holds every worker back while one of them waits out a 429.

    The API limits the caller, not a thread: when one call gets a 429, the others
    must not keep using the allowance, or the waiting call can lose the race on
    every retry and fail with its retries used up (seen under CPU load). The worker
    that got the 429 holds the pause through its wait and retry; the others wait
    for it before their next call. The SDK has no worker pool, so nothing of it
    does this.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()

    def _held(self) -> bool:
        return getattr(self._local, "held", False)

    def hold(self) -> None:
        if not self._held():
            self._lock.acquire()
            self._local.held = True

    def release(self) -> None:
        if self._held():
            self._local.held = False
            self._lock.release()

    def wait_turn(self) -> None:
        """Return at once, or when the worker holding the pause is done."""
        if not self._held():
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
    (typing and writing them) while the worker pool idles, then 1,000 alias details
    keep the pool waiting on the server while the core idles. With workers, the
    streams after the one being written are read ahead, so their calls go through
    the pool meanwhile (20 ms per call: x5.6 -> x6.9 faster than one worker). At most
    ``READ_AHEAD_ROWS`` rows wait per stream, handed over in chunks (a hand-over per
    row would cost more than it saves). A failure is raised where the rows are
    taken, after the rows read before it, in the stream they belong to. The thread is
    a daemon: a run that fails meanwhile does not wait for it.
    """

    CHUNK_ROWS = 250
    READ_AHEAD_ROWS = 10_000

    def __init__(self, rows: Iterable[Row]) -> None:
        self._chunks: queue.Queue[list[Row] | BaseException | None] = queue.Queue(
            self.READ_AHEAD_ROWS // self.CHUNK_ROWS
        )
        threading.Thread(target=self._read, args=(rows,), daemon=True).start()

    def _read(self, rows: Iterable[Row]) -> None:
        chunk: list[Row] = []
        try:
            for row in rows:
                chunk.append(row)
                if len(chunk) == self.CHUNK_ROWS:
                    self._chunks.put(chunk)
                    chunk = []
        except BaseException as exc:  # raised where the rows are taken, after those read
            self._chunks.put(chunk)
            self._chunks.put(exc)
        else:
            self._chunks.put(chunk)
            self._chunks.put(None)

    @override
    def __iter__(self) -> Iterator[Row]:
        while (chunk := self._chunks.get()) is not None:
            if isinstance(chunk, BaseException):
                raise chunk
            yield from chunk


class IRedAdminClient:
    """The run's logged-in session with iRedAdmin-Pro.

    Kept outside the SDK's ``RESTStream`` because the SDK has neither piece: one
    cookie login shared by every stream (and re-established once when lost), and a
    worker pool for the per-item calls (one call per mailbox would otherwise be
    sequential). Retries follow the shared rules through the same ``backoff``
    library the SDK uses.
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
        self._pool = (
            ThreadPoolExecutor(self.max_workers, thread_name_prefix="iredadmin")
            if self.max_workers > 1
            else None
        )  # no thread starts before the first call: streams read ahead share it
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

    def get(self, path: str) -> Any:
        """The payload of a GET: ``_data`` (``setting`` for throttles).

        A lost session (``LOGIN_REQUIRED`` or a 303 to the login page) is
        re-established once and the call repeated; losing it again fails.
        """
        endpoint = f"GET {path}"
        cookie = self._session_cookie()
        response, body = self._request("GET", path, cookie=cookie)
        if _lost_session(response, body) is not None:
            self._login_again(cookie)
            response, body = self._request("GET", path, cookie=self._session_cookie())
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

    def _request(self, method: str, path: str, *, cookie: str | None) -> tuple[Answer, Any]:
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
            return retried(method, path, form, headers)
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
        self, method: str, path: str, form: bytes | None, headers: dict[str, str]
    ) -> tuple[Answer, Any]:
        self._rate_limit.wait_turn()
        try:
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
    def map_ordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``fn`` over ``items`` on the worker pool, results in input order.

        At most ``4 * max_workers`` calls per caller are queued or running (streams
        read ahead are callers too; the pool runs ``max_workers`` at once), so memory
        stays flat and a consumer that stops early leaves little work behind.
        """
        if self._pool is None:
            yield from map(fn, items)
            return
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(self._pool.submit(fn, item))
                if len(pending) >= 4 * self.max_workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()

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
                rows = {name: self.domain(name) for name in wanted}
            else:
                raise IRedAdminError(
                    f"GET /api/domains: HTTP 404: this iRedAdmin-Pro release ({variant.era}, "
                    f"{variants.RELEASES[variant.era]}) has no domain list; set `domains` to "
                    "the names of the domains to read"
                )
            self._domains = rows
        return self._domains

    def domain(self, domain: str) -> dict[str, Any]:
        path = f"/api/domain/{account_path(domain)}"
        return self._normal("domain", path, self._object(path), detail=True)

    def users(self, domain: str) -> list[dict[str, Any]]:
        """Mailboxes of a domain, without the ``password`` hash the list carries."""
        path = f"/api/users/{account_path(domain)}"
        return self._normal_list("user", path, self._list(path))

    def user(self, mail: str) -> dict[str, Any]:
        path = f"/api/user/{account_path(mail)}"
        return self._normal("user", path, self._object(path), detail=True)

    def aliases(self, domain: str) -> list[dict[str, Any]]:
        path = f"/api/aliases/{account_path(domain)}"
        return self._normal_list("alias", path, self._list(path))

    def alias(self, mail: str) -> dict[str, Any]:
        path = f"/api/alias/{account_path(mail)}"
        return self._normal("alias", path, self._object(path), detail=True)

    def mailing_lists(self, domain: str) -> list[dict[str, Any]]:
        path = f"/api/mls/{account_path(domain)}"
        return self._normal_list("mailing_list", path, self._list(path))

    def policies(self, scope: str, account: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(policy type, direction, settings) of every policy set on an account.

        ``scope`` is global, domain or user; unset policies (``{}``, greylisting
        ``inherit``, no whitelisted senders) are left out.
        """
        segment = "global" if scope == "global" else account_path(account)
        found: list[tuple[str, str, dict[str, Any]]] = []
        spam = self._object(SPAM_PATHS[scope].format(account=segment))
        if spam:
            found.append(("spam", "any", {k: _yes_no(v) for k, v in spam.items()}))
        for direction in ("inbound", "outbound"):
            throttle = self._object(f"/api/throttle/{segment}/{direction}")
            if throttle:
                found.append(("throttle", direction, throttle))
        if not self.variant.has_greylisting:
            return found  # greylisting came with SQL-2.7.0 / LDAP-2.9.0
        greylisting = self._object(f"/api/greylisting/{segment}")
        if greylisting.get("status", "inherit") != "inherit":
            found.append(("greylisting", "any", greylisting))
        whitelists = self._object(f"/api/greylisting/{segment}/whitelists")
        if any(whitelists.values()):
            found.append(("greylisting_whitelists", "any", whitelists))
        return found

    def _list(self, path: str) -> list[dict[str, Any]]:
        data = self.get(path)
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            raise IRedAdminError(f"GET {path}: _data is not a list of objects")
        return data

    def _object(self, path: str) -> dict[str, Any]:
        data = self.get(path)
        if not isinstance(data, dict):
            raise IRedAdminError(f"GET {path}: _data is not an object")
        return data


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
