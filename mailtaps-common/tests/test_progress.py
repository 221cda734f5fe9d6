"""Progress lines: at most every N seconds while windows finish, and once at the end."""

from __future__ import annotations

import logging

from mailtaps_common.progress import Progress


def test_progress_is_logged_at_most_every_interval_and_at_the_end(caplog):
    now = [0.0]
    progress = Progress(
        logging.getLogger("tap-x"), "domain 7", every_seconds=30, clock=lambda: now[0]
    )
    with caplog.at_level(logging.INFO):
        for minute, records in enumerate([10, 0, 5, 7]):
            now[0] = 20.0 * (minute + 1)  # a window every 20 s
            progress.step(records, f"T{minute}", f"T{minute + 1}")
        progress.done()
    assert [r.getMessage() for r in caplog.records] == [
        "domain 7 progress: 2 windows, 10 records, covering T0 to T2",  # at 40 s
        "domain 7 progress: 4 windows, 22 records, covering T0 to T4",  # at 80 s
        "domain 7 done: 4 windows, 22 records, covering T0 to T4",
    ]
