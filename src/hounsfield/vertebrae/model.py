"""The vertebra model: the detector's parameters, saved as JSON beside a manifest entry.

The detector (:mod:`hounsfield.vertebrae.predict`) is anatomical; training
(:mod:`hounsfield.vertebrae.train`) fits the parameters that decide disc
spacing, disc evidence and the body-centre offset to annotated scans. The
bundled default ``vertebrae-anatomical`` was fitted to synthetic patients.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from .predict import DEFAULT_PARAMS, Detection, detect_vertebrae

__all__ = ["DEFAULT_MODEL", "VertebraModel", "load_model", "save_params"]

DEFAULT_MODEL = "vertebrae-anatomical"
FORMAT = "hounsfield-vertebrae-params/1"


@dataclass(frozen=True)
class VertebraModel:
    """Detector parameters plus where they came from."""

    params: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_PARAMS))
    name: str = "built-in defaults"
    summary: dict[str, Any] = field(default_factory=dict)

    def detect(self, volume: Any) -> Detection:
        return detect_vertebrae(volume, self.params)


def save_params(params: dict[str, float], path: str | os.PathLike, extra: dict[str, Any] | None = None) -> Path:
    """Write the parameter file (the model's 'weights')."""
    path = Path(path)
    data = {"format": FORMAT, "params": {k: float(v) for k, v in sorted(params.items())}, **(extra or {})}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def _read_params(path: Path) -> dict[str, float]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a vertebra parameter file ({exc})") from None
    if data.get("format") != FORMAT:
        raise InputError(f"{path}: not a vertebra parameter file (format {data.get('format')!r})")
    unknown = set(data["params"]) - set(DEFAULT_PARAMS)
    if unknown:
        raise InputError(f"{path}: unknown parameters {sorted(unknown)}")
    return {**DEFAULT_PARAMS, **{k: float(v) for k, v in data["params"].items()}}


def load_model(name: str | os.PathLike | None = None, models_dir: str | os.PathLike | None = None) -> VertebraModel:
    """A model by registry name (default ``vertebrae-anatomical``) or a parameter file path.

    Falls back to the built-in defaults only when no name is given and the
    bundled entry is missing (a source checkout without weights).
    """
    from ..models.registry import load_entry

    if name is not None and Path(name).suffix == ".json" and Path(name).exists():
        return VertebraModel(_read_params(Path(name)), str(name))
    try:
        entry = load_entry(str(name or DEFAULT_MODEL), models_dir)
    except Exception:
        if name is None:
            return VertebraModel()
        raise
    return VertebraModel(_read_params(entry.path), entry.name, entry.summary())
