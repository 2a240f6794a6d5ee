"""What do the phantom radiographs show of age and sex, and how much do age and sex alone say about CAC > 0?
(synthetic only)

On real chest radiographs deep networks read the patient's age to within a few years and the sex almost
perfectly, and age and sex are the strongest predictors of coronary calcium; a radiograph model gets much of
its AUROC from them. This probe measures, on a labels CSV of phantom radiographs (``hounsfield phantom cxr``,
columns ``age``, ``sex``, ``cac``, ``arch_calcium_mm3``):

* linear probes on the whole film downsampled to 48 x 48 px, 5-fold cross-validated: ridge regression of age
  (correlation, MAE), logistic regression of sex and of CAC > 0 (AUROC);
* the truth covariates alone for CAC > 0 (AUROC): age, age + sex (logistic, cross-validated), the true arch
  calcium volume, arch + age;
* with ``--pred`` (a ``hounsfield cxr --csv`` file of the same images): the model's AUROC, its logit's
  correlation with age, and logistic stacking of its logit with age and sex (cross-validated) against age +
  sex alone (does the image add anything to them?).

python benchmarks/cxr_clinical_probe.py LABELS.csv [--pred PRED.csv] --out benchmarks/results/cxr_clinical_probe.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict


def _logistic() -> GridSearchCV:
    return GridSearchCV(LogisticRegression(max_iter=3000), {"C": np.logspace(-4, 1, 6)}, cv=3, scoring="roc_auc")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("labels")
    ap.add_argument("--pred", default=None)
    ap.add_argument("--px", type=int, default=48)
    ap.add_argument("--out", default="benchmarks/results/cxr_clinical_probe.json")
    a = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    t0 = time.time()
    root = Path(a.labels).parent
    rows = list(csv.DictReader(open(a.labels)))
    paths = [str((root / r["image"]).resolve()) if not os.path.isabs(r["image"]) else r["image"] for r in rows]
    x = np.array([np.asarray(Image.open(p).resize((a.px, a.px), Image.BILINEAR), float).ravel() for p in paths])
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    age = np.array([float(r["age"]) for r in rows])
    male = np.array([r["sex"] == "M" for r in rows])
    y = np.array([float(r["cac"]) > 0 for r in rows])
    arch = np.array([float(r.get("arch_calcium_mm3") or 0.0) for r in rows])
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    out: dict = {"labels": a.labels, "n": len(rows), "n_cac_gt0": int(y.sum()), "probe_px": a.px}
    pa = cross_val_predict(RidgeCV(alphas=np.logspace(0, 5, 11)), x, age, cv=5)
    out["image_probe"] = {
        "age_r": float(np.corrcoef(pa, age)[0, 1]), "age_mae": float(np.abs(pa - age).mean()),
        "age_sd": float(age.std()),
        "sex_auroc": float(roc_auc_score(male, cross_val_predict(_logistic(), x, male, cv=cv, method="predict_proba")[:, 1])),
        "cac_gt0_auroc": float(roc_auc_score(y, cross_val_predict(_logistic(), x, y, cv=cv, method="predict_proba")[:, 1])),
    }
    cov = np.c_[age, male]
    out["truth_covariates_auroc_cac_gt0"] = {
        "age": float(roc_auc_score(y, age)),
        "age_sex": float(roc_auc_score(y, cross_val_predict(LogisticRegression(), cov, y, cv=cv, method="predict_proba")[:, 1])),
        "arch_volume": float(roc_auc_score(y, arch)),
        "arch_age": float(roc_auc_score(y, cross_val_predict(LogisticRegression(), np.c_[np.log1p(arch), age], y, cv=cv,
                                                             method="predict_proba")[:, 1])),
    }
    if a.pred:
        from hounsfield.cxr.evaluate import read_prediction_csv

        pred_rows = read_prediction_csv(a.pred)
        by_path = {r["image"]: r["p_cac_gt0"] for r in pred_rows}
        by_name = {Path(r["image"]).name: r["p_cac_gt0"] for r in pred_rows}
        if len(by_name) < len(pred_rows):
            by_name = {}
        p = np.clip(np.array([by_path.get(q, by_name.get(Path(q).name, np.nan)) for q in paths]), 1e-6, 1 - 1e-6)
        if np.isnan(p).any():
            raise SystemExit(f"{a.pred}: no prediction for {int(np.isnan(p).sum())} labelled images")
        logit = np.log(p / (1 - p))
        stack = cross_val_predict(LogisticRegression(), np.c_[logit, age, male], y, cv=cv, method="predict_proba")[:, 1]
        out["model"] = {"pred": a.pred, "auroc_cac_gt0": float(roc_auc_score(y, p)),
                        "logit_age_r": float(np.corrcoef(logit, age)[0, 1]),
                        "logit_sex_auroc": float(roc_auc_score(male, logit)),
                        "stacked_with_age_sex_auroc": float(roc_auc_score(y, stack))}
    out["seconds"] = round(time.time() - t0, 1)
    out["command"] = "python benchmarks/cxr_clinical_probe.py " + " ".join(argv if argv is not None else sys.argv[1:])
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
