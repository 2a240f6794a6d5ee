"""Training data for the level model: loading MIP sets and sampling augmented crops.

Sources accepted by :func:`load_dataset`:

* a ``.npz`` MIP archive (hounsfield's or the published format);
* a folder of such archives;
* a folder of synthetic patients (``hounsfield phantom chest -o DIR``): one
  sub-folder per patient with ``non_gated.nii.gz`` and ``truth.json`` (its
  ``levels`` block gives ``T12_z_mm`` and ``L3_z_mm``). Their MIPs are computed
  here (and cached by the caller as an archive).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from scipy import ndimage

from ..errors import InputError
from .archive import LEVEL_NAMES, load_mips
from .mip import AIR_HU, MipGrid, MipPair, _resample_axis, bone_window, compute_mips, regrid

__all__ = ["Example", "Augment", "load_dataset", "phantom_examples", "sample_crop", "full_input"]


@dataclass(frozen=True)
class Example:
    """One exam on the model grid with its true level rows (fractional; NaN = absent)."""

    pair: MipPair
    rows: np.ndarray  # (L,)


def _levels_to_rows(pair: MipPair, levels: np.ndarray) -> np.ndarray:
    if pair.z_top_mm is None:  # published archive: levels are rows of the original grid
        return np.asarray(levels, np.float64)
    return np.array([pair.z_to_row(z) if np.isfinite(z) else np.nan for z in levels], np.float64)


def phantom_examples(folder: str | os.PathLike, grid: MipGrid = MipGrid(), volume_name: str = "non_gated.nii.gz",
                     progress: Callable[[int, int], None] | None = None) -> tuple[list[MipPair], np.ndarray]:
    """MIPs and true level z of every synthetic patient under ``folder``."""
    from ..io import read

    folder = Path(folder)
    cases = sorted(p.parent for p in folder.rglob("truth.json") if (p.parent / volume_name).exists())
    pairs, lv = [], []
    for n, case in enumerate(cases):
        truth = json.loads((case / "truth.json").read_text())
        levels = truth.get("levels", {})
        z = [levels.get(f"{name}_z_mm") for name in LEVEL_NAMES]
        vol = read(case / volume_name)
        pairs.append(compute_mips(vol, exam_id=str(truth.get("patient_id", case.name)), grid=grid))
        lv.append([np.nan if v is None else float(v) for v in z])
        if progress:
            progress(n + 1, len(cases))
    return pairs, np.asarray(lv, np.float64).reshape(-1, 2)


def load_dataset(paths: Sequence[str | os.PathLike], grid: MipGrid = MipGrid()) -> list[Example]:
    """Every exam from the given archives/folders, regridded to ``grid``."""
    out: list[Example] = []
    for path in paths:
        path = Path(path)
        if path.is_file():
            files = [path]
        elif path.is_dir():
            files = sorted(path.rglob("*.npz"))
            if not files and any(path.rglob("truth.json")):
                pairs, lv = phantom_examples(path, grid)
                out.extend(Example(p, _levels_to_rows(p, z)) for p, z in zip(pairs, lv))
                continue
        else:
            raise InputError(f"{path}: no such file or folder")
        if not files:
            raise InputError(f"{path}: no .npz MIP archives or synthetic patients found")
        for f in files:
            pairs, lv = load_mips(f)
            for p, z in zip(pairs, lv):
                rows = _levels_to_rows(p, z)
                if p.z_top_mm is None:  # published rows -> rows of the model grid
                    rows = rows * p.z_mm / grid.z_mm
                out.append(Example(regrid(p, grid), rows))
    return out


@dataclass(frozen=True)
class Augment:
    """Augmentation settings for :func:`sample_crop` (all ranges inclusive)."""

    min_fov_mm: float = 100.0       # shortest simulated field of view
    z_scale: tuple[float, float] = (0.92, 1.08)
    hu_scale: tuple[float, float] = (0.85, 1.15)
    noise_hu: float = 40.0          # max SD of added noise (HU)
    thick_p: float = 0.3            # probability of simulating thick slices (z blur)
    shift_px: int = 12              # max lateral shift (columns)
    flip_p: float = 0.5             # left-right flip of the frontal view
    metal_p: float = 0.15           # probability of a bright implant-like blob
    short_fov_p: float = 0.6        # probability of cutting the field of view inside the crop


def _window_rows(a: np.ndarray, start: int, h: int, fill: float) -> np.ndarray:
    out = np.full((h,) + a.shape[1:], fill, dtype=a.dtype)
    lo, hi = max(0, start), min(a.shape[0], start + h)
    if hi > lo:
        out[lo - start:hi - start] = a[lo:hi]
    return out


def sample_crop(ex: Example, h: int, rng: np.random.Generator, aug: Augment | None, z_mm: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One training input: ``(frontal (h, W), sagittal (h, W), valid (h,), rows (L,))`` in the bone window.

    Without ``aug`` the crop is centred (deterministic) and nothing else changes.
    """
    f, s, valid, rows = ex.pair.frontal, ex.pair.sagittal, ex.pair.valid.copy(), ex.rows.copy()
    if aug is not None:
        sc = rng.uniform(*aug.z_scale)
        if abs(sc - 1) > 1e-3:
            n = int(np.floor((f.shape[0] - 1) * sc)) + 1
            src = np.arange(n) / sc
            f = _resample_axis(f, src, 0, AIR_HU)
            s = _resample_axis(s, src, 0, AIR_HU)
            valid = valid[np.clip(np.rint(src).astype(int), 0, len(valid) - 1)]
            rows = rows * sc
    nrow = f.shape[0]
    if aug is None:
        start = (nrow - h) // 2
    else:
        # mostly crops that contain some field of view; any offset is allowed
        start = int(rng.integers(-h // 3, max(nrow - 2 * h // 3, -h // 3 + 1)))
    f = _window_rows(f, start, h, AIR_HU)
    s = _window_rows(s, start, h, AIR_HU)
    valid = _window_rows(valid, start, h, False)
    rows = rows - start
    if aug is not None:
        if rng.random() < aug.short_fov_p and valid.any():
            idx = np.flatnonzero(valid)
            lo = aug.min_fov_mm / z_mm
            length = int(rng.uniform(lo, len(idx))) if len(idx) > lo else len(idx)
            a = int(idx[0] + rng.integers(0, max(1, len(idx) - length + 1)))
            cut = np.zeros_like(valid)
            cut[a:a + length] = True
            valid &= cut
        f = np.where(valid[:, None], f, AIR_HU)
        s = np.where(valid[:, None], s, AIR_HU)
        k = rng.uniform(*aug.hu_scale)
        off = rng.normal(0, 20)
        f = np.where(f > AIR_HU, f * k + off, f)
        s = np.where(s > AIR_HU, s * k + off, s)
        if rng.random() < aug.thick_p:
            size = int(rng.integers(2, 4))
            f = ndimage.uniform_filter1d(f, size, axis=0)
            s = ndimage.uniform_filter1d(s, size, axis=0)
        sd = rng.uniform(0, aug.noise_hu)
        f = f + rng.normal(0, sd, f.shape).astype(np.float32)
        s = s + rng.normal(0, sd, s.shape).astype(np.float32)
        if rng.random() < aug.metal_p:
            r0, c0 = int(rng.integers(0, h)), int(rng.integers(0, f.shape[1]))
            hh, ww = int(rng.integers(3, 20)), int(rng.integers(2, 10))
            img = f if rng.random() < 0.5 else s
            img[max(0, r0 - hh):r0 + hh, max(0, c0 - ww):c0 + ww] = rng.uniform(1500, 3000)
        sh = int(rng.integers(-aug.shift_px, aug.shift_px + 1))
        f = np.roll(f, sh, axis=1)
        s = np.roll(s, int(rng.integers(-aug.shift_px, aug.shift_px + 1)), axis=1)
        if rng.random() < aug.flip_p:
            f = f[:, ::-1]
    # a level is only "present" when its centre lies inside the valid field of view
    vrows = np.flatnonzero(valid)
    for j, r in enumerate(rows):
        if not np.isfinite(r) or len(vrows) == 0 or not (vrows[0] - 0.5 <= r <= vrows[-1] + 0.5):
            rows[j] = np.nan
    return bone_window(f), bone_window(s), valid, rows


def full_input(pair: MipPair, multiple: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole-scan model input, padded at the bottom to a multiple of ``multiple`` rows."""
    h = int(np.ceil(pair.rows / multiple) * multiple)
    f = _window_rows(pair.frontal, 0, h, AIR_HU)
    s = _window_rows(pair.sagittal, 0, h, AIR_HU)
    v = _window_rows(pair.valid.astype(bool), 0, h, False)
    return bone_window(f), bone_window(s), v
