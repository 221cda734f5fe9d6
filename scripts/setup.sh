#!/usr/bin/env bash
# Shared setup for demo.sh and test.sh: uv, the workspace environment, Meltano plugins.
# Meant to be sourced; defines UV (how to call uv).
set -euo pipefail
# Meltano writes each plugin's generated config, secrets included, under .meltano/run/
# and leaves it there if a plugin is killed: only this user may read what we create.
umask 077
# Let Python keep compiled modules (some machines set PYTHONDONTWRITEBYTECODE=1): otherwise
# every Meltano, tap and target start compiles them all again (target-postgres --about:
# 8.8 s instead of 2.7 s), and the demo and the suite start hundreds of them.
unset PYTHONDONTWRITEBYTECODE

export UV_PYTHON_DOWNLOADS=never   # use the machine's Python 3.11; only the package registry is reachable
if command -v uv >/dev/null 2>&1; then
    UV=(uv)
else
    if ! python3 -m uv --version >/dev/null 2>&1; then
        echo "setup: installing uv from the package registry" >&2
        python3 -m pip install --quiet --disable-pip-version-check uv
    fi
    UV=(python3 -m uv)
fi

echo "setup: syncing the workspace environment (.venv)" >&2
"${UV[@]}" sync --frozen --quiet
echo "setup: installing Meltano plugins (.meltano/)" >&2
mkdir -p .meltano
"${UV[@]}" run --frozen meltano install >/dev/null 2>.meltano/install.log || {
    cat .meltano/install.log >&2
    exit 1
}
