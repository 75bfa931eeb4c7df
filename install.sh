#!/usr/bin/env bash
# One command sets up everything mobilesdk needs on a fresh machine (Python 3.11, JDK 17, Maven, CMake, g++):
# a virtualenv in .venv with the pinned Python stack (constraints.txt) and mobilesdk in editable mode.
# Re-running is cheap: pip skips what is already installed.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch from PyPI is the CUDA build (several GB); pip's cache (~/.cache/pip) makes reinstalls fast.
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
.venv/bin/mobilesdk --version
