"""The command line: --about and --discover without config (--test: test_mailprotector_probe)."""

from __future__ import annotations

import json

from sandbox.testing import run_tap

EXECUTABLE = "tap-mailprotector"


def test_about_and_discover_need_no_config():
    about = run_tap(EXECUTABLE, None, args=("--about", "--format=json"))
    assert about.returncode == 0, about.stderr
    settings = set(json.loads(about.stdout)["settings"]["properties"])
    assert {"api_key", "domain_ids", "time_filter_style", "on_domain_error"} <= settings
    discover = run_tap(EXECUTABLE, None, args=("--discover",))
    assert discover.returncode == 0, discover.stderr
    streams = {s["tap_stream_id"]: s for s in json.loads(discover.stdout)["streams"]}
    assert set(streams) == {"domains", "domain_logs"}
    assert streams["domain_logs"]["key_properties"] == ["id"]
    assert streams["domain_logs"]["replication_key"] == "received_at"


def test_turning_tls_verification_off_warns(mailprotector):
    mp = mailprotector()
    run = run_tap(EXECUTABLE, mp.config(verify_tls=False))
    assert run.returncode == 0, run.stderr[-2000:]
    assert "verify_tls is false: TLS certificates are NOT verified" in run.stderr
