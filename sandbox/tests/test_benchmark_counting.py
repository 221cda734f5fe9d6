"""The benchmarks count a process's RECORD lines in chunks as they arrive: each line once,
wherever the reads cut the stream."""

from __future__ import annotations

import io

import pytest
from sandbox.benchmarking import RECORD_PREFIX, count_records

LINE = RECORD_PREFIX + b',"stream":"s","record":{"id":1}}\n'


class ReadsOf(io.RawIOBase):
    """A pipe whose reads return ``size`` bytes at a time."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data, self.size = data, size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        out, self.data = self.data[: self.size], self.data[self.size :]
        return out


@pytest.mark.parametrize("first", [b"", b'{"type":"SCHEMA","stream":"s"}\n'])
def test_each_record_line_counts_once_wherever_the_reads_cut(first: bytes) -> None:
    data = first + LINE * 50 + b'{"type":"STATE","value":{}}\n'
    for size in range(1, 2 * len(LINE) + 2):
        assert count_records(ReadsOf(data, size)) == 50, size
