"""The throughput benchmark at toy scale, so it keeps working (its figures are not
asserted): the tap and the raw reference both run on the same answers."""

from __future__ import annotations

from pathlib import Path

from sandbox.testing import load_script

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "throughput.py"


def test_throughput_benchmark_runs_tap_and_raw_reference() -> None:
    benchmark = load_script(SCRIPT)

    tap, raw, calls = benchmark.measure(hours=2, mails_per_hour=50, rounds=1)
    assert calls == 2
    assert raw.records > 100
    assert tap.records == raw.records + calls  # plus one report_windows record per window
    assert tap.peak_rss_mb > 0
