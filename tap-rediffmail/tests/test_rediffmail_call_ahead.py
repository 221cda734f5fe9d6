"""The next window's call is sent while the rows of the last one are written: one call
per window all the same, the answer the one asked for, failures where they are taken."""

from __future__ import annotations

import json
import logging
import subprocess
import time

import pytest
import requests
from rediffmail_support import assert_matches_truth, records_of
from sandbox.testing import BIN
from tap_rediffmail.client import CallAheadSession, Pacer, encode_password

ONE_DAY = "2026-11-11T00:00:00+00:00"


def window_request(env, start: int) -> requests.PreparedRequest:
    config = env.config()
    form = {
        "domain": config["domain"],
        "user_email": config["user_email"],
        "passwd": encode_password(config),
        "fromtime_epoch": str(start),
        "totime_epoch": str(start + 3600),
    }
    return requests.Request("POST", config["api_url"], data=form).prepare()


@pytest.fixture
def session():
    with CallAheadSession() as session:
        yield session


def test_a_call_sent_ahead_is_made_before_it_is_asked_for_and_once(rediff, session):
    env = rediff()
    env.app.faults.latency_seconds = 0.5
    request = window_request(env, 1_762_819_200)
    session.send_ahead(request, Pacer(0, logging.getLogger("test")), timeout=5)
    assert all(call.status == 0 for call in env.app.api_calls()), "not waited for"
    time.sleep(0.2)  # the rows of the previous window being written
    asked_at = time.monotonic()
    ahead = session.send(request, timeout=5)
    calls = env.app.api_calls("/logs/get")
    assert len(calls) == 1
    assert calls[0].at < asked_at
    assert b'"status":"success"' in ahead.content
    assert ahead.content == session.send(request, timeout=5).content
    assert len(env.app.api_calls("/logs/get")) == 2, "an answer is taken once"


def test_another_request_than_the_one_sent_ahead_is_sent_for_real(rediff, session):
    env = rediff()
    ahead, asked = window_request(env, 1_762_819_200), window_request(env, 1_762_822_800)
    session.send_ahead(ahead, Pacer(0, logging.getLogger("test")), timeout=5)
    answer = session.send(asked, timeout=5)
    assert answer.request.body == asked.body
    assert len(env.app.api_calls("/logs/get")) == 2


def test_a_call_ahead_that_failed_fails_where_its_answer_is_taken(rediff, session):
    env = rediff()
    env.app.faults.fail_next = ["reset"]
    request = window_request(env, 1_762_819_200)
    session.send_ahead(request, Pacer(0, logging.getLogger("test")), timeout=5)
    with pytest.raises(requests.ConnectionError):
        session.send(request, timeout=5)
    assert session.send(request, timeout=5).ok, "the next call is made"


def test_calls_sent_ahead_keep_to_the_pacing(rediff, session):
    env = rediff()
    pacer = Pacer(0.4, logging.getLogger("test"))
    first, second = window_request(env, 1_762_819_200), window_request(env, 1_762_822_800)
    with pacer:
        session.send(first, timeout=5)
    session.send_ahead(second, pacer, timeout=5)
    session.send(second, timeout=5)
    calls = env.app.api_calls("/logs/get")
    assert calls[1].at - calls[0].at >= 0.4


def test_a_failed_call_ahead_is_retried_and_the_run_is_complete(rediff):
    env = rediff()
    env.app.faults.timeout_seconds = 3  # longer than the tap's 2 s request timeout
    env.app.faults.fail_next = ["ok", "reset", "ok", "timeout", "ok", "truncated"]
    run = env.run(env.config(end_date=ONE_DAY))
    assert run.returncode == 0, run.stderr[-2000:]
    assert_matches_truth(records_of(run), env.truth(end=ONE_DAY))
    calls = env.app.api_calls("/logs/get")
    assert [c.fault for c in calls if c.fault] == ["reset", "timeout", "truncated"]
    assert len(calls) == len(run.records("report_windows")) + 3


def test_a_target_gone_while_a_call_is_sent_ahead_ends_the_run_at_once(rediff, tmp_path):
    env = rediff(mails_per_hour=20000)  # a window's rows overfill the pipe
    env.app.faults.timeout_seconds = 60
    env.app.faults.fail_next = ["ok", "timeout"]  # the call sent ahead hangs for a minute
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(env.config(end_date=ONE_DAY, window_minutes=60, request_timeout=120))
    )
    tap = subprocess.Popen(
        [str(BIN / "tap-rediffmail"), "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert tap.stdout is not None
    while b'"type":"RECORD","stream":"outbound' not in tap.stdout.readline():
        pass
    tap.stdout.close()  # the target went away
    try:
        assert tap.wait(timeout=30) != 0, "the run ended without waiting for the call"
    finally:
        tap.kill()
        tap.wait()
    assert [call.fault for call in env.app.api_calls("/logs/get")] == [None, "timeout"]
