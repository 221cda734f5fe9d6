"""Records of a stream whose catalog deselects nothing are written as they are.

For every record the SDK walks each property (nested objects too) to remove the
deselected ones, about a tenth of a log tap's time when the catalog, as usual,
deselects nothing. A stream that types its own records (its
``TYPE_CONFORMANCE_LEVEL`` is ``NONE``) then has nothing left for the SDK to do to
a record but hand it to the stream maps, so this skips the walk in that case.

When, besides, no stream map or flattening is configured, the record goes straight
to the writer (:meth:`~mailtaps_common.output.BufferedRecordsWriter.write_record`)
as the same bytes the SDK would write, without a message object per record
(a few percent more). With any property deselected, or with conformance on, the SDK's
own path runs.

And for each record of a stream without child streams the SDK makes a child
context (a copy of the record) to sync no children with; here it makes none.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from functools import cached_property
from typing import Any

from singer_sdk import singerlib as singer
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context
from singer_sdk.mapper import SameRecordTransform
from typing_extensions import override

from mailtaps_common.bases import StreamMixin
from mailtaps_common.output import BufferedRecordsWriter


class WholeRecords(StreamMixin):
    """Stream mixin (before the SDK stream class): no per-record deselection walk when
    the catalog selects every property and the stream does its own typing."""

    @cached_property
    def _records_whole(self) -> bool:
        """Nothing to deselect or conform: the stream types its own records and the
        catalog selects every property."""
        return self.TYPE_CONFORMANCE_LEVEL == TypeConformanceLevel.NONE and all(self.mask.values())

    @cached_property
    def _direct_writer(self) -> BufferedRecordsWriter | None:
        """The writer records go straight to: whole records, the stream's own name and
        no map or flattening, and the taps' writer. None: the SDK's path."""
        maps = self.stream_maps
        writer = self._tap.message_writer
        direct = (
            self._records_whole
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and not maps[0].flattening_enabled
            and maps[0].stream_alias == self.name
        )
        return writer if direct and isinstance(writer, BufferedRecordsWriter) else None

    @override
    def _write_record_message(self, record: dict[str, Any]) -> None:
        writer = self._direct_writer
        if writer is None:
            super()._write_record_message(record)
            return
        writer.write_record(self.name, record, self._stream_version, utc_now())
        self.state_manager.is_flushed = False  # as the SDK's method does

    @override
    def _generate_record_messages(
        self, record: dict[str, Any]
    ) -> Generator[singer.RecordMessage, None, None]:
        if not self._records_whole:
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

    @override
    def generate_child_contexts(
        self, record: dict[str, Any], context: Context | None
    ) -> Iterable[Context | None]:
        if not self.child_streams:
            return ()
        return super().generate_child_contexts(record, context)
