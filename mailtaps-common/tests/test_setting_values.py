"""Numeric text for a number setting (how Meltano passes a `kind: string` setting given
through the environment or `meltano config set`) is read as the number."""

from __future__ import annotations

from mailtaps_common.setting_values import numbers_from_text
from singer_sdk import typing as th

SCHEMA = th.PropertiesList(
    th.Property("seconds", th.NumberType(minimum=0)),
    th.Property("count", th.IntegerType),
    th.Property("name", th.StringType),
).to_dict()


def test_numeric_text_becomes_the_number_and_other_values_stay() -> None:
    cases = {"0.25": 0.25, "12": 12, "1e3": 1000, " 7 ": 7, "abc": "abc", "nan": "nan",
             "inf": "inf", 3.5: 3.5}  # fmt: skip
    for given, expected in cases.items():
        config = {"seconds": given, "count": "5", "name": "12"}
        numbers_from_text(config, SCHEMA)
        assert config["seconds"] == expected, given
        assert type(config["seconds"]) is type(expected), given
        assert config["count"] == "5", "integer settings are Meltano's to cast"
        assert config["name"] == "12", "string settings stay text"
