"""The Mailprotector imitation keeps its own contract (what the tap is tested against)."""

from __future__ import annotations

import json
import time

import pytest
import requests
from sandbox.mailprotector import CUSTOMER_API_KEY, DEMO_API_KEY

HOT = 105


@pytest.fixture
def api(start_sandbox):
    def start(key: str = DEMO_API_KEY, **settings):
        sandbox = start_sandbox("mailprotector", **settings)

        def get(path: str, **params):
            return requests.get(
                f"{sandbox.url}/api/v1{path}",
                params=params,
                headers={"Authorization": f"Bearer {key}"},
                timeout=10,
            )

        get.app = sandbox.app
        return get

    return start


def test_keys_are_scoped_to_reseller_or_customer(api):
    reseller = api()
    assert reseller("/domains/102").json()["name"] == "mpdemo.net"
    assert reseller("/domains/201").status_code == 403
    assert reseller("/domains/999").status_code == 404
    assert [d["id"] for d in reseller("/resellers/343/domains").json()] == [102, 103, 104, 105]
    assert reseller("/domains/103").json()["parent"] == {"id": 102, "name": "mpdemo.net"}
    assert reseller("/domains/104").json()["domain_status"]["name"] == "Pending"
    customer = api(CUSTOMER_API_KEY)
    assert customer("/domains/105").status_code == 403
    assert customer("/resellers/343/domains").status_code == 403
    assert [d["id"] for d in customer("/customers/7114/domains", per_page=2, page=2).json()] == [
        104
    ]
    assert api("nope")("/domains/102").status_code == 401


def test_log_pages_are_clamped_capped_and_described(api):
    get = api(result_cap=300, page_size_max=50)
    page = get(
        f"/domains/{HOT}/logs",
        page=2,
        page_size=500,
        sort_field="received_at",
        sort_direction="asc",
    )
    assert len(page.json()) == 50
    meta = json.loads(page.headers["X-Pagination"])
    assert meta == {"total": 300, "total_pages": 6, "page": 2, "page_size": 50, "next_page": 3}
    assert get(f"/domains/{HOT}/logs", page=7, page_size=50).json() == []
    get.app.configure({"settings": {"cap_style": "422", "pagination_header": False}})
    refused = get(f"/domains/{HOT}/logs", page=7, page_size=50)
    assert refused.status_code == 422
    assert "X-Pagination" not in get(f"/domains/{HOT}/logs").headers


@pytest.mark.parametrize(
    ("style", "names"),
    [
        ("operator", ("received_at[geq]", "received_at[lt]")),
        ("start_end_date", ("start_date", "end_date")),
        ("date_start_end", ("date_start", "date_end")),
    ],
)
def test_time_filter_styles_are_half_open(api, style, names):
    get = api(time_filter=style)
    everything = get.app.entries(102, 0, 2**62)
    first = everything[0]["received_at"]
    rows = get("/domains/102/logs", page_size=100, **{names[0]: first, names[1]: first})
    assert rows.json() == []
    rows = get("/domains/102/logs", page_size=100, sort_direction="asc", **{names[0]: first})
    assert rows.json()[0]["received_at"] == first


def test_ignored_filter_retention_and_indexing_delay(api):
    get = api(time_filter="ignored", indexing_delay_seconds=3600)
    now_ms = time.time() * 1000
    visible = get.app.visible_entries(102, 0, 2**62)
    assert len(visible) < len(get.app.entries(102, 0, 2**62))
    assert all(e["_ms"] >= now_ms - 14 * 86400 * 1000 - 5000 for e in visible)
    future = get("/domains/102/logs", **{"received_at[geq]": "2999-01-01T00:00:00Z"})
    assert future.json(), "an ignored filter returns data even for the future"


def test_frozen_clock_holds_retention_still(api):
    frozen_at = time.time() - 3 * 3600
    get = api(frozen_at=frozen_at)
    entries = get.app.entries(102, 0, 2**62)
    assert entries, "a frozen clock still serves the retained entries"
    assert entries[-1]["_ms"] <= frozen_at * 1000, "nothing newer than the frozen now"
    oldest_ms = entries[0]["_ms"]
    assert (frozen_at - 14 * 86400) * 1000 <= oldest_ms < (time.time() - 14 * 86400) * 1000, (
        "retention counts back from the frozen now, not from the real one"
    )


def test_unstable_ties_change_order_between_calls(api):
    burst = [{"domain_id": HOT, "ago_seconds": 600, "seconds": 60, "count": 80, "tie_group": 80}]
    get = api(unstable_ties=True, bursts=burst, volumes={})
    orders = {
        tuple(r["id"] for r in get(f"/domains/{HOT}/logs", page_size=100).json()) for _ in range(3)
    }
    assert len(orders) > 1
    assert len({frozenset(order) for order in orders}) == 1
