"""The throughput benchmark at toy scale, so it keeps working (its figures are not
asserted): the tap and the raw reference both run and read the same entries."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "throughput.py"


def test_throughput_benchmark_runs_tap_and_raw_reference() -> None:
    spec = importlib.util.spec_from_file_location("mailprotector_throughput", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)

    tap, raw, calls = benchmark.measure(per_hour=3, rounds=1)
    assert raw.records > 500
    assert abs(tap.records - raw.records) <= 2  # the tap's own "now" is a moment later
    assert calls > 10
