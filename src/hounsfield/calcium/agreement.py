"""Agreement between two sets of calcium scores (e.g. fake-gated non-gated vs gated).

ICC(2,1) (two-way random effects, absolute agreement, single measurement;
Shrout & Fleiss 1979, McGraw & Wong's ICC(A,1)), Spearman's rho, Bland-Altman
bias and 95 % limits of agreement, linearly weighted Cohen's kappa of the risk
categories (scikit-learn) and their confusion matrix, each with a percentile
bootstrap 95 % confidence interval over patients.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import InputError
from .scoring import RISK_SCHEMES, risk_category

__all__ = ["Agreement", "agreement", "bland_altman", "bland_altman_plot", "icc_2_1", "read_scores_csv",
           "weighted_kappa"]


def icc_2_1(ratings: np.ndarray) -> float:
    """ICC(2,1): two-way random effects, absolute agreement, single rater.

    ``ratings`` is ``(n_subjects, k_raters)``.

    >>> sf = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
    >>> round(icc_2_1(sf), 2)  # Shrout & Fleiss (1979), table 4
    0.29
    """
    x = np.asarray(ratings, np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise InputError("ICC needs at least 2 subjects rated by at least 2 raters")
    n, k = x.shape
    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_err = ((x - grand) ** 2).sum() - ss_rows - ss_cols
    msr = ss_rows / (n - 1)
    msc = ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    den = msr + (k - 1) * mse + k * (msc - mse) / n
    return float((msr - mse) / den) if den > 0 else float("nan")


def weighted_kappa(a: Sequence[int], b: Sequence[int], n_categories: int) -> float:
    """Linearly weighted Cohen's kappa over categories ``0 .. n_categories-1``.

    Same formula as scikit-learn's ``cohen_kappa_score(weights="linear")`` (the
    tests check they agree), computed with one ``np.bincount`` so that
    thousands of bootstrap replicates stay fast.
    """
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    if np.array_equal(a, b):
        return 1.0
    m = n_categories
    conf = np.bincount(a * m + b, minlength=m * m).reshape(m, m).astype(np.float64)
    expected = np.outer(conf.sum(axis=1), conf.sum(axis=0)) / conf.sum()
    w = np.abs(np.arange(m)[:, None] - np.arange(m)[None, :]).astype(np.float64)
    den = (w * expected).sum()
    return float(1.0 - (w * conf).sum() / den) if den > 0 else float("nan")


def bland_altman(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """(bias, lower, upper): mean of ``b - a`` and +- 1.96 SD (sample SD, ddof=1)."""
    d = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    bias = float(d.mean())
    sd = float(d.std(ddof=1)) if d.size > 1 else 0.0
    return bias, bias - 1.96 * sd, bias + 1.96 * sd


@dataclass(frozen=True)
class Agreement:
    n: int
    icc: float
    spearman: float
    bias: float
    loa_lower: float
    loa_upper: float
    kappa: float
    confusion: list[list[int]]  # rows: reference (gated) category, columns: compared (non-gated)
    categories: list[str]
    category_agreement: float
    ci95: dict[str, tuple[float, float]] = field(default_factory=dict)
    n_bootstrap: int = 0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ci95"] = {k: list(v) for k, v in self.ci95.items()}
        return d


def _stats(a: np.ndarray, b: np.ndarray, ca: np.ndarray, cb: np.ndarray, ncat: int) -> dict[str, float]:
    from scipy.stats import spearmanr

    bias, lo, hi = bland_altman(a, b)
    rho = spearmanr(a, b).statistic if np.ptp(a) > 0 and np.ptp(b) > 0 else float("nan")
    return {"icc": icc_2_1(np.column_stack([a, b])), "spearman": float(rho), "bias": bias, "loa_lower": lo,
            "loa_upper": hi, "kappa": weighted_kappa(ca, cb, ncat), "category_agreement": float(np.mean(ca == cb))}


def agreement(reference: Sequence[float], compared: Sequence[float], *, scheme: str = "default",
              n_bootstrap: int = 2000, seed: int = 0) -> Agreement:
    """Agreement of ``compared`` (e.g. non-gated) with ``reference`` (e.g. gated) Agatston scores."""
    a = np.asarray(reference, np.float64)
    b = np.asarray(compared, np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise InputError("the two score lists must have the same length")
    if a.size < 3:
        raise InputError("agreement needs at least 3 patients")
    labels = [lab for lab, _ in RISK_SCHEMES[scheme]]
    ca = np.array([labels.index(risk_category(s, scheme)) for s in a])
    cb = np.array([labels.index(risk_category(s, scheme)) for s in b])
    point = _stats(a, b, ca, cb, len(labels))
    from sklearn.metrics import confusion_matrix

    conf = confusion_matrix(ca, cb, labels=list(range(len(labels)))).tolist()
    ci: dict[str, tuple[float, float]] = {}
    if n_bootstrap > 0:
        rng = np.random.default_rng(seed)
        reps: dict[str, list[float]] = {k: [] for k in point}
        for _ in range(n_bootstrap):
            idx = rng.integers(0, a.size, a.size)
            for k, v in _stats(a[idx], b[idx], ca[idx], cb[idx], len(labels)).items():
                reps[k].append(v)
        for k, v in reps.items():
            arr = np.asarray(v, np.float64)
            arr = arr[np.isfinite(arr)]
            ci[k] = (float(np.percentile(arr, 2.5)), float(np.percentile(arr, 97.5))) if arr.size else (np.nan, np.nan)
    return Agreement(n=int(a.size), confusion=conf, categories=labels, ci95=ci, n_bootstrap=n_bootstrap, seed=seed,
                     **point)


def bland_altman_plot(reference: Sequence[float], compared: Sequence[float], path: str | os.PathLike, *,
                      title: str = "Bland-Altman: non-gated - gated Agatston", labels: tuple[str, str] = ("gated", "non-gated")) -> Path:
    """Write a Bland-Altman PNG (difference against mean, bias and 95 % limits)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = np.asarray(reference, np.float64)
    b = np.asarray(compared, np.float64)
    bias, lo, hi = bland_altman(a, b)
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=110)
    ax.scatter((a + b) / 2, b - a, s=12, alpha=0.7)
    for y, style, name in ((bias, "-", f"bias {bias:.1f}"), (lo, "--", f"-1.96 SD {lo:.1f}"), (hi, "--", f"+1.96 SD {hi:.1f}")):
        ax.axhline(y, linestyle=style, color="k", linewidth=1)
        ax.annotate(name, (1.0, y), xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=8)
    ax.set_xlabel(f"mean of {labels[0]} and {labels[1]} (Agatston)")
    ax.set_ylabel(f"{labels[1]} - {labels[0]} (Agatston)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def read_scores_csv(path: str | os.PathLike, column: str = "agatston") -> dict[str, float]:
    """``{patient id: score}`` from a CSV with a ``patient_id`` (or ``id``, ``input``) column."""
    import csv

    path = Path(path)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise InputError(f"{path}: no rows")
    keys = rows[0].keys()
    if column not in keys:
        raise InputError(f"{path}: no '{column}' column (columns: {', '.join(keys)})")
    idcol = next((c for c in ("patient_id", "id", "patient", "input") if c in keys), None)
    if idcol is None:
        raise InputError(f"{path}: needs a patient_id column to pair patients")
    out: dict[str, float] = {}
    for r in rows:
        pid = r[idcol] if idcol != "input" else Path(r[idcol]).name.split(".")[0]
        try:
            out[pid] = float(r[column])
        except ValueError:
            raise InputError(f"{path}: '{r[column]}' in column {column} is not a number") from None
    return out
