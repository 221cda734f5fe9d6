#!/usr/bin/env bash
# One command for a new user: set everything up, start the sandbox APIs, run every tap
# into DuckDB (output/mail.duckdb) with Meltano, build the dbt models on it, and print
# what landed and three answers from the models.
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

echo "demo: loading the three sandbox APIs into output/mail.duckdb, then dbt build (log: output/demo.log)" >&2
"${UV[@]}" run --frozen meltano --environment=demo run \
    tap-rediffmail target-duckdb \
    tap-mailprotector target-duckdb \
    tap-iredadmin target-duckdb \
    dbt-duckdb:build >output/demo.log 2>&1 || {
    tail -n 40 output/demo.log >&2
    echo "demo: the Meltano run failed; the whole log is in output/demo.log" >&2
    exit 1
}

"${UV[@]}" run --frozen python scripts/demo_summary.py --answers output/mail.duckdb

cat <<'EOF'

Open the database (models in the schema analytics, raw tables in tap_*):
  uv run python -c "import duckdb; db = duckdb.connect('output/mail.duckdb', read_only=True); db.sql('FROM analytics.mailboxes').show()"
  duckdb output/mail.duckdb                 # the DuckDB CLI, if installed (1.2.x reads this file)
Next:
  uv run meltano invoke dbt-duckdb:build    # rebuild the models and run their tests
  uv run meltano invoke dbt-duckdb:docs     # the models' documentation (see README, "Models")
  bash scripts/demo.sh                      # again: continues from the saved state
  uv run meltano --environment=prod run tap-iredadmin target-postgres   # real APIs: README, "Running against the real APIs"
EOF
