"""Shared training utilities: seeds, folds, configs (used by every trainable model)."""

from .seeds import seed_everything
from .weights import half_state, recalibrate_batchnorm

__all__ = ["half_state", "recalibrate_batchnorm", "seed_everything"]
