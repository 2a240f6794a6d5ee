"""Binary and ordinal classification metrics with bootstrap confidence intervals.

Thin, tested wrappers around scikit-learn: AUROC with a percentile
bootstrap 95 % CI, the confusion-matrix metrics at a threshold (sensitivity,
specificity, PPV, NPV, balanced accuracy), Youden's threshold, weighted kappa
and calibration (Brier score, expected calibration error, calibration
intercept and slope, reliability bins).

Examples
--------
>>> y = np.array([0, 0, 1, 1]); p = np.array([0.1, 0.6, 0.4, 0.9])
>>> auroc(y, p)
0.75
>>> m = binary_metrics(y, p, 0.5)
>>> m["sensitivity"], m["specificity"], m["ppv"], m["npv"]
(0.5, 0.5, 0.5, 0.5)
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = ["auroc", "bootstrap_ci", "binary_metrics", "youden_threshold", "weighted_kappa", "calibration",
           "roc_curve_points"]


def auroc(y: Any, score: Any) -> float:
    """Area under the ROC curve (Mann-Whitney U with mid-ranks for ties); ``nan`` for a single class.

    Equal to scikit-learn's ``roc_auc_score`` and ~100x faster, which matters
    inside the bootstrap.

    >>> auroc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9])
    0.875
    """
    from scipy.stats import rankdata

    y = np.asarray(y).astype(bool).ravel()
    n1 = int(y.sum())
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(np.asarray(score, dtype=float).ravel())
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def bootstrap_ci(
    metric: Callable[..., float], *arrays: Any, n_boot: int = 1000, alpha: float = 0.05,
    seed: int = 0, groups: Any = None,
) -> tuple[float, float, float]:
    """Point estimate and percentile bootstrap ``(1 - alpha)`` CI of ``metric(*arrays)``.

    Samples (or whole ``groups``, e.g. patients, when given) are drawn with
    replacement ``n_boot`` times; draws where the metric is undefined (nan,
    e.g. one class only) are skipped.

    Returns
    -------
    (estimate, low, high)
    """
    arrays = tuple(np.asarray(a) for a in arrays)
    n = arrays[0].shape[0]
    estimate = float(metric(*arrays))
    rng = np.random.default_rng(seed)
    stats = []
    if groups is not None:
        groups = np.asarray(groups)
        uniq, inv = np.unique(groups, return_inverse=True)
        members = [np.flatnonzero(inv == g) for g in range(uniq.size)]
    for _ in range(n_boot):
        if groups is None:
            idx = rng.integers(0, n, n)
        else:
            pick = rng.integers(0, len(members), len(members))
            idx = np.concatenate([members[g] for g in pick])
        v = metric(*(a[idx] for a in arrays))
        if np.isfinite(v):
            stats.append(v)
    if not stats:
        return estimate, float("nan"), float("nan")
    lo, hi = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return estimate, float(lo), float(hi)


def _div(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


def binary_metrics(y: Any, p: Any, threshold: float = 0.5) -> dict[str, float]:
    """Confusion-matrix metrics of ``p >= threshold`` against binary ``y``."""
    y = np.asarray(y).astype(bool)
    pred = np.asarray(p, dtype=float) >= threshold
    tp = int(np.sum(pred & y)); tn = int(np.sum(~pred & ~y))
    fp = int(np.sum(pred & ~y)); fn = int(np.sum(~pred & y))
    sens, spec = _div(tp, tp + fn), _div(tn, tn + fp)
    return {"threshold": float(threshold), "tp": tp, "fp": fp, "tn": tn, "fn": fn,
            "sensitivity": sens, "specificity": spec, "ppv": _div(tp, tp + fp), "npv": _div(tn, tn + fn),
            "balanced_accuracy": float(np.nanmean([sens, spec])) if np.isfinite([sens, spec]).any() else float("nan"),
            "accuracy": _div(tp + tn, y.size)}


def youden_threshold(y: Any, p: Any) -> float:
    """Threshold maximising sensitivity + specificity - 1 (0.5 when undefined).

    >>> youden_threshold([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.8])
    0.7
    """
    from sklearn.metrics import roc_curve

    y = np.asarray(y).astype(int)
    if np.unique(y).size < 2:
        return 0.5
    fpr, tpr, thr = roc_curve(y, np.asarray(p, dtype=float))
    j = tpr - fpr
    best = int(np.argmax(j))
    return float(min(thr[best], 1.0)) if np.isfinite(thr[best]) else 0.5


def roc_curve_points(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate) of the ROC curve."""
    from sklearn.metrics import roc_curve

    y = np.asarray(y).astype(int)
    if np.unique(y).size < 2:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    fpr, tpr, _ = roc_curve(y, np.asarray(p, dtype=float))
    return fpr, tpr


def weighted_kappa(a: Any, b: Any, weights: str = "linear", labels: Any = None) -> float:
    """Cohen's weighted kappa between two ordinal ratings (``nan`` if undefined).

    >>> weighted_kappa([0, 1, 2, 3], [0, 1, 2, 3])
    1.0
    """
    from sklearn.metrics import cohen_kappa_score

    a = np.asarray(a); b = np.asarray(b)
    if a.size == 0:
        return float("nan")
    if np.unique(np.concatenate([a, b])).size < 2:
        return 1.0 if np.array_equal(a, b) else float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        k = cohen_kappa_score(a, b, weights=weights, labels=labels)
    return float(k)


def calibration(y: Any, p: Any, n_bins: int = 10) -> dict[str, Any]:
    """Brier score, expected calibration error, logistic calibration intercept/slope, reliability bins.

    Bins are equal-width on ``[0, 1]``; ECE is the count-weighted mean
    ``|observed - predicted|`` over non-empty bins. The intercept and slope
    come from a logistic regression of ``y`` on ``logit(p)`` (ideal: 0 and 1).
    """
    y = np.asarray(y).astype(float)
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    out: dict[str, Any] = {"brier": float(np.mean((p - y) ** 2)) if y.size else float("nan")}
    idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    pred_sum = np.bincount(idx, weights=p, minlength=n_bins)
    obs_sum = np.bincount(idx, weights=y, minlength=n_bins)
    nz = count > 0
    mean_pred = np.divide(pred_sum, count, out=np.full(n_bins, np.nan), where=nz)
    mean_obs = np.divide(obs_sum, count, out=np.full(n_bins, np.nan), where=nz)
    out["ece"] = float(np.sum(count[nz] * np.abs(mean_obs[nz] - mean_pred[nz])) / max(y.size, 1))
    out["bins"] = [{"low": i / n_bins, "high": (i + 1) / n_bins, "n": int(count[i]),
                    "mean_predicted": None if not nz[i] else float(mean_pred[i]),
                    "observed": None if not nz[i] else float(mean_obs[i])} for i in range(n_bins)]
    out["intercept"], out["slope"] = float("nan"), float("nan")
    if np.unique(y).size == 2:
        from sklearn.linear_model import LogisticRegression

        logit = np.log(p / (1 - p)).reshape(-1, 1)
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(logit, y.astype(int))
        out["intercept"], out["slope"] = float(lr.intercept_[0]), float(lr.coef_[0, 0])
    return out
