"""One entry point: :func:`read` any supported input into a :class:`Volume`."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError
from ..volume import Volume
from .nifti import ITK_SUFFIXES, NIFTI_SUFFIXES, read_itk, read_nifti, write_itk, write_nifti

__all__ = ["read", "write", "is_image_file"]


def is_image_file(path: str | os.PathLike) -> bool:
    name = Path(path).name.lower()
    return name.endswith(NIFTI_SUFFIXES) or name.endswith(ITK_SUFFIXES)


def read(path: str | os.PathLike, *, uneven: str = "resample", allow_single_slice: bool = False) -> Volume:
    """Read a DICOM folder or file, ``.nii``/``.nii.gz``, ``.nrrd``, ``.mha``/``.mhd``.

    A folder holding several DICOM series gives the largest one (use
    :func:`hounsfield.io.read_dicom` for all of them).
    """
    from .dicom import read_dicom_volume

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    name = path.name.lower()
    if path.is_dir():
        return read_dicom_volume(path, uneven=uneven, allow_single_slice=allow_single_slice)
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")
    if name.endswith(NIFTI_SUFFIXES):
        return read_nifti(path)
    if name.endswith(ITK_SUFFIXES):
        return read_itk(path)
    return read_dicom_volume(path, uneven=uneven, allow_single_slice=allow_single_slice)


def write(volume: Volume, path: str | os.PathLike, *, sidecar: bool = False) -> Path:
    """Write by suffix: NIfTI through nibabel, NRRD/MHA through SimpleITK."""
    name = Path(path).name.lower()
    if name.endswith(NIFTI_SUFFIXES):
        return write_nifti(volume, path, sidecar=sidecar)
    if name.endswith(ITK_SUFFIXES):
        return write_itk(volume, path)
    raise InputError(f"{path}: unknown output format (use .nii.gz, .nii, .nrrd or .mha)")
