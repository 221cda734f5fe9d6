"""The command line: --about, --discover with no config, --test, config errors."""

from __future__ import annotations

import json

import pytest
from sandbox.postgres import free_port
from sandbox.rediffmail import DEMO_PASSWORD
from sandbox.testing import assert_no_secrets, run_tap

STREAMS = {"report_windows", "outbound_mail_delivery_report", "activity_report"}


def test_discover_works_without_config():
    run = run_tap("tap-rediffmail", None, args=("--discover",))  # type: ignore[arg-type]
    assert run.returncode == 0, run.stderr
    catalog = json.loads(run.stdout)
    entries = {s["tap_stream_id"]: s for s in catalog["streams"]}
    assert set(entries) == STREAMS
    assert entries["outbound_mail_delivery_report"]["key_properties"] == ["record_key"]
    props = entries["outbound_mail_delivery_report"]["schema"]["properties"]
    assert props["mail_size_bytes"]["type"] == ["integer", "null"]
    assert "extra" in props


def test_about_marks_secrets():
    run = run_tap("tap-rediffmail", None, args=("--about", "--format=json"))  # type: ignore[arg-type]
    about = json.loads(run.stdout)
    settings = about["settings"]["properties"]
    assert settings["password"].get("secret") is True
    assert settings["password_base64"].get("secret") is True
    assert settings["timezone"]["default"] == "Asia/Kolkata"
    assert settings["min_seconds_between_calls"]["default"] == 60


def test_connection_test_succeeds(rediff):
    env = rediff()
    run = env.run(args=("--test",))
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(env.app.api_calls("/logs/get")) == 1


@pytest.mark.parametrize(
    ("setup", "cause"),
    [
        ({"config": {"password": "not-it"}}, "rejected the credentials"),
        ({"client_ip": "198.51.100.7"}, "allow-list the public IP"),
        ({"faults": {"rate_limit_interval": 30}, "pre_calls": 1}, "rate limit (429"),
        (
            {"config": {"api_url": "http://127.0.0.1:{dead}/logs/get"}},
            "connection refused by 127.0.0.1:",
        ),
    ],
    ids=["credentials", "ip-allow-list", "rate-limit", "unreachable"],
)
def test_connection_test_names_the_cause(rediff, setup, cause):
    env = rediff(client_ip=setup.get("client_ip"))
    for name, value in setup.get("faults", {}).items():
        setattr(env.app.faults, name, value)
    if setup.get("pre_calls"):  # someone else just used the allowance
        env.run(env.config(end_date="2026-11-10T06:00:00+00:00"))
    overrides = {
        k: v.format(dead=free_port()) if isinstance(v, str) else v
        for k, v in setup.get("config", {}).items()
    }
    run = env.run(env.config(max_retries=2, **overrides), args=("--test",))
    assert run.returncode != 0
    assert cause in run.stderr


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password_base64": "c2VjcmV0"}, "'password_base64' = (hidden): give it or 'password'"),
        ({"password": None}, "tap-rediffmail: missing required setting 'password'"),
        (
            {"password": None, "password_base64": "%%%not base64"},
            "'password_base64' = (hidden): must be standard base64",
        ),
        ({"timezone": "Mars/Olympus"}, "'timezone' = 'Mars/Olympus': must be an IANA zone"),
        ({"timezone": "America"}, "'timezone' = 'America': must be an IANA zone"),  # a folder
        (
            {"end_date": "2026-11-01T00:00:00Z"},
            "'end_date' = '2026-11-01T00:00:00Z': must be after start_date",
        ),
        ({"window_minutes": 0}, "'window_minutes' = 0: must be from 1 to 1440"),
        ({"window_minutes": 1441}, "'window_minutes' = 1441: must be from 1 to 1440"),
        ({"start_date": ""}, "'start_date' = '': must be an ISO 8601 date-time"),
        ({"start_date": "yesterday"}, "'start_date' = 'yesterday': must be an ISO 8601"),
        ({"lag_minutes": -5}, "'lag_minutes' = -5: must be from 0 to 10080"),
        ({"domain": None}, "tap-rediffmail: missing required setting 'domain'"),
    ],
)
def test_bad_config_is_one_clear_line(rediff, changes, message):
    env = rediff()
    run = env.run(env.config(**changes))
    assert run.returncode != 0
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert env.app.api_calls() == []


def test_tls_verification_off_warns(rediff):
    env = rediff()
    run = env.run(env.config(verify_tls=False, end_date="2026-11-10T06:00:00+00:00"))
    assert run.returncode == 0
    assert "verify_tls is off" in run.stderr


def test_secrets_absent_from_state_and_logs_in_failures(rediff):
    env = rediff()
    env.app.faults.fail_next = ["ok", "http_500", "truncated", *["http_503"] * 5]
    run = env.run(env.config(max_retries=3))
    assert run.returncode != 0
    assert_no_secrets([DEMO_PASSWORD], json.dumps(run.states), run.stderr, run.stdout)
    assert "password" not in json.dumps(run.states)
