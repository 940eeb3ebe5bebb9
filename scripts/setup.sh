#!/usr/bin/env bash
# Everything the tests and the benchmark need on a fresh machine: the Docker engine (see
# setup-engine.sh) and the project in .venv with its test and benchmark extras.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-engine.sh
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,bench]' 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import nimctl, docker, openai, typer, tenacity, pydantic, testcontainers"
