#!/usr/bin/env bash
# Install the CPU build of torch first (a plain `torch` would pull a multi-GB CUDA build),
# then the project with every extra and the test tools, then run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q "torch==2.13.0"
python3 -m pip install -q -e ".[all,test]"
python3 -m pytest -n 2 --dist loadfile "$@"
