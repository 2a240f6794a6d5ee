"""The model registry: ``manifest.json`` beside the weights.

Each bundled model is one entry::

    {"name": "levels-mip", "file": "levels_mip.pt", "sha256": "...", "task": "levels",
     "input": {...}, "trained_on": "synthetic: 400 hounsfield phantom chest patients, seeds 1000-1399",
     "command": "hounsfield train levels --data ... --seed 0", "config": {...}, "metrics": {...},
     "created": "2026-11-23"}

Models are looked up, in order, in a user folder passed as ``models_dir``
(``--models DIR`` on the CLI), in ``$HOUNSFIELD_HOME/models`` when that
variable is set, and in the package's own ``models/weights`` folder. The
checksum is verified once per process before the file is used.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import HounsfieldError

__all__ = ["ModelEntry", "checksum", "list_models", "load_entry", "model_path", "register_model", "BUNDLED_DIR"]

BUNDLED_DIR = Path(__file__).parent / "weights"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    file: str
    sha256: str
    task: str
    trained_on: str
    command: str
    input: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    folder: str = ""

    @property
    def path(self) -> Path:
        return Path(self.folder) / self.file

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d.pop("folder")
        return d

    def summary(self) -> dict[str, Any]:
        """What a report says about the model: name, checksum, what it was trained on."""
        return {"name": self.name, "sha256": self.sha256[:16], "trained_on": self.trained_on, "task": self.task}


def checksum(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _folders(models_dir: str | os.PathLike | None) -> list[Path]:
    out = []
    if models_dir:
        out.append(Path(models_dir))
    home = os.environ.get("HOUNSFIELD_HOME")
    if home:
        out.append(Path(home) / "models")
    out.append(BUNDLED_DIR)
    return out


def _read_manifest(folder: Path) -> list[dict[str, Any]]:
    p = folder / MANIFEST
    if not p.exists():
        return []
    try:
        data = json.loads(p.read_text())
    except ValueError as exc:
        raise HounsfieldError(f"{p}: broken model manifest ({exc})") from None
    return list(data.get("models", []))


def list_models(models_dir: str | os.PathLike | None = None) -> list[ModelEntry]:
    """Every model visible from ``models_dir``, the home folder and the package (first wins)."""
    seen: dict[str, ModelEntry] = {}
    for folder in _folders(models_dir):
        for d in _read_manifest(folder):
            if d.get("name") and d["name"] not in seen:
                known = {k: v for k, v in d.items() if k in ModelEntry.__dataclass_fields__}
                seen[d["name"]] = ModelEntry(**{**known, "folder": str(folder)})
    return list(seen.values())


@lru_cache(maxsize=None)
def _verified(path: str, sha: str) -> bool:
    got = checksum(path)
    if got != sha:
        raise HounsfieldError(f"{path}: checksum {got[:12]}... does not match the manifest ({sha[:12]}...); "
                              "the file is corrupt or was replaced")
    return True


def load_entry(name: str, models_dir: str | os.PathLike | None = None) -> ModelEntry:
    """The manifest entry of model ``name``, its weights file verified by sha256."""
    for entry in list_models(models_dir):
        if entry.name == name:
            if not entry.path.exists():
                raise HounsfieldError(f"model '{name}': weights file {entry.path} is missing")
            _verified(str(entry.path), entry.sha256)
            return entry
    where = ", ".join(str(f) for f in _folders(models_dir))
    raise HounsfieldError(f"no model named '{name}' in {where}; train one with 'hounsfield train'")


def model_path(name: str, models_dir: str | os.PathLike | None = None) -> Path:
    return load_entry(name, models_dir).path


def register_model(
    folder: str | os.PathLike, weights: str | os.PathLike, *, name: str, task: str, trained_on: str,
    command: str, input: dict[str, Any] | None = None, config: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None, created: str = "",
) -> ModelEntry:
    """Add (or replace) an entry in ``folder/manifest.json`` for a weights file in that folder."""
    folder = Path(folder)
    weights = Path(weights)
    if weights.parent.resolve() != folder.resolve():
        raise ValueError("the weights file must be inside the manifest's folder")
    entry = ModelEntry(name=name, file=weights.name, sha256=checksum(weights), task=task, trained_on=trained_on,
                       command=command, input=input or {}, config=config or {}, metrics=metrics or {},
                       created=created, folder=str(folder))
    models = [d for d in _read_manifest(folder) if d.get("name") != name] + [entry.to_dict()]
    models.sort(key=lambda d: d["name"])
    tmp = folder / (MANIFEST + ".part")
    tmp.write_text(json.dumps({"models": models}, indent=2) + "\n")
    os.replace(tmp, folder / MANIFEST)
    return entry
