"""Exceptions with messages meant for the user.

The CLI turns any :class:`HounsfieldError` into one line on stderr and a
non-zero exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["HounsfieldError", "InputError", "UnsupportedInputError", "MissingDependencyError"]


class HounsfieldError(Exception):
    """Base class: the message is a complete sentence a user can act on."""

    exit_code = 2


class InputError(HounsfieldError, ValueError):
    """The input cannot be read or is not what the command needs."""


class UnsupportedInputError(InputError):
    """Readable, but not something this command analyses (wrong modality, 4-D...)."""


class MissingDependencyError(HounsfieldError, ImportError):
    """An optional package is needed for this feature."""

    exit_code = 3
