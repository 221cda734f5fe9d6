"""Records/s of tap-mailprotector against a raw reference on the same pages.

One busy domain (about 200k entries over the 14 retained days by default). The tap
runs as a real process; the raw reference (plain Python, its own process) makes the
same log queries over one kept-alive connection: pages of 100 in ascending order,
a query cut by the 5000-record cap continuing from the last timestamp it saw, one
``orjson.loads`` per page and one ``orjson.dumps`` per record to a buffered stdout.
They alternate; the best round of each is printed with the ratio.

    uv run python tap-mailprotector/benchmarks/throughput.py [--per-hour 600] [--rounds 2]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sandbox.benchmarking import (
    KeepAlive,
    RecordSink,
    Timing,
    alternate,
    best,
    raw_main,
    report,
    run_raw,
)
from sandbox.benchmarking import run_tap as run_tap_process
from sandbox.mailprotector import DEMO_API_KEY

from sandbox import RunningSandbox, make_app

DOMAIN_ID = 102
PAGE_SIZE = 100
RESULT_CAP = 5000
RETENTION_MARGIN_MS = 5 * 60 * 1000  # the tap's own margin inside retention


def iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms // 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def to_ms(value: str) -> int:
    return round(datetime.fromisoformat(value).timestamp() * 1000)


def raw_reference(args: dict[str, Any], sink: RecordSink) -> None:
    import orjson

    client = KeepAlive(args["base_url"])
    auth = {"Authorization": f"Bearer {DEMO_API_KEY}", "Accept": "application/json"}
    start, end = args["start_ms"], args["end_ms"]
    while start < end:
        rows: list[dict[str, Any]] = []
        for page in range(1, RESULT_CAP // PAGE_SIZE + 1):
            query = urlencode(
                {
                    "page": page,
                    "page_size": PAGE_SIZE,
                    "sort_field": "received_at",
                    "sort_direction": "asc",
                    "received_at[geq]": iso(start),
                    "received_at[lt]": iso(end),
                }
            )
            body = orjson.loads(
                client.call("GET", f"/api/v1/domains/{DOMAIN_ID}/logs?{query}", **auth)
            )
            rows.extend(body)
            if len(body) < PAGE_SIZE:
                break
        if len(rows) >= RESULT_CAP:  # capped: complete up to the last timestamp seen
            last = rows[-1]["received_at"]
            rows = [row for row in rows if row["received_at"] < last]
            start = to_ms(last)
        else:
            start = end
        for row in rows:
            sink.write("domain_logs", row)


def measure(per_hour: float, rounds: int) -> tuple[Timing, Timing, int]:
    """(tap, raw, log calls per run): the best of ``rounds`` alternating runs each."""
    app = make_app("mailprotector", volumes={DOMAIN_ID: per_hour}, bursts=[])
    with RunningSandbox(app) as sandbox:
        now_ms = int(time.time() * 1000)
        raw_args = {
            "base_url": sandbox.url,
            "start_ms": now_ms - 14 * 86_400_000 + RETENTION_MARGIN_MS,
            "end_ms": now_ms,
        }
        config = {
            "api_key": DEMO_API_KEY,
            "base_url": sandbox.url,
            "domain_ids": [DOMAIN_ID],
            "settle_delay_seconds": 0,
        }
        run_raw(__file__, raw_args)  # warm the sandbox: every page encoded once
        calls_before = len(app.api_calls("/api/v1/domains/"))
        results = list(
            alternate(
                rounds,
                lambda: run_raw(__file__, raw_args),
                lambda: run_tap_process("tap-mailprotector", config),
            )
        )
        calls = (len(app.api_calls("/api/v1/domains/")) - calls_before) // (rounds * 2)
    return best([r[1] for r in results]), best([r[0] for r in results]), calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-hour", type=float, default=600, help="entries per hour")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    tap, raw, calls = measure(args.per_hour, args.rounds)
    print(report(f"tap-mailprotector, 1 domain, ~{calls} calls", tap, raw))


if __name__ == "__main__":
    if not raw_main(raw_reference):
        main()
