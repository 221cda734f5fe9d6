"""Fixtures for the tap-rediffmail tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rediffmail_support import Rediff

from sandbox import RunningSandbox


@pytest.fixture
def rediff(start_sandbox: Callable[..., RunningSandbox]) -> Callable[..., Rediff]:
    """``rediff(**sandbox_settings)`` starts a RediffMail sandbox for the test."""

    def make(client_ip: str | None = None, **settings: Any) -> Rediff:
        return Rediff(start_sandbox("rediffmail", client_ip=client_ip, **settings))

    return make
