"""Redaction: no secret of the config reaches a log line or an error message.

A server may echo what it was sent (``DB error: password=...``), in any encoding.
:class:`Redactor` knows every form a secret can take on the way (plain, base64
standard, URL-safe and unpadded, URL-encoded, JSON-escaped) and replaces each
with ``[redacted]``. Short secrets (under :data:`SHORT`) are replaced only where
they stand as a whole token, so a one-letter password does not turn
``Max retries exceeded`` into gibberish; longer ones wherever they occur.

:func:`install` puts one :class:`RedactingFilter` on the tap's logger and on the
handlers the SDK logs through, so every log record (message, arguments,
exception text) is redacted before it is written.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote

from typing_extensions import override

from mailtaps_common.bases import TapMixin

MASK = "[redacted]"
SHORT = 8  # secrets shorter than this are replaced only as whole tokens
# Characters no target or terminal can take (see mailtaps_common.text).
_UNPRINTABLE = re.compile("[\ud800-\udfff]")
# A URL's scheme, after any blank that requests would strip; then its user and password.
_URL_SCHEME = re.compile(r"\s*[A-Za-z][A-Za-z0-9+.-]*://")
_USER_INFO = re.compile(rf"^({_URL_SCHEME.pattern})([^/?#]*)@")  # scheme://user:password@


def is_secret(prop: Mapping[str, Any]) -> bool:
    """Whether a config schema's property is marked secret."""
    return bool(prop.get("secret") or prop.get("writeOnly"))


def secret_settings(schema: Mapping[str, Any]) -> list[str]:
    """Names of the settings a config schema marks secret."""
    return [name for name, prop in schema.get("properties", {}).items() if is_secret(prop)]


def forms(secret: str) -> set[str]:
    """Every way ``secret`` may appear in a server's answer or in a URL."""
    raw = secret.encode("utf-8", "surrogatepass")  # a lone surrogate: refused, yet hidden
    found = {secret, quote(raw, safe=""), quote_plus(raw), json.dumps(secret)[1:-1]}
    found.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        found.update({encoded, encoded.rstrip("=")})
        found.update({quote(encoded, safe=""), quote_plus(encoded)})
    return {form for form in found if form}


def _decoded_base64(value: str) -> str | None:
    """The text a ``*_base64`` setting stands for, if it is valid base64 of UTF-8."""
    try:
        return base64.b64decode(value.strip(), validate=True).decode("utf-8") or None
    except (binascii.Error, ValueError):
        return None


def config_secrets(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """The secrets of a config: every setting the schema marks secret, for a
    ``*_base64`` setting also the text it encodes, and the password of any URL setting
    that carries one (``https://user:password@host/``, HTTP authentication in front of
    an API)."""
    secrets: list[str] = []
    for name in secret_settings(schema):
        value = config.get(name)
        if isinstance(value, str) and value:
            secrets.append(value)
            if name.endswith("_base64") and (plain := _decoded_base64(value)):
                secrets.append(plain)
    properties = schema.get("properties", {})
    for name, value in config.items():
        if isinstance(value, str):
            url_setting = properties.get(name, {}).get("format") == "uri"
            secrets += _url_passwords(value, scheme_optional=url_setting)
    return secrets


PROXY_VARIABLES = tuple(
    name for base in ("http_proxy", "https_proxy", "all_proxy") for name in (base, base.upper())
)


def proxy_secrets(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The passwords in the proxy URLs of the environment (``requests`` takes one
    without a scheme as ``http://``); an unparseable proxy URL ends up in ``requests``'
    error text whole."""
    secrets: list[str] = []
    for name in PROXY_VARIABLES:
        secrets += _url_passwords(environ.get(name) or "", scheme_optional=True)
    return secrets


def shown_url(url: str) -> str:
    """``url`` as it may be shown: without the user and password it may carry. (The
    password is also redacted as a secret, but ``requests`` and ``urllib3`` rewrite
    some characters of it, so a shown URL never carries it at all.) Plain text, not
    ``urllib.parse.urlsplit``, which refuses some passwords that ``requests`` accepts."""
    return _USER_INFO.sub(r"\1", url, count=1)


def shown_url_setting(value: str) -> str:
    """A URL setting's value as a config error may show it: the scheme it starts with
    (if any) and what follows its last ``@``. A value that fails the URL check may hold
    a user and password with any character (``#``, ``?``, ``/``) or lack its scheme,
    where :func:`shown_url` would not find them."""
    if "@" not in value:
        return value
    scheme = _URL_SCHEME.match(value)
    return (scheme.group(0).strip() if scheme else "") + value.rpartition("@")[2]


def _url_passwords(value: str, *, scheme_optional: bool) -> list[str]:
    """The password in a URL's user info as written and unquoted, or none (read as
    ``requests`` does: any character but ``/``, ``?`` and ``#``, up to the last ``@``).
    With ``scheme_optional``, a value without a scheme is read as ``http://`` (a URL
    setting written without one; ``requests`` reads a proxy URL so)."""
    if scheme_optional and not _URL_SCHEME.match(value):
        value = "http://" + value.lstrip().lstrip("/")
    found = _USER_INFO.match(value)
    password = found.group(2).partition(":")[2] if found else ""
    return [password, unquote(password)] if password else []


class Redactor:
    """Replaces every form of the given secrets in a text with :data:`MASK`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        new = {s for s in secrets if isinstance(s, str) and s} - self.secrets
        if not new:
            return
        self.secrets |= new
        every = sorted({f for s in self.secrets for f in forms(s)}, key=len, reverse=True)
        parts = [
            re.escape(form) if len(form) >= SHORT else rf"(?<![^\W_]){re.escape(form)}(?![^\W_])"
            for form in every
        ]
        self._pattern = re.compile("|".join(parts))

    def __call__(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return _UNPRINTABLE.sub("\ufffd", text)


class RedactingFilter(logging.Filter):
    """Redacts each log record in place: message with its arguments, exception text."""

    def __init__(self) -> None:
        super().__init__()
        self.redactor = Redactor()

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.redactor(message), None
        if record.exc_info:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, self.redactor(text)
        elif record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        record._redacted = True
        return True


_FILTER = RedactingFilter()


def install(secrets: Iterable[str], *loggers: logging.Logger) -> Redactor:
    """Redact ``secrets`` in every record of ``loggers`` and of the root logger's
    handlers (where the SDK's records and warnings end up). Returns the process's
    redactor, for exception messages built from server text."""
    _FILTER.redactor.add(secrets)
    root = logging.getLogger()
    for target in (root, *loggers):
        for filtered in (target, *target.handlers):
            if _FILTER not in filtered.filters:
                filtered.addFilter(_FILTER)
    return _FILTER.redactor


def redact(text: str) -> str:
    """``text`` with every secret installed so far replaced."""
    return _FILTER.redactor(text)


class RedactedLogs(TapMixin):
    """Tap mixin: redaction of the config's secrets (and of the passwords in the
    environment's proxy URLs) is installed as soon as the config is read, before it is
    validated; ``self.redact`` redacts any text (use
    it for exception messages built from what a server answered)."""

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        secrets = config_secrets(self._config, self.config_jsonschema) + proxy_secrets()
        self.redact = install(secrets, self.logger)
        return super()._validate_config(raise_errors=raise_errors)
