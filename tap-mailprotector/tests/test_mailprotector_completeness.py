"""No entry lost at any volume: far more entries than one query can return."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from tap_mailprotector.client import iso

HOT = 105
# 20 times a cap of 200 inside one hour of one domain, with a page size of at most 50
# so the test stays quick; 120 entries share one timestamp (spanning three pages).
SMALL_CAP = {"result_cap": 200, "page_size_max": 50}
HOUR_BURST = [
    {"domain_id": HOT, "ago_seconds": 2 * 3600, "seconds": 3600, "count": 4000, "tie_group": 120}
]


def report(label: str, mp, entries: int, page_size: int) -> None:
    used = mp.log_requests()
    minimum = math.ceil(entries / page_size)
    print(
        f"{label}: {entries} entries, {used} log requests, minimum {minimum} "
        f"({used / minimum:.2f}x)"
    )


@pytest.mark.parametrize(
    ("cap_style", "header"),
    [("empty", "capped"), ("422", "capped"), ("empty", None), ("422", None), ("empty", "true")],
    ids=[
        "silent-truncation",
        "http-422",
        "silent-truncation-no-header",
        "http-422-no-header",
        "silent-truncation-true-total",
    ],
)
def test_twenty_times_the_cap_in_one_hour(mailprotector, cap_style, header):
    mp = mailprotector(
        **SMALL_CAP,
        cap_style=cap_style,
        pagination_header=header is not None,
        total_capped=header == "capped",
        bursts=HOUR_BURST,
    )
    run = mp.run(mp.config(domain_ids=[HOT], result_cap=200, page_size=50))
    assert run.returncode == 0, run.stderr[-2000:]
    ids = mp.emitted_ids(run, HOT)
    assert len(ids) >= 4000
    mp.assert_complete(ids, HOT, mp.bookmarks(run.last_state)[HOT])
    report(f"cap 200 answered by {cap_style}, X-Pagination total {header}", mp, len(ids), 50)


@pytest.mark.parametrize(
    ("cap_style", "pagination_header"),
    [("empty", False), ("empty", True), ("422", True)],
    ids=["silent-no-header", "silent-total-capped-at-150", "http-422-at-150"],
)
def test_server_cap_lower_than_configured_loses_nothing(
    mailprotector, cap_style, pagination_header
):
    """The tap assumes 200 but the server stops at 150 (its total says 150 at most)."""
    mp = mailprotector(
        result_cap=150,
        page_size_max=50,
        cap_style=cap_style,
        pagination_header=pagination_header,
        bursts=HOUR_BURST,
    )
    run = mp.run(mp.config(domain_ids=[HOT], result_cap=200, page_size=50))
    assert run.returncode == 0, run.stderr[-2000:]
    mp.assert_complete(mp.emitted_ids(run, HOT), HOT, mp.bookmarks(run.last_state)[HOT])


def test_pages_clamped_below_page_size_stop_the_run(mailprotector):
    mp = mailprotector(page_size_max=50)
    run = mp.run(mp.config(page_size=100))
    assert run.returncode != 0
    assert "serves pages of 50 entries, not the configured page_size 100" in run.stderr
    assert mp.bookmarks(run.last_state) == {}


def test_more_entries_in_one_millisecond_than_the_cap_stops_loudly(mailprotector):
    burst = [
        {"domain_id": HOT, "ago_seconds": 3600, "seconds": 600, "count": 900, "tie_group": 260}
    ]
    mp = mailprotector(**SMALL_CAP, bursts=burst)
    run = mp.run(mp.config(domain_ids=[HOT], result_cap=200, page_size=50))
    assert run.returncode != 0
    crowded_ms, _ = Counter(e["_ms"] for e in mp.app.entries(HOT, 0, 2**62)).most_common(1)[0]
    errors = [line for line in run.stderr.splitlines() if "cannot be split further" in line]
    assert errors, run.stderr[-2000:]
    assert "domain 105" in errors[-1]
    assert iso(crowded_ms) in errors[-1]
    # the bookmark stops at the crowded millisecond, with nothing skipped before it
    assert mp.bookmarks(run.last_state)[HOT] <= iso(crowded_ms)
    mp.assert_no_gap(set(mp.emitted_ids(run)), run.last_state)


def test_contract_numbers_cap_5000_page_100(mailprotector):
    """The real figures: 12,000 entries in five minutes, 150 sharing one timestamp."""
    burst = [
        {"domain_id": HOT, "ago_seconds": 3600, "seconds": 300, "count": 12000, "tie_group": 150}
    ]
    mp = mailprotector(bursts=burst)
    run = mp.run(mp.config(domain_ids=[HOT]))
    assert run.returncode == 0, run.stderr[-2000:]
    ids = mp.emitted_ids(run, HOT)
    mp.assert_complete(ids, HOT, mp.bookmarks(run.last_state)[HOT])
    report("cap 5000, page 100", mp, len(ids), 100)
