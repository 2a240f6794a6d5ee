"""Metrics of CXR calcium predictions (per fold and pooled).

For ``CAC > 0`` (and ``>= 100``, ``>= 400`` when both classes occur): AUROC
with a patient-level bootstrap 95 % CI; at the decision threshold chosen on
the inner validation split: sensitivity, specificity, PPV, NPV, balanced
accuracy; linear and quadratic weighted kappa of the four categories
(0, 1-99, 100-399, >= 400); calibration of ``P(CAC > 0)``; for regression
(and, on the expected score, for classification) Spearman correlation and
MAE on ``log(CAC + 1)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics.classification import auroc, binary_metrics, bootstrap_ci, calibration, weighted_kappa
from .data import THRESHOLDS, cac_category, log_cac

__all__ = ["evaluate_predictions", "evaluate_prediction_csv", "read_prediction_csv"]


def _score_for(pred: dict[str, np.ndarray], i: int) -> np.ndarray:
    keys = ("p_cac_gt0", "p_cac_ge100", "p_cac_ge400")
    if keys[i] in pred:
        return np.asarray(pred[keys[i]], float)
    return np.asarray(pred.get("z", pred["p_cac_gt0"]), float)


def evaluate_predictions(
    cac: Any, pred: dict[str, Any], threshold: float = 0.5, groups: Any = None, n_boot: int = 1000, seed: int = 0,
) -> dict[str, Any]:
    """All metrics of one set of predictions.

    Parameters
    ----------
    cac
        True CAC scores.
    pred
        Output of :meth:`CXRModel.interpret` (``p_cac_gt0``, ``category``, and
        ``p_cac_ge100``/``p_cac_ge400`` or ``z``/``log_cac``).
    threshold
        Decision threshold on ``P(CAC > 0)``.
    groups
        Patient IDs (bootstrap resamples patients).
    """
    cac = np.asarray(cac, float)
    out: dict[str, Any] = {"n": int(cac.size), "n_cac_gt0": int(np.sum(cac > 0))}
    names = ("cac_gt0", "cac_ge100", "cac_ge400")
    for i, name in enumerate(names):
        y = (cac > 0) if i == 0 else (cac >= THRESHOLDS[i])
        s = _score_for(pred, i)
        if np.unique(y).size < 2:
            out[f"auroc_{name}"] = {"value": float("nan"), "ci95": [float("nan"), float("nan")],
                                    "note": "one class only"}
            continue
        est, lo, hi = bootstrap_ci(auroc, y.astype(int), s, n_boot=n_boot, seed=seed, groups=groups)
        out[f"auroc_{name}"] = {"value": est, "ci95": [lo, hi], "n_positive": int(y.sum())}
    p0 = np.asarray(pred["p_cac_gt0"], float)
    out["cac_gt0_at_threshold"] = binary_metrics(cac > 0, p0, threshold)
    true_cat = cac_category(cac)
    pred_cat = np.asarray(pred["category"], int)
    out["kappa_linear"] = weighted_kappa(true_cat, pred_cat, "linear", labels=[0, 1, 2, 3])
    out["kappa_quadratic"] = weighted_kappa(true_cat, pred_cat, "quadratic", labels=[0, 1, 2, 3])
    from sklearn.metrics import confusion_matrix

    out["confusion_categories"] = confusion_matrix(true_cat, pred_cat, labels=[0, 1, 2, 3]).tolist()
    out["calibration_p_cac_gt0"] = calibration(cac > 0, p0)
    from scipy.stats import spearmanr

    if "log_cac" in pred:
        est_log = np.asarray(pred["log_cac"], float)
        out["mae_log_cac"] = float(np.mean(np.abs(est_log - log_cac(cac))))
        ranked = est_log
    else:
        ranked = p0 + np.asarray(pred.get("p_cac_ge100", 0.0)) + np.asarray(pred.get("p_cac_ge400", 0.0))
    if np.unique(cac).size > 1 and np.unique(ranked).size > 1:
        out["spearman"] = float(spearmanr(ranked, cac).statistic)
    else:
        out["spearman"] = float("nan")
    return out


def read_prediction_csv(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a ``hounsfield cxr --csv`` file (at least ``image`` and ``p_cac_gt0``). Relative image paths are
    as ``hounsfield cxr`` was given them: resolved against the working folder, else against the CSV's folder."""
    from ..errors import InputError

    from ..io.sidecar import read_csv_rows

    path = Path(path)
    rows = read_csv_rows(path, "predictions")
    if not rows or not {"image", "p_cac_gt0"} <= set(rows[0]):
        raise InputError(f"{path}: needs the columns image and p_cac_gt0 (the CSV of 'hounsfield cxr --csv')")
    # rows of images that were not scored (status skipped or error, no probability) are left out: their labels
    # count as labels without a prediction
    numbered = [(n, r) for n, r in enumerate(rows, start=2)
                if not (r.get("status") in ("skipped", "error") and not (r.get("p_cac_gt0") or "").strip())]
    rows = [r for _, r in numbered]
    for n, r in numbered:
        try:
            r["p_cac_gt0"] = float(r["p_cac_gt0"])
        except ValueError:
            raise InputError(f"{path}: line {n}: p_cac_gt0 '{r['p_cac_gt0']}' is not a number") from None
        if not 0.0 <= r["p_cac_gt0"] <= 1.0:
            raise InputError(f"{path}: line {n}: p_cac_gt0 {r['p_cac_gt0']} is not a probability")
        img = Path(r["image"])
        if not img.is_absolute():  # as 'hounsfield cxr' was given it: relative to where it ran, or to the CSV
            img = next((c for c in (Path.cwd() / img, path.parent / img) if c.exists()), Path.cwd() / img)
        r["image"] = str(img.resolve())
    return rows


def _num(rows: list[dict[str, Any]], key: str) -> np.ndarray | None:
    """The column as floats, or None when it is absent or has an empty cell."""
    if any(r.get(key) in (None, "") for r in rows):
        return None
    return np.array([float(r[key]) for r in rows])


def _groups(values: list[Any]) -> list[str]:
    """Subgroup labels: the values themselves, or numeric tertiles ("lo-hi") when there are more than 8."""
    nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)]
    if len(nums) == len(values) and len(set(nums)) > 8:
        a = np.asarray(nums, float)
        edges = np.quantile(a, [0, 1 / 3, 2 / 3, 1])
        k = np.clip(np.searchsorted(edges[1:-1], a, side="right"), 0, 2)
        return [f"{edges[i]:.4g}-{edges[i + 1]:.4g}" for i in k]
    return ["" if v is None else str(v) for v in values]


def evaluate_prediction_csv(pred_csv: str | os.PathLike, labels_csv: str | os.PathLike, *, threshold: float | None = None,
                            n_boot: int = 1000, seed: int = 0, by: str | None = None) -> dict[str, Any]:
    """Metrics of the predictions of ``hounsfield cxr`` against a labels CSV (held-out test set).

    Rows are matched by image file (resolved paths, then file names when these are unique). The decision
    threshold is the one the model wrote (its ``threshold`` column, chosen on its validation split) unless
    ``threshold`` is given; 0.5 when neither. Labels without a prediction and predictions without a label
    are counted and listed (first ten); metrics use the matched images. ``by``: a column of the labels CSV (e.g.
    ``sex``; numeric columns with many values are cut into tertiles) for AUROC, sensitivity and specificity within
    each subgroup (does the model rank CAC within a group, or only tell the groups apart?)."""
    from ..errors import InputError
    from .data import read_labels_csv

    preds = read_prediction_csv(pred_csv)
    labels = read_labels_csv(labels_csv)
    by_path = {str(Path(r.image).resolve()): r for r in labels}
    names = [Path(r.image).name for r in labels]
    by_name = {Path(r.image).name: r for r in labels} if len(set(names)) == len(names) else {}
    matched, unlabelled = [], []
    for row in preds:
        rec = by_path.get(row["image"]) or by_name.get(Path(row["image"]).name)
        (matched if rec is not None else unlabelled).append((row, rec))
    if not matched:
        raise InputError(f"{pred_csv}: none of its {len(preds)} images is in {labels_csv}")
    seen = {id(rec) for _, rec in matched}
    if len(seen) < len(matched):
        raise InputError(f"{pred_csv}: some images are predicted more than once")
    rows = [r for r, _ in matched]
    recs = [rec for _, rec in matched]
    if threshold is None:
        col = _num(rows, "threshold")
        threshold = float(col[0]) if col is not None and np.unique(col).size == 1 else 0.5
    pred: dict[str, Any] = {"p_cac_gt0": np.array([r["p_cac_gt0"] for r in rows])}
    cat = _num(rows, "category")
    pred["category"] = cat.astype(int) if cat is not None else (pred["p_cac_gt0"] >= threshold).astype(int)
    for key in ("p_cac_ge100", "p_cac_ge400"):
        col = _num(rows, key)
        if col is not None:
            pred[key] = col
    score = _num(rows, "score")
    if score is not None and "p_cac_ge100" not in pred:  # regression: the estimated score ranks the thresholds
        pred["log_cac"] = log_cac(score)
        pred["z"] = pred["log_cac"]
    out = evaluate_predictions([r.cac for r in recs], pred, threshold=threshold,
                               groups=[r.patient_id for r in recs], n_boot=n_boot, seed=seed)
    out.update({"threshold": threshold, "predictions": str(pred_csv), "labels": str(labels_csv),
                "n_predictions": len(preds), "n_labels": len(labels),
                "unlabelled_predictions": [r["image"] for r, _ in unlabelled][:10],
                "n_unlabelled_predictions": len(unlabelled),
                "n_labels_without_prediction": len(labels) - len(seen),
                "labels_without_prediction": [r.image for r in labels if id(r) not in seen][:10]})
    if by:
        if any(by not in r.extra for r in recs):
            raise InputError(f"{labels_csv}: no column '{by}' for every image (columns: {', '.join(sorted(recs[0].extra))})")
        labels_by = _groups([r.extra[by] for r in recs])
        cac = np.array([r.cac for r in recs], float)
        p0 = pred["p_cac_gt0"]
        groups: dict[str, Any] = {}
        for g in sorted(set(labels_by)):
            m = np.array([x == g for x in labels_by])
            y = cac[m] > 0
            row: dict[str, Any] = {"n": int(m.sum()), "n_cac_gt0": int(y.sum())}
            if np.unique(y).size == 2:
                est, lo, hi = bootstrap_ci(auroc, y.astype(int), p0[m], n_boot=n_boot, seed=seed,
                                           groups=[r.patient_id for r, k in zip(recs, m) if k])
                row["auroc_cac_gt0"] = {"value": est, "ci95": [lo, hi]}
            else:
                row["auroc_cac_gt0"] = {"value": float("nan"), "ci95": [float("nan")] * 2, "note": "one class only"}
            b = binary_metrics(y, p0[m], threshold)
            row.update({"sensitivity": b["sensitivity"], "specificity": b["specificity"]})
            groups[g] = row
        out["by"] = {"column": by, "groups": groups}
    models = sorted({r.get("model", "") for r in rows} - {""})
    if models:
        out["model"] = models[0] if len(models) == 1 else models
    return out
