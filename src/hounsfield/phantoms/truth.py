"""Ground truth of a rendered patient: calcium scores, vertebrae, levels, body composition.

Agatston truth is computed by the clinical definition
(:func:`hounsfield.calcium.scoring.score_volume`) on the rendered gated volume
with the coronary-lesion label map as ROI, so it is what an ideal reader who
marked every lesion would get; the physical calcium volume and mass come from
the high-resolution plaque description.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..calcium.scoring import ScoringOptions, risk_category, score_volume
from ..volume import Volume
from .calcium import CALCIUM_LABELS, MASS_CALIBRATION
from .shapes import Canvas
from .tissues import MUSCLE_ORGANS, O, ORGAN_NAMES, T, VERSE_NAMES

__all__ = ["calcium_truth", "vertebra_truth", "level_truth", "body_composition", "ARTERY_LABELS"]

#: 4-artery lesion map labels
ARTERY_LABELS = {1: "LM", 2: "LAD", 3: "LCX", 4: "RCA"}


def coronary_map(calcium: np.ndarray, scheme: str = "4") -> np.ndarray:
    """Coronary lesion labels from the all-calcium map: ``'4'`` -> 1 LM, 2 LAD, 3 LCX, 4 RCA;
    ``'orcascore'`` -> 1 LAD (incl. LM), 2 LCX, 3 RCA. Distractors become 0."""
    if scheme == "4":
        t = np.array([0, 1, 2, 3, 4, 0, 0, 0] + [0] * 248, np.uint8)
    elif scheme == "orcascore":
        t = np.array([0, 1, 1, 2, 3, 0, 0, 0] + [0] * 248, np.uint8)
    else:
        raise ValueError(scheme)
    return t[calcium]


def calcium_truth(gated: Volume, calcium: np.ndarray, plaques: list, distractors: list) -> dict[str, Any]:
    """Clinical Agatston / volume / mass per artery and total on the gated volume, plus physical truth."""
    roi = Volume(coronary_map(calcium, "4"), gated.affine)
    sc = score_volume(gated, ScoringOptions(mass_calibration=MASS_CALIBRATION), roi=roi, region_names=ARTERY_LABELS)
    arteries: dict[str, Any] = {}
    for name in ("LM", "LAD", "LCX", "RCA"):
        reg = sc.regions.get(name)
        ps = [p for p in plaques if p.kind == name]
        ag = float(reg.agatston) if reg else 0.0
        arteries[name] = {
            "agatston": round(ag, 4),
            "volume_mm3": round(float(reg.volume_mm3), 4) if reg else 0.0,
            "mass_mg": round(float(reg.mass_mg), 4) if reg and reg.mass_mg is not None else 0.0,
            "risk_category": risk_category(ag),
            "n_lesions": int(reg.n_lesions) if reg else 0,
            "n_plaques": len(ps),
            "physical_volume_mm3": round(float(sum(p.volume_mm3 for p in ps)), 4),
            "physical_mass_mg": round(float(sum(p.mass_mg for p in ps)), 5),
        }
    total = float(sum(a["agatston"] for a in arteries.values()))
    return {
        "agatston": round(total, 4),
        "volume_mm3": round(float(sum(a["volume_mm3"] for a in arteries.values())), 4),
        "mass_mg": round(float(sum(a["mass_mg"] for a in arteries.values())), 4),
        "risk_category": risk_category(total),
        "n_lesions": int(sum(a["n_lesions"] for a in arteries.values())),
        "arteries": arteries,
        "physical_volume_mm3": round(float(sum(p.volume_mm3 for p in plaques)), 4),
        "physical_mass_mg": round(float(sum(p.mass_mg for p in plaques)), 5),
        "mass_calibration_mg_per_hu_mm3": MASS_CALIBRATION,
        "scoring_protocol": sc.protocol,
        "plaques": [p.to_dict() for p in plaques],
        "distractors": [p.to_dict() for p in distractors],
    }


def vertebra_truth(spine, acquisitions: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per vertebra (C7 ... S1): VerSe name/number, body centroid (RAS mm), slice per volume."""
    out = []
    for v in spine.vertebrae:
        c = [round(float(x), 3) for x in v.centre]
        entry = {"label": v.name, "verse_label": int(v.number), "centroid_mm": c,
                 "body_height_mm": round(float(v.height), 3),
                 "slice": {name: acq.slice_of(float(v.centre[2])) for name, acq in acquisitions.items()}}
        out.append(entry)
    return out


def level_truth(spine, acquisitions: dict[str, Any]) -> dict[str, Any]:
    """z of the T12 and L3 body centres and their slice index in each volume (None outside it)."""
    out: dict[str, Any] = {}
    for lev in ("T12", "L3"):
        z = spine.z_of(lev)
        out[f"{lev}_z_mm"] = round(z, 3)
        out[f"{lev}_slice"] = {name: acq.slice_of(z) for name, acq in acquisitions.items()}
    return out


def body_composition(phantom, z_mm: float, pixel_mm: float = 0.5, level: str = "L3") -> dict[str, Any]:
    """Exact tissue areas (cm^2) on the axial plane ``z_mm`` from the analytic description.

    Skeletal muscle = muscle tissue of the wall, back and psoas; SAT = fat of
    the subcutaneous compartment (and breast); VAT = fat in the cavity
    (incl. renal sinus and mediastinal fat); IMAT = fat streaks inside muscle.
    """
    b = phantom.body
    yc, ax, ay, ap = b.outer(z_mm)
    x = np.arange(b.xc - ax - 5, b.xc + ax + 5, pixel_mm)
    y = np.arange(yc - ap - 5, yc + ay + 5, pixel_mm)
    cv = Canvas(x, y, np.array([z_mm]))
    phantom.paint(cv)
    t, o = cv.tissue.ravel(), cv.organ.ravel()
    a = pixel_mm ** 2 / 100.0
    muscle = (t == T.MUSCLE) & np.isin(o, MUSCLE_ORGANS)
    fat = t == T.FAT
    sat = fat & np.isin(o, (O.SAT, O.BREAST))
    imat = fat & np.isin(o, MUSCLE_ORGANS)
    vat = fat & ~sat & ~imat & (o != O.TABLE)
    hu = phantom.hu
    return {
        "level": level, "z_mm": round(float(z_mm), 3),
        "muscle_area_cm2": round(float(muscle.sum() * a), 3),
        "sat_area_cm2": round(float(sat.sum() * a), 3),
        "vat_area_cm2": round(float(vat.sum() * a), 3),
        "imat_area_cm2": round(float(imat.sum() * a), 3),
        "muscle_hu": round(float(hu[T.MUSCLE]), 2), "fat_hu": round(float(hu[T.FAT]), 2),
        "psoas_area_cm2": round(float(((t == T.MUSCLE) & (o == O.PSOAS)).sum() * a), 3),
    }


def organ_legend() -> dict[str, str]:
    d = {str(k): v for k, v in VERSE_NAMES.items()}
    d.update({str(k): v for k, v in ORGAN_NAMES.items() if k > 28})
    return d


def calcium_legend(kinds: Iterable[str] = ()) -> dict[str, str]:
    """Label value -> name of the calcium map: the standard labels, plus the opt-in ``kinds`` present."""
    from .calcium import ALL_CALCIUM_LABELS

    d = {str(v): k for k, v in CALCIUM_LABELS.items()}
    d.update({str(ALL_CALCIUM_LABELS[k]): k for k in kinds if k not in CALCIUM_LABELS})
    return d
