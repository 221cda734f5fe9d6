"""Test harness shared by the taps' suites: run a tap as a real process and read
its Singer messages, run Meltano in this project, check that secrets stay hidden."""

from __future__ import annotations

import fcntl
import http.client
import importlib.util
import json
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from .core import LoopbackServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@dataclass
class TapRun:
    """What one tap process wrote, parsed."""

    returncode: int
    stdout: str
    stderr: str
    messages: list[dict[str, Any]] = field(default_factory=list)

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def counts(self) -> Counter[str]:
        return Counter(m["stream"] for m in self.messages if m["type"] == "RECORD")

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def last_state(self) -> dict[str, Any] | None:
        return self.states[-1] if self.states else None


def run_tap(
    executable: str,
    config: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    args: tuple[str, ...] = (),
    kill_when: Any = None,
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> TapRun:
    """Run ``executable --config ...`` and collect its output.

    ``kill_when(message)`` SIGKILLs the process at the first Singer message the
    predicate accepts (a crash part way). Messages read before the kill are kept,
    as a target would have them.
    """
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        cmd = [str(BIN / executable)]
        for name, payload in (("config", config), ("state", state), ("catalog", catalog)):
            if payload is not None:
                path = tmp_path / f"{name}.json"
                path.write_text(json.dumps(payload))
                cmd += [f"--{name}", str(path)]
        cmd += list(args)
        stderr_path = tmp_path / "stderr.log"
        with (
            stderr_path.open("w") as stderr_file,
            subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=stderr_file,
                text=True,
                env={**os.environ, **(env or {})},
            ) as proc,
        ):
            assert proc.stdout is not None
            lines: list[str] = []
            messages: list[dict[str, Any]] = []
            try:
                for line in proc.stdout:
                    lines.append(line)
                    if line.startswith('{"type"'):
                        message = json.loads(line)
                        messages.append(message)
                        if kill_when is not None and kill_when(message):
                            proc.send_signal(signal.SIGKILL)
                            break
                proc.wait(timeout=timeout)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        return TapRun(proc.returncode, "".join(lines), stderr_path.read_text(), messages)


def load_script(path: Path) -> ModuleType:
    """A script of the repository (a benchmark, ``scripts/*.py``) as a module, for tests
    that call its functions; registered in ``sys.modules`` (dataclasses look it up)."""
    relative = path.resolve().relative_to(PROJECT_ROOT).with_suffix("")
    name = "_".join(relative.parts).replace("-", "_")  # three taps have a throughput.py
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@contextmanager
def meltano_lock() -> Iterator[None]:
    """Held while Meltano runs in this project: Meltano clears a plugin's files under
    ``.meltano/run`` when it starts it, so two runs at once break each other (parallel
    test workers, several suites on one machine) and must take turns."""
    lock_path = PROJECT_ROOT / ".meltano" / "tests.lock"
    lock_path.parent.mkdir(exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def meltano(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``meltano ARGS`` in this project with ``env`` on top of the environment,
    one run at a time (:func:`meltano_lock`)."""
    with meltano_lock():
        result = subprocess.run(
            [str(BIN / "meltano"), *args],
            cwd=PROJECT_ROOT,
            env={**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if check and result.returncode != 0:
        raise AssertionError(
            f"meltano {' '.join(args)} exited {result.returncode}\n"
            f"--- stderr (tail) ---\n{result.stderr[-6000:]}"
        )
    return result


def secret_forms(secret: str) -> list[str]:
    """A secret and the encodings it might leak in."""
    import base64
    from urllib.parse import quote_plus

    b64 = base64.b64encode(secret.encode()).decode()
    return sorted({secret, b64, quote_plus(secret), quote_plus(b64)})


def assert_no_secrets(secrets: list[str], *texts: str) -> None:
    """Fail, without printing the secret, if any form of it is in any text."""
    for secret in secrets:
        for form in secret_forms(secret):
            for index, text in enumerate(texts):
                assert form not in text, (
                    f"a secret (length {len(secret)}) leaked into text #{index}"
                )


def failure_line(run: TapRun) -> str:
    """The one line a failed run ends with: exit status 1, no traceback, exactly one
    ERROR line and it is the last line. Returns its message."""
    assert run.returncode == 1, (run.returncode, run.stderr[-2000:])
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    lines = run.stderr.strip().splitlines()
    errors = [line for line in lines if " | ERROR " in line]
    assert errors == lines[-1:], errors
    return lines[-1].split(" | ", 3)[-1]


def self_signed_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context with a new self-signed certificate for 127.0.0.1 (made by
    the ``openssl`` command), and the certificate's file, to trust it as a CA bundle."""
    certificate, key = directory / "sandbox-cert.pem", directory / "sandbox-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    return context, certificate


def network_env(**proxies: str) -> dict[str, str]:
    """Environment for a tap run: every proxy and CA-bundle variable of this process
    cleared (proxies in either case), then ``proxies`` (``http_proxy="..."``,
    ``no_proxy="..."``) set in both cases."""
    env = {
        name: ""
        for base in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
        for name in (base, base.upper())
    }
    env |= {"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": ""}
    for base, value in proxies.items():
        env[base] = env[base.upper()] = value
    return env


class ForwardProxy:
    """An HTTP proxy on 127.0.0.1: passes each plain call on, tunnels ``CONNECT`` (HTTPS),
    and keeps each request line it was asked for (``seen``: an absolute URL, or the
    host and port of a tunnel) with its ``Proxy-Authorization`` (``authorizations``).
    With ``tls`` (a server context) it is an HTTPS proxy."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self.seen: list[str] = []
        self.authorizations: list[str | None] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _note(self) -> None:
                proxy.seen.append(f"{self.command} {self.path}")
                proxy.authorizations.append(self.headers.get("Proxy-Authorization"))

            def do_CONNECT(self) -> None:
                self._note()
                host, _, port = self.path.rpartition(":")
                with socket.create_connection((host, int(port)), timeout=30) as upstream:
                    self.send_response(200, "Connection established")
                    self.end_headers()
                    _relay(self.connection, upstream)
                self.close_connection = True

            def _forward(self) -> None:
                self._note()
                target = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                upstream = http.client.HTTPConnection(target.netloc, timeout=30)
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("proxy-connection", "proxy-authorization")
                }
                upstream.request(
                    self.command,
                    target.path + (f"?{target.query}" if target.query else ""),
                    body=self.rfile.read(length) if length else None,
                    headers=headers,
                )
                answer = upstream.getresponse()
                body = answer.read()
                upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _forward  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the calls are kept in ``seen``."""

        self._server = LoopbackServer(0, Handler, tls)
        self.url = self._server.url

    def __enter__(self) -> ForwardProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _relay(one: socket.socket, other: socket.socket) -> None:
    """Bytes both ways between two sockets until either closes or both idle 30 s."""
    peer = {one: other, other: one}
    while readable := select.select([one, other], [], [], 30)[0]:
        for end in readable:
            data = end.recv(65536)
            if not data:
                return
            peer[end].sendall(data)
