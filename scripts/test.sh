#!/usr/bin/env bash
# Install the CPU build of torch first (a plain `torch` would pull a multi-GB CUDA build),
# then the project with every extra and the test tools, Debian's Chromium for the browser
# tests of the HTML reports, then run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q "torch==2.13.0"
python3 -m pip install -q -e ".[all,test]"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
      || echo "warning: could not install chromium; the browser tests will be skipped"
  else
    echo "warning: chromium missing and not root; the browser tests will be skipped"
  fi
fi
python3 -m pytest -n 2 --dist loadfile "$@"
