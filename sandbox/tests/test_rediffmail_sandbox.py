"""The RediffMail imitation keeps its contract: auth, allow-list, time range,
deterministic data, ground truth over HTTP, and the command line."""

from __future__ import annotations

import base64
import subprocess
import sys
import time

import requests
from sandbox.postgres import free_port
from sandbox.rediffmail import DEMO_DOMAIN, DEMO_PASSWORD, DEMO_USER, RediffMailSandbox

DAY = 1_794_787_200  # a UTC midnight


def form(start: int = DAY, end: int = DAY + 3600, password: str = DEMO_PASSWORD) -> dict:
    return {
        "domain": DEMO_DOMAIN,
        "user_email": DEMO_USER,
        "passwd": base64.b64encode(password.encode()).decode(),
        "fromtime_epoch": str(start),
        "totime_epoch": str(end),
    }


def test_same_seed_same_data_and_windows_add_up():
    a, b = RediffMailSandbox(seed=3), RediffMailSandbox(seed=3)
    assert a.reports(DAY, DAY + 7200) == b.reports(DAY, DAY + 7200)
    halves = [a.reports(DAY, DAY + 3600), a.reports(DAY + 3600, DAY + 7200)]
    whole = a.reports(DAY, DAY + 7200)
    for name, rows in whole.items():
        assert rows == halves[0][name] + halves[1][name]
    assert RediffMailSandbox(seed=4).reports(DAY, DAY + 7200) != whole


def test_endpoint_checks_credentials_ip_and_range(start_sandbox):
    sandbox = start_sandbox("rediffmail")
    url = f"{sandbox.url}/logs/get"
    ok = requests.post(url, data=form(), timeout=5)
    assert ok.status_code == 200
    assert ok.json()["status"] == "success"
    assert ok.json()["data"] == sandbox.app.reports(DAY, DAY + 3600)

    assert requests.post(url, data=form(password="nope"), timeout=5).status_code == 401
    assert requests.post(url, data=form(DAY, DAY), timeout=5).json()["status_code"] == 400
    sandbox.set_client_ip("203.0.113.5")
    assert requests.post(url, data=form(), timeout=5).status_code == 403


def test_failures_in_http_200_style(start_sandbox):
    sandbox = start_sandbox("rediffmail", failure_style="200")
    answer = requests.post(f"{sandbox.url}/logs/get", data=form(password="x"), timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "failure",
        "status_code": 401,
        "message": "Authentication failed",
    }


def test_truth_and_config_over_http(start_sandbox):
    sandbox = start_sandbox("rediffmail")
    counts = requests.get(
        f"{sandbox.url}/_sandbox/truth", params={"from": DAY, "to": DAY + 3600}, timeout=5
    ).json()
    reports = sandbox.app.reports(DAY, DAY + 3600)
    assert counts == {name: len(rows) for name, rows in reports.items()}
    changed = requests.post(
        f"{sandbox.url}/_sandbox/config", json={"settings": {"row_cap": 3}}, timeout=5
    )
    assert changed.status_code == 200
    capped = requests.post(f"{sandbox.url}/logs/get", data=form(), timeout=5).json()
    assert len(capped["data"]["outbound_mail_delivery_report"]) == 3
    bad = requests.post(f"{sandbox.url}/_sandbox/config", json={"settings": {"x": 1}}, timeout=5)
    assert bad.status_code == 400


def test_command_line_serves_a_vendor():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "rediffmail", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert f"127.0.0.1:{port}" in proc.stdout.readline()
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = requests.post(f"http://127.0.0.1:{port}/logs/get", data=form(), timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert answer.json()["status"] == "success"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
