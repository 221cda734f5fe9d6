"""Completeness, keys, resume and windowing against the sandbox's ground truth."""

from __future__ import annotations

import itertools
import json
from collections import Counter

from rediffmail_support import (
    ACTIVITY,
    OUTBOUND,
    PERIOD_END,
    PERIOD_START,
    assert_matches_truth,
    bookmark,
    comparable,
    epoch,
    records_of,
)


def test_multi_day_sync_equals_ground_truth(rediff):
    env = rediff(extra_fields=True, attachment_style="mixed")
    run = env.run()
    assert run.returncode == 0, run.stderr[-2000:]

    truth = env.truth()
    assert len(truth[OUTBOUND]) > 2000
    assert len(truth[ACTIVITY]) > 500
    assert_matches_truth(records_of(run), truth)
    # Identical rows in one second exist and stay distinct records.
    assert len({r["record_key"] for r in run.records(OUTBOUND)}) == len(truth[OUTBOUND])
    assert Counter(map(str, truth[OUTBOUND])).most_common(1)[0][1] > 1
    assert len({r["record_key"] for r in run.records(ACTIVITY)}) == len(truth[ACTIVITY])
    # Windows tile the period with no gap and the bookmark is its end.
    windows = run.records("report_windows")
    assert windows[0]["window_start"] == PERIOD_START
    assert all(a["window_end"] == b["window_start"] for a, b in itertools.pairwise(windows))
    assert bookmark(run) == windows[-1]["window_end"] == PERIOD_END
    # One call per window, both reports served by it.
    assert len(env.app.api_calls("/logs/get")) == len(windows) == 12


def test_records_are_shaped_for_loading(rediff):
    env = rediff(extra_fields=True)
    run = env.run(env.config(end_date="2026-11-10T12:00:00+00:00"))
    outbound = run.records(OUTBOUND)
    sample = outbound[0]
    assert sample["domain"] == "example.co.in"
    for record in outbound:
        assert record["window_start"] <= record["date_time_utc"] < record["window_end"]
        assert record["extra"]["tls"]["version"] == "TLSv1.3"  # undeclared fields kept
        assert isinstance(record["mail_size_bytes"], int)
    subjects = {r["subject"] for r in outbound}
    assert any(s.startswith(" ") for s in subjects), "leading spaces must survive"
    assert any(not s.isascii() for s in subjects)
    assert any(":" in r["sender_ip"] for r in outbound), "IPv6 senders expected"
    assert any(r["attachment_names"] and len(r["attachment_names"]) > 1 for r in outbound)
    assert "timezone" not in run.stderr, "no timezone warning when zones agree"


def test_wrong_timezone_is_flagged(rediff):
    env = rediff(render_timezone="UTC")
    run = env.run(env.config(end_date="2026-11-10T12:00:00+00:00"))
    assert run.returncode == 0
    assert "check the 'timezone' setting" in run.stderr


def test_activity_with_timestamps_is_converted(rediff):
    env = rediff(activity_timestamps=True)
    run = env.run(env.config(end_date="2026-11-10T12:00:00+00:00"))
    activity = run.records(ACTIVITY)
    assert activity
    assert all(r["date_time_utc"] for r in activity)
    assert all(r["window_start"] <= r["date_time_utc"] < r["window_end"] for r in activity)


def test_unchanged_resync_yields_the_same_keys(rediff):
    env = rediff()
    first, second = env.run(), env.run()
    for stream in (OUTBOUND, ACTIVITY):
        assert [r["record_key"] for r in first.records(stream)] == [
            r["record_key"] for r in second.records(stream)
        ]


def test_timestamped_keys_do_not_depend_on_window_size(rediff):
    env = rediff(activity_timestamps=True)
    big = env.run(env.config(window_minutes=720))
    small = env.run(env.config(window_minutes=60))
    for stream in (OUTBOUND, ACTIVITY):
        assert {r["record_key"] for r in big.records(stream)} == {
            r["record_key"] for r in small.records(stream)
        }


def keys(*runs, stream):
    """Every record_key the runs emitted for the stream, with multiplicity."""
    return Counter(r["record_key"] for run in runs for r in run.records(stream))


def test_keys_do_not_depend_on_the_window_plan(rediff):
    """Rows without a timestamp (activity) get the same keys under any plan: hourly
    windows, whole days split adaptively, 90-minute windows (not dividing a day),
    and a run resumed mid-day under yet another plan."""
    env = rediff(hourly_system_sweep=True)
    truth = env.truth()
    sweeps = Counter(comparable(ACTIVITY, r) for r in truth[ACTIVITY]).most_common(1)[0][1]
    assert sweeps >= 72, "identical untimed rows in many windows of each day expected"
    hourly = env.run(env.config(window_minutes=60))
    adaptive = env.run(env.config(window_minutes=1440, max_rows_per_window=150))
    odd = env.run(env.config(window_minutes=90))
    first_half = env.run(env.config(window_minutes=60, end_date="2026-11-11T05:30:00+00:00"))
    second_half = env.run(env.config(window_minutes=720), state=first_half.last_state)
    assert len({w["window_end"] for w in adaptive.records("report_windows")}) > 3
    for stream in (OUTBOUND, ACTIVITY):
        expected = keys(hourly, stream=stream)
        assert len(expected) == len(truth[stream])
        assert max(expected.values()) == 1
        assert keys(adaptive, stream=stream) == expected
        assert keys(odd, stream=stream) == expected
        assert keys(first_half, second_half, stream=stream) == expected


def test_no_window_crosses_a_utc_midnight(rediff):
    env = rediff()
    run = env.run(env.config(window_minutes=900))  # 15-hour grid cells straddle midnights
    windows = [
        (epoch(w["window_start"]), epoch(w["window_end"])) for w in run.records("report_windows")
    ]
    assert all(start // 86400 == (end - 1) // 86400 for start, end in windows)
    cut = [(start, end) for start, end in windows if end % 86400 == 0 and end % 54000]
    assert cut, "the grid boundary past midnight should have been cut at midnight"
    assert windows[0][0] == epoch(PERIOD_START)
    assert windows[-1][1] == epoch(PERIOD_END)


def test_killed_run_resumes_with_no_gap_and_same_keys(rediff):
    # Small max_rows_per_window makes the planner change window sizes, so the
    # resume must also restore the planning level from state.
    env = rediff(mails_per_hour=60)
    config = env.config(window_minutes=720, max_rows_per_window=150)
    full = env.run(config)
    assert full.returncode == 0
    levels = {r["window_end"] for r in full.records("report_windows")}
    assert len(levels) > 8, "expected adaptive windows"

    # Kill in the middle of the fourth window's outbound rows.
    windows_seen = 0

    def mid_fourth_window(message):
        nonlocal windows_seen
        if message["type"] == "RECORD" and message["stream"] == "report_windows":
            windows_seen += 1
        return windows_seen == 3 and message.get("stream") == OUTBOUND

    crashed = env.run(config, kill_when=mid_fourth_window)
    assert crashed.returncode != 0
    state = crashed.last_state
    assert bookmark(crashed) == full.records("report_windows")[2]["window_end"]
    resumed = env.run(config, state=state)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert resumed.records("report_windows")[0]["window_start"] == bookmark(crashed)

    combined = records_of(crashed, resumed, dedupe=True)
    assert_matches_truth(combined, env.truth())
    # Rows emitted before the crash are the same keys the resumed run re-emits.
    for stream in (OUTBOUND, ACTIVITY):
        full_keys = {r["record_key"] for r in full.records(stream)}
        assert {r["record_key"] for r in crashed.records(stream)} <= full_keys
        assert {r["record_key"] for r in combined[stream]} == full_keys


def test_resume_from_final_state_reads_nothing_new(rediff):
    env = rediff()
    first = env.run()
    again = env.run(state=first.last_state)
    assert again.returncode == 0
    assert again.counts() == {}
    assert len(env.app.api_calls("/logs/get")) == 12


def test_window_never_newer_than_lag(rediff):
    env = rediff()
    config = env.config(end_date=None, start_date=None, lag_minutes=90, window_minutes=60)
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    config["start_date"] = (now - timedelta(hours=5)).isoformat()
    run = env.run(config)
    assert run.returncode == 0
    last_end = run.records("report_windows")[-1]["window_end"]
    assert epoch(last_end) <= (now - timedelta(minutes=90)).timestamp()
    assert epoch(last_end) > (now - timedelta(minutes=92)).timestamp()


def test_silent_row_cap_is_split_and_lossless(rediff):
    env = rediff(row_cap=60, mails_per_hour=30)
    run = env.run(env.config(row_cap=60, end_date="2026-11-11T00:00:00+00:00"))
    assert run.returncode == 0, run.stderr[-2000:]
    assert_matches_truth(records_of(run), env.truth(end="2026-11-11T00:00:00+00:00"))
    windows = run.records("report_windows")
    assert max(w["outbound_count"] for w in windows) < 60
    assert len(env.app.api_calls("/logs/get")) > len(windows), "truncated windows re-read"
    assert "reading it again in smaller windows" in run.stderr


def test_unsplittable_window_fails_loudly(rediff):
    env = rediff(row_cap=2)
    run = env.run(env.config(row_cap=2, end_date="2026-11-10T06:00:00+00:00"))
    assert run.returncode != 0
    errors = [line for line in run.stderr.splitlines() if "cannot be split further" in line]
    assert errors
    stuck_at = errors[0].split("Window ")[1].split(" holds")[0]
    # Nothing at or after the unreadable second is claimed as read.
    assert bookmark(run) <= stuck_at
    assert all(w["window_end"] <= stuck_at for w in run.records("report_windows"))


def test_bookmark_advances_with_only_one_report_selected(rediff):
    """report_windows carries the bookmark, so it syncs even when deselected."""
    env = rediff()
    discovered = env.run(env.config(), args=("--discover",))
    catalog = json.loads(discovered.stdout)
    for entry in catalog["streams"]:
        selected = entry["tap_stream_id"] == OUTBOUND
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = selected
    run = env.run(catalog=catalog)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.records(ACTIVITY) == []
    assert len(run.records(OUTBOUND)) == len(env.truth()[OUTBOUND])
    assert bookmark(run) == PERIOD_END
