"""Progress of long reads: a backfill of weeks runs for hours, and a log that only
says "Read window ..." never tells how far along it is.

After each finished window the tap calls :meth:`Progress.step`; at most every
``every_seconds`` (and so at least once a minute while windows keep finishing) it
logs one INFO line with the windows done, the records so far and the time range
covered. :meth:`Progress.done` logs the same counts once at the end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

EVERY_SECONDS = 30.0


class Progress:
    def __init__(
        self,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
        what: str,
        every_seconds: float = EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.what = what
        self.every_seconds = every_seconds
        self.clock = clock
        self.windows = 0
        self.records = 0
        self.start: str | None = None
        self.end: str | None = None
        self._logged_at = clock()

    def step(self, records: int, start: str, end: str) -> None:
        """One more window ``[start, end)`` finished with ``records`` records."""
        self.windows += 1
        self.records += records
        self.start = self.start or start
        self.end = end
        if self.clock() - self._logged_at >= self.every_seconds:
            self._log("progress")

    def done(self) -> None:
        if self.windows:
            self._log("done")

    def _log(self, label: str) -> None:
        self._logged_at = self.clock()
        self.logger.info(
            "%s %s: %d windows, %d records, covering %s to %s",
            self.what, label, self.windows, self.records, self.start, self.end,
        )  # fmt: skip
