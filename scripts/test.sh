#!/usr/bin/env bash
# Set up a fresh machine and run the whole test suite: lint, then the tests with the compiled
# kernels, then the tests that reach the kernels (everything but the command-line and 3D-view
# suites, which call the same engine) again on the pure-Python reference kernels.
# Extra arguments go to the first pytest run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
TWIN_KERNELS=python .venv/bin/python -m pytest -q --ignore=tests/cli --ignore=tests/viz
