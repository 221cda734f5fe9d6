"""The taps' writer writes what the SDK's msgspec writer writes, byte for byte."""

from __future__ import annotations

import io
import json
import os
import subprocess
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
        writer = BufferedRecordsWriter()
        writer.write_record("domain_logs", dict(record), version, EXTRACTED)
        writer.flush()
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


def test_records_are_gathered_and_written_before_the_next_other_message() -> None:
    state = StateMessage({"bookmarks": {"s": {"replication_key_value": "2"}}})
    with Captured() as out:
        writer = BufferedRecordsWriter()
        writer.write_record("s", {"id": 1}, None, EXTRACTED)
        writer.write_message(RecordMessage("s", {"id": 2}, time_extracted=EXTRACTED))
        gathered = out.bytes.getvalue()
        writer.write_message(state)
    assert gathered == b""  # no write per record
    expected = sdk_bytes(
        RecordMessage("s", {"id": 1}, time_extracted=EXTRACTED),
        RecordMessage("s", {"id": 2}, time_extracted=EXTRACTED),
        state,
    )
    assert out.value == expected


def test_records_are_written_64_kib_at_a_time() -> None:
    with Captured() as out:
        writer = BufferedRecordsWriter()
        for n in range(2000):  # about 150 KiB
            writer.write_record("s", {"id": n, "pad": "x" * 40}, None, EXTRACTED)
        written = out.bytes.getvalue()
        writer.flush()
    assert 64 * 1024 <= len(written) < len(out.value)
    assert written.endswith(b"}\n")  # whole lines only
    assert len(out.value.splitlines()) == 2000


class ShortWrites(io.RawIOBase):
    """A raw stdout that takes at most 1,000 bytes per write, as a pipe may when a signal
    interrupts a write (stdout is raw with ``PYTHONUNBUFFERED=1``)."""

    def __init__(self) -> None:
        self.taken = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        part = bytes(data[:1000])
        self.taken += part
        return len(part)


def test_records_are_written_whole_when_stdout_takes_part_of_each_write() -> None:
    raw = ShortWrites()
    stdout, sys.stdout = sys.stdout, io.TextIOWrapper(raw, write_through=True)  # type: ignore[arg-type]  # a raw file, as with PYTHONUNBUFFERED
    try:
        writer = BufferedRecordsWriter()
        for n in range(2000):
            writer.write_record("s", {"id": n, "pad": "x" * 40}, None, EXTRACTED)
        writer.flush()
    finally:
        sys.stdout = stdout
    lines = bytes(raw.taken).splitlines()
    assert [json.loads(line)["record"]["id"] for line in lines] == list(range(2000))


def test_a_record_that_cannot_be_encoded_leaves_no_partial_line() -> None:
    with Captured() as out:
        writer = BufferedRecordsWriter()
        writer.write_record("s", {"id": 1}, None, EXTRACTED)
        with pytest.raises(UnicodeEncodeError):  # a lone surrogate: not UTF-8
            writer.write_record("s", {"id": 2, "text": "\ud800"}, None, EXTRACTED)
        writer.flush()
    assert out.value == sdk_bytes(RecordMessage("s", {"id": 1}, time_extracted=EXTRACTED))


def test_an_unchanged_state_still_writes_out_the_records_it_covers() -> None:
    state: dict[str, Any] = {"bookmarks": {}}
    with Captured() as out:
        message_writer = BufferedRecordsWriter()
        writer = EncodedStateWriter(message_writer)
        writer.write_state(state)  # type: ignore[arg-type]  # a plain dict as the SDK passes it
        message_writer.write_record("s", {"id": 1}, None, EXTRACTED)
        writer.write_state(state)  # type: ignore[arg-type]
        written = out.bytes.getvalue()
    assert written.count(b'"type":"RECORD"') == 1


FAILING_TAP = """
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from mailtaps_common.output import BufferedOutput

class Rows(Stream):
    name = "rows"
    schema = th.PropertiesList(th.Property("id", th.IntegerType)).to_dict()

    def get_records(self, context):
        yield from ({"id": n} for n in range(3))
        raise RuntimeError("the API went away")

class FailingTap(BufferedOutput, Tap):
    name = "tap-failing"
    config_jsonschema = th.PropertiesList().to_dict()

    def discover_streams(self):
        return [Rows(self)]

FailingTap.cli()
"""


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_a_tap_that_fails_still_writes_the_records_it_read(tmp_path, unbuffered) -> None:
    script = tmp_path / "tap_failing.py"
    script.write_text(FAILING_TAP)
    result = subprocess.run(
        [sys.executable, script],
        capture_output=True,
        env={**os.environ, "PYTHONUNBUFFERED": unbuffered},
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert b"the API went away" in result.stderr
    assert result.stdout.count(b'"type":"RECORD"') == 3
