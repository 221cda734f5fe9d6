"""The throughput benchmark at toy scale, so it keeps working (its figures are not
asserted): the tap and the raw reference read the same directory and write as many
records, and the tap writes the same records whatever its number of workers."""

from __future__ import annotations

from pathlib import Path

from sandbox.testing import load_script

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "throughput.py"


def test_throughput_benchmark_runs_tap_and_raw_reference() -> None:
    benchmark = load_script(SCRIPT)

    tap, raw, calls = benchmark.measure(domains=2, users=10, aliases=2, rounds=1)
    assert raw.records > 20
    assert tap.records == raw.records
    assert calls > 10

    one, two = benchmark.scaling(domains=2, users=10, aliases=2, latency=0.001, workers=[1, 2])
    assert one.records == two.records == tap.records
    print(benchmark.report_scaling(0.001, [1, 2], [one, two]))
