"""Each tap as a user installs it: built with ``uv build``, added to a brand-new Meltano
project outside this repository from its ``plugin.yml``, configured with ``meltano config
set`` and environment variables, checked with ``meltano config test`` and run into
target-jsonl against the sandbox. Records equal the sandbox's truth.

The same project shows that a setting of every kind reaches the tap as the JSON type its
schema declares, whether given through the environment or ``meltano config set``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sandbox.iredadmin import DEMO_ADMIN
from sandbox.iredadmin import DEMO_PASSWORD as IREDADMIN_PASSWORD
from sandbox.mailprotector import DEMO_API_KEY
from sandbox.rediffmail import DEMO_DOMAIN, DEMO_USER
from sandbox.rediffmail import DEMO_PASSWORD as REDIFF_PASSWORD
from sandbox.testing import assert_no_secrets

from sandbox import RunningSandbox

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TAPS = ("tap-rediffmail", "tap-mailprotector", "tap-iredadmin")
PACKAGES = ("mailtaps-common", *TAPS)
TAP_CLASSES = {
    "tap-rediffmail": "tap_rediffmail.tap:TapRediffMail",
    "tap-mailprotector": "tap_mailprotector.tap:TapMailprotector",
    "tap-iredadmin": "tap_iredadmin.tap:TapIRedAdmin",
}
TARGET_JSONL = {
    "name": "target-jsonl",
    "namespace": "target_jsonl",
    "variant": "andyh1203",
    "pip_url": "target-jsonl==0.1.4",
    "executable": "target-jsonl",
    "settings": [
        {"name": "destination_path", "kind": "string", "value": "output"},
        {"name": "do_timestamp_file", "kind": "boolean", "value": False},
    ],
}
REDIFF_START, REDIFF_END = "2026-11-10T00:00:00+00:00", "2026-11-11T00:00:00+00:00"


def uv() -> list[str]:
    """uv as scripts/setup.sh finds it: on the PATH (or in .venv/bin), else as a module."""
    found = shutil.which("uv", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return [found] if found else ["python3", "-m", "uv"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel and an sdist of every published package, built as a release would."""
    out = tmp_path_factory.mktemp("dist")
    for package in PACKAGES:
        subprocess.run(
            [*uv(), "build", "--quiet", "--package", package, "--out-dir", str(out)],
            cwd=ROOT,
            check=True,
            timeout=300,
            env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        )
    return out


def wheel(dist: Path, package: str) -> Path:
    (path,) = dist.glob(f"{package.replace('-', '_')}-*.whl")
    return path


def test_wheels_and_sdists_carry_complete_metadata(dist: Path) -> None:
    for package in PACKAGES:
        with zipfile.ZipFile(wheel(dist, package)) as whl:
            names = whl.namelist()
            (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
            metadata = whl.read(metadata_name).decode()
            (license_name,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
            assert whl.read(license_name) == (ROOT / "LICENSE").read_bytes(), package
        headers, _, long_description = metadata.partition("\n\n")
        assert "License-Expression: Apache-2.0" in headers, package
        assert "Classifier: Programming Language :: Python :: 3.11" in headers, package
        assert "Project-URL: Repository, https://github.com/mail-taps/mail-taps" in headers
        assert "Description-Content-Type: text/markdown" in headers, package
        readme = (ROOT / package / "README.md").read_text()
        assert long_description.strip() == readme.strip(), package
        (sdist,) = dist.glob(f"{package.replace('-', '_')}-*.tar.gz")
        with tarfile.open(sdist) as tar:
            shipped = {Path(name).name for name in tar.getnames()}
        assert {"LICENSE", "README.md", "pyproject.toml"} <= shipped, package


def meltano_in(
    project: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``meltano ARGS`` in ``project``, with nothing of this repository's environment."""
    result = subprocess.run(
        [str(BIN / "meltano"), *args],
        cwd=project,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("MELTANO_", "TAP_"))},
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"meltano {' '.join(args)} exited {result.returncode}\n{result.stderr[-4000:]}"
    )
    return result


@pytest.fixture(scope="module")
def project(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new Meltano project outside the repository with the three taps added from their
    plugin.yml (``pip_url``: the wheels just built) and target-jsonl, installed."""
    home = tmp_path_factory.mktemp("elsewhere")
    assert not home.resolve().is_relative_to(ROOT)
    meltano_in(home, "init", "project", "--no-usage-stats")
    project = home / "project"
    refs = home / "refs"
    refs.mkdir()
    common = wheel(dist, "mailtaps-common")
    for tap in TAPS:
        definition = yaml.safe_load((ROOT / tap / "plugin.yml").read_text())
        definition["pip_url"] = f"{common} {wheel(dist, tap)}"
        (refs / f"{tap}.yml").write_text(yaml.safe_dump(definition, sort_keys=False))
        meltano_in(project, "add", "--plugin-type", "extractor", tap,
                   "--from-ref", str(refs / f"{tap}.yml"), "--no-install")  # fmt: skip
    (refs / "target-jsonl.yml").write_text(yaml.safe_dump(TARGET_JSONL, sort_keys=False))
    meltano_in(project, "add", "--plugin-type", "loader", "target-jsonl",
               "--from-ref", str(refs / "target-jsonl.yml"), "--no-install")  # fmt: skip
    meltano_in(project, "install", timeout=600)
    return project


def jsonl(project: Path, tap: str, stream: str) -> list[dict[str, Any]]:
    path = project / "output" / tap / f"{stream}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def variables(tap: str, settings: dict[str, str]) -> dict[str, str]:
    """The environment variables that give a tap these settings (``TAP_X_SETTING``)."""
    prefix = tap.upper().replace("-", "_")
    return {f"{prefix}_{name.upper()}": value for name, value in settings.items()}


def test_each_tap_installs_into_a_new_project_and_lands_the_truth(
    project: Path, start_sandbox: Callable[..., RunningSandbox]
) -> None:
    rediff = start_sandbox("rediffmail")
    mailprotector = start_sandbox("mailprotector", volumes={102: 40.0, 201: 5.0}, bursts=[])
    iredadmin = start_sandbox("iredadmin")
    mp_start = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    # One secret with `meltano config set` (it goes to the project's .env) as the README
    # shows, the rest through the environment as a scheduler gives them (each Meltano
    # command costs seconds; both ways are checked for every kind below).
    meltano_in(project, "config", "set", "tap-mailprotector", "api_key", DEMO_API_KEY)
    settings = {
        "tap-rediffmail": {
            "password": REDIFF_PASSWORD,
            "api_url": f"{rediff.url}/logs/get", "domain": DEMO_DOMAIN, "user_email": DEMO_USER,
            "start_date": REDIFF_START, "end_date": REDIFF_END, "window_minutes": "360",
            "min_seconds_between_calls": "0", "retry_base_seconds": "0.01",
        },
        "tap-mailprotector": {
            "base_url": mailprotector.url, "domain_ids": "[102]", "start_date": mp_start,
            "settle_delay_seconds": "0", "overlap_seconds": "0", "retry_base_seconds": "0.01",
        },
        "tap-iredadmin": {
            "base_url": f"{iredadmin.url}/iredadmin", "username": DEMO_ADMIN,
            "password": IREDADMIN_PASSWORD, "retry_base_seconds": "0.01",
        },
    }  # fmt: skip
    logs = []
    for tap, values in settings.items():
        (project / "output" / tap).mkdir(parents=True, exist_ok=True)
        env = {**variables(tap, values), "TARGET_JSONL_DESTINATION_PATH": f"output/{tap}"}
        logs.append(meltano_in(project, "config", "test", tap, env=env).stderr)
        logs.append(meltano_in(project, "run", tap, "target-jsonl", env=env).stderr)
    assert_no_secrets(
        [REDIFF_PASSWORD, DEMO_API_KEY, IREDADMIN_PASSWORD],
        *logs,
        (project / "meltano.yml").read_text(),
    )

    truth = rediff.app.reports(  # type: ignore[attr-defined]
        int(datetime.fromisoformat(REDIFF_START).timestamp()),
        int(datetime.fromisoformat(REDIFF_END).timestamp()),
    )
    for stream in ("outbound_mail_delivery_report", "activity_report"):
        records = jsonl(project, "tap-rediffmail", stream)
        assert truth[stream], f"no {stream} rows in the period: this check could not fail"
        assert len(records) == len(truth[stream]), stream
        assert len({r["record_key"] for r in records}) == len(records), f"{stream} duplicates"

    state = json.loads(
        meltano_in(project, "state", "get", "dev:tap-mailprotector-to-target-jsonl").stdout
    )
    (partition,) = state["singer_state"]["bookmarks"]["domain_logs"]["partitions"]
    truth_ids = mailprotector.app.truth(  # type: ignore[attr-defined]
        {
            "domain": ["102"],
            "from": [mp_start],
            "to": [partition["replication_key_value"]],
            "ids": ["1"],
        }
    )["ids"]
    ids = [r["id"] for r in jsonl(project, "tap-mailprotector", "domain_logs")]
    assert truth_ids, "no entries in the period: this check could not fail"
    assert sorted(ids) == sorted(truth_ids)

    directory = iredadmin.app.truth({"admin": [DEMO_ADMIN]})  # type: ignore[attr-defined]
    for stream, key in (("domains", "domain"), ("users", "username"), ("aliases", "address")):
        landed = sorted(r[key] for r in jsonl(project, "tap-iredadmin", stream))
        assert landed == sorted(directory[stream]), stream


# A setting of each kind the plugin definitions use, as text (how an environment variable
# or `meltano config set` gives it), and the value the tap must end up with.
KINDS: dict[str, tuple[str, Any]] = {
    "base_url": ("http://127.0.0.1:9/", "http://127.0.0.1:9/"),  # string
    "reseller_id": ("343", 343),  # integer
    "verify_tls": ("false", False),  # boolean
    "retry_base_seconds": ("0.25", 0.25),  # number (declared kind string)
    "domain_ids": ("[102, 103]", [102, 103]),  # array
    "api_key": (DEMO_API_KEY, DEMO_API_KEY),  # password (sensitive)
}
KINDS_TAP = "tap-mailprotector"  # it has a setting of every kind


def config_the_tap_reads(project: Path, tap: str, dumped: str) -> dict[str, Any]:
    """The config the installed tap validated and uses (``tap.config``), from the
    config file Meltano would hand it; run with the tap's own installed package."""
    module, cls = TAP_CLASSES[tap].split(":")
    python = project / ".meltano" / "extractors" / tap / "venv" / "bin" / "python"
    config_file = project / f"{tap}.config.json"
    config_file.write_text(dumped)
    script = (
        f"import json, sys; from {module} import {cls}; "
        f"print(json.dumps(dict({cls}(config=sys.argv[1]).config)))"
    )
    result = subprocess.run(
        [str(python), "-c", script, str(config_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    config_file.unlink()
    assert result.returncode == 0, f"{tap} refused the config:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout)


@pytest.mark.parametrize("way", ["environment", "config set"])
def test_a_setting_of_each_kind_reaches_the_tap_typed(project: Path, way: str) -> None:
    """issue 7 point 6: every kind works through an environment variable and through
    ``meltano config set`` (which writes meltano.yml, and .env for a secret)."""
    environment = "staging" if way == "config set" else "prod"  # apart from the sync test
    env = {}
    if way == "environment":
        env = variables(KINDS_TAP, {name: text for name, (text, _) in KINDS.items()})
    else:
        for name, (text, _) in KINDS.items():
            meltano_in(project, f"--environment={environment}", "config", "set", KINDS_TAP,
                       name, text)  # fmt: skip
    dumped = meltano_in(
        project, f"--environment={environment}", "invoke", "--dump=config", KINDS_TAP, env=env
    ).stdout
    config = config_the_tap_reads(project, KINDS_TAP, dumped)
    for name, (_, expected) in KINDS.items():
        value = config.get(name)
        right = value == expected and type(value) is type(expected)
        shown = "(the secret)" if value == DEMO_API_KEY else repr(value)
        assert right, f"{name} ({way}): the tap got {shown}"
