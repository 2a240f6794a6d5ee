"""Reproducibility: one call seeds Python, NumPy and (when installed) torch."""

from __future__ import annotations

import random

import numpy as np

__all__ = ["seed_everything"]


def seed_everything(seed: int, deterministic: bool = True) -> np.random.Generator:
    """Seed ``random``, NumPy's legacy global state and torch; return a fresh Generator.

    >>> g = seed_everything(0); float(g.random()) == float(seed_everything(0).random())
    True
    """
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.manual_seed(seed)
        if deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
    return np.random.default_rng(seed)
