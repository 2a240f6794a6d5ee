"""Does the calcium-map head of 'train cxr --aux-map' localise calcium, or only know who has it?

python benchmarks/cxr_map_baselines.py LABELS.csv MAPS.npz RUN_DIR [--out JSON]

On the inner-validation patients of RUN_DIR's fold 0 (folds.json), the per-cell binary cross-entropy of the
head (history.csv: val_map_loss, at the selected epoch and the best epoch) is set beside readers that know no
image: a location prior (each cell's mean target over the inner-training patients), an oracle that also knows
*whether* the patient has coronary plaques (the prior of patients with plaques for them, of those without for
the rest) and one that knows the patient's CAC category (the prior within the category). A head below the
prior has learned something; one near the 'knows whether' oracle has learned who has calcium, not where; one
clearly below it localises.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from hounsfield.cxr.calcium_map import map_targets, read_map_file
from hounsfield.cxr.data import cac_category
from hounsfield.cxr.preprocess import Preprocess


def bce(p: np.ndarray, t: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p))))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("labels")
    ap.add_argument("maps")
    ap.add_argument("run")
    ap.add_argument("--grid", type=int, default=0, help="head grid (default: input size / 16)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    run = Path(a.run)
    cfg = json.loads((run / "config.json").read_text())
    settings = Preprocess.from_dict(cfg["preprocess"])
    grid = a.grid or settings.size // 16
    with open(a.labels, newline="") as fh:
        rows = list(csv.DictReader(fh))
    ids = [r["patient_id"] for r in rows]
    maps, known = read_map_file(a.maps, ids, settings, settings.size // 4)
    t = map_targets(maps, grid)
    fold = json.loads((run / "folds.json").read_text())[0]
    where = {pid: i for i, pid in enumerate(ids)}
    tr = np.array([where[g] for g in fold["inner_train_groups"] if known[where[g]]])
    va = np.array([where[g] for g in fold["validation_groups"] if known[where[g]]])
    has = t.reshape(len(t), -1).sum(axis=1) > 0
    cat = np.array([int(cac_category(float(r["cac"]))) for r in rows])
    prior = t[tr].mean(axis=0)
    by_has = {h: t[tr][has[tr] == h].mean(axis=0) for h in (True, False)}
    by_cat = {c: t[tr][cat[tr] == c].mean(axis=0) for c in np.unique(cat[tr])}
    out = {
        "validation_images": int(len(va)), "grid": grid,
        "location_prior": bce(np.broadcast_to(prior, t[va].shape), t[va]),
        "knows_whether_plaques": bce(np.stack([by_has[h] for h in has[va]]), t[va]),
        "knows_cac_category": bce(np.stack([by_cat.get(c, prior) for c in cat[va]]), t[va]),
    }
    with open(run / "history.csv", newline="") as fh:
        hist = [h for h in csv.DictReader(fh) if h.get("val_map_loss")]
    if hist:
        out["head_selected_epoch"] = float(next(h["val_map_loss"] for h in hist if h["selected"] == "True"))
        out["head_best_epoch"] = min(float(h["val_map_loss"]) for h in hist)
    out["run"] = str(run)
    text = json.dumps(out, indent=1)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
