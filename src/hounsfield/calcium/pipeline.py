"""Calcium scoring of one CT exam: gating decision, fake gating, search region, contrast check, scoring.

A stage takes Volumes and returns values; nothing here reads files or prints.

Search region, in the user's order of choice:

* ``roi`` label map: every label scored separately, no anatomy;
* ``roi="all"``: the whole volume (phantoms, QA);
* otherwise the heart: TotalSegmentator masks (``masks``) or the built-in
  heuristic (:func:`hounsfield.anatomy.heart_region`); the heart grown by
  ``heart_margin_mm`` (coronary arteries run in the epicardial fat), bone
  (vertebrae, ribs, sternum, costal cartilages) grown by 2 mm removed, the
  aorta (when a mask is given) scored as its own, non-coronary region.

Contrast check: the median HU of the heart region on the original scan is the
blood pool; above 130 HU (the Agatston threshold) the exam is contrast
enhanced and is refused (or, with ``allow_contrast``, scored with a warning).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from scipy import ndimage

from ..anatomy import AnatomyMasks, HeartRegion, heart_region
from ..errors import InputError
from ..volume import Volume
from .fake_gated import FakeGated, fake_gated
from .mass import with_integral_mass
from .scoring import CalciumScore, Lesion, RegionScore, ScoringOptions, risk_category, score_volume

__all__ = ["ARTERIES", "CalciumResult", "ContrastError", "analyse", "decide_gated"]

ARTERIES = ("LM", "LAD", "LCX", "RCA")
#: region names that count in the coronary total when lesions are classified
CORONARY = set(ARTERIES)
NON_CORONARY = {"aorta", "other", "valve", "noise"}


class ContrastError(InputError):
    """The scan is contrast enhanced: Agatston scoring is not defined on it."""


@dataclass(frozen=True)
class CalciumResult:
    score: CalciumScore
    gated: bool
    gated_reason: str
    fake_gated: FakeGated | None
    region_source: str
    blood_pool_hu: float | None
    warnings: list[str] = field(default_factory=list)
    classifier: dict[str, Any] | None = None
    scored: Volume | None = field(default=None, repr=False, compare=False)
    region_map: Volume | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = self.score.to_dict()
        d["warnings"] = list(dict.fromkeys(list(self.warnings) + list(self.score.warnings)))
        d.update({
            "gated": self.gated, "gated_reason": self.gated_reason,
            "fake_gated": self.fake_gated.to_dict() if self.fake_gated else None,
            "search_region": self.region_source, "blood_pool_hu": self.blood_pool_hu,
            "lesion_classifier": self.classifier,
        })
        return d


def decide_gated(volume: Volume, mode: str) -> tuple[bool, str]:
    """``mode`` is "gated", "non-gated" or "auto" (metadata, else slice geometry)."""
    if mode == "gated":
        return True, "--gated"
    if mode == "non-gated":
        return False, "--non-gated"
    if mode != "auto":
        raise InputError(f"unknown mode '{mode}' (gated, non-gated, auto)")
    if volume.meta.gated is not None:
        return bool(volume.meta.gated), f"metadata: {volume.meta.gated_reason or 'gating flag'}"
    inc = float(np.linalg.norm(volume.affine[:3, 2]))
    thick = volume.meta.thickness_mm or inc
    if thick >= 2.5 and 1.4 <= inc <= 3.1:
        return True, f"no gating metadata; {thick:g} mm slices every {inc:g} mm, scored as a calcium-score series"
    return False, f"no gating metadata; {thick:g} mm slices every {inc:g} mm, treated as non-gated"


def _dilate_mm(mask: Volume, mm: float) -> Volume:
    """Grow a binary mask by ``mm`` (Euclidean, anisotropic spacing), working in its bounding box."""
    m = mask.array > 0
    if mm <= 0 or not m.any():
        return Volume(m.astype(np.uint8), mask.affine)
    if mm <= 1.01 * max(mask.spacing) and mm >= 0.99 * min(mask.spacing):
        # one voxel of a coarse grid: a 3x3x3 dilation is the same neighbourhood, much faster
        return Volume(ndimage.binary_dilation(m, structure=np.ones((3, 3, 3), bool)).astype(np.uint8), mask.affine)
    sp = np.asarray(mask.spacing)
    pad = np.ceil(mm / sp).astype(int) + 1
    idx = np.argwhere(m)
    lo = np.maximum(idx.min(0) - pad, 0)
    hi = np.minimum(idx.max(0) + pad + 1, m.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    sub = ~m[box]
    dist = ndimage.distance_transform_edt(sub, sampling=sp)
    out = np.zeros(m.shape, np.uint8)
    out[box] = dist <= mm
    return Volume(out, mask.affine)


def _region_map(grid: Volume, heart: Volume, bone: Volume | None, aorta: Volume | None,
                heart_margin_mm: float) -> Volume:
    """Label map on ``heart``'s grid: 1 heart search region, 2 aorta; bone removed."""
    region = _dilate_mm(heart, heart_margin_mm).array > 0
    lab = region.astype(np.uint8)
    if aorta is not None:
        ao = _dilate_mm(aorta.resample_like(heart, order=0), 2.0).array > 0
        lab[ao & region] = 2
    if bone is not None:
        # at least one voxel of the (possibly coarse) mask grid: partial-volume rims of bone stay out
        b = _dilate_mm(bone.resample_like(heart, order=0), max(2.0, 1.01 * max(heart.spacing))).array > 0
        lab[b] = 0
    return Volume(lab, heart.affine)


def _blood_pool_hu(volume: Volume, heart: Volume) -> float:
    """Median HU of the scan at the heart mask's core voxels (sampled at their world positions)."""
    m = heart.array > 0
    core = ndimage.binary_erosion(m, iterations=2)  # away from the wall: blood pool, not myocardium and fat
    use = core if core.sum() > 100 else m
    ijk = np.argwhere(use)
    if ijk.shape[0] > 200_000:
        ijk = ijk[:: ijk.shape[0] // 200_000 + 1]
    vox = np.rint(volume.voxel(heart.world(ijk))).astype(np.int64)
    ok = np.all((vox >= 0) & (vox < np.array(volume.shape)), axis=1)
    if not ok.any():
        raise InputError("the heart mask does not overlap the scan (check that it belongs to this exam)")
    v = vox[ok]
    return float(np.median(volume.array[v[:, 0], v[:, 1], v[:, 2]]))


def _summarise(score: CalciumScore, counted: Callable[[str], bool], scheme: str) -> CalciumScore:
    ls = [l for l in score.lesions if counted(l.region)]
    total = float(sum(l.agatston for l in ls))
    mass = float(sum(l.mass_mg or 0.0 for l in ls)) if score.mass_mg is not None else None
    mass_pv = float(sum(l.mass_pv_mg or 0.0 for l in ls)) if score.mass_pv_mg is not None else None
    return dataclasses.replace(score, agatston=total, volume_mm3=float(sum(l.volume_mm3 for l in ls)), mass_mg=mass,
                               mass_pv_mg=mass_pv,
                               n_lesions=len(ls), risk_category=risk_category(total, scheme))


def _regions_from_lesions(lesions: Sequence[Lesion], names: Sequence[str], with_mass: bool) -> dict[str, RegionScore]:
    out = {}
    for n in names:
        ls = [l for l in lesions if l.region == n]
        out[n] = RegionScore(agatston=float(sum(l.agatston for l in ls)), volume_mm3=float(sum(l.volume_mm3 for l in ls)),
                             mass_mg=float(sum(l.mass_mg or 0.0 for l in ls)) if with_mass else None, n_lesions=len(ls),
                             mass_pv_mg=(float(sum(l.mass_pv_mg or 0.0 for l in ls))
                                         if with_mass and any(l.mass_pv_mg is not None for l in ls) else None))
    return out


def _input_slices(lesions: list[Lesion], original: Volume, scored: Volume, half_thickness: float) -> list[Lesion]:
    """Report slice ranges in the *input* file's k numbering (lesions were scored on slabs)."""
    if not lesions:
        return lesions
    inv = np.linalg.inv(original.affine)
    col = scored.affine[:3, 2]
    kdir = col / np.linalg.norm(col)
    c = np.array([l.centroid_mm for l in lesions], np.float64)  # (n, 3)
    kc = scored.voxel(c)[:, 2]
    sl = np.array([l.slices if l.slices[0] >= 0 else (np.nan, np.nan) for l in lesions], np.float64)
    sl = np.where(np.isnan(sl), kc[:, None], sl)
    # the slab range through each centroid, widened by half a slab on both sides, in the original's voxels
    pts = (c[:, None, None, :] + (sl - kc[:, None])[:, :, None, None] * col
           + np.array([-1.0, 1.0])[None, None, :, None] * (half_thickness - 1e-3) * kdir)
    k = (pts.reshape(-1, 3) @ inv[:3, :3].T + inv[:3, 3])[:, 2].reshape(len(lesions), 4)
    k0 = np.clip(np.ceil(k.min(axis=1) - 0.5), 0, original.shape[2] - 1).astype(int)
    k1 = np.clip(np.floor(k.max(axis=1) + 0.5), 0, original.shape[2] - 1).astype(int)
    return [dataclasses.replace(l, slices=(int(a), int(b))) for l, a, b in zip(lesions, k0, k1)]


def analyse(
    volume: Volume,
    *,
    mode: str = "auto",
    roi: Volume | str | None = None,
    masks: AnatomyMasks | None = None,
    options: ScoringOptions | None = None,
    increment_mm: float = 3.0,
    heart_margin_mm: float = 10.0,
    allow_contrast: bool = False,
    classifier: Any = None,
) -> CalciumResult:
    """Score one CT exam (see the module docstring for the steps)."""
    opts = options or ScoringOptions()
    warnings: list[str] = []
    gated, reason = decide_gated(volume, mode)
    fg = None
    scored = volume
    if not gated:
        fg = fake_gated(volume, increment_mm=increment_mm)
        scored = fg.volume
        if not fg.standard:
            warnings.append(fg.note)
    blood = None
    region_map = None
    if isinstance(roi, str):
        if roi != "all":
            raise InputError(f"--roi takes a label file or 'all', not '{roi}'")
        score = with_integral_mass(score_volume(scored, opts), scored, opts.mass_calibration)
        source = "all (whole volume, no anatomical restriction)"
    elif roi is not None:
        score = with_integral_mass(score_volume(scored, opts, roi=roi), scored, opts.mass_calibration)
        source = "roi labels"
    else:
        if masks is not None and masks.heart is not None:
            heart, bone, aorta = masks.heart, masks.bone, masks.aorta
            source = f"TotalSegmentator masks ({masks.source})"
            blood = _blood_pool_hu(volume, heart)
        else:
            if masks is not None:
                warnings.append("the masks hold no heart; used the built-in heart region")
            hr: HeartRegion = heart_region(volume)
            heart, bone, aorta = hr.heart, hr.bone, (masks.aorta if masks else None)
            if masks is not None and masks.bone is not None:
                bone = masks.bone
            source = hr.source
            blood = _blood_pool_hu(volume, heart)
        if blood > opts.threshold:
            msg = (f"contrast-enhanced: blood pool {blood:.0f} HU exceeds the {opts.threshold:g} HU threshold; "
                   "calcium scoring needs a non-contrast scan")
            if not allow_contrast:
                raise ContrastError(msg)
            warnings.append(msg + " (scored anyway on request; the score is not an Agatston score)")
        region_map = _region_map(scored, heart, bone, aorta, heart_margin_mm)
        names = {1: "heart", 2: "aorta"}
        score = with_integral_mass(score_volume(scored, opts, roi=region_map, region_names=names), scored,
                                   opts.mass_calibration)
        cinfo = None
        if classifier is not None:
            score, cinfo = classifier.apply(score, scored, region_map)
        counted = (lambda r: r in CORONARY) if cinfo else (lambda r: r not in NON_CORONARY)
        score = _summarise(score, counted, opts.risk_scheme)
        if cinfo is None:
            warnings.append("no lesion classifier: every lesion in the heart region counts (aortic-root and valve "
                            "calcium included)")
        return _finish(volume, scored, fg, score, gated, reason, source, blood, warnings, cinfo, region_map, opts)
    return _finish(volume, scored, fg, score, gated, reason, source, blood, warnings, None, region_map, opts)


def _finish(volume: Volume, scored: Volume, fg: FakeGated | None, score: CalciumScore, gated: bool, reason: str,
            source: str, blood: float | None, warnings: list[str], cinfo: dict[str, Any] | None,
            region_map: Volume | None, opts: ScoringOptions) -> CalciumResult:
    if fg is not None and fg.standard:
        score = dataclasses.replace(
            score, lesions=_input_slices(score.lesions, volume, scored, fg.thickness_mm / 2.0),
            protocol=score.protocol + f"; fake gated ({fg.slices_averaged:g} x {fg.input_increment_mm:g} mm slices "
                                      f"-> {fg.thickness_mm:g} mm every {fg.increment_mm:g} mm)")
    elif fg is not None:
        score = dataclasses.replace(score, protocol=score.protocol + "; non-standard: native thick slices")
    return CalciumResult(score=score, gated=gated, gated_reason=reason, fake_gated=fg, region_source=source,
                         blood_pool_hu=blood, warnings=warnings, classifier=cinfo, scored=scored,
                         region_map=region_map)
