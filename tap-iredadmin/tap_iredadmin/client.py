"""Everything peculiar to the iRedAdmin-Pro RESTful API (``shared/contracts/iredadmin.md``).

One :class:`IRedAdminClient` per run, owned by the tap and shared by all streams:
it logs in once, keeps the session cookie, logs in again once when the session
is lost, unwraps the ``_success`` envelope (failures come with HTTP 200), retries
transient failures a bounded number of times, and runs per-item calls on a
bounded worker pool.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from http.cookiejar import DefaultCookiePolicy
from typing import Any, TypeVar
from urllib.parse import quote

import backoff
import requests
import urllib3
from mailtaps_common.retry import EXHAUSTED_HINT, RetryPolicy, attempts, transport_cause
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar
from singer_sdk.exceptions import FatalAPIError

T = TypeVar("T")
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


class TransientCallError(Exception):
    """One failed attempt worth retrying. ``response`` (when there was one) carries
    the status and any ``Retry-After``; ``url`` is what was called."""

    def __init__(self, cause: str, *, response: requests.Response | None = None, url: str) -> None:
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


class _NoCookies(DefaultCookiePolicy):
    """Keep answers from touching the jar.

    Every answer sets the session cookie again, and an answer to a call that
    arrived without a valid session carries a fresh anonymous cookie; stored,
    it would replace the logged-in one for every thread. The client sends the
    cookie of its last login itself.
    """

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False


def account_path(account: str) -> str:
    """A domain or an email address as a URL path segment."""
    return quote(account, safe="@")


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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._password = password
        self.logger = logger
        self.timeout = request_timeout
        self.retry = retry
        self._rate_limit = RateLimitPause()
        self.max_workers = max(1, max_workers)
        self._http = requests.Session()
        self._http.cookies = RequestsCookieJar(policy=_NoCookies())
        self._http.verify = verify_tls
        self._http.mount(self.base_url, HTTPAdapter(pool_maxsize=self.max_workers))
        self._http.headers["Accept"] = "application/json"
        self._cookie: str | None = None
        self._login_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._domains: dict[str, dict[str, Any]] | None = None
        if not verify_tls:
            logger.warning("verify_tls is off: the TLS certificate of %s is not checked", base_url)
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
        )

    # -- session -------------------------------------------------------------
    def login(self) -> None:
        """``POST /api/login``; the cookie it sets is sent with every later call."""
        response, body = self._request("POST", "/api/login", cookie=None)
        target = f"login to {self.base_url} as {self.username}"
        if response.status_code == 404:
            raise IRedAdminError(f"{target} failed: HTTP 404: {API_OFF_HINT}")
        if not isinstance(body, dict) or "_success" not in body:
            raise IRedAdminError(
                f"{target} failed: HTTP {response.status_code} without iRedAdmin's JSON envelope"
            )
        if body["_success"] is not True:
            reason = _reason(body)
            hint = REASON_HINTS.get(reason)
            raise IRedAdminError(f"{target} failed: {reason}" + (f" ({hint})" if hint else ""))
        cookies = [c for c in response.cookies if c.name.startswith("iRedAdmin")]
        if not cookies:
            raise IRedAdminError(f"{target} succeeded but set no iRedAdmin session cookie")
        self._cookie = f"{cookies[0].name}={cookies[0].value}"

    def _session_cookie(self) -> str:
        with self._login_lock:
            if self._cookie is None:
                self.login()
            return self._cookie  # type: ignore[return-value]

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

    def _payload(self, endpoint: str, response: requests.Response, body: Any) -> Any:
        if response.status_code == 404:
            raise IRedAdminError(f"{endpoint}: HTTP 404: {API_OFF_HINT}")
        if response.status_code != 200:
            raise IRedAdminError(f"{endpoint}: unexpected HTTP {response.status_code}")
        if not isinstance(body, dict) or "_success" not in body:
            raise IRedAdminError(f"{endpoint}: the answer is not iRedAdmin's JSON envelope")
        if body["_success"] is not True:
            raise ApiError(endpoint, _reason(body))
        for key in ("_data", "setting"):
            if key in body:
                return body[key]
        raise IRedAdminError(f"{endpoint}: the answer has neither _data nor setting")

    def _request(
        self, method: str, path: str, *, cookie: str | None
    ) -> tuple[requests.Response, Any]:
        """One call, retried by the shared rules (``backoff`` with
        :class:`~mailtaps_common.retry.RetryPolicy`, as in the SDK's streams) after
        transient failures: connection errors, timeouts, 429/5xx, and bodies that
        are not JSON (HTML error pages, truncated answers). Returns the response and
        its parsed body (``None`` for redirects and 404s)."""
        headers = {"Cookie": cookie} if cookie else {}
        data = {"username": self.username, "password": self._password} if method == "POST" else None
        retried = backoff.on_exception(
            self.retry.wait_generator,
            TransientCallError,
            max_tries=self.retry.max_tries,
            jitter=self.retry.jitter,
            on_backoff=self._before_retry,
            logger=None,
        )(self._attempt)
        try:
            return retried(method, self.base_url + path, data, headers)
        except TransientCallError as exc:
            raise IRedAdminError(
                f"{method} {path} failed after {attempts(self.retry.max_tries)}: {exc}; "
                f"{EXHAUSTED_HINT}"
            ) from None
        finally:
            self._rate_limit.release()

    def _attempt(
        self, method: str, url: str, data: dict[str, str] | None, headers: dict[str, str]
    ) -> tuple[requests.Response, Any]:
        self._rate_limit.wait_turn()
        try:
            response = self._http.request(
                method, url, data=data, headers=headers,
                timeout=self.timeout, allow_redirects=False,
            )  # fmt: skip
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientCallError(transport_cause(exc), url=url) from None
        cause, body = _check_transport(response)
        if cause is not None:
            raise TransientCallError(cause, response=response, url=url)
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

        At most ``4 * max_workers`` calls are in flight, so memory stays flat
        and a consumer that stops early leaves little work behind.
        """
        if self.max_workers == 1:
            yield from map(fn, items)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="iredadmin")
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

    # -- reads ----------------------------------------------------------------
    def domains(self) -> dict[str, dict[str, Any]]:
        """``/api/domains`` (an object keyed by domain name), read once per run."""
        if self._domains is None:
            data = self.get("/api/domains")
            if not isinstance(data, dict):
                raise IRedAdminError("GET /api/domains: _data is not an object keyed by domain")
            self._domains = data
        return self._domains

    def domain(self, domain: str) -> dict[str, Any]:
        return self._object(f"/api/domain/{account_path(domain)}")

    def users(self, domain: str) -> list[dict[str, Any]]:
        """Mailboxes of a domain, without the ``password`` hash the list carries."""
        rows = self._list(f"/api/users/{account_path(domain)}")
        for row in rows:
            row.pop("password", None)
        return rows

    def user(self, mail: str) -> dict[str, Any]:
        return self._object(f"/api/user/{account_path(mail)}")

    def aliases(self, domain: str) -> list[dict[str, Any]]:
        return self._list(f"/api/aliases/{account_path(domain)}")

    def alias(self, mail: str) -> dict[str, Any]:
        return self._object(f"/api/alias/{account_path(mail)}")

    def mailing_lists(self, domain: str) -> list[dict[str, Any]]:
        return self._list(f"/api/mls/{account_path(domain)}")

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
    """``_msg`` of a failure, cut short (it may be a Python exception text)."""
    return str(body.get("_msg") or "no reason given")[:200]


def _lost_session(response: requests.Response, body: Any) -> str | None:
    if response.status_code in (301, 302, 303, 307):
        location = response.headers.get("Location", "")
        if "login" in location:
            return f"HTTP {response.status_code} to the login page"
        return None
    if (
        isinstance(body, dict)
        and body.get("_success") is False
        and body.get("_msg") == SESSION_LOST
    ):
        return SESSION_LOST
    return None


def _check_transport(response: requests.Response) -> tuple[str | None, Any]:
    """(why the call should be retried or None, the parsed JSON body)."""
    if response.status_code in RETRY_STATUSES:
        return f"HTTP {response.status_code}", None
    if response.status_code != 200:
        return None, None
    try:
        return None, json.loads(response.content)
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
