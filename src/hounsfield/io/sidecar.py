"""JSON sidecars: the metadata of a :class:`~hounsfield.volume.Volume` beside its image file.

Keys are hounsfield's own (``VolumeMeta`` field names); a dcm2niix/BIDS sidecar
is understood too (``SeriesDescription``, ``ConvolutionKernel``, ``KVP``...).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..volume import VolumeMeta

__all__ = ["sidecar_path", "read_sidecar", "write_sidecar", "write_json", "write_csv", "read_csv_rows"]

_BIDS_KEYS = {
    "Modality": "modality",
    "KVP": "kvp",
    "SliceThickness": "thickness_mm",
    "ConvolutionKernel": "kernel",
    "SeriesDescription": "description",
    "Manufacturer": "manufacturer",
    "StudyInstanceUID": "study_uid",
    "SeriesInstanceUID": "series_uid",
    "SeriesNumber": "series_number",
}


def sidecar_path(image_path: str | os.PathLike) -> Path:
    """``x.nii.gz`` -> ``x.json``; ``x.nrrd`` -> ``x.json``."""
    p = Path(image_path)
    name = p.name
    for suffix in (".nii.gz", ".nii", ".nrrd", ".mha", ".mhd", ".nhdr"):
        if name.endswith(suffix):
            return p.with_name(name[: -len(suffix)] + ".json")
    return p.with_suffix(".json")


def write_json(obj: Any, path: str | os.PathLike) -> Path:
    """Write JSON atomically (temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(obj, indent=2, default=_default) + "\n")
    os.replace(tmp, path)
    return path


def read_csv_rows(path: str | os.PathLike, what: str) -> list[dict[str, str]]:
    """The rows of a CSV with a header (dictionaries); an unreadable file is one :class:`InputError` line
    naming ``what`` it should have held."""
    import csv

    from ..errors import InputError

    try:
        with open(path, newline="") as fh:
            return list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read the {what} ({exc})") from None


def write_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str], path: str | os.PathLike) -> Path:
    """Write rows (dictionaries) as CSV atomically; ``None`` becomes an empty cell, keys not in
    ``columns`` are ignored."""
    import csv

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
    os.replace(tmp, path)
    return path


def _default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_sidecar(meta: VolumeMeta, path: str | os.PathLike) -> Path:
    return write_json({"hounsfield": meta.to_dict()}, path)


def read_sidecar(path: str | os.PathLike, source: str | None = None) -> VolumeMeta:
    try:
        d = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return VolumeMeta(source=source)
    if isinstance(d, dict) and isinstance(d.get("hounsfield"), dict):
        meta = VolumeMeta.from_dict(d["hounsfield"])
        return meta.replace(source=source) if source else meta
    kwargs: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, name in _BIDS_KEYS.items():
            if k in d:
                kwargs[name] = d[k]
    if isinstance(kwargs.get("kernel"), list):
        kwargs["kernel"] = "\\".join(map(str, kwargs["kernel"]))
    return VolumeMeta(source=source, **kwargs)
