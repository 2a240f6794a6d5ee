"""Overlap-weighted slab averaging along the slice axis.

Each input slice ``k`` is taken to represent the interval
``[k - 1/2, k + 1/2]`` of the slice axis (one increment wide). An output slab
of thickness ``T`` mm covers an interval of ``T / d`` input slices; its value is
the average of the input slices weighted by how much of each slice's interval
lies inside the slab. With 0.75 mm slices a 3 mm slab is the plain average of 4
slices; with 1.25 mm slices the weights are 1.25, 1.25, 0.5 (divided by 3).

Slabs start at the lower edge of the first slice and step by the output
increment; only slabs completely covered by the input are produced.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..volume import Volume

__all__ = ["slab_average", "slab_weights"]


def slab_weights(n_slices: int, spacing_mm: float, thickness_mm: float, increment_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Weights of input slices in each output slab.

    Parameters
    ----------
    n_slices
        Number of input slices.
    spacing_mm
        Input slice increment (each slice represents this much of the axis).
    thickness_mm, increment_mm
        Output slab thickness and increment.

    Returns
    -------
    weights
        ``(n_slabs, n_slices)`` array, rows summing to 1.
    centres
        Slab centres in (fractional) input slice index units.

    Examples
    --------
    >>> w, c = slab_weights(5, 1.25, 3.0, 3.0)
    >>> (w * 3).round(6).tolist()
    [[1.25, 1.25, 0.5, 0.0, 0.0], [0.0, 0.0, 0.75, 1.25, 1.0]]
    >>> c.round(6).tolist()
    [0.7, 3.1]
    """
    if spacing_mm <= 0 or thickness_mm <= 0 or increment_mm <= 0:
        raise InputError("slab averaging needs positive spacing, thickness and increment")
    span = thickness_mm / spacing_mm  # slab width in input-slice units
    step = increment_mm / spacing_mm
    eps = 1e-9
    n_slabs = int(np.floor((n_slices - span) / step + eps)) + 1 if n_slices + eps >= span else 0
    starts = -0.5 + step * np.arange(n_slabs)
    lo = np.arange(n_slices) - 0.5
    hi = lo + 1.0
    overlap = np.clip(np.minimum(hi[None, :], starts[:, None] + span) - np.maximum(lo[None, :], starts[:, None]), 0, None)
    weights = overlap / span
    weights[weights < 1e-12] = 0.0
    return weights, starts + span / 2.0


def slab_average(volume: Volume, thickness_mm: float = 3.0, increment_mm: float = 3.0,
                 dtype: np.dtype | type | None = None) -> Volume:
    """Average ``volume`` into slabs along its slice (k) axis.

    The output keeps the in-plane grid; its k axis has the new increment and
    its origin sits at the centre of the first slab, so world coordinates stay
    exact. ``dtype`` defaults to the input's (integers are rounded).
    """
    d = float(np.linalg.norm(volume.affine[:3, 2]))
    w, centres = slab_weights(volume.shape[2], d, thickness_mm, increment_mm)
    if w.shape[0] == 0:
        raise InputError(f"the scan covers {volume.shape[2] * d:g} mm, less than one {thickness_mm:g} mm slab")
    src = volume.array
    out = np.empty(volume.shape[:2] + (w.shape[0],), np.float32)
    for m, row in enumerate(w):  # loop over slabs (tens), each a vectorised sum of a few slices
        ks = np.flatnonzero(row)
        acc = np.zeros(volume.shape[:2], np.float32)
        for k in ks:
            acc += np.float32(row[k]) * src[:, :, k]
        out[:, :, m] = acc
    target = np.dtype(dtype) if dtype is not None else src.dtype
    if np.issubdtype(target, np.integer):
        info = np.iinfo(target)
        out = np.clip(np.rint(out), info.min, info.max)
    aff = volume.affine.copy()
    aff[:3, 3] = volume.affine[:3, :3] @ np.array([0.0, 0.0, centres[0]]) + volume.affine[:3, 3]
    aff[:3, 2] = volume.affine[:3, 2] * (increment_mm / d)
    meta = volume.meta.replace(increment_mm=float(increment_mm), thickness_mm=float(thickness_mm))
    return Volume(out.astype(target, copy=False), aff, meta)
