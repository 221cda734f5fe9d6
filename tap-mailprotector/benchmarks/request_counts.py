"""HTTP requests tap-mailprotector uses against the minimum possible for the volume.

Runs the tap (a real process) against the sandbox in a few scenarios and prints, per
scenario: entries read, log requests used, the minimum (every page full, one query per
domain: sum of ceil(entries / page size)), and, as a baseline computed from the same
ground truth, what a Stellar-Cyber-style reader (one query per 5-minute interval, the
first 5000 records only) would use and lose.

    uv run python tap-mailprotector/benchmarks/request_counts.py
"""

from __future__ import annotations

import math
import time
from collections import Counter
from typing import Any

from sandbox.mailprotector import DEMO_API_KEY
from sandbox.testing import run_tap

from sandbox import RunningSandbox, make_app

DOMAINS = (102, 103, 104, 105)
SCENARIOS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("14 days, hot 5-minute burst of 8000 (defaults)", {}, {}),
    (
        "same, no X-Pagination, cap answered by 422",
        {"pagination_header": False, "cap_style": "422"},
        {},
    ),
    ("same, unstable order of equal timestamps", {"unstable_ties": True}, {}),
    (
        "hour burst of 20x a cap of 200, page 50",
        {
            "result_cap": 200,
            "page_size_max": 50,
            "bursts": [
                {
                    "domain_id": 105,
                    "ago_seconds": 7200,
                    "seconds": 3600,
                    "count": 4000,
                    "tie_group": 120,
                }
            ],
        },
        {"result_cap": 200, "page_size": 50},
    ),
]


def baseline(app: Any, domain_id: int, start_ms: int, end_ms: int, cap: int, page: int):
    """Requests and losses of one query per 5-minute interval, capped."""
    per_interval = Counter(e["_ms"] // 300_000 for e in app.entries(domain_id, start_ms, end_ms))
    intervals = range(start_ms // 300_000, (end_ms - 1) // 300_000 + 1)
    used = sum(max(1, math.ceil(min(per_interval[i], cap) / page)) for i in intervals)
    lost = sum(max(0, n - cap) for n in per_interval.values())
    return used, lost


def main() -> None:
    header = f"{'scenario':<50} {'entries':>8} {'requests':>9} {'minimum':>8} {'ratio':>6} "
    print(header + f"{'5-min baseline':>15} {'baseline lost':>14} {'seconds':>8}")
    for label, settings, overrides in SCENARIOS:
        app = make_app("mailprotector", **settings)
        with RunningSandbox(app) as sandbox:
            config = {
                "api_key": DEMO_API_KEY,
                "base_url": sandbox.url,
                "reseller_id": 343,
                "settle_delay_seconds": 0,
                **overrides,
            }
            began = time.perf_counter()
            run = run_tap("tap-mailprotector", config)
            seconds = time.perf_counter() - began
            assert run.returncode == 0, run.stderr[-2000:]
            end_ms = int(time.time() * 1000)
            start_ms = end_ms - 14 * 86_400_000
            page = overrides.get("page_size", 100)
            cap = overrides.get("result_cap", 5000)
            counts = Counter(r["domain_id"] for r in run.records("domain_logs"))
            minimum = sum(max(1, math.ceil(counts[d] / page)) for d in DOMAINS)
            used = sum(1 for r in app.api_calls("/api/v1/domains/") if r.path.endswith("/logs"))
            base_used = base_lost = 0
            for domain_id in DOMAINS:
                u, lost = baseline(app, domain_id, start_ms, end_ms, cap, page)
                base_used += u
                base_lost += lost
            print(
                f"{label:<50} {sum(counts.values()):>8} {used:>9} {minimum:>8} "
                f"{used / minimum:>6.2f} {base_used:>15} {base_lost:>14} {seconds:>8.1f}"
            )


if __name__ == "__main__":
    main()
