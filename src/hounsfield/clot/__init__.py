"""Ischemic stroke clot segmentation from CT angiography + non-contrast CT.

Synthetic heads (:mod:`.phantom`), data layouts and splits (:mod:`.data`),
ROI/registration/padding (:mod:`.preprocess`), augmentation (:mod:`.augment`),
the 2-channel U-Net (:mod:`.model`), training (:mod:`.train`), inference
(:mod:`.predict`), measurements (:mod:`.measure`) and the testing module
(:mod:`.evaluate`). Heavy dependencies (torch, MONAI, albumentations) are
imported only by the modules that need them.
"""

from .data import CaseRef, ClotCase, detect_layout, find_cases, load_case, load_or_make_splits, make_splits
from .measure import measure_clot
from .phantom import HeadCase, HeadConfig, make_head, write_head, write_heads
from .preprocess import PreparedCase, Roi, check_registration, find_cow_roi, pad_center, prepare, register_rigid, restore

__all__ = [
    "CaseRef", "ClotCase", "HeadCase", "HeadConfig", "PreparedCase", "Roi", "check_registration", "detect_layout",
    "find_cases", "find_cow_roi", "load_case", "load_or_make_splits", "make_head", "make_splits", "measure_clot",
    "pad_center", "prepare", "register_rigid", "restore", "write_head", "write_heads",
]
