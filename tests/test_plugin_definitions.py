"""What Meltano shows about the taps' settings is what the taps declare: each
``tap-x/plugin.yml``, the extractors of ``meltano.yml`` and the settings table of each tap's
README are what ``scripts/plugin_definitions.py`` makes of the tap's ``--about`` today."""

from __future__ import annotations

import copy
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from sandbox.testing import load_script

ROOT = Path(__file__).resolve().parent.parent
TAPS = ("tap-rediffmail", "tap-mailprotector", "tap-iredadmin")
FIX = "uv run --frozen python scripts/plugin_definitions.py"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script(ROOT / "scripts" / "plugin_definitions.py")


@pytest.fixture(scope="module")
def abouts(script: ModuleType) -> dict[str, dict[str, Any]]:
    """Each tap's ``--about --format=json``, as its console script prints it."""
    return {tap: script.about(tap) for tap in TAPS}


def stale(script: ModuleType, abouts: dict[str, dict[str, Any]]) -> list[str]:
    """The generated files whose text differs from what ``abouts`` make of them."""
    original = script.about
    script.about = abouts.__getitem__
    try:
        files = script.generated_files()
    finally:
        script.about = original
    return [
        str(path.relative_to(ROOT))
        for path, text in files.items()
        if not path.exists() or path.read_text() != text
    ]


def test_definitions_meltano_yml_and_readmes_agree_with_about(script, abouts) -> None:
    assert stale(script, abouts) == [], f"out of date; run: {FIX}"


def test_a_drifted_setting_is_noticed_in_every_generated_file(script, abouts) -> None:
    """The check above can fail: a setting the files do not know yet, or a changed label."""
    added = copy.deepcopy(abouts)
    properties = added["tap-iredadmin"]["settings"]["properties"]
    properties["page_limit"] = {
        "type": ["integer", "null"], "title": "Page limit", "description": "new",
    }  # fmt: skip
    relabelled = copy.deepcopy(abouts)
    relabelled["tap-rediffmail"]["settings"]["properties"]["domain"]["title"] = "Domain name"
    assert sorted(stale(script, added)) == [
        "meltano.yml", "tap-iredadmin/README.md", "tap-iredadmin/plugin.yml",
    ]  # fmt: skip
    assert sorted(stale(script, relabelled)) == [
        "meltano.yml", "tap-rediffmail/README.md", "tap-rediffmail/plugin.yml",
    ]  # fmt: skip


def test_meltano_yml_declares_each_tap_as_its_plugin_yml(abouts) -> None:
    """The root project and anyone's project see the same settings: names, labels, kinds,
    descriptions, defaults, secrets, options and required groups."""
    extractors = {
        plugin["name"]: plugin
        for plugin in yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"]["extractors"]
    }
    assert sorted(extractors) == sorted(TAPS)
    for tap in TAPS:
        definition = yaml.safe_load((ROOT / tap / "plugin.yml").read_text())
        declared = extractors[tap]
        for key in ("namespace", "executable", "capabilities", "settings"):
            assert declared[key] == definition[key], (tap, key)
        assert declared.get("settings_group_validation") == definition.get(
            "settings_group_validation"
        ), tap
        names = [setting["name"] for setting in definition["settings"]]
        assert names == list(abouts[tap]["settings"]["properties"]), tap
        assert definition["pip_url"] == tap
        assert "mailtaps-common" in declared["pip_url"], "the tap needs the shared library"


def test_every_setting_has_a_kind_meltano_can_take_from_the_environment(abouts) -> None:
    """``kind: decimal`` set through an environment variable crashes Meltano 4.4
    (``Decimal is not JSON serializable``); numbers are declared as text instead, and
    every setting carries a label and a description."""
    for tap in TAPS:
        definition = yaml.safe_load((ROOT / tap / "plugin.yml").read_text())
        schema = abouts[tap]["settings"]["properties"]
        for setting in definition["settings"]:
            assert setting["kind"] != "decimal", (tap, setting["name"])
            assert setting["label"], (tap, setting["name"])
            assert setting["description"], (tap, setting["name"])
            if "number" in schema[setting["name"]]["type"]:
                assert setting["kind"] == "string", (tap, setting["name"])
        assert abouts[tap]["description"], f"{tap} --about has no description"
