"""Records against their SCHEMA message, as a loader that validates would judge them.

The loaders in ``meltano.yml`` do not validate records (``validate_records: false``); the
taps' suites call :func:`invalid_records` on everything a tap emits under the sandboxes'
quirk switches instead, so nothing a validating target would refuse can reach the warehouse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jsonschema import Draft7Validator


def _datetime_errors(schema: dict[str, Any], record: dict[str, Any]) -> list[str]:
    """Values of ``format: date-time`` fields the target could not parse to a timestamp
    (jsonschema does not check formats unless asked, the target parses them anyway)."""
    errors = []
    for name, spec in schema.get("properties", {}).items():
        value = record.get(name)
        if spec.get("format") == "date-time" and isinstance(value, str):
            try:
                datetime.fromisoformat(value)
            except ValueError:
                errors.append(f"{name}: {value!r} is not an ISO 8601 date-time")
    return errors


def invalid_records(messages: list[dict[str, Any]]) -> list[str]:
    """One line per record that breaks its stream's latest SCHEMA (Draft 7, like the
    SDK's targets), lacks a key property, or has an unparsable date-time; and per schema
    that is not valid Draft 7 itself."""
    validators: dict[str, tuple[Draft7Validator, dict[str, Any], list[str]]] = {}
    problems: list[str] = []
    for message in messages:
        if message["type"] == "SCHEMA":
            schema = message["schema"]
            for error in Draft7Validator(Draft7Validator.META_SCHEMA).iter_errors(schema):
                problems.append(f"SCHEMA {message['stream']}: {error.message}")
            keys = message.get("key_properties") or []
            validators[message["stream"]] = (Draft7Validator(schema), schema, keys)
        elif message["type"] == "RECORD":
            stream, record = message["stream"], message["record"]
            if stream not in validators:
                problems.append(f"RECORD {stream} before its SCHEMA")
                continue
            validator, schema, keys = validators[stream]
            errors = [
                f"{'/'.join(map(str, e.absolute_path)) or '(record)'}: {e.message}"
                for e in validator.iter_errors(record)
            ]
            errors += [f"key property {k} missing" for k in keys if k not in record]
            errors += _datetime_errors(schema, record)
            problems += [f"RECORD {stream}: {error}" for error in errors]
    return problems
