"""Write a :class:`~hounsfield.volume.Volume` as a DICOM series (one file per slice).

Files are written the way scanners write an axial series (row direction
towards patient Left, column direction Posterior, slices stacked Superior):
an axis-aligned volume is first reoriented to ``"LAS"`` (flips/permutations,
no interpolation), which is exactly the array order that
:func:`hounsfield.io.dicom.read_series` (and dcm2niix) produce. Reading the
files back therefore gives ``volume.reorient("LAS")`` bit for bit; an
oblique volume is written with its own orientation and reads back as the
same world image. Used by the synthetic patients (so DICOM reading is
exercised end to end) and by tests.
"""

from __future__ import annotations

import datetime as _dt
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..volume import LPS_TO_RAS, Volume

__all__ = ["write_dicom_series"]

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def write_dicom_series(
    volume: Volume,
    folder: str | os.PathLike,
    *,
    prefix: str = "",
    modality: str | None = None,
    series_description: str | None = None,
    patient_id: str | None = None,
    study_uid: str | None = None,
    series_uid: str | None = None,
    series_number: int = 1,
    extra: dict[str, Any] | None = None,
    threads: int | None = None,
) -> list[Path]:
    """Write ``volume`` as files ``<prefix><n>.dcm`` (n = 1..nk) in ``folder``.

    Voxel values must fit int16; they are stored as signed 16-bit with
    RescaleSlope 1 and RescaleIntercept 0. ``extra`` sets further attributes
    by keyword (e.g. ``{"CardiacSynchronizationTechnique": "PROSPECTIVE"}``).
    """
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rot = volume.affine[:3, :3] / np.linalg.norm(volume.affine[:3, :3], axis=0)
    if np.allclose(np.abs(rot).max(axis=0), 1.0, atol=1e-6):
        volume = volume.reorient("LAS")
    arr = volume.array
    if arr.min() < -32768 or arr.max() > 32767:
        raise ValueError("voxel values do not fit int16")
    arr = arr.astype(np.int16, copy=False)
    meta = volume.meta
    lps = LPS_TO_RAS @ volume.affine
    dx, dy, dk = volume.spacing
    r = lps[:3, 0] / dx
    c = -lps[:3, 1] / dy
    kvec = lps[:3, 2]
    ni, nj, nk = arr.shape
    origin0 = lps[:3, 3] + (nj - 1) * lps[:3, 1]  # row 0 of the DICOM image is j = nj - 1
    study_uid = study_uid or meta.study_uid or generate_uid()
    series_uid = series_uid or generate_uid()
    frame_uid = meta.frame_of_reference_uid or generate_uid()
    modality = modality or meta.modality or "CT"
    now = _dt.datetime(2026, 1, 1, 12, 0, 0)
    normal = np.cross(r, c)

    def one(k: int) -> Path:
        fm = FileMetaDataset()
        fm.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
        sop_uid = generate_uid()
        fm.MediaStorageSOPInstanceUID = sop_uid
        fm.TransferSyntaxUID = ExplicitVRLittleEndian
        fm.ImplementationClassUID = pydicom.uid.PYDICOM_IMPLEMENTATION_UID
        path = folder / f"{prefix}{k + 1}.dcm"
        ds = FileDataset(str(path), {}, file_meta=fm, preamble=b"\0" * 128)
        ds.SOPClassUID = CT_IMAGE_STORAGE
        ds.SOPInstanceUID = sop_uid
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.Modality = modality
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.SeriesNumber = series_number
        ds.InstanceNumber = k + 1
        ds.PatientID = patient_id or meta.patient_id or "ANON"
        ds.PatientName = f"{ds.PatientID}^"
        ds.StudyDate = ds.SeriesDate = now.strftime("%Y%m%d")
        ds.StudyTime = ds.SeriesTime = now.strftime("%H%M%S")
        ds.Manufacturer = meta.manufacturer or "hounsfield"
        ds.SeriesDescription = series_description or meta.description or ""
        if meta.kvp is not None:
            ds.KVP = f"{meta.kvp:g}"
        if meta.thickness_mm is not None:
            ds.SliceThickness = f"{meta.thickness_mm:g}"
        if meta.kernel:
            ds.ConvolutionKernel = meta.kernel
        pos = origin0 + k * kvec
        ds.ImagePositionPatient = [f"{x:.6f}" for x in pos]
        ds.ImageOrientationPatient = [f"{x:.8f}" for x in np.r_[r, c]]
        ds.SliceLocation = f"{float(normal @ pos):.6f}"
        ds.PixelSpacing = [f"{dy:.8g}", f"{dx:.8g}"]
        ds.Rows, ds.Columns = nj, ni
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.RescaleSlope = "1"
        ds.RescaleIntercept = "0"
        ds.RescaleType = "HU"
        ds.WindowCenter, ds.WindowWidth = "40", "400"
        for key, value in (extra or {}).items():
            setattr(ds, key, value)
        ds.PixelData = np.ascontiguousarray(arr[:, ::-1, k].T).tobytes()
        tmp = path.with_name(path.name + ".part")
        ds.save_as(str(tmp), enforce_file_format=True)
        os.replace(tmp, path)
        return path

    with ThreadPoolExecutor(threads or min(8, (os.cpu_count() or 1) + 2)) as pool:
        return list(pool.map(one, range(nk)))
