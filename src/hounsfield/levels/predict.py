"""Level prediction: MIPs -> T12 / L3 rows -> world z -> the input's slice index.

A level whose centre is not inside the scanned field of view is reported
empty with the reason; it is never guessed.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import InputError
from .archive import LEVEL_NAMES
from .mip import MipGrid, MipPair, regrid

__all__ = ["DEFAULT_MODEL", "LevelAnswer", "LevelResult", "LevelPredictor", "CSV_COLUMNS", "write_csv",
           "read_csv", "load_predictor", "overlay_png"]

#: name of the bundled model in the registry
DEFAULT_MODEL = "levels-mip"


@dataclass(frozen=True)
class LevelAnswer:
    """One level of one exam."""

    level: str
    slice: int | None          # 0-based k of the input file as stored
    z_mm: float | None         # world z, superior-positive
    confidence: float          # 0..1: probability mass within +-5 mm of the answer
    reason: str = ""           # why slice/z are empty (or a note)
    row: float | None = None   # fractional row of the MIP


@dataclass(frozen=True)
class LevelResult:
    exam_id: str
    answers: dict[str, LevelAnswer]
    pair: MipPair | None = field(default=None, compare=False, repr=False)
    seconds: float = 0.0
    model: dict[str, Any] = field(default_factory=dict)

    def row(self, levels: Sequence[str] = LEVEL_NAMES) -> dict[str, Any]:
        """One CSV row."""
        out: dict[str, Any] = {"exam_id": self.exam_id}
        for lev in levels:
            a = self.answers[lev]
            out[f"{lev}_slice"] = "" if a.slice is None else a.slice
            out[f"{lev}_z_mm"] = "" if a.z_mm is None else round(a.z_mm, 2)
            out[f"{lev}_confidence"] = round(a.confidence, 3)
            out[f"{lev}_reason"] = a.reason
        return out


def CSV_COLUMNS(levels: Sequence[str] = LEVEL_NAMES) -> list[str]:  # noqa: N802 - reads like a constant
    cols = ["exam_id"]
    cols += [f"{lev}_slice" for lev in levels] + [f"{lev}_z_mm" for lev in levels]
    cols += [f"{lev}_confidence" for lev in levels] + [f"{lev}_reason" for lev in levels]
    return cols


def write_csv(results: Sequence[LevelResult], path: str | os.PathLike, levels: Sequence[str] = LEVEL_NAMES) -> Path:
    """One row per exam (atomic write)."""
    from ..io.sidecar import write_csv as write_rows

    return write_rows([r.row(levels) for r in results], CSV_COLUMNS(levels), path)


def read_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


class LevelPredictor:
    """A loaded level model.

    Parameters
    ----------
    weights
        Path of a weights file written by :func:`hounsfield.levels.train.train`.
    info
        What to record about the model in results (name, checksum, training data).
    """

    def __init__(self, weights: str | os.PathLike, info: dict[str, Any] | None = None) -> None:
        import torch

        from .model import LevelNet

        blob = torch.load(str(weights), map_location="cpu", weights_only=True)
        self.levels: tuple[str, ...] = tuple(blob["levels"])
        self.grid = MipGrid(**blob["grid"])
        self.net = LevelNet.from_config(blob["model_config"])
        self.net.load_state_dict(blob["state_dict"])
        self.net.eval()
        self.info = dict(info or {"file": str(weights)})

    def heatmaps(self, pair: MipPair) -> tuple[MipPair, list[Any]]:
        """Network answers on the model grid for one exam."""
        import torch

        from .data import full_input
        from .model import decode

        p = regrid(pair, self.grid)
        f, s, v = full_input(p)
        dev = next(self.net.parameters()).device
        with torch.no_grad():
            rows, absent = self.net(torch.from_numpy(f)[None, None].to(dev), torch.from_numpy(s)[None, None].to(dev),
                                    torch.from_numpy(v)[None].to(dev))
        rows, absent = rows.cpu(), absent.cpu()
        hm = decode(rows[:, :, : p.rows], absent, torch.from_numpy(v[: p.rows])[None], p.z_mm)[0]
        return p, hm

    def predict(self, pair: MipPair, levels: Sequence[str] | None = None) -> LevelResult:
        """Levels of one exam, mapped to the input's slice index when its geometry is known."""
        import time

        t0 = time.perf_counter()
        levels = tuple(levels or self.levels)
        unknown = [lv for lv in levels if lv not in self.levels]
        if unknown:
            raise InputError(f"unknown level(s) {', '.join(unknown)}; this model knows {', '.join(self.levels)}")
        p, hm = self.heatmaps(pair)
        answers = {}
        vrows = np.flatnonzero(p.valid)
        for lev in levels:
            h = hm[self.levels.index(lev)]
            if h.row is None:
                fov = ""
                if p.z_top_mm is not None and len(vrows):
                    fov = f" (z {p.row_to_z(vrows[-1]):.0f}..{p.row_to_z(vrows[0]):.0f} mm)"
                answers[lev] = LevelAnswer(lev, None, None, h.p_absent,
                                           f"not in the field of view{fov}: p={h.p_absent:.2f}", None)
                continue
            if p.z_top_mm is None:
                # published archive without geometry: slice counted from the top of the MIP
                sl = None
                reason = "archive has no slice geometry"
                if pair.thickness_mm:
                    sl = int(np.rint(h.row * p.z_mm / pair.thickness_mm))
                    reason = "slice counted from the top of the MIP at the archive's thickness (no geometry)"
                answers[lev] = LevelAnswer(lev, sl, None, h.confidence, reason, h.row)
                continue
            z = float(p.row_to_z(h.row))
            k = pair.z_to_k(z)
            reason = ""
            if k is None:
                reason = ("the input's slice axis is not superior-inferior" if pair.k_dz is None
                          else "z lies outside the input's slices")
            answers[lev] = LevelAnswer(lev, k, z, h.confidence, reason, h.row)
        return LevelResult(pair.exam_id, answers, pair=p, seconds=time.perf_counter() - t0, model=self.info)


def load_predictor(model: str | os.PathLike | None = None, models_dir: str | os.PathLike | None = None
                   ) -> LevelPredictor:
    """The bundled model (default), a registry name, or a weights file path."""
    from ..models.registry import load_entry

    if model is not None and Path(model).suffix == ".pt" and Path(model).exists():
        return LevelPredictor(model, {"file": str(model)})
    entry = load_entry(str(model or DEFAULT_MODEL), models_dir)
    return LevelPredictor(entry.path, entry.summary())


def overlay_png(result: LevelResult, path: str | os.PathLike) -> Path:
    """The frontal and sagittal MIPs (bone window) with a line at each predicted level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .mip import bone_window

    p = result.pair
    if p is None:
        raise ValueError("result carries no MIPs")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    aspect = p.z_mm / p.lateral_mm
    fig, axes = plt.subplots(1, 2, figsize=(7, max(4.0, 7 * p.rows * aspect / (2 * p.frontal.shape[1]))))
    colours = {"T12": "tab:orange", "L3": "tab:red"}
    for ax, img, name in ((axes[0], p.frontal, "frontal"), (axes[1], p.sagittal, "sagittal")):
        ax.imshow(bone_window(img), cmap="gray", aspect=aspect, vmin=0, vmax=1)
        for lev, a in result.answers.items():
            if a.row is not None:
                ax.axhline(a.row, color=colours.get(lev, "tab:blue"), lw=1.2)
                label = f"{lev} k={a.slice}" if a.slice is not None else lev
                ax.text(2, a.row - 2, f"{label} ({a.confidence:.2f})", color=colours.get(lev, "tab:blue"), fontsize=8)
        ax.set_title(name, fontsize=9)
        ax.set_axis_off()
    missing = [f"{lev}: {a.reason}" for lev, a in result.answers.items() if a.row is None]
    fig.suptitle(result.exam_id + ("\n" + "; ".join(missing) if missing else ""), fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".part.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)
    return path
