#!/usr/bin/env bash
# The benchmarks on a fresh machine: engine, virtualenv, then scripts/bench.py (arguments pass on).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python scripts/bench.py "$@"
