#!/usr/bin/env bash
# The whole test suite on a fresh machine: engine, virtualenv, then pytest (unit + integration).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/unit -q`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-engine.sh
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,bench]' 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import nimctl, docker, openai, typer, tenacity, pydantic_settings" 
exec .venv/bin/python -m pytest "$@"
