#!/usr/bin/env bash
# Set up Huế Twin on a fresh Debian machine: system packages, a virtual environment in .venv,
# and the project (with its compiled kernels) installed into it.
#   bash scripts/setup.sh          # the engine
#   bash scripts/setup.sh viz      # the engine, the 3D view and the leaders' report
#   bash scripts/setup.sh test     # the engine, the 3D view and what the tests need
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"

# Debian packages: a C compiler and Python headers for the Cython kernels; for the 3D view,
# EGL and Mesa's software OpenGL (rendering with no display); for the tests, Chromium (the
# HTML scene and the report are opened in a headless browser). Installed only when missing.
need=()
command -v gcc >/dev/null || need+=(gcc)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
case ",$extras," in
*,viz,* | *,test,*)
    for package in libegl1 libgl1-mesa-dri; do
        installed "$package" || need+=("$package")
    done
    ;;
esac
case ",$extras," in
*,test,*) command -v chromium >/dev/null || need+=(chromium) ;;
esac
if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    else
        echo "setup.sh: please install these Debian packages as root: ${need[*]}" >&2
    fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ -n "$extras" ]; then
    .venv/bin/python -m pip install -q -e ".[$extras]"
else
    .venv/bin/python -m pip install -q -e .
fi
