"""Shared plumbing for the vendor imitations: a threaded HTTP server on loopback,
switchable faults, a per-caller rate limit, a request log and control endpoints.

A vendor module subclasses :class:`SandboxApp`, declares its routes and its ground
truth, and gets everything else from here. Tests drive an app in-process (the
``faults`` object and ``requests`` log are plain attributes); the demo and other
processes use the ``/_sandbox/...`` control endpoints.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import ssl
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec

TRANSIENT_FAULTS = ("http_500", "http_502", "http_503", "timeout", "html", "truncated", "reset")


@dataclass
class Faults:
    """What the server does wrong. Every field can be changed while it runs.

    ``fail_next`` is a queue of faults served to the next API calls, one each, in
    order (deterministic tests; ``"ok"`` serves a call normally); ``error_rate``
    draws a fault from ``error_kinds`` at random with the app's seeded generator
    (storms). Vendor modules add their own fault names to both.
    """

    fail_next: list[str] = field(default_factory=list)
    error_rate: float = 0.0
    error_kinds: list[str] = field(default_factory=lambda: ["http_500", "http_503"])
    latency_seconds: float = 0.0
    timeout_seconds: float = 5.0
    rate_limit_interval: float = 0.0
    rate_limit_retry_after: float | None = None
    # Retry-After of the http_429 and http_503 faults: verbatim (seconds or an HTTP
    # date), or "date+N": the HTTP date N seconds after the fault is served.
    retry_after: str | None = None

    def update(self, changes: dict[str, Any]) -> None:
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        for name, value in changes.items():
            setattr(self, name, value)


@dataclass
class RequestRecord:
    """One API call as the server saw it."""

    at: float
    method: str
    path: str
    caller: str
    status: int = 0
    fault: str | None = None


@dataclass
class Request:
    """The parts of an HTTP request a route needs."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    client_ip: str

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8")).items()}

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, **headers: str) -> Response:
        try:
            body = msgspec.json.encode(payload)
        except UnicodeEncodeError:  # a lone surrogate: served as its JSON escape
            body = json.dumps(payload).encode("ascii")
        return cls(status, body, {"Content-Type": "application/json; charset=utf-8", **headers})

    @classmethod
    def html(cls, status: int, title: str) -> Response:
        body = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
        return cls(status, body.encode(), {"Content-Type": "text/html; charset=utf-8"})


Handler = Callable[..., Response]


class Drop(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a fault to close the connection without an answer."""


class SandboxApp:
    """Base of a vendor imitation. Subclasses fill ``routes`` and ``truth``."""

    name = "sandbox"
    settings: Any = None  # the vendor's settings dataclass

    def __init__(self, seed: int = 7) -> None:
        self.seed = seed
        self.faults = Faults()
        self.requests: list[RequestRecord] = []
        self.lock = threading.RLock()
        self._rng = random.Random(seed)
        self._last_call: dict[str, float] = {}
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    # -- routing ----------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Register ``handler(request, **groups)`` for a path regex (full match)."""
        self._routes.append((method, re.compile(pattern), handler))

    def caller_key(self, request: Request) -> str:
        """Who a rate limit counts against; vendors refine this (API key, login)."""
        return request.client_ip

    def truth(self, query: dict[str, list[str]]) -> Any:
        """Ground truth for the control endpoint; vendors override."""
        raise NotImplementedError

    def configure(self, changes: dict[str, Any]) -> None:
        """Apply ``{"faults": {...}, "settings": {...}}``: fault switches, and the
        vendor's own settings (fields of its ``settings`` dataclass)."""
        with self.lock:
            self.faults.update(changes.get("faults", {}))
            for key, value in changes.get("settings", {}).items():
                if not hasattr(self.settings, key):
                    raise ValueError(f"unknown {self.name} setting {key!r}")
                setattr(self.settings, key, value)

    # -- faults -----------------------------------------------------------
    def next_fault(self) -> str | None:
        with self.lock:
            if self.faults.fail_next:
                fault = self.faults.fail_next.pop(0)
                return None if fault == "ok" else fault
            if self.faults.error_rate and self._rng.random() < self.faults.error_rate:
                return self._rng.choice(self.faults.error_kinds)
        return None

    def generic_fault(self, fault: str, answer: Callable[[], Response]) -> Response:
        """Serve a transport-level fault; ``answer`` builds the real response for
        faults that corrupt it (truncated JSON)."""
        if fault.startswith("http_"):
            status = int(fault.removeprefix("http_"))
            headers = {}
            retry_after = self.faults.retry_after
            if status in (429, 503) and retry_after is not None:
                if retry_after.startswith("date+"):
                    at = time.time() + float(retry_after.removeprefix("date+"))
                    retry_after = formatdate(at, usegmt=True)
                headers["Retry-After"] = retry_after
            return Response.json({"message": "Internal error"}, status=status, **headers)
        if fault == "timeout":
            time.sleep(self.faults.timeout_seconds)
            return Response.json({"message": "late"}, status=504)
        if fault == "html":
            return Response.html(502, "502 Bad Gateway")
        if fault == "truncated":
            real = answer()
            return Response(real.status, real.body[: max(1, len(real.body) // 2)], real.headers)
        if fault == "reset":
            raise Drop
        raise ValueError(f"{self.name}: unknown fault {fault!r}")

    def vendor_fault(self, fault: str, request: Request) -> Response | None:
        """Vendors answer their own fault names here; ``None`` means not theirs."""
        return None

    def rate_limited(self, key: str) -> Response | None:
        """429 when caller ``key`` called less than ``rate_limit_interval`` ago."""
        interval = self.faults.rate_limit_interval
        if not interval:
            return None
        now = time.monotonic()
        with self.lock:
            last = self._last_call.get(key)
            if last is not None and now - last < interval:
                headers = {}
                if self.faults.rate_limit_retry_after is not None:
                    headers["Retry-After"] = f"{self.faults.rate_limit_retry_after:g}"
                return self.too_many_requests(headers)
            self._last_call[key] = now
        return None

    def too_many_requests(self, headers: dict[str, str]) -> Response:
        return Response.json({"message": "Too many requests"}, status=429, **headers)

    # -- dispatch ---------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox/"):
            return self.control(request)
        record = RequestRecord(
            time.monotonic(), request.method, request.path, self.caller_key(request)
        )
        with self.lock:
            self.requests.append(record)
        if self.faults.latency_seconds:
            time.sleep(self.faults.latency_seconds)
        response = self.rate_limited(record.caller)
        if response is None:
            fault = self.next_fault()
            record.fault = fault
            if fault is not None:
                response = self.vendor_fault(fault, request) or self.generic_fault(
                    fault, lambda: self.dispatch(request)
                )
            else:
                response = self.dispatch(request)
        record.status = response.status
        return response

    def dispatch(self, request: Request) -> Response:
        known_path = False
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match:
                known_path = True
                if method == request.method:
                    return handler(request, **match.groupdict())
        if known_path:
            return Response.json({"message": "Method not allowed"}, status=405)
        return self.not_found(request)

    def not_found(self, request: Request) -> Response:
        return Response.json({"message": f"No route for {request.path}"}, status=404)

    def control(self, request: Request) -> Response:
        if request.path == "/_sandbox/truth":
            return Response.json(self.truth(request.query))
        if request.path == "/_sandbox/requests":
            with self.lock:
                rows = [dataclasses.asdict(r) for r in self.requests]
            return Response.json(rows)
        if request.path == "/_sandbox/config" and request.method == "POST":
            try:
                self.configure(json.loads(request.body or b"{}"))
            except (ValueError, TypeError) as exc:
                return Response.json({"message": str(exc)}, status=400)
            return Response.json({"ok": True})
        return Response.json({"message": "unknown control endpoint"}, status=404)

    def api_calls(self, path_prefix: str = "/") -> list[RequestRecord]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, a keep-alive client's
    # delayed ACK adds ~40 ms to every call.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
            client_ip=self.server.client_ip_override or self.client_address[0],
        )
        try:
            response = self.server.app.handle(request)
        except Drop:
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is kept on the app."""


class LoopbackServer(ThreadingHTTPServer):
    """A threaded HTTP server on 127.0.0.1; with ``tls`` (a server context) it speaks
    HTTPS, and is quiet when a client refuses its certificate (as tests make it)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, port: int, handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None
    ) -> None:
        super().__init__(("127.0.0.1", port), handler)
        self.scheme = "http"
        if tls is not None:  # the handshake in the request's thread, not in accept()
            self.socket = tls.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )
            self.scheme = "https"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ssl.SSLError):
            super().handle_error(request, client_address)


class _Server(LoopbackServer):
    def __init__(
        self, app: SandboxApp, port: int, client_ip_override: str | None, tls: ssl.SSLContext | None
    ) -> None:
        self.app = app
        self.client_ip_override = client_ip_override
        super().__init__(port, _Handler, tls)


class RunningSandbox:
    """A sandbox app served on 127.0.0.1 in a background thread."""

    def __init__(
        self,
        app: SandboxApp,
        port: int = 0,
        client_ip: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """``client_ip`` pretends every caller has that address (IP allow-lists);
        with ``tls`` (a server context) it speaks HTTPS."""
        self.app = app
        self._server = _Server(app, port, client_ip, tls)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"sandbox-{app.name}", daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return self._server.url

    def set_client_ip(self, ip: str | None) -> None:
        self._server.client_ip_override = ip

    def __enter__(self) -> RunningSandbox:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
