"""Fixtures for the taps' suites: sandboxes, a throwaway PostgreSQL, Meltano."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from . import RunningSandbox, make_app
from .postgres import PostgresServer, ThrowawayPostgres
from .testing import meltano


@pytest.fixture
def start_sandbox() -> Iterator[Callable[..., RunningSandbox]]:
    """``start_sandbox("rediffmail", seed=7, **settings)`` serves a fresh imitation
    on a free loopback port for the length of the test."""
    running: list[RunningSandbox] = []

    def start(
        vendor: str,
        *,
        client_ip: str | None = None,
        tls: ssl.SSLContext | None = None,
        **settings: Any,
    ) -> RunningSandbox:
        app = make_app(vendor, **settings)
        sandbox = RunningSandbox(app, client_ip=client_ip, tls=tls).__enter__()
        running.append(sandbox)
        return sandbox

    yield start
    for sandbox in running:
        sandbox.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL 15 server of the test session's own; never skipped."""
    pg = ThrowawayPostgres()
    try:
        yield pg.start()
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def meltano_installed() -> None:
    """``meltano install`` once per test process (plugins come from the package
    registry; ``meltano()`` makes parallel workers take turns)."""
    meltano("install", timeout=900)
