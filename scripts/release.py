"""Release helpers for .github/workflows/release.yml.

``release.py check TAG``: the tag ``<package>/v<version>`` names a package of this
repository and the version in its pyproject.toml (the one place a version lives);
prints ``package=...`` and ``version=...`` for the workflow, or exits 1 naming the
mismatch. ``release.py notes TAG``: that version's section of the package's
CHANGELOG.md (Keep a Changelog format), for the GitHub release.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class ReleaseError(Exception):
    """The tag does not match the repository."""


def parse_tag(tag: str) -> tuple[str, str]:
    """``tap-x/v1.2.3`` -> (``tap-x``, ``1.2.3``), checked against the package."""
    match = re.fullmatch(r"([a-z0-9-]+)/v(\d+\.\d+\.\d+(?:[-.+][0-9A-Za-z.]+)?)", tag)
    if not match:
        raise ReleaseError(f"tag {tag!r} is not <package>/v<version>, e.g. tap-rediffmail/v0.2.0")
    package, version = match.groups()
    pyproject = ROOT / package / "pyproject.toml"
    if not pyproject.is_file():
        raise ReleaseError(f"tag {tag!r}: no package {package!r} in this repository")
    declared = tomllib.loads(pyproject.read_text())["project"]["version"]
    if declared != version:
        raise ReleaseError(f"tag {tag!r}: {package}/pyproject.toml says version {declared}")
    return package, version


def release_notes(package: str, version: str) -> str:
    """The ``## [version]`` section of the package's CHANGELOG.md, without its heading."""
    changelog = (ROOT / package / "CHANGELOG.md").read_text()
    sections = re.split(r"^## ", changelog, flags=re.MULTILINE)
    for section in sections[1:]:
        heading, _, body = section.partition("\n")
        if heading.startswith(f"[{version}]"):
            return body.strip() + "\n"
    raise ReleaseError(f"{package}/CHANGELOG.md has no section for [{version}]")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("check", "notes"):
        print("usage: release.py check|notes <package>/v<version>", file=sys.stderr)
        return 2
    command, tag = argv
    try:
        package, version = parse_tag(tag)
        if command == "check":
            release_notes(package, version)  # a release needs its notes
            print(f"package={package}\nversion={version}")
        else:
            print(release_notes(package, version), end="")
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
