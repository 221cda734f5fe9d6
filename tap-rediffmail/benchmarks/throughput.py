"""Throughput and memory of tap-rediffmail against a busy sandbox.

Prints records/s and peak RSS of the tap (a real process, as Meltano runs it) next to
a baseline measured in this same process: the same windows fetched with requests and
each row written with json.dumps, the floor any tap pays. Run:

    uv run python tap-rediffmail/benchmarks/throughput.py [--hours 24] [--mails-per-hour 4000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
from sandbox.rediffmail import DEMO_DOMAIN, DEMO_PASSWORD, DEMO_USER

from sandbox import RunningSandbox, make_app

START_ISO = "2026-11-15T00:00:00+00:00"
START = int(datetime.fromisoformat(START_ISO).timestamp())


def baseline(url: str, start: int, end: int, window: int) -> tuple[int, float]:
    """Plain Python: one POST per window, json.dumps per row to /dev/null."""
    import base64

    rows = 0
    began = time.perf_counter()
    with open(os.devnull, "w") as sink:
        for t0 in range(start, end, window):
            form = {
                "domain": DEMO_DOMAIN,
                "user_email": DEMO_USER,
                "passwd": base64.b64encode(DEMO_PASSWORD.encode()).decode(),
                "fromtime_epoch": str(t0),
                "totime_epoch": str(min(t0 + window, end)),
            }
            data = requests.post(url, data=form, timeout=300).json()["data"]
            for report in data.values():
                for row in report or []:
                    sink.write(json.dumps(row) + "\n")
                    rows += 1
    return rows, time.perf_counter() - began


def run_tap(config: dict) -> tuple[int, float, float]:
    """(records, seconds, peak RSS in MB) of one tap process."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(config, handle)
    began = time.perf_counter()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "tap-rediffmail"), "--config", handle.name],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    records = sum(1 for line in proc.stdout if line.startswith(b'{"type":"RECORD"'))
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - began
    os.unlink(handle.name)
    if proc.returncode:
        sys.exit(f"tap failed with exit code {proc.returncode}")
    return records, seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--mails-per-hour", type=float, default=1500)
    args = parser.parse_args()

    app = make_app("rediffmail", mails_per_hour=args.mails_per_hour, activities_per_hour=200)
    with RunningSandbox(app) as sandbox:
        url = f"{sandbox.url}/logs/get"
        end = START + args.hours * 3600
        baseline(url, START, end, 3600)  # warm the sandbox's per-hour data
        rows, base_s = baseline(url, START, end, 3600)
        print(f"rows in period: {rows:,} ({args.hours} h)")
        print(f"baseline  requests + json.dumps:  {rows / base_s:>9,.0f} rows/s")

        config = {
            "api_url": url,
            "domain": DEMO_DOMAIN,
            "user_email": DEMO_USER,
            "password": DEMO_PASSWORD,
            "start_date": START_ISO,
            "end_date": datetime.fromtimestamp(end, UTC).isoformat(),
            "min_seconds_between_calls": 0,
        }
        for label, overrides in (
            ("tap, 60 min windows", {"window_minutes": 60}),
            ("tap, 24 h grid, max 20k rows/window", {"window_minutes": 1440}),
            (
                "tap, 24 h grid, no window bound",
                {"window_minutes": 1440, "max_rows_per_window": 10**9},
            ),
        ):
            app.requests.clear()
            records, seconds, peak_mb = run_tap({**config, **overrides})
            calls = len(app.api_calls("/logs/get"))
            print(
                f"{label:<38} {records / seconds:>9,.0f} records/s  "
                f"ratio {records / seconds / (rows / base_s):.2f}  "
                f"calls {calls:>3}  peak RSS {peak_mb:,.0f} MB"
            )


if __name__ == "__main__":
    main()
