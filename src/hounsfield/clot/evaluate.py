"""Testing module: per-patient and cohort metrics of predicted clot masks.

Per patient (3-D masks on the reference grid, the prediction resampled onto
it by nearest neighbour if needed): Dice, HD95 (mm) and surface Dice at a
stated tolerance (mm), computed with MONAI; clot volume and length of both
masks (:func:`hounsfield.clot.measure.measure_clot`).

Empty masks, documented:
    * truth and prediction empty: Dice 1, surface Dice 1, HD95 ``None``
      (undefined), a true negative;
    * truth empty, prediction not: Dice 0, surface Dice 0, HD95 ``None``,
      a false positive;
    * truth present, prediction empty: Dice 0, surface Dice 0, HD95 ``None``,
      a missed clot (false negative).

Cohort: mean/median Dice (over patients with a clot, and over all), HD95 and
surface Dice; volume and length agreement between prediction and truth
(Pearson r, ICC(2,1) absolute agreement, Bland-Altman bias and 95 % limits)
over patients with a clot in both; missed-clot rate (patients with a clot
where the prediction does not touch it); patient-level detection
sensitivity (prediction non-empty | clot) and specificity (prediction empty |
no clot).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..errors import InputError
from ..volume import Volume
from .measure import measure_clot

__all__ = ["case_metrics", "summarise", "find_masks", "evaluate_dirs", "icc_a1", "bland_altman"]


def _crop_pair(p: np.ndarray, t: np.ndarray, margin: int = 4) -> tuple[np.ndarray, np.ndarray]:
    both = p | t
    if not both.any():
        return p[:1, :1, :1], t[:1, :1, :1]
    idx = np.argwhere(both)
    lo = np.maximum(idx.min(0) - margin, 0)
    hi = idx.max(0) + margin + 1
    sl = tuple(slice(a, b) for a, b in zip(lo, hi))
    return p[sl], t[sl]


def case_metrics(pred: Volume, truth: Volume, tolerance_mm: float = 1.0) -> dict[str, Any]:
    """Metrics of one patient (see the module docstring for empty masks)."""
    import torch
    from monai.metrics import compute_dice, compute_hausdorff_distance, compute_surface_dice

    if pred.shape != truth.shape or not np.allclose(pred.affine, truth.affine, atol=1e-4):
        pred = pred.resample_like(truth, order=0, fill=0)
    p_full, t_full = pred.array > 0, truth.array > 0
    p, t = _crop_pair(p_full, t_full)
    spacing = list(truth.spacing)
    np_, nt = bool(p.any()), bool(t.any())

    def onehot(a: np.ndarray) -> Any:
        x = torch.from_numpy(a.astype(np.float32))[None, None]
        return torch.cat([1 - x, x], dim=1)

    import warnings

    warnings.filterwarnings("ignore", message=".*always_return_as_numpy.*", category=FutureWarning)
    dice = float(compute_dice(onehot(p), onehot(t), include_background=False, ignore_empty=False)[0, 0])
    hd95 = sd = None
    if np_ and nt:
        hd95 = float(compute_hausdorff_distance(onehot(p), onehot(t), percentile=95, spacing=spacing)[0, 0])
        sd = float(compute_surface_dice(onehot(p), onehot(t), class_thresholds=[tolerance_mm], spacing=spacing)[0, 0])
    else:
        sd = 1.0 if not (np_ or nt) else 0.0
    mp, mt = measure_clot(pred.with_array(p_full.astype(np.uint8))), measure_clot(truth.with_array(t_full.astype(np.uint8)))
    return {"dice": dice, "hd95_mm": hd95, "surface_dice": sd, "tolerance_mm": tolerance_mm,
            "truth_positive": nt, "pred_positive": np_, "hit": bool(np.logical_and(p, t).any()),
            "volume_truth_mm3": mt["volume_mm3"], "volume_pred_mm3": mp["volume_mm3"],
            "length_truth_mm": mt["length_mm"], "length_pred_mm": mp["length_mm"]}


def icc_a1(a: Iterable[float], b: Iterable[float]) -> float:
    """ICC(2,1), two-way random effects, absolute agreement, single measures (Shrout & Fleiss).

    >>> round(icc_a1([1, 2, 3, 4], [1, 2, 3, 4]), 6)
    1.0
    """
    x = np.column_stack([np.asarray(list(a), float), np.asarray(list(b), float)])
    n, k = x.shape
    if n < 2:
        return float("nan")
    gm = x.mean()
    ssr = k * ((x.mean(1) - gm) ** 2).sum()
    ssc = n * ((x.mean(0) - gm) ** 2).sum()
    sse = ((x - gm) ** 2).sum() - ssr - ssc
    msr, msc, mse = ssr / (n - 1), ssc / (k - 1), sse / ((n - 1) * (k - 1))
    den = msr + (k - 1) * mse + k * (msc - mse) / n
    return float((msr - mse) / den) if den > 0 else float("nan")


def bland_altman(pred: Iterable[float], truth: Iterable[float]) -> dict[str, float]:
    """Bias (mean of pred - truth) and 95 % limits of agreement."""
    d = np.asarray(list(pred), float) - np.asarray(list(truth), float)
    if len(d) == 0:
        return {"bias": float("nan"), "loa_low": float("nan"), "loa_high": float("nan")}
    sd = float(d.std(ddof=1)) if len(d) > 1 else 0.0
    bias = float(d.mean())
    return {"bias": bias, "loa_low": bias - 1.96 * sd, "loa_high": bias + 1.96 * sd}


def _agreement(pred: list[float], truth: list[float]) -> dict[str, Any]:
    from scipy.stats import pearsonr

    r = float(pearsonr(pred, truth)[0]) if len(pred) > 2 and np.std(pred) > 0 and np.std(truth) > 0 else float("nan")
    return {"n": len(pred), "pearson_r": r, "icc_a1": icc_a1(pred, truth), "bland_altman": bland_altman(pred, truth)}


def summarise(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Cohort metrics over per-patient rows from :func:`case_metrics`."""
    pos = [r for r in rows.values() if r["truth_positive"]]
    neg = [r for r in rows.values() if not r["truth_positive"]]

    def stats(vals: list[float]) -> dict[str, Any]:
        v = [x for x in vals if x is not None]
        if not v:
            return {"n": 0, "mean": None, "median": None, "min": None}
        return {"n": len(v), "mean": float(np.mean(v)), "median": float(np.median(v)), "min": float(np.min(v))}

    both = [r for r in pos if r["pred_positive"]]
    return _no_nan({
        "n_patients": len(rows), "n_with_clot": len(pos), "n_without_clot": len(neg),
        "dice_with_clot": stats([r["dice"] for r in pos]), "dice_all": stats([r["dice"] for r in rows.values()]),
        "hd95_mm": stats([r["hd95_mm"] for r in pos]), "surface_dice": stats([r["surface_dice"] for r in pos]),
        "surface_dice_tolerance_mm": next(iter(rows.values()))["tolerance_mm"] if rows else None,
        "volume_agreement": _agreement([r["volume_pred_mm3"] for r in both], [r["volume_truth_mm3"] for r in both]),
        "length_agreement": _agreement([r["length_pred_mm"] for r in both], [r["length_truth_mm"] for r in both]),
        "missed_clot_rate": (sum(not r["hit"] for r in pos) / len(pos)) if pos else None,
        "sensitivity": (sum(r["pred_positive"] for r in pos) / len(pos)) if pos else None,
        "specificity": (sum(not r["pred_positive"] for r in neg) / len(neg)) if neg else None,
    })


def _no_nan(x: Any) -> Any:
    """NaN (undefined, e.g. a correlation of fewer than 3 patients) becomes ``None`` (JSON null)."""
    if isinstance(x, dict):
        return {k: _no_nan(v) for k, v in x.items()}
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def find_masks(folder: str | Path) -> dict[str, Path]:
    """Masks in a folder, by case id: ``<case>.nii.gz``, ``<case>/clot.nii.gz``, ``labelsTr/<case>.nii.gz``
    or ``DL_seg_files/binary/<case>_seg_corrected_binary.npy``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder")
    out: dict[str, Path] = {}
    if (folder / "labelsTr").is_dir():
        folder = folder / "labelsTr"
    pub = folder / "DL_seg_files" / "binary"
    if pub.is_dir():
        for f in pub.glob("*_seg_corrected_binary.npy"):
            out[f.name[: -len("_seg_corrected_binary.npy")]] = f
        return out
    for f in folder.glob("*.nii.gz"):
        out[f.name[: -len(".nii.gz")]] = f
    for d in folder.iterdir():
        if d.is_dir() and (d / "clot.nii.gz").exists():
            out[d.name] = d / "clot.nii.gz"
    return out


def _read_mask(path: Path, like: Volume | None = None) -> Volume:
    from ..io import read

    if path.suffix == ".npy":
        arr = np.load(path, allow_pickle=False)
        aff = like.affine if like is not None and like.shape == arr.shape else np.eye(4)
        return Volume((arr > 0).astype(np.uint8), aff)
    v = read(path)
    return v.with_array((v.array > 0).astype(np.uint8))


def evaluate_dirs(pred_dir: str | Path, truth_dir: str | Path, tolerance_mm: float = 1.0,
                  progress: Any = None) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Pair masks by case id, compute :func:`case_metrics` and :func:`summarise`.

    Cases present on only one side are reported in the summary (``missing_predictions``,
    ``unmatched_predictions``) and left out of the metrics.
    """
    preds, truths = find_masks(pred_dir), find_masks(truth_dir)
    common = sorted(set(preds) & set(truths))
    if not common:
        raise InputError(f"no case ids in common between {pred_dir} ({len(preds)} masks) and {truth_dir} ({len(truths)} masks)")
    rows = {}
    for i, cid in enumerate(common):
        truth = _read_mask(truths[cid])
        rows[cid] = case_metrics(_read_mask(preds[cid], like=truth), truth, tolerance_mm)
        if progress:
            progress(i + 1, len(common))
    summary = summarise(rows)
    summary["missing_predictions"] = sorted(set(truths) - set(preds))
    summary["unmatched_predictions"] = sorted(set(preds) - set(truths))
    return rows, summary
