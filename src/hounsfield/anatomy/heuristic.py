"""Built-in heart region: the bundled heart/bone segmenter, with a CPU-fast anatomical heuristic behind it.

When the ``heart-bones`` model is registered (:mod:`hounsfield.anatomy.heart_model`)
the heart and bones come from it, after the same lung checks as below (field
of view); when it finds no heart (< 150 mL), or torch/MONAI are missing, the
heuristic runs.

The heuristic (no weights):

Works on a 3 mm copy of the scan (reoriented to RAS by flips/permutations):

1. outside air = pure air (<= -940 HU) connected to the in-plane border;
   body = everything else;
2. lungs = aerated components below -400 HU inside the body (mean >= -950 HU,
   at least 50 mL, after a one-voxel opening); they may reach the border when
   the scan is a crop around the heart;
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
from .heart_model import coarse_grid

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


_coarse = coarse_grid  # block means to ~3 mm, RAS (shared with the learned segmenter)


def _largest(mask: np.ndarray, structure: np.ndarray | None = None) -> np.ndarray:
    lab, n = ndimage.label(mask, structure=structure)
    if n == 0:
        return mask.copy()
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == sizes.argmax()


def heart_region(volume: Volume, coarse_mm: float = 3.0, model: str | None = "default") -> HeartRegion:
    """Find the heart (and large bones) in a chest CT; raise :class:`HeartNotFoundError` if absent.

    ``model``: the registered heart/bone segmenter to use (``"default"``: the bundled
    ``heart-bones`` U-Net when torch and MONAI are installed); ``None`` or no model:
    the anatomical heuristic below. The lung checks (field of view) always run.
    """
    c = _coarse(volume, coarse_mm)
    a = c.array
    vox_ml = c.voxel_volume_mm3 / 1000.0
    # outside air: pure air (<= -940 HU on the 3 mm grid) connected to the in-plane border
    pure = a <= -940
    plab, pn = ndimage.label(pure)
    edge = np.zeros(pn + 1, bool)
    for face in (plab[0], plab[-1], plab[:, 0], plab[:, -1]):
        edge[np.unique(face)] = True
    edge[0] = False
    outside = ndimage.binary_dilation(edge[plab], iterations=1)
    body = ~outside
    # lungs: aerated tissue (about -850 HU) in components of at least 50 mL; they may reach the border
    # when the scan is a crop around the heart, so they are separated from outside air by HU, not by the border
    air = (a < -400) & body
    air = ndimage.binary_opening(air, iterations=1)
    lab, n = ndimage.label(air)
    cnt = np.bincount(lab.ravel(), minlength=n + 1)
    sizes = cnt * vox_ml
    mean_hu = np.bincount(lab.ravel(), weights=a.ravel(), minlength=n + 1) / np.maximum(cnt, 1)
    lung_ids = (sizes >= 50.0) & (mean_hu >= -950)
    lung_ids[0] = False
    lungs = lung_ids[lab]
    lungs_ml = float(lungs.sum() * vox_ml)
    if lungs_ml < 150.0:
        raise HeartNotFoundError(f"heart not in field of view: only {lungs_ml:.0f} mL of lung in the scan "
                                 "(a chest CT covering the heart is needed)")
    learned = None
    if model is not None:
        from .heart_model import load_heart_model

        net = load_heart_model(model)
        if net is not None:
            learned = _model_region(c, net, body, lungs, lungs_ml, vox_ml)
    try:
        rule = _heuristic_region(c, a, body, lungs, lungs_ml, vox_ml)
    except HeartNotFoundError:
        if learned is None:
            raise
        return learned
    if learned is None:
        return rule
    # both found a heart: their union (a coronary plaque missed by one region is still searched; the lesion
    # classifier rejects what is not coronary), bone from both; the blood pool from the learned heart
    heart = (learned.heart.array > 0) | (rule.heart.array > 0)
    bone = (learned.bone.array > 0) | (rule.bone.array > 0)
    return HeartRegion(heart=Volume(heart.astype(np.uint8), c.affine), bone=Volume(bone.astype(np.uint8), c.affine),
                       lungs_ml=lungs_ml, heart_ml=float(heart.sum() * vox_ml), median_hu=learned.median_hu,
                       source=learned.source + " + builtin heuristic")


def _heuristic_region(c: Volume, a: np.ndarray, body: np.ndarray, lungs: np.ndarray, lungs_ml: float,
                      vox_ml: float) -> HeartRegion:
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
        # depth below the skin on a grid twice as coarse (only compared with 30 mm)
        half = ndimage.distance_transform_edt(body[::2, ::2, ::2], sampling=2 * np.asarray(c.spacing))
        depth = np.repeat(np.repeat(np.repeat(half, 2, 0), 2, 1), 2, 2)[: a.shape[0], : a.shape[1], : a.shape[2]].ravel()
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
            # front of the vertebral bodies: spine voxels near the midline (between the lungs), behind the
            # lungs' centre; ribs and a sternum joined to the spine through costal cartilage do not count
            lung_i = float(np.argwhere(lungs)[:, 0].mean())
            sv = np.argwhere(spine[dlab])
            band = (np.abs(sv[:, 0] - lung_i) * c.spacing[0] <= 20.0) & (sv[:, 1] < lung_j)
            if band.any():
                spine_front = int(sv[band, 1].max())
    soft = between & (a > -30) & (a < 800) & ~ndimage.binary_dilation(bone, iterations=1)
    if spine_front is not None:  # the heart lies in front of the vertebral bodies
        soft[:, : spine_front + 2, :] = False
    soft = ndimage.binary_opening(soft, structure=ndimage.generate_binary_structure(3, 1), iterations=2)
    heart = _largest(soft)
    heart_ml = float(heart.sum() * vox_ml)
    if heart_ml < 150.0:
        raise HeartNotFoundError(f"heart not in field of view: no soft-tissue mass between the lungs larger than "
                                 f"150 mL (largest {heart_ml:.0f} mL)")
    _check_lung_bases(heart, lungs, c.spacing[2])
    heart = ndimage.binary_closing(heart, iterations=2) & body
    med = float(np.median(a[heart]))
    return HeartRegion(heart=Volume(heart.astype(np.uint8), c.affine), bone=Volume(bone.astype(np.uint8), c.affine),
                       lungs_ml=lungs_ml, heart_ml=float(heart.sum() * vox_ml), median_hu=med)


def _check_lung_bases(heart: np.ndarray, lungs: np.ndarray, dz: float) -> None:
    ks = np.flatnonzero(heart.any(axis=(0, 1)))
    lung_ks = np.flatnonzero(lungs.any(axis=(0, 1)))
    if ks[-1] >= heart.shape[2] - 1 and (lung_ks[-1] - ks[0]) * dz < 60.0:
        raise HeartNotFoundError("heart not in field of view: only the lung bases are in the scan "
                                 f"({(lung_ks[-1] - lung_ks[0] + 1) * dz:.0f} mm of lung)")


#: smallest connected piece of the segmenter's bone class kept as bone (mL); calcified plaques are < 1 mL
MIN_BONE_ML = 3.0


def _model_region(c: Volume, net, body: np.ndarray, lungs: np.ndarray, lungs_ml: float,
                  vox_ml: float) -> HeartRegion | None:
    """Heart and bone from the learned segmenter on the 3 mm grid; None when it finds no heart (heuristic then)."""
    pred = net.predict(c)
    heart = _largest(pred == 1) & body & ~lungs
    heart_ml = float(heart.sum() * vox_ml)
    if heart_ml < 150.0:
        return None
    _check_lung_bases(heart, lungs, c.spacing[2])
    # bone = large components only (ribs, vertebrae, sternum: several mL); the network also calls big, bright
    # calcified plaques "bone", and a removed plaque would never be scored
    blab, bn = ndimage.label((pred == 2) & body)
    bsize = np.bincount(blab.ravel(), minlength=bn + 1) * vox_ml
    keep = bsize >= MIN_BONE_ML
    keep[0] = False
    bone = keep[blab]
    med = float(np.median(c.array[heart]))
    return HeartRegion(heart=Volume(heart.astype(np.uint8), c.affine), bone=Volume(bone.astype(np.uint8), c.affine),
                       lungs_ml=lungs_ml, heart_ml=heart_ml, median_hu=med,
                       source=f"built-in heart/bone segmenter ({net.info.get('name', 'heart-bones')}, synthetic-trained)")
