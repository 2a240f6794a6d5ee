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
    "risk_index",
    "score_volume",
    "nearest_labels",
    "slice_increment_mm",
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
    #: partial-volume-corrected mass (:mod:`hounsfield.calcium.mass`); None without calibration
    mass_pv_mg: float | None = None


@dataclass(frozen=True)
class RegionScore:
    agatston: float
    volume_mm3: float
    mass_mg: float | None
    n_lesions: int
    mass_pv_mg: float | None = None


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
    #: lesion n+1 voxels (int32) on the RAS-reoriented scored grid ``lesion_map_affine``; not serialised
    lesion_map: np.ndarray | None = field(default=None, repr=False, compare=False)
    lesion_map_affine: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: partial-volume-corrected total mass (:mod:`hounsfield.calcium.mass`); None without calibration
    mass_pv_mg: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k not in ("lesion_map", "lesion_map_affine")}
        d["regions"] = {k: asdict(v) for k, v in self.regions.items()}
        d["lesions"] = [asdict(l) for l in self.lesions]
        d["warnings"] = list(self.warnings)
        return d


def _structure(connectivity: int) -> np.ndarray:
    """2-D structuring element in the (i, j) plane of a 3-D array (no links across slices)."""
    s = np.zeros((3, 3, 3), bool)
    s[:, :, 1] = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    return s


def _label_within(mask: np.ndarray, labels: np.ndarray | None, structure: np.ndarray) -> tuple[np.ndarray, int]:
    """Connected components of ``mask`` that never cross a change of ``labels``.

    Each region of a label map is scored on its own, as if the image were
    restricted to that label: a component touching two labels is two components.
    The loop runs over the (few) label values, never over components.
    """
    if labels is None:
        comp, n = ndimage.label(mask, structure=structure)
        return comp, int(n)
    comp = np.zeros(mask.shape, np.int32)
    total = 0
    for v in np.unique(labels[mask]):
        m = mask & (labels == v)
        c, n = ndimage.label(m, structure=structure)
        comp[m] = c[m] + total
        total += int(n)
    return comp, total


def _bbox(mask: np.ndarray, pad: Sequence[int] = (0, 0, 0)) -> tuple[slice, slice, slice] | None:
    """Smallest box holding every True voxel, grown by ``pad`` voxels per axis within the array (None when empty)."""
    out = []
    for ax in range(3):
        other = tuple(a for a in range(3) if a != ax)
        hit = np.flatnonzero(mask.any(axis=other))
        if hit.size == 0:
            return None
        out.append(slice(max(int(hit[0]) - int(pad[ax]), 0), min(int(hit[-1]) + 1 + int(pad[ax]), mask.shape[ax])))
    return tuple(out)  # type: ignore[return-value]


def nearest_labels(labels: Volume, target: Volume) -> np.ndarray:
    """``labels`` resampled (nearest neighbour, through world space) onto ``target``'s grid.

    Grids whose axes are parallel (the usual case: masks of the same scan on
    another spacing, origin or flip) are gathered with per-axis index arrays,
    which is much faster than a general affine resampling; other grids fall
    back to :meth:`Volume.resample_like`. Outside ``labels``: 0.
    """
    m = np.linalg.inv(labels.affine) @ target.affine  # target voxel -> labels voxel
    a = m[:3, :3]
    perm = np.argmax(np.abs(a), axis=1)  # which target axis drives each labels axis
    main = np.zeros((3, 3), bool)
    main[np.arange(3), perm] = True
    if sorted(perm.tolist()) != [0, 1, 2] or np.abs(a[~main]).max() > 1e-6:
        return labels.resample_like(target, order=0).array
    idx = []
    for ax in range(3):
        t_ax = int(perm[ax])
        n_t = target.shape[t_ax]
        pos = a[ax, t_ax] * np.arange(n_t) + m[ax, 3]
        k = np.floor(pos + 0.5).astype(np.int64)
        ok = (k >= 0) & (k < labels.shape[ax])
        idx.append((t_ax, np.clip(k, 0, labels.shape[ax] - 1), ok))
    # build the gather in target axis order
    order = sorted(idx, key=lambda x: x[0])
    src = labels.array
    # labels axis for each target axis
    lab_axis_of_target = {t_ax: ax for ax, (t_ax, _, _) in enumerate(idx)}
    src_t = np.transpose(src, [lab_axis_of_target[t] for t in range(3)])
    ii, jj, kk = (o[1] for o in order)
    out = src_t[np.ix_(ii, jj, kk)]
    vi, vj, vk = (o[2] for o in order)
    out = out * (vi[:, None, None] & vj[None, :, None] & vk[None, None, :])
    return out


def slice_increment_mm(volume: Volume) -> float:
    """Distance between consecutive slice centres (mm), from the affine.

    The readers build the affine from the slice *positions*, so this is the
    increment in the DICOM sense, never SliceThickness.
    """
    return float(np.linalg.norm(volume.affine[:3, 2]))


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
        resampling). Every non-zero label gets its own region score, computed
        as if the image were restricted to that label (components never cross
        from one label to another); voxels with label 0 are not scored.
        ``None`` scores the whole volume as region ``"all"``.
    region_names
        Names for label values (e.g. ``{1: "LAD", 2: "LCX", 3: "RCA"}``);
        unnamed labels are reported by their value as a string.
    restrict
        Optional boolean mask on ``volume``'s grid of voxels that may count.
    increment_mm
        Slice increment; by default the distance between slice centres from
        the affine (the readers build it from slice positions). The metadata's
        ``increment_mm`` is only compared with it (a warning when they differ),
        because a derived volume (resampled, slab-averaged) may carry stale
        metadata.

    Examples
    --------
    One 2 x 2 pixel plaque (0.5 mm pixels: 1 mm^2) peaking at 250 HU on a
    3 mm slice: area 1 x weight 2 x 3/3 = 2.

    >>> a = np.zeros((4, 4, 1), np.int16); a[1:3, 1:3, 0] = (130, 250)
    >>> score_volume(Volume(a, np.diag([0.5, 0.5, 3.0, 1.0]))).agatston
    2.0
    """
    opts = options or ScoringOptions()
    ras = volume.to_ras()
    flip_k = bool(ras.affine[:3, 2] @ volume.affine[:3, 2] < 0)  # report k in the input's numbering
    k_is_axial = _input_k_axis(volume) is not None
    arr = ras.array
    dx, dy, _ = ras.spacing
    warn: list[str] = []
    inc = float(increment_mm) if increment_mm is not None else slice_increment_mm(ras)
    meta_inc = volume.meta.increment_mm
    if increment_mm is None and meta_inc and abs(meta_inc - inc) > 0.01 * inc:
        warn.append(f"metadata says {meta_inc:g} mm slice increment but the slice positions give {inc:g} mm; "
                    "used the positions")
    if not ras.slice_axis_is_z:
        warn.append("slice planes are oblique to the axial plane; scored on the stored slices")
    kvp_used = _kvp_row(opts.kvp)[0]
    thr = opts.threshold
    mask = arr >= thr
    if restrict is not None:
        r = np.asarray(restrict, bool)
        if r.shape != volume.shape:
            raise InputError("restrict mask must have the volume's shape")
        mask &= Volume(r.astype(np.uint8), volume.affine).to_ras().array.astype(bool)
    labels_full = None
    if roi is not None:
        labels_full = nearest_labels(roi, ras).astype(np.int64)
        mask &= labels_full > 0
    names = dict(region_names or {})

    def rname(v: int) -> str:
        if labels_full is None:
            return "all"
        return names.get(int(v), str(int(v)))

    if labels_full is not None:
        region_keys = [rname(v) for v in np.unique(labels_full) if v > 0]
    else:
        region_keys = ["all"]
    pixel_area = dx * dy
    voxel_volume = pixel_area * inc
    c = opts.mass_calibration
    lesions: list[Lesion] = []
    lesion_map = np.zeros(arr.shape, np.int32)
    box = _bbox(mask)
    if box is not None:
        # everything below works in the box holding the candidate voxels (fast on large scans)
        sub_arr, sub_mask = arr[box], mask[box]
        sub_lab = labels_full[box] if labels_full is not None else None
        comp, ncomp = _label_within(sub_mask, sub_lab, _structure(opts.connectivity))
        idx = np.arange(1, ncomp + 1)
        flat = comp[sub_mask]
        vals = sub_arr[sub_mask].astype(np.float64)
        npx = np.bincount(flat, minlength=ncomp + 1)[1:]
        hu_sum = np.bincount(flat, weights=vals, minlength=ncomp + 1)[1:]
        peak = np.full(ncomp + 1, -np.inf)
        np.maximum.at(peak, flat, vals)  # per-component peak over the candidate voxels only (no full sort)
        peak = peak[1:]
        area = npx * pixel_area
        keep = np.ones(ncomp, bool)
        if opts.min_area_px is not None:
            keep &= npx >= opts.min_area_px
        elif opts.min_area_mm2:
            keep &= area >= opts.min_area_mm2 - 1e-9
        lut = np.concatenate([[False], keep])
        counted = lut[comp]
        # 3-D lesions: connected groups of counted voxels (26- or 6-connected per the 2-D rule), within one label
        s3 = ndimage.generate_binary_structure(3, 3 if opts.connectivity == 8 else 1)
        lesion_lab, nles = _label_within(counted, sub_lab, s3)
        comp_to_lesion = np.zeros(ncomp + 1, np.int64)
        comp_to_lesion[comp[counted]] = lesion_lab[counted]
        kept_ids = idx[keep]
        # per-lesion statistics over the counted voxels only
        cpos = np.nonzero(counted)
        lflat = lesion_lab[cpos].astype(np.int64)
        lvals = sub_arr[cpos].astype(np.float64)
        lesion_peak = np.full(nles + 1, -np.inf)
        np.maximum.at(lesion_peak, lflat, lvals)
        lesion_peak = lesion_peak[1:]
        if opts.lesion_mode == "3d" and nles:
            comp_weight = np.zeros(ncomp, np.int64)
            comp_weight[keep] = agatston_weight(lesion_peak[comp_to_lesion[kept_ids] - 1], kvp_used)
        else:
            comp_weight = np.asarray(agatston_weight(peak, kvp_used), np.int64).reshape(-1)
        if nles:
            lesion_map[box] = lesion_lab
            L = comp_to_lesion[kept_ids]
            les_score = np.bincount(L, weights=area[keep] * comp_weight[keep] * (inc / 3.0), minlength=nles + 1)[1:]
            les_vol = np.bincount(L, weights=npx[keep] * voxel_volume, minlength=nles + 1)[1:]
            les_area = np.bincount(L, weights=area[keep], minlength=nles + 1)[1:]
            les_mass = (np.bincount(L, weights=hu_sum[keep] * voxel_volume * c, minlength=nles + 1)[1:]
                        if c is not None else None)
            les_w = np.zeros(nles + 1, np.int64)
            np.maximum.at(les_w, L, comp_weight[keep])
            les_peak = lesion_peak
            lcnt = np.bincount(lflat, minlength=nles + 1)[1:].astype(np.float64)
            cents = np.column_stack([np.bincount(lflat, weights=c.astype(np.float64), minlength=nles + 1)[1:] / lcnt
                                     for c in cpos])
            cents += np.array([box[0].start, box[1].start, box[2].start], np.float64)
            world = ras.world(cents)
            les_region = np.zeros(nles + 1, np.int64)
            if sub_lab is not None:
                np.maximum.at(les_region, lflat, sub_lab[cpos])
            les_region = les_region[1:]
            kmin = np.full(nles + 1, np.iinfo(np.int64).max)
            kmax = np.full(nles + 1, -1)
            np.minimum.at(kmin, lflat, cpos[2])
            np.maximum.at(kmax, lflat, cpos[2])
            nk = arr.shape[2]
            for n in range(nles):
                k0, k1 = int(kmin[n + 1]) + box[2].start, int(kmax[n + 1]) + box[2].start
                if flip_k:
                    k0, k1 = nk - 1 - k1, nk - 1 - k0
                if not k_is_axial:
                    k0 = k1 = -1  # the input's k is not the axial axis: its slice range is not meaningful
                lesions.append(Lesion(
                    region=rname(les_region[n]),
                    slices=(int(k0), int(k1)),
                    area_mm2=float(les_area[n]),
                    peak_hu=float(les_peak[n]),
                    weight=int(les_w[n + 1]),
                    agatston=float(les_score[n]),
                    volume_mm3=float(les_vol[n]),
                    mass_mg=float(les_mass[n]) if les_mass is not None else None,
                    centroid_mm=(float(world[n, 0]), float(world[n, 1]), float(world[n, 2])),
                ))
    total = float(sum(l.agatston for l in lesions))
    total_vol = float(sum(l.volume_mm3 for l in lesions))
    total_mass = float(sum(l.mass_mg or 0.0 for l in lesions)) if c is not None else None
    regions: dict[str, RegionScore] = {}
    for key in region_keys:
        ls = [l for l in lesions if l.region == key]
        regions[key] = RegionScore(
            agatston=float(sum(l.agatston for l in ls)),
            volume_mm3=float(sum(l.volume_mm3 for l in ls)),
            mass_mg=float(sum(l.mass_mg or 0.0 for l in ls)) if c is not None else None,
            n_lesions=len(ls),
        )
    if volume.meta.kvp is not None and round(volume.meta.kvp) != kvp_used:
        warn.append(f"scored with the {kvp_used} kVp table but the scan's metadata says {volume.meta.kvp:g} kVp")
    return CalciumScore(
        agatston=total, volume_mm3=total_vol, mass_mg=total_mass,
        risk_category=risk_category(total, opts.risk_scheme), n_lesions=len(lesions),
        protocol=opts.protocol, slice_increment_mm=inc, kvp=float(kvp_used), threshold_hu=float(thr),
        regions=regions, lesions=lesions, warnings=warn, lesion_map=lesion_map, lesion_map_affine=ras.affine,
    )


def _input_k_axis(volume: Volume) -> int | None:
    """Which RAS axis the input's k axis maps to after to_ras(); None unless it is the third."""
    import nibabel as nib

    ornt = nib.orientations.io_orientation(volume.affine)
    return 2 if int(ornt[2, 0]) == 2 else None
