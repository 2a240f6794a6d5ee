"""T12 and L3 slices from maximum intensity projections, and body composition at L3.

Pipeline: :func:`compute_mips` (body mask, bone window, frontal + sagittal MIPs
on a fixed mm grid) -> :class:`LevelPredictor` (heat map along z per level,
confidence, "outside the field of view") -> rows of a CSV in the input's own
slice index and world z. :func:`body_composition` measures muscle and fat at
the chosen slice. Heavy dependencies (torch, matplotlib) are imported lazily.
"""

from .archive import LEVEL_NAMES, load_mips, save_mips
from .bodycomp import BodyComposition, Compartments, body_composition, compartments, composition_from_masks
from .evaluate import compare, error_histograms, summarise
from .mip import BONE_WINDOW, MipGrid, MipPair, body_mask, bone_window, compute_mips, regrid
from .predict import DEFAULT_MODEL, LevelAnswer, LevelPredictor, LevelResult, load_predictor, overlay_png, write_csv

__all__ = [
    "BONE_WINDOW",
    "BodyComposition",
    "Compartments",
    "DEFAULT_MODEL",
    "LEVEL_NAMES",
    "LevelAnswer",
    "LevelPredictor",
    "LevelResult",
    "MipGrid",
    "MipPair",
    "body_composition",
    "body_mask",
    "bone_window",
    "compare",
    "compartments",
    "composition_from_masks",
    "compute_mips",
    "error_histograms",
    "load_mips",
    "load_predictor",
    "overlay_png",
    "regrid",
    "save_mips",
    "summarise",
    "write_csv",
]
