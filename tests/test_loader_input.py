"""The loader as ``meltano.yml`` ships it (target-postgres through
``loaders/target-postgres-preflight``: msgspec input read ahead by a thread, batches merged by
update then insert) stores exactly what stock target-postgres stores from the same Singer
lines, loaded once and then again with changed and repeated keys: no change alters a row."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest

pytestmark = pytest.mark.usefixtures("meltano_installed")

LOADER_BIN = Path(__file__).parents[1] / ".meltano/loaders/target-postgres/venv/bin"

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "count": {"type": ["integer", "null"]},
        "amount": {"type": ["number", "null"]},
        "text": {"type": ["string", "null"]},
        "at": {"type": ["string", "null"], "format": "date-time"},
        "flag": {"type": ["boolean", "null"]},
        "extra": {"type": ["object", "null"]},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
    },
}

# Lines as a tap writes them, values chosen where two JSON parsers could disagree.
RECORDS = [
    '{"id": 1, "count": 9223372036854775807, "amount": 0.1, "text": "plain", '
    '"at": "2026-11-15T00:00:00+00:00", "flag": true, "extra": {"a": 1}, "tags": ["x"]}',
    '{"id": 2, "count": -9223372036854775808, "amount": 1e-7, "text": "caf\\u00e9 \\u2603 '
    '\\ud83d\\ude00 \\"quoted\\" back\\\\slash\\ttab\\nline", "at": "2026-11-15T23:59:59.999999Z", '
    '"flag": false, "extra": {"nested": {"deep": [1, 2.5, null, "s"]}}, "tags": []}',
    '{"id": 3, "count": 0, "amount": 12345678901234.5678, "text": "ünïcödé raw ☃", '
    '"at": "2026-11-15T05:30:00+05:30", "flag": null, '
    '"extra": {"big": 123456789012345678901234567890}, "tags": null}',
    '{"id": 4, "count": null, "amount": -0.0, "text": "", "at": null, "flag": null, '
    '"extra": null, "tags": ["a", "b"]}',
    '{"id": 5, "count": 1, "amount": 3.0e2, "text": null, "at": "2026-11-15T10:00:00", '
    '"flag": true, "extra": {"dup": 1, "dup": 2}, "tags": ["\\u0041"]}',
]


# A second load: changed rows, a key twice in one batch (the last record wins), a new key.
RELOADED = [
    '{"id": 2, "count": 7, "amount": 2.5, "text": "changed", "at": null, "flag": true, '
    '"extra": null, "tags": ["y"]}',
    '{"id": 6, "count": 1, "amount": null, "text": "first", "at": null, "flag": null, '
    '"extra": null, "tags": null}',
    '{"id": 6, "count": 2, "amount": null, "text": "second", "at": null, "flag": null, '
    '"extra": null, "tags": null}',
    '{"id": 3, "count": null, "amount": null, "text": null, "at": null, "flag": null, '
    '"extra": null, "tags": null}',
    '{"id": 7, "count": 3, "amount": 1, "text": "new", "at": "2026-11-16T00:00:00Z", '
    '"flag": false, "extra": {}, "tags": []}',
    # A column the schema lacks: the shipped loader leaves such a record to the SDK's walk.
    '{"id": 8, "count": 4, "amount": 2, "text": "surplus", "at": "2026-11-16 08:00:00", '
    '"flag": true, "extra": null, "tags": null, "surplus": "not in the schema"}',
]


# Null characters, which PostgreSQL cannot store: replaced when the loader is told to.
NULS = [
    '{"id": 9, "count": 1, "amount": null, "text": "nul\\u0000here", "at": null, "flag": null, '
    '"extra": {"k": "v\\u0000"}, "tags": ["t\\u0000"]}',
]


def singer_input(records: list[str], keys: tuple[str, ...] = ("id",)) -> bytes:
    lines = [
        json.dumps(
            {"type": "SCHEMA", "stream": "odd_values", "schema": SCHEMA, "key_properties": keys}
        )
    ]
    lines += [
        f'{{"type": "RECORD", "stream": "odd_values", "record": {record}}}' for record in records
    ]
    lines.append('{"type": "STATE", "value": {"bookmarks": {"odd_values": {"done": true}}}}')
    return ("\n".join(lines) + "\n").encode()


def loader_config(postgres_server: Any, database: str) -> dict[str, object]:
    """The connection and the shipped loader settings that matter here."""
    return {
        "host": postgres_server.host,
        "port": postgres_server.port,
        "user": postgres_server.user,
        "password": postgres_server.password,
        "database": database,
        "use_copy": True,
        "validate_records": False,
    }


def run_loader(
    executable: str,
    config: dict[str, object],
    records: list[str],
    tmp_path: Path,
    keys: tuple[str, ...] = ("id",),
) -> subprocess.CompletedProcess[bytes]:
    config_file = tmp_path / f"{executable}.json"
    config_file.write_text(json.dumps(config))
    return subprocess.run(
        [LOADER_BIN / executable, "--config", config_file],
        input=singer_input(records, keys),
        capture_output=True,
        timeout=120,
        check=False,
    )


def load(
    executable: str,
    config: dict[str, object],
    records: list[str],
    tmp_path: Path,
    keys: tuple[str, ...] = ("id",),
) -> list[str]:
    """The STATE lines the loader wrote after loading ``records``."""
    result = run_loader(executable, config, records, tmp_path, keys)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    return result.stdout.decode().splitlines()


@pytest.mark.parametrize(
    ("keys", "settings"),
    [(("id",), {}), ((), {"sanitize_null_text_characters": True})],
    ids=["upsert", "append-only-nul-sanitised"],
)
def test_shipped_loader_stores_what_stock_target_postgres_stores(
    postgres_server, tmp_path, keys, settings
):
    database = postgres_server.create_database("loader_input")
    connection = loader_config(postgres_server, database) | settings
    connection["batch_size_rows"] = 2  # keys meet again across batches as well as within one
    loads = (RECORDS, RELOADED + NULS) if settings else (RECORDS, RELOADED)
    for records in loads:
        stock_state = load(
            "target-postgres",
            connection | {"default_target_schema": "stock"},
            records,
            tmp_path,
            keys,
        )
        shipped_state = load(
            "target-postgres-preflight",
            connection | {"default_target_schema": "shipped"},
            records,
            tmp_path,
            keys,
        )
        assert shipped_state == stock_state == ['{"bookmarks": {"odd_values": {"done": true}}}']

    # rows of a key appended twice differ in their text
    select = "SELECT id, count, amount, text, at, flag, extra, tags FROM {}.odd_values "
    select += "ORDER BY id, text NULLS FIRST"
    with psycopg.connect(postgres_server.dsn(database)) as conn:
        stock = conn.execute(select.format("stock")).fetchall()
        shipped = conn.execute(select.format("shipped")).fetchall()
        types = conn.execute(
            "SELECT table_schema, column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'odd_values' ORDER BY ordinal_position"
        ).fetchall()
    if keys:
        assert [row[0] for row in stock] == [1, 2, 3, 4, 5, 6, 7, 8]
        assert stock[1][3] == "changed"
        assert stock[5][3] == "second"
    else:
        assert [row[0] for row in stock] == [1, 2, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9]
        text, extra, tags = stock[-1][3], stock[-1][6], stock[-1][7]
        assert (text, extra, tags) == ("nul\ufffdhere", {"k": "v\ufffd"}, ["t\ufffd"])
    assert shipped == stock
    column_types = {schema: [] for schema in ("stock", "shipped")}
    for schema, column, data_type in types:
        column_types[schema].append((column, data_type))
    assert column_types["shipped"] == column_types["stock"]


def test_an_invalid_date_is_refused_as_stock_target_postgres_refuses_it(postgres_server, tmp_path):
    """The shipped loader parses dates without the SDK's walk only while they parse; an
    invalid one goes to the SDK, which refuses it (its default treatment) as in stock."""
    config = loader_config(postgres_server, postgres_server.create_database("loader_bad_date"))
    bad = [*RECORDS[:1], RECORDS[1].replace("2026-11-15T23:59:59.999999Z", "2026-13-45T99:00:00")]
    errors = {}
    for executable, schema in (
        ("target-postgres", "stock"),
        ("target-postgres-preflight", "shipped"),
    ):
        result = run_loader(executable, config | {"default_target_schema": schema}, bad, tmp_path)
        assert result.returncode != 0, executable
        errors[executable] = result.stderr.decode().strip().splitlines()[-1]
    assert "2026-13-45T99:00:00" in errors["target-postgres"]
    assert errors["target-postgres-preflight"] == errors["target-postgres"]
