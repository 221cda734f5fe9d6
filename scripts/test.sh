#!/usr/bin/env bash
# The whole test suite: lint, then every package's tests (sandbox, three taps, end to end
# into a throwaway PostgreSQL and DuckDB). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# PostgreSQL server binaries for the throwaway test server (tests start and stop it).
if ! command -v pg_config >/dev/null 2>&1 || [ ! -x "$(pg_config --bindir)/initdb" ]; then
    echo "test: installing the PostgreSQL server" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

source scripts/setup.sh

bash scripts/lint.sh
exec "${UV[@]}" run --frozen pytest -n 2 "$@"
