"""Bookmarks: one per domain, at the end of the last finished window; resumable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

HOT = 105
BURST = [{"domain_id": HOT, "ago_seconds": 5400, "seconds": 3600, "count": 3000, "tie_group": 40}]


def test_state_after_every_window_and_resume_after_kill(mailprotector):
    mp = mailprotector(result_cap=200, page_size_max=50, bursts=BURST)
    config = mp.config(domain_ids=[102, HOT], result_cap=200, page_size=50)
    records_seen = 0

    def crash_mid_hot_domain(message: dict) -> bool:
        nonlocal records_seen
        if message["type"] == "RECORD" and message["stream"] == "domain_logs":
            records_seen += message["record"]["domain_id"] == HOT
        return records_seen == 1700  # part way through a window of the hot domain

    first = mp.run(config, kill_when=crash_mid_hot_domain)
    assert first.returncode != 0, "the tap was meant to be killed part way"
    assert len(first.states) >= 8, "expected a STATE after each finished window"
    killed_at = mp.bookmarks(first.last_state)
    assert HOT in killed_at
    emitted_first = set(mp.emitted_ids(first))
    mp.assert_no_gap(emitted_first, first.last_state)

    second = mp.run(config, state=first.last_state)
    assert second.returncode == 0, second.stderr[-2000:]
    final = mp.bookmarks(second.last_state)
    assert final[HOT] > killed_at[HOT]
    together = list(emitted_first | set(mp.emitted_ids(second)))
    for domain_id in (102, HOT):
        ours = [i for i in together if i in set(mp.truth_ids(domain_id, final[domain_id]))]
        mp.assert_complete(ours, domain_id, final[domain_id])
    # the resumed run started at the bookmark: it did not re-read what was finished
    assert len(mp.emitted_ids(second, HOT)) <= len(mp.truth_ids(HOT, final[HOT])) - 1500


def test_bookmarks_are_window_ends_not_record_times(mailprotector):
    mp = mailprotector()
    before = datetime.now(UTC)
    run = mp.run(mp.config(settle_delay_seconds=120))
    assert run.returncode == 0, run.stderr[-2000:]
    bookmark = datetime.fromisoformat(mp.bookmarks(run.last_state)[102])
    # the end of the run's range (now minus the settle delay), not the last entry's time
    assert abs((bookmark - (before - timedelta(seconds=120))).total_seconds()) < 30
    newest = max(r["received_at"] for r in run.records("domain_logs"))
    assert datetime.fromisoformat(newest) < bookmark


def test_late_indexing_consecutive_runs_deliver_everything(mailprotector):
    """Entries appear up to 10 minutes after they were received; the settle delay is
    only one minute, so the first run misses some; the next run's 15-minute overlap
    picks them up."""
    mp = mailprotector(volumes={102: 900.0}, indexing_delay_seconds=600, clock_offset_seconds=0)
    # The style is fixed: auto's probe asks for the newest entry of the whole retention
    # period, which the sandbox makes up first (300k entries at this volume), and on a
    # loaded machine that answer outlasts the test's request timeout.
    config = mp.config(settle_delay_seconds=60, overlap_seconds=900, time_filter_style="operator")
    first = mp.run(config)
    assert first.returncode == 0, first.stderr[-2000:]
    first_end = mp.bookmarks(first.last_state)[102]
    missed = set(mp.truth_ids(102, first_end)) - set(mp.emitted_ids(first))
    assert missed, "no late entries: this test could not fail"

    # ten minutes "pass" on the server: everything received so far is now indexed
    mp.app.configure({"settings": {"clock_offset_seconds": 600}})
    without_overlap = mp.run({**config, "overlap_seconds": 0}, state=first.last_state)
    assert missed - set(mp.emitted_ids(without_overlap)), "overlap 0 should miss them"
    second = mp.run(config, state=first.last_state)
    assert second.returncode == 0, second.stderr[-2000:]
    limit = datetime.fromisoformat(first_end)
    together = {
        r["id"]
        for r in first.records("domain_logs") + second.records("domain_logs")
        if datetime.fromisoformat(r["received_at"]) < limit
    }
    mp.assert_complete(sorted(together), 102, first_end)


def test_sdk_state_every_10000_records_is_a_safe_resume_point(mailprotector):
    """The SDK writes its own STATE at record 10,000, mid-window: resuming from it
    must leave no gap (records are emitted in ascending received_at)."""
    burst = [{"domain_id": HOT, "ago_seconds": 3600, "seconds": 300, "count": 12000}]
    mp = mailprotector(bursts=burst)
    config = mp.config(domain_ids=[HOT])
    seen = 0

    def kill_at_sdk_state(message: dict) -> bool:
        nonlocal seen
        seen += message["type"] == "RECORD"
        return message["type"] == "STATE" and seen == 10_000

    first = mp.run(config, kill_when=kill_at_sdk_state)
    assert first.returncode != 0, "the SDK's STATE at record 10,000 never came"
    tenth_thousand = first.records("domain_logs")[-1]["received_at"]
    assert mp.bookmarks(first.last_state)[HOT] == tenth_thousand, "not the SDK's mid-window STATE"
    mp.assert_no_gap(set(mp.emitted_ids(first)), first.last_state)
    second = mp.run(config, state=first.last_state)
    assert second.returncode == 0, second.stderr[-2000:]
    together = set(mp.emitted_ids(first)) | set(mp.emitted_ids(second))
    mp.assert_complete(sorted(together), HOT, mp.bookmarks(second.last_state)[HOT])
