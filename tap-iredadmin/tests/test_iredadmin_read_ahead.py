"""With workers, the streams after the one being written are read meanwhile: their
calls overlap its records, their rows and failures arrive in their own turn. With one
worker, one call at a time, stream after stream."""

from __future__ import annotations

from typing import Any

import pytest
from tap_iredadmin.client import ReadAhead

STREAM_ORDER = ["domains", "users", "aliases", "mailing_lists", "policies"]
STREAM_OF_CALL = {
    "domains": "domains", "domain": "domains", "users": "users", "user": "users",
    "aliases": "aliases", "alias": "aliases", "mls": "mailing_lists",
    "spampolicy": "policies", "throttle": "policies", "greylisting": "policies",
}  # fmt: skip


def stream_positions(ira: Any) -> list[int]:
    """For each API call after the login, in the order the server saw them: the
    position of the stream it reads in STREAM_ORDER."""
    kinds = [call.path.split("/")[3] for call in ira.app.api_calls("/iredadmin/api/")]
    return [STREAM_ORDER.index(STREAM_OF_CALL[kind]) for kind in kinds if kind != "login"]


@pytest.mark.parametrize("count", [0, 1, ReadAhead.CHUNK_ROWS, ReadAhead.CHUNK_ROWS + 1, 1001])
def test_rows_read_ahead_come_whole_and_in_order(count: int) -> None:
    assert list(ReadAhead(iter(range(count)))) == list(range(count))


def test_a_failure_reading_ahead_comes_after_the_rows_before_it() -> None:
    def failing() -> Any:
        yield from range(300)
        raise RuntimeError("GET /api/aliases/example.net failed: PERMISSION_DENIED")

    taken: list[int] = []
    with pytest.raises(RuntimeError, match="PERMISSION_DENIED"):
        taken.extend(ReadAhead(failing()))
    assert taken == list(range(300))


def test_later_streams_are_read_while_users_are_written(iredadmin: Any) -> None:
    ira = iredadmin()
    run = ira.run(max_workers=8)
    assert run.returncode == 0, run.stderr[-2000:]
    streams = [m["stream"] for m in run.messages if m["type"] == "SCHEMA"]
    assert streams == STREAM_ORDER
    positions = stream_positions(ira)
    assert positions != sorted(positions), "no stream was read before its turn"
    assert ira.calls("/login") == 1
    assert [r["username"] for r in run.records("users")] == ira.truth()["users"]


def test_one_worker_reads_stream_after_stream(iredadmin: Any) -> None:
    ira = iredadmin()
    run = ira.run(max_workers=1)
    assert run.returncode == 0, run.stderr[-2000:]
    positions = stream_positions(ira)
    assert positions == sorted(positions)
    assert set(positions) == set(range(len(STREAM_ORDER)))


def test_a_failure_of_a_stream_read_ahead_ends_the_run_in_its_turn(iredadmin: Any) -> None:
    ira = iredadmin(endpoint_faults={"/api/aliases/example.net": "PERMISSION_DENIED"})
    run = ira.run(max_workers=8)
    assert run.returncode != 0
    assert "GET /api/aliases/example.net failed: PERMISSION_DENIED" in run.stderr
    assert [r["username"] for r in run.records("users")] == ira.truth()["users"]
    retired = {m["stream"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"}
    assert retired == {"domains", "users"}
    assert not run.records("aliases")
