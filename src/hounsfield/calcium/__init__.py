"""Coronary artery calcium scoring (gated and non-gated CT)."""

from .fake_gated import FakeGated, fake_gated, fake_gated_name, save_fake_gated
from .pipeline import ARTERIES, CalciumResult, ContrastError, analyse, decide_gated
from .qrm import QRM_INSERTS, QRMInsert, QRMPhantom, calibrate_from_rods, measure_qrm, render_qrm
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
    risk_index,
    score_volume,
    slice_increment_mm,
)

__all__ = [
    "ARTERIES",
    "CalciumResult",
    "ContrastError",
    "analyse",
    "decide_gated",
    "QRM_INSERTS",
    "QRMInsert",
    "QRMPhantom",
    "calibrate_from_rods",
    "measure_qrm",
    "render_qrm",
    "FakeGated",
    "fake_gated",
    "fake_gated_name",
    "save_fake_gated",
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
    "slice_increment_mm",
]
