"""Paired bootstrap of the AUROC difference between two prediction CSVs of the same images (CAC > 0).

python benchmarks/cxr_paired_auroc.py LABELS.csv A.csv B.csv [--n-boot 2000] [--seed 0] [--column p_cac_gt0]

Both CSVs come from 'hounsfield cxr' (columns image, p_cac_gt0); images are matched to the labels by file
name. Prints AUROC(A), AUROC(B), B - A and its 95 % percentile interval over patients resampled with
replacement (the same resample for both models).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from hounsfield.metrics.classification import auroc


def _scores(path: str, column: str) -> dict[str, float]:
    with open(path, newline="") as fh:
        return {Path(r["image"]).name: float(r[column]) for r in csv.DictReader(fh)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("labels")
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--column", default="p_cac_gt0")
    a = ap.parse_args(argv)
    with open(a.labels, newline="") as fh:
        labels = {Path(r["image"]).name: float(r["cac"]) > 0 for r in csv.DictReader(fh)}
    pa, pb = _scores(a.a, a.column), _scores(a.b, a.column)
    names = sorted(set(labels) & set(pa) & set(pb))
    y = np.array([labels[n] for n in names])
    sa, sb = np.array([pa[n] for n in names]), np.array([pb[n] for n in names])
    rng = np.random.default_rng(a.seed)
    diffs = []
    for _ in range(a.n_boot):
        i = rng.integers(0, len(y), len(y))
        if y[i].all() or not y[i].any():
            continue
        diffs.append(auroc(y[i], sb[i]) - auroc(y[i], sa[i]))
    out = {"n": len(names), "n_positive": int(y.sum()), "auroc_a": auroc(y, sa), "auroc_b": auroc(y, sb),
           "b_minus_a": auroc(y, sb) - auroc(y, sa),
           "b_minus_a_ci95": [float(np.quantile(diffs, 0.025)), float(np.quantile(diffs, 0.975))],
           "n_boot": len(diffs), "a": a.a, "b": a.b}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
