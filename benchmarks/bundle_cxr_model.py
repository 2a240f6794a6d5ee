"""Copy a trained CXR model into the package as ``cxr-cac`` (or ``--name NAME``) and register it in the manifest.

Usage::

    PYTHONPATH=src python3 benchmarks/bundle_cxr_model.py [--name cxr-cac-clinical] RUN DRR [TIMING.json] [HELDOUT.json]

``RUN``: the ``hounsfield train cxr ... --save`` folder (model.pt, cv_metrics.json, config.json);
``DRR``: the ``hounsfield phantom cxr --n`` folder it was trained on (cohort.json); ``TIMING.json``:
optional inference timing (``benchmarks/cxr_inference_speed.py --model RUN/model.pt``) stored with the metrics
(``-`` for none); ``HELDOUT.json``: optional ``hounsfield evaluate cxr --json`` of the model on an external
held-out cohort (another seed), stored as ``external_held_out``.
The statement, command and held-out metrics below describe the bundled run. With a full k-fold run
(no ``--max-folds``) the saved model is the fold with the lowest inner-validation loss; the manifest gives its
own test fold's metrics (patients it never saw) and the pooled out-of-fold metrics of all folds.
"""

import json
import re
import shutil
import sys
from datetime import date
from pathlib import Path

from hounsfield.models.registry import BUNDLED_DIR, register_model

argv = sys.argv[1:]
name = "cxr-cac"
if argv and argv[0] == "--name":
    name, argv = argv[1], argv[2:]
run, drr = Path(argv[0]), Path(argv[1])
timing = json.loads(Path(argv[2]).read_text()) if len(argv) > 2 and argv[2] != "-" else {}
heldout = json.loads(Path(argv[3]).read_text()) if len(argv) > 3 else {}
m = json.loads((run / "cv_metrics.json").read_text())
cfg = json.loads((run / "config.json").read_text())
coh = json.loads((drr / "cohort.json").read_text())
dst = BUNDLED_DIR / (name.replace("-", "_") + ".pt")
shutil.copyfile(run / "model.pt", dst)
model_json = json.loads((run / "model.json").read_text())
sel = int(model_json["info"]["fold"])
f0 = next(f for f in m["folds"] if f["fold"] == sel)
full = len(m["folds"]) > 1
p = m["pooled"] if not full else f0
keep = lambda d: {k: d[k] for k in d if k in ("value", "ci95", "n", "n_pos")} if isinstance(d, dict) else d
metrics = {
    "held_out": (f"outer test fold {sel} of a patient-grouped stratified {cfg['kfold']}-fold split (the bundled "
                 "model's own test patients, never used for training, epoch selection, threshold or calibration); "
                 "synthetic radiographs only"),
    "bundled_fold": sel,
    "n_test_images": p.get("n_images", p.get("n")),
    "auroc_cac_gt0": p["auroc_cac_gt0"], "auroc_cac_ge100": p.get("auroc_cac_ge100"),
    "auroc_cac_ge400": p.get("auroc_cac_ge400"),
    "cac_gt0_at_threshold": {k: p["cac_gt0_at_threshold"].get(k) for k in
                             ("sensitivity", "specificity", "ppv", "npv", "balanced_accuracy", "tp", "fp", "tn", "fn")},
    "kappa_linear": p.get("kappa_linear"), "kappa_quadratic": p.get("kappa_quadratic"),
    "brier_p_cac_gt0": p.get("brier_p_cac_gt0", (p.get("calibration_p_cac_gt0") or {}).get("brier")),
    **({"pooled_out_of_fold_all_folds": {
        "n_images": m["pooled"]["n_images"], "auroc_cac_gt0": m["pooled"]["auroc_cac_gt0"],
        "auroc_cac_ge100": m["pooled"].get("auroc_cac_ge100"), "auroc_cac_ge400": m["pooled"].get("auroc_cac_ge400"),
        "kappa_linear": m["pooled"].get("kappa_linear"),
        "per_fold_auroc_cac_gt0": [f["auroc_cac_gt0"]["value"] for f in m["folds"]]}} if full else {}),
    "spearman_cac": p.get("spearman"), "calibration_p_cac_gt0": {k: p["calibration_p_cac_gt0"][k] for k in ("brier", "ece", "intercept", "slope")},
    "selected_epoch": f0["selected_epoch"], "threshold": f0["threshold"],
    "train_seconds": m["seconds"]["total"],
    "target": "AUROC CAC>0 >= 0.90 on held-out synthetic radiographs: " +
              ("met" if p["auroc_cac_gt0"]["value"] >= 0.90 and m["pooled"]["auroc_cac_gt0"]["value"] >= 0.90
               else "NOT met"),
    **({"inference": timing} if timing else {}),
    **({"external_held_out": {
        "what": heldout.get("what", f"{heldout['n']} radiographs of another phantom cohort (labels {heldout['labels']})"),
        "n": heldout["n"], "n_cac_gt0": heldout["n_cac_gt0"], "auroc_cac_gt0": heldout["auroc_cac_gt0"],
        "auroc_cac_ge100": heldout.get("auroc_cac_ge100"), "auroc_cac_ge400": heldout.get("auroc_cac_ge400"),
        "cac_gt0_at_threshold": {k: heldout["cac_gt0_at_threshold"].get(k) for k in
                                 ("sensitivity", "specificity", "ppv", "npv", "balanced_accuracy")},
        "kappa_linear": heldout.get("kappa_linear")}} if heldout else {}),
}
n_train = int(round(coh["n"] * (cfg["kfold"] - 1) / cfg["kfold"]))
trained_on = (f"synthetic: {n_train} PA radiographs (inner training + validation of outer fold {sel}) of hounsfield chest "
              f"phantoms ({coh['source']}), projected from the phantom description (hounsfield.cxr.phantom_drr) with "
              f"the opt-in aortic-arch/coronary link arch_link={coh['arch_link']:g}; labels = the phantoms' clinical "
              "Agatston score; no real radiograph or real patient data"
              + ("; arch-link cohort with the aortic knob moved into the lung and curved arch plates "
                 "(phantoms.aortic.draw_knob_shift / wall_strip); the Agatston truth of "
                 f"{coh['truth_reused']} patients reused from the earlier projection of the same cohort "
                 "(--truth-from, checked by recomputation)" if "truth_reused" in coh else "")
              + (f"; inputs: the image and the clinical columns {', '.join(cfg['clinical'])} (late fusion)"
                 if cfg.get("clinical") else "")
              + (f"; also trained to predict {', '.join(cfg['aux'])} from the image (auxiliary targets; the input "
                 "is the image alone)" if cfg.get("aux") else ""))
cmd = (f"hounsfield phantom cxr --n {coh['n']} --seed {coh['seed']}"
       + (f" --arch-style {coh['arch_style']}" if coh.get("arch_style", "plates") != "plates" else "")
       + (" --age-signs" if coh.get("age_signs") else "") + " -o DRR && "
       + re.sub(r"(--cache) \S+", r"\1 inputs.npz",
                re.sub(r"(-o|--out) \S+", r"\1 RUN", re.sub(r"(--data) \S+", r"\1 DRR/labels.csv", cfg["command"]))))
e = register_model(BUNDLED_DIR, dst, name=name, task="cxr-cac-classify", trained_on=trained_on, command=cmd,
                   input={"image": "PA chest radiograph (DICOM, PNG, JPEG)", "preprocess": model_json["preprocess"],
                          **({"clinical": model_json["clinical"]} if model_json.get("clinical") else {}),
                          "outputs": ["p_cac_gt0", "p_cac_ge100", "p_cac_ge400", "category"]
                          + [f"aux_{f}" for f in (model_json.get("aux") or {}).get("features", [])]},
                   config={"arch": cfg["arch"], "task": cfg["task"], "network": model_json.get("network", {}), "train_config": {k: cfg[k] for k in (
                       "kfold", "max_folds", "epochs", "learning_rate", "wd", "batch_size", "momentum", "optimizer",
                       "size", "region", "equalize", "augment", "bn_images", "seed", "val_fraction", "width", "stem_stride")
                       if k in cfg}, **({"clinical": cfg["clinical"]} if cfg.get("clinical") else {}),
                       **({"aux": cfg["aux"], "aux_weight": cfg["aux_weight"]} if cfg.get("aux") else {}),
                       "data": {"cohort": coh["source"], "n": coh["n"], "n_cac_gt0": coh["n_cac_gt0"],
                                "drr": coh["drr"], "voxel_mm": coh["voxel_mm"], "arch_link": coh["arch_link"]},
                       "weights": "float16", "selection": "epoch with the lowest inner-validation loss"},
                   metrics=metrics, created=date.today().isoformat())
print(e.sha256, dst.stat().st_size)
