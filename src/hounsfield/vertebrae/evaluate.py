"""Vertebra identification and localisation metrics (the VerSe rules).

Identification (VerSe): a reference vertebra is identified when the
prediction *closest* to it carries the same label and lies within 20 mm.
Localisation error: distance between a reference vertebra and the prediction
with the same label (when there is one), in mm; summarised as mean, median
and per region (cervical, thoracic, lumbar, sacral).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..errors import InputError
from .formats import Centroid, body_centroids, label_name, read_centroids, region_of, totalseg_to_verse

__all__ = ["VertebraRow", "ScanResult", "evaluate_scan", "summarise", "load_case_dir", "format_table"]


@dataclass(frozen=True)
class VertebraRow:
    """One reference vertebra against the predictions."""

    label: int
    reference: tuple[float, float, float]
    predicted: tuple[float, float, float] | None  # same-label prediction
    error_mm: float | None  # distance to the same-label prediction
    closest_label: int | None
    closest_mm: float | None
    identified: bool

    def to_dict(self) -> dict[str, Any]:
        r = lambda v: None if v is None else [round(float(x), 1) for x in v]  # noqa: E731
        return {"label": label_name(self.label), "predicted": r(self.predicted), "reference": r(self.reference),
                "error_mm": None if self.error_mm is None else round(self.error_mm, 2),
                "closest": None if self.closest_label is None else label_name(self.closest_label),
                "identified": self.identified}


@dataclass(frozen=True)
class ScanResult:
    case: str
    rows: list[VertebraRow]
    n_predicted: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def identification_rate(self) -> float:
        return float(np.mean([r.identified for r in self.rows])) if self.rows else float("nan")

    @property
    def mean_error_mm(self) -> float:
        e = [r.error_mm for r in self.rows if r.error_mm is not None]
        return float(np.mean(e)) if e else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.case, "identification_rate": round(self.identification_rate, 4),
                "mean_error_mm": round(self.mean_error_mm, 2), "n_reference": len(self.rows),
                "n_predicted": self.n_predicted, "vertebrae": [r.to_dict() for r in self.rows], **self.extra}


def evaluate_scan(pred: Iterable[Centroid], ref: Iterable[Centroid], case: str = "", radius_mm: float = 20.0,
                  labels: set[int] | None = None) -> ScanResult:
    """Compare predictions with reference centroids (world mm) of one scan.

    ``labels`` restricts the reference to those VerSe labels (e.g. S1..T12).
    """
    pred = list(pred)
    ref = [c for c in ref if labels is None or c.label in labels]
    P = np.array([c.xyz for c in pred]) if pred else np.zeros((0, 3))
    by_label = {c.label: np.asarray(c.xyz) for c in pred}
    rows = []
    for c in ref:
        r = np.asarray(c.xyz)
        closest_label = closest = None
        if len(P):
            d = np.linalg.norm(P - r, axis=1)
            j = int(np.argmin(d))
            closest_label, closest = pred[j].label, float(d[j])
        same = by_label.get(c.label)
        err = None if same is None else float(np.linalg.norm(same - r))
        ident = closest_label == c.label and closest is not None and closest <= radius_mm
        rows.append(VertebraRow(c.label, tuple(c.xyz), None if same is None else tuple(same.tolist()),  # type: ignore[arg-type]
                                err, closest_label, closest, bool(ident)))
    return ScanResult(case, rows, len(pred))


def summarise(results: list[ScanResult]) -> dict[str, Any]:
    """Pooled identification rate and localisation errors (over all reference vertebrae)."""
    rows = [r for s in results for r in s.rows]
    errs = np.array([r.error_mm for r in rows if r.error_mm is not None])
    out: dict[str, Any] = {
        "n_scans": len(results), "n_vertebrae": len(rows),
        "identification_rate": float(np.mean([r.identified for r in rows])) if rows else float("nan"),
        "mean_error_mm": float(errs.mean()) if errs.size else float("nan"),
        "median_error_mm": float(np.median(errs)) if errs.size else float("nan"),
        "n_with_same_label_prediction": int(errs.size),
        "per_region": {},
    }
    for region in ("cervical", "thoracic", "lumbar", "sacral"):
        rr = [r for r in rows if region_of(r.label) == region]
        if not rr:
            continue
        e = np.array([r.error_mm for r in rr if r.error_mm is not None])
        out["per_region"][region] = {
            "n": len(rr), "identification_rate": float(np.mean([r.identified for r in rr])),
            "mean_error_mm": float(e.mean()) if e.size else float("nan"),
            "median_error_mm": float(np.median(e)) if e.size else float("nan"),
        }
    return out


def format_table(result: ScanResult) -> str:
    """Per-scan table as the published seed code prints it: label, predicted, reference (plus error)."""
    lines = [f"{result.case}"]
    for r in result.rows:
        pred = "-" if r.predicted is None else "[" + " ".join(f"{v:8.1f}" for v in r.predicted) + "]"
        ref = "[" + " ".join(f"{v:8.1f}" for v in r.reference) + "]"
        err = "" if r.error_mm is None else f"{r.error_mm:6.1f} mm"
        mark = "" if r.identified else f"  (closest: {label_name(r.closest_label) if r.closest_label else '-'})"
        lines.append(f"{label_name(r.label):>4} {pred} {ref} {err}{mark}")
    lines.append(f"identified {sum(r.identified for r in result.rows)}/{len(result.rows)}, "
                 f"average {result.mean_error_mm:.2f} mm")
    return "\n".join(lines)


# ------------------------------------------------------------------ case discovery
_SUFFIXES = ("_seg-subreg_ctd.json", "_seg-vert_msk.nii.gz", "_seg-vert_msk.nii", "_ctd.json", "_ct.nii.gz",
             "_ct.nii", ".nii.gz", ".nii", ".json", ".lml")


def _case_id(path: Path) -> str:
    name = path.name
    for s in _SUFFIXES:
        if name.endswith(s):
            return name[: -len(s)]
    return path.stem


def _phantom_truth(path: Path) -> list[Centroid]:
    data = json.loads(path.read_text())
    out = []
    for e in data.get("vertebrae", []):
        sl = e.get("slice")
        if isinstance(sl, dict) and sl.get("non_gated") is None:
            continue  # outside the non-gated field of view
        from .formats import label_number

        out.append(Centroid(label_number(e["label"]), tuple(float(v) for v in e["centroid_mm"])))  # type: ignore[arg-type]
    return out


def load_case_dir(folder: str | os.PathLike, role: str) -> dict[str, list[Centroid]]:
    """Centroids per case from a folder of predictions or references.

    Understood, per case: hounsfield ``--json`` files (``CASE.json``), VerSe
    ``CASE_seg-subreg_ctd.json`` (with ``CASE_seg-vert_msk.nii.gz`` or
    ``CASE_ct.nii.gz`` beside it for the voxel grid), ``CASE.lml`` (with
    ``CASE.nii.gz``), a label map alone (``CASE_seg-vert_msk.nii.gz`` in VerSe
    numbers or ``CASE_totalseg.nii.gz`` in TotalSegmentator numbers: body
    centroids are computed), and phantom folders (``CASE/truth.json``).
    """
    from ..io import read

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    out: dict[str, list[Centroid]] = {}
    grids: dict[str, Path] = {}
    for p in files:
        if p.name.endswith(("_seg-vert_msk.nii.gz", "_seg-vert_msk.nii", "_ct.nii.gz", "_ct.nii")):
            grids.setdefault(_case_id(p), p)
    phantom_dirs = set()
    for p in files:
        if p.name == "truth.json":
            out[p.parent.name] = _phantom_truth(p)
            phantom_dirs.add(p.parent)
    files = [p for p in files if p.parent not in phantom_dirs or p.name == "truth.json"]
    for p in files:
        cid = _case_id(p)
        if cid in out or p.name == "truth.json" or p.name.endswith((".tmp", ".part")):
            continue
        if p.name.endswith(("_ctd.json", ".lml")) or (p.suffix == ".json" and not p.name.endswith("_ctd.json")):
            ref = None
            if cid in grids:
                ref = read(grids[cid])
            elif p.suffix == ".lml":
                for ext in (".nii.gz", ".nii"):
                    if (p.parent / (cid + ext)).exists():
                        ref = read(p.parent / (cid + ext))
            try:
                out[cid] = read_centroids(p, ref)
            except InputError:
                if p.suffix == ".json" and p.name.endswith("_ctd.json") is False:
                    continue  # some other JSON (a sidecar)
                raise
    for p in files:
        cid = _case_id(p)
        if cid in out:
            continue
        if p.name.endswith(("_seg-vert_msk.nii.gz", "_seg-vert_msk.nii")):
            out[cid] = body_centroids(read(p))
        elif p.name.endswith(("_totalseg.nii.gz", "_totalseg.nii")):
            v = read(p)
            out[p.name.split("_totalseg")[0]] = body_centroids(v.with_array(totalseg_to_verse(v.array)))
    if not out:
        raise InputError(f"{folder}: no {role} centroid files found (CASE.json, CASE_seg-subreg_ctd.json, "
                         "CASE.lml, CASE_seg-vert_msk.nii.gz or CASE/truth.json)")
    return out
