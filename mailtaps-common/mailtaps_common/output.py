"""How the taps write Singer messages: msgspec, RECORDs gathered into 64 KiB writes,
stdout flushed at each message that is not a RECORD, and STATE never deep-copied.

The SDK's msgspec writer flushes stdout after every message: one system call per
record. Here RECORDs are gathered in the writer's own buffer and written to stdout
64 KiB at a time, whatever buffering stdout has (``PYTHONUNBUFFERED=1``, common in
container images, makes it write each record on its own otherwise), and every other
message (SCHEMA, STATE, ACTIVATE_VERSION, BATCH) writes out what is gathered and
flushes, so a STATE never waits in a buffer and is never visible before the records
it covers (the stream keeps its order). Each stream's sync ends with a STATE (the
SDK writes its last one, or the state writer flushes when it did not change), and the
process writes what is left when it exits. A tap killed mid-run loses only buffered
records no STATE has covered yet, which the next run reads again.

For each STATE the SDK deep-copies the whole state twice: once to turn the message
into a dict (``dataclasses.asdict``), once to remember what it last wrote.
tap-rediffmail's state holds a day's counts of rows without a timestamp (thousands
of entries), and those copies cost a tenth of its run time. Here the state is
encoded as it is, and what was last written is remembered as its encoded bytes;
the messages are the same.
"""

from __future__ import annotations

import atexit
import contextlib
import sys
from datetime import datetime
from typing import Any

from singer_sdk.contrib.msgspec import MsgSpecWriter, encoder, serialize_jsonl
from singer_sdk.helpers._state import StateWriter
from singer_sdk.helpers.types import TapState
from singer_sdk.singerlib import Message, RecordMessage, StateMessage
from typing_extensions import override

from mailtaps_common.bases import TapMixin

RECORD_BUFFER_BYTES = 1 << 16


class BufferedRecordsWriter(MsgSpecWriter):
    """The taps' message writer (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._gathered = bytearray()

    @override
    def serialize_message(self, message: Message) -> bytearray:
        if isinstance(message, StateMessage):
            return serialize_jsonl({"type": "STATE", "value": message.value})
        return super().serialize_message(message)

    @override
    def write_message(self, message: Message) -> None:
        self._gathered += self.format_message(message)
        if not isinstance(message, RecordMessage):
            self.flush()
        elif len(self._gathered) >= RECORD_BUFFER_BYTES:
            self._write_gathered()

    def write_record(
        self, stream: str, record: dict[str, Any], version: int | None, time_extracted: datetime
    ) -> None:
        """The RECORD message the SDK would write for these fields, byte for byte (same
        keys in the same order, the same encoder), without building it as an object
        first (:class:`~mailtaps_common.selection.WholeRecords`)."""
        gathered = self._gathered
        start = len(gathered)
        try:
            gathered += b'{"type":"RECORD","stream":'
            encoder.encode_into(stream, gathered, -1)
            gathered += b',"record":'
            encoder.encode_into(record, gathered, -1)
            if version is not None:
                gathered += b',"version":%d' % version
            gathered += b',"time_extracted":'
            encoder.encode_into(time_extracted, gathered, -1)
            gathered += b"}\n"
        except BaseException:
            del gathered[start:]  # never half a line on stdout
            raise
        if len(gathered) >= RECORD_BUFFER_BYTES:
            self._write_gathered()

    def flush(self) -> None:
        """Write out the gathered records and flush stdout."""
        self._write_gathered()
        sys.stdout.flush()

    def _write_gathered(self) -> None:
        """Write out all that is gathered. Unbuffered, stdout is a raw file whose write
        may take part of it (a signal during a write to a pipe), so it goes on until all
        is taken."""
        out = sys.stdout.buffer
        taken = 0
        with memoryview(self._gathered) as gathered:
            while taken < len(gathered):
                taken += out.write(gathered[taken:]) or 0
        self._gathered.clear()


class EncodedStateWriter(StateWriter):
    """Writes a STATE when the state changed since the last one, as the SDK's does,
    telling by the encoded bytes instead of a deep copy."""

    def __init__(self, message_writer: Any) -> None:
        super().__init__(message_writer)
        self._last_encoded: bytes | None = None

    @override
    def write_state(self, state: TapState) -> None:
        encoded = encoder.encode(state)  # the SDK writer's encoder: anything it writes
        if encoded != self._last_encoded:
            self._message_writer.write_message(StateMessage(value=state))
            self._last_encoded = encoded
        elif isinstance(self._message_writer, BufferedRecordsWriter):
            self._message_writer.flush()  # the records the unchanged state covers


class BufferedOutput(TapMixin):
    """Mix into a ``Tap`` (before it): its messages go through the writers above."""

    message_writer_class = BufferedRecordsWriter

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._state_writer = EncodedStateWriter(self.message_writer)
        if isinstance(self.message_writer, BufferedRecordsWriter):
            atexit.register(_flush_at_exit, self.message_writer)


def _flush_at_exit(writer: BufferedRecordsWriter) -> None:
    """Records written after the last STATE (a failed run), unless stdout is gone."""
    with contextlib.suppress(OSError, ValueError):
        writer.flush()
