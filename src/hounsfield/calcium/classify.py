"""Lesion classification (coronary artery vs non-coronary) - a learned model on hand-crafted features.

The model is a scikit-learn classifier saved with its feature list; it is
looked up in the model registry (``calcium-lesions``). When no model is
registered, :func:`load_classifier` returns ``None`` and the pipeline counts
every lesion of the heart region (and says so in its warnings).
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import HounsfieldError

__all__ = ["MODEL_NAME", "load_classifier"]

MODEL_NAME = "calcium-lesions"


def load_classifier(name: str = "default", models_dir: str | os.PathLike | None = None) -> Any:
    """The registered lesion classifier, or ``None`` when none is available under the default name."""
    from ..models.registry import list_models, load_entry

    wanted = MODEL_NAME if name == "default" else name
    known = {e.name for e in list_models(models_dir)}
    if wanted not in known:
        if name == "default":
            return None
        raise HounsfieldError(f"no lesion classifier named '{name}'; train one with 'hounsfield train calcium'")
    entry = load_entry(wanted, models_dir)
    from .lesion_model import LesionClassifier

    return LesionClassifier.load(entry)
