"""A throwaway PostgreSQL server for end-to-end tests.

initdb and pg_ctl refuse to run as root, so as root the server runs as the
``postgres`` system user, in a data directory that user owns.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def _bindir() -> Path:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        raise RuntimeError(
            "PostgreSQL server binaries not found (no pg_config on PATH): "
            "install postgresql (apt-get install postgresql), .ci/run does this"
        )
    out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
    bindir = Path(out.stdout.strip())
    if not (bindir / "initdb").exists():
        raise RuntimeError(f"{bindir}/initdb missing: install the postgresql server package")
    return bindir


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    datadir: Path

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def target_env(self, database: str, schema: str) -> dict[str, str]:
        """The environment that points Meltano's target-postgres at ``database``,
        loading into ``schema``."""
        return {
            "TARGET_POSTGRES_HOST": self.host,
            "TARGET_POSTGRES_PORT": str(self.port),
            "TARGET_POSTGRES_USER": self.user,
            "TARGET_POSTGRES_PASSWORD": self.password,
            "TARGET_POSTGRES_DATABASE": database,
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
        }

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return name


class ThrowawayPostgres:
    """Start with ``start()``, stop with ``stop()``; the data directory is removed."""

    def __init__(self) -> None:
        self.bindir = _bindir()
        self.as_root = os.geteuid() == 0
        self.tmp = Path(tempfile.mkdtemp(prefix="pg-throwaway-"))
        self.datadir = self.tmp / "data"
        self.port = free_port()
        self.server: PostgresServer | None = None

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"{args[0]} failed: {result.stderr.strip() or result.stdout.strip()}"
            )

    def start(self) -> PostgresServer:
        if self.as_root:
            shutil.chown(self.tmp, "postgres", "postgres")
            self.tmp.chmod(0o700)
        self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self._run(
            "pg_ctl", "-D", str(self.datadir), "-w", "-l", str(self.tmp / "server.log"),
            "-o", f"-p {self.port} -k {self.tmp} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )  # fmt: skip
        self.server = PostgresServer("127.0.0.1", self.port, "postgres", "postgres", self.datadir)
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "stop")
            self.server = None
        shutil.rmtree(self.tmp, ignore_errors=True)
