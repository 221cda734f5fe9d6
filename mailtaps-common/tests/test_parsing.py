"""parse_json gives exactly what json.loads gives, or fails as it does."""

from __future__ import annotations

import json
import math

import msgspec
import pytest
from mailtaps_common.parsing import parse_json

SAME_AS_PYTHON = [
    b'{"id": 12345678901234567890123, "n": -0.0, "f": 0.1, "s": "caf\\u00e9 \\ud83d\\ude00"}',
    b'[1, 2.5e-3, true, false, null, "", {}, []]',
    '{"name": "Zo\u00eb", "\u00e9": 1}'.encode(),
    b'{"a": 1e400, "b": -1e400}',  # beyond float range: msgspec refuses, json gives inf
    b'{"nan": NaN, "inf": Infinity}',
    b'"\\ud800 lone"',  # a lone surrogate escape
    b'"\xed\xa0\x80"',  # a lone surrogate encoded as UTF-8 (json lets it through)
    b'\xef\xbb\xbf{"bom": 1}',
    '{"utf16": 1}'.encode("utf-16"),
    b'{"dup": 1, "dup": 2}',
]


@pytest.mark.parametrize("data", SAME_AS_PYTHON)
def test_same_values_as_json_loads(data: bytes) -> None:
    expected = json.loads(data)
    got = parse_json(data)
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert type(got) is type(expected)


def test_values_keep_their_types() -> None:
    got = parse_json(b'{"i": 1, "f": 1.0, "big": 1e400}')
    assert type(got["i"]) is int
    assert type(got["f"]) is float
    assert math.isinf(got["big"])


def test_a_raw_slice_is_parsed() -> None:
    raw = msgspec.json.decode(b'{"rows": [{"a": 1}]}', type=dict[str, list[msgspec.Raw]])
    assert parse_json(raw["rows"][0]) == {"a": 1}


@pytest.mark.parametrize(
    "data", [b"", b"<html>error</html>", b'{"truncated": [1, 2', b"\xff\xfe\xfa"]
)
def test_what_is_not_json_is_a_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  # json's own errors are ValueErrors
        parse_json(data)
