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

from typing import Any

import numpy as np

from ..metrics.classification import auroc, binary_metrics, bootstrap_ci, calibration, weighted_kappa
from .data import THRESHOLDS, cac_category, log_cac

__all__ = ["evaluate_predictions"]


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
