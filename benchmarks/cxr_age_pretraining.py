"""Age-pretrained initialisation of the CXR calcium network (two ``hounsfield train cxr`` runs).

Step 1 trains the network to read the patient's **age** from the radiograph (regression; the labels CSV's ``age``
column as the target), on the training patients of outer fold 0 of the CAC split only (the split
``hounsfield train cxr --kfold K --seed S`` makes: grouped, stratified by CAC category), so that no patient of
the CAC test fold is seen. Step 2 trains the CAC classifier from those weights (``--init``; the head is new).

Why: on the phantom radiographs a network trained for age reads it (Spearman 0.55-0.66) while one trained for
CAC > 0 hardly uses it (its logit correlates with age at r 0.08-0.18) and reads the sex instead; age is the
strongest visible correlate of coronary calcium (docs/cxr.md, session 5).

Usage::

    PYTHONPATH=src python3 benchmarks/cxr_age_pretraining.py DRR/labels.csv OUT [--kfold 5] [--seed 0] \\
        [--threads 2] [--epochs 12] [--cache-dir DIR]

Writes ``OUT/age_labels.csv`` (age as the target, fold-0 training patients only), ``OUT/age`` (step 1) and
``OUT/cac`` (step 2, ``--save``), and prints both commands.
"""

from __future__ import annotations

import argparse
import csv
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

from hounsfield.cxr.data import cac_category, read_labels_csv
from hounsfield.training.folds import grouped_stratified_folds

RECIPE = ["--arch", "resnet18", "--width", "0.25", "--stem-stride", "2", "--max-folds", "1", "--lr", "1e-3",
          "--wd", "1e-4", "--batch-size", "32", "--momentum", "0.9", "--size", "224", "--region", "heart",
          "--no-equalize", "--bn-images", "192"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("labels")
    ap.add_argument("out")
    ap.add_argument("--kfold", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--val-fraction", type=float, default=0.2)
    ap.add_argument("--cache-dir", default=None, help="keep the preprocessed inputs here (inputs_age.npz, inputs.npz)")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    records = read_labels_csv(a.labels)
    cac = np.array([r.cac for r in records])
    groups = np.array([r.patient_id for r in records])
    fold0 = grouped_stratified_folds(cac_category(cac), groups, a.kfold, a.seed, a.val_fraction)[0]
    test = set(groups[fold0.test])
    age_csv = out / "age_labels.csv"
    with open(age_csv, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "patient_id", "cac", "sex"])
        for r in records:
            if r.patient_id not in test:
                w.writerow([r.image, r.patient_id, r.extra["age"], r.extra.get("sex", "")])
    common = [*RECIPE, "--kfold", str(a.kfold), "--epochs", str(a.epochs), "--seed", str(a.seed),
              "--threads", str(a.threads), "--save"]
    cache = (lambda n: ["--cache", str(Path(a.cache_dir) / n)]) if a.cache_dir else (lambda n: [])
    step1 = ["hounsfield", "train", "cxr", "--data", str(age_csv), "-o", str(out / "age"), "--task", "regress",
             "--n-boot", "200", *common, *cache("inputs_age.npz")]
    step2 = ["hounsfield", "train", "cxr", "--data", a.labels, "-o", str(out / "cac"), "--task", "classify",
             "--n-boot", "500", "--init", str(out / "age" / "model.pt"), *common, *cache("inputs.npz")]
    print(f"age targets: {len(records) - len(test)} patients (outer fold 0 test patients of the CAC split left out: "
          f"{len(test)})", flush=True)
    for cmd in (step1, step2):
        print("$ " + shlex.join(cmd), flush=True)
        if subprocess.call(cmd) != 0:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
