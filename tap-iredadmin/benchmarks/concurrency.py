"""Wall time of a full tap-iredadmin sync, one call at a time versus the default max_workers.

    uv run python tap-iredadmin/benchmarks/concurrency.py            # 50 domains x 1000 users
    uv run python tap-iredadmin/benchmarks/concurrency.py --domains 5 --users 100

The sandbox answers every call after ``--latency`` seconds (default 20 ms, a
server across a network); the tap runs as a real process. Each run is checked
for completeness against the sandbox's ground truth before its time is printed.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

from sandbox.iredadmin import DEMO_ADMIN, DEMO_PASSWORD, IRedAdminSandbox
from sandbox.testing import run_tap

from sandbox import RunningSandbox

DEFAULT_WORKERS = 8  # the tap's default max_workers


@dataclass
class Timing:
    workers: int
    seconds: float
    api_calls: int
    records: dict[str, int]


def expected_counts(app: IRedAdminSandbox, config: dict[str, Any]) -> dict[str, int]:
    truth = app.truth({})
    policies = sum(
        len(truth[kind]) for kind in ("spam", "throttle", "greylisting", "greylisting_whitelists")
    )
    if not config.get("user_policies"):
        policies -= sum(
            1
            for kind in ("spam", "greylisting", "greylisting_whitelists")
            for account in truth[kind]
            if not account.startswith("@")
        )
        policies -= sum(1 for key in truth["throttle"] if not key.startswith("@"))
    return {
        "domains": len(truth["domains"]),
        "users": len(truth["users"]),
        "aliases": len(truth["aliases"]),
        "mailing_lists": len(truth["mailing_lists"]),
        "policies": policies,
    }


def measure(
    *,
    domains: int,
    users: int,
    aliases: int,
    latency: float,
    workers: list[int],
    user_details: bool = False,
) -> list[Timing]:
    """One complete sync per worker count against the same sandbox."""
    started = time.perf_counter()
    app = IRedAdminSandbox(
        domains=domains, users_per_domain=users, aliases_per_domain=aliases, user_policy_share=0.0
    )
    print(
        f"sandbox: {domains} domains x {users} users, {aliases} aliases per domain, "
        f"built in {time.perf_counter() - started:.1f}s; {latency * 1000:.0f} ms per call"
    )
    app.faults.latency_seconds = latency
    timings = []
    with RunningSandbox(app) as sandbox:
        for count in workers:
            config = {
                "base_url": f"{sandbox.url}/iredadmin",
                "username": DEMO_ADMIN,
                "password": DEMO_PASSWORD,
                "max_workers": count,
                "user_details": user_details,
            }
            calls_before = len(app.requests)
            started = time.perf_counter()
            run = run_tap("tap-iredadmin", config, timeout=3600)
            seconds = time.perf_counter() - started
            if run.returncode != 0:
                raise RuntimeError(f"sync with {count} workers failed:\n{run.stderr[-2000:]}")
            records = dict(run.counts())
            expected = expected_counts(app, config)
            if records != expected:
                raise RuntimeError(f"incomplete sync: {records} != {expected}")
            timings.append(Timing(count, seconds, len(app.requests) - calls_before, records))
    return timings


def report(timings: list[Timing]) -> None:
    baseline = timings[0]
    for timing in timings:
        print(
            f"max_workers={timing.workers:<3} {timing.seconds:7.1f}s  "
            f"{timing.api_calls} API calls  {sum(timing.records.values())} records  "
            f"speed-up x{baseline.seconds / timing.seconds:.1f} against max_workers="
            f"{baseline.workers}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=50)
    parser.add_argument("--users", type=int, default=1000, help="per domain")
    parser.add_argument("--aliases", type=int, default=20, help="per domain")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per call")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, DEFAULT_WORKERS])
    parser.add_argument("--user-details", action="store_true", help="one more call per user")
    args = parser.parse_args()
    report(
        measure(
            domains=args.domains,
            users=args.users,
            aliases=args.aliases,
            latency=args.latency,
            workers=args.workers,
            user_details=args.user_details,
        )
    )


if __name__ == "__main__":
    main()
