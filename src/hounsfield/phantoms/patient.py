"""Per-patient parameters, drawn deterministically from a seed."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["PatientParams", "sample_params", "patient_rng"]

TRANSITIONAL = ("T13", "L6", "sacralised_L5")
#: opt-in fields, left out of ``to_dict`` while at their default
OPT_IN = ("arch_calcium_mm3", "knob_mm", "arch_style", "cartilage_mm")


def patient_rng(seed: int, index: int, stream: int = 0) -> np.random.Generator:
    """Independent generator for patient ``index`` of cohort ``seed`` (stream separates uses)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index), int(stream)]))


@dataclass(frozen=True)
class PatientParams:
    """Everything that makes one synthetic patient differ from another.

    Lengths are factors (1.0 = reference adult male) unless stated in mm.
    """

    seed: int
    index: int
    sex: str = "M"
    age: float = 60.0
    stature: float = 1.0  # scales vertebral heights (and so all z distances)
    width: float = 1.0  # body / rib cage width factor
    depth: float = 1.0  # body AP depth factor
    sat_mm: float = 18.0  # subcutaneous fat thickness at the abdomen (mm)
    vat: float = 0.5  # visceral fat 0 (lean) .. 1 (obese)
    muscle: float = 1.0  # muscle thickness factor
    kyphosis_mm: float = 25.0
    lordosis_mm: float = 22.0
    scoliosis_mm: float = 0.0
    transitional: str | None = None
    heart_scale: float = 1.0
    heart_shift_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    heart_axis_jitter: tuple[float, float, float] = (0.0, 0.0, 0.0)
    diaphragm_mm: float = 0.0  # inspiration depth: positive = domes lower
    position_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)  # patient placement vs the scanner isocentre
    contrast: bool = False
    arms_down: bool = False
    cac_burden: float = 0.0  # target Agatston-like burden (0 = no coronary calcium)
    # opt-in (0 = off, the default phantom): extra aortic arch calcification (mm^3) correlated with the coronary
    # burden, for synthetic radiographs (see aortic.py); drawn by sample_params(arch_link=...)
    arch_calcium_mm3: float = 0.0
    # opt-in (0 = off): extra leftward shift (mm) of the distal arch / aortic knob, drawn for every patient of an
    # arch_link cohort (heart.layout_heart; independent of any calcium)
    knob_mm: float = 0.0
    # opt-in ("" = the default "plates"): layout of arch_calcium_mm3, one of aortic.ARCH_STYLES
    arch_style: str = ""
    # opt-in (0 = off): mean calcified length (mm) per involved costal cartilage (cartilage.py), drawn by
    # sample_params(age_signs=True)
    cartilage_mm: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["heart_shift_mm"] = list(self.heart_shift_mm)
        d["heart_axis_jitter"] = list(self.heart_axis_jitter)
        d["position_mm"] = list(self.position_mm)
        for k in OPT_IN:  # opt-in fields are written only when used (default output unchanged)
            if not d[k]:
                del d[k]
        return d


def sample_params(seed: int, index: int = 0, *, transitional_rate: float = 0.08, zero_cac_rate: float = 0.5,
                  contrast: bool = False, arms_down_rate: float = 0.1, arch_link: float = 0.0,
                  arch_style: str = "plates", age_signs: bool = False) -> PatientParams:
    """Draw one patient.

    CAC burden follows the shape of population data (MESA, Heinz Nixdorf
    Recall): about ``zero_cac_rate`` of patients have none, more often the
    younger and the women; the rest spread log-uniformly from ~1 to ~3000.

    ``arch_link`` (opt-in, default 0 = off): latent correlation between the
    coronary burden and extra aortic arch calcification
    (:func:`~.aortic.draw_arch_calcium`; 0.8 reproduces Adar et al., Vasa
    2015), drawn from its own random stream so every other parameter is unchanged; with it every patient also
    gets ``knob_mm`` (:func:`~.aortic.draw_knob_shift`: the aortic knob moved left into the lung).
    ``arch_style`` (with ``arch_link``): where the arch calcium lies, ``"plates"`` (anywhere on the arch,
    :func:`~.aortic.sample_arch_plaques`) or ``"knob"`` (at the knob as graded on PA films,
    :func:`~.aortic.sample_knob_plaques`); it changes no other draw.
    ``age_signs`` (opt-in, default off): costal cartilage calcification by age and sex
    (:func:`~.cartilage.draw_cartilage_calcification`, own random stream).
    """
    rng = patient_rng(seed, index, 0)
    sex = "M" if rng.random() < 0.55 else "F"
    age = float(np.clip(rng.normal(62, 11), 35, 90))
    fem = sex == "F"
    stature = float(np.clip(rng.normal(0.95 if fem else 1.0, 0.045), 0.82, 1.15))
    width = float(np.clip(rng.normal(0.92 if fem else 1.0, 0.07), 0.75, 1.25))
    depth = float(np.clip(rng.normal(0.95 if fem else 1.0, 0.08), 0.75, 1.3))
    fat = float(np.clip(rng.gamma(4.0, 0.25), 0.1, 3.0))  # ~1 mean
    sat_mm = float(np.clip((22 if fem else 15) * fat, 3, 70))
    vat = float(np.clip(rng.normal(0.35 if fem else 0.55, 0.22) + 0.004 * (age - 60), 0.02, 1.0))
    muscle = float(np.clip(rng.normal(0.85 if fem else 1.0, 0.1) - 0.004 * max(0, age - 60), 0.55, 1.3))
    kyph = float(np.clip(rng.normal(22 + 0.25 * (age - 60), 7), 5, 50))
    lord = float(np.clip(rng.normal(22, 6), 5, 40))
    scol = float(rng.normal(0, 3) if rng.random() > 0.08 else rng.normal(0, 12))
    trans = None
    if rng.random() < transitional_rate:
        trans = str(rng.choice(TRANSITIONAL, p=[0.4, 0.35, 0.25]))
    heart_scale = float(np.clip(rng.normal(1.0 if not fem else 0.93, 0.07) * (1.2 if rng.random() < 0.07 else 1.0),
                                0.78, 1.4))
    hshift = tuple(float(v) for v in rng.normal(0, [8, 6, 10]))
    hjit = tuple(float(v) for v in rng.normal(0, [0.12, 0.12, 0.1]))
    diaph = float(rng.normal(0, 12))
    pos = (float(rng.normal(0, 12)), float(rng.normal(0, 10)), float(rng.uniform(-150, 150)))
    # coronary calcium: logistic prevalence by age and sex, mean ~ (1 - zero_cac_rate)
    logit = np.log((1 - zero_cac_rate) / zero_cac_rate) + 0.075 * (age - 62) + (0.55 if not fem else -0.55)
    has_cac = rng.random() < 1 / (1 + np.exp(-logit))
    burden = float(10 ** rng.uniform(0.0, 3.5) * (1 + 0.01 * (age - 62))) if has_cac else 0.0
    arch = knob = cartilage = 0.0
    if age_signs:
        from .cartilage import draw_cartilage_calcification

        cartilage = draw_cartilage_calcification(age, patient_rng(seed, index, 43))
    if arch_link > 0:
        from .aortic import draw_arch_calcium, draw_knob_shift

        arch = draw_arch_calcium(max(burden, 0.0), age, patient_rng(seed, index, 40), rho=float(arch_link),
                                 zero_rate=zero_cac_rate)
        knob = draw_knob_shift(age, patient_rng(seed, index, 42))
        from .aortic import ARCH_STYLES

        if arch_style not in ARCH_STYLES:
            raise ValueError(f"arch_style must be one of {', '.join(ARCH_STYLES)}, got {arch_style!r}")
    return PatientParams(
        seed=int(seed), index=int(index), sex=sex, age=round(age, 1), stature=stature, width=width, depth=depth,
        sat_mm=sat_mm, vat=vat, muscle=muscle, kyphosis_mm=kyph, lordosis_mm=lord, scoliosis_mm=scol,
        transitional=trans, heart_scale=heart_scale, heart_shift_mm=hshift, heart_axis_jitter=hjit,
        diaphragm_mm=diaph, position_mm=pos, contrast=contrast, arms_down=bool(rng.random() < arms_down_rate),
        cac_burden=max(burden, 0.0), arch_calcium_mm3=arch, knob_mm=knob, cartilage_mm=cartilage,
        arch_style=arch_style if arch_link > 0 and arch_style != "plates" else "",
    )
