"""Coronary artery calcium scoring (gated and non-gated CT)."""

from .scoring import (
    KVP_TABLE,
    RISK_SCHEMES,
    CalciumScore,
    Lesion,
    RegionScore,
    ScoringOptions,
    agatston_weight,
    mass_calibration_factor,
    risk_category,
    score_volume,
)

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
