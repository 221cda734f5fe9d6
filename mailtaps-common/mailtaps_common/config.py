"""Settings are checked before any request, with one line per bad setting.

The bounds live in each tap's config schema (``th.IntegerType(minimum=...)``); the
SDK validates the config against it in ``Tap.__init__``. :class:`CheckedConfig`
runs that same validation with date-times checked as ISO 8601, and words each
error as one line naming the setting, its value and what is allowed::

    tap-mailprotector: invalid setting 'max_window_hours' = 0: must be greater than 0
    tap-mailprotector: missing required setting 'api_key'

on every path: sync, ``--test``, ``--discover`` (so ``meltano config test`` and
``meltano select --list`` too). A URL setting (``format: uri``) must be an http(s)
URL with a host; it is shown without the user and password it may carry. A setting
the tap does not declare is a WARNING naming the closest declared one (a typo would
otherwise be silently ignored).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import requests
import urllib3
from singer_sdk.configuration._dict_config import TRUTHY, parse_environment_config
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers import _typing
from singer_sdk.helpers._classproperty import classproperty
from singer_sdk.plugin_base import JSONSchemaValidator
from typing_extensions import override

from mailtaps_common.bases import TapMixin
from mailtaps_common.secrets import is_secret, shown_url, shown_url_setting
from mailtaps_common.setting_values import nulls_as_unset, numbers_from_text

# Read by the SDK from any tap's config without being declared in its schema.
SDK_SETTINGS = ("emit_activate_version_messages", "user_agent")
DATE_TIME_EXAMPLE = "2026-01-31T00:00:00Z"
TYPE_WORDS = {
    "integer": "a whole number",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}

FORMAT_CHECKER = jsonschema.FormatChecker(formats=())
# What no setting can carry into a request header, a form or a URL.
_UNSENDABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
UNSENDABLE_RULE = "must not hold control characters (a line break, a NUL) or lone surrogates"


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    """ISO 8601 as Python reads it (``2026-01-31``, ``2026-01-31T08:00:00+05:30``, ``...Z``)."""
    if isinstance(value, str):
        datetime.fromisoformat(value)
    return True


@FORMAT_CHECKER.checks("uri", raises=ValueError)
def _is_web_url(value: object) -> bool:
    """An http(s) URL with a host (``requests`` would fail only at the first call,
    with a line naming no setting). The user and password are left out of the
    check: ``requests`` takes them with any character but ``/``, ``?`` and ``#``."""
    if not isinstance(value, str):
        return True
    parts = urlsplit(shown_url(value))  # ValueError: "[" or "]" outside an IPv6 address
    port = parts.port  # ValueError: a port that is no number, or out of range
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        return False
    try:  # a host requests or urllib3 refuses: a space, an empty or too long label, bad IDNA
        requests.Request("GET", value).prepare()
        parts.hostname.encode("idna")
    except (requests.RequestException, urllib3.exceptions.LocationParseError, UnicodeError):
        return False
    return True


def shown(value: Any, *, secret: bool = False) -> str:
    """A setting's value as the user wrote it, short; secrets never shown."""
    if secret:
        return "(hidden)"
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def invalid(tap: str, setting: str, value: Any, rule: str, *, secret: bool = False) -> str:
    """The one line for a setting whose value breaks a rule."""
    return f"{tap}: invalid setting '{setting}' = {shown(value, secret=secret)}: {rule}"


def allowed_range(prop: Mapping[str, Any]) -> str:
    """What a numeric setting's bounds allow, in words."""
    low = (
        f"at least {prop['minimum']}" if "minimum" in prop
        else f"greater than {prop['exclusiveMinimum']}" if "exclusiveMinimum" in prop
        else None
    )  # fmt: skip
    high = (
        f"at most {prop['maximum']}" if "maximum" in prop
        else f"less than {prop['exclusiveMaximum']}" if "exclusiveMaximum" in prop
        else None
    )  # fmt: skip
    if "minimum" in prop and "maximum" in prop:
        return f"must be from {prop['minimum']} to {prop['maximum']}"
    return "must be " + " and ".join(bound for bound in (low, high) if bound)


def _rule(error: jsonschema.ValidationError) -> str:
    kind = error.validator
    expected: Any = error.validator_value  # the keyword's value in the schema: any JSON
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") and isinstance(
        error.schema, Mapping
    ):
        return allowed_range(error.schema)
    if kind == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        words = [TYPE_WORDS.get(n, n) for n in names if n != "null"]
        return "must be " + " or ".join(words or ["null"])
    if kind == "enum":
        return "must be one of " + ", ".join(shown(v) for v in expected)
    if kind == "format" and expected == "date-time":
        return f"must be an ISO 8601 date-time, e.g. {DATE_TIME_EXAMPLE}"
    if kind == "format" and expected == "uri":
        return "must be an http:// or https:// URL with a host, e.g. https://mail.example.com"
    return error.message


BOOLEAN_WORDS = (*TRUTHY, "false", "0", "no", "off")


def _env_rule(prop: dict[str, Any]) -> str:
    """What text a variable for ``prop`` must hold."""
    if _typing.is_integer_type(prop):
        return "a whole number"
    if _typing.is_array_type(prop):
        return 'a JSON list, e.g. [1, 2] or ["a", "b"]'
    return 'a JSON object, e.g. {"key": "value"}'


def describe(tap: str, error: jsonschema.ValidationError, schema: Mapping[str, Any]) -> list[str]:
    """The lines for one jsonschema error of a tap's config."""
    properties = schema.get("properties", {})
    if error.validator == "required" and not error.path:
        present = error.instance if isinstance(error.instance, Mapping) else {}
        required: Any = error.validator_value  # the schema's list of required settings
        return [
            f"{tap}: missing required setting '{name}'"
            for name in required
            if name not in present and f"'{name}'" in error.message
        ]
    if not error.path:
        return [f"{tap}: invalid configuration: {error.message}"]
    setting = str(error.path[0])
    where = setting + "".join(f"[{index!r}]" for index in list(error.path)[1:])
    prop = properties.get(setting, {})
    value = error.instance
    if prop.get("format") == "uri" and isinstance(value, str):
        value = shown_url_setting(value)  # never the password a URL may carry
    return [invalid(tap, where, value, _rule(error), secret=is_secret(prop))]


def config_errors(
    tap: str, config: dict[str, Any], schema: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """Validate ``config`` as the SDK does (defaults filled in); the lines for
    missing required settings and those for invalid values."""
    validator = JSONSchemaValidator(schema, format_checker=FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.path])
    missing = [line for e in errors if e.validator == "required" and not e.path
               for line in describe(tap, e, schema)]  # fmt: skip
    wrong: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for error in errors:
        path = tuple(str(part) for part in error.path)
        if (error.validator == "required" and not path) or (path and path in seen):
            continue  # one line per setting: its first broken rule (-0.5: not whole)
        seen.add(path)
        wrong += describe(tap, error, schema)
    properties = schema.get("properties", {})
    for name, value in config.items():
        if isinstance(value, str) and _UNSENDABLE.search(value) and (name,) not in seen:
            secret = is_secret(properties.get(name, {}))
            wrong.append(invalid(tap, name, value, UNSENDABLE_RULE, secret=secret))
    return missing, wrong


def unknown_settings(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """A warning per setting the schema does not declare, with the closest name."""
    declared = [*schema.get("properties", {}), *SDK_SETTINGS]
    lines = []
    for name in config:
        if name in declared:
            continue
        import difflib  # only for an unknown setting: it adds 30 ms to every start

        close = difflib.get_close_matches(name, declared, n=1)
        hint = f"did you mean '{close[0]}'?" if close else "no declared setting is close"
        lines.append(f"unknown setting '{name}' ({hint}); it is ignored")
    return lines


class CheckedConfig(TapMixin):
    """Tap mixin: the config checks above on every path of the tap's command line
    (with ``mailtaps_common.cli.OneLineFailures`` printing their lines)."""

    @classproperty
    @override
    def _env_var_config(cls) -> dict[str, Any]:  # noqa: N805  (the SDK's name)
        """Settings from ``<TAP>_<SETTING>`` variables (``--config ENV``) as the SDK reads
        them (a ``.env`` file included), except that text it cannot read (``abc`` for a
        whole number, a list that is not JSON) is one line naming the setting and the
        variable instead of a bare ``ValueError``, and a boolean that is not a known
        word is refused rather than read as false (``verify_tls=ture`` turned TLS off)."""
        schema = cls.config_jsonschema
        cls.append_builtin_config(schema)
        prefix = cls._env_var_prefix
        try:
            config: dict[str, Any] | None = parse_environment_config(schema, prefix)
        except ValueError:  # int() of text, JSONDecodeError: which setting, to name it
            config = None
        for name, prop in schema.get("properties", {}).items():  # the .env file is loaded
            variable = prefix + name.upper().replace("-", "_")
            text = os.environ.get(variable)
            if text is None:
                continue
            boolean = _typing.is_boolean_type(prop)
            try:
                if boolean and text.strip().lower() not in BOOLEAN_WORDS:
                    raise ValueError(text)
                if config is None:
                    parse_environment_config({"properties": {name: prop}}, prefix)
            except ValueError:
                words = "true or false" if boolean else _env_rule(prop)
                line = invalid(
                    cls.name, name, text, f"{variable} must be {words}", secret=is_secret(prop)
                )
                raise ConfigValidationError(line, errors=[line]) from None
        if config is None:  # no one setting to blame: the SDK's own error
            config = parse_environment_config(schema, prefix)
        return config

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Numeric text given for a number setting is read as the number first, and a
        null as the setting's default (``setting_values``). Invalid values always stop
        the tap. Missing required settings stop it too, except where the SDK asks for no
        validation (``--discover``, which needs no config at all): there each is a
        WARNING line."""
        schema = self.config_jsonschema
        self.append_builtin_config(schema)
        nulls_as_unset(self._config, schema)
        numbers_from_text(self._config, schema)
        for line in unknown_settings(self._config, schema):
            self.logger.warning("%s: %s", self.name, line)
        missing, errors = config_errors(self.name, self._config, schema)
        if raise_errors:
            errors = missing + errors
        else:
            for line in missing:
                self.logger.warning(line)
        if errors:
            raise ConfigValidationError("\n".join(errors), errors=errors, schema=schema)
        return errors
