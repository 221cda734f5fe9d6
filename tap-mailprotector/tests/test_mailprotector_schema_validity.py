"""Every record tap-mailprotector can emit validates against its SCHEMA message.

The loaders do not validate (``validate_records: false`` in meltano.yml, for speed), so
this suite does it for them: unknown fields (``extra``), null senders and PTRs, a burst of
entries sharing one timestamp served in unstable order, every domain a reseller lists.
"""

from __future__ import annotations

import copy

from sandbox.validity import invalid_records

BURST = [{"domain_id": 105, "ago_seconds": 5400, "seconds": 300, "count": 600, "tie_group": 40}]


def test_every_record_validates_against_its_schema(mailprotector):
    mp = mailprotector(extra_fields=True, unstable_ties=True, bursts=BURST)
    run = mp.run(mp.config(domain_ids=None, reseller_id=343))
    assert run.returncode == 0, run.stderr[-2000:]
    logs = run.records("domain_logs")
    assert len(logs) > 600
    assert len(run.records("domains")) == 4
    assert any(r.get("extra") for r in logs), "the unknown fields were not exercised"
    assert any(r.get("sender") is None for r in logs), "no null sender was exercised"
    assert invalid_records(run.messages) == []


def test_the_check_refuses_what_a_validating_target_would(mailprotector):
    mp = mailprotector()
    messages = copy.deepcopy(mp.run(mp.config()).messages)
    record = next(
        m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == "domain_logs"
    )
    record["rule_ids"] = ["12"]
    del record["id"]
    problems = invalid_records(messages)
    assert any("rule_ids" in p for p in problems), problems
    assert any("key property id missing" in p for p in problems), problems
