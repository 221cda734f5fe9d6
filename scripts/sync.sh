#!/usr/bin/env bash
# One scheduled load: `scripts/sync.sh JOB VARIABLE...` checks that Meltano's system
# database and every VARIABLE the job's settings come from are set (an unset repository
# secret arrives as an empty string), then runs the Meltano job.
set -euo pipefail
cd "$(dirname "$0")/.."
job=$1
shift
missing=()
for name in MELTANO_DATABASE_URI PG_HOST PG_PORT PG_USER PG_PASSWORD PG_DATABASE "$@"; do
    [ -n "${!name:-}" ] || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "sync: $job cannot start: ${missing[*]} not set (repository secrets or variables)" >&2
    exit 1
fi
source scripts/setup.sh
"${UV[@]}" run --frozen meltano run "$job"
