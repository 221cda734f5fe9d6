"""Print what the demo loaded into DuckDB, or wait until the sandbox answers."""

from __future__ import annotations

import argparse
import socket
import sys
import time

from sandbox import VENDORS


def wait_for_sandbox(timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    for vendor, (_, _, port) in VENDORS.items():
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit(
                        f"the {vendor} sandbox did not start on port {port}: see output/sandbox.log"
                    )
                time.sleep(0.2)


def summarise(path: str) -> None:
    import duckdb

    with duckdb.connect(path, read_only=True) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "ORDER BY table_schema, table_name"
        ).fetchall()
        print(f"\nWhat landed in {path}:")
        print(f"  {'table':<44} {'rows':>9}")
        for schema, table in tables:
            query = f'SELECT count(*) FROM "{schema}"."{table}"'  # noqa: S608 - catalog names
            (rows,) = conn.execute(query).fetchone()
            print(f"  {schema + '.' + table:<44} {rows:>9,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database", nargs="?")
    parser.add_argument("--wait-for-sandbox", action="store_true")
    args = parser.parse_args()
    if args.wait_for_sandbox:
        wait_for_sandbox()
    if args.database:
        summarise(args.database)


if __name__ == "__main__":
    main()
