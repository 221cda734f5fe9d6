"""The command line: --about and --discover without config, --test per domain."""

from __future__ import annotations

import json

from sandbox.mailprotector import DEMO_API_KEY
from sandbox.testing import assert_no_secrets, run_tap

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


def test_connection_test_passes_per_domain(mailprotector):
    mp = mailprotector()
    run = run_tap(EXECUTABLE, mp.config(domain_ids=None, reseller_id=343), args=("--test",))
    assert run.returncode == 0, run.stderr[-2000:]
    for line in ("domain 102 (mpdemo.net): ok", "domain 104 (pending-demo.net): ok"):
        assert line in run.stderr


def test_connection_test_names_each_failing_domain(mailprotector):
    mp = mailprotector()
    run = run_tap(EXECUTABLE, mp.config(domain_ids=[102, 201, 999]), args=("--test",))
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if "Connection test failed" in line]
    assert len(errors) == 2
    assert "domain 201: HTTP 403, the API key is not allowed on it" in errors[0]
    assert "domain 999: HTTP 404, it does not exist" in errors[1]
    assert "domain 102 (mpdemo.net): ok" in run.stderr


def test_connection_test_names_an_ignored_time_filter_and_a_bad_key(mailprotector):
    mp = mailprotector(time_filter="start_end_date")
    run = run_tap(EXECUTABLE, mp.config(), args=("--test",))
    assert run.returncode == 1
    assert "domain 102 (mpdemo.net): " in run.stderr
    assert "does not apply the time filter" in run.stderr
    wrong = "mp-not-a-key-987654321"
    bad = run_tap(EXECUTABLE, mp.config(api_key=wrong), args=("--test",))
    assert bad.returncode == 1
    assert "HTTP 401" in bad.stderr
    assert_no_secrets([wrong, DEMO_API_KEY], run.stdout, run.stderr, bad.stdout, bad.stderr)


def test_turning_tls_verification_off_warns(mailprotector):
    mp = mailprotector()
    run = run_tap(EXECUTABLE, mp.config(verify_tls=False))
    assert run.returncode == 0, run.stderr[-2000:]
    assert "verify_tls is false: TLS certificates are NOT verified" in run.stderr
