"""CXR data sets: a labels CSV (image, patient, CAC score, clinical columns) and its targets.

CSV format (header row; extra columns are kept as clinical variables)::

    image,patient_id,cac,age,sex
    images/p001.dcm,p001,0,61,F
    images/p002.png,p002,412.5,70,M

Column aliases: ``image`` (``path``, ``file``, ``filename``), ``patient_id``
(``patient``, ``PatientID``), ``cac`` (``cac_score``, ``agatston``,
``calcium_score``). Relative image paths are relative to the CSV's folder.
A folder of DICOMs can also be labelled by a CSV with only ``patient_id`` and
``cac``: every DICOM in the folder whose PatientID tag matches gets that row.

Targets
-------
* classes: CAC > 0, CAC >= 100, CAC >= 400 (ordinal, cumulative), and the
  category 0 / 1-99 / 100-399 / >= 400;
* regression: ``log(clip(CAC, 0, 2000) + 1)`` standardised with the mean
  and standard deviation of the training part.

Examples
--------
>>> cac_category([0, 1, 99.9, 100, 399, 400, 5000]).tolist()
[0, 1, 1, 2, 2, 3, 3]
>>> cac_thresholds([0, 150]).tolist()
[[0.0, 0.0, 0.0], [1.0, 1.0, 0.0]]
>>> round(float(log_cac(3000)), 4) == round(float(np.log(2001)), 4)
True
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..errors import InputError

__all__ = ["Record", "read_labels_csv", "write_labels_csv", "label_folder", "cac_category", "cac_thresholds",
           "log_cac", "Standardiser", "CATEGORY_NAMES", "THRESHOLDS", "CAC_CLIP", "load_inputs"]

#: cumulative class thresholds: CAC > 0, >= 100, >= 400
THRESHOLDS = (0.0, 100.0, 400.0)
CATEGORY_NAMES = ("0", "1-99", "100-399", ">=400")
CAC_CLIP = 2000.0

_ALIASES = {
    "image": ("image", "path", "file", "filename", "image_path"),
    "patient_id": ("patient_id", "patient", "patientid", "patient id"),
    "cac": ("cac", "cac_score", "agatston", "calcium_score", "score"),
}


@dataclass(frozen=True)
class Record:
    """One labelled radiograph."""

    image: str
    patient_id: str
    cac: float
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def cac_category(cac: Any) -> np.ndarray:
    """0: CAC = 0, 1: 0 < CAC < 100, 2: 100-399, 3: >= 400."""
    c = np.asarray(cac, dtype=float)
    return ((c > THRESHOLDS[0]).astype(int) + (c >= THRESHOLDS[1]) + (c >= THRESHOLDS[2])).astype(int)


def cac_thresholds(cac: Any) -> np.ndarray:
    """Cumulative binary targets ``[CAC > 0, CAC >= 100, CAC >= 400]`` (float, shape ``(n, 3)``)."""
    c = np.asarray(cac, dtype=float).reshape(-1)
    return np.stack([c > THRESHOLDS[0], c >= THRESHOLDS[1], c >= THRESHOLDS[2]], axis=1).astype(float)


def log_cac(cac: Any, clip: float = CAC_CLIP) -> np.ndarray:
    """``log(clip(CAC, 0, clip) + 1)``."""
    return np.log(np.clip(np.asarray(cac, dtype=float), 0.0, clip) + 1.0)


@dataclass(frozen=True)
class Standardiser:
    """``(log_cac - mean) / std`` fitted on a training part.

    >>> s = Standardiser.fit([0, np.e - 1]); (s.mean, s.std)
    (0.5, 0.5)
    >>> round(float(s.inverse(s.transform([np.e - 1]))[0]), 12) == round(float(np.e - 1), 12)
    True
    """

    mean: float
    std: float
    clip: float = CAC_CLIP

    @classmethod
    def fit(cls, cac: Any, clip: float = CAC_CLIP) -> "Standardiser":
        v = log_cac(cac, clip)
        return cls(float(v.mean()), float(max(v.std(), 1e-6)), clip)

    def transform(self, cac: Any) -> np.ndarray:
        return (log_cac(cac, self.clip) - self.mean) / self.std

    def to_log(self, z: Any) -> np.ndarray:
        """Standardised prediction -> ``log(CAC + 1)`` within ``[0, log(clip + 1)]``."""
        return np.clip(np.asarray(z, dtype=float) * self.std + self.mean, 0.0, np.log(self.clip + 1.0))

    def inverse(self, z: Any) -> np.ndarray:
        """Standardised prediction -> CAC score."""
        return np.expm1(self.to_log(z))

    def to_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "std": self.std, "clip": self.clip}


def _find(header: list[str], key: str) -> str | None:
    low = {h.strip().lower(): h for h in header}
    for alias in _ALIASES[key]:
        if alias in low:
            return low[alias]
    return None


def _number(text: str) -> Any:
    try:
        return float(text)
    except (TypeError, ValueError):
        return text


def read_labels_csv(path: str | os.PathLike, image_root: str | os.PathLike | None = None) -> list[Record]:
    """Read a labels CSV into :class:`Record` s (image paths made absolute).

    Parameters
    ----------
    path
        The CSV.
    image_root
        Folder the image paths are relative to (default: the CSV's folder).
        When the CSV has no image column, the DICOMs in this folder are
        matched to the rows by PatientID (see :func:`label_folder`).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: labels CSV not found")
    root = Path(image_root) if image_root else path.parent
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    col_img, col_pid, col_cac = _find(header, "image"), _find(header, "patient_id"), _find(header, "cac")
    if col_cac is None:
        raise InputError(f"{path}: no CAC column (expected one of {', '.join(_ALIASES['cac'])})")
    if col_img is None:
        if col_pid is None:
            raise InputError(f"{path}: needs an image column or a patient_id column to match DICOMs")
        return label_folder(root, {r[col_pid].strip(): r for r in rows}, col_cac, [c for c in header if c not in (col_pid, col_cac)])
    used = {col_img, col_pid, col_cac}
    records = []
    for n, r in enumerate(rows, start=2):
        img = (r.get(col_img) or "").strip()
        if not img:
            raise InputError(f"{path}: line {n} has no image path")
        p = Path(img)
        p = p if p.is_absolute() else root / p
        try:
            cac = float(r[col_cac])
        except (TypeError, ValueError):
            raise InputError(f"{path}: line {n}: CAC '{r[col_cac]}' is not a number") from None
        if not np.isfinite(cac) or cac < 0:
            raise InputError(f"{path}: line {n}: CAC {cac} must be a finite number >= 0")
        pid = (r.get(col_pid) or "").strip() if col_pid else ""
        extra = {k: _number(v) for k, v in r.items() if k not in used and k is not None}
        records.append(Record(str(p), pid or p.stem, cac, extra))
    if not records:
        raise InputError(f"{path}: no rows")
    return records


def label_folder(folder: str | os.PathLike, rows: dict[str, dict[str, str]], col_cac: str = "cac",
                 extra_columns: Iterable[str] = ()) -> list[Record]:
    """Records for every DICOM under ``folder`` whose PatientID is a key of ``rows``."""
    import pydicom

    folder = Path(folder)
    records = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.suffix.lower() in (".csv", ".json", ".txt", ".png", ".jpg", ".jpeg"):
            continue
        try:
            ds = pydicom.dcmread(p, stop_before_pixels=True)
        except Exception:
            continue
        pid = str(ds.get("PatientID", "") or "").strip()
        if pid in rows:
            r = rows[pid]
            records.append(Record(str(p), pid, float(r[col_cac]), {c: _number(r[c]) for c in extra_columns}))
    if not records:
        raise InputError(f"{folder}: no DICOM file whose PatientID is in the labels CSV")
    return records


def write_labels_csv(records: Iterable[Record], path: str | os.PathLike, relative_to: str | os.PathLike | None = None) -> Path:
    """Write records as a labels CSV (image paths relative to ``relative_to`` when inside it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = list(records)
    extra_cols: list[str] = []
    for r in records:
        extra_cols += [k for k in r.extra if k not in extra_cols]
    base = Path(relative_to).resolve() if relative_to else path.parent.resolve()
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "patient_id", "cac", *extra_cols])
        for r in records:
            img = Path(r.image)
            try:
                img = img.resolve().relative_to(base)
            except ValueError:
                pass
            w.writerow([str(img), r.patient_id, f"{r.cac:g}", *[r.extra.get(c, "") for c in extra_cols]])
    os.replace(tmp, path)
    return path


def load_inputs(paths: Iterable[str], settings: Any, dtype: Any = np.float16) -> np.ndarray:
    """Read and preprocess images into an array ``(n, 1, size, size)`` (``dtype``)."""
    from .io import read_radiograph
    from .preprocess import preprocess

    paths = list(paths)
    out = np.empty((len(paths), 1, settings.size, settings.size), dtype=dtype)
    for i, p in enumerate(paths):
        out[i, 0] = preprocess(read_radiograph(p), settings)
    return out
