"""Coronary artery calcium from chest radiographs (classification and regression, k-fold CV).

Reading (:mod:`.io`), preprocessing as published (:mod:`.preprocess`),
synthetic radiographs of CTs (:mod:`.drr`, :mod:`.torso`, :mod:`.cohort`),
labels and targets (:mod:`.data`), clinical inputs (:mod:`.clinical`), MONAI networks and the model file
(:mod:`.model`), cross-validated training (:mod:`.train`), metrics
(:mod:`.evaluate`), figures (:mod:`.figures`) and inference (:mod:`.predict`).
Heavy dependencies (torch, MONAI, scikit-learn) are imported by the modules
that need them, not here.
"""

from .clinical import ClinicalEncoder, dicom_clinical, parse_age
from .data import CATEGORY_NAMES, THRESHOLDS, Record, Standardiser, cac_category, cac_thresholds, log_cac, read_labels_csv, write_labels_csv
from .drr import DRRSettings, drr
from .io import Radiograph, read_radiograph, write_png, write_radiograph_dicom
from .preprocess import Preprocess, preprocess, preset

__all__ = [
    "CATEGORY_NAMES",
    "ClinicalEncoder",
    "DRRSettings",
    "Preprocess",
    "Radiograph",
    "Record",
    "Standardiser",
    "THRESHOLDS",
    "cac_category",
    "cac_thresholds",
    "dicom_clinical",
    "drr",
    "log_cac",
    "parse_age",
    "preprocess",
    "preset",
    "read_labels_csv",
    "read_radiograph",
    "write_labels_csv",
    "write_png",
    "write_radiograph_dicom",
]
