"""Inference: probability of coronary calcium (CAC > 0) per radiograph.

The model is a file saved by ``hounsfield train cxr --save`` or a name in the
model registry (default :data:`DEFAULT_MODEL`). Every result row states what
the model was trained on.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterable

from ..errors import HounsfieldError, InputError
from .data import CATEGORY_NAMES
from .clinical import read_clinical_csv
from .io import RADIOGRAPH_SUFFIXES, read_radiograph
from .model import CXRModel, load_model
from .preprocess import preprocess

__all__ = ["DEFAULT_MODEL", "resolve_model", "predict_files", "expand_inputs", "OUTPUT_COLUMNS", "write_rows_csv",
           "clinical_values"]

#: registry name of the bundled model
DEFAULT_MODEL = "cxr-cac"
OUTPUT_COLUMNS = ("image", "p_cac_gt0", "p_cac_ge100", "p_cac_ge400", "score", "category", "category_name",
                  "threshold", "cac_gt0", "model", "trained_on", "seconds", "clinical", "clinical_imputed", "aux")


def resolve_model(model: str | os.PathLike | None = None, models_dir: str | os.PathLike | None = None) -> tuple[CXRModel, str]:
    """Load ``model`` (a file, or a registry name; default the bundled one) -> (model, label)."""
    from ..models.registry import list_models, load_entry

    if model and (Path(model).is_file() or str(model).endswith(".pt")):
        return load_model(model), str(model)
    name = str(model) if model else DEFAULT_MODEL
    known = {e.name for e in list_models(models_dir)}
    if name not in known:
        if model:
            raise InputError(f"'{model}' is neither a model file nor a registered model name")
        raise HounsfieldError(
            "no bundled CXR calcium model is installed yet (it awaits training on the synthetic chest phantoms); "
            "train one with 'hounsfield train cxr --data LABELS.csv --save' and pass --model OUT/model.pt")
    entry = load_entry(name, models_dir)
    m = load_model(entry.path)
    if entry.trained_on:
        m.trained_on = entry.trained_on
    if entry.metrics:
        m.info = {**m.info, "manifest_metrics": entry.metrics}
    return m, f"{entry.name} ({entry.sha256[:12]})"


def expand_inputs(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given; folders expanded to the radiograph files (and extension-less DICOMs) inside."""
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = [f for f in sorted(p.rglob("*")) if f.is_file() and not f.name.startswith(".")
                     and (f.name.lower().endswith(RADIOGRAPH_SUFFIXES) or f.suffix == "")]
            if not found:
                raise InputError(f"{p}: no radiograph files (DICOM, PNG, JPEG) inside")
            out += found
        elif p.exists():
            out.append(p)
        else:
            raise InputError(f"{p}: no such file or folder")
    return out


def clinical_values(paths: list[Path], csv_path: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """Clinical values per image (key ``str(path)``) from ``csv_path``: the non-empty cells of the image's row
    (:func:`~.clinical.read_clinical_csv`: matched by path, then by file name). :func:`predict_files` lays them
    over the DICOM header's age and sex, which the radiograph reader keeps (``meta["clinical"]``)."""
    if csv_path is None:
        return {}
    by_path, by_name = read_clinical_csv(csv_path)
    out = {}
    for p in paths:
        row = by_path.get(str(Path(p).resolve())) or by_name.get(Path(p).name)
        if row:
            out[str(p)] = dict(row)
    return out


def predict_files(paths: Iterable[str | os.PathLike], model: CXRModel, model_label: str = "",
                  clinical: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """One row per image: ``image``, ``p_cac_gt0``, category (and score), what the model was trained on.

    ``clinical``: per image (key ``str(path)``) values of the model's clinical columns (:func:`clinical_values`);
    for DICOMs they override the header's age and sex, which are used otherwise.
    """
    rows = []
    for p in paths:
        t0 = time.perf_counter()
        rad = read_radiograph(p)
        x = preprocess(rad, model.preprocess)[None, None]
        c, used, imputed = None, "", []
        if model.clinical is not None:
            vals = {**rad.meta.get("clinical", {}), **(clinical or {}).get(str(p), {})}
            c, imp = model.clinical.transform([vals])
            imputed = imp[0]
            used = ";".join(f"{n}={vals.get(n, '')}" for n in model.clinical.names if n not in imputed)
        res = model.interpret(model.outputs(x, clinical=c))
        cat = int(res["category"][0])
        p0 = float(res["p_cac_gt0"][0])
        rows.append({
            "image": str(p), "p_cac_gt0": round(p0, 6),
            "p_cac_ge100": round(float(res["p_cac_ge100"][0]), 6) if "p_cac_ge100" in res else None,
            "p_cac_ge400": round(float(res["p_cac_ge400"][0]), 6) if "p_cac_ge400" in res else None,
            "score": round(float(res["score"][0]), 2) if "score" in res else None,
            "category": cat, "category_name": CATEGORY_NAMES[cat], "threshold": round(model.threshold, 6),
            "cac_gt0": bool(p0 >= model.threshold), "model": model_label or model.arch,
            "trained_on": model.trained_on, "seconds": round(time.perf_counter() - t0, 4),
            "clinical": used, "clinical_imputed": ";".join(imputed),
            "aux": ";".join(f"{k[4:]}={float(v[0]):.4g}" for k, v in res.items() if k.startswith("aux_")),
        })
    return rows


def write_rows_csv(rows: list[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Write prediction rows (columns :data:`OUTPUT_COLUMNS`) atomically."""
    from ..io.sidecar import write_csv

    return write_csv(rows, OUTPUT_COLUMNS, path)

