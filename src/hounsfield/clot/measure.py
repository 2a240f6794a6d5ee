"""Clot measurements from a mask: volume, length, location."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from ..volume import Volume

__all__ = ["components", "clean_mask", "measure_clot", "territory"]


def components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """26-connected components of a binary mask and their voxel counts (index 0 = background)."""
    lab, _ = ndimage.label(mask > 0, structure=np.ones((3, 3, 3), bool))
    return lab, np.bincount(lab.ravel())


def clean_mask(mask: Volume, min_volume_mm3: float) -> Volume:
    """Drop connected components smaller than ``min_volume_mm3``."""
    lab, counts = components(mask.array)
    keep = counts * mask.voxel_volume_mm3 >= min_volume_mm3
    keep[0] = False
    return mask.with_array(keep[lab].astype(np.uint8))


def _length(points_mm: np.ndarray, spacing: np.ndarray, axes: np.ndarray) -> float:
    """Extent of the voxel set along its principal axis (+ one voxel's extent along it)."""
    if len(points_mm) == 1:
        return float(spacing.min())
    c = points_mm - points_mm.mean(0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    u = vt[0]
    proj = c @ u
    voxel_extent = float(np.sum(np.abs(axes.T @ u)))
    return float(proj.max() - proj.min() + voxel_extent)


def territory(centroid_mm: np.ndarray, cow_centre_mm: np.ndarray) -> str:
    """Approximate arterial segment from the position relative to the Circle-of-Willis centre.

    Atlas-free and coarse (rules on the offsets in mm; validated only on the
    synthetic heads, see ``docs/clot.md``): ``ICA``, ``BA``, ``ACA``, ``PCA``,
    ``M1`` or ``M2``.
    """
    d = np.asarray(centroid_mm, float) - np.asarray(cow_centre_mm, float)
    lateral, ap, si = abs(d[0]), d[1], d[2]
    if si < -8 and lateral <= 9:
        return "BA"
    if si < -6 and lateral > 9:
        return "ICA"
    if lateral <= 10 and ap > 6:
        return "ACA"
    if ap < -8 and lateral < 30:
        return "PCA"
    return "M1" if lateral < 38 else "M2"


def measure_clot(mask: Volume, midline_x_mm: float | None = None, cow_centre_mm: Any = None) -> dict[str, Any]:
    """Volume (mm^3), length (mm, largest component), components, centroid, slices, side, segment."""
    arr = mask.array > 0
    n = int(arr.sum())
    out: dict[str, Any] = {"detected": n > 0, "volume_mm3": round(n * mask.voxel_volume_mm3, 3), "length_mm": 0.0,
                           "n_components": 0, "centroid_mm": None, "slices": None, "side": None, "segment": None}
    if n == 0:
        return out
    lab, counts = components(arr)
    big = int(np.argmax(counts[1:]) + 1)
    idx = np.argwhere(lab == big)
    pts = mask.world(idx)
    axes = mask.affine[:3, :3]
    out["length_mm"] = round(_length(pts, np.asarray(mask.spacing), axes), 3)
    out["n_components"] = int(len(counts) - 1)
    allpts = mask.world(np.argwhere(arr))
    centroid = allpts.mean(0)
    out["centroid_mm"] = [round(float(x), 2) for x in centroid]
    ks = np.nonzero(arr.any(axis=(0, 1)))[0]
    out["slices"] = [int(ks.min()), int(ks.max())]
    if midline_x_mm is not None:
        dx = centroid[0] - midline_x_mm
        out["side"] = "midline" if abs(dx) < 4 else ("right" if dx > 0 else "left")
    if cow_centre_mm is not None:
        out["segment"] = territory(centroid, np.asarray(cow_centre_mm))
    return out
