"""With workers, the streams after the one being written are read meanwhile: their
calls overlap its records, their rows and failures arrive in their own turn, and never
more than ``max_workers`` calls are out at once. With one worker, one call at a time,
stream after stream."""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from typing import Any

import pytest
from tap_iredadmin.client import Places, ReadAhead
from tap_iredadmin.tap import TapIRedAdmin

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
    assert list(ReadAhead(iter(range(count)), settle=lambda: None)) == list(range(count))


def test_a_failure_reading_ahead_comes_after_the_rows_before_it() -> None:
    def failing() -> Any:
        yield from range(300)
        raise RuntimeError("GET /api/aliases/example.net failed: PERMISSION_DENIED")

    taken: list[int] = []
    with pytest.raises(RuntimeError, match="PERMISSION_DENIED"):
        taken.extend(ReadAhead(failing(), settle=lambda: None))
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


def test_calls_out_at_once_are_max_workers_at_most_and_at_times(iredadmin: Any) -> None:
    """Each call takes 50 ms at the server, so calls that arrived less than 45 ms apart
    were out together: never more than max_workers, and that many while reading."""
    ira = iredadmin()
    ira.app.faults.latency_seconds = 0.05
    run = ira.run(max_workers=3, user_details=True, user_policies=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Connection pool is full" not in run.stderr
    arrivals = sorted(call.at for call in ira.app.api_calls("/iredadmin/api/"))
    together = max(bisect_left(arrivals, at + 0.045) - i for i, at in enumerate(arrivals))
    assert together == 3


def test_a_freed_place_goes_to_the_earliest_stream_waiting() -> None:
    places = Places(1)
    assert places.take(5, wait=False)
    served: list[int] = []

    def wait_for_place(rank: int) -> None:
        places.take(rank, wait=True)
        served.append(rank)
        places.give()

    waiters = [threading.Thread(target=wait_for_place, args=(rank,)) for rank in (3, 1, 2)]
    for waiter in waiters:
        waiter.start()
        while len(places._waiting) < waiters.index(waiter) + 1:  # queued
            time.sleep(0.001)
    assert not places.take(0, wait=False), "no place is free"
    places.give()
    for waiter in waiters:
        waiter.join(5)
    assert served == [1, 2, 3]
    assert places.take(9, wait=False), "the place is free again"


def test_a_stream_settles_before_it_waits_for_room() -> None:
    """A stream read ahead whose rows wait for room first frees the places of its calls
    out (the client's settle): streams waiting so could otherwise hold every place, and
    the main thread, waiting for one, would never come to take their rows."""
    settled = threading.Event()
    count = ReadAhead.READ_AHEAD_ROWS + 2 * ReadAhead.CHUNK_ROWS
    rows = ReadAhead(iter(range(count)), settle=settled.set)
    assert settled.wait(5)
    assert list(rows) == list(range(count))


def test_settling_frees_the_places_of_the_calls_out(iredadmin: Any) -> None:
    ira = iredadmin()
    client = TapIRedAdmin(config=ira.config(max_workers=2)).api
    assert len(list(client.get_each(["/api/domains"] * 6))) == 6  # connections kept open
    places = client._places
    assert places.take(9, wait=False), "another stream holds one place"
    mailboxes = client.get_each(["/api/users/example.com"] * 3)
    first = next(mailboxes)  # the second call is out, in the other place
    assert not places.take(9, wait=False)
    client.settle()
    assert places.take(9, wait=False), "its answer was read and its place freed"
    places.give()
    places.give()
    assert [first, *mailboxes] == [first] * 3
