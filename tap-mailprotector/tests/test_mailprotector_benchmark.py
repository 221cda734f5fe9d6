"""The throughput benchmark at toy scale, so it keeps working (its figures are not
asserted): the tap and the raw reference both run and read the same entries."""

from __future__ import annotations

from pathlib import Path

from sandbox.testing import load_script

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "throughput.py"


def test_throughput_benchmark_runs_tap_and_raw_reference() -> None:
    benchmark = load_script(SCRIPT)

    tap, raw, calls = benchmark.measure(per_hour=3, rounds=1)
    assert raw.records > 500
    assert abs(tap.records - raw.records) <= 2  # the tap's own "now" is a moment later
    assert calls > 10
