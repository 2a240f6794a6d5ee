"""Shared pieces of the DICOM exporters."""

from __future__ import annotations

from typing import Any

from ...errors import InputError
from ...volume import Volume

__all__ = ["source_datasets", "ALGORITHM"]

ALGORITHM = {"name": "hounsfield", "family": "ArtificialIntelligence"}


def source_datasets(volume: Volume, pixels: bool = False) -> list[Any]:
    """The DICOM datasets a volume was read from, in k order (headers only by default)."""
    import pydicom

    files = (volume.meta.extra or {}).get("source_files")
    if not files:
        raise InputError(
            "DICOM SEG/SR need a volume read from a DICOM series on its own grid (not resampled, "
            "not from NIfTI); no source images to reference"
        )
    out = []
    for f in files:
        ds = pydicom.dcmread(f, stop_before_pixels=not pixels)
        for keyword in _TYPE2:  # type 2 attributes that some scanners and anonymisers drop
            if keyword not in ds:
                setattr(ds, keyword, "")
        out.append(ds)
    return out


_TYPE2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
          "AccessionNumber", "ReferringPhysicianName", "StudyID")
