"""The taps' writer writes what the SDK's msgspec writer writes, byte for byte."""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from mailtaps_common.output import BufferedRecordsWriter, EncodedStateWriter
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import Message, RecordMessage, SchemaMessage, StateMessage

RECORDS: list[dict[str, Any]] = [
    {"id": "a", "n": 1, "f": 0.5, "ok": True, "none": None},
    {
        "id": 2,
        "nested": {"list": [1, "two", {"x": None}], "empty": {}},
        "text": "Zoë \u2603 \ufffd",
    },
    {"id": "d", "amount": Decimal("12.50"), "at": "2026-12-03T10:00:00+00:00"},
    {},
]
EXTRACTED = datetime(2026, 12, 3, 10, 11, 12, 345678, tzinfo=UTC)


class Captured:
    """What a writer put on stdout (its binary buffer) during the block."""

    value = b""

    def __enter__(self) -> Captured:
        self.stdout = sys.stdout
        self.bytes = io.BytesIO()
        self.wrapper = io.TextIOWrapper(self.bytes, write_through=True)
        sys.stdout = self.wrapper
        return self

    def __exit__(self, *exc: object) -> None:
        self.wrapper.flush()
        self.value = self.bytes.getvalue()
        sys.stdout = self.stdout


def sdk_bytes(*messages: Message) -> bytes:
    with Captured() as out:
        for message in messages:
            MsgSpecWriter().write_message(message)
    return out.value


@pytest.mark.parametrize("version", [None, 1764756672])
@pytest.mark.parametrize("record", RECORDS)
def test_write_record_gives_the_sdks_bytes(record: dict[str, Any], version: int | None) -> None:
    with Captured() as out:
        BufferedRecordsWriter().write_record("domain_logs", dict(record), version, EXTRACTED)
    message = RecordMessage("domain_logs", dict(record), version=version, time_extracted=EXTRACTED)
    assert out.value == sdk_bytes(message)


def test_state_and_other_messages_give_the_sdks_bytes() -> None:
    state = {"bookmarks": {"s": {"replication_key_value": "2026-12-03", "counts": {"a": {"b": 1}}}}}
    messages: list[Message] = [
        SchemaMessage("s", {"type": "object", "properties": {}}, ["id"]),
        RecordMessage("s", {"id": 1}, time_extracted=EXTRACTED),
        StateMessage(state),
    ]
    with Captured() as out:
        writer = BufferedRecordsWriter()
        for message in messages:
            writer.write_message(message)
    assert out.value == sdk_bytes(*messages)


def test_state_is_written_when_it_changed_only() -> None:
    state: dict[str, Any] = {"bookmarks": {"s": {"replication_key_value": "1"}}}
    with Captured() as out:
        writer = EncodedStateWriter(BufferedRecordsWriter())
        writer.write_state(state)  # type: ignore[arg-type]  # a plain dict as the SDK passes it
        writer.write_state(state)  # type: ignore[arg-type]
        state["bookmarks"]["s"]["replication_key_value"] = "2"  # changed in place, as the SDK does
        writer.write_state(state)  # type: ignore[arg-type]
    lines = out.value.splitlines()
    assert len(lines) == 2
    assert b'"1"' in lines[0]
    assert b'"2"' in lines[1]
