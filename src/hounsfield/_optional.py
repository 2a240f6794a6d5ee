"""Import optional dependencies with an actionable message (highdicom's pattern)."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

__all__ = ["import_optional"]


def import_optional(name: str, extra: str, feature: str | None = None) -> ModuleType:
    """Import ``name`` or raise :class:`MissingDependencyError` naming the extra.

    >>> import_optional("math", "none").sqrt(4.0)
    2.0
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        what = feature or name
        raise MissingDependencyError(
            f"{what} needs the optional package '{name.split('.')[0]}': "
            f'pip install "hounsfield[{extra}]" ({exc})'
        ) from exc
