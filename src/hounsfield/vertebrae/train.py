"""Fit the vertebra detector's parameters to annotated scans.

Data layouts understood by :func:`find_cases`:

- VerSe: ``CASE_ct.nii.gz`` with ``CASE_seg-subreg_ctd.json`` (body centroids)
  or, failing that, ``CASE_seg-vert_msk.nii.gz`` (body centroids computed with
  :func:`~hounsfield.vertebrae.formats.body_centroids`), in one folder or in
  VerSe's ``rawdata/`` + ``derivatives/`` trees;
- image + ``.lml``: ``CASE.nii.gz`` (or ``.nii``) beside ``CASE.lml``;
- synthetic patients from ``hounsfield phantom chest``: ``CASE/non_gated.nii.gz``
  with ``CASE/truth.json``.

Training is a deterministic grid search over the parameters that decide
where discs are placed (disc evidence scale, per-disc cost, strength of the
height prior, weight and offset of the paravertebral gap evidence) and which
vertebrae count as rib-bearing, scored by
identification rate then mean localisation error, followed by a
least-squares fit of the anterior offset of the body centre.
The expensive first half of the pipeline is computed once per scan.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import InputError
from ..training.seeds import seed_everything
from ..volume import Volume
from .evaluate import _phantom_truth, evaluate_scan, summarise
from .formats import Centroid, body_centroids, read_lml, read_verse_ctd
from .predict import DEFAULT_PARAMS, Prepared, finish_detection, prepare

__all__ = ["Case", "find_cases", "load_case", "fit_params", "GRID"]

#: the grid searched by default
GRID: dict[str, list[float]] = {
    "disc_sigma_mm": [3.0, 4.0],
    "disc_cost": [0.5, 0.75, 1.0],
    "height_prior_weight": [3.0, 6.0],
    "rib_fraction": [0.6, 0.7],
    "gap_weight": [0.0, 0.5, 1.0, 2.0],
    "gap_offset_mm": [2.0, 4.0, 6.0],
}


@dataclass(frozen=True)
class Case:
    """One training scan: where its image and its centroids are."""

    name: str
    image: Path
    centroids: Path
    kind: str  # "verse-ctd", "verse-mask", "lml", "phantom"


def find_cases(folder: str | os.PathLike) -> list[Case]:
    """All annotated scans under ``folder`` (see the module docstring for layouts)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    by_name = {p.name: p for p in files}
    cases: dict[str, Case] = {}
    for p in files:
        n = p.name
        if n == "truth.json" and (p.parent / "non_gated.nii.gz").exists():
            cases[p.parent.name] = Case(p.parent.name, p.parent / "non_gated.nii.gz", p, "phantom")
        elif n.endswith(("_ct.nii.gz", "_ct.nii")):
            cid = n.rsplit("_ct.nii", 1)[0]
            stem = cid.replace("_dir-orient", "")
            ctd = [by_name.get(f"{c}_seg-subreg_ctd.json") for c in (cid, stem)]
            msk = [by_name.get(f"{c}_seg-vert_msk.nii.gz") for c in (cid, stem)]
            if any(ctd):
                cases[cid] = Case(cid, p, next(c for c in ctd if c), "verse-ctd")
            elif any(msk):
                cases[cid] = Case(cid, p, next(m for m in msk if m), "verse-mask")
        elif n.endswith(".lml"):
            cid = n[:-4]
            for ext in (".nii.gz", ".nii"):
                img = p.parent / (cid + ext)
                if img.exists():
                    cases[cid] = Case(cid, img, p, "lml")
    # a phantom folder also holds its VerSe-layout copy: count each patient once
    phantom_dirs = {c.image.parent for c in cases.values() if c.kind == "phantom"}
    cases = {k: c for k, c in cases.items() if c.kind == "phantom" or c.image.parent not in phantom_dirs}
    if not cases:
        raise InputError(f"{folder}: no annotated scans (CASE_ct.nii.gz + CASE_seg-subreg_ctd.json, "
                         "CASE.nii.gz + CASE.lml, or phantom folders with truth.json)")
    return [cases[k] for k in sorted(cases)]


def load_case(case: Case) -> tuple[Volume, list[Centroid]]:
    """The CT and its reference body centroids (world mm)."""
    from ..io import read

    vol = read(case.image)
    if case.kind == "phantom":
        return vol, _phantom_truth(case.centroids)
    if case.kind == "lml":
        return vol, read_lml(case.centroids, vol)
    if case.kind == "verse-ctd":
        return vol, read_verse_ctd(case.centroids, vol)
    return vol, body_centroids(read(case.centroids))


def _score(prepped: list[tuple[Prepared, list[Centroid]]], params: dict[str, float]) -> dict[str, Any]:
    results = []
    for prep, ref in prepped:
        det = finish_detection(prep, params)
        results.append(evaluate_scan(det.centroids, ref))
    return summarise(results)


def fit_params(cases: list[Case], seed: int = 0, grid: dict[str, list[float]] | None = None,
               max_cases: int | None = None, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Fit the detector to ``cases``; returns ``{"params", "metrics", "grid", "cases", "seconds"}``."""
    rng = seed_everything(seed)
    t0 = time.time()
    order = list(rng.permutation(len(cases)))
    chosen = [cases[i] for i in order[: max_cases or len(cases)]]
    grid = grid or GRID
    params = dict(DEFAULT_PARAMS)
    prepped = []
    for c in chosen:
        vol, ref = load_case(c)
        prepped.append((prepare(vol, params), ref))
        if progress:
            progress(f"prepared {c.name}")
    best: tuple[tuple[float, float], dict[str, float], dict[str, Any]] | None = None
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        trial = {**params, **dict(zip(keys, values))}
        m = _score(prepped, trial)
        key = (round(m["identification_rate"], 4), -m["mean_error_mm"])
        if best is None or key > best[0]:
            best = (key, trial, m)
    assert best is not None
    params = best[1]
    # anterior offset of the body centre: mean AP residual of same-label pairs
    res = []
    for prep, ref in prepped:
        det = finish_detection(prep, {**params, "body_shift_mm": 0.0})
        pred = {c.label: np.asarray(c.xyz) for c in det.centroids}
        res += [r.xyz[1] - pred[r.label][1] for r in ref if r.label in pred
                and np.linalg.norm(pred[r.label] - np.asarray(r.xyz)) < 20]
    params["body_shift_mm"] = round(float(np.mean(res)), 2) if res else 0.0
    metrics = _score(prepped, params)
    return {"params": params, "metrics": metrics, "grid": grid, "cases": [c.name for c in chosen],
            "seconds": round(time.time() - t0, 1), "seed": seed}
