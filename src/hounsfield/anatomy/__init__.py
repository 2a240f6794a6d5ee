"""Anatomy for the screening pipelines: heart and bone regions.

Sources, in the order a user chooses them: TotalSegmentator masks already on
disk (:func:`read_totalseg_masks`), TotalSegmentator run on the fly when it is
installed with its weights (:func:`run_totalsegmentator`), or the built-in
CPU-fast anatomical heuristic (:func:`heart_region`).
"""

from .heuristic import HeartNotFoundError, HeartRegion, heart_region
from .totalsegmentator import TOTALSEG_V2, AnatomyMasks, read_totalseg_masks, run_totalsegmentator

__all__ = [
    "AnatomyMasks",
    "HeartNotFoundError",
    "HeartRegion",
    "TOTALSEG_V2",
    "heart_region",
    "read_totalseg_masks",
    "run_totalsegmentator",
]
