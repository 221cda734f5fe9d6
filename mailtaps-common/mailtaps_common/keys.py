"""Records without a primary key are skipped, counted and reported, never emitted.

A target upserts on the primary key: a record whose key is null (or missing) is
refused by the target or, worse, loaded as a row no later run can update. Such
records are left out; one WARNING per stream at the end of the sync names how
many and which key field was empty.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from typing_extensions import override

from mailtaps_common.bases import StreamMixin


class KeyedRecords(StreamMixin):
    """Stream mixin: ``post_process`` drops records with a null or missing key field;
    ``log_sync_costs`` (called by the SDK at the end of the sync) reports them."""

    @override
    def post_process(
        self, row: dict[str, Any], context: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        processed = super().post_process(row, context)
        if processed is None:
            return None
        for key in self.primary_keys or ():
            if processed.get(key) is None:
                if not hasattr(self, "_keyless"):
                    self._keyless: Counter[str] = Counter()
                self._keyless[key] += 1
                return None
        return processed

    @override
    def log_sync_costs(self) -> None:
        super().log_sync_costs()
        for key, count in sorted(getattr(self, "_keyless", {}).items()):
            self.logger.warning(
                "%s: skipped %d records without a value for the primary key field '%s'; "
                "they were not emitted",
                self.name, count, key,
            )  # fmt: skip
