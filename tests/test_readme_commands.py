"""Every ``meltano ...`` command the READMEs (and the demo's closing hints) show works as
written in this project.

The commands are read from the documents themselves: fenced code blocks (a comment's
``or: meltano ...`` included) and inline code spans. Each is checked as deeply as it
can be offline and in a few seconds, all in one Python process (a Meltano start costs
seconds of CPU):

- ``meltano run <blocks or jobs>``: ``--dry-run`` (plugins, commands and jobs exist, the
  blocks form valid pipelines), in the environment the README sets;
- ``meltano invoke <plugin>:<command>``: the plugin lists that command;
- ``meltano config set|list ...``, ``meltano schedule list``: run as written (``set`` in a
  throwaway copy of ``meltano.yml``, which it edits);
- a fragment (``meltano state get <state-id>``, ``meltano run ...``, ``meltano select``):
  its subcommand and options, with ``--help``.

The tap README's ``meltano --environment=demo run tap-iredadmin target-duckdb`` and
``meltano invoke tap-iredadmin --test`` are also really run, against the sandbox.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from sandbox.testing import PROJECT_ROOT, meltano, meltano_lock

DOCUMENTS = [
    "README.md",
    "tap-rediffmail/README.md",
    "tap-mailprotector/README.md",
    "tap-iredadmin/README.md",
    "mailtaps-common/README.md",
    "scripts/demo.sh",  # its closing "Next:" hints
]
FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`]+)`")
PLACEHOLDER = re.compile(r"<[^>]*>|\.\.\.")
# Subcommands run as written, with the words they need to be complete.
RUN_AS_WRITTEN = {("config", "set"): 5, ("config", "list"): 3, ("schedule", "list"): 2}


def shown_commands(document: str) -> list[tuple[dict[str, str], list[str]]]:
    """``(environment, argv after 'meltano')`` for each command the document shows."""
    text = (PROJECT_ROOT / document).read_text()
    commands: list[tuple[dict[str, str], list[str]]] = []
    blocks = FENCE.findall(text) if document.endswith(".md") else [text]
    for block in blocks:
        env: dict[str, str] = {}
        for line in block.splitlines():
            if not line.lstrip().startswith(("uv run ", "meltano ", "export ")):
                continue  # other programs, and the demo script's own lines
            code, _, comment = line.partition(" #")
            words = shlex.split(code.strip().removesuffix("&"))
            if words[:1] == ["export"]:
                env |= dict(word.split("=", 1) for word in words[1:] if "=" in word)
            for candidate in (words, shlex.split(comment.partition("or: ")[2])):
                while candidate[:1] == ["uv"] or candidate[:1] == ["run"]:
                    candidate = [w for w in candidate[1:] if w != "--frozen"]
                if candidate[:1] == ["meltano"]:
                    commands.append((dict(env), candidate[1:]))
    if document.endswith(".md"):
        prose = FENCE.sub("", text)
        for span in INLINE.findall(prose):
            words = span.split()
            if words[:1] == ["meltano"] and len(words) > 1:
                commands.append(({}, words[1:]))
    return commands


def check_for(env: dict[str, str], argv: list[str]) -> tuple[str, list[str]]:
    """How to check one command: ``(kind, argv to run)``."""
    options = [w for w in argv if w.startswith("-")]
    words = [w for w in argv if not w.startswith("-")]
    if any(PLACEHOLDER.search(w) for w in argv) or len(words) < 2:
        head = argv[: next((i for i, w in enumerate(argv) if PLACEHOLDER.search(w)), len(argv))]
        return "help", [*head, "--help"]
    if env.get("MELTANO_ENVIRONMENT"):
        options = [f"--environment={env['MELTANO_ENVIRONMENT']}", *options]
    if words[0] == "run":
        top = [o for o in options if o.startswith("--environment")]
        return "dry-run", [*top, "run", "--dry-run", *argv[argv.index("run") + 1 :]]
    if words[0] == "invoke":
        plugin, _, command = words[1].partition(":")
        command = command or (words[2:] or [""])[0]  # dbt's own subcommand, if any
        return f"command {command}".strip(), ["invoke", "--list-commands", plugin]
    if len(words) >= RUN_AS_WRITTEN.get((words[0], words[1]), sys.maxsize):
        return "as written", [*[o for o in options if o.startswith("--env")], *argv]
    return "help", [*argv, "--help"]


def all_checks() -> list[tuple[str, str, list[str]]]:
    checks = []
    for document in DOCUMENTS:
        for env, argv in shown_commands(document):
            kind, args = check_for(env, argv)
            checks.append((f"{document}: meltano {' '.join(argv)}", kind, args))
    return checks


def run_in_one_process(commands: list[list[str]], cwd: Path) -> list[tuple[int, str]]:
    """Run Meltano's CLI once per argv in one interpreter: ``(exit status, output)``."""
    result = subprocess.run(
        [sys.executable, __file__, json.dumps(commands)],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return [tuple(item) for item in json.loads(result.stdout.splitlines()[-1])]


def test_the_documents_show_the_commands_this_test_knows():
    """A guard on the extraction itself: the examples of each kind are found."""
    found = {name for name, _, _ in all_checks()}
    for expected in [
        "README.md: meltano run tap-rediffmail target-postgres",
        "README.md: meltano config set tap-rediffmail window_minutes 1440",
        "README.md: meltano invoke dbt-postgres build --full-refresh",
        "tap-iredadmin/README.md: meltano --environment=demo run tap-iredadmin target-duckdb",
        "tap-iredadmin/README.md: meltano run iredadmin-to-duckdb",
        "tap-iredadmin/README.md: meltano invoke tap-iredadmin --test",
        "scripts/demo.sh: meltano invoke dbt-duckdb:docs",
    ]:
        assert expected in found, sorted(found)


@pytest.mark.usefixtures("meltano_installed")
def test_every_shown_meltano_command_works(tmp_path):
    checks = all_checks()
    editing = [c for c in checks if c[2][:2] == ["config", "set"]]
    reading = [c for c in checks if c not in editing]
    shutil.copy(PROJECT_ROOT / "meltano.yml", tmp_path / "meltano.yml")
    with meltano_lock():
        results = run_in_one_process([args for _, _, args in reading], PROJECT_ROOT)
    results += run_in_one_process([args for _, _, args in editing], tmp_path)
    failures = [
        f"{name}\n  the demo environment has no PostgreSQL: use target-duckdb / dbt-duckdb"
        for name, _, args in checks
        if "--environment=demo" in args and any("postgres" in arg for arg in args)
    ]
    for (name, kind, args), (status, output) in zip([*reading, *editing], results, strict=True):
        ok = status == 0
        if kind.startswith("command "):  # the plugin defines it (else: the plugin exists)
            ok = ok and re.search(rf"\b{re.escape(kind.split()[1])}\b", output) is not None
        if not ok:
            failures.append(f"{name}\n  checked by: meltano {' '.join(args)} ({kind})\n{output}")
    assert not failures, "\n".join(failures)


@pytest.mark.usefixtures("meltano_installed")
def test_the_iredadmin_demo_commands_work_against_the_sandbox(start_sandbox, tmp_path):
    """The tap README's ``meltano --environment=demo run tap-iredadmin target-duckdb``
    and ``meltano invoke tap-iredadmin --test``, the sandbox on a free port."""
    sandbox = start_sandbox("iredadmin")
    database = tmp_path / "mail.duckdb"
    env = {
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "TAP_IREDADMIN_BASE_URL": f"{sandbox.url}/iredadmin",
        "TARGET_DUCKDB_FILEPATH": str(database),
    }
    meltano("--environment=demo", "run", "tap-iredadmin", "target-duckdb", env=env)
    truth = sandbox.app.truth({})
    with duckdb.connect(str(database), read_only=True) as conn:
        (domains,) = conn.execute("SELECT count(*) FROM tap_iredadmin.domains").fetchone()
    assert domains == len(truth["domains"])
    report = meltano("--environment=demo", "invoke", "tap-iredadmin", "--test", env=env).stdout
    assert f"readable ({len(truth['domains'])} domains)" in report, report


def test_the_demo_query_hint_reads_the_database(tmp_path):
    """The demo's closing ``uv run python -c "import duckdb; ..."`` line, run as written
    (with this interpreter) where ``output/mail.duckdb`` has the table it reads."""
    (line,) = [
        line
        for line in (PROJECT_ROOT / "scripts" / "demo.sh").read_text().splitlines()
        if "python -c" in line and "duckdb" in line
    ]
    words = shlex.split(line.partition(" #")[0])
    (tmp_path / "output").mkdir()
    with duckdb.connect(str(tmp_path / "output" / "mail.duckdb")) as conn:
        conn.execute("CREATE SCHEMA analytics")
        conn.execute("CREATE TABLE analytics.mailboxes AS SELECT 'a@example.com' AS mailbox")
    result = subprocess.run(
        [sys.executable, *words[words.index("python") + 1 :]],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "a@example.com" in result.stdout


def _main(commands: list[list[str]]) -> None:
    """The one process: each argv through Meltano's CLI, output captured."""
    import contextlib
    import io

    import click
    from meltano.cli import cli

    results = []
    for argv in commands:
        output = io.StringIO()
        try:
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                cli.main(
                    args=argv, prog_name="meltano", obj={"project": None}, standalone_mode=False
                )
            status = 0
        except click.exceptions.Exit as exit_:
            status = exit_.exit_code
        except click.ClickException as error:
            status, _ = error.exit_code, output.write(error.format_message())
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
        except Exception as error:
            status, _ = 1, output.write(f"{type(error).__name__}: {error}")
        results.append((status, output.getvalue()[-2000:]))
    print(json.dumps(results))


if __name__ == "__main__":
    _main(json.loads(sys.argv[1]))
