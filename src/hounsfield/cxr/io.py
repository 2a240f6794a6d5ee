"""Reading and writing chest radiographs: DICOM (CR/DX), PNG and JPEG.

A radiograph is returned as a :class:`Radiograph`: a 2-D ``float32`` array in
``[0, 1]`` shown the usual way (MONOCHROME2: bright = attenuating, bone and
heart white, lungs dark), its pixel spacing when the file records one, and
what the reader did.

DICOM pixels go through the modality LUT (rescale slope/intercept), then the
VOI LUT or window centre/width when the file has one (pydicom's
``apply_voi_lut``; otherwise the full stored range is used), and MONOCHROME1
images are inverted so that every radiograph comes out MONOCHROME2.
Compressed transfer syntaxes (JPEG baseline, JPEG 2000...) are decoded by
pydicom's pixel handlers (pylibjpeg).

Examples
--------
>>> import numpy as np
>>> r = Radiograph(np.array([[0.0, 1.0]], np.float32), (0.2, 0.2))
>>> r.shape
(1, 2)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HounsfieldError, InputError, UnsupportedInputError

__all__ = ["Radiograph", "read_radiograph", "write_png", "write_radiograph_dicom", "RADIOGRAPH_SUFFIXES",
           "is_radiograph_file"]

#: file name endings read as ordinary pictures (everything else is tried as DICOM)
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
RADIOGRAPH_SUFFIXES = PICTURE_SUFFIXES + (".dcm", ".dicom")


@dataclass(frozen=True, eq=False)
class Radiograph:
    """A 2-D radiograph in display convention (bright = attenuating).

    Parameters
    ----------
    pixels
        ``float32`` array ``[row, column]`` in ``[0, 1]``; row 0 is the top of
        the image (superior on a PA chest film), the patient's right is on the
        viewer's left (PA/AP convention).
    spacing_mm
        ``(row, column)`` pixel size in mm, or ``None`` when the file does not
        say (PNG/JPEG).
    meta
        What is known: ``source``, ``format``, ``photometric``,
        ``patient_id``, ``view`` (DICOM ViewPosition, upper case), ``body_part``
        (BodyPartExamined), ``bits``, ``decisions`` (list of strings)...
    """

    pixels: np.ndarray
    spacing_mm: tuple[float, float] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        arr = np.asarray(self.pixels, dtype=np.float32)
        if arr.ndim != 2:
            raise ValueError(f"a radiograph is 2-D, got shape {arr.shape}")
        object.__setattr__(self, "pixels", arr)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.pixels.shape[0]), int(self.pixels.shape[1]))

    @property
    def decisions(self) -> list[str]:
        return list(self.meta.get("decisions", []))


def is_radiograph_file(path: str | os.PathLike) -> bool:
    """True for names ending in a picture suffix or ``.dcm``/``.dicom``."""
    return Path(path).name.lower().endswith(RADIOGRAPH_SUFFIXES)


def _normalise(arr: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    arr = arr.astype(np.float32, copy=False)
    lo = float(arr.min()) if lo is None else lo
    hi = float(arr.max()) if hi is None else hi
    if hi <= lo:
        return np.zeros_like(arr, dtype=np.float32)
    return np.clip((arr - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def _read_picture(path: Path) -> Radiograph:
    from .._optional import import_optional

    image_mod = import_optional("PIL.Image", "ml", "reading PNG/JPEG radiographs")
    try:
        with image_mod.open(path) as im:
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(im, dtype=np.float64)
                bits = 16
            else:
                if mode not in ("L", "LA", "P", "RGB", "RGBA"):
                    im = im.convert("RGB")
                    mode = "RGB"
                if mode == "P":
                    im = im.convert("RGB")
                    mode = "RGB"
                arr = np.asarray(im, dtype=np.float64)
                bits = 8
    except OSError as exc:
        raise InputError(f"{path}: not a readable image ({exc})") from None
    decisions = []
    if arr.ndim == 3:
        arr = arr[..., :3].mean(axis=2) if arr.shape[2] >= 3 else arr[..., 0]
        decisions.append(f"{mode} picture converted to grey by averaging the colour channels")
    full = 65535.0 if bits == 16 else 255.0
    if bits == 16 and arr.max() <= 4095:
        full = 4095.0
        decisions.append("16-bit picture with values <= 4095 read as 12-bit")
    pixels = _normalise(arr, 0.0, full)
    return Radiograph(pixels, None, {"source": str(path), "format": path.suffix.lower().lstrip("."),
                                     "photometric": "MONOCHROME2", "bits": bits, "decisions": decisions})


def _spacing(ds: Any) -> tuple[tuple[float, float] | None, str | None]:
    for tag in ("PixelSpacing", "ImagerPixelSpacing"):
        v = ds.get(tag)
        if v is not None and len(v) == 2:
            try:
                return (float(v[0]), float(v[1])), tag
            except (TypeError, ValueError):
                continue
    return None, None


def _read_dicom(path: Path) -> Radiograph:
    import pydicom

    from .clinical import header_clinical
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    try:
        ds = pydicom.dcmread(path)
    except Exception as exc:  # pydicom raises several kinds
        raise InputError(f"{path}: not a readable DICOM file ({exc})") from None
    if "PixelData" not in ds:
        raise UnsupportedInputError(f"{path}: DICOM file without pixel data (not an image)")
    try:
        arr = ds.pixel_array
    except Exception as exc:
        ts = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "?")
        raise InputError(f"{path}: cannot decode the pixels (transfer syntax {ts}): {exc}; "
                         "install pylibjpeg-libjpeg / pylibjpeg-openjpeg") from None
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    decisions: list[str] = []
    if arr.ndim == 3:
        if photometric in ("RGB", "YBR_FULL", "YBR_FULL_422") and arr.shape[-1] == 3:
            arr = arr.astype(np.float64).mean(axis=-1)
            decisions.append(f"{photometric} DICOM converted to grey")
        else:
            arr = arr[0]
            decisions.append("multi-frame DICOM: first frame used")
    if arr.ndim != 2:
        raise UnsupportedInputError(f"{path}: a radiograph is 2-D, this DICOM has pixel shape {arr.shape}")
    modality = str(ds.get("Modality", "") or "")
    if modality == "CT":
        raise UnsupportedInputError(f"{path}: this is a CT slice, not a radiograph (use the CT commands)")
    bits = int(ds.get("BitsStored", 8) or 8)
    modality_out = apply_modality_lut(arr, ds)  # integer unless rescaled (VOI LUTs index integers)
    values = modality_out.astype(np.float64)
    has_voi = "VOILUTSequence" in ds or ("WindowCenter" in ds and "WindowWidth" in ds)
    if has_voi:
        # pydicom applies the first VOI LUT (preferred) or window centre/width
        # (linear, linear-exact or sigmoid) and returns values in its output
        # range; that range is read back by windowing the two extremes (window)
        # or from the LUT's own entries (LUT sequence).
        windowed = apply_voi_lut(modality_out, ds, index=0).astype(np.float64)
        if "VOILUTSequence" in ds:
            desc = [int(v) for v in ds.VOILUTSequence[0].LUTDescriptor]
            n_entries = desc[0] or 65536
            lut = apply_voi_lut(np.arange(desc[1], desc[1] + n_entries), ds, index=0).astype(np.float64)
            lo, hi = float(lut.min()), float(lut.max())
            decisions.append("VOI LUT sequence applied")
        else:
            ends = apply_voi_lut(np.array([-1e12, 1e12]), ds, index=0).astype(np.float64)
            lo, hi = float(ends.min()), float(ends.max())
            wc, ww = ds.WindowCenter, ds.WindowWidth
            wc = float(wc[0] if isinstance(wc, pydicom.multival.MultiValue) else wc)
            ww = float(ww[0] if isinstance(ww, pydicom.multival.MultiValue) else ww)
            decisions.append(f"window centre {wc:g} width {ww:g} applied")
        pixels = _normalise(windowed, lo, hi)
    else:
        if bits and not ("RescaleSlope" in ds or "RescaleIntercept" in ds):
            pixels = _normalise(values, 0.0, float(2**bits - 1)) if values.min() >= 0 else _normalise(values)
            decisions.append(f"no VOI LUT or window: full {bits}-bit stored range used")
        else:
            pixels = _normalise(values)
            decisions.append("no VOI LUT or window: min-max of the rescaled values used")
    if photometric == "MONOCHROME1":
        pixels = (1.0 - pixels).astype(np.float32)
        decisions.append("MONOCHROME1: inverted to MONOCHROME2 (bright = attenuating)")
    spacing, spacing_tag = _spacing(ds)
    if spacing_tag:
        decisions.append(f"pixel spacing from {spacing_tag}")
    meta = {
        "source": str(path), "format": "dicom", "photometric": photometric, "bits": bits,
        "modality": modality or None, "view": str(ds.get("ViewPosition", "") or "").strip().upper() or None,
        "body_part": str(ds.get("BodyPartExamined", "") or "").strip().upper() or None,
        "patient_id": str(ds.get("PatientID", "") or "") or None,
        "transfer_syntax": str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "") or None,
        "decisions": decisions,
        "clinical": header_clinical(ds),  # age, sex from PatientAge / PatientSex (for models with clinical inputs)
    }
    return Radiograph(pixels, spacing, meta)


def read_radiograph(path: str | os.PathLike) -> Radiograph:
    """Read a chest radiograph (DICOM, PNG, JPEG, TIFF) into a :class:`Radiograph`.

    Parameters
    ----------
    path
        A file. Names ending in a picture suffix are read with Pillow,
        anything else as DICOM.

    Raises
    ------
    InputError
        Missing, empty or undecodable file; CT slices and 3-D images are refused.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give radiograph files (or a glob)")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")
    try:
        if path.name.lower().endswith(PICTURE_SUFFIXES):
            return _read_picture(path)
        return _read_dicom(path)
    except HounsfieldError:
        raise
    except Exception as exc:  # noqa: BLE001 - a corrupt header element surfaces when it is first read
        raise InputError(f"{path}: unreadable radiograph ({type(exc).__name__}: {str(exc)[:160]})") from None


def write_png(radiograph: Radiograph | np.ndarray, path: str | os.PathLike, bits: int = 8) -> Path:
    """Write pixels in ``[0, 1]`` as an 8- or 16-bit greyscale PNG (atomic)."""
    from .._optional import import_optional

    image_mod = import_optional("PIL.Image", "ml", "writing PNG radiographs")
    pixels = radiograph.pixels if isinstance(radiograph, Radiograph) else np.asarray(radiograph, np.float32)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    full = 255 if bits == 8 else 65535
    arr = np.rint(np.clip(pixels, 0, 1) * full).astype(np.uint8 if bits == 8 else np.uint16)
    tmp = path.with_name(path.name + ".part")
    image_mod.fromarray(arr).save(tmp, format="PNG")
    os.replace(tmp, path)
    return path


def write_radiograph_dicom(
    radiograph: Radiograph, path: str | os.PathLike, *, patient_id: str = "ANON", bits: int = 12,
    monochrome1: bool = False, description: str = "hounsfield synthetic radiograph",
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a radiograph as an uncompressed DX/CR-like DICOM file (atomic).

    Pixels in ``[0, 1]`` are stored on ``bits`` bits with PixelSpacing (when
    known), a full-range window, PA view, and MONOCHROME2 (or MONOCHROME1 with
    the stored values inverted, so both read back identically).
    ``extra`` keywords (e.g. ``{"PatientAge": "061Y"}``) are set on the dataset.
    """
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    full = 2**bits - 1
    stored = np.rint(np.clip(radiograph.pixels, 0, 1) * full).astype(np.uint16)
    if monochrome1:
        stored = (full - stored).astype(np.uint16)
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"  # Computed Radiography Image Storage
    fm.MediaStorageSOPInstanceUID = generate_uid()
    fm.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=fm, preamble=b"\0" * 128)
    ds.SOPClassUID = fm.MediaStorageSOPClassUID
    ds.SOPInstanceUID = fm.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "CR"
    ds.PatientID = patient_id
    ds.PatientName = patient_id
    ds.SeriesDescription = description
    ds.ViewPosition = "PA"
    ds.BodyPartExamined = "CHEST"
    ds.Rows, ds.Columns = radiograph.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1" if monochrome1 else "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    if radiograph.spacing_mm is not None:
        ds.PixelSpacing = [f"{radiograph.spacing_mm[0]:.4f}", f"{radiograph.spacing_mm[1]:.4f}"]
        ds.ImagerPixelSpacing = ds.PixelSpacing
    ds.PixelData = stored.tobytes()
    for key, value in (extra or {}).items():
        setattr(ds, key, value)
    tmp = path.with_name(path.name + ".part")
    pydicom.dcmwrite(tmp, ds, enforce_file_format=True)
    os.replace(tmp, path)
    return path
