"""Maximum intensity projections (MIPs) of a CT volume, and their ``.npz`` archives.

A frontal MIP projects along the anterior-posterior axis (image rows = z from
superior to inferior, columns = x from the patient's right to left, as a
radiograph is viewed); a sagittal MIP projects along left-right (columns = y
from anterior to posterior). Images are resampled to a fixed mm grid so MIPs
of scans with different slice thickness line up.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..volume import Volume

__all__ = ["mip", "mip_pair", "save_mip_npz", "load_mip_npz"]


def mip(volume: Volume, view: str = "frontal", *, window: tuple[float, float] | None = (-200.0, 1500.0),
        pixel_mm: float | None = 1.0, mask: np.ndarray | None = None) -> np.ndarray:
    """A MIP as float32, rows from superior to inferior.

    Parameters
    ----------
    view
        ``'frontal'`` (project along y) or ``'sagittal'`` (project along x).
    window
        HU clip before projecting (None keeps raw HU).
    pixel_mm
        Resample rows and columns to this size in mm (None keeps the voxel grid).
    mask
        Optional boolean array on the volume's grid; voxels outside are ignored
        (e.g. a body mask that drops the table).
    """
    from scipy import ndimage

    ras = volume.to_ras()
    arr = ras.array
    if mask is not None:
        m = Volume(np.asarray(mask, np.uint8), volume.affine).to_ras().array.astype(bool)
        arr = np.where(m, arr, np.asarray(window[0] if window else arr.min(), arr.dtype))
    axis = {"frontal": 1, "sagittal": 0}[view]
    proj = arr.max(axis=axis).astype(np.float32)  # (x or y, z)
    if window is not None:
        np.clip(proj, window[0], window[1], out=proj)
    col_spacing = ras.spacing[0] if view == "frontal" else ras.spacing[1]
    img = proj.T[::-1]  # rows: z superior -> inferior
    img = img[:, ::-1]  # frontal: columns patient right -> left; sagittal: anterior -> posterior
    if pixel_mm:
        zoom = (ras.spacing[2] / pixel_mm, col_spacing / pixel_mm)
        img = ndimage.zoom(img, zoom, order=1)
    return np.ascontiguousarray(img, dtype=np.float32)


def mip_pair(volume: Volume, **kw) -> tuple[np.ndarray, np.ndarray]:
    """(frontal, sagittal) MIPs."""
    return mip(volume, "frontal", **kw), mip(volume, "sagittal", **kw)


def save_mip_npz(path: str | os.PathLike, exam_ids: Sequence[str], frontal: Sequence[np.ndarray],
                 sagittal: Sequence[np.ndarray], slice_thickness: Sequence[float], pixel_mm: float = 1.0,
                 **extra: Sequence) -> Path:
    """Write MIPs in the layout of the published MIP data sets.

    Keys: ``images_f`` / ``images_s`` (object arrays of 2-D float32 MIPs),
    ``names`` (exam ids), ``slice_thickness`` (mm of the source scan),
    ``spacings`` (MIP pixel size in mm), plus any ``extra`` per-exam arrays
    (e.g. ``ydata_T12`` / ``ydata_L3``: the level's row in the MIP).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def obj(seq):
        a = np.empty(len(seq), dtype=object)
        for i, v in enumerate(seq):
            a[i] = v
        return a

    data = {
        "images_f": obj(list(frontal)), "images_s": obj(list(sagittal)),
        "names": np.asarray(list(exam_ids), dtype=str),
        "slice_thickness": np.asarray(list(slice_thickness), dtype=np.float32),
        "spacings": np.full(len(exam_ids), pixel_mm, np.float32),
    }
    for k, v in extra.items():
        data[k] = np.asarray(list(v))
    tmp = path.with_name(path.name + ".part.npz")
    np.savez_compressed(tmp, **data)
    os.replace(tmp, path)
    return path


def load_mip_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read an archive written by :func:`save_mip_npz` (or a compatible one) into a dict."""
    with np.load(path, allow_pickle=True) as z:
        return {k: z[k] for k in z.files}
