"""Rows of a skimmed answer, parsed one at a time, are exactly what ``json.loads`` of
the whole answer gives; answers the skim cannot read the same way are left to it."""

from __future__ import annotations

import json

import pytest
from tap_rediffmail.client import REPORTS, _skim_reports, read_row

ODD_ROWS = [
    {"date_time": "2026-11-15 10:00:00", "subject": "  Grüße 😀", "mail_size_bytes": 12},
    {"rcpt_to_count": "3", "status_code": 2.0, "attachment_names": ["a.pdf"], "x": None},
    {"big": 123456789012345678901234567890, "neg": -0.0, "tiny": 5e-324, "nested": {"a": [1]}},
    [1, 2],
    "not an object",
]


def parsed_as_python(body: bytes) -> dict[str, list[object]]:
    data = json.loads(body)["data"] or {}
    return {name: data.get(name) or [] for name in REPORTS}


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"status": "success", "data": {REPORTS[0]: ODD_ROWS, "other": 1}}).encode(),
        json.dumps(
            {"status": "Success", "data": {REPORTS[1]: ODD_ROWS}}, ensure_ascii=False
        ).encode(),
        b'{"status":"success","data":{"activity_report":[{"a":1,"b":2,"a":3}]}}',
        b'{"status":"success","data":{"activity_report":[{"huge":1e400,"s":"\xed\xa0\x80"}]}}',
        b'{"status":"success","data":null}',
        b'{"status":"success","data":{"activity_report":null}}',
    ],
)
def test_rows_read_one_at_a_time_are_what_json_loads_gives(body):
    skimmed = _skim_reports(body)
    assert skimmed is not None
    rows = {name: [read_row(row) for row in skimmed[name]] for name in REPORTS}
    assert repr(rows) == repr(parsed_as_python(body))  # repr: -0.0, 2.0 and types too


@pytest.mark.parametrize(
    "body",
    [
        b'{"status":"success","data":{"activity_report":[{"s":"\\ud800"}]}}',
        b'{"status":"success","data":{"activity_report":[{"n":NaN}]}}',
        b'{"status":"success","data":{"activity_report":["\xff"]}}',  # Python refuses it
        b'\xef\xbb\xbf{"status":"success","data":null}',
        b'{"status":"failure","message":"no","data":null}',
        b'{"status":"success","data":[]}',
        b'{"status":"success","data":{"activity_report":{}}}',
        b"<html>busy</html>",
    ],
)
def test_other_answers_are_left_to_the_whole_parse(body):
    assert _skim_reports(body) is None
