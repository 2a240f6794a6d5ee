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

from ..errors import HounsfieldError, InputError, UnsupportedInputError
from ..io.dicom import has_dicom_marker
from .data import CATEGORY_NAMES
from .clinical import read_clinical_csv
from .io import RADIOGRAPH_SUFFIXES, read_radiograph
from .model import CXRModel, load_model
from .preprocess import preprocess

__all__ = ["DEFAULT_MODEL", "resolve_model", "predict_files", "expand_inputs", "OUTPUT_COLUMNS", "write_rows_csv",
           "clinical_values", "view_check", "Inputs"]

#: registry name of the bundled model
DEFAULT_MODEL = "cxr-cac"
OUTPUT_COLUMNS = ("image", "status", "p_cac_gt0", "p_cac_ge100", "p_cac_ge400", "score", "category", "category_name",
                  "threshold", "cac_gt0", "view", "note", "model", "trained_on", "seconds", "clinical",
                  "clinical_imputed", "aux")

#: DICOM ViewPosition values of frontal chest films (the models read PA films; AP is scored with a note)
FRONTAL_VIEWS = {"PA", "AP", "RLD", "LLD"}
#: ViewPosition values that are not frontal: lateral and oblique projections are not scored
SIDE_VIEWS = {"LL", "RL", "LAT", "LATERAL", "RLO", "LLO", "RAO", "LAO", "RPO", "LPO"}
#: words of BodyPartExamined that mean a chest film
CHEST_WORDS = ("CHEST", "THORAX", "LUNG", "HEART", "RIB", "STERNUM", "TORSO")


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


class Inputs(list):
    """The files to read (a list of paths), plus what the folder walk set aside.

    ``from_folders``: the paths found inside given folders (a given file is never in it); ``skipped``: files in
    folders that are not radiographs at all, ``(path, reason)`` (a ``DICOMDIR``, an extension-less file without
    the DICOM marker).
    """

    def __init__(self, paths: Iterable[Path] = (), from_folders: Iterable[Path] = (),
                 skipped: Iterable[tuple[Path, str]] = ()) -> None:
        super().__init__(paths)
        self.from_folders = set(from_folders)
        self.skipped = list(skipped)


def expand_inputs(inputs: Iterable[str | os.PathLike]) -> Inputs:
    """Files as given; folders expanded (recursively) to the radiograph files inside: names with a picture or DICOM
    ending, and extension-less files that carry the DICOM marker (``DICM`` at byte 128). ``DICOMDIR`` files and
    extension-less files without the marker are set aside in ``.skipped``. A given file is always kept."""
    out = Inputs()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = []
            for f in sorted(p.rglob("*")):
                if not f.is_file() or f.name.startswith("."):
                    continue
                if f.name.upper() == "DICOMDIR":
                    out.skipped.append((f, "DICOMDIR (an index of the media, not an image)"))
                elif f.name.lower().endswith(RADIOGRAPH_SUFFIXES):
                    found.append(f)
                elif f.suffix == "":
                    if has_dicom_marker(f):
                        found.append(f)
                    else:
                        out.skipped.append((f, "no file name ending and no DICOM marker"))
            if not found:
                raise InputError(f"{p}: no radiograph files (DICOM, PNG, JPEG) inside")
            out += found
            out.from_folders.update(found)
        elif p.exists():
            out.append(p)
        else:
            raise InputError(f"{p}: no such file or folder")
    return out


def view_check(meta: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(refusal, note)`` for a radiograph's DICOM view and body part.

    The models read frontal chest films. A lateral or oblique projection (ViewPosition LL, RL, RLO...), or a
    BodyPartExamined that names no part of the chest, is refused (the reason is returned); an AP or decubitus film
    is read with a note (the bundled models learnt from PA projections); files without these tags (PNG, JPEG,
    many DICOMs) are read as given.
    """
    view = (meta.get("view") or "").upper()
    part = (meta.get("body_part") or "").upper()
    if view in SIDE_VIEWS:
        return (f"ViewPosition {view}: a lateral or oblique film; the model reads frontal (PA) chest films", None)
    if part and not any(w in part for w in CHEST_WORDS):
        return (f"BodyPartExamined {part}: not a chest film", None)
    if view == "AP":
        return None, "AP film (the bundled models learnt from PA projections; the heart looks larger on AP films)"
    if view in ("RLD", "LLD"):
        return None, f"decubitus film ({view})"
    if view and view not in FRONTAL_VIEWS:
        return None, f"unknown ViewPosition {view}"
    return None, None


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


def _empty_row(path: Path, status: str, note: str, view: str | None, model: CXRModel, label: str) -> dict[str, Any]:
    if note.startswith(f"{path}: "):  # the reader's messages start with the path, which the row already has
        note = note[len(f"{path}: "):]
    row: dict[str, Any] = {k: None for k in OUTPUT_COLUMNS}
    row.update({"image": str(path), "status": status, "note": note, "view": view, "model": label or model.arch,
                "trained_on": model.trained_on})
    return row


def predict_files(paths: Iterable[str | os.PathLike], model: CXRModel, model_label: str = "",
                  clinical: dict[str, dict[str, Any]] | None = None, *, on_error: str = "raise",
                  any_view: bool = False, skip_unsupported: Iterable[Path] = ()) -> list[dict[str, Any]]:
    """One row per image: ``image``, ``status``, ``p_cac_gt0``, category (and score), what the model was trained on.

    ``status`` is ``ok`` (scored), ``skipped`` (a lateral/oblique or non-chest film, see :func:`view_check`; its
    reason in ``note``; ``any_view=True`` scores it anyway, with the reason as a note) or ``error`` (the file could
    not be read; only with ``on_error="record"``, otherwise the error is raised). ``note`` also carries an AP
    film's note. Files in ``skip_unsupported`` (those a folder walk found, :attr:`Inputs.from_folders`) that are
    readable but not radiographs (a DICOM without pixel data such as a structured report, a CT slice) are
    ``skipped``, whatever ``on_error``.

    ``clinical``: per image (key ``str(path)``) values of the model's clinical columns (:func:`clinical_values`);
    for DICOMs they override the header's age and sex, which are used otherwise.
    """
    if on_error not in ("raise", "record"):
        raise ValueError(f"on_error must be 'raise' or 'record', got {on_error!r}")
    skip = {Path(q) for q in skip_unsupported}
    rows = []
    for p in paths:
        p = Path(p)
        t0 = time.perf_counter()
        try:
            rad = read_radiograph(p)
        except InputError as exc:
            if isinstance(exc, UnsupportedInputError) and p in skip:
                rows.append(_empty_row(p, "skipped", str(exc), None, model, model_label))
                continue
            if on_error == "raise":
                raise
            rows.append(_empty_row(p, "error", str(exc), None, model, model_label))
            continue
        view = rad.meta.get("view")
        refusal, note = view_check(rad.meta)
        if refusal and not any_view:
            rows.append(_empty_row(p, "skipped", refusal + " (--any-view scores it anyway)", view, model,
                                   model_label))
            continue
        note = refusal or note
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
            "image": str(p), "status": "ok", "p_cac_gt0": round(p0, 6),
            "p_cac_ge100": round(float(res["p_cac_ge100"][0]), 6) if "p_cac_ge100" in res else None,
            "p_cac_ge400": round(float(res["p_cac_ge400"][0]), 6) if "p_cac_ge400" in res else None,
            "score": round(float(res["score"][0]), 2) if "score" in res else None,
            "category": cat, "category_name": CATEGORY_NAMES[cat], "threshold": round(model.threshold, 6),
            "cac_gt0": bool(p0 >= model.threshold), "view": view, "note": note, "model": model_label or model.arch,
            "trained_on": model.trained_on, "seconds": round(time.perf_counter() - t0, 4),
            "clinical": used, "clinical_imputed": ";".join(imputed),
            "aux": ";".join(f"{k[4:]}={float(v[0]):.4g}" for k, v in res.items() if k.startswith("aux_")),
        })
    return rows


def write_rows_csv(rows: list[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Write prediction rows (columns :data:`OUTPUT_COLUMNS`) atomically."""
    from ..io.sidecar import write_csv

    return write_csv(rows, OUTPUT_COLUMNS, path)

