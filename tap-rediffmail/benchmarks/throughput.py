"""Records/s and peak RSS of tap-rediffmail against a raw reference on the same answers.

The tap runs as a real process (as Meltano runs it) with 60-minute windows; the raw
reference (plain Python, its own process) makes the same calls, one POST per hour
over one kept-alive connection, one ``orjson.loads`` per answer and one
``orjson.dumps`` per row to a buffered stdout. They alternate; the best round of
each is printed with the ratio. Then the tap's peak RSS with one window per day and
no row bound (each call answers a whole day), at two volumes, for memory.

    uv run python tap-rediffmail/benchmarks/throughput.py [--hours 24] [--mails-per-hour 1500]
        [--rounds 2] [--memory-mails-per-hour 1200 2400]
"""

from __future__ import annotations

import argparse
import base64
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
from sandbox.rediffmail import DEMO_DOMAIN, DEMO_PASSWORD, DEMO_USER

from sandbox import RunningSandbox, make_app

START_ISO = "2026-11-15T00:00:00+00:00"
START = int(datetime.fromisoformat(START_ISO).timestamp())
HOUR = 3600
REPORTS = ("outbound_mail_delivery_report", "activity_report")


def raw_reference(args: dict[str, Any], sink: RecordSink) -> None:
    import orjson

    client = KeepAlive(args["url"])
    for start in range(args["start"], args["end"], HOUR):
        form = urlencode(
            {
                "domain": DEMO_DOMAIN,
                "user_email": DEMO_USER,
                "passwd": base64.b64encode(DEMO_PASSWORD.encode()).decode(),
                "fromtime_epoch": str(start),
                "totime_epoch": str(min(start + HOUR, args["end"])),
            }
        ).encode()
        body = orjson.loads(
            client.call("POST", "", form, **{"Content-Type": "application/x-www-form-urlencoded"})
        )
        for name in REPORTS:
            for row in body["data"].get(name) or []:
                sink.write(name, row)


def tap_config(url: str, start: int, end: int, **overrides: Any) -> dict[str, Any]:
    return {
        "api_url": url,
        "domain": DEMO_DOMAIN,
        "user_email": DEMO_USER,
        "password": DEMO_PASSWORD,
        "start_date": datetime.fromtimestamp(start, UTC).isoformat(),
        "end_date": datetime.fromtimestamp(end, UTC).isoformat(),
        "min_seconds_between_calls": 0,
        **overrides,
    }


def measure(hours: int, mails_per_hour: float, rounds: int) -> tuple[Timing, Timing, int]:
    """(tap, raw, calls per run) with 60-minute windows: best of ``rounds`` each."""
    app = make_app("rediffmail", mails_per_hour=mails_per_hour, activities_per_hour=200)
    with RunningSandbox(app) as sandbox:
        url = f"{sandbox.url}/logs/get"
        end = START + hours * HOUR
        raw_args = {"url": url, "start": START, "end": end}
        config = tap_config(url, START, end, window_minutes=60)
        run_raw(__file__, raw_args)  # warm the sandbox: every hour answered once
        results = list(
            alternate(
                rounds,
                lambda: run_raw(__file__, raw_args),
                lambda: run_tap_process("tap-rediffmail", config),
            )
        )
        calls = len(app.api_calls("/logs/get")) // (rounds * 2 + 1)
    return best([r[1] for r in results]), best([r[0] for r in results]), calls


def day_window_memory(mails_per_hour: float) -> Timing:
    """The tap reading one whole day in one call (24-hour grid, no row bound)."""
    app = make_app("rediffmail", mails_per_hour=mails_per_hour, activities_per_hour=200)
    with RunningSandbox(app) as sandbox:
        url = f"{sandbox.url}/logs/get"
        config = tap_config(
            url, START, START + 24 * HOUR, window_minutes=1440, max_rows_per_window=10**9
        )
        return run_tap_process("tap-rediffmail", config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--mails-per-hour", type=float, default=1500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--memory-mails-per-hour", type=float, nargs="*", default=[1200, 2400],
        help="volumes of the one-day-window memory runs (none: skip them)",
    )  # fmt: skip
    args = parser.parse_args()
    tap, raw, calls = measure(args.hours, args.mails_per_hour, args.rounds)
    print(report(f"tap-rediffmail, {args.hours} h in 60-minute windows, {calls} calls", tap, raw))
    for volume in args.memory_mails_per_hour:
        timing = day_window_memory(volume)
        print(
            f"tap-rediffmail, one 24-hour window of {timing.records:,} rows: peak RSS "
            f"{timing.peak_rss_mb:,.0f} MB, {timing.rate:,.0f} rec/s"
        )


if __name__ == "__main__":
    if not raw_main(raw_reference):
        main()
