#!/usr/bin/env bash
# Install (CPU torch first, then hounsfield with every extra) and run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q "torch==2.13.0"
python3 -m pip install -q -e ".[all]"
hounsfield --help
if hounsfield demo --help >/dev/null 2>&1; then
  hounsfield demo "$@"
else
  # until `hounsfield demo` exists: convert a generated DICOM example
  python3 -m hounsfield.examples out/example_dicom
  hounsfield convert out/example_dicom out/example_nifti
fi
