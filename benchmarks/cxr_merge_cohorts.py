"""Merge 'hounsfield phantom cxr --n N --start S' runs made in parallel into one labels.csv (+ calcium_maps.npz).

python benchmarks/cxr_merge_cohorts.py OUT_DIR PART_DIR...

Image paths of the merged labels.csv point into the parts (relative to OUT_DIR); the maps are concatenated in
the same order. Patient IDs must not repeat.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        raise SystemExit(__doc__)
    out, parts = Path(argv[0]), [Path(p) for p in argv[1:]]
    out.mkdir(parents=True, exist_ok=True)
    rows, fields, maps = [], None, []
    for part in parts:
        with open(part / "labels.csv", newline="") as fh:
            reader = csv.DictReader(fh)
            fields = fields or reader.fieldnames
            for r in reader:
                r["image"] = os.path.relpath(part / r["image"], out)
                rows.append(r)
        if (part / "calcium_maps.npz").exists():
            with np.load(part / "calcium_maps.npz") as z:
                maps.append({k: z[k] for k in z.files})
    ids = [r["patient_id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise SystemExit("patient IDs repeat across the parts")
    with open(out / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    if maps:
        if len(maps) != len(parts):
            raise SystemExit("calcium_maps.npz is in some parts only")
        shift = np.cumsum([0] + [len(m["rows"]) for m in maps[:-1]])
        np.savez_compressed(
            out / "calcium_maps.npz", ids=np.concatenate([m["ids"] for m in maps]),
            shapes=np.concatenate([m["shapes"] for m in maps]),
            offsets=np.concatenate([[0]] + [m["offsets"][1:] + s for m, s in zip(maps, shift)]).astype(np.int64),
            **{k: np.concatenate([m[k] for m in maps]) for k in ("rows", "cols", "values")})
    print(f"{len(rows)} images -> {out / 'labels.csv'}" + (" (+ calcium_maps.npz)" if maps else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
