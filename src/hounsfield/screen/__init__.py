"""Screening one exam with every analysis that applies (``hounsfield screen``)."""

from .pipeline import ScreenResult, detect_input_kind, screen
from .section import DONE, FAILED, NOT_ANALYSED, Section

__all__ = ["DONE", "FAILED", "NOT_ANALYSED", "ScreenResult", "Section", "detect_input_kind", "screen"]
