"""Bundled models and their manifest (see :mod:`hounsfield.models.registry`)."""

from .registry import ModelEntry, checksum, list_models, load_entry, model_path, register_model

__all__ = ["ModelEntry", "checksum", "list_models", "load_entry", "model_path", "register_model"]
