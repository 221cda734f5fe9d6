"""``target-postgres`` behind a check of its connection settings.

Meltano 4.4 does not check a loader's settings before ``meltano run`` starts the pipeline
(``settings_group_validation`` only shapes ``meltano config list``), and target-postgres
0.8.1 answers missing ones with an ``AssertionError`` traceback that names the wrong
settings; Meltano then adds a ``BrokenPipeError`` traceback of its own when the tap's
output has nowhere to go. This starts in milliseconds, before the tap has written
anything, names the missing settings in one line and exits 1; otherwise it runs
target-postgres in this process with the same arguments and input.

target-postgres is run with five changes, each made through an extension point of the SDK
(``message_reader_class``, ``default_sink_class``, methods a sink may override) and each
leaving the stored rows as they were (``tests/test_loader_input.py`` loads the same lines
with stock target-postgres and compares, with keys and without):

- Its input lines are parsed by the SDK's msgspec reader instead of ``json.loads`` (parsing
  was a tenth of the loader's CPU). Numbers still become ``Decimal`` and every line our taps
  write parses to the same values; a line that is not UTF-8 JSON (a lone surrogate escape,
  which PostgreSQL could not store either) is refused as unreadable instead of failing later.
- A thread reads its input ahead while a batch is being written (:class:`ReadAheadLines`).
- Each batch is merged into its table by updating the rows already there, then inserting the
  others (:func:`update_then_insert`), instead of inserting and then updating every match.
- Each record's date-like values are parsed with the schema's date columns found once, and its
  key properties checked in one set operation, instead of the SDK's walk over every column
  (records with unknown columns or invalid dates still take the SDK's way).
- With COPY, each record becomes its row once, a list in column order
  (``bulk_insert_records``), instead of a dict per record and then a list from it.

The reader saves about 15 % of the loader's CPU, the date and key checks 12 % more (9.8 to
8.6 CPU s for 208,272 RediffMail rows, three alternating runs each), and the COPY rows 18 %
more (10.4 to 8.5 CPU s on a busier machine, the same rows); reading ahead and update
then insert add 12-23 % more rows per second to ``meltano run`` into PostgreSQL
(``benchmarks/pipeline.py``).
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import Connection, Table

CONNECTION_SETTINGS = ("host", "port", "user", "password", "database")
READ_BYTES = 1 << 20
READ_AHEAD_CHUNKS = 64  # at most 64 MiB read ahead


def missing_settings(argv: list[str]) -> list[str]:
    """The connection settings no ``--config`` file gives a value (empty counts as
    missing: that is what an unset ``$PG_*`` variable becomes). None to check when the
    config is not in files (``--about``, ``--help``, ``--config ENV``) or names a
    ``sqlalchemy_url``."""
    paths = [value for flag, value in itertools.pairwise(argv) if flag == "--config"]
    if not paths or "ENV" in paths:
        return []
    config: dict[str, object] = {}
    for path in paths:
        try:
            config.update(json.loads(Path(path).read_text()))
        except (OSError, ValueError):
            return []  # target-postgres reports an unreadable config itself
    if config.get("sqlalchemy_url"):
        return []
    return [name for name in CONNECTION_SETTINGS if config.get(name) in (None, "")]


def main() -> None:
    argv = sys.argv[1:]
    missing = missing_settings(argv)
    if missing:
        sys.stderr.write(
            f"target-postgres needs {', '.join(CONNECTION_SETTINGS)}; not set: "
            f"{', '.join(missing)} (meltano config set target-postgres <setting> <value>, "
            "TARGET_POSTGRES_<SETTING>, or PG_* with --environment=prod)\n"
        )
        sys.exit(1)
    run_loader()


def run_loader() -> None:
    """target-postgres's own command line, with the changes the module docstring names."""
    from functools import cached_property

    from singer_sdk.contrib.msgspec import MsgSpecReader
    from singer_sdk.helpers._compat import (  # what the SDK's own parsing uses
        date_fromisoformat,
        datetime_fromisoformat,
        time_fromisoformat,
    )
    from singer_sdk.helpers._typing import get_datelike_property_type
    from target_postgres.sinks import PostgresSink
    from target_postgres.target import TargetPostgres

    parsers = {
        "date-time": datetime_fromisoformat,
        "date": date_fromisoformat,
        "time": time_fromisoformat,
    }

    class ReadAheadMsgSpecReader(MsgSpecReader):
        @property
        def default_input(self) -> Any:  # the SDK types it as a text file
            return ReadAheadLines(sys.stdin.fileno())

    class TunedPostgresSink(PostgresSink):
        @cached_property
        def _date_parsers(self) -> dict[str, Any]:
            """The schema's date-like columns and their parsers, found once: the SDK
            looks each column of each record up in the schema again (7 % of the CPU)."""
            properties = self.schema["properties"].items()
            return {
                key: parsers[kind]
                for key, prop in properties
                if (kind := get_datelike_property_type(prop))
            }

        def _parse_timestamps_in_record(self, record: dict, schema: dict, treatment: Any) -> None:
            """The SDK's parsing of date-like values, for the usual record (columns all in
            the schema, dates all valid) without its walk; any other record goes to the
            SDK as it came, which warns about unknown columns and repairs or refuses
            invalid dates as configured."""
            if schema is not self.schema or not record.keys() <= schema["properties"].keys():
                super()._parse_timestamps_in_record(record, schema, treatment)
                return
            parsed = {}
            try:
                for key, parse in self._date_parsers.items():
                    value = record.get(key)
                    if value is not None:
                        parsed[key] = parse(value)
            except ValueError:
                super()._parse_timestamps_in_record(record, schema, treatment)
                return
            record.update(parsed)

        @cached_property
        def _key_set(self) -> frozenset[str]:
            return frozenset(self._key_properties)

        def _singer_validate_message(self, record: dict) -> None:
            """The SDK's check that the key properties are there, in one set operation;
            the SDK raises its own error when one is missing (5 % of the CPU)."""
            if not self._key_set.issubset(record):
                super()._singer_validate_message(record)

        def bulk_insert_records(  # type: ignore[override]  # as target-postgres declares it
            self,
            table: Table,
            schema: dict[str, Any],
            records: Iterable[dict[str, Any]],
            primary_keys: Sequence[str],
            connection: Connection,
        ) -> bool | None:
            """With COPY, each record becomes its row once, a list in column order, and
            only the columns that have a value processor (arrays, JSON) go through it.
            target-postgres builds a dict per record, then a list from the dict, looking
            each column's processor up by name (about 15 % of the CPU). The same rows reach
            COPY: null characters replaced when ``sanitize_null_text_characters`` is on, the
            last record of each key kept unless append-only."""
            if not self.config["use_copy"]:
                return super().bulk_insert_records(table, schema, records, primary_keys, connection)
            columns = self.column_representation(schema)
            names = [column.name for column in columns]
            processors = [
                (index, process)
                for index, column in enumerate(columns)
                if (process := column.type.bind_processor(connection.dialect)) is not None
            ]
            if not self.append_only:  # the last record of each key, as target-postgres keeps it
                records = {tuple(r[key] for key in primary_keys): r for r in records}.values()
            if self.connector.sanitize_null_text_characters:
                sanitize = self.sanitize_null_text_characters
                rows = ([sanitize(record.get(name)) for name in names] for record in records)
            else:
                rows = ([record.get(name) for name in names] for record in records)
            copy_statement = self.generate_copy_statement(table.name, columns)
            self.logger.info("Inserting with SQL: %s", copy_statement)
            with connection.connection.cursor().copy(copy_statement) as copy:
                for row in rows:
                    for index, process in processors:
                        row[index] = process(row[index])
                    copy.write_row(row)
            return True

        def upsert(
            self,
            from_table: Table,
            to_table: Table,
            schema: dict[str, Any],
            join_keys: Sequence[str],
            connection: Connection,
        ) -> int | None:
            if self.append_only:
                return super().upsert(from_table, to_table, schema, join_keys, connection)
            update_then_insert(from_table, to_table, self.schema, join_keys, connection)
            return None

    class TunedTargetPostgres(TargetPostgres):
        message_reader_class = ReadAheadMsgSpecReader
        default_sink_class = TunedPostgresSink

    TunedTargetPostgres.cli()


class ReadAheadLines:
    """The lines of a file descriptor, read by a thread up to ``READ_AHEAD_CHUNKS`` reads
    ahead of the consumer.

    target-postgres reads nothing while it writes a batch; the tap (and Meltano between them)
    then stalls on a full pipe, so the pipeline runs at the speed of tap plus loader rather
    than the slower of the two. The SDK's readers iterate a file and have no read-ahead. A
    failed read is raised to the consumer in its turn; lines are bytes without their newline
    (the msgspec reader parses bytes).
    """

    def __init__(self, fd: int) -> None:
        self._chunks: queue.Queue[bytes | OSError] = queue.Queue(maxsize=READ_AHEAD_CHUNKS)
        threading.Thread(target=self._read, args=(fd,), name="read-ahead", daemon=True).start()

    def _read(self, fd: int) -> None:
        try:
            while chunk := os.read(fd, READ_BYTES):
                self._chunks.put(chunk)
        except OSError as exc:
            self._chunks.put(exc)
        else:
            self._chunks.put(b"")

    def __iter__(self) -> Iterator[bytes]:
        tail = b""
        while chunk := self._chunks.get():
            if isinstance(chunk, OSError):
                raise chunk
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()
            yield from lines
        if tail:
            yield tail


def update_then_insert(
    from_table: Table,
    to_table: Table,
    schema: dict[str, Any],
    join_keys: Sequence[str],
    connection: Connection,
) -> None:
    """Merge a batch's temporary table into its table: update the rows whose keys are there,
    then insert the others.

    target-postgres 0.8.1 inserts the new rows first and then updates every row whose key
    matches, the rows it has just inserted included, so each new row is written twice. The
    rows left are the same either way: the temporary table holds each key once (the sink keeps
    the last record per key), so each key is either updated or inserted. Written with the
    sink's own SQLAlchemy tables, as its ``upsert`` is.
    """
    import sqlalchemy

    matches = sqlalchemy.and_(*(from_table.columns[k] == to_table.columns[k] for k in join_keys))
    connection.execute(
        sqlalchemy.update(to_table)
        .where(matches)
        .values({to_table.columns[c]: from_table.columns[c] for c in schema["properties"]})
    )
    absent = sqlalchemy.and_(*(to_table.columns[k].is_(None) for k in join_keys))
    new_rows = (
        sqlalchemy.select(*from_table.columns)
        .select_from(from_table.outerjoin(to_table, matches))
        .where(absent)
    )
    connection.execute(
        sqlalchemy.insert(to_table).from_select(names=list(from_table.columns), select=new_rows)
    )
