"""hounsfield: opportunistic screening in routine CT and chest X-ray.

The public core is small: :class:`Volume` (array + RAS affine + metadata) and
the readers/writers in :mod:`hounsfield.io`. Each analysis lives in its own
subpackage (``calcium``, ``levels``, ``vertebrae``, ``clot``, ``cxr``,
``phantoms``) and is imported on demand.
"""

from __future__ import annotations

import os as _os

# hounsfield makes no network calls; albumentations would ask PyPI for a newer version of itself when first
# imported (a 2 s timeout and a warning on an offline machine) unless this is set. A user's own setting wins.
_os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from .errors import HounsfieldError, InputError, MissingDependencyError, UnsupportedInputError
from .volume import LPS_TO_RAS, Volume, VolumeMeta

__version__ = "0.1.0"

__all__ = [
    "HounsfieldError",
    "InputError",
    "LPS_TO_RAS",
    "MissingDependencyError",
    "UnsupportedInputError",
    "Volume",
    "VolumeMeta",
    "__version__",
    "read",
    "write",
]


def read(path, **kwargs):  # noqa: ANN001, ANN201 - thin re-export, see hounsfield.io.read
    """Read a DICOM folder/file or image file as a :class:`Volume` (see :func:`hounsfield.io.read`)."""
    from .io import read as _read

    return _read(path, **kwargs)


def write(volume, path, **kwargs):  # noqa: ANN001, ANN201
    """Write a :class:`Volume` by file suffix (see :func:`hounsfield.io.write`)."""
    from .io import write as _write

    return _write(volume, path, **kwargs)
