#!/usr/bin/env bash
# Static checks, the lint stage of test.sh and the pre-commit hooks:
#   scripts/lint.sh [ruff] [types] [workflows] [meltano]   (no argument: all four)
# ruff (lint and format), mypy (strict, on the three taps and mailtaps_common, as the
# root pyproject.toml's [tool.mypy] says), zizmor and actionlint on .github/workflows,
# and meltano.yml against the JSON schema that ships with Meltano.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v uv >/dev/null 2>&1; then UV=(uv); else UV=(python3 -m uv); fi
run() { "${UV[@]}" run --frozen "$@"; }

for check in "${@:-ruff types workflows meltano}"; do
    for name in $check; do
        case "$name" in
        ruff)
            run ruff check .
            run ruff format --check .
            ;;
        types)
            run mypy
            ;;
        workflows)
            run zizmor --offline --quiet .github/workflows
            run actionlint
            ;;
        meltano)
            schema=$(run python -c "import meltano.schemas as s, pathlib; print(pathlib.Path(s.__file__).with_name('meltano.schema.json'))")
            run check-jsonschema --schemafile "$schema" meltano.yml
            ;;
        *)
            echo "lint: unknown check '$name' (ruff, types, workflows, meltano)" >&2
            exit 2
            ;;
        esac
    done
done
