"""The connection test (``tap-x --config c.json --test``) of every tap.

It runs on a short budget whatever the sync settings (no retries, short timeouts, no
pacing wait, a deadline for the whole test), fails with one line that names the cause
(DNS, refused, TLS, timeout, HTTP 401/403/404, ...), and on success prints a short
report of what the server speaks, to paste into a support ticket. Each tap supplies
the vendor's calls and report lines; the classification and the budget are here.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import quote_plus, urlsplit

import requests
import urllib3.exceptions

from mailtaps_common.secrets import redact, shown_url
from mailtaps_common.tls import causes, failing_proxy, server_of, untrusted_certificate

DEADLINE_SECONDS = 20.0  # the whole test, so it answers well within 30 s
CALL_TIMEOUT_SECONDS = 8.0  # one call, or the configured request_timeout if shorter


class ProbeError(Exception):
    """The connection test failed; the message is the one line the user sees."""


@dataclass
class Report:
    """What the test found: ``rows`` (label, value) for the report block, and
    ``problems`` that make the test fail although the server answered."""

    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, label: str, value: str) -> None:
        self.rows.append((label, value))

    def render(self) -> str:
        width = max((len(label) for label, _ in self.rows), default=0)
        lines = [self.title, *(f"  {label.ljust(width)}  {value}" for label, value in self.rows)]
        return "\n".join(lines)


class Budget:
    """Time left for the test; every call gets at most ``CALL_TIMEOUT_SECONDS``,
    the configured timeout if shorter, and never more than the time left."""

    def __init__(self, configured_timeout: float | None = None) -> None:
        self.call_timeout = min(float(configured_timeout or CALL_TIMEOUT_SECONDS),
                                CALL_TIMEOUT_SECONDS)  # fmt: skip
        self.deadline = time.monotonic() + DEADLINE_SECONDS
        self.calls = 0

    def next_timeout(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining < 0.5:
            raise ProbeError(
                f"the connection test used its {DEADLINE_SECONDS:g} s after {self.calls} calls: "
                "the server answers too slowly"
            )
        return min(self.call_timeout, remaining)


def send(
    session: requests.Session, request: requests.PreparedRequest, budget: Budget
) -> requests.Response:
    """One attempt within the budget; a transport failure becomes a :class:`ProbeError`."""
    timeout = budget.next_timeout()
    budget.calls += 1
    try:
        return session.send(request, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise ProbeError(transport_cause(exc, request.url or "", timeout)) from None


def transport_cause(exc: BaseException, url: str, timeout: float | None = None) -> str:
    """The cause of a failed connection in one line, with what to check."""
    host = urlsplit(url).hostname or shown_url(url)
    where = server_of(url)
    chain = list(causes(exc))
    if isinstance(exc, requests.exceptions.InvalidSchema | requests.exceptions.InvalidURL):
        return f"the URL {shown_url(url)!r} is not valid ({exc}): check it"
    if untrusted := untrusted_certificate(url, exc):
        return untrusted
    if isinstance(exc, requests.exceptions.SSLError):
        return (
            f"TLS failure with {where} ({_ssl_reason(chain)}): check that the URL's scheme "
            "and port are those of the API, and its certificate (verify_tls)"
        )
    if isinstance(exc, requests.exceptions.Timeout):
        waited = f" within {timeout:g} s" if timeout else ""
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return f"timeout: {where} took no connection{waited}: check host, port and firewall"
        return f"timeout: {where} sent no answer{waited}: the server is down or overloaded"
    text = " ".join(str(e) for e in chain)
    if (proxy := failing_proxy(url, exc)) is not None:
        return (
            f"cannot reach the proxy {proxy} ({_refused_or_unresolved(chain, text)}): check "
            "the proxy variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)"
        )
    if _unresolved(chain, text):
        return f"DNS failure: the host name {host!r} does not resolve: check the URL"
    if _refused(chain, text):
        return (
            f"connection refused by {where}: nothing listens there; check the URL's host and port"
        )
    if any(isinstance(e, ConnectionResetError) for e in chain) or "aborted" in text.lower():
        return f"{where} closed the connection without an answer"
    return f"cannot connect to {where} ({type(exc).__name__})"


_DNS_MARKERS = (
    "Name or service not known",
    "nodename nor servname",
    "Temporary failure in name resolution",
    "No address associated",
    "getaddrinfo failed",
)


def _unresolved(chain: list[BaseException], text: str) -> bool:
    return any(isinstance(e, urllib3.exceptions.NameResolutionError) for e in chain) or any(
        marker in text for marker in _DNS_MARKERS
    )


def _refused(chain: list[BaseException], text: str) -> bool:
    return any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text.lower()


def _refused_or_unresolved(chain: list[BaseException], text: str) -> str:
    if _refused(chain, text):
        return "connection refused"
    return "its name does not resolve" if _unresolved(chain, text) else "no connection"


def _ssl_reason(chain: list[BaseException]) -> str:
    for exc in chain:
        reason = getattr(exc, "reason", None)
        if isinstance(reason, str) and reason:
            return reason
    return "handshake failed"


def status_cause(response: requests.Response, setting: str = "the URL") -> str | None:
    """A generic line for an HTTP status the vendor code has no better words for."""
    shown = urlsplit(shown_url(response.url))  # never the user and password
    where = shown.netloc + shown.path
    if response.status_code == 404:
        return f"HTTP 404 from {where}: no API answers at this address; check {setting}"
    if response.status_code in (301, 302, 303, 307, 308):
        target = response.headers.get("Location", "elsewhere")
        return f"HTTP {response.status_code} from {where} to {target}: check {setting}"
    return None


def pagination_summary(header: str | None) -> str:
    """``X-Pagination`` as the report shows it."""
    if not header:
        return "absent"
    try:
        value = json.loads(header)
    except ValueError:
        return f"present but not JSON ({len(header)} characters)"
    return "present: " + json.dumps(value, separators=(", ", ": "))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret, plain, base64 or URL-encoded, replaced: those given,
    and those of the config the tap installed for its logs (a password in a URL among
    them, which a report line showing the URL would carry)."""
    text = redact(text)
    for secret in secrets:
        if not secret:
            continue
        encoded = base64.b64encode(secret.encode()).decode()
        for form in {secret, encoded, quote_plus(secret), quote_plus(encoded)}:
            text = text.replace(form, "***")
    return text


def run(name: str, probe: Callable[[Budget], Report], budget: Budget, secrets: list[str]) -> bool:
    """Run ``probe``; print its report on stdout, or one line on stderr and exit 1.

    The SDK's ``--test`` exits 0 whatever the test returns, hence the exit here.
    """
    failure: ProbeError | None
    try:
        report = probe(budget)
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema) as exc:  # fmt: skip
        failure = ProbeError(f"the URL is not valid ({exc}): check it")
    except ProbeError as exc:
        failure = exc
    else:
        failure = None
    if failure is not None:
        print(f"{name} --test failed: {scrub(str(failure), secrets)}", file=sys.stderr, flush=True)
        raise SystemExit(1)
    print(scrub(report.render(), secrets), flush=True)
    for problem in report.problems:
        print(f"{name} --test failed: {scrub(problem, secrets)}", file=sys.stderr, flush=True)
    if report.problems:
        raise SystemExit(1)
    return True
