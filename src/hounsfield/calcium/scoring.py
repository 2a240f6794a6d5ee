"""Calcium scores (Agatston, volume, mass): exact, configurable, documented.

The default is the **clinical Agatston definition**, which reproduces the
reference values of a real QRM phantom exactly (see ``docs/anchors``):

* threshold >= 130 HU at 120 kVp (:data:`KVP_TABLE` for 70/80/100/135 kVp);
* 2-D **8-connected** components in each axial slice;
* components **under 1 mm^2 dropped** (exactly 1 mm^2 is kept);
* weight from the component's **peak HU in that slice**: 130-199 -> 1,
  200-299 -> 2, 300-399 -> 3, >= 400 -> 4;
* score = sum(area_mm2 x weight) x (slice increment / 3 mm), the increment
  taken from slice positions (the affine), never from SliceThickness.

Volume score = counted voxels x voxel volume (increment as z).
Mass score = c x sum(voxel volume x HU) over counted voxels, with the
calibration factor ``c`` in mg/(HU mm^3); without ``c`` the mass is ``None``.

Variants in use elsewhere are options, each with the reason it exists:

* ``connectivity=4`` - some research tools; splits diagonal-only contacts, so
  more small components fall under the area limit (lower scores).
* ``min_area_mm2=0.5`` or ``min_area_px=3`` - older scanners/tools; lets more
  noise specks in.
* ``lesion_mode="3d"`` - weight from the peak of the whole 3-D lesion; inflates
  scores by 21-28 % on a real phantom, kept only to reproduce such tools.

Lesions are reported as 3-D connected groups of the counted 2-D components;
a lesion's score is the sum of its components' scores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy import ndimage

from ..errors import InputError
from ..volume import Volume

__all__ = [
    "KVP_TABLE",
    "RISK_SCHEMES",
    "CalciumScore",
    "Lesion",
    "RegionScore",
    "ScoringOptions",
    "agatston_weight",
    "mass_calibration_factor",
    "risk_category",
    "score_volume",
]

#: kVp -> (threshold, lower bound of weight 2, of weight 3, of weight 4) in HU (Graeni 2018; 120 kVp clinical).
KVP_TABLE: dict[int, tuple[float, float, float, float]] = {
    70: (207, 318, 477, 636),
    80: (177, 271, 408, 544),
    100: (145, 222, 334, 446),
    120: (130, 200, 300, 400),
    135: (119, 183, 274, 364),
}

#: risk-category schemes: name -> list of (label, upper bound inclusive); the last bound is infinite.
RISK_SCHEMES: dict[str, list[tuple[str, float]]] = {
    "default": [("0", 0), ("1-10", 10), ("11-100", 100), ("101-400", 400), (">400", np.inf)],
    "four": [("0", 0), ("1-100", 100), ("101-400", 400), (">400", np.inf)],
    "four-300": [("0", 0), ("1-100", 100), ("101-300", 300), (">300", np.inf)],
    "lung-screening": [("0-10", 10), ("11-100", 100), ("101-1000", 1000), (">1000", np.inf)],
}


def risk_category(score: float, scheme: str = "default") -> str:
    """Category label of an Agatston score; upper bounds inclusive.

    Scores are compared after rounding to 2 decimals, so 10.004 is "1-10".

    >>> risk_category(0), risk_category(10), risk_category(10.5), risk_category(401)
    ('0', '1-10', '11-100', '>400')
    >>> risk_category(1000, "lung-screening")
    '101-1000'
    """
    if scheme not in RISK_SCHEMES:
        raise InputError(f"unknown risk scheme '{scheme}' (choose from {', '.join(RISK_SCHEMES)})")
    s = round(float(score), 2)
    bins = RISK_SCHEMES[scheme]
    # "0" means exactly zero; "1-10" covers (0, 10] so scores below 1 from partial slices stay in it
    for label, upper in bins:
        if s <= upper:
            return label
    return bins[-1][0]


def risk_index(label: str, scheme: str = "default") -> int:
    """Ordinal index of a category label (for kappa)."""
    return [lab for lab, _ in RISK_SCHEMES[scheme]].index(label)


def _kvp_row(kvp: float | None) -> tuple[int, tuple[float, float, float, float]]:
    if kvp is None:
        return 120, KVP_TABLE[120]
    k = int(round(float(kvp)))
    if k not in KVP_TABLE:
        raise InputError(f"no Agatston threshold table for {kvp:g} kVp (known: {', '.join(map(str, KVP_TABLE))})")
    return k, KVP_TABLE[k]


def agatston_weight(peak_hu: np.ndarray | float, kvp: float | None = 120) -> np.ndarray | int:
    """Agatston density weight (0-4) of a peak HU at the given kVp.

    >>> [int(agatston_weight(h)) for h in (129, 130, 199, 200, 299, 300, 399, 400)]
    [0, 1, 1, 2, 2, 3, 3, 4]
    """
    _, (t, w2, w3, w4) = _kvp_row(kvp)
    p = np.asarray(peak_hu, dtype=np.float64)
    w = (p >= t).astype(np.int64) + (p >= w2) + (p >= w3) + (p >= w4)
    return int(w) if w.ndim == 0 else w


def mass_calibration_factor(hu_rod: float, hu_water: float, density_mg_cm3: float = 200.0) -> float:
    """``c`` in mg/(HU mm^3) from a calcium-hydroxyapatite rod and water.

    >>> round(mass_calibration_factor(290.0, 12.0), 6)
    0.000719
    """
    if hu_rod <= hu_water:
        raise InputError("the calibration rod must be denser than water")
    return (density_mg_cm3 / 1000.0) / (hu_rod - hu_water)


@dataclass(frozen=True)
class ScoringOptions:
    """How to score. The defaults are the clinical Agatston definition."""

    kvp: float | None = 120
    connectivity: int = 8
    min_area_mm2: float | None = 1.0
    min_area_px: int | None = None
    lesion_mode: str = "2d"
    mass_calibration: float | None = None
    risk_scheme: str = "default"
    threshold_hu: float | None = None  # override of the kVp table's threshold (QA only)

    def __post_init__(self) -> None:
        if self.connectivity not in (4, 8):
            raise InputError("connectivity must be 4 or 8")
        if self.lesion_mode not in ("2d", "3d"):
            raise InputError("lesion_mode must be '2d' or '3d'")
        if self.risk_scheme not in RISK_SCHEMES:
            raise InputError(f"unknown risk scheme '{self.risk_scheme}'")
        _kvp_row(self.kvp)

    @property
    def protocol(self) -> str:
        parts = [f">= {self.threshold:g} HU", f"2-D {self.connectivity}-connected"]
        if self.min_area_px is not None:
            parts.append(f">= {self.min_area_px} px")
        elif self.min_area_mm2:
            parts.append(f">= {self.min_area_mm2:g} mm2")
        parts.append("per-slice peak weight" if self.lesion_mode == "2d" else "3-D lesion peak weight")
        parts.append("x increment/3")
        clinical = (self.connectivity == 8 and self.min_area_px is None and self.min_area_mm2 == 1.0
                    and self.lesion_mode == "2d" and self.threshold_hu is None)
        return ("clinical Agatston: " if clinical else "Agatston variant: ") + ", ".join(parts)

    @property
    def threshold(self) -> float:
        return float(self.threshold_hu) if self.threshold_hu is not None else _kvp_row(self.kvp)[1][0]


@dataclass(frozen=True)
class Lesion:
    region: str
    slices: tuple[int, int]  # first and last k (0-based, input file's k axis)
    area_mm2: float  # summed over slices
    peak_hu: float
    weight: int  # largest per-slice weight (3-D mode: the lesion weight)
    agatston: float
    volume_mm3: float
    mass_mg: float | None
    centroid_mm: tuple[float, float, float]  # RAS


@dataclass(frozen=True)
class RegionScore:
    agatston: float
    volume_mm3: float
    mass_mg: float | None
    n_lesions: int


@dataclass(frozen=True)
class CalciumScore:
    agatston: float
    volume_mm3: float
    mass_mg: float | None
    risk_category: str
    n_lesions: int
    protocol: str
    slice_increment_mm: float
    kvp: float
    threshold_hu: float
    regions: dict[str, RegionScore] = field(default_factory=dict)
    lesions: list[Lesion] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["lesions"] = [asdict(l) for l in self.lesions]
        return d


def _structure(connectivity: int) -> np.ndarray:
    s = np.zeros((3, 3, 3), bool)
    s[:, :, 1] = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    return s


def score_volume(
    volume: Volume,
    options: ScoringOptions | None = None,
    *,
    roi: Volume | None = None,
    region_names: dict[int, str] | None = None,
    restrict: np.ndarray | None = None,
    increment_mm: float | None = None,
) -> CalciumScore:
    """Score a CT volume.

    Parameters
    ----------
    volume
        CT in HU. Scored on axial slices: it is first reoriented (flips and
        permutations only) so that ``k`` is the axis closest to superior.
    options
        :class:`ScoringOptions`; default clinical Agatston at 120 kVp.
    roi
        Label map (any grid; aligned in world space by nearest-neighbour
        resampling). Every non-zero label gets its own region score; voxels
        with label 0 are not scored. ``None`` scores the whole volume as region
        ``"all"``.
    region_names
        Names for label values (e.g. ``{1: "LAD", 2: "LCX", 3: "RCA"}``);
        unnamed labels are reported by their value as a string.
    restrict
        Optional boolean mask on ``volume``'s grid of voxels that may count.
    increment_mm
        Slice increment; by default the k spacing of the affine (computed from
        slice positions by the readers).
    """
    opts = options or ScoringOptions()
    ras = volume.to_ras()
    flip_k = ras.affine[:3, 2] @ volume.affine[:3, 2] < 0  # for reporting k in the input's numbering
    perm_k = _input_k_axis(volume)
    arr = ras.array
    dx, dy, dz = ras.spacing
    inc = float(increment_mm if increment_mm is not None else (volume.meta.increment_mm or dz))
    if not ras.slice_axis_is_z:
        # oblique k: scoring still runs on the k planes, flagged
        warn = ["slice planes are oblique to the axial plane; scored on the stored slices"]
    else:
        warn = []
    kvp_used = _kvp_row(opts.kvp)[0]
    thr = opts.threshold
    mask = arr >= thr
    if restrict is not None:
        r = np.asarray(restrict, bool)
        if r.shape != volume.shape:
            raise InputError("restrict mask must have the volume's shape")
        mask &= Volume(r.astype(np.uint8), volume.affine).to_ras().array.astype(bool)
    labels_roi = None
    if roi is not None:
        labels_roi = roi.resample_like(ras, order=0).array.astype(np.int64)
        mask &= labels_roi > 0
    comp, ncomp = ndimage.label(mask, structure=_structure(opts.connectivity))
    pixel_area = dx * dy
    if ncomp:
        idx = np.arange(1, ncomp + 1)
        npx = np.bincount(comp.ravel(), minlength=ncomp + 1)[1:]
        peak = np.asarray(ndimage.maximum(arr, comp, idx), dtype=np.float64)
        hu_sum = np.asarray(ndimage.sum(arr.astype(np.float64), comp, idx), dtype=np.float64)
        area = npx * pixel_area
        keep = np.ones(ncomp, bool)
        if opts.min_area_px is not None:
            keep &= npx >= opts.min_area_px
        elif opts.min_area_mm2:
            keep &= area >= opts.min_area_mm2 - 1e-9
    else:
        idx = npx = peak = hu_sum = area = np.zeros(0)
        keep = np.zeros(0, bool)
    kept_ids = idx[keep.astype(bool)] if ncomp else np.zeros(0, int)
    lut = np.zeros(ncomp + 1, bool)
    lut[kept_ids] = True
    counted = lut[comp]
    # 3-D lesions: connected groups of counted voxels (26- or 6-connected per the 2-D rule)
    s3 = ndimage.generate_binary_structure(3, 3 if opts.connectivity == 8 else 1)
    lesion_lab, nles = ndimage.label(counted, structure=s3)
    # map each kept 2-D component to its lesion (any voxel of it)
    comp_to_lesion = np.zeros(ncomp + 1, np.int64)
    if nles:
        flat_c, flat_l = comp[counted], lesion_lab[counted]
        comp_to_lesion[flat_c] = flat_l
    if opts.lesion_mode == "3d" and nles:
        lesion_peak = np.asarray(ndimage.maximum(arr, lesion_lab, np.arange(1, nles + 1)), dtype=np.float64)
        comp_weight = np.zeros(ncomp + 1, np.int64)
        comp_weight[kept_ids] = agatston_weight(lesion_peak[comp_to_lesion[kept_ids] - 1], kvp_used)
        comp_weight = comp_weight[1:]
    else:
        comp_weight = agatston_weight(peak, kvp_used) if ncomp else np.zeros(0, np.int64)
    comp_score = np.where(keep.astype(bool), area * comp_weight * (inc / 3.0), 0.0) if ncomp else np.zeros(0)
    voxel_volume = pixel_area * inc
    comp_volume = np.where(keep.astype(bool), npx * voxel_volume, 0.0) if ncomp else np.zeros(0)
    c = opts.mass_calibration
    comp_mass = None if c is None else np.where(keep.astype(bool), hu_sum * voxel_volume * c, 0.0)

    # regions: a lesion belongs to the label holding most of its counted voxels
    names = dict(region_names or {})
    if labels_roi is not None and nles:
        pairs = lesion_lab[counted].astype(np.int64) * (int(labels_roi.max()) + 1) + labels_roi[counted]
        counts = np.bincount(pairs, minlength=(nles + 1) * (int(labels_roi.max()) + 1)).reshape(nles + 1, -1)
        lesion_region_val = counts[1:].argmax(axis=1)
    else:
        lesion_region_val = np.zeros(nles, np.int64)

    def rname(v: int) -> str:
        if labels_roi is None:
            return "all"
        return names.get(int(v), str(int(v)))

    # per-lesion aggregates
    lesions: list[Lesion] = []
    if nles:
        L = comp_to_lesion[1:][keep.astype(bool)]
        kept_scores = comp_score[keep.astype(bool)]
        kept_vol = comp_volume[keep.astype(bool)]
        kept_area = area[keep.astype(bool)]
        kept_w = np.asarray(comp_weight)[keep.astype(bool)]
        les_score = np.bincount(L, weights=kept_scores, minlength=nles + 1)[1:]
        les_vol = np.bincount(L, weights=kept_vol, minlength=nles + 1)[1:]
        les_area = np.bincount(L, weights=kept_area, minlength=nles + 1)[1:]
        les_w = np.zeros(nles + 1, np.int64)
        np.maximum.at(les_w, L, kept_w)
        les_mass = (np.bincount(L, weights=comp_mass[keep.astype(bool)], minlength=nles + 1)[1:]
                    if comp_mass is not None else None)
        lidx = np.arange(1, nles + 1)
        les_peak = np.asarray(ndimage.maximum(arr, lesion_lab, lidx), dtype=np.float64)
        cents = np.asarray(ndimage.center_of_mass(counted, lesion_lab, lidx), dtype=np.float64).reshape(-1, 3)
        slices_found = ndimage.find_objects(lesion_lab)
        nk = arr.shape[2]
        for n in range(nles):
            sl = slices_found[n]
            k0, k1 = sl[2].start, sl[2].stop - 1
            if flip_k:
                k0, k1 = nk - 1 - k1, nk - 1 - k0
            if perm_k is None:
                k0 = k1 = -1  # k of the input is not the axial axis: slice range not meaningful
            lesions.append(Lesion(
                region=rname(lesion_region_val[n]),
                slices=(int(k0), int(k1)),
                area_mm2=round(float(les_area[n]), 4),
                peak_hu=float(les_peak[n]),
                weight=int(les_w[n + 1]),
                agatston=float(les_score[n]),
                volume_mm3=float(les_vol[n]),
                mass_mg=float(les_mass[n]) if les_mass is not None else None,
                centroid_mm=tuple(float(x) for x in ras.world(cents[n])),  # type: ignore[arg-type]
            ))
    total = float(sum(l.agatston for l in lesions))
    total_vol = float(sum(l.volume_mm3 for l in lesions))
    total_mass = float(sum(l.mass_mg for l in lesions)) if c is not None else None  # type: ignore[misc]
    regions: dict[str, RegionScore] = {}
    region_keys: Sequence[str]
    if labels_roi is not None:
        present = sorted(int(v) for v in np.unique(labels_roi) if v > 0)
        region_keys = [rname(v) for v in present]
    else:
        region_keys = ["all"]
    for key in region_keys:
        ls = [l for l in lesions if l.region == key]
        regions[key] = RegionScore(
            agatston=float(sum(l.agatston for l in ls)),
            volume_mm3=float(sum(l.volume_mm3 for l in ls)),
            mass_mg=float(sum(l.mass_mg for l in ls)) if c is not None else None,  # type: ignore[misc]
            n_lesions=len(ls),
        )
    if opts.kvp is not None and volume.meta.kvp is not None and round(volume.meta.kvp) != kvp_used:
        warn.append(f"scored with the {kvp_used} kVp table but the scan's metadata says {volume.meta.kvp:g} kVp")
    return CalciumScore(
        agatston=total, volume_mm3=total_vol, mass_mg=total_mass,
        risk_category=risk_category(total, opts.risk_scheme), n_lesions=len(lesions),
        protocol=opts.protocol, slice_increment_mm=inc, kvp=float(kvp_used), threshold_hu=float(thr),
        regions=regions, lesions=lesions, warnings=warn,
    )


def _input_k_axis(volume: Volume) -> int | None:
    """Which RAS axis the input's k axis maps to after to_ras(); None unless it is the third."""
    import nibabel as nib

    ornt = nib.orientations.io_orientation(volume.affine)
    return 2 if int(ornt[2, 0]) == 2 else None
