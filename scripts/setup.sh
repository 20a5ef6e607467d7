#!/usr/bin/env bash
# Create .venv with everything the demo and the tests need (idempotent, CPU-only).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.haplexpr-installed
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/pip install --quiet --upgrade pip
    # CPU build of torch first, so nothing below pulls a CUDA build.
    .venv/bin/pip install --quiet "$(grep '^torch==' requirements.txt)"
    .venv/bin/pip install --quiet -r requirements.txt
    .venv/bin/pip install --quiet --no-deps -e .
    echo "$want" > "$stamp"
fi
echo "haplexpr environment ready: $(pwd)/.venv"
