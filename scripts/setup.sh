#!/usr/bin/env bash
# Set up Huế Twin on a fresh Debian machine: system packages, a virtual environment in .venv,
# and the project (with its compiled kernels) installed into it.
#   bash scripts/setup.sh          # the engine
#   bash scripts/setup.sh test     # the engine and what the tests need
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"

# Debian packages: a C compiler and Python headers for the Cython kernels.
need=()
command -v gcc >/dev/null || need+=(gcc)
if [ "${#need[@]}" -gt 0 ] && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ -n "$extras" ]; then
    .venv/bin/python -m pip install -q -e ".[$extras]"
else
    .venv/bin/python -m pip install -q -e .
fi
