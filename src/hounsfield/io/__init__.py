"""Reading and writing images: DICOM series, NIfTI, NRRD/MHA (SimpleITK), sidecars.

The only place in hounsfield that reads image files; everything returns a
:class:`~hounsfield.volume.Volume`.
"""

from .checks import require_ct
from .dicom import (DicomSeries, Skipped, classify_gating, discover, has_dicom_marker, read_dicom, read_dicom_volume,
                    read_series)
from .dicom_write import write_dicom_series
from .nifti import ITK_SUFFIXES, NIFTI_SUFFIXES, read_itk, read_nifti, write_itk, write_nifti
from .readers import read, write
from .sidecar import read_sidecar, sidecar_path, write_json, write_sidecar

__all__ = [
    "DicomSeries",
    "ITK_SUFFIXES",
    "NIFTI_SUFFIXES",
    "Skipped",
    "classify_gating",
    "discover",
    "has_dicom_marker",
    "read",
    "read_dicom",
    "read_dicom_volume",
    "read_itk",
    "read_nifti",
    "read_series",
    "read_sidecar",
    "require_ct",
    "sidecar_path",
    "write",
    "write_dicom_series",
    "write_itk",
    "write_json",
    "write_nifti",
    "write_sidecar",
]
