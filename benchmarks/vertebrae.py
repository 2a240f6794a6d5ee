"""Run the vertebra detector over a folder of scans, time it, write --json files for ``hounsfield evaluate vertebrae``.

Usage::

    python benchmarks/vertebrae.py DATA_DIR PRED_DIR [--threads 2]

DATA_DIR holds phantom folders (``CASE/non_gated.nii.gz``) or ``CASE_ct.nii.gz``
/ ``CASE.nii.gz`` images. Prints wall and CPU seconds per scan.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("pred", type=Path)
    args = ap.parse_args()
    from hounsfield.io import read, write_json
    from hounsfield.vertebrae.model import load_model

    model = load_model()
    args.pred.mkdir(parents=True, exist_ok=True)
    images = sorted(args.data.glob("*/non_gated.nii.gz")) or sorted(args.data.glob("*_ct.nii.gz"))
    rows = []
    for img in images:
        case = img.parent.name if img.name == "non_gated.nii.gz" else img.name.rsplit("_ct.nii", 1)[0]
        vol = read(img)
        w0, c0 = time.perf_counter(), time.process_time()
        det = model.detect(vol)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        write_json(det.to_dict(), args.pred / f"{case}.json")
        rows.append({"case": case, "shape": list(vol.shape), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                     "anchor": det.anchor, "n": len(det.centroids)})
        print(json.dumps(rows[-1]))
    if rows:
        print(f"mean wall {sum(r['wall_s'] for r in rows) / len(rows):.2f} s, "
              f"mean cpu {sum(r['cpu_s'] for r in rows) / len(rows):.2f} s over {len(rows)} scans")


if __name__ == "__main__":
    main()
