"""Every record tap-rediffmail can emit validates against its SCHEMA message.

The loaders do not validate (``validate_records: false`` in meltano.yml, for speed), so
this suite does it for them, under each of the sandbox's quirk switches at once: unknown
fields, strings and non-numbers for counts, attachment names as string, list or null,
report keys missing or null, timestamps on activities, per-row status fields.
"""

from __future__ import annotations

import copy

import pytest
from rediffmail_support import ACTIVITY, OUTBOUND
from sandbox.validity import invalid_records

QUIRKS = {
    "extra_fields": True,
    "odd_value_types": True,
    "activity_timestamps": True,
    "record_status_fields": True,
}


@pytest.mark.parametrize(
    ("attachment_style", "report_keys"),
    [("mixed", "present"), ("string", "null"), ("list", "missing")],
)
def test_every_record_validates_against_its_schema(rediff, attachment_style, report_keys):
    env = rediff(**QUIRKS, attachment_style=attachment_style, report_keys=report_keys)
    run = env.run()
    assert run.returncode == 0, run.stderr[-2000:]
    counts = run.counts()
    assert counts[OUTBOUND] > 100
    assert counts[ACTIVITY] > 10
    assert any(r["extra"] for r in run.records(OUTBOUND)), "the quirks were not exercised"
    assert invalid_records(run.messages) == []


def test_the_check_refuses_what_a_validating_target_would(rediff):
    run = rediff(**QUIRKS).run()
    messages = copy.deepcopy(run.messages)
    record = next(
        m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == OUTBOUND
    )
    record["rcpt_to_count"] = "n/a"  # what the API sends, had the tap passed it on
    record["date_time_utc"] = "yesterday"
    problems = invalid_records(messages)
    assert len(problems) == 2, problems
    assert "rcpt_to_count" in problems[0]
    assert "date_time_utc" in problems[1]
