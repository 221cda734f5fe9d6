"""``target-postgres`` behind a check of its connection settings.

Meltano 4.4 does not check a loader's settings before ``meltano run`` starts the pipeline
(``settings_group_validation`` only shapes ``meltano config list``), and target-postgres
0.8.1 answers missing ones with an ``AssertionError`` traceback that names the wrong
settings; Meltano then adds a ``BrokenPipeError`` traceback of its own when the tap's
output has nowhere to go. This starts in milliseconds, before the tap has written
anything, names the missing settings in one line and exits 1; otherwise it runs
target-postgres in this process with the same arguments and input.

target-postgres is run with one change, made through the SDK's own extension point
(``message_reader_class``): its input lines are parsed by the SDK's msgspec reader instead
of ``json.loads``. Parsing was a tenth of the loader's CPU; with msgspec the loader uses
about 15 % less CPU for the same rows (``benchmarks/pipeline.py``). Numbers still become
``Decimal`` and every line our taps write parses to the same values; a lone surrogate
escape (which our taps never write, and PostgreSQL could not store) is refused as an
unreadable line instead of failing later in the load.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

CONNECTION_SETTINGS = ("host", "port", "user", "password", "database")


def missing_settings(argv: list[str]) -> list[str]:
    """The connection settings no ``--config`` file gives a value (empty counts as
    missing: that is what an unset ``$PG_*`` variable becomes). None to check when the
    config is not in files (``--about``, ``--help``, ``--config ENV``) or names a
    ``sqlalchemy_url``."""
    paths = [value for flag, value in itertools.pairwise(argv) if flag == "--config"]
    if not paths or "ENV" in paths:
        return []
    config: dict[str, object] = {}
    for path in paths:
        try:
            config.update(json.loads(Path(path).read_text()))
        except (OSError, ValueError):
            return []  # target-postgres reports an unreadable config itself
    if config.get("sqlalchemy_url"):
        return []
    return [name for name in CONNECTION_SETTINGS if config.get(name) in (None, "")]


def main() -> None:
    argv = sys.argv[1:]
    missing = missing_settings(argv)
    if missing:
        sys.stderr.write(
            f"target-postgres needs {', '.join(CONNECTION_SETTINGS)}; not set: "
            f"{', '.join(missing)} (meltano config set target-postgres <setting> <value>, "
            "TARGET_POSTGRES_<SETTING>, or PG_* with --environment=prod)\n"
        )
        sys.exit(1)
    run_loader()


def run_loader() -> None:
    """target-postgres's own command line, reading its input with the msgspec reader."""
    from singer_sdk.contrib.msgspec import MsgSpecReader
    from target_postgres.target import TargetPostgres

    class TargetPostgresMsgspecInput(TargetPostgres):
        message_reader_class = MsgSpecReader

    TargetPostgresMsgspecInput.cli()
