"""The window plan: grid boundaries and the bounds of its level."""

from __future__ import annotations

import pytest
from tap_rediffmail.client import WindowPlanner


@pytest.mark.parametrize("window_seconds", [7, 60, 3600, 86400])
def test_windows_end_on_the_next_boundary_of_their_level(window_seconds):
    for level in range(14):
        planner = WindowPlanner(0, 10**12, window_seconds, 10, None, level)
        parts = 2**planner.level
        for position in [
            *range(min(window_seconds, 300)),
            window_seconds - 1,
            5 * window_seconds + 3,
        ]:
            cell = position - position % window_seconds
            boundaries = [cell + window_seconds * i // parts for i in range(1, parts + 1)]
            expected = min(b for b in boundaries if b > position)
            assert planner._window_from(position).end == expected


def test_busy_seconds_never_push_the_level_past_one_second_windows():
    planner = WindowPlanner(0, 10**6, 3600, max_rows=10, row_cap=None)
    for _ in range(40):  # every window far busier than max_rows
        planner.accept({"outbound_mail_delivery_report": 1000, "activity_report": 0})
    assert planner.level == planner.max_level == 12
    window = planner.current
    assert window is not None
    assert window.end - window.start == 1
