#!/usr/bin/env bash
# Installs qa_insights and everything it needs into the current Python (>= 3.11).
# torch comes first and pinned: pip then takes the CPU build; an unpinned torch
# (asked for by sentence-transformers) would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -m pip install --disable-pip-version-check "torch==2.13.0"
"$PY" -m pip install --disable-pip-version-check -c requirements/constraints.txt -e ".[dev]"
