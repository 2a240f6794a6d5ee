"""Evaluation of level predictions against a reference CSV (``hounsfield evaluate levels``).

Both CSVs have one row per ``exam_id`` with ``<LEVEL>_slice`` and/or
``<LEVEL>_z_mm`` columns (empty = absent). Errors in mm come from the z
columns when both files have them, else from slices times the thickness
(a ``thickness_mm`` column in either file, or ``--thickness``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import InputError
from .archive import LEVEL_NAMES
from .predict import read_csv

__all__ = ["LevelErrors", "compare", "summarise", "error_histograms"]


@dataclass(frozen=True)
class LevelErrors:
    """Per-exam signed errors (prediction minus reference) of one level."""

    level: str
    exam_ids: list[str]
    slices: np.ndarray     # float, NaN where not computable
    mm: np.ndarray         # float, NaN where not computable
    missed: list[str]      # reference present, prediction empty
    false: list[str]       # reference empty, prediction present
    both_absent: list[str]


def _num(s: str | None) -> float:
    if s is None or str(s).strip() == "":
        return float("nan")
    try:
        return float(s)
    except ValueError:
        return float("nan")


def compare(pred_csv: str | os.PathLike, truth_csv: str | os.PathLike, levels: Sequence[str] = LEVEL_NAMES,
            thickness_mm: float | None = None) -> dict[str, LevelErrors]:
    """Join on ``exam_id`` and compute errors per level; exams missing from the predictions count as missed."""
    pred = {r["exam_id"]: r for r in read_csv(pred_csv)}
    truth = read_csv(truth_csv)
    if not truth:
        raise InputError(f"{truth_csv}: no rows")
    if "exam_id" not in truth[0]:
        raise InputError(f"{truth_csv}: needs an 'exam_id' column")
    out = {}
    for lv in levels:
        ids, sl, mm, missed, false, both = [], [], [], [], [], []
        for t in truth:
            eid = t["exam_id"]
            p = pred.get(eid, {})
            ts, tz = _num(t.get(f"{lv}_slice")), _num(t.get(f"{lv}_z_mm"))
            ps, pz = _num(p.get(f"{lv}_slice")), _num(p.get(f"{lv}_z_mm"))
            t_present = np.isfinite(ts) or np.isfinite(tz)
            p_present = np.isfinite(ps) or np.isfinite(pz)
            if t_present and not p_present:
                missed.append(eid)
                continue
            if p_present and not t_present:
                false.append(eid)
                continue
            if not t_present:
                both.append(eid)
                continue
            th = thickness_mm or _num(t.get("thickness_mm")) or _num(p.get("thickness_mm"))
            e_sl = ps - ts
            if np.isfinite(pz) and np.isfinite(tz):
                e_mm = pz - tz
            elif np.isfinite(e_sl) and np.isfinite(th):
                e_mm = abs(e_sl * th) * np.sign(e_sl)
            else:
                e_mm = float("nan")
            if not np.isfinite(e_sl) and np.isfinite(e_mm) and np.isfinite(th) and th > 0:
                e_sl = e_mm / th
            ids.append(eid)
            sl.append(e_sl)
            mm.append(e_mm)
        out[lv] = LevelErrors(lv, ids, np.asarray(sl, float), np.asarray(mm, float), missed, false, both)
    return out


def summarise(errors: dict[str, LevelErrors]) -> dict[str, Any]:
    """Median, mean +- SD of absolute errors (slices and mm), share within 5 and 10 mm (misses count as outside)."""
    out: dict[str, Any] = {}
    for lv, e in errors.items():
        a_sl = np.abs(e.slices[np.isfinite(e.slices)])
        a_mm = np.abs(e.mm[np.isfinite(e.mm)])
        n_ref = len(e.exam_ids) + len(e.missed)
        out[lv] = {
            "n_reference_present": n_ref, "n_compared": len(e.exam_ids), "missed": len(e.missed),
            "false_detections": len(e.false), "both_absent": len(e.both_absent),
            "median_abs_slices": float(np.median(a_sl)) if len(a_sl) else None,
            "mean_abs_slices": float(np.mean(a_sl)) if len(a_sl) else None,
            "sd_abs_slices": float(np.std(a_sl)) if len(a_sl) else None,
            "median_abs_mm": float(np.median(a_mm)) if len(a_mm) else None,
            "mean_abs_mm": float(np.mean(a_mm)) if len(a_mm) else None,
            "sd_abs_mm": float(np.std(a_mm)) if len(a_mm) else None,
            "max_abs_mm": float(np.max(a_mm)) if len(a_mm) else None,
            "within_5mm": float(np.sum(a_mm <= 5) / n_ref) if n_ref else None,
            "within_10mm": float(np.sum(a_mm <= 10) / n_ref) if n_ref else None,
        }
    return out


def error_histograms(errors: dict[str, LevelErrors], folder: str | os.PathLike) -> list[Path]:
    """One PNG per level: histogram of signed errors in slices (like the published figures)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for lv, e in errors.items():
        x = e.slices[np.isfinite(e.slices)]
        fig, ax = plt.subplots(figsize=(5, 3.5))
        if len(x):
            lim = max(3, int(np.ceil(np.max(np.abs(x)))))
            ax.hist(x, bins=np.arange(-lim - 0.5, lim + 1.5, 1.0), color="tab:blue", edgecolor="black")
        ax.set_xlabel("error (slices, prediction - reference)")
        ax.set_ylabel("exams")
        ax.set_title(f"{lv}: n={len(x)}, median |error| {np.median(np.abs(x)) if len(x) else float('nan'):.2f} slices")
        fig.tight_layout()
        p = folder / f"errors_hist_{lv.lower()}.png"
        tmp = p.with_name(p.stem + ".part.png")
        fig.savefig(tmp, dpi=100)
        plt.close(fig)
        os.replace(tmp, p)
        paths.append(p)
    return paths
