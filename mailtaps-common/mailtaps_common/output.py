"""Singer messages go to stdout encoded with msgspec, flushed at each message that is
not a RECORD.

The SDK's msgspec writer flushes stdout after every message: one system call per
record. Here RECORDs fill the buffer and every other message (SCHEMA, STATE,
ACTIVATE_VERSION, BATCH) flushes it, so a STATE never waits in the buffer and is
never visible before the records it covers (the stream keeps its order). A tap
killed mid-run loses only buffered records no STATE has covered yet, which the
next run reads again.
"""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import Message, RecordMessage
from typing_extensions import override


class BufferedRecordsWriter(MsgSpecWriter):
    """``message_writer_class`` of the taps."""

    @override
    def write_message(self, message: Message) -> None:
        sys.stdout.buffer.write(self.format_message(message))
        if not isinstance(message, RecordMessage):
            sys.stdout.flush()
