"""The benchmark script at toy scale, so it keeps working (its figures are not asserted)."""

from __future__ import annotations

from pathlib import Path

from sandbox.testing import load_script

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "concurrency.py"


def test_benchmark_runs_complete_syncs() -> None:
    benchmark = load_script(SCRIPT)

    timings = benchmark.measure(domains=2, users=10, aliases=3, latency=0.001, workers=[1, 4])
    benchmark.report(timings)
    assert [t.workers for t in timings] == [1, 4]
    assert timings[0].records == timings[1].records
    assert timings[0].records["users"] == 20
    assert timings[0].api_calls == timings[1].api_calls
