"""The release and scheduled-sync scripts, and the files Meltano leaves behind."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time

import pytest
from sandbox.rediffmail import DEMO_PASSWORD
from sandbox.testing import PROJECT_ROOT, meltano_lock

RELEASE = [sys.executable, str(PROJECT_ROOT / "scripts" / "release.py")]
PACKAGES = ["tap-rediffmail", "tap-mailprotector", "tap-iredadmin", "mailtaps-common"]


def release(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RELEASE, *args], capture_output=True, text=True, check=False)


def version_of(package: str) -> str:
    import tomllib

    return tomllib.loads((PROJECT_ROOT / package / "pyproject.toml").read_text())["project"][
        "version"
    ]


@pytest.mark.parametrize("package", PACKAGES)
def test_release_tag_of_each_package_matches_its_version_and_has_notes(package):
    version = version_of(package)
    check = release("check", f"{package}/v{version}")
    assert check.returncode == 0, check.stderr
    assert check.stdout.splitlines() == [f"package={package}", f"version={version}"]
    notes = release("notes", f"{package}/v{version}")
    assert notes.returncode == 0, notes.stderr
    assert notes.stdout.strip()
    assert not any(line.startswith("## ") for line in notes.stdout.splitlines()), (
        "only this version's section"
    )


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("tap-rediffmail/v9.9.9", "pyproject.toml says version"),
        ("tap-nothing/v0.1.0", "no package 'tap-nothing'"),
        ("v0.1.0", "is not <package>/v<version>"),
    ],
)
def test_release_refuses_a_tag_that_does_not_match(tag, message):
    result = release("check", tag)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert message in result.stderr


def test_sync_names_every_missing_secret_before_it_starts():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG_", "MELTANO_"))}
    env |= {"MELTANO_DATABASE_URI": "", "PG_HOST": "db", "REDIFFMAIL_DOMAIN": "example.co.in"}
    result = subprocess.run(
        ["bash", "scripts/sync.sh", "rediffmail-to-postgres", "REDIFFMAIL_DOMAIN",
         "REDIFFMAIL_PASSWORD"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == (
        "sync: rediffmail-to-postgres cannot start: MELTANO_DATABASE_URI PG_PORT PG_USER "
        "PG_PASSWORD PG_DATABASE REDIFFMAIL_PASSWORD not set (repository secrets or variables)\n"
    )


@pytest.mark.usefixtures("meltano_installed")
def test_config_files_left_by_a_killed_run_are_private(start_sandbox, tmp_path):
    """Meltano writes each plugin's config, secrets included, under .meltano/run and
    leaves it there after a kill -9; run the way the scripts run Meltano (setup.sh's
    umask), nobody else may read it."""
    sandbox = start_sandbox("rediffmail")
    sandbox.app.faults.latency_seconds = 5.0
    env = {
        **os.environ,
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "TAP_REDIFFMAIL_API_URL": f"{sandbox.url}/logs/get",
        "TARGET_DUCKDB_FILEPATH": str(tmp_path / "mail.duckdb"),
    }
    script = (
        "source scripts/setup.sh >/dev/null 2>&1; "
        'exec "${UV[@]}" run --frozen meltano --environment=demo run tap-rediffmail target-duckdb'
    )
    run_dir = PROJECT_ROOT / ".meltano" / "run" / "tap-rediffmail"
    with meltano_lock():
        proc = subprocess.Popen(
            ["bash", "-c", script], cwd=PROJECT_ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while not sandbox.app.api_calls("/logs/get") and time.monotonic() < deadline:
                time.sleep(0.2)  # the tap is waiting for its first (slow) answer
            assert sandbox.app.api_calls("/logs/get"), "the tap never called the API"
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    configs = list(run_dir.glob("*.json"))
    assert configs, "a killed run leaves its config behind"
    leaked = [c for c in configs if DEMO_PASSWORD in c.read_text()]
    assert leaked, "the config holds the password"
    for path in configs:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.name} is {oct(mode)}: readable by others"
    json.loads(leaked[0].read_text())
