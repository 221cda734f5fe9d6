"""Entries sharing one timestamp come back in a different order on every page."""

from __future__ import annotations

import requests
from sandbox.mailprotector import DEMO_API_KEY

HOT = 105
TIES = [
    {"domain_id": HOT, "ago_seconds": 5400, "seconds": 1800, "count": 1500, "tie_group": 130},
    {"domain_id": HOT, "ago_seconds": 3600, "seconds": 600, "count": 400, "tie_group": 70},
]


def naive_walk(url: str, domain_id: int) -> list[str]:
    """What a reader that trusts page numbers gets: every page of one query."""
    ids: list[str] = []
    page = 1
    while True:
        rows = requests.get(
            f"{url}/api/v1/domains/{domain_id}/logs",
            params={
                "page": page,
                "page_size": 50,
                "sort_field": "received_at",
                "sort_direction": "asc",
            },
            headers={"Authorization": f"Bearer {DEMO_API_KEY}"},
            timeout=10,
        ).json()
        ids += [row["id"] for row in rows]
        if len(rows) < 50:
            return ids
        page += 1


def test_unstable_ties_no_id_missing_none_twice(mailprotector):
    mp = mailprotector(unstable_ties=True, result_cap=100_000, page_size_max=50, bursts=TIES)
    # the imitation really does lose ids to a page-number walk (else this test proves nothing)
    walked = naive_walk(mp.sandbox.url, HOT)
    assert len(set(walked)) < len(walked)

    mp.app.requests.clear()
    run = mp.run(mp.config(domain_ids=[HOT], page_size=50, result_cap=200))
    assert run.returncode == 0, run.stderr[-2000:]
    ids = mp.emitted_ids(run, HOT)
    mp.assert_complete(ids, HOT, mp.bookmarks(run.last_state)[HOT])
    assert "came back in unstable order" in run.stderr


def test_unstable_ties_with_the_cap_cutting_windows(mailprotector):
    mp = mailprotector(
        unstable_ties=True, result_cap=200, page_size_max=50, bursts=TIES, pagination_header=False
    )
    run = mp.run(mp.config(domain_ids=[HOT], page_size=50, result_cap=200))
    assert run.returncode == 0, run.stderr[-2000:]
    mp.assert_complete(mp.emitted_ids(run, HOT), HOT, mp.bookmarks(run.last_state)[HOT])


def test_hopeless_shuffle_stops_loudly_with_no_gap(mailprotector):
    """With only one re-read allowed the tap cannot collect 130 shuffled ids: it says
    so, naming domain and time, and its bookmark stays before them."""
    mp = mailprotector(unstable_ties=True, result_cap=100_000, page_size_max=50, bursts=TIES)
    run = mp.run(mp.config(domain_ids=[HOT], page_size=50, tie_reread_passes=1))
    assert run.returncode != 0
    assert "domain 105" in run.stderr
    assert "different order on every page" in run.stderr
    mp.assert_no_gap(set(mp.emitted_ids(run)), run.last_state)
