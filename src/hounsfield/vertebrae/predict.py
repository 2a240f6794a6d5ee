"""Detect, identify and localise vertebrae in a CT volume (CPU, a few seconds).

The pipeline is anatomical, with a handful of parameters stored in the bundled
model file (:mod:`hounsfield.vertebrae.model`):

1. The CT is reoriented to RAS and resampled to a 2 mm isotropic grid.
2. **Spine centreline**: in every axial slice the point of the central,
   posterior half of the body farthest from non-bone (2-D distance transform
   of ``HU > bone_hu``) is the spinal column; a running median along z makes a
   centreline. When the thickest bone is not in the column (an enhanced aorta or
   heart in a contrast scan is a thick blob above ``bone_hu`` too), the point is
   taken from the column itself: the bone mask, with the interior of ring-shaped
   bodies filled (holes above ``hole_hu``; the spinal canal stays open), is split
   into basins of its distance transform (watershed, ``basin_level_mm``), and the
   column is the most posterior basin at least ``thick_mm`` thick with bone
   behind it (its arch). Vessels and heart lie in front of the spine, never
   behind it.
3. **Sacrum anchor**: going up from the pelvis, the top of the sacrum is the
   highest slice where the bone holding the centreline spreads more than
   ``sacrum_half_width_mm`` to both sides (alae and sacro-iliac joints) and is
   no lung lies beside the spine (which rules out ribs);
   L5 and the vertebrae above are counted from there.
4. **Intervertebral discs**: the mean HU of a disk around the centreline is
   detrended and z-scored along z; the disc levels are the extremes of this
   profile chosen by dynamic programming with vertebra-plus-disc heights of
   ``min_height_mm``..``max_height_mm`` and smoothly varying spacing. The disc
   evidence is the local energy of the profile's slope, so it does not depend
   on whether discs are darker (young spines) or brighter (sclerotic endplates)
   than the bodies.
5. **Rib anchors**: the lowest vertebra with bone lateral to it at the
   distance of the rib angles (``rib_min_mm``..``rib_max_mm``, from 70 mm
   behind to ``rib_forward_mm`` in front of the centreline) is T12; the
   highest rib-bearing vertebra under a rib-free one is T1 (in a chest-only
   view: the vertebra holding the highest slice with ribs, under >= 16 mm of
   rib-free column). Used alone when the sacrum is outside the field of view,
   as a check when both are seen; with the lowest rib and T1 both seen and
   fewer than 12 vertebrae between them, exactly 12 thoracic segments are
   re-placed. Without a sacrum, the anchor places the segment-height prior for
   a second pass of the disc search.
6. Centroids: the body centre at mid-height between two discs, in-plane
   position from the anterior-most run of bone on the mid-sagittal line
   (a cortical ring around sub-threshold cancellous bone is filled first),
   re-centred on the body. Thick basins other than the body's own (an enhanced
   vessel lying against it) are left out of that search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..volume import Volume
from .formats import Centroid, label_name, label_number

__all__ = ["Detection", "DEFAULT_PARAMS", "Prepared", "detect_vertebrae", "finish_detection", "label_map", "prepare"]

_T12 = label_number("T12")

DEFAULT_PARAMS: dict[str, float] = {
    "spacing_mm": 2.0,
    "bone_hu": 100.0,
    "band_mm": 30.0,
    "min_height_mm": 18.0,
    "max_height_mm": 44.0,
    "spacing_change_weight": 0.08,
    "disk_radius_mm": 8.0,
    "detrend_mm": 40.0,
    "sacrum_hu": 150.0,
    "sacrum_half_width_mm": 55.0,
    "rib_hu": 150.0,
    "rib_min_mm": 45.0,
    "rib_max_mm": 95.0,
    "rib_fraction": 0.7,
    "rib_forward_mm": 25.0,
    "c7_rib_max": 0.6,
    "t1_rib_min": 0.3,
    "transitional_rib_min": 0.8,
    "stray_mm": 15.0,
    "t13_margin": 2.5,
    "t1_lung_min": 0.1,
    "body_shift_mm": 0.0,
    "body_hu": 100.0,
    "disc_cost": 0.75,
    "disc_sigma_mm": 3.0,
    "trough_hu": 40.0,  # a disc darker than both end plates by this much is centred on its trough
    "trough_search_mm": 6.0,
    "trough_max_mm": 10.0,
    "height_prior_weight": 3.0,
    "para_min_mm": 25.0,
    "para_max_mm": 45.0,
    "gap_weight": 1.0,
    "gap_offset_mm": 4.0,
    "hole_hu": 55.0,
    "thick_mm": 7.0,
    "basin_level_mm": 2.0,
    "other_basin_mm": 6.0,
}


@dataclass(frozen=True)
class Detection:
    """What :func:`detect_vertebrae` found."""

    centroids: list[Centroid]
    discs_z_mm: list[float]
    sacrum_top_z_mm: float | None
    lowest_rib_label: str | None
    anchor: str
    grid: Volume = field(repr=False)
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "vertebrae": [c.to_dict() for c in self.centroids],
            "anchor": self.anchor,
            "sacrum_top_z_mm": None if self.sacrum_top_z_mm is None else round(self.sacrum_top_z_mm, 1),
            "lowest_rib": self.lowest_rib_label,
            "discs_z_mm": [round(z, 1) for z in self.discs_z_mm],
            **self.info,
        }


def _iso(volume: Volume, sp: float) -> Volume:
    v = volume.to_ras()
    spacing = np.asarray(v.spacing)
    shape = tuple(int(s) for s in np.maximum(np.round(np.asarray(v.shape) * spacing / sp), 1))
    aff = v.affine.copy()
    aff[:3, :3] = v.affine[:3, :3] / spacing * sp
    # keep the outer edge of the field of view where it is
    aff[:3, 3] = v.world(np.full(3, -0.5)) + aff[:3, :3] @ np.full(3, 0.5)
    arr = v.array.astype(np.float32, copy=False)
    return Volume(arr, v.affine, v.meta).resample_to(shape, aff, order=1, fill=-1024.0)


def _running_median(x: np.ndarray, valid: np.ndarray, w: int) -> np.ndarray:
    out = np.full_like(x, np.nan, dtype=np.float64)
    idx = np.flatnonzero(valid)
    for k in idx:
        lo, hi = np.searchsorted(idx, [k - w, k + w + 1])
        out[k] = np.median(x[idx[lo:hi]])
    return out


def _beside(a: np.ndarray, i: int, r0: int, r1: int, jl: int, jh: int) -> tuple[np.ndarray, np.ndarray]:
    """The two boxes of the 2-D slice ``a`` beside column ``i`` (first axis): ``r0``..``r1`` voxels to either
    side (lower index first), rows ``jl``..``jh`` of the second axis."""
    return a[max(i - r1, 0):max(i - r0, 0), jl:jh], a[i + r0:i + r1, jl:jh]


def _rib_hit(b: np.ndarray, xs: np.ndarray, ys: np.ndarray, k: int, p: dict[str, float]) -> bool:
    """Bone (``b``) at rib-angle distance on both sides of the column in slice ``k``: ``rib_min_mm``..
    ``rib_max_mm`` aside, from 70 mm behind to ``rib_forward_mm`` in front of the centreline."""
    sp = p["spacing_mm"]
    i, j = int(round(xs[k])), int(round(ys[k]))
    left, right = _beside(b[:, :, k], i, int(p["rib_min_mm"] / sp), int(p["rib_max_mm"] / sp),
                          max(j - int(70 / sp), 0), j + int(p["rib_forward_mm"] / sp))
    return bool(left.any() and right.any())


def _edt_mm(mask: np.ndarray, sp: float) -> np.ndarray:
    """Distance (mm) from each pixel of a 2-D mask to the nearest pixel outside it, the edge of the box counting
    as outside (a structure cut by the search box is no thicker than what is inside)."""
    from scipy import ndimage

    return ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1] * sp


def _fill_bone_holes(mask: np.ndarray, hu: np.ndarray, hole_hu: float) -> np.ndarray:
    """``mask`` (2-D) with its holes filled where their mean HU is above ``hole_hu``: the cancellous interior of
    a body whose cortex is a closed ring, but not the spinal canal (CSF, cord and epidural fat are darker)."""
    from scipy import ndimage

    holes = ndimage.binary_fill_holes(mask) & ~mask
    lab, n = ndimage.label(holes)
    if n == 0:
        return mask
    mean = np.asarray(ndimage.mean(hu, lab, np.arange(1, n + 1)))
    return mask | np.isin(lab, 1 + np.flatnonzero(mean > hole_hu))


def _basins(mask: np.ndarray, sp: float, level_mm: float,
            e: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Split a 2-D mask into the watershed basins of its distance transform (mm; ``e`` when already computed),
    merging maxima less than ``level_mm`` above their saddle: a vertebral body and a vessel touching it become
    two basins, one body stays one. Returns (labels, distance transform in mm)."""
    import SimpleITK as sitk

    if e is None:
        e = _edt_mm(mask, sp)
    if not mask.any():
        return np.zeros(mask.shape, np.int32), e
    ws = sitk.MorphologicalWatershed(sitk.GetImageFromArray((-e).astype(np.float32)), level=level_mm,
                                     markWatershedLine=False, fullyConnected=True)
    lab = sitk.GetArrayFromImage(ws).astype(np.int32)
    lab[~mask] = 0
    return lab, e


def _column_basin(bone: np.ndarray, hu: np.ndarray, at: tuple[int, int], p: dict[str, float]) -> np.ndarray | None:
    """Mask of the spinal column in a 2-D search box (first axis left-right, second posterior to anterior)
    when the point ``at`` (the thickest bone) is not in it, else None.

    The bone mask, with body interiors filled (:func:`_fill_bone_holes`), is split into basins
    (:func:`_basins`). Candidates are the basins at least ``thick_mm`` thick; the column is the most posterior
    of them with bone behind it (a vertebral body has its arch behind; the arch itself, however thick, has
    none, nor has a scapula at the edge of the box). An enhanced aorta or heart is as thick as a body but
    lies in front of the spine, never behind it.
    """
    from scipy import ndimage

    sp = p["spacing_mm"]
    solid = _fill_bone_holes(bone, hu, p["hole_hu"])
    e = _edt_mm(solid, sp)
    # two thick basins need two maxima >= thick_mm; local maxima (3 x 3) include every regional maximum and a
    # connected set of them is one plateau, so fewer than two such sets leave nothing to choose between (most
    # slices without contrast): skip the watershed
    peaks = (e >= p["thick_mm"]) & (e == ndimage.maximum_filter(e, size=3))
    if ndimage.label(peaks, np.ones((3, 3), bool))[1] < 2:
        return None
    lab, e = _basins(solid, sp, p["basin_level_mm"], e)
    ids = np.unique(lab[lab > 0])
    here = int(lab[at])
    if ids.size < 2:
        return None
    peak = dict(zip(ids, np.asarray(ndimage.maximum(e, lab, ids))))
    thick = [c for c in ids if peak[c] >= p["thick_mm"]]
    if len(thick) < 2 or here not in thick:
        return None
    gap = max(int(round(4.0 / sp)), 1)
    back, behind = {}, {}
    for c in thick:
        ii, jj = np.nonzero((lab == c) & (e >= 4.0))
        back[c] = jj.min()
        behind[c] = back[c] - gap > 0 and bool(bone[ii.min():ii.max() + 1, :back[c] - gap].any())
    with_arch = [c for c in thick if behind[c]]
    if not with_arch:
        return None
    best = min(with_arch, key=lambda c: back[c])
    # move to the column when the thickest bone is in front of it (a vessel, the heart) or is thick bone
    # with nothing behind it (a posterior element, a scapula)
    if best == here or (behind[here] and back[best] >= back[here]):
        return None
    return lab == best


def _centreline(a: np.ndarray, p: dict[str, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from scipy import ndimage

    sp = p["spacing_mm"]
    body = a > -400
    nz = a.shape[2]
    area = body.sum(axis=(0, 1))
    if not body.any():
        raise InputError("no body found in the image (nothing above -400 HU)")
    cx = float(np.argwhere(body[:, :, area > 0.5 * area.max()])[:, 0].mean())
    g = ndimage.gaussian_filter(a, 0.5)
    bone = g > p["bone_hu"]
    xs, ys, score = np.full(nz, np.nan), np.full(nz, np.nan), np.zeros(nz)
    half = int(p["band_mm"] / sp)
    x0, x1 = max(int(cx) - half, 0), min(int(cx) + half + 1, a.shape[0])
    for k in range(nz):
        bk = body[:, :, k]
        if bk.sum() < 2000 / sp**2:
            continue
        ymid = np.argwhere(bk)[:, 1].mean()
        y1 = int(min(ymid + 15 / sp, a.shape[1]))
        sub = bone[x0:x1, :y1, k]
        if not sub.any():
            continue
        e = _edt_mm(sub, sp)
        i, j = np.unravel_index(np.argmax(e), e.shape)
        column = _column_basin(sub, g[x0:x1, :y1, k], (i, j), p)
        if column is not None:
            # the thickest bone lies in front of the column: an enhanced vessel or the heart
            e = _edt_mm(sub & column, sp)
            i, j = np.unravel_index(np.argmax(e), e.shape)
        xs[k], ys[k], score[k] = i + x0, j, e[i, j]
    valid = score >= 4.0
    w, wide = int(round(10 / sp)), int(round(40 / sp))
    out = []
    for v in (xs, ys):
        near, far = _running_median(v, valid, w), _running_median(v, valid, wide)
        # the column bends slowly: where the short median strays > 8 mm from the long one
        # (a scapula, an iliac wing, the edge of the field of view), trust the long one
        out.append(np.where(np.abs(near - far) > 8.0 / sp, far, near))
    return out[0], out[1], valid, g


def _disk_profile(g: np.ndarray, xs: np.ndarray, ys: np.ndarray, valid: np.ndarray, r_mm: float,
                  sp: float) -> np.ndarray:
    from scipy import ndimage

    r = max(int(round(r_mm / sp)), 1)
    off = np.argwhere(np.hypot(*np.mgrid[-r:r + 1, -r:r + 1]) <= r) - r
    ks = np.flatnonzero(valid)
    prof = np.full(g.shape[2], np.nan)
    if ks.size == 0:
        return prof
    pi = xs[ks][:, None] + off[None, :, 0]
    pj = ys[ks][:, None] + off[None, :, 1]
    pk = np.broadcast_to(ks[:, None], pi.shape)
    vals = ndimage.map_coordinates(g, [pi.ravel(), pj.ravel(), pk.ravel()], order=1, mode="nearest")
    prof[ks] = vals.reshape(pi.shape).mean(axis=1)
    return prof


def _sacrum_top(g: np.ndarray, xs: np.ndarray, ys: np.ndarray, valid: np.ndarray, p: dict[str, float]) -> int | None:
    """Highest slice of the lowest run where the centreline bone spreads wide to both sides."""
    from scipy import ndimage

    sp = p["spacing_mm"]
    b = g > p["sacrum_hu"]
    wide = np.zeros(g.shape[2], bool)
    need = p["sacrum_half_width_mm"] / sp
    st = np.ones((3, 3), bool)
    lung0, lung1 = int(30 / sp), int(80 / sp)
    for k in np.flatnonzero(valid):
        i, j = int(round(xs[k])), int(round(ys[k]))
        jl, jh = max(j - int(30 / sp), 0), j + int(30 / sp) + 1
        boxes = np.concatenate([box.ravel() for box in _beside(g[:, :, k], i, lung0, lung1, jl, jh)])
        if boxes.size and (boxes < -400).mean() > 0.05:
            continue  # lung beside the spine: thorax, the wide bone there is ribs
        # holes filled: the cortical shell of a body encloses cancellous bone that may be under sacrum_hu
        lab, _ = ndimage.label(ndimage.binary_fill_holes(ndimage.binary_closing(b[:, :, k], st)), st)
        win = lab[max(i - 3, 0):i + 4, max(j - 3, 0):j + 4]
        v = win[win > 0]
        if v.size == 0:
            continue
        rows = np.flatnonzero((lab == np.bincount(v).argmax()).any(axis=1))
        wide[k] = (i - rows.min()) >= need and (rows.max() - i) >= need
    ks = np.flatnonzero(wide)
    if ks.size < 3:
        return None
    # runs of wide slices; the sacrum is the highest run that starts within the lower part of the spine
    runs = np.split(ks, np.flatnonzero(np.diff(ks) > int(10 / sp)) + 1)
    runs = [r for r in runs if len(r) * sp >= 16.0]
    if not runs:
        return None
    vk = np.flatnonzero(valid)
    # prefer the run closest to the bottom of the valid spine; a sacrum has bone below or is at the edge
    run = min(runs, key=lambda r: r[0])
    top = int(run[-1])
    if top >= vk.max() - int(20 / sp):
        return None  # wide bone at the very top of the field of view is not a sacrum
    return top


def _disc_feature(prof: np.ndarray, valid: np.ndarray, p: dict[str, float]) -> np.ndarray:
    """Disc evidence along z: local energy of the HU profile's slope, detrended and z-scored.

    Vertebral bodies are flat stretches of the profile (cancellous bone);
    a disc is a sharp change - bright endplates around a darker disc in young
    spines, a bright sclerotic endplate-disc complex in old ones - so the
    smoothed absolute slope peaks at discs whatever their brightness.
    """
    from scipy import ndimage

    sp = p["spacing_mm"]
    ks = np.flatnonzero(valid)
    x = np.copy(prof)
    if ks.size:
        x[~valid] = np.interp(np.flatnonzero(~valid), ks, prof[ks])
    x = ndimage.gaussian_filter1d(x, 1.0 / sp)
    e = ndimage.gaussian_filter1d(np.abs(np.gradient(x)), p["disc_sigma_mm"] / sp)
    trend = ndimage.uniform_filter1d(e, max(int(p["detrend_mm"] / sp), 3), mode="nearest")
    d = e - trend
    sd = np.std(d[valid]) if valid.any() else 1.0
    out = d / (sd + 1e-6)
    out[~valid] = 0.0
    return out


def _paravertebral_profile(g: np.ndarray, xs: np.ndarray, ys: np.ndarray, lo: int, hi: int,
                           p: dict[str, float]) -> np.ndarray:
    """Bone fraction beside the posterior elements along z (mean of both sides).

    A box ``para_min_mm``..``para_max_mm`` to either side of the centreline,
    from 40 mm behind it to 5 mm in front: transverse processes, costotransverse
    joints and rib necks in the thorax, transverse processes in the lumbar spine.
    Each vertebra contributes one unit of bone; the units are separated by gaps
    (intervertebral foramina, intercostal spaces) at the level of the discs,
    which stay visible where the discs themselves are faint (thoracic spine).
    """
    sp = p["spacing_mm"]
    b = g > p["rib_hu"]
    out = np.zeros(g.shape[2])
    a0, a1 = int(round(p["para_min_mm"] / sp)), int(round(p["para_max_mm"] / sp))
    back, fwd = int(round(40 / sp)), int(round(5 / sp))
    for k in range(lo, hi + 1):
        i, j = int(round(xs[k])), int(round(ys[k]))
        jl, jh = max(j - back, 0), j + fwd
        left, right = _beside(b[:, :, k], i, a0, a1, jl, jh)
        out[k] = 0.5 * ((right.mean() if right.size else 0.0) + (left.mean() if left.size else 0.0))
    return out


def _gap_feature(para: np.ndarray, lo: int, hi: int, p: dict[str, float]) -> np.ndarray:
    """Disc evidence from the paravertebral profile: 0 in a bone unit, rising to 1 at >= 5 mm inside a gap,
    moved ``gap_offset_mm`` down (towards the disc).

    Only gaps with bone within 30 mm above and below count (not the neck above
    the ribs, not the ends of the field of view). Bone units are where the
    profile exceeds 4 % (on the 2 mm grid about 9 voxels, ~35 mm^2 of bone per side; gaps are ~0).
    """
    from scipy import ndimage

    sp = p["spacing_mm"]
    out = np.zeros(len(para))
    seg = para[lo:hi + 1]
    if seg.size < 3:
        return out
    unit = seg > 0.04
    if not unit.any():
        return out
    d = ndimage.distance_transform_edt(~unit) * sp
    ks = np.flatnonzero(unit)
    idx = np.arange(seg.size)
    reach = int(round(30 / sp))
    above = np.searchsorted(ks, idx, side="right")  # first unit slice above idx
    has_above = above < ks.size
    has_above[has_above] = ks[above[has_above]] - idx[has_above] <= reach
    below = above - 1
    has_below = below >= 0
    has_below[has_below] = idx[has_below] - ks[below[has_below]] <= reach
    out[lo:hi + 1] = np.where(has_above & has_below, np.minimum(d, 5.0) / 5.0, 0.0)
    # the gaps lie a little above the discs (the units are the processes and rib necks of the upper part
    # of each vertebra): move the evidence down by ``gap_offset_mm`` (fitted)
    shift = int(round(p["gap_offset_mm"] / sp))
    if shift > 0:
        out[:-shift] = out[shift:].copy()
        out[-shift:] = 0.0
    elif shift < 0:
        out[-shift:] = out[:shift].copy()
        out[:-shift] = 0.0
    return out


def _height_prior(z_above_sacrum_mm: np.ndarray) -> np.ndarray:
    """Typical vertebra + disc height (mm) at a distance above the top of the sacrum.

    Lumbar segments ~35 mm, decreasing through the thoracic spine to ~20 mm at
    T1 (adult averages; the DP only uses this as a soft prior).
    """
    z = np.asarray(z_above_sacrum_mm, dtype=np.float64)
    return np.interp(z, [0, 170, 220, 480, 560], [35, 33, 29, 22, 18])


def _dp_discs(f: np.ndarray, lo: int, hi: int, start: int | None, p: dict[str, float],
              prior: np.ndarray | None = None) -> tuple[list[int], float]:
    """Disc slices maximising sum(f) with spacing in [min, max] and smooth changes.

    The chain starts at ``start`` (fixed) or anywhere in the first period, and
    ends within one period of ``hi``.
    """
    sp = p["spacing_mm"]
    dmin, dmax = int(np.ceil(p["min_height_mm"] / sp)), int(np.floor(p["max_height_mm"] / sp))
    lam = p["spacing_change_weight"] * sp
    n = hi - lo + 1
    NEG = -1e9
    # state (k, d): disc at k, previous disc at k - d
    best = np.full((n, dmax + 1), NEG)
    back = np.full((n, dmax + 1), -1, dtype=np.int64)
    start_score = np.full(n, NEG)
    if start is not None:
        start_score[start - lo] = f[start]
    else:
        start_score[: dmax + 1] = f[lo:lo + dmax + 1] - p["disc_cost"]
    for k in range(n):
        for d in range(dmin, dmax + 1):
            kp = k - d
            if kp < 0:
                break
            cand = start_score[kp]
            bd = -1
            row = best[kp]
            if row.max() > NEG / 2:
                dd = np.arange(dmax + 1)
                vals = row - lam * np.abs(dd - d)
                j = int(np.argmax(vals))
                if vals[j] > cand:
                    cand, bd = vals[j], j
            if cand > NEG / 2:
                pen = 0.0
                if prior is not None:
                    h = prior[lo + k]
                    pen = p["height_prior_weight"] * ((d * sp - h) / h) ** 2
                best[k, d] = cand + f[lo + k] - p["disc_cost"] - pen
                back[k, d] = bd
    # end: last disc within one max period of the top
    tail = slice(max(n - dmax, 0), n)
    sub = best[tail]
    if sub.max() <= NEG / 2:
        return ([] if start is None else [start]), 0.0
    k_rel, d = np.unravel_index(int(np.argmax(sub)), sub.shape)
    k = int(k_rel) + tail.start
    total = float(best[k, d])
    chain = [k]
    while d > 0:
        kp = k - d
        pd = int(back[k, d])
        chain.append(kp)
        if pd <= 0:
            break
        k, d = kp, pd
    return sorted(lo + c for c in chain), total


def _disc_trough(prof: np.ndarray, k: int, p: dict[str, float]) -> float:
    """Height of the disc found at slice ``k``, for the bodies' centres: the middle of the dark trough between
    two bright end plates when the HU profile along the column shows one within ``trough_search_mm``.

    The disc evidence is the slope energy of the profile, whose peak lies on the steeper side of the disc (the
    brighter end plate): up to 7 mm off in the real osteoporotic abdomen. A trough counts when it lies at least
    ``trough_hu`` below the brightest slice within 10 mm on each side (the end plates), the part of it below
    half that depth is at most ``trough_max_mm`` tall (a disc; a body's cancellous interior between its own end
    plates is taller), and it is not below 0 HU (air or fat in the disk: a lung apex, a gap in the column).
    The nearest such trough to ``k`` gives the middle of that part; without one (a bright sclerotic
    endplate-disc complex, a faint disc) ``k`` stays.

    >>> prof = np.array([100, 100, 200, 180, 90, 80, 85, 160, 240, 100, 100.])
    >>> float(_disc_trough(prof, 7, {"spacing_mm": 2.0, "trough_hu": 40.0, "trough_search_mm": 6.0,
    ...                              "trough_max_mm": 10.0}))
    5.0
    """
    sp = p["spacing_mm"]
    r, f = int(round(p["trough_search_mm"] / sp)), int(round(10.0 / sp))
    n = len(prof)
    best: tuple[int, float] | None = None
    for m in range(max(k - r, 1), min(k + r, n - 2) + 1):
        x = prof[m]
        if not (np.isfinite(x) and x >= 0.0 and x <= prof[m - 1] and x <= prof[m + 1]):
            continue  # below water the disk holds air or fat (lung apex, a gap in the column): no disc trough
        left, right = prof[max(m - f, 0):m], prof[m + 1:m + f + 1]
        if not (np.isfinite(left).any() and np.isfinite(right).any()):
            continue
        depth = min(np.nanmax(left), np.nanmax(right)) - x
        if depth < p["trough_hu"]:
            continue
        half = x + 0.5 * depth
        lo = hi = m
        while lo > 0 and prof[lo - 1] < half:
            lo -= 1
        while hi < n - 1 and prof[hi + 1] < half:
            hi += 1
        if (hi - lo + 1) * sp <= p["trough_max_mm"] and (best is None or abs(m - k) < abs(best[0] - k)):
            best = (m, 0.5 * (lo + hi))
    return float(k) if best is None else best[1]


def _rib_levels(g: np.ndarray, xs: np.ndarray, ys: np.ndarray, bounds: list[tuple[int, int]],
                p: dict[str, float]) -> np.ndarray:
    """Fraction of slices of each vertebra with bone at rib-angle distance on both sides."""
    b = g > p["rib_hu"]
    out = np.zeros(len(bounds))
    for n, (k0, k1) in enumerate(bounds):
        hits = [_rib_hit(b, xs, ys, k, p) for k in range(k0, k1 + 1) if np.isfinite(xs[k])]
        out[n] = float(np.mean(hits)) if hits else 0.0
    return out


def _without_other_basins(g: np.ndarray, i0: int, j0: int, k: int, r: int, p: dict[str, float]) -> np.ndarray:
    """Mean HU of slices k-1..k+1 in the window of half-width ``r`` around (i0, j0), with every basin at least
    ``other_basin_mm`` thick other than the one holding (i0, j0) set to -1000: an enhanced aorta lying against
    the body would otherwise be the anterior-most run of bone. The basins are found on a window 20 mm wider, so
    that a vessel cut by the window's edge keeps its own maximum."""
    from scipy import ndimage

    sp = p["spacing_mm"]
    m = int(20 / sp)
    ks = slice(max(k - 1, 0), k + 2)
    lo_i, lo_j = max(i0 - r, 0), max(j0 - r, 0)
    wi, wj = max(lo_i - m, 0), max(lo_j - m, 0)
    big = g[wi:i0 + r + 1 + m, wj:j0 + r + 1 + m, ks].mean(axis=2)
    solid = _fill_bone_holes(ndimage.binary_closing(big > p["body_hu"], np.ones((3, 3), bool), border_value=0),
                             big, p["hole_hu"])
    lab, e = _basins(solid, sp, p["basin_level_mm"])
    ids = np.unique(lab[lab > 0])
    if ids.size > 1:
        ci, cj = min(i0 - wi, lab.shape[0] - 1), min(j0 - wj, lab.shape[1] - 1)
        own = lab[ci, cj]
        if own == 0:  # the point is off the bone: the nearest basin
            _, (ii, jj) = ndimage.distance_transform_edt(lab == 0, return_indices=True)
            ci, cj = int(ii[ci, cj]), int(jj[ci, cj])
            own = lab[ci, cj]
        peak = np.zeros(int(lab.max()) + 1)
        peak[ids] = ndimage.maximum(e, lab, ids)
        if peak[own] >= p["thick_mm"]:
            # only from a point in a body: from thin bone (an arch, a cortex) the body itself lies in front
            big = np.where((lab > 0) & (lab != own) & (peak[lab] >= p["other_basin_mm"]), -1000.0, big)
    di, dj = lo_i - wi, lo_j - wj
    return big[di:di + (min(i0 + r + 1, g.shape[0]) - lo_i), dj:dj + (min(j0 + r + 1, g.shape[1]) - lo_j)]


def _posterior_wall(profile: np.ndarray, start: int, hole_hu: float) -> int:
    """Back of the vertebral body on a mid-sagittal HU ``profile`` (index rising anteriorly), from the back
    ``start`` of its anterior run of bone above ``body_hu``: the run goes on backwards while the profile stays
    above ``hole_hu``. Osteoporotic cancellous bone (60-130 HU) falls below ``body_hu`` in places and cuts the
    run short, leaving its middle near the anterior cortex; the canal behind the body (CSF, epidural fat) and
    the soft tissue round it stay below ``hole_hu``.

    >>> _posterior_wall(np.array([10, 140, 90, 80, 150, 160, 20.]), 4, 55.0)
    1
    """
    lo = start
    while lo > 0 and profile[lo - 1] >= hole_hu:
        lo -= 1
    return lo


def _body_centre(g: np.ndarray, i: float, j: float, k: int, p: dict[str, float],
                 min_run_mm: float = 12.0) -> tuple[float, float]:
    """In-plane centre of the vertebral body near centreline point (i, j) of slice k.

    On the mid-sagittal line through (i, j) the body is the anterior-most run of
    bone at least ``min_run_mm`` long (a ring of cortex around cancellous bone
    below ``body_hu`` - osteoporosis - is filled first), continued backwards to
    the canal (:func:`_posterior_wall`); its AP middle is the centre's y, and the
    centroid of the bone in those rows (within 25 mm of the midline) its x.
    """
    from scipy import ndimage

    sp = p["spacing_mm"]
    r = int(45 / sp)
    i0, j0 = int(round(i)), int(round(j))
    lo_i, lo_j = max(i0 - r, 0), max(j0 - r, 0)
    hu = _without_other_basins(g, i0, j0, k, r, p)
    win = ndimage.binary_closing(hu > p["body_hu"], np.ones((3, 3), bool), border_value=0)
    w = max(int(3 / sp), 1)
    band = int(25 / sp)
    ci = i0 - lo_i
    out = None
    filled = False
    # twice: the second time on the mid-sagittal line through the body's own centre (the centreline
    # may run a few mm to the side, e.g. through a lateral mass in the neck)
    for _ in range(2):
        occ = win[max(ci - w, 0):ci + w + 1].mean(axis=0) > 0.5
        ys = np.flatnonzero(occ)
        if ys.size == 0:
            break
        first = np.split(ys, np.flatnonzero(np.diff(ys) > 1) + 1)[-1]
        if len(first) * sp < min_run_mm and first[0] > 0 and not filled:
            # the anterior-most run is only a cortex: in an osteoporotic body the cancellous bone is below
            # body_hu and the cortical shell is a ring; fill the hole right behind the anterior cortex
            # (the body's interior - the spinal canal comes after the body's posterior wall)
            holes, _ = ndimage.label(ndimage.binary_fill_holes(win) & ~win)
            h = holes[ci, first[0] - 1]
            if h > 0:
                win = win | (holes == h)
                filled = True
                occ = win[max(ci - w, 0):ci + w + 1].mean(axis=0) > 0.5
                ys = np.flatnonzero(occ)
        runs = [rr for rr in np.split(ys, np.flatnonzero(np.diff(ys) > 1) + 1) if len(rr) * sp >= min_run_mm]
        if not runs:
            break
        run = runs[-1]
        lo = _posterior_wall(hu[max(ci - w, 0):ci + w + 1].mean(axis=0), int(run[0]), p["hole_hu"])
        run = np.arange(lo, run[-1] + 1)
        rows = win[max(ci - band, 0):ci + band + 1, run[0]:run[-1] + 1]
        xi = np.flatnonzero(rows.any(axis=1))
        xc = float(np.argwhere(rows)[:, 0].mean()) + max(ci - band, 0) if xi.size else float(ci)
        yc = 0.5 * (run[0] + run[-1])
        out = (xc, yc)
        ci = int(round(xc))
    if out is None:
        return i, j
    xc, yc = out
    return xc + lo_i, yc + lo_j + p["body_shift_mm"] / sp


def _lung_beside(g: np.ndarray, xs: np.ndarray, ys: np.ndarray, k0: int, k1: int, p: dict[str, float]) -> float:
    """Largest fraction of air inside the body (< -400 HU, holes of the body outline) 30-80 mm to either side
    of the column, within 30 mm of it front to back, over slices ``k0``..``k1``."""
    from scipy import ndimage

    sp = p["spacing_mm"]
    r0, r1, w = int(30 / sp), int(80 / sp), int(30 / sp)
    best = 0.0
    for k in range(max(k0, 0), min(k1, g.shape[2] - 1) + 1):
        if not np.isfinite(xs[k]):
            continue
        sl = g[:, :, k]
        air = (sl < -400) & ndimage.binary_fill_holes(sl > -400)
        i, j = int(round(xs[k])), int(round(ys[k]))
        jl, jh = max(j - w, 0), j + w + 1
        box = np.concatenate([b.ravel() for b in _beside(air, i, r0, r1, jl, jh)])
        if box.size:
            best = max(best, float(box.mean()))
    return best


def _weak_first_rib(ribs: np.ndarray, hi_rib: int, n_t: int, t1_rib_min: float) -> tuple[int, int]:
    """T1 when its short first rib scores under ``rib_fraction``: returns (index of T1, thoracic count).

    The first rib drops at once from its head; in a small chest its part at
    rib-angle distance lies mostly beside T2 and T1 scores low. With 11
    rib-bearing slabs counted from the lowest rib (``n_t``), a slab above the
    highest one with at least ``t1_rib_min`` of first-rib evidence, under a
    slab below that (C7, or the top of the image), is T1 and the count is 12.
    """
    n = len(ribs)
    if (n_t == 11 and hi_rib + 1 < n and ribs[hi_rib + 1] >= t1_rib_min
            and (hi_rib + 2 >= n or ribs[hi_rib + 2] < t1_rib_min)):
        return hi_rib + 1, 12
    return hi_rib, n_t


#: distance (mm) above the top of the sacrum of the T12/L1 disc and of the C7/T1 disc, on the
#: :func:`_height_prior` scale (sum of the typical segment heights)
_T12_L1_ABOVE_SACRUM_MM = 170.0
_C7_T1_ABOVE_SACRUM_MM = 560.0


def _highest_rib_slice(g: np.ndarray, xs: np.ndarray, ys: np.ndarray, lo: int, hi: int,
                       p: dict[str, float]) -> int | None:
    """Highest slice with bone at rib-angle distance on both sides (in two of three consecutive slices)."""
    b = g > p["rib_hu"]
    hit = np.zeros(g.shape[2], bool)
    for k in range(lo, hi + 1):
        hit[k] = np.isfinite(xs[k]) and _rib_hit(b, xs, ys, k, p)
    run = np.convolve(hit.astype(int), np.ones(3, int), mode="same") >= 2
    ks = np.flatnonzero(run & hit)
    return int(ks.max()) if ks.size else None


def _dp_fixed_count(f: np.ndarray, k_a: int, k_b: int, nseg: int, p: dict[str, float],
                    prior: np.ndarray | None, with_score: bool = False) -> Any:
    """Interior disc slices between fixed discs ``k_a`` < ``k_b`` splitting the span into exactly ``nseg``
    segments of ``min_height_mm``..``max_height_mm``, maximising the disc evidence minus the height prior
    (``None`` when impossible); with ``with_score``, ``(discs, objective)``."""
    sp = p["spacing_mm"]
    dmin, dmax = int(np.ceil(p["min_height_mm"] / sp)), int(np.floor(p["max_height_mm"] / sp))
    n = k_b - k_a
    if n < nseg * dmin or n > nseg * dmax:
        return (None, -np.inf) if with_score else None
    NEG = -1e18
    # best[c, x]: c segments placed, last disc at k_a + x
    best = np.full((nseg + 1, n + 1), NEG)
    back = np.full((nseg + 1, n + 1), -1, dtype=np.int64)
    best[0, 0] = 0.0
    for c in range(1, nseg + 1):
        for x in range(c * dmin, min(c * dmax, n) + 1):
            lo_x, hi_x = max(x - dmax, 0), x - dmin
            prev = best[c - 1, lo_x:hi_x + 1]
            if prev.size == 0 or prev.max() <= NEG / 2:
                continue
            d = x - np.arange(lo_x, hi_x + 1)
            pen = 0.0
            if prior is not None:
                h = prior[k_a + x]
                pen = p["height_prior_weight"] * ((d * sp - h) / h) ** 2
            vals = prev - pen
            j = int(np.argmax(vals))
            gain = f[k_a + x] if c < nseg else 0.0
            best[c, x] = vals[j] + gain
            back[c, x] = lo_x + j
    if best[nseg, n] <= NEG / 2:
        return (None, -np.inf) if with_score else None
    out, x = [], n
    for c in range(nseg, 0, -1):
        x = int(back[c, x])
        if c > 1:
            out.append(k_a + x)
    return (sorted(out), float(best[nseg, n])) if with_score else sorted(out)


def _label_segments(g: np.ndarray, xs: np.ndarray, ys: np.ndarray, discs: list[int], top: int | None, lo: int,
                    hi: int, p: dict[str, float]) -> dict[str, Any]:
    """Vertebra slabs between the discs, their rib scores, the anchor and the labels (tail to head).

    Anchors, strongest first: the sacrum (L5 is the slab above its top; with the lowest rib also in
    view, 6 free vertebrae mean an L6 and 4 a sacralised L5); the lowest rib-bearing vertebra with a
    rib-free one below it (T12); T1, the highest rib-bearing vertebra under a rib-free C7 (with the
    lowest rib also in view, 13 rib-bearing vertebrae mean a T13). ``labels`` is None without any.
    ``sacrum_estimate`` (slice index, may lie outside the image) is where the top of the sacrum
    would be by the rib or T1 anchor, for the segment-height prior of a second pass.
    """
    sp = p["spacing_mm"]
    bounds: list[tuple[int, int]] = list(zip(discs[:-1], discs[1:]))
    heights = np.diff(discs) if len(discs) > 1 else np.array([int(30 / sp)])
    typical = int(np.median(heights[-3:])) if len(heights) else int(30 / sp)
    typical_low = int(np.median(heights[:3])) if len(heights) else int(30 / sp)
    # beyond the last disc found at either end, the column is filled with slabs of the typical height
    # while at least 10 mm (and half a slab) of it is left: vertebrae whose disc the DP did not place or
    # that are cut by the field of view ("extrapolated": lower confidence, centre from the slab)
    n_top = n_bottom = 0
    if discs:
        k = discs[-1]
        while hi - k >= max(int(10 / sp), typical // 2):
            bounds.append((k, min(hi, k + typical)))
            k += typical
            n_top += 1
        k = discs[0]
        while top is None and k - lo >= max(int(10 / sp), typical_low // 2):
            bounds.insert(0, (max(lo, k - typical_low), k))
            k -= typical_low
            n_bottom += 1
    partial_top, partial_bottom = n_top > 0, n_bottom > 0
    ribs = _rib_levels(g, xs, ys, bounds, p)
    n = len(bounds)
    rf = p["rib_fraction"]
    labels: list[int] | None = None
    rib_idx = None
    min_rib_k = top + int(70 / sp) if top is not None else lo
    cand = [m for m in range(n) if ribs[m] >= rf and bounds[m][0] >= min_rib_k]
    if cand:
        rib_idx = min(cand)
    sacral_label = 26
    anchor = "none"
    estimate = None
    if top is not None:
        anchor = "sacrum"
        labels = [24 - m for m in range(n)]  # bounds[0] is L5, above the sacrum's top
        # a transitional count (L6, sacralised L5) is rare: it needs a clear rib on the vertebra it hinges on
        # (the 12th rib descends beside L1 and gives L1 a middling score)
        clear = rib_idx is not None and ribs[rib_idx] >= p["transitional_rib_min"]
        if rib_idx == 6 and clear:
            anchor = "sacrum + ribs (L6)"
            labels = [25 - m for m in range(n)]
        elif rib_idx == 4 and clear:
            anchor = "sacrum + ribs (sacralised L5)"
            labels = [23 - m for m in range(n)]
            sacral_label = 24
        elif rib_idx == 5:
            anchor = "sacrum + ribs"
    elif rib_idx is not None and rib_idx >= 1:
        # the lowest rib-bearing vertebra is T12 only when a rib-free one (L1) is seen below it
        anchor = "ribs"
        labels = [19 - (m - rib_idx) for m in range(n)]
        estimate = bounds[rib_idx][0] - _T12_L1_ABOVE_SACRUM_MM / sp
    # top anchor: T1 is the highest of a run of rib-bearing vertebrae under a rib-free one (C7)
    hi_rib = None
    n_t: int | None = None
    low: int | None = None
    if n >= 2:
        m = n - 1
        while m >= 0 and ribs[m] < rf:
            m -= 1
        # (a rib-free slab cut by the top of the image is at least 10 mm: extrapolated slabs are)
        if 0 <= m < n - 1 and ribs[m + 1] < p["c7_rib_max"]:
            hi_rib = m
    if hi_rib is not None:
        low = rib_idx if rib_idx is not None else None
        if low is not None:
            n_t = hi_rib - low + 1
            hi_rib, n_t = _weak_first_rib(ribs, hi_rib, n_t, p["t1_rib_min"])
            # a vertebra cut by the bottom of the field of view may carry a rib we cannot see
            if partial_bottom and low == n_bottom and n_t == 11:
                low, n_t = low - 1, 12
        else:
            n_t = None  # the lowest rib is not in view: count 12 thoracic vertebrae from T1

        def from_t1(q: int, n_t: int) -> int:
            pos = hi_rib - q  # 0 = T1
            if pos < 0:
                return 7 + pos + 1  # C7, C6, ...
            if pos <= 11:
                return 8 + pos
            if n_t == 13 and pos == 12:
                return 28
            return 20 + pos - n_t

        if n_t in (12, 13):
            top_labels = [from_t1(q, n_t) for q in range(n)]
            if top is None or top_labels[0] in (24, 25) or n_t == 13:
                labels = top_labels
                anchor = ("sacrum + " if top is not None else "") + "ribs from T1" + (" (T13)" if n_t == 13 else "")
                if top is not None and labels[0] == 25:
                    anchor += " (L6)"
        if anchor.startswith("ribs from T1") or anchor == "T1":
            estimate = bounds[hi_rib][1] - _C7_T1_ABOVE_SACRUM_MM / sp
    if labels is None and n >= 2:
        # chest-only field of view: T1 is the vertebra holding the highest slice with ribs, when at
        # least 16 mm of rib-free column (C7) is seen above it
        k_r = _highest_rib_slice(g, xs, ys, lo, hi, p)
        if k_r is not None and (hi - k_r) * sp >= 16.0:
            m1 = next((m for m, (k0, k1) in enumerate(bounds) if k0 <= k_r - 1 < k1), None)
            # ribs enclose lung: the apices rise beside T1. Bone at rib distance without lung is a skull,
            # a mandible or shoulders (a head or neck CT), not a first rib
            if (m1 is not None and m1 >= 1
                    and _lung_beside(g, xs, ys, bounds[m1 - 1][0], bounds[m1][1], p) >= p["t1_lung_min"]):
                labels = [8 + (m1 - q) if q <= m1 else 8 - (q - m1) for q in range(n)]
                anchor = "T1"
                estimate = bounds[m1][1] - _C7_T1_ABOVE_SACRUM_MM / sp
    if top is not None:
        estimate = None
    return {"bounds": bounds, "labels": labels, "anchor": anchor, "ribs": ribs, "rib_idx": rib_idx,
            "sacral_label": sacral_label, "partial_top": partial_top, "partial_bottom": partial_bottom,
            "extrapolated": set(range(n_bottom)) | set(range(n - n_top, n)),
            "hi_rib": hi_rib, "n_t": n_t if hi_rib is not None else None,
            "low_rib": low if hi_rib is not None else None,
            "sacrum_estimate": estimate}



def detect_vertebrae(volume: Volume, params: dict[str, float] | None = None) -> Detection:
    """Find, label and localise the vertebrae of a CT volume.

    Parameters
    ----------
    volume
        CT in HU, any orientation.
    params
        Overrides of :data:`DEFAULT_PARAMS` (the bundled model's parameters
        are used by :func:`hounsfield.vertebrae.model.load_default`).

    Returns
    -------
    Detection
        Centroids of the vertebral bodies in the world RAS+ frame, head to tail.
    """
    p = {**DEFAULT_PARAMS, **(params or {})}
    return finish_detection(prepare(volume, p), p)


@dataclass
class Prepared:
    """The parameter-light first half of the pipeline (grid, centreline, profile, sacrum), cached by training."""

    iso: Volume
    g: np.ndarray
    xs: np.ndarray
    ys: np.ndarray
    valid: np.ndarray
    prof: np.ndarray
    top: int | None
    lo: int
    hi: int
    para: np.ndarray | None = None


def prepare(volume: Volume, params: dict[str, float] | None = None) -> Prepared:
    """Resample, find the centreline, the HU profile along it and the sacrum's top."""
    p = {**DEFAULT_PARAMS, **(params or {})}
    sp = p["spacing_mm"]
    iso = _iso(volume, sp)
    a = iso.array.astype(np.float32, copy=False)
    xs, ys, valid, g = _centreline(a, p)
    if valid.sum() * sp < 30:
        raise InputError("no spine found: fewer than 30 mm of the image show a vertebral column")
    vk = np.flatnonzero(valid)
    lo, hi = int(vk.min()), int(vk.max())
    # fill gaps of the centreline by interpolation
    for arr in (xs, ys):
        arr[lo:hi + 1] = np.interp(np.arange(lo, hi + 1), vk, arr[vk])
    valid[lo:hi + 1] = True
    prof = _disk_profile(g, xs, ys, valid, p["disk_radius_mm"], sp)
    top = _sacrum_top(g, xs, ys, valid, p)
    para = _paravertebral_profile(g, xs, ys, lo, hi, p)
    return Prepared(iso, g, xs, ys, valid, prof, top, lo, hi, para)


def finish_detection(prep: Prepared, params: dict[str, float] | None = None) -> Detection:
    """Discs, anchors, labels and centroids from a :class:`Prepared` scan."""
    p = {**DEFAULT_PARAMS, **(params or {})}
    sp = p["spacing_mm"]
    iso, g, xs, ys, valid, prof, top, lo, hi = (prep.iso, prep.g, prep.xs, prep.ys, prep.valid, prep.prof,
                                                prep.top, prep.lo, prep.hi)
    f = _disc_feature(prof, valid, p)
    if prep.para is not None and p["gap_weight"] > 0:
        f = f + p["gap_weight"] * _gap_feature(prep.para, lo, hi, p)
    info: dict[str, Any] = {}
    if top is not None:
        prior = _height_prior((np.arange(len(f)) - top) * sp)
        discs, _ = _dp_discs(f, top, hi, top, p, prior)
        seg = _label_segments(g, xs, ys, discs, top, lo, hi, p)
    else:
        discs, _ = _dp_discs(f, lo, hi, None, p)
        seg = _label_segments(g, xs, ys, discs, top, lo, hi, p)
        z0 = seg.get("sacrum_estimate")
        if z0 is not None:
            # second pass: the anchor (lowest rib or T1) tells where along the column we are, so the
            # segment-height prior applies as it does above a visible sacrum
            prior = _height_prior((np.arange(len(f)) - z0) * sp)
            discs2, _ = _dp_discs(f, lo, hi, None, p, prior)
            seg2 = _label_segments(g, xs, ys, discs2, top, lo, hi, p)
            if seg2["labels"] is not None:
                discs, seg = discs2, seg2
    def recount_twelve(margin: float | None = None) -> tuple[list[int], dict[str, Any]] | None:
        """Exactly 12 thoracic segments re-placed between the lowest rib and T1 (with ``margin``: only if
        13 segments do not explain the evidence better by that much); None when that does not hold."""
        b = seg["bounds"]
        k_a, k_b = b[seg["low_rib"]][0], b[seg["hi_rib"]][1]
        z0 = top if top is not None else seg.get("sacrum_estimate")
        prior = _height_prior((np.arange(len(f)) - z0) * sp) if z0 is not None else None
        inner, s12 = _dp_fixed_count(f, k_a, k_b, 12, p, prior, with_score=True)
        if inner is None or (margin is not None
                             and _dp_fixed_count(f, k_a, k_b, 13, p, prior, with_score=True)[1] - s12 >= margin):
            return None
        new = sorted([k for k in discs if k <= k_a or k >= k_b] + inner)
        new_seg = _label_segments(g, xs, ys, new, top, lo, hi, p)
        return (new, new_seg) if new_seg["labels"] is not None and new_seg["n_t"] == 12 else None

    if seg["n_t"] in (10, 11, 14, 15) and seg["low_rib"] is not None and seg["low_rib"] >= 1:
        # the lowest rib (T12) and T1 are both in view but fewer (or more) than 12-13 vertebrae lie
        # between them: discs were missed (faint upper thoracic discs) or split (a segment cut in two)
        redone = recount_twelve()
        if redone is not None:
            discs, seg = redone
            info["thoracic_recount"] = "12 thoracic segments re-placed between the lowest rib and T1"
    if seg["n_t"] == 13 and seg["low_rib"] is not None:
        # 13 rib-bearing vertebrae: a T13 (a few per cent of people), or one disc too many in a thoracic
        # spine whose discs are faint. Keep 13 only if 13 segments explain the evidence clearly better
        # than 12 between the same ends (by t13_margin, about one disc's worth of evidence).
        redone = recount_twelve(p["t13_margin"])
        if redone is not None:
            discs, seg = redone
            info["thoracic_recount"] = ("12 thoracic segments re-placed between the lowest rib and T1 "
                                        "(13 were not clearly better)")
    bounds, labels, anchor = seg["bounds"], seg["labels"], seg["anchor"]
    ribs, rib_idx, sacral_label = seg["ribs"], seg["rib_idx"], seg["sacral_label"]
    partial_top, partial_bottom = seg["partial_top"], seg["partial_bottom"]
    n = len(bounds)
    lowest_rib = None
    if labels is None:
        info["unlabelled"] = ("no anatomical anchor in the field of view (sacrum, the lowest rib with a "
                              "rib-free vertebra below it, or T1 under a rib-free C7): "
                              "vertebrae not identified")
        info["rib_scores"] = [round(float(r), 2) for r in ribs]
        return Detection([], [float(iso.world([0, 0, k])[2]) for k in discs], None, None, anchor, iso, info)
    if rib_idx is not None:
        lowest_rib = label_name(labels[rib_idx]) if 1 <= labels[rib_idx] <= 28 else None
        if anchor == "sacrum":
            info["anchor_conflict"] = f"the lowest rib-bearing vertebra counts as {lowest_rib} from the sacrum"
    info["rib_scores"] = [round(float(r), 2) for r in ribs]

    cents: list[Centroid] = []
    conf_base = 0.95 if anchor.startswith("sacrum") else 0.85 if anchor.startswith("ribs") else 0.8
    if "anchor_conflict" in info:
        conf_base = 0.6
    if top is not None:
        h = discs[1] - discs[0] if len(discs) > 1 else int(30 / sp)
        k_s1 = top - 0.5 * h * 0.85
        i, j = _body_centre(g, float(np.interp(k_s1, np.arange(len(xs)), np.nan_to_num(xs))),
                            float(np.interp(k_s1, np.arange(len(ys)), np.nan_to_num(ys))), int(round(k_s1)), p)
        cents.append(Centroid(sacral_label, tuple(float(v) for v in iso.world([i, j, k_s1])), conf_base))  # type: ignore[arg-type]
    prev: tuple[float, float] | None = None
    on_disc = set(int(k) for k in discs)
    for m, ((k0, k1), lab) in enumerate(zip(bounds, labels)):
        if lab < 1 or (lab > 25 and lab != 28):
            continue
        # the body is searched at mid-height between the discs as found; its height is taken between the discs'
        # troughs where the profile shows them
        kk = int(round(0.5 * (k0 + k1)))
        kc = 0.5 * (_disc_trough(prof, k0, p) if k0 in on_disc else k0) + 0.5 * (
            _disc_trough(prof, k1, p) if k1 in on_disc else k1)
        seed = (float(xs[kk]), float(ys[kk]))
        # the column is continuous: where the centreline strays from the body below by more than
        # stray_mm (small bodies at the cervicothoracic junction, where a first rib or a shoulder holds
        # the deepest bone), the body below is the better start for the search
        # (cervical and thoracic only: down the lumbar lordosis the bodies legitimately move more than that
        # from one level to the next, and a start taken from the body below can then lie in front of the
        # body, in the aorta)
        strayed = prev is not None and np.hypot(seed[0] - prev[0], seed[1] - prev[1]) * sp > p["stray_mm"]
        if strayed and lab <= _T12:
            seed = prev
        # cervical bodies are small (15-17 mm deep, less near an end plate)
        i, j = _body_centre(g, seed[0], seed[1], kk, p, 6.0 if lab <= 7 else 12.0)
        prev = (i, j - p["body_shift_mm"] / sp)
        part = m in seg["extrapolated"]
        conf = conf_base * (0.6 if part else 1.0)
        cents.append(Centroid(int(lab), tuple(float(v) for v in iso.world([i, j, kc])), conf))  # type: ignore[arg-type]
    cents.sort(key=lambda c: -c.xyz[2])
    zs = [float(iso.world([0, 0, k])[2]) for k in discs]
    return Detection(cents, zs, None if top is None else float(iso.world([0, 0, top + 0.5])[2]),
                     lowest_rib, anchor, iso, info)


def label_map(detection: Detection, like: Volume, bone_hu: float = 150.0, radius_mm: float = 45.0) -> Volume:
    """A VerSe-numbered label map on ``like``'s grid: bone voxels near the centreline, by vertebra slab.

    Approximate: each vertebra is the bone within ``radius_mm`` of its body
    centre between the planes half-way to its neighbours.
    """
    iso = detection.grid
    a = iso.array
    out = np.zeros(a.shape, np.uint8)
    cents = sorted(detection.centroids, key=lambda c: c.xyz[2])
    if not cents:
        return like.with_array(np.zeros(like.shape, np.uint8))
    ks = np.array([iso.voxel(c.xyz)[2] for c in cents])
    edges = np.r_[ks[0] - (ks[1] - ks[0]) / 2 if len(ks) > 1 else ks[0] - 8, (ks[:-1] + ks[1:]) / 2,
                  ks[-1] + (ks[-1] - ks[-2]) / 2 if len(ks) > 1 else ks[-1] + 8]
    sp = iso.spacing[0]
    ii, jj = np.mgrid[0:a.shape[0], 0:a.shape[1]]
    r = radius_mm / sp
    for c, k0, k1 in zip(cents, edges[:-1], edges[1:]):
        ci, cj, _ = iso.voxel(c.xyz)
        near = ((ii - ci) ** 2 + ((jj - cj) * 0.8) ** 2) <= r * r
        for k in range(max(int(np.ceil(k0)), 0), min(int(np.ceil(k1)), a.shape[2])):
            sl = out[:, :, k]
            sl[near & (a[:, :, k] > bone_hu) & (sl == 0)] = c.label
    return Volume(out, iso.affine, like.meta).resample_like(like, order=0)
