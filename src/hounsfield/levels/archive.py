"""MIP archives (``.npz``) in the format the published T12/L3 training data uses.

Published archives hold object arrays of 2-D HU MIPs of varying size, rows
from superior to inferior:

* ``imgs_f`` / ``imgs_s``: frontal / sagittal MIPs (training archives),
  or ``x``: frontal MIPs only (inference archives);
* ``ids``: exam IDs; ``thicks``: slice thickness (mm) of each exam;
* ``v_levels``: ``(N, 2)`` rows of ``[T12, L3]`` in MIP rows, ``-1`` when absent.

Their rows are 1 mm apart (``published_row_mm``). The sarcopenia-ai layout
(``images_f``, ``images_s``, ``names``, ``slice_thickness``, ``spacings``,
``ydata_T12`` / ``ydata_L3`` rows) - also what ``hounsfield phantom chest
--format mip`` writes - loads as well. Published MIPs are displayed with the
patient's right (frontal) and anterior (sagittal) on the left; their columns are
flipped on loading to hounsfield's order (world +x, +y). hounsfield writes the same
keys (so existing loaders read our archives as they are) plus its own
geometry: ``z_mm``, ``lateral_mm``, ``z_top_mm``, ``valid``, ``k_z0``,
``k_dz``, ``n_slices`` and ``levels_z_mm`` (world z of each level, NaN when
absent), which let predictions be mapped back to the input's slice index.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError
from .mip import AIR_HU, MipPair

__all__ = ["FORMAT_VERSION", "LEVEL_NAMES", "load_mips", "save_mips"]

FORMAT_VERSION = 1
#: column order of ``v_levels`` / ``levels_z_mm`` (the published order)
LEVEL_NAMES = ("T12", "L3")


def _objarray(items: Sequence[np.ndarray]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, a in enumerate(items):
        out[i] = a
    return out


def _int16(a: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(a), -32768, 32767).astype(np.int16)


def save_mips(pairs: Sequence[MipPair], path: str | os.PathLike,
              levels_z_mm: np.ndarray | None = None) -> Path:
    """Write MIPs (and optionally their true level z, ``(N, 2)`` T12, L3, NaN = absent) to ``path``.

    The file is written to a temporary name and renamed.
    """
    path = Path(path)
    n = len(pairs)
    lv = np.full((n, 2), np.nan) if levels_z_mm is None else np.asarray(levels_z_mm, np.float64).reshape(n, 2)
    v_rows = np.full((n, 2), -1, dtype=np.int64)
    for i, p in enumerate(pairs):
        for j in range(2):
            if np.isfinite(lv[i, j]) and p.z_top_mm is not None:
                r = int(np.rint(p.z_to_row(lv[i, j])))
                v_rows[i, j] = r if 0 <= r < p.rows else -1

    def opt(vals: list[float | None]) -> np.ndarray:
        return np.array([np.nan if v is None else float(v) for v in vals], np.float64)

    arrays = {
        "imgs_f": _objarray([_int16(p.frontal) for p in pairs]),
        "imgs_s": _objarray([_int16(p.sagittal) for p in pairs]),
        "ids": np.array([p.exam_id for p in pairs], dtype=object),
        "thicks": opt([p.thickness_mm for p in pairs]),
        "v_levels": v_rows,
        "hounsfield_format": np.int64(FORMAT_VERSION),
        "z_mm": np.array([p.z_mm for p in pairs], np.float64),
        "lateral_mm": np.array([p.lateral_mm for p in pairs], np.float64),
        "z_top_mm": opt([p.z_top_mm for p in pairs]),
        "valid": _objarray([p.valid.astype(bool) for p in pairs]),
        "k_z0": opt([p.k_z0 for p in pairs]),
        "k_dz": opt([p.k_dz for p in pairs]),
        "n_slices": np.array([-1 if p.n_slices is None else p.n_slices for p in pairs], np.int64),
        "levels_z_mm": lv,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
    return path


def _nan_none(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def load_mips(path: str | os.PathLike, published_row_mm: float = 1.0) -> tuple[list[MipPair], np.ndarray]:
    """Read an archive: ``(pairs, levels)`` with ``levels`` of shape ``(N, 2)``.

    For hounsfield archives ``levels`` holds world z (mm, NaN = absent). For
    published archives (no geometry) it holds MIP rows as floats (NaN =
    absent) and the pairs have ``z_top_mm = None``; their rows are taken as
    ``published_row_mm`` apart. An inference archive with only ``x``
    (frontal MIPs) gets an empty sagittal view.
    """
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=True)
    except Exception as exc:  # noqa: BLE001 - numpy raises many kinds for a broken file
        raise InputError(f"{path}: not a readable .npz archive ({exc})") from None
    keys = set(data.files)
    row_mm = np.full(0, np.nan)
    if "images_f" in keys:  # sarcopenia-ai layout (also written by 'hounsfield phantom chest --format mip')
        fr = list(data["images_f"])
        sa = list(data["images_s"]) if "images_s" in keys else [None] * len(fr)
        n0 = len(fr)
        data = {**{k: data[k] for k in keys}, "ids": data["names"] if "names" in keys else None,
                "thicks": data["slice_thickness"] if "slice_thickness" in keys else np.full(n0, np.nan)}
        if "spacings" in keys:
            row_mm = np.asarray(data["spacings"], np.float64).reshape(-1)
        if "ydata_T12" in keys or "ydata_L3" in keys:
            data["v_levels"] = np.stack([np.asarray(data.get(f"ydata_{lv}", np.full(n0, -1)), np.float64).reshape(-1)
                                         for lv in LEVEL_NAMES], axis=1)
        if data["ids"] is None:
            data.pop("ids")
        keys = set(data)
    elif "imgs_f" in keys:
        fr = list(data["imgs_f"])
        sa = list(data["imgs_s"]) if "imgs_s" in keys else [None] * len(fr)
    elif "x" in keys:
        fr = [np.squeeze(np.asarray(a)) for a in data["x"]]
        sa = [None] * len(fr)
    else:
        raise InputError(f"{path}: no 'imgs_f' or 'x' array of MIPs in this archive")
    n = len(fr)
    ids = [str(i) for i in data["ids"]] if "ids" in keys else [f"{path.stem}_{i}" for i in range(n)]
    thicks = np.asarray(data["thicks"], np.float64) if "thicks" in keys else np.full(n, np.nan)
    ours = "hounsfield_format" in keys
    pairs: list[MipPair] = []
    for i in range(n):
        f = np.asarray(fr[i], np.float32)
        s = np.full_like(f, AIR_HU) if sa[i] is None else np.asarray(sa[i], np.float32)
        if f.ndim != 2 or s.ndim != 2 or s.shape[0] != f.shape[0]:
            raise InputError(f"{path}: exam {ids[i]}: MIPs must be 2-D with the same number of rows")
        if not ours:  # published layouts show the patient's right and anterior on the left: flip to +x, +y
            f, s = f[:, ::-1].copy(), s[:, ::-1].copy()
        if ours:
            pairs.append(MipPair(
                exam_id=ids[i], frontal=f, sagittal=s, z_top_mm=_nan_none(data["z_top_mm"][i]),
                z_mm=float(data["z_mm"][i]), lateral_mm=float(data["lateral_mm"][i]),
                valid=np.asarray(data["valid"][i], bool), thickness_mm=_nan_none(thicks[i]),
                k_z0=_nan_none(data["k_z0"][i]), k_dz=_nan_none(data["k_dz"][i]),
                n_slices=None if int(data["n_slices"][i]) < 0 else int(data["n_slices"][i]),
            ))
        else:
            rmm = float(row_mm[i]) if i < len(row_mm) and np.isfinite(row_mm[i]) else float(published_row_mm)
            pairs.append(MipPair(
                exam_id=ids[i], frontal=f, sagittal=s, z_top_mm=None, z_mm=rmm,
                lateral_mm=rmm, valid=np.ones(f.shape[0], bool),
                thickness_mm=_nan_none(thicks[i]) if i < len(thicks) else None,
                decisions=("published archive: rows %g mm apart, no slice geometry" % rmm,),
            ))
    if ours:
        levels = np.asarray(data["levels_z_mm"], np.float64).reshape(n, 2)
    elif "v_levels" in keys:
        levels = np.asarray(data["v_levels"], np.float64).reshape(n, 2)
        levels[levels < 0] = np.nan
    else:
        levels = np.full((n, 2), np.nan)
    return pairs, levels
