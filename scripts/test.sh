#!/usr/bin/env bash
# The whole test suite on a fresh machine: engine, virtualenv, then pytest (unit + integration).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/unit -q`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
