"""Print what the demo loaded into DuckDB and three answers from the models built on it,
or wait until the sandbox answers."""

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
            "WHERE table_schema LIKE 'tap_%' ORDER BY table_schema, table_name"
        ).fetchall()
        print(f"\nWhat landed in {path}:")
        print(f"  {'table':<44} {'rows':>9}")
        for schema, table in tables:
            query = f'SELECT count(*) FROM "{schema}"."{table}"'  # noqa: S608 - catalog names
            (rows,) = conn.execute(query).fetchone()
            print(f"  {schema + '.' + table:<44} {rows:>9,}")


ANSWERS = {
    "Top senders of the last day (mail_events)": """
        SELECT sender, source, count(DISTINCT message_key) AS messages, count(*) AS recipients
        FROM analytics.mail_events
        WHERE occurred_at >= now() - INTERVAL 1 DAY AND sender IS NOT NULL
        GROUP BY sender, source ORDER BY messages DESC, sender LIMIT 5""",
    "Sensitive admin actions, newest first (admin_activity)": """
        SELECT strftime(timezone('UTC', coalesce(occurred_at, window_start)), '%Y-%m-%d %H:%M')
            AS "at (UTC)",
            actor, action, target
        FROM analytics.admin_activity
        WHERE is_sensitive AND user_type = 'ADMIN'
        ORDER BY coalesce(occurred_at, window_start) DESC, action, target LIMIT 5""",
    "Policy exceptions set on a domain or mailbox itself (policy_exceptions)": """
        SELECT account_type, account, exception
        FROM analytics.policy_exceptions
        WHERE is_own_setting ORDER BY account_type, account, exception LIMIT 8""",
}


def answer(path: str) -> None:
    """Three questions a security engineer asks, answered from the dbt models."""
    import duckdb

    with duckdb.connect(path, read_only=True) as conn:
        for question, sql in ANSWERS.items():
            cursor = conn.execute(sql)
            names = [column[0] for column in cursor.description]
            rows = [[str(value) for value in row] for row in cursor.fetchall()]
            widths = [max(len(v) for v in column) for column in zip(names, *rows, strict=False)]
            print(f"\n{question}:")
            for row in [names, *rows]:
                print("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
            if not rows:
                print("  (none)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database", nargs="?")
    parser.add_argument("--wait-for-sandbox", action="store_true")
    parser.add_argument("--answers", action="store_true", help="query the dbt models too")
    args = parser.parse_args()
    if args.wait_for_sandbox:
        wait_for_sandbox()
    if args.database:
        summarise(args.database)
        if args.answers:
            answer(args.database)


if __name__ == "__main__":
    main()
