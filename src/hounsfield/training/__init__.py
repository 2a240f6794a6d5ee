"""Shared training utilities: seeds, folds, configs (used by every trainable model)."""

from .seeds import seed_everything

__all__ = ["seed_everything"]
