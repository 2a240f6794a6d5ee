"""Training the lesion classifier (``hounsfield train calcium``): reproducible from a seed.

Data it accepts:

* synthetic patients from ``hounsfield phantom chest`` (folders holding
  ``truth.json``): the gated and the non-gated exam of each patient, with their
  ``*_calcium.nii.gz`` maps (1 LM, 2 LAD, 3 LCX, 4 RCA, 5-7 aorta / aortic valve
  / mitral annulus, i.e. non-coronary);
* your own data in the nnU-Net layout: ``imagesTr/CASE_0000.nii.gz`` (or
  ``CASE.nii.gz``) with ``labelsTr/CASE.nii.gz`` lesion maps in the orCaScore
  convention (1 LAD incl. LM, 2 LCX, 3 RCA; ``--labels orcascore``) or a
  4-artery map (1 LM, 2 LAD, 3 LCX, 4 RCA; ``--labels 4artery``).

Each exam goes through the same pipeline as at inference (gating decision,
fake gating, heart region, candidates); every candidate gets the class of the
reference label covering it (or 0). Patients are split 80/20 (seeded) for the
validation metrics recorded in the manifest; the final model is then refitted
on all patients.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import InputError

__all__ = ["Case", "discover_cases", "extract_candidates", "train_classifier", "PHANTOM_MAP", "ORCASCORE_MAP",
           "FOUR_ARTERY_MAP"]

PHANTOM_MAP = {1: 1, 2: 2, 3: 3, 4: 4, 5: 0, 6: 0, 7: 0}
ORCASCORE_MAP = {1: 2, 2: 3, 3: 4}
FOUR_ARTERY_MAP = {1: 1, 2: 2, 3: 3, 4: 4}


@dataclass(frozen=True)
class Case:
    image: str
    labels: str
    mapping: dict[int, int]
    mode: str
    case_id: str
    group: str


def discover_cases(folder: str | os.PathLike, labels: str = "auto", mode: str = "auto") -> list[Case]:
    """Training cases in ``folder`` (phantom cohort or nnU-Net layout)."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    cases: list[Case] = []
    truths = sorted(root.glob("*/truth.json")) + ([root / "truth.json"] if (root / "truth.json").exists() else [])
    if truths and labels in ("auto", "phantom"):
        for t in truths:
            d = t.parent
            for exam, m in (("gated", "gated"), ("non_gated", "non-gated")):
                img, lab = d / f"{exam}.nii.gz", d / f"{exam}_calcium.nii.gz"
                if img.exists() and lab.exists():
                    cases.append(Case(str(img), str(lab), PHANTOM_MAP, m, f"{d.name}/{exam}", d.name))
        return cases
    images, labs = root / "imagesTr", root / "labelsTr"
    if not (images.is_dir() and labs.is_dir()):
        raise InputError(f"{root}: expected phantom patients (*/truth.json) or imagesTr/ + labelsTr/")
    if labels not in ("orcascore", "4artery"):
        raise InputError("user data needs --labels orcascore (1 LAD incl. LM, 2 LCX, 3 RCA) or --labels 4artery")
    mapping = ORCASCORE_MAP if labels == "orcascore" else FOUR_ARTERY_MAP
    for img in sorted(images.glob("*.nii*")):
        stem = img.name.split(".nii")[0]
        base = stem[:-5] if stem.endswith("_0000") else stem
        lab = next((p for p in (labs / f"{base}.nii.gz", labs / f"{base}.nii") if p.exists()), None)
        if lab is None:
            raise InputError(f"{img}: no label map {labs / (base + '.nii.gz')}")
        cases.append(Case(str(img), str(lab), mapping, mode, base, base))
    if not cases:
        raise InputError(f"{images}: no images")
    return cases


def extract_candidates(case: Case) -> dict[str, Any]:
    """Features and classes of every candidate lesion of one exam (skips with a reason when it cannot run)."""
    from ..io import read
    from .lesion_model import lesion_features, lesion_truth
    from .pipeline import analyse

    vol = read(case.image)
    try:
        r = analyse(vol, mode=case.mode)
    except InputError as exc:
        return {"case": case.case_id, "group": case.group, "skipped": str(exc)}
    X = lesion_features(r.score, r.scored, r.region_map)
    y = lesion_truth(r.score, r.scored, read(case.labels), case.mapping)
    ag = np.array([l.agatston for l in r.score.lesions], np.float64)
    return {"case": case.case_id, "group": case.group, "X": X, "y": y, "agatston": ag}


def train_classifier(cases: list[Case], out_dir: str | os.PathLike, *, seed: int = 0, name: str = "calcium-lesions",
                     command: str = "", trained_on: str = "", workers: int = 1, cache: str | os.PathLike | None = None,
                     progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Extract candidates, validate on held-out patients, refit on all, save and register the model."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import classification_report, confusion_matrix
    from threadpoolctl import threadpool_limits  # one thread: OpenMP spinning on a shared CPU costs 100x


    from ..models.registry import register_model
    from .lesion_model import CLASS_NAMES, FEATURES, LesionClassifier, decide

    # numpy generator + the model's random_state carry the seed; training.seeds.seed_everything would also
    # import torch, which this scikit-learn model does not use (tens of seconds on a loaded machine)
    rng = np.random.default_rng(seed)
    t0 = time.time()
    rows: list[dict[str, Any]] = _load_cache(cache, cases, FEATURES) if cache else []
    if rows:
        pass
    elif workers > 1:
        from multiprocessing import get_context

        with get_context("spawn").Pool(workers) as pool:
            for i, r in enumerate(pool.imap(extract_candidates, cases)):
                rows.append(r)
                if progress:
                    progress(i + 1, len(cases))
    else:
        for i, c in enumerate(cases):
            rows.append(extract_candidates(c))
            if progress:
                progress(i + 1, len(cases))
    if cache and not Path(cache).exists():
        _save_cache(cache, cases, FEATURES, rows)
    used = [r for r in rows if "X" in r]
    skipped = [{"case": r["case"], "reason": r["skipped"]} for r in rows if "X" not in r]
    if not used:
        raise InputError("no usable training exam (every one was skipped)")
    X = np.concatenate([r["X"] for r in used])
    y = np.concatenate([r["y"] for r in used])
    ag = np.concatenate([r.get("agatston", np.zeros(len(r["y"]))) for r in used])
    exam = np.concatenate([[i] * len(r["y"]) for i, r in enumerate(used)]).astype(np.int64)
    groups = np.concatenate([[r["group"]] * len(r["y"]) for r in used])
    # each candidate weighs what it adds to the score: missing an 80-AU plaque costs 80 single-voxel specks
    sw = 1.0 + ag
    extract_s = time.time() - t0
    ug = np.unique(groups)
    # small data sets (a user's first few labelled exams) need smaller leaves than the default 20 samples
    # (and fewer boosting rounds: 300 rounds on a handful of samples only over-fit and cost time)
    params = dict(max_iter=300 if len(y) >= 1000 else 50, learning_rate=0.08, max_leaf_nodes=31,
                  l2_regularization=1.0, random_state=seed, min_samples_leaf=int(min(20, max(1, len(y) // 10))))
    metrics: dict[str, Any] = {"n_exams": len(used), "n_patients": int(len(ug)), "n_candidates": int(len(y)),
                               "class_counts": {CLASS_NAMES[int(k)]: int(v) for k, v in zip(*np.unique(y, return_counts=True))},
                               "sample_weight": "1 + candidate Agatston"}
    threshold = 0.5
    # out-of-fold probabilities: k folds by patient (5, fewer for small sets), every candidate predicted by a
    # model that never saw its patient; the coronary threshold is chosen on all of them
    k = int(min(5, len(ug)))
    if k >= 2:
        fold_of = {g: i % k for i, g in enumerate(rng.permutation(ug))}
        fold = np.array([fold_of[g] for g in groups])
        proba = np.zeros((len(y), len(CLASS_NAMES)))
        with threadpool_limits(1):
            for f in range(k):
                tr = fold != f
                if len(np.unique(y[tr])) < 2:
                    continue
                clf = HistGradientBoostingClassifier(**params).fit(X[tr], y[tr], sample_weight=sw[tr])
                cols = [int(c) for c in clf.classes_]
                proba[np.ix_(~tr, cols)] = clf.predict_proba(X[~tr])
        classes = np.array(sorted(CLASS_NAMES))
        threshold, sweep = _choose_threshold(proba, classes, y, ag, exam)
        pred = decide(proba, classes, threshold)
        labels = sorted(CLASS_NAMES)
        rep = classification_report(y, pred, labels=labels, target_names=[CLASS_NAMES[k] for k in labels],
                                    output_dict=True, zero_division=0)
        metrics["validation"] = {
            "scheme": f"out-of-fold, {k} folds by patient", "patients": int(len(ug)), "candidates": int(len(y)),
            "accuracy": round(float((pred == y).mean()), 4),
            "coronary_vs_other_accuracy": round(float(((pred > 0) == (y > 0)).mean()), 4),
            "f1": {k: round(v["f1-score"], 4) for k, v in rep.items() if k in CLASS_NAMES.values()},
            "confusion": confusion_matrix(y, pred, labels=labels).tolist(),
            "threshold": threshold,
            "exam_agreement_vs_reference_candidates": sweep[threshold],
            "threshold_sweep": {str(t): v for t, v in sweep.items()},
        }
    t1 = time.time()
    with threadpool_limits(1):
        clf = HistGradientBoostingClassifier(**params).fit(X, y, sample_weight=sw)
    fit_s = time.time() - t1
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / f"{name.replace('-', '_')}.joblib"
    LesionClassifier(clf, FEATURES, dict(CLASS_NAMES), {}, threshold=threshold).save(str(weights))
    config = {"seed": seed, "model": "sklearn HistGradientBoostingClassifier", "params": params, "features": FEATURES,
              "sample_weight": "1 + candidate Agatston", "coronary_threshold": threshold,
              "classes": CLASS_NAMES, "cases": [asdict(c) for c in cases], "skipped": skipped,
              "extract_seconds": round(extract_s, 1), "fit_seconds": round(fit_s, 2)}
    (out / f"{name}.config.json").write_text(json.dumps(config, indent=1) + "\n")
    entry = register_model(out, weights, name=name, task="calcium-lesions", trained_on=trained_on, command=command,
                           input={"features": FEATURES}, config={k: v for k, v in config.items() if k != "cases"},
                           metrics=metrics, created=time.strftime("%Y-%m-%d"))
    return {"entry": entry, "metrics": metrics, "config": config}


def _choose_threshold(proba: np.ndarray, classes: np.ndarray, y: np.ndarray, ag: np.ndarray,
                      exam: np.ndarray) -> tuple[float, dict[float, dict[str, float]]]:
    """P(coronary) cut that best reproduces each validation exam's coronary score.

    The reference of an exam is the sum of its candidates that truly are coronary
    (what a perfect classifier would count). Each cut is judged by the linearly
    weighted kappa of the risk categories plus the ICC of the totals; ties go to
    the cut nearest 0.5.
    """
    from .agreement import icc_2_1, weighted_kappa
    from .lesion_model import decide
    from .scoring import RISK_SCHEMES, risk_category

    cats = tuple(name for name, _ in RISK_SCHEMES["default"])
    ids, inv = np.unique(exam, return_inverse=True)
    ref = np.bincount(inv, weights=ag * (y > 0), minlength=len(ids))
    ref_cat = np.array([cats.index(risk_category(v)) for v in ref])
    sweep: dict[float, dict[str, float]] = {}
    best, best_key = 0.5, (-np.inf, 0.0)
    for t in np.round(np.arange(0.1, 0.91, 0.05), 2):
        pred = decide(proba, classes, float(t))
        tot = np.bincount(inv, weights=ag * (pred > 0), minlength=len(ids))
        cat = np.array([cats.index(risk_category(v)) for v in tot])
        k = float(weighted_kappa(ref_cat, cat, n_categories=len(cats)))
        try:
            icc = float(icc_2_1(np.column_stack([ref, tot])))
        except InputError:  # fewer than two validation exams (a user's first few labelled cases)
            icc = 0.0
        icc = icc if np.isfinite(icc) else 0.0
        sweep[float(t)] = {"kappa": round(k, 4), "icc": round(icc, 4)}
        key = (k + icc, -abs(float(t) - 0.5))
        if key > best_key:
            best, best_key = float(t), key
    return best, sweep


def _save_cache(path: str | os.PathLike, cases: list[Case], features: list[str], rows: list[dict[str, Any]]) -> None:
    """Extracted candidates (features, classes, scores per exam) for re-fitting without re-extracting."""
    data = {"features": json.dumps(features), "cases": json.dumps([c.case_id for c in cases])}
    for i, r in enumerate(rows):
        data[f"meta_{i}"] = json.dumps({k: r[k] for k in ("case", "group", "skipped") if k in r})
        if "X" in r:
            data[f"X_{i}"], data[f"y_{i}"], data[f"ag_{i}"] = r["X"], r["y"], r["agatston"]
    tmp = Path(str(path) + ".part.npz")
    np.savez_compressed(tmp, **data)
    os.replace(tmp, path)


def _load_cache(path: str | os.PathLike, cases: list[Case], features: list[str]) -> list[dict[str, Any]]:
    """Rows saved by :func:`_save_cache` when they belong to the same cases and features; else []."""
    if not Path(path).exists():
        return []
    with np.load(path) as z:
        if json.loads(str(z["features"])) != features or json.loads(str(z["cases"])) != [c.case_id for c in cases]:
            return []
        rows = []
        for i in range(len(cases)):
            r = json.loads(str(z[f"meta_{i}"]))
            if f"X_{i}" in z:
                r.update(X=z[f"X_{i}"], y=z[f"y_{i}"], agatston=z[f"ag_{i}"])
            rows.append(r)
    return rows
