#!/usr/bin/env bash
# Install (the CPU build of torch first, then hounsfield with every extra) and run the main job: the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q "torch==2.13.0"
python3 -m pip install -q -e ".[all]"
hounsfield demo "$@"
