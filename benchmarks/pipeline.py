"""Pipeline throughput: ``meltano run <tap> target-postgres`` into a throwaway PostgreSQL.

For each log tap, against its sandbox at a volume of ``--rows`` rows, runs the pipeline with
the loader settings ``meltano.yml`` ships and with the settings it shipped before
(``validate_records: true``, ``use_copy: false``, 10,000-row batches), alternating, each into
a fresh database. Checks that every run landed exactly the sandbox's truth (no row lost, no key
twice), then loads the same rows with ``psql \\copy`` into an equivalent table (same columns,
same primary key) as the reference. Prints rows/s, the ratio to the old settings and the ratio
to ``\\copy``. The loader as shipped is target-postgres through
``loaders/target-postgres-preflight``, whose changes also speed up the old settings; ``--piped``
adds tap | loader without Meltano, which can run stock target-postgres as well: stock with the
old settings (the pipeline as it was), stock with the shipped settings, the shipped loader,
and the shipped loader reading BATCH messages (jsonl, gzip).

    uv run --frozen python benchmarks/pipeline.py [--rows 200000] [--taps rediffmail] [--piped]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sandbox.mailprotector import DEMO_API_KEY
from sandbox.postgres import PostgresServer, ThrowawayPostgres
from sandbox.rediffmail import DEMO_DOMAIN, DEMO_PASSWORD, DEMO_USER
from sandbox.testing import PROJECT_ROOT, meltano

from sandbox import RunningSandbox, make_app

BEFORE, NOW = "loader as meltano.yml had it", "loader as meltano.yml has it"
# What meltano.yml shipped before issue 9 (10,000 is the SDK's default batch size).
OLD_LOADER_CONFIG = {"validate_records": True, "use_copy": False, "batch_size_rows": 10000}
OLD_LOADER = {name: json.dumps(value) for name, value in OLD_LOADER_CONFIG.items()}  # as env
REDIFF_START = datetime(2026, 11, 15, tzinfo=UTC)
REDIFF_HOURS = 24
REDIFF_ROWS_PER_MAIL = 3.45  # recipients per mail in the sandbox's generator, resends included
MP_ROWS_PER_ENTRY_RATE = 0.97  # log entries per unit of the sandbox's hourly volume
MP_RETENTION_HOURS = 14 * 24


@dataclass
class Scenario:
    """One log tap against a sandbox holding about the wanted number of rows."""

    tap: str
    schema: str
    sandbox: RunningSandbox
    expected: dict[str, int]  # table -> rows the sandbox says exist
    keys: dict[str, str]  # table -> primary key column
    env: dict[str, str]  # Meltano settings pointing the tap at the sandbox
    tap_config: dict[str, Any]  # the same settings as a tap config file (for --piped)


def rediffmail_scenario(rows: int) -> Scenario:
    rate = rows / REDIFF_HOURS / REDIFF_ROWS_PER_MAIL
    app = make_app("rediffmail", mails_per_hour=rate, activities_per_hour=200)
    sandbox = RunningSandbox(app).__enter__()
    start = int(REDIFF_START.timestamp())
    end = start + REDIFF_HOURS * 3600
    truth = {name: len(r) for name, r in app.reports(start, end).items()}
    expected = {**truth, "report_windows": REDIFF_HOURS}  # one-hour windows
    settings = {
        "api_url": f"{sandbox.url}/logs/get",
        "start_date": REDIFF_START.isoformat(),
        "end_date": (REDIFF_START + timedelta(hours=REDIFF_HOURS)).isoformat(),
        "window_minutes": 60,
        "min_seconds_between_calls": 0,
    }
    return Scenario(
        tap="tap-rediffmail",
        schema="tap_rediffmail",
        sandbox=sandbox,
        expected=expected,
        keys={
            "outbound_mail_delivery_report": "record_key",
            "activity_report": "record_key",
            "report_windows": "window_end",
        },
        env=_env("TAP_REDIFFMAIL", settings, skip={"min_seconds_between_calls"}),
        tap_config={
            **settings,
            "domain": DEMO_DOMAIN,
            "user_email": DEMO_USER,
            "password": DEMO_PASSWORD,
        },
    )


def mailprotector_scenario(rows: int) -> Scenario:
    rate = rows / MP_RETENTION_HOURS / MP_ROWS_PER_ENTRY_RATE
    # The sandbox's clock stands still, so its 14 days of retention do not move between the
    # count and the runs; the tap looks back a day further to reach the oldest entry.
    app = make_app("mailprotector", volumes={102: rate}, bursts=[], frozen_at=time.time())
    sandbox = RunningSandbox(app).__enter__()
    truth = app.truth({"domain": ["102"]})["count"]  # all it retains; the tap reads all of it
    settings = {"base_url": sandbox.url, "settle_delay_seconds": 0, "retention_days": 15}
    return Scenario(
        tap="tap-mailprotector",
        schema="tap_mailprotector",
        sandbox=sandbox,
        expected={"domain_logs": truth, "domains": 4},  # reseller 343 lists four domains
        keys={"domain_logs": "id", "domains": "id"},
        env=_env("TAP_MAILPROTECTOR", settings),
        tap_config={**settings, "api_key": DEMO_API_KEY, "reseller_id": 343},
    )


def _env(prefix: str, settings: dict[str, Any], skip: frozenset | set = frozenset()) -> dict:
    return {f"{prefix}_{k.upper()}": str(v) for k, v in settings.items() if k not in skip}


@dataclass
class Result:
    label: str
    rows: int
    seconds: float
    cpu_seconds: float | None = None  # of the processes started (tap, target, Meltano)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


class Warehouse:
    """The throwaway server: a fresh database per run, counts and ``\\copy`` of what landed."""

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.runs = 0

    def fresh_database(self) -> str:
        self.runs += 1
        return self.server.create_database(f"bench_{self.runs}")

    def loader_env(self, database: str) -> dict[str, str]:
        s = self.server
        return {
            "TARGET_POSTGRES_HOST": s.host,
            "TARGET_POSTGRES_PORT": str(s.port),
            "TARGET_POSTGRES_USER": s.user,
            "TARGET_POSTGRES_PASSWORD": s.password,
            "TARGET_POSTGRES_DATABASE": database,
        }

    def check_landed(self, database: str, scenario: Scenario) -> int:
        """Rows landed; exits if any table differs from the sandbox's truth."""
        total = 0
        with psycopg.connect(self.server.dsn(database)) as conn:
            for table, expected in scenario.expected.items():
                key = scenario.keys[table]
                rows, distinct = conn.execute(
                    f'SELECT count(*), count(DISTINCT "{key}") FROM {scenario.schema}."{table}"'  # noqa: S608
                ).fetchone()
                if rows != expected or distinct != rows:
                    sys.exit(
                        f"{scenario.tap}: {table} has {rows} rows ({distinct} distinct keys), "
                        f"the sandbox has {expected}"
                    )
                total += rows
        return total

    def psql(self, database: str, command: str) -> None:
        s = self.server
        subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", s.host, "-p", str(s.port),
             "-U", s.user, "-d", database, "-c", command],
            check=True, env={**os.environ, "PGPASSWORD": s.password},
        )  # fmt: skip

    def copy_reference(self, database: str, scenario: Scenario) -> Result:
        """``\\copy`` the rows a run landed into equivalent tables (``LIKE ... INCLUDING
        ALL``: same columns, types and primary key), timed alone."""
        rows = 0
        seconds = 0.0
        with tempfile.TemporaryDirectory() as tmp:
            self.psql(database, "CREATE SCHEMA copy_reference")
            for table in scenario.expected:
                source = f'{scenario.schema}."{table}"'
                copy = f'copy_reference."{table}"'
                dump = Path(tmp) / f"{table}.tsv"
                self.psql(database, f"\\copy (SELECT * FROM {source}) TO '{dump}'")  # noqa: S608
                self.psql(database, f"CREATE TABLE {copy} (LIKE {source} INCLUDING ALL)")
                began = time.perf_counter()
                self.psql(database, f"\\copy {copy} FROM '{dump}'")
                seconds += time.perf_counter() - began
                rows += sum(1 for _ in dump.open("rb"))
        return Result("psql \\copy of the same rows", rows, seconds)


def meltano_run(
    warehouse: Warehouse, scenario: Scenario, label: str, loader: dict[str, str]
) -> tuple[Result, str]:
    """One full load into a fresh database; returns the figures and that database."""
    database = warehouse.fresh_database()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **scenario.env,
            **warehouse.loader_env(database),
            **{f"TARGET_POSTGRES_{k.upper()}": v for k, v in loader.items()},
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp}/meltano.db",  # no state: a full load
        }
        began, cpu = time.perf_counter(), children_cpu()
        meltano("--environment=demo", "run", scenario.tap, "target-postgres", env=env)
        seconds, cpu = time.perf_counter() - began, children_cpu() - cpu
    return Result(label, warehouse.check_landed(database, scenario), seconds, cpu), database


@dataclass
class PipedRun:
    """tap | loader without Meltano: which executable of the loader's plugin, which settings
    over the shipped ones, and whether the tap writes BATCH messages (jsonl, gzip)."""

    label: str
    executable: str
    loader: dict[str, Any]  # config file values
    batch: bool = False


PIPED_RUNS = (
    PipedRun("tap | stock target-postgres, settings before", "target-postgres", OLD_LOADER_CONFIG),
    PipedRun("tap | stock target-postgres, settings now", "target-postgres", {}),
    PipedRun("tap | loader as shipped", "target-postgres-preflight", {}),
    PipedRun("tap | loader as shipped, BATCH jsonl.gz", "target-postgres-preflight", {}, True),
)


def piped_run(warehouse: Warehouse, scenario: Scenario, run: PipedRun) -> Result:
    """One full load by ``run`` into a fresh database, with the plugins Meltano installed."""
    database = warehouse.fresh_database()
    plugins = PROJECT_ROOT / ".meltano"
    tap_bin = plugins / "extractors" / scenario.tap / "venv" / "bin" / scenario.tap
    target_bin = plugins / "loaders" / "target-postgres" / "venv" / "bin" / run.executable
    with tempfile.TemporaryDirectory() as tmp:
        tap_config = dict(scenario.tap_config)
        if run.batch:
            tap_config["batch_config"] = {
                "encoding": {"format": "jsonl", "compression": "gzip"},
                "storage": {"root": f"file://{tmp}", "prefix": "batch-"},
            }
        target_config = {
            **shipped_loader_settings(),
            **run.loader,
            "host": warehouse.server.host,
            "port": warehouse.server.port,
            "user": warehouse.server.user,
            "password": warehouse.server.password,
            "database": database,
            "default_target_schema": scenario.schema,
        }
        tap_file, target_file = Path(tmp) / "tap.json", Path(tmp) / "target.json"
        tap_file.write_text(json.dumps(tap_config))
        target_file.write_text(json.dumps(target_config))
        began, cpu = time.perf_counter(), children_cpu()
        with subprocess.Popen(
            [str(tap_bin), "--config", str(tap_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        ) as tap:
            target = subprocess.run(
                [str(target_bin), "--config", str(target_file)],
                stdin=tap.stdout,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                check=False,
            )
        seconds, cpu = time.perf_counter() - began, children_cpu() - cpu
        if tap.returncode or target.returncode:
            sys.exit(f"{run.label}: tap exited {tap.returncode}, target {target.returncode}\n"
                     f"{target.stderr.decode()[-3000:]}")  # fmt: skip
    return Result(run.label, warehouse.check_landed(database, scenario), seconds, cpu)


def children_cpu() -> float:
    """User + system seconds of every finished process this one started, theirs included."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def shipped_loader_settings() -> dict[str, Any]:
    """The loader's settings as meltano.yml declares their values."""
    printed = meltano("config", "print", "target-postgres", "--format=json").stdout
    return {k: v for k, v in json.loads(printed).items() if v is not None}


def report(tap: str, results: dict[str, list[Result]], reference: Result) -> None:
    old = statistics.median(r.rate for r in results[BEFORE])
    print(f"\n{tap}: {reference.rows:,} rows")
    header = ("run", "rows/s", "vs before", "vs \\copy", "CPU s")
    print("  {:<44} {:>9} {:>10} {:>9} {:>7}".format(*header))
    for label, runs in [*results.items(), (reference.label, [reference])]:
        rate = statistics.median(r.rate for r in runs)
        cpu = [r.cpu_seconds for r in runs if r.cpu_seconds is not None]
        print(
            f"  {label:<44} {rate:>9,.0f} {rate / old:>9.2f}x {rate / reference.rate:>9.3f} "
            + (f"{statistics.median(cpu):>7.1f}" if cpu else f"{'':>7}")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows per log tap")
    parser.add_argument("--taps", default="rediffmail,mailprotector")
    parser.add_argument("--rounds", type=int, default=1, help="alternations of the settings")
    parser.add_argument("--piped", action="store_true", help="also tap | loader, no Meltano")
    args = parser.parse_args()
    scenarios: dict[str, Callable[[int], Scenario]] = {
        "rediffmail": rediffmail_scenario,
        "mailprotector": mailprotector_scenario,
    }
    pg = ThrowawayPostgres()
    warehouse = Warehouse(pg.start())
    try:
        for name in args.taps.split(","):
            scenario = scenarios[name](args.rows)
            try:
                runs: dict[str, list[Result]] = {BEFORE: [], NOW: []}
                for _ in range(args.rounds):
                    for label, loader in ((BEFORE, OLD_LOADER), (NOW, {})):
                        result, database = meltano_run(warehouse, scenario, label, loader)
                        runs[label].append(result)
                        print(f"  {scenario.tap} {label}: {result.rate:,.0f} rows/s", flush=True)
                reference = warehouse.copy_reference(database, scenario)
                if args.piped:
                    for run in PIPED_RUNS:
                        runs[run.label] = [piped_run(warehouse, scenario, run)]
                report(scenario.tap, runs, reference)
            finally:
                scenario.sandbox.stop()
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
