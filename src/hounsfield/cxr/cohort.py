"""Synthetic radiograph data sets: DRRs of a folder of chest CTs, or of simple torsos.

``drr_cohort`` turns a cohort folder written by ``hounsfield phantom chest``
(``<DIR>/<patient>/non_gated.nii.gz`` + ``truth.json`` with ``agatston``)
into radiographs and a labels CSV; ``torso_cohort`` does the same for
:func:`hounsfield.cxr.torso.simple_torso` patients built on the fly.

Output layout::

    OUT/images/<patient>.png   (and/or .dcm)
    OUT/labels.csv             image,patient_id,cac[,n_plaques]
    OUT/cohort.json            DRR settings, source, counts
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..errors import InputError
from .data import Record, write_labels_csv
from .drr import DRRSettings, drr
from .io import Radiograph, write_png, write_radiograph_dicom

__all__ = ["drr_cohort", "torso_cohort", "read_truth_agatston", "CT_NAMES"]

#: CT file names looked for in each patient folder, in order
CT_NAMES = ("non_gated.nii.gz", "non_gated.nii", "ct.nii.gz", "gated.nii.gz")


def read_truth_agatston(path: str | os.PathLike) -> float:
    """The patient's total Agatston score from a ``truth.json``.

    Accepts ``{"agatston": 123.4}``, ``{"agatston": {"total": ...}}`` or
    ``{"calcium": {"agatston": ...}}``.
    """
    path = Path(path)
    try:
        truth = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the truth file ({exc})") from None
    value: Any = truth.get("agatston", truth.get("calcium", {}).get("agatston") if isinstance(truth.get("calcium"), dict) else None)
    if isinstance(value, dict):
        value = value.get("total", value.get("agatston"))
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{path}: no numeric 'agatston' score") from None
    if not np.isfinite(v) or v < 0:
        raise InputError(f"{path}: Agatston score {v} is not a finite number >= 0")
    return v


def _write(rad: Radiograph, out: Path, pid: str, formats: Iterable[str], extra_dicom: dict[str, Any] | None = None) -> str:
    written = []
    for fmt in formats:
        if fmt == "png":
            written.append(write_png(rad, out / "images" / f"{pid}.png", bits=16))
        elif fmt == "dicom":
            written.append(write_radiograph_dicom(rad, out / "images" / f"{pid}.dcm", patient_id=pid,
                                                  extra=extra_dicom))
        else:
            raise InputError(f"unknown image format '{fmt}' (png or dicom)")
    return str(written[0])


def _finish(out: Path, records: list[Record], info: dict[str, Any]) -> Path:
    csv_path = write_labels_csv(records, out / "labels.csv")
    cac = np.array([r.cac for r in records])
    info.update({"n": len(records), "n_cac_gt0": int(np.sum(cac > 0)), "labels": "labels.csv"})
    (out / "cohort.json").write_text(json.dumps(info, indent=2) + "\n")
    return csv_path


def drr_cohort(
    src: str | os.PathLike, out: str | os.PathLike, settings: DRRSettings = DRRSettings(),
    formats: Iterable[str] = ("png",), seed: int = 0, progress: Callable[[int, int], None] | None = None,
) -> Path:
    """DRRs of every ``<src>/<patient>/non_gated.nii.gz`` with its ``truth.json`` score; returns the CSV path."""
    from ..io import read

    src, out = Path(src), Path(out)
    patients = sorted(p for p in src.iterdir() if p.is_dir()) if src.is_dir() else []
    cases = []
    for p in patients:
        ct = next((p / n for n in CT_NAMES if (p / n).exists()), None)
        if ct is not None and (p / "truth.json").exists():
            cases.append((p.name, ct, p / "truth.json"))
    if not cases:
        raise InputError(f"{src}: no patient folders with non_gated.nii.gz and truth.json "
                         "(make them with 'hounsfield phantom chest')")
    formats = list(formats)
    rng = np.random.default_rng(seed)
    records = []
    for i, (pid, ct, truth) in enumerate(cases):
        cac = read_truth_agatston(truth)
        rad = drr(read(ct), settings, rng)
        image = _write(rad, out, pid, formats)
        records.append(Record(image, pid, cac, {}))
        if progress:
            progress(i + 1, len(cases))
    return _finish(out, records, {"source": str(src), "kind": "DRR of chest CT phantoms", "seed": seed,
                                  "drr": settings.to_dict(), "formats": formats})


def torso_cohort(
    n: int, out: str | os.PathLike, settings: DRRSettings = DRRSettings(), formats: Iterable[str] = ("png",),
    seed: int = 0, p_zero: float = 0.5, progress: Callable[[int, int], None] | None = None,
) -> Path:
    """``n`` simple-torso patients (see :mod:`hounsfield.cxr.torso`) as DRRs + labels; returns the CSV path.

    Patient ``i`` is built from ``numpy.random.default_rng([seed, i])``, so
    any subset can be regenerated exactly.
    """
    from .torso import sample_plaque_count, simple_torso

    out = Path(out)
    formats = list(formats)
    records = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        pid = f"torso{seed:04d}_{i:05d}"
        vol, truth = simple_torso(rng, sample_plaque_count(rng, p_zero), patient_id=pid)
        rad = drr(vol, settings, rng)
        image = _write(rad, out, pid, formats)
        records.append(Record(image, pid, float(truth["agatston"]), {"n_plaques": truth["n_plaques"]}))
        if progress:
            progress(i + 1, n)
    return _finish(out, records, {"source": "hounsfield.cxr.torso.simple_torso (synthetic)",
                                  "kind": "DRR of simple torsos", "seed": seed, "p_zero": p_zero,
                                  "drr": settings.to_dict(), "formats": formats})
