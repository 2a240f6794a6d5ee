"""From a CTA + NCCT pair to the 2-channel slices the network sees, and back.

Steps (:func:`prepare`)
    1. reorient the CTA to RAS (flips only) and check that the NCCT lies on it
       (:func:`check_registration`: overlap of the skull masks); optionally
       register the NCCT rigidly with SimpleITK (:func:`register_rigid`);
    2. find the Circle-of-Willis ROI from the CTA vessels, atlas-free
       (:func:`find_cow_roi`), or a centred brain ROI when no CTA was given
       or no vessels were found (:func:`fallback_roi`);
    3. resample CTA, NCCT and mask onto the ROI grid at a common spacing
       (one interpolation each, through the affines);
    4. window to 8-bit channels (CTA -100..700 HU, NCCT -10..110 HU, and the
       NCCT in the CTA window, used when the CTA is missing) and centre-pad
       every slice to ``size x size`` with the background value (air,
       -1024 HU, which is 0 after windowing).

:func:`restore` undoes 4 and 3 for a predicted stack: removes the padding
and resamples the mask (nearest) onto the original CTA (or NCCT) grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from ..errors import InputError
from ..volume import LPS_TO_RAS, Volume

__all__ = [
    "WINDOW_CTA", "WINDOW_NCCT", "BACKGROUND_HU", "Roi", "RegistrationCheck", "PreparedCase",
    "check_registration", "register_rigid", "find_cow_roi", "fallback_roi", "roi_grid", "window", "pad_center",
    "unpad", "prepare", "restore",
]

WINDOW_CTA = (-100.0, 700.0)
WINDOW_NCCT = (-10.0, 110.0)
BACKGROUND_HU = -1024.0


@dataclass(frozen=True)
class Roi:
    """An axis-aligned box in world RAS mm: centre and full size (x, y, z)."""

    centre_mm: tuple[float, float, float]
    size_mm: tuple[float, float, float]
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {"centre_mm": [round(c, 2) for c in self.centre_mm], "size_mm": [round(s, 2) for s in self.size_mm],
                "method": self.method}


@dataclass(frozen=True)
class RegistrationCheck:
    """Overlap of the skull (> 700 HU) in CTA and NCCT on the CTA grid."""

    bone_dice: float
    ok: bool
    threshold: float
    registered: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"bone_dice": round(self.bone_dice, 4), "ok": self.ok, "threshold": self.threshold,
                "registered": self.registered}


@dataclass(frozen=True)
class PreparedCase:
    """Network-ready slices of one case.

    ``channels`` is ``(n_slices, 3, size, size)`` uint8: CTA, NCCT, NCCT in the
    CTA window; ``mask`` ``(n_slices, size, size)`` uint8 or ``None``; the ROI
    grid is ``roi_shape``/``roi_affine`` (``[i, j, k]``, k = slices) and
    ``offset`` the (i, j) position of the ROI inside the padded slice.
    """

    channels: np.ndarray
    mask: np.ndarray | None
    roi_shape: tuple[int, int, int]
    roi_affine: np.ndarray
    offset: tuple[int, int]
    roi: Roi
    has_cta: bool
    has_ncct: bool
    registration: RegistrationCheck | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


# ----------------------------------------------------------------------------- registration
def check_registration(cta: Volume, ncct: Volume, threshold: float = 0.6) -> RegistrationCheck:
    """Dice of the skull masks (> 700 HU) with the NCCT resampled onto the CTA grid.

    Well-registered pairs of the synthetic heads score ~0.8-0.95; a pair off
    by a few millimetres or degrees falls below ``threshold``.
    """
    step = max(1, int(round(1.5 / min(cta.spacing[:2]))))
    sub = Volume(cta.array[::step, ::step, :], cta.affine @ np.diag([step, step, 1, 1]), cta.meta)
    a = sub.array > 700
    b = ncct.resample_like(sub, order=1, fill=BACKGROUND_HU).array > 700
    denom = int(a.sum()) + int(b.sum())
    dice = 2.0 * float(np.logical_and(a, b).sum()) / denom if denom else 0.0
    return RegistrationCheck(dice, dice >= threshold, threshold)


def _to_sitk(volume: Volume, dtype: Any = np.float32) -> Any:
    import SimpleITK as sitk

    lps = LPS_TO_RAS @ volume.affine
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    img = sitk.GetImageFromArray(np.ascontiguousarray(np.transpose(volume.array.astype(dtype), (2, 1, 0))))
    img.SetSpacing(tuple(float(s) for s in spacing))
    img.SetDirection(tuple(float(x) for x in (lps[:3, :3] / spacing).ravel()))
    img.SetOrigin(tuple(float(x) for x in lps[:3, 3]))
    return img


def register_rigid(moving: Volume, fixed: Volume, seed: int = 0) -> tuple[Volume, dict[str, Any]]:
    """Rigid (Euler 3-D) registration of ``moving`` onto ``fixed`` with SimpleITK.

    Mattes mutual information, two resolution levels; returns ``moving``
    resampled onto ``fixed``'s grid (linear, background -1024 HU) and the
    transform parameters (rotation in degrees, translation in LPS mm).
    """
    import SimpleITK as sitk

    f = _to_sitk(fixed)
    m = _to_sitk(moving)
    init = sitk.CenteredTransformInitializer(f, m, sitk.Euler3DTransform(), sitk.CenteredTransformInitializerFilter.GEOMETRY)
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    reg.SetMetricSamplingPercentage(0.05, seed)
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(learningRate=1.0, minStep=1e-3, numberOfIterations=100,
                                                 relaxationFactor=0.6)
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel([4, 2])
    reg.SetSmoothingSigmasPerLevel([2, 1])
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    reg.SetInitialTransform(init, inPlace=False)
    tx = reg.Execute(f, m)
    out = sitk.Resample(m, f, tx, sitk.sitkLinear, BACKGROUND_HU, sitk.sitkFloat32)
    arr = np.transpose(sitk.GetArrayFromImage(out), (2, 1, 0))
    arr = np.clip(np.rint(arr), -32768, 32767).astype(moving.array.dtype if np.issubdtype(moving.array.dtype, np.integer) else np.float32)
    euler = sitk.Euler3DTransform(sitk.CompositeTransform(tx).GetNthTransform(0)) if tx.GetName() == "CompositeTransform" else None
    params = list(euler.GetParameters()) if euler is not None else list(tx.GetParameters())
    info = {"rotation_deg": [round(math.degrees(a), 3) for a in params[:3]],
            "translation_lps_mm": [round(t, 3) for t in params[3:6]], "metric": round(reg.GetMetricValue(), 5)}
    return Volume(arr, fixed.affine.copy(), moving.meta).add_decision(
        f"rigidly registered to the CTA (SimpleITK Euler3D, Mattes MI): {info}"), info


# ----------------------------------------------------------------------------- ROI
def _coarse(vol: Volume, target_mm: float = 1.5) -> Volume:
    step = max(1, int(round(target_mm / min(vol.spacing[:2]))))
    return Volume(vol.array[::step, ::step, :], vol.affine @ np.diag([step, step, 1, 1]), vol.meta)


def _clamp(lo: np.ndarray, hi: np.ndarray, min_size: np.ndarray, max_size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    centre = (lo + hi) / 2
    size = np.clip(hi - lo, min_size, max_size)
    return centre, size


def find_cow_roi(cta: Volume, margin_mm: float = 8.0, min_size_mm: tuple[float, float, float] = (96.0, 96.0, 30.0),
                 max_size_mm: tuple[float, float, float] = (180.0, 180.0, 120.0), lumen_hu: tuple[float, float] = (180.0, 650.0),
                 min_component_mm3: float = 20.0) -> Roi:
    """ROI around the Circle of Willis from the contrast-filled arteries (atlas-free).

    Vessel voxels are CTA voxels within ``lumen_hu`` more than 3 mm from bone
    (> 700 HU), found on a ~1.5 mm in-plane grid. The ROI is the box around
    the largest connected vessel tree and every vessel component within 50 mm
    of it, made symmetric about the head's midline (so an occluded side with
    faint distal vessels is covered as far as the healthy side), plus
    ``margin_mm``, clamped to ``min_size_mm`` .. ``max_size_mm``. Falls back
    to :func:`fallback_roi` when no vessels are found (e.g. an NCCT).
    """
    v = _coarse(cta.to_ras())
    arr = v.array
    sp = np.asarray(v.spacing)
    bone = arr > 700
    near_bone = ndimage.binary_dilation(bone, structure=_ellipsoid(3.0, sp))
    head = arr > -300
    vessel = (arr >= lumen_hu[0]) & (arr <= lumen_hu[1]) & head & ~near_bone
    lab, n = ndimage.label(vessel, structure=np.ones((3, 3, 3), bool))
    if n == 0:
        return fallback_roi(cta, reason="no contrast-filled vessels found in the CTA")
    sizes = np.bincount(lab.ravel())[1:] * float(np.prod(sp))
    keep = np.nonzero(sizes >= min_component_mm3)[0] + 1
    if len(keep) == 0:
        return fallback_roi(cta, reason="no vessel tree larger than %.0f mm^3 in the CTA" % min_component_mm3)
    cents = np.asarray(ndimage.center_of_mass(vessel, lab, keep))
    world_c = v.world(cents)
    big = keep[int(np.argmax(sizes[keep - 1]))]
    ref = world_c[list(keep).index(big)]
    close = keep[np.linalg.norm(world_c - ref, axis=1) <= 50.0]
    pts = v.world(np.argwhere(np.isin(lab, close)))
    lo, hi = pts.min(0) - margin_mm, pts.max(0) + margin_mm
    head_idx = np.argwhere(head)
    mid_x = float(v.world(head_idx[:: max(1, len(head_idx) // 20000)]).mean(0)[0])
    half = max(abs(lo[0] - mid_x), abs(hi[0] - mid_x))
    lo[0], hi[0] = mid_x - half, mid_x + half
    centre, size = _clamp(lo, hi, np.asarray(min_size_mm), np.asarray(max_size_mm))
    return Roi(tuple(float(c) for c in centre), tuple(float(s) for s in size),
               f"vessels: {len(close)} component(s), {float(sizes[close - 1].sum()):.0f} mm^3 of lumen")


def _ellipsoid(radius_mm: float, spacing: np.ndarray) -> np.ndarray:
    r = np.maximum(1, np.floor(radius_mm / spacing)).astype(int)
    g = np.ogrid[tuple(slice(-x, x + 1) for x in r)]
    return sum((gi * s / radius_mm) ** 2 for gi, s in zip(g, spacing)) <= 1.0 + 1e-9  # type: ignore[return-value]


def fallback_roi(vol: Volume, reason: str = "no CTA given", size_mm: tuple[float, float] = (120.0, 120.0),
                 max_z_mm: float = 120.0) -> Roi:
    """A brain-centred ROI when the vessels cannot be used: the in-plane centre
    of the brain-density voxels (0-80 HU), ``size_mm`` wide, over their z range
    (at most ``max_z_mm``, centred)."""
    v = _coarse(vol.to_ras())
    brain = (v.array >= 0) & (v.array <= 80)
    brain = ndimage.binary_opening(brain, iterations=1)
    idx = np.argwhere(brain)
    if len(idx) == 0:
        raise InputError(f"{vol.meta.source or 'input'}: no brain-density voxels (0-80 HU); is this a head CT?")
    pts = v.world(idx[:: max(1, len(idx) // 50000)])
    centre = pts.mean(0)
    zlo, zhi = pts[:, 2].min(), pts[:, 2].max()
    zc, zs = (zlo + zhi) / 2, min(zhi - zlo + 4.0, max_z_mm)
    return Roi((float(centre[0]), float(centre[1]), float(zc)), (size_mm[0], size_mm[1], float(zs)),
               f"fallback ({reason}): centred on the brain")


def roi_grid(roi: Roi, spacing: tuple[float, float, float], max_inplane: int,
             snap_to: Volume | None = None) -> tuple[tuple[int, int, int], np.ndarray]:
    """RAS-aligned grid covering ``roi`` at ``spacing`` (in-plane at most ``max_inplane`` voxels).

    With ``snap_to`` (a RAS volume of the same spacing) the grid's voxel centres
    coincide with that volume's, so no interpolation happens.
    """
    sp = np.asarray(spacing, dtype=np.float64)
    shape = np.maximum(1, np.ceil(np.asarray(roi.size_mm) / sp).astype(int))
    shape[:2] = np.minimum(shape[:2], max_inplane)
    origin = np.asarray(roi.centre_mm) - sp * (shape - 1) / 2.0
    if snap_to is not None and np.allclose(np.abs(snap_to.affine[:3, :3]), np.diag(sp), atol=1e-3 * sp.max()) \
            and np.all(np.diag(snap_to.affine[:3, :3]) > 0):
        idx = np.rint(snap_to.voxel(origin))
        origin = snap_to.world(idx)
    affine = np.diag([*sp, 1.0])
    affine[:3, 3] = origin
    return (int(shape[0]), int(shape[1]), int(shape[2])), affine


# ----------------------------------------------------------------------------- channels
def window(arr: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """HU -> uint8 (lo -> 0, hi -> 255, clipped).

    >>> window(np.array([-2000, -100, 300, 700, 5000]), -100, 700).tolist()
    [0, 0, 128, 255, 255]
    """
    x = (np.asarray(arr, dtype=np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def pad_center(arr: np.ndarray, size: int, value: float = 0) -> tuple[np.ndarray, tuple[int, int]]:
    """Centre-pad the first two axes of ``arr`` to ``size x size`` with ``value``.

    Returns the padded array and the (i, j) offset of the original inside it.

    >>> p, off = pad_center(np.ones((2, 3)), 4, value=-1)
    >>> off, p.tolist()[0]
    ((1, 0), [-1.0, -1.0, -1.0, -1.0])
    """
    ni, nj = arr.shape[:2]
    if ni > size or nj > size:
        raise ValueError(f"slice {ni}x{nj} is larger than the padded size {size}x{size}")
    oi, oj = (size - ni) // 2, (size - nj) // 2
    out = np.full((size, size) + arr.shape[2:], value, dtype=arr.dtype)
    out[oi:oi + ni, oj:oj + nj] = arr
    return out, (oi, oj)


def unpad(arr: np.ndarray, offset: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """Inverse of :func:`pad_center` on the last two axes of a ``(..., size, size)`` array."""
    return arr[..., offset[0]:offset[0] + shape[0], offset[1]:offset[1] + shape[1]]


def prepare(cta: Volume | None, ncct: Volume | None, mask: Volume | None = None,
            spacing: tuple[float, float, float] = (0.75, 0.75, 1.5), size: int = 256, register: bool = False,
            check: bool = True, roi: Roi | None = None) -> PreparedCase:
    """CTA + NCCT (+ mask) -> :class:`PreparedCase` (see the module docstring).

    Either image may be ``None`` (not both): without a CTA the ROI is the
    brain-centred fallback and the CTA channel is left to the caller (the
    NCCT in the CTA window is provided as channel 2); without an NCCT its
    channel is the CTA in the NCCT window.
    """
    if cta is None and ncct is None:
        raise InputError("clot segmentation needs a CTA, an NCCT or both")
    notes: list[str] = []
    ref = (cta if cta is not None else ncct).to_ras()  # type: ignore[union-attr]
    reg = None
    if cta is not None and ncct is not None:
        if register:
            ncct, info = register_rigid(ncct, ref)
            notes.append(f"NCCT rigidly registered to the CTA: rotation {info['rotation_deg']} deg, "
                         f"translation {info['translation_lps_mm']} mm (LPS)")
        if check:
            reg = check_registration(ref, ncct)
            reg = RegistrationCheck(reg.bone_dice, reg.ok, reg.threshold, registered=register)
            if not reg.ok:
                notes.append(f"NCCT and CTA look misregistered (skull Dice {reg.bone_dice:.2f} < {reg.threshold}); "
                             "consider --register")
    if roi is None:
        roi = find_cow_roi(ref) if cta is not None else fallback_roi(ref, reason="no CTA given")
    if not roi.method.startswith("vessels"):
        notes.append(f"ROI: {roi.method}")
    shape, affine = roi_grid(roi, spacing, size, snap_to=ref)
    c = ref.resample_to(shape, affine, order=1, fill=BACKGROUND_HU).array if cta is not None else None
    n = ncct.resample_to(shape, affine, order=1, fill=BACKGROUND_HU).array if ncct is not None else None
    if c is None:
        notes.append("no CTA given: NCCT-only path (the CTA channel is the NCCT in the CTA window; lower sensitivity)")
        c_w = window(n, *WINDOW_CTA)
    else:
        c_w = window(c, *WINDOW_CTA)
    if n is None:
        notes.append("no NCCT given: the NCCT channel is the CTA in the NCCT window")
        n_w, nc_w = window(c, *WINDOW_NCCT), c_w
    else:
        n_w, nc_w = window(n, *WINDOW_NCCT), window(n, *WINDOW_CTA)
    stack = np.stack([c_w, n_w, nc_w], axis=0)  # (3, i, j, k)
    stack = np.moveaxis(stack, 3, 0)  # (k, 3, i, j)
    stack = np.moveaxis(stack, 1, 3)  # (k, i, j, 3)
    padded, offset = pad_center(np.moveaxis(stack, 0, 2), size, value=0)  # (S, S, k, 3)
    channels = np.ascontiguousarray(np.transpose(padded, (2, 3, 0, 1)))
    m = None
    if mask is not None:
        mv = mask.resample_to(shape, affine, order=0, fill=0).array.astype(np.uint8)
        mp, _ = pad_center(mv, size, value=0)
        m = np.ascontiguousarray(np.moveaxis(mp, 2, 0))
    return PreparedCase(channels, m, shape, affine, offset, roi, cta is not None, ncct is not None, reg, tuple(notes))


def restore(pred: np.ndarray, prepared: PreparedCase, target: Volume) -> Volume:
    """A ``(n_slices, size, size)`` prediction back onto ``target``'s grid (uint8 mask)."""
    roi = unpad(pred, prepared.offset, prepared.roi_shape[:2])  # (k, i, j)
    arr = np.ascontiguousarray(np.moveaxis(roi, 0, 2)).astype(np.uint8)
    vol = Volume(arr, prepared.roi_affine, target.meta)
    full = np.zeros(target.shape, dtype=np.uint8)
    # only the block of the target grid the ROI covers is resampled (fast on large scans)
    corners = np.array([[i, j, k] for i in (-1, arr.shape[0]) for j in (-1, arr.shape[1]) for k in (-1, arr.shape[2])], float)
    tv = target.voxel(vol.world(corners))
    lo = np.clip(np.floor(tv.min(0)).astype(int), 0, target.shape)
    hi = np.clip(np.ceil(tv.max(0)).astype(int) + 1, 0, target.shape)
    if np.all(hi > lo):
        shift = np.eye(4)
        shift[:3, 3] = lo
        block = vol.resample_to(tuple(int(x) for x in hi - lo), target.affine @ shift, order=0, fill=0)
        full[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = block.array
    return Volume(full, target.affine.copy(), target.meta.replace(description="clot mask (hounsfield)"))
