"""Strings a target cannot store: NUL and lone surrogates become U+FFFD.

PostgreSQL refuses ``\\x00`` in text (on every retry, so the pipeline's state
never moves again), and a lone surrogate (JSON ``\\ud800`` without its pair)
cannot be encoded as UTF-8 at all. Every string of every record (values, nested
values, object keys) has each such character replaced with U+FFFD, the
replacements are counted per stream and reported in one WARNING per stream at
the end of the sync.

Walking records costs time, so it happens only for answers whose raw body may
hold such a character (:func:`may_hold_unstorable`, a few byte searches); the
rest pass untouched.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from typing_extensions import override

from mailtaps_common.bases import StreamMixin

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Raw NUL and the UTF-8-style encoding of a surrogate (0xED 0xA0..0xBF; 0xED also
# starts some valid characters, which then only cost a walk), then JSON escapes of NUL
# and of surrogates, looked for only when the body has a backslash at all: one-byte
# searches are a hundred times faster (0.01 ms per MB). The escapes are one pattern:
# three substring searches took 1.8 ms per MB of a page full of escaped quotes, it
# takes 0.3 ms.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD])")

T = TypeVar("T")


def may_hold_unstorable(body: bytes) -> bool:
    """Whether a raw answer may contain NUL or a lone surrogate once parsed."""
    if b"\x00" in body or b"\xed" in body:
        return True
    return b"\\" in body and _SUSPECT_ESCAPE.search(body) is not None


def replace_unstorable(value: T) -> tuple[T, int]:
    """``value`` with NUL and lone surrogates replaced in every string, dict key
    included, and the number of characters replaced. Unchanged parts are kept."""
    if isinstance(value, str):
        if value.isascii() and "\x00" not in value:
            return value, 0
        cleaned, count = _UNSTORABLE.subn(REPLACEMENT, value)
        return cleaned, count  # type: ignore[return-value]  # the type of value
    if isinstance(value, dict):
        total = 0
        out: dict[Any, Any] = {}
        for key, item in value.items():
            new_key, key_count = replace_unstorable(key)
            new_item, item_count = replace_unstorable(item)
            out[new_key] = new_item
            total += key_count + item_count
        return (out if total else value), total  # type: ignore[return-value]  # the type of value
    if isinstance(value, list):
        total = 0
        items = []
        for item in value:
            new_item, count = replace_unstorable(item)
            items.append(new_item)
            total += count
        return (items if total else value), total  # type: ignore[return-value]  # the type of value
    return value, 0


class StorableText(StreamMixin):
    """Stream mixin: :meth:`storable` applies the policy where a stream parses an
    answer; :meth:`log_sync_costs` (called by the SDK at the end of the sync)
    reports the count."""

    _unstorable_replaced = 0

    def storable(self, value: T, *, suspect: bool) -> T:
        """``value`` (parsed from an answer) made storable. ``suspect`` is
        :func:`may_hold_unstorable` of the raw answer; when False, nothing is walked."""
        if not suspect:
            return value
        cleaned, count = replace_unstorable(value)
        self._unstorable_replaced += count
        return cleaned

    @override
    def log_sync_costs(self) -> None:
        super().log_sync_costs()
        if self._unstorable_replaced:
            self.logger.warning(
                "%s: replaced %d characters a target cannot store (NUL, lone UTF-16 "
                "surrogates) with U+FFFD",
                self.name, self._unstorable_replaced,
            )  # fmt: skip
