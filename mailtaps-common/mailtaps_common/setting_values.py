"""Number settings given as text are read as the number; null is a setting left unset.

Meltano hands a setting set through an environment variable or ``meltano config set`` to
the tap as text unless its kind casts it, and no Meltano kind yields a float (``decimal``
makes Meltano 4.4 fail writing the config file). The plugin definitions therefore declare
number settings as ``kind: string``, and every tap reads ``"1.5"`` as ``1.5`` before its
config is validated; text that is not a finite number is left for validation to reject.
"""

from __future__ import annotations

import math
from typing import Any


def numbers_from_text(config: dict[str, Any], config_schema: dict[str, Any]) -> None:
    """Replace, in place, numeric text given for a ``number`` setting by the number."""
    for name, schema in config_schema.get("properties", {}).items():
        value = config.get(name)
        types = schema.get("type", [])
        if not isinstance(value, str) or "number" not in types or "string" in types:
            continue
        try:
            number = float(value)
        except ValueError:
            continue
        if math.isfinite(number):
            config[name] = int(number) if number.is_integer() and "." not in value else number


def nulls_as_unset(config: dict[str, Any], config_schema: dict[str, Any]) -> None:
    """Give a setting set to null, in place, its default, as if it were left out (the
    SDK fills defaults only for settings that are absent, and the taps read a null
    as a value: ``int(None)``)."""
    for name, schema in config_schema.get("properties", {}).items():
        if name in config and config[name] is None and "default" in schema:
            config[name] = schema["default"]
