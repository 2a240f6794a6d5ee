"""Built-in heart region: a CPU-fast anatomical heuristic (no weights).

Works on a 3 mm copy of the scan (reoriented to RAS by flips/permutations):

1. air = components below -400 HU; outside air = those of pure air (mean < -950 HU)
   reaching the in-plane border; body = everything else;
2. lungs = aerated components (mean >= -950 HU) of at least 50 mL (they may
   reach the border when the scan is a crop around the heart);
3. mediastinum = voxels lying between lung voxels along the left-right axis of
   the same row (a vectorised "span" test: lung somewhere to the left and
   somewhere to the right), minus the lungs;
4. bone = components >= 200 HU of at least 10 mL that leave the mediastinum
   (ribs), lie posterior of the lungs' centre (spine) or within 30 mm of the
   skin (sternum); a contrast-filled blood pool is none of these;
5. heart = the largest component of soft tissue or blood (-30 to 800 HU) in the
   mediastinum, in front of the vertebral bodies, bone removed, after a
   2-voxel opening (cuts thin links to the great vessels).

The heart is declared *not in the field of view* when the lungs hold less than
150 mL, or the candidate is smaller than 150 mL, or it is cut by the top of
the scan with less than 60 mm of lung above its lowest slice (only the lung
bases in view, as in an abdominal CT). Contrast is judged from the median HU
of the region (the blood pool dominates it).

It is a heuristic, documented as such: it finds the heart of ordinary chest
CTs and CTAs, it may include the liver dome or the aortic root, so lesions in
it are classified afterwards (coronary vs other).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..errors import InputError
from ..volume import Volume

__all__ = ["HeartNotFoundError", "HeartRegion", "heart_region"]


class HeartNotFoundError(InputError):
    """The heart is not in the field of view (or could not be found)."""


@dataclass(frozen=True)
class HeartRegion:
    heart: Volume  # uint8 mask on the 3 mm working grid (align by affine)
    bone: Volume  # uint8 mask of large dense structures on the same grid
    lungs_ml: float
    heart_ml: float
    median_hu: float
    source: str = "builtin heuristic"


def _coarse(volume: Volume, mm: float) -> Volume:
    ras = volume.to_ras()
    sp = np.asarray(ras.spacing)
    f = np.maximum(np.round(mm / sp), 1).astype(int)
    arr = ras.array.astype(np.float32)
    if (f > 1).any():
        arr = ndimage.uniform_filter(arr, size=tuple(f), mode="nearest")
    shape = tuple(int(np.ceil(s / k)) for s, k in zip(ras.shape, f))
    aff = ras.affine.copy()
    aff[:3, :3] = ras.affine[:3, :3] * f[None, :]
    aff[:3, 3] = ras.world((f - 1) / 2.0)
    src = Volume(arr, ras.affine, ras.meta)
    return src.resample_to(shape, aff, order=0, fill=-1000)


def _largest(mask: np.ndarray, structure: np.ndarray | None = None) -> np.ndarray:
    lab, n = ndimage.label(mask, structure=structure)
    if n == 0:
        return mask.copy()
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == sizes.argmax()


def heart_region(volume: Volume, coarse_mm: float = 3.0) -> HeartRegion:
    """Find the heart (and large bones) in a chest CT; raise :class:`HeartNotFoundError` if absent."""
    c = _coarse(volume, coarse_mm)
    a = c.array
    vox_ml = c.voxel_volume_mm3 / 1000.0
    air = a < -400
    lab, n = ndimage.label(air)
    cnt = np.bincount(lab.ravel(), minlength=n + 1)
    sizes = cnt * vox_ml
    mean_hu = np.bincount(lab.ravel(), weights=a.ravel(), minlength=n + 1) / np.maximum(cnt, 1)
    edge = np.zeros(n + 1, bool)
    for face in (lab[0], lab[-1], lab[:, 0], lab[:, -1]):
        edge[np.unique(face)] = True
    # outside air is pure air (< -950 HU on the 3 mm grid) reaching the in-plane border; lungs are aerated
    # tissue (about -850 HU), which may reach the border too when the scan is a crop
    outside_ids = edge & (mean_hu < -950)
    outside_ids[0] = False
    lung_ids = (sizes >= 50.0) & (mean_hu >= -950) & ~outside_ids
    lung_ids[0] = False
    lungs = lung_ids[lab]
    body = ~ndimage.binary_dilation(outside_ids[lab], iterations=1)
    lungs_ml = float(lungs.sum() * vox_ml)
    if lungs_ml < 150.0:
        raise HeartNotFoundError(f"heart not in field of view: only {lungs_ml:.0f} mL of lung in the scan "
                                 "(a chest CT covering the heart is needed)")
    left = np.cumsum(lungs, axis=0) > 0
    right = np.cumsum(lungs[::-1], axis=0)[::-1] > 0
    between = left & right & ~lungs & body
    dense = a >= 200
    dlab, dn = ndimage.label(dense)
    bone = np.zeros_like(dense)
    spine_front = None
    if dn:
        ids = dlab.ravel()
        dsize = np.bincount(ids, minlength=dn + 1) * vox_ml
        outside = np.bincount(ids, weights=(~between).ravel(), minlength=dn + 1) * vox_ml
        jj = np.indices(a.shape)[1].ravel().astype(np.float64)
        cj = np.bincount(ids, weights=jj, minlength=dn + 1) / np.maximum(dsize / vox_ml, 1)
        depth = ndimage.distance_transform_edt(body, sampling=c.spacing).ravel()
        cdepth = np.bincount(ids, weights=depth, minlength=dn + 1) / np.maximum(dsize / vox_ml, 1)
        lung_j = float(np.argwhere(lungs)[:, 1].mean())
        big = dsize >= 10.0
        # ribs and anything leaving the mediastinum; the spine (posterior of the lungs' centre);
        # the sternum (close to the skin). A contrast blood pool is central and deep: none of these.
        spine = big & (cj < lung_j)
        is_bone = big & ((outside > 0.25 * dsize) | spine | (cdepth < 30.0))
        is_bone[0] = False
        spine[0] = False
        bone = is_bone[dlab]
        if spine.any():
            spine_front = int(np.argwhere(spine[dlab])[:, 1].max())
    soft = between & (a > -30) & (a < 800) & ~ndimage.binary_dilation(bone, iterations=1)
    if spine_front is not None:  # the heart lies in front of the vertebral bodies
        soft[:, : spine_front + 2, :] = False
    soft = ndimage.binary_opening(soft, structure=ndimage.generate_binary_structure(3, 1), iterations=2)
    heart = _largest(soft)
    heart_ml = float(heart.sum() * vox_ml)
    if heart_ml < 150.0:
        raise HeartNotFoundError(f"heart not in field of view: no soft-tissue mass between the lungs larger than "
                                 f"150 mL (largest {heart_ml:.0f} mL)")
    ks = np.flatnonzero(heart.any(axis=(0, 1)))
    lung_ks = np.flatnonzero(lungs.any(axis=(0, 1)))
    dz = c.spacing[2]
    if ks[-1] >= a.shape[2] - 1 and (lung_ks[-1] - ks[0]) * dz < 60.0:
        raise HeartNotFoundError("heart not in field of view: only the lung bases are in the scan "
                                 f"({(lung_ks[-1] - lung_ks[0] + 1) * dz:.0f} mm of lung)")
    heart = ndimage.binary_closing(heart, iterations=2) & body
    med = float(np.median(a[heart]))
    return HeartRegion(heart=Volume(heart.astype(np.uint8), c.affine), bone=Volume(bone.astype(np.uint8), c.affine),
                       lungs_ml=lungs_ml, heart_ml=float(heart.sum() * vox_ml), median_hu=med)
