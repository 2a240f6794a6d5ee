"""Clinical inputs of a CXR model: encoding of labels-CSV columns (age, sex, ...) and their late fusion.

Published radiograph calcium models that add the patient's age and sex to
the image do better than image-only ones (Hong et al. 2025, 10,230
patients: 0.74-0.79 image only, higher with clinical data; see
``docs/cxr.md``). ``hounsfield train cxr --clinical age,sex`` trains such a
model: the network's logits get a linear term of the encoded clinical
values, ``logit = image_net(x) + W c + b``, trained jointly, so the image
part learns what the clinical variables do not already say.

Encoding (:class:`ClinicalEncoder`, fitted on the inner-training part of
each fold only):

* a column whose values are all numbers is **numeric**: standardised with
  the training mean and standard deviation;
* any other column is **categorical**: its levels (sorted, the first is the
  reference) become indicator features, e.g. ``sex`` F/M -> one feature
  ``sex=M``;
* a missing value (empty cell, or a level never seen in training) is
  replaced by the training mean (numeric) or the reference level
  (categorical), and reported: :meth:`ClinicalEncoder.transform` returns
  which columns it imputed for every row.

At inference the values come from a CSV (``hounsfield cxr --clinical
CSV``) or, for DICOM radiographs, from the PatientAge (0010,1010) and
PatientSex (0010,0040) attributes when the model's columns are ``age`` and
``sex`` (:func:`header_clinical`, kept by the radiograph reader as ``meta["clinical"]``).

Examples
--------
>>> enc = ClinicalEncoder.fit([{"age": 50.0, "sex": "F"}, {"age": 70.0, "sex": "M"}], ["age", "sex"])
>>> enc.feature_names
['age', 'sex=M']
>>> x, imputed = enc.transform([{"age": 60.0, "sex": "M"}, {"sex": "X"}])
>>> x.round(3).tolist(), imputed
([[0.0, 1.0], [0.0, 0.0]], [[], ['age', 'sex']])
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from ..errors import InputError

__all__ = ["ClinicalEncoder", "fusion_network", "parse_columns", "dicom_clinical", "header_clinical", "parse_age",
           "read_clinical_csv"]


def parse_columns(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"age,sex"`` -> ``("age", "sex")`` (blank -> ``()``); duplicate names are an error."""
    if text is None:
        return ()
    items = text.split(",") if isinstance(text, str) else list(text)
    cols = tuple(c.strip() for c in items if c and c.strip())
    if len(set(cols)) != len(cols):
        raise InputError(f"--clinical names a column twice: {', '.join(cols)}")
    return cols


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and not np.isfinite(v))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


@dataclass(frozen=True)
class ClinicalEncoder:
    """How clinical columns become network inputs (see the module docstring).

    ``columns``: one dict per column, ``{"name", "kind": "numeric", "mean", "sd"}`` or
    ``{"name", "kind": "categorical", "levels": [...]}`` (``levels[0]`` is the reference).
    """

    columns: tuple[dict[str, Any], ...]

    @classmethod
    def fit(cls, rows: Iterable[Mapping[str, Any]], names: Iterable[str]) -> "ClinicalEncoder":
        """Fit on training rows (dicts of column -> value). Every column needs at least one value and, if
        categorical, at least two levels."""
        rows = list(rows)
        cols = []
        for name in names:
            vals = [r.get(name) for r in rows]
            present = [v for v in vals if not _missing(v)]
            if not present:
                raise InputError(f"clinical column '{name}' has no values in the training data")
            if all(_is_number(v) for v in present):
                a = np.asarray(present, float)
                sd = float(a.std())
                cols.append({"name": name, "kind": "numeric", "mean": float(a.mean()), "sd": sd if sd > 0 else 1.0})
            else:
                levels = sorted({str(v).strip() for v in present})
                if len(levels) < 2:
                    raise InputError(f"clinical column '{name}' has a single value ('{levels[0]}') in the "
                                     "training data: it cannot inform the model")
                cols.append({"name": name, "kind": "categorical", "levels": levels})
        return cls(tuple(cols))

    @property
    def names(self) -> list[str]:
        return [c["name"] for c in self.columns]

    def features(self) -> list[tuple[str, dict[str, Any]]]:
        """One ``(feature name, its column)`` per encoded feature, in order: a numeric column gives one
        (its name), a categorical one an indicator ``name=level`` per non-reference level."""
        out = []
        for c in self.columns:
            out += [(c["name"], c)] if c["kind"] == "numeric" else [(f"{c['name']}={lv}", c) for lv in c["levels"][1:]]
        return out

    @property
    def feature_names(self) -> list[str]:
        return [name for name, _ in self.features()]

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def transform(self, rows: Iterable[Mapping[str, Any]]) -> tuple[np.ndarray, list[list[str]]]:
        """``(features (n, n_features) float32, imputed column names per row)``."""
        rows = list(rows)
        x = np.zeros((len(rows), self.n_features), np.float32)
        imputed: list[list[str]] = [[] for _ in rows]
        for i, r in enumerate(rows):
            j = 0
            for c in self.columns:
                v = r.get(c["name"])
                if c["kind"] == "numeric":
                    try:
                        f = float(v) if not _missing(v) else np.nan
                    except (TypeError, ValueError):
                        f = np.nan
                    if np.isfinite(f):
                        x[i, j] = (f - c["mean"]) / c["sd"]
                    else:
                        imputed[i].append(c["name"])  # the training mean: standardised 0
                    j += 1
                else:
                    lv = str(v).strip() if not _missing(v) else None
                    if lv not in c["levels"]:
                        imputed[i].append(c["name"])  # the reference level: all indicators 0
                    elif lv != c["levels"][0]:
                        x[i, j + c["levels"].index(lv) - 1] = 1.0
                    j += len(c["levels"]) - 1
        return x, imputed

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [dict(c) for c in self.columns], "features": self.feature_names}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ClinicalEncoder":
        return cls(tuple(dict(c) for c in d["columns"]))


def fusion_network(image_net: Any, n_features: int, n_outputs: int) -> Any:
    """A torch module ``forward(x, c) = image_net(x) + Linear(c)`` (the linear term starts at zero, so training
    starts from the image network alone). Built lazily so that torch is imported only when needed."""
    import torch

    class _Fusion(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.image = image_net
            self.clinical = torch.nn.Linear(n_features, n_outputs)
            torch.nn.init.zeros_(self.clinical.weight)
            torch.nn.init.zeros_(self.clinical.bias)

        def forward(self, x: Any, c: Any) -> Any:
            return self.image(x) + self.clinical(c)

    return _Fusion()


_AGE = re.compile(r"^\s*(\d{1,3}(?:\.\d+)?)\s*([YMWD]?)\s*$", re.IGNORECASE)


def parse_age(text: Any) -> float | None:
    """A DICOM Age String (``'061Y'``, ``'006M'``, ``'003W'``, ``'010D'``; a bare number is read as years) ->
    years, or ``None`` when unreadable.

    >>> parse_age("061Y"), parse_age("62"), parse_age("018M"), parse_age(""), parse_age("abc")
    (61.0, 62.0, 1.5, None, None)
    """
    m = _AGE.match(str(text or ""))
    if not m:
        return None
    v = float(m.group(1))
    return round(v / {"": 1, "Y": 1, "M": 12, "W": 52.1775, "D": 365.25}[m.group(2).upper()], 4)


def dicom_clinical(path: str | os.PathLike) -> dict[str, Any]:
    """``{"age": years, "sex": "F"/"M"/"O"}`` from a DICOM file's header (keys left out when absent); ``{}``
    for files that are not DICOM."""
    import pydicom

    try:
        ds = pydicom.dcmread(Path(path), stop_before_pixels=True)
    except Exception:  # noqa: BLE001 - PNG/JPEG or unreadable: no header values
        return {}
    return header_clinical(ds)


def header_clinical(ds: Any) -> dict[str, Any]:
    """``{"age": years, "sex": "F"/"M"/"O"}`` from a read DICOM dataset (keys left out when absent)."""
    out: dict[str, Any] = {}
    age = parse_age(ds.get("PatientAge", ""))
    if age is not None:
        out["age"] = age
    sex = str(ds.get("PatientSex", "") or "").strip().upper()
    if sex in ("F", "M", "O"):
        out["sex"] = sex
    return out


def read_clinical_csv(path: str | os.PathLike) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """A CSV with an ``image`` column (aliases as in labels CSVs) and clinical columns -> ``(by absolute path,
    by file name)``, each row's non-empty cells (numbers as floats). Relative image paths are tried against the
    working folder, then the CSV's folder. A labels CSV serves as is."""
    from .data import _ALIASES, _number

    from ..io.sidecar import read_csv_rows

    path = Path(path)
    rows = read_csv_rows(path, "clinical values")
    head = {k.strip().lower(): k for k in (rows[0] if rows else {}) if k}
    col = next((head[a] for a in _ALIASES["image"] if a in head), None)
    if col is None:
        raise InputError(f"{path}: needs an image column (image, path, file or filename) naming each radiograph")
    by_path: dict[str, dict[str, Any]] = {}
    by_name: dict[str, dict[str, Any]] = {}
    for r in rows:
        img = Path(str(r.get(col) or "").strip())
        if not str(img) or str(img) == ".":
            continue
        if not img.is_absolute():
            img = next((c for c in (Path.cwd() / img, path.parent / img) if c.exists()), path.parent / img)
        vals = {k.strip(): _number(v.strip()) for k, v in r.items() if k and k != col and v is not None and v.strip()}
        by_path.setdefault(str(img.resolve()), vals)
        by_name.setdefault(img.name, vals)
    return by_path, by_name
