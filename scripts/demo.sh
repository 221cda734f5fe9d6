#!/usr/bin/env bash
# One command for a new user: set everything up, start the sandbox APIs, run every tap
# into DuckDB (output/mail.duckdb) with Meltano, and print what landed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

mkdir -p output
"${UV[@]}" run --frozen python -m sandbox all >output/sandbox.log 2>&1 &
SANDBOX_PID=$!
trap 'kill $SANDBOX_PID 2>/dev/null || true' EXIT
"${UV[@]}" run --frozen python scripts/demo_summary.py --wait-for-sandbox

# Read the last two days (the sandbox makes data for any period; retention caps Mailprotector).
export TAP_REDIFFMAIL_START_DATE=$(date -u -d '2 days ago' +%Y-%m-%dT00:00:00+00:00)
export TAP_MAILPROTECTOR_START_DATE=$(date -u -d '1 day ago' +%Y-%m-%dT00:00:00+00:00)

echo "demo: loading the three sandbox APIs into output/mail.duckdb (log: output/demo.log)" >&2
"${UV[@]}" run --frozen meltano --environment=demo run \
    tap-rediffmail target-duckdb \
    tap-mailprotector target-duckdb \
    tap-iredadmin target-duckdb >output/demo.log 2>&1 || {
    tail -n 40 output/demo.log >&2
    echo "demo: the Meltano run failed; the whole log is in output/demo.log" >&2
    exit 1
}

"${UV[@]}" run --frozen python scripts/demo_summary.py output/mail.duckdb
