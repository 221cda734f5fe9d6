"""Local HTTP servers that imitate the mail-system vendor APIs the taps read."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .core import Faults, RunningSandbox, SandboxApp

# vendor name -> (module, app class, default port for the demo)
VENDORS: dict[str, tuple[str, str, int]] = {
    "rediffmail": ("sandbox.rediffmail", "RediffMailSandbox", 8765),
    "mailprotector": ("sandbox.mailprotector", "MailprotectorSandbox", 8766),
    "iredadmin": ("sandbox.iredadmin", "IRedAdminSandbox", 8767),
}


def make_app(vendor: str, **settings: Any) -> SandboxApp:
    """Build the imitation of ``vendor`` with its seeded data and settings."""
    try:
        module_name, class_name, _ = VENDORS[vendor]
    except KeyError:
        raise ValueError(f"unknown vendor {vendor!r}; known: {', '.join(VENDORS)}") from None
    return getattr(import_module(module_name), class_name)(**settings)


__all__ = ["VENDORS", "Faults", "RunningSandbox", "SandboxApp", "make_app"]
