"""The repository's docs stand on their own: no file points outside the repository
(the development machine's ``/work/...`` or a ``../shared/`` folder next to the checkout),
and every relative Markdown link leads to a tracked file or folder, and to a heading
there when it names one."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
THIS_FILE = PurePosixPath("tests/test_docs.py")  # it spells out the patterns it forbids

OUTSIDE_REFERENCE = re.compile(
    r"\.\./shared\b"  # a folder beside the checkout
    r"|(?<![\w.])/work/"  # the development machine's absolute paths
    r"|\bshared/(?:contracts|seeds|notes)/"  # the same folder, however it is reached
)
FENCED_BLOCK = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


@cache
def tracked_files() -> tuple[PurePosixPath, ...]:
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return tuple(PurePosixPath(name) for name in listing.split("\0") if name)


def tracked(*suffixes: str) -> list[PurePosixPath]:
    return [path for path in tracked_files() if path.suffix in suffixes]


def prose(markdown: str) -> str:
    """The text outside code blocks and code spans, where links and headings live."""
    return CODE_SPAN.sub("", FENCED_BLOCK.sub("", markdown))


def anchors(markdown: str) -> set[str]:
    """The heading anchors GitHub renders: lower case, punctuation dropped, spaces as
    hyphens, a repeated heading numbered."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCED_BLOCK.sub("", markdown)):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def link_problem(source: PurePosixPath, target: str) -> str | None:
    """Why a link in ``source`` is broken, or None. External links are not checked."""
    if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target):
        return None
    path_part, _, fragment = target.partition("#")
    if path_part:
        resolved = Path(ROOT, source.parent, path_part).resolve()
        if not resolved.is_relative_to(ROOT):
            return "points outside the repository"
        relative = PurePosixPath(resolved.relative_to(ROOT).as_posix())
        files = tracked_files()
        if relative not in files and not any(relative in path.parents for path in files):
            return "is not a tracked file or folder"
    else:
        relative = source
    if (
        fragment
        and relative.suffix == ".md"
        and relative in tracked_files()
        and fragment not in anchors((ROOT / relative).read_text(encoding="utf-8"))
    ):
        return f"names no heading #{fragment} of {relative}"
    return None


def test_no_file_refers_to_paths_outside_the_repository() -> None:
    problems = [
        f"{path}:{number}: {line.strip()}"
        for path in tracked(".md", ".yml", ".yaml", ".py")
        if path != THIS_FILE
        for number, line in enumerate(
            (ROOT / path).read_text(encoding="utf-8").splitlines(), start=1
        )
        if OUTSIDE_REFERENCE.search(line)
    ]
    assert not problems, "references to files outside the repository:\n" + "\n".join(problems)


def test_relative_markdown_links_lead_to_tracked_files() -> None:
    problems = []
    for path in tracked(".md"):
        for target in INLINE_LINK.findall(prose((ROOT / path).read_text(encoding="utf-8"))):
            problem = link_problem(path, target)
            if problem:
                problems.append(f"{path}: link ({target}) {problem}")
    assert not problems, "broken Markdown links:\n" + "\n".join(problems)
