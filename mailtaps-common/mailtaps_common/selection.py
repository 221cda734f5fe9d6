"""Records of a stream whose catalog deselects nothing are written as they are.

For every record the SDK walks each property (nested objects too) to remove the
deselected ones, about a tenth of a log tap's time when the catalog, as usual,
deselects nothing. A stream that types its own records (its
``TYPE_CONFORMANCE_LEVEL`` is ``NONE``) then has nothing left for the SDK to do to
a record but hand it to the stream maps, so this skips the walk in that case.
With any property deselected, or with conformance on, the SDK's own path runs.
"""

from __future__ import annotations

from collections.abc import Generator
from functools import cached_property
from typing import Any

from singer_sdk import singerlib as singer
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from mailtaps_common.bases import StreamMixin


class WholeRecords(StreamMixin):
    """Stream mixin (before the SDK stream class): no per-record deselection walk when
    the catalog selects every property and the stream does its own typing."""

    @cached_property
    def _selects_every_property(self) -> bool:
        return all(self.mask.values())

    @override
    def _generate_record_messages(
        self, record: dict[str, Any]
    ) -> Generator[singer.RecordMessage, None, None]:
        if (
            self.TYPE_CONFORMANCE_LEVEL != TypeConformanceLevel.NONE
            or not self._selects_every_property
        ):
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            mapped_record = stream_map.transform(record)
            if mapped_record is not None:
                yield singer.RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped_record,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )
