#!/usr/bin/env bash
# The benchmarks on a fresh machine: engine, virtualenv, then the scripts/nimbench package (arguments pass on).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m scripts.nimbench "$@"
