"""Benchmark harness shared by the taps' ``benchmarks/`` scripts: time a tap process
and a raw reference process on the same sandbox, alternating, and compare.

Both sides are real processes whose stdout is counted by the same reader here, so
the consumer costs both the same. A raw reference is a plain function run in a
child process (``python SCRIPT --raw ARGS``): it makes the tap's calls over one
kept-alive connection, parses each response once and writes each record with
``orjson.dumps`` to one buffered stdout, the floor any Python tap pays.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

BIN = Path(sys.executable).parent
RECORD_PREFIX = b'{"type":"RECORD"'


@dataclass
class Timing:
    records: int
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float  # the process's own user + system time

    @property
    def rate(self) -> float:
        return self.records / self.seconds


def run_counted(cmd: list[str], env: dict[str, str] | None = None) -> Timing:
    """Run ``cmd``, count the RECORD lines it writes, and return its time and peak RSS.

    The lines are counted by a process of their own (:func:`counter_main`), as a target
    would read them: counted here, the reads would wait for the GIL while the sandbox,
    in this process, answers a call, and the process writing would stall on a full pipe.
    """
    read_end, write_end = os.pipe()
    counter = subprocess.Popen(
        [sys.executable, "-m", "sandbox.benchmarking", "--count"],
        stdin=read_end, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    os.close(read_end)
    assert counter.stdout is not None
    if counter.stdout.readline() != "ready\n":  # imported: it reads as soon as lines come
        sys.exit("the benchmark's record counter did not start")
    with tempfile.TemporaryFile() as errors:  # a file: a full stderr pipe would stall
        began = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=write_end, stderr=errors, env={**os.environ, **(env or {})}
        )
        os.close(write_end)
        peak = PeakRSS(proc.pid)
        peak.start()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        records = int(counter.communicate()[0])
        seconds = time.perf_counter() - began
        peak.join()
        if proc.returncode:
            errors.seek(0)
            tail = errors.read()[-3000:].decode(errors="replace")
            sys.exit(f"{Path(cmd[0]).name} failed with exit code {proc.returncode}:\n{tail}")
    return Timing(records, seconds, peak.kib / 1024, usage.ru_utime + usage.ru_stime)


class PeakRSS(threading.Thread):
    """Samples a process's ``VmHWM`` (its own peak RSS) until it exits. ``ru_maxrss``
    would not do: a child starts with its parent's (the sandbox's) high-water mark."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.path = Path(f"/proc/{pid}/status")
        self.kib = 0

    def run(self) -> None:
        while True:
            try:
                status = self.path.read_text()
            except OSError:
                return
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    self.kib = max(self.kib, int(line.split()[1]))
            if "State:\tZ" in status or not any(
                line.startswith("VmHWM:") for line in status.splitlines()
            ):
                return
            time.sleep(0.02)


def count_records(stream: BinaryIO) -> int:
    """Lines starting ``{"type":"RECORD"``, counted in large chunks (cheap for the reader)."""
    count = 0
    tail = b"\n"  # the first line counts as if a line ended before it
    # One byte short of a whole b"\n" + RECORD_PREFIX: a match across two chunks is
    # counted once, and one already counted in the last chunk is not counted again.
    keep = len(RECORD_PREFIX)
    while chunk := stream.read(1 << 20):
        data = tail + chunk
        count += data.count(b"\n" + RECORD_PREFIX)
        tail = data[-keep:]
    return count


def run_tap(executable: str, config: dict[str, Any]) -> Timing:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(config))
        return run_counted([str(BIN / executable), "--config", str(path)])


def run_raw(script: str, args: dict[str, Any]) -> Timing:
    """Run ``script``'s raw reference (see :func:`raw_main`) as its own process."""
    return run_counted([sys.executable, script, "--raw", json.dumps(args)])


def raw_main(reference: Callable[[dict[str, Any], RecordSink], None]) -> bool:
    """In a benchmark script's ``__main__``: run ``reference`` if called with ``--raw``."""
    if len(sys.argv) != 3 or sys.argv[1] != "--raw":
        return False
    with RecordSink() as sink:
        reference(json.loads(sys.argv[2]), sink)
    return True


class RecordSink:
    """One buffered stdout; each record written as a Singer RECORD line with orjson."""

    def __init__(self) -> None:
        import orjson

        self._dumps = orjson.dumps
        self._out = open(sys.stdout.fileno(), "wb", buffering=1 << 16, closefd=False)  # noqa: SIM115

    def write(self, stream: str, record: dict[str, Any]) -> None:
        self._out.write(self._dumps({"type": "RECORD", "stream": stream, "record": record}))
        self._out.write(b"\n")

    def __enter__(self) -> RecordSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self._out.flush()


class KeepAlive:
    """One HTTP/1.1 connection for every call of a raw reference."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.prefix = parts.path.rstrip("/")
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)

    def call(self, method: str, path: str, body: bytes | None = None, **headers: str) -> bytes:
        self.connection.request(method, self.prefix + path, body=body, headers=headers)
        response = self.connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: HTTP {response.status}")
        return payload


def alternate(rounds: int, *sides: Callable[[], Timing]) -> Iterator[list[Timing]]:
    """Each side once per round, in turn, so load on the machine hits all alike."""
    for _ in range(rounds):
        yield [side() for side in sides]


def best(timings: list[Timing]) -> Timing:
    return max(timings, key=lambda timing: timing.rate)


def report(label: str, tap: Timing, raw: Timing) -> str:
    return (
        f"{label}\n  tap {tap.rate:>9,.0f} rec/s  raw {raw.rate:>9,.0f} rec/s  "
        f"ratio {tap.rate / raw.rate:.2f}\n  records: tap {tap.records:,}, raw {raw.records:,}; "
        f"CPU: tap {tap.cpu_seconds:.1f} s, raw {raw.cpu_seconds:.1f} s; "
        f"peak RSS: tap {tap.peak_rss_mb:,.0f} MB, raw {raw.peak_rss_mb:,.0f} MB"
    )


def counter_main() -> None:
    """``python -m sandbox.benchmarking --count``: say ready, then print how many
    RECORD lines stdin holds."""
    print("ready", flush=True)
    print(count_records(sys.stdin.buffer))


if __name__ == "__main__" and sys.argv[1:] == ["--count"]:
    counter_main()
