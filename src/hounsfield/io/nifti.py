"""NIfTI (nibabel) and other image files (SimpleITK) to and from :class:`Volume`."""

from __future__ import annotations

import gzip
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import InputError, UnsupportedInputError
from ..volume import LPS_TO_RAS, Volume, VolumeMeta
from .sidecar import read_sidecar, sidecar_path

__all__ = ["read_nifti", "write_nifti", "read_itk", "write_itk", "NIFTI_SUFFIXES", "ITK_SUFFIXES"]

NIFTI_SUFFIXES = (".nii", ".nii.gz")
ITK_SUFFIXES = (".nrrd", ".nhdr", ".mha", ".mhd")


def _squeeze_to_3d(arr: np.ndarray, path: Path) -> np.ndarray:
    if arr.ndim == 2:
        return arr[:, :, None]
    if arr.ndim > 3:
        extra = arr.shape[3:]
        if all(s == 1 for s in extra):
            return arr.reshape(arr.shape[:3])
        raise UnsupportedInputError(
            f"{path}: a {arr.ndim}-D image of shape {arr.shape} (several volumes); "
            "hounsfield reads one 3-D volume per file - split it first"
        )
    if arr.ndim < 2:
        raise InputError(f"{path}: not an image (array of shape {arr.shape})")
    return arr


def _normalise_dtype(arr: np.ndarray, path: Path) -> np.ndarray:
    """Integer-valued data as int16 when it fits; floats stay float32. NaN/inf refused."""
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            n = int((~np.isfinite(arr)).sum())
            raise InputError(f"{path}: {n} voxels are NaN or infinite; fix or mask the image first")
        if arr.size and np.array_equal(arr, np.rint(arr)) and arr.min() >= -32768 and arr.max() <= 32767:
            return arr.astype(np.int16)
        return arr.astype(np.float32, copy=False)
    if np.issubdtype(arr.dtype, np.bool_):
        return arr.astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer):
        if arr.dtype in (np.int16, np.uint8):
            return arr
        if arr.size == 0 or (arr.min() >= -32768 and arr.max() <= 32767):
            return arr.astype(np.int16)
        return arr.astype(np.int32)
    raise InputError(f"{path}: unsupported voxel type {arr.dtype}")


def read_nifti(path: str | os.PathLike) -> Volume:
    """Read a ``.nii``/``.nii.gz`` file (sform if set, else qform) as a :class:`Volume`.

    A JSON sidecar of the same stem (written by :func:`write_nifti` or dcm2niix)
    fills the metadata when present.
    """
    import nibabel as nib

    path = Path(path)
    try:
        img = nib.load(str(path))
        arr = np.asanyarray(img.dataobj)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except Exception as exc:  # nibabel raises many types for broken files
        raise InputError(f"{path}: not a readable NIfTI file ({type(exc).__name__}: {exc})") from None
    arr = _normalise_dtype(_squeeze_to_3d(np.asarray(arr), path), path)
    meta = VolumeMeta(source=str(path))
    side = sidecar_path(path)
    if side.exists():
        meta = read_sidecar(side, source=str(path))
    return Volume(arr, img.affine, meta)


def _gzip_one(chunk: bytes, level: int) -> bytes:
    try:  # Intel ISA-L: ~3x faster than zlib at equal or better ratio on CT
        from isal import igzip

        return igzip.compress(chunk, compresslevel=min(level, 3), mtime=0)
    except ImportError:
        return gzip.compress(chunk, compresslevel=level, mtime=0)


def _gzip_parallel(raw: bytes | memoryview, level: int, threads: int) -> bytes:
    """gzip members compressed in parallel and concatenated (a valid gzip stream,
    as pigz writes); both zlib and ISA-L release the GIL."""
    raw = memoryview(raw)
    n = max(1, min(threads, len(raw) // (4 << 20)))
    if n == 1:
        return _gzip_one(raw, level)
    step = -(-len(raw) // n)
    chunks = [raw[i : i + step] for i in range(0, len(raw), step)]
    with ThreadPoolExecutor(n) as pool:
        parts = list(pool.map(lambda c: _gzip_one(c, level), chunks))
    return b"".join(parts)


def write_nifti(
    volume: Volume,
    path: str | os.PathLike,
    *,
    sidecar: bool = False,
    compresslevel: int = 2,
    threads: int | None = None,
) -> Path:
    """Write ``volume`` as NIfTI-1 (``.nii`` or ``.nii.gz``), sform/qform code 1.

    The file is written to a temporary name and renamed, so an interrupted
    write never leaves a truncated file under the final name. gzip runs in
    parallel members (like pigz), through ISA-L when installed, at level 2 by
    default: on the real CT fixtures ISA-L level 2 is smaller than zlib level 6
    at a seventh of the time. With
    ``sidecar=True`` the metadata goes to ``<stem>.json`` beside it.
    """
    import nibabel as nib

    from .sidecar import write_sidecar

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = volume.array
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    img = nib.Nifti1Image(arr, volume.affine)
    img.header.set_xyzt_units("mm", "sec")
    img.set_sform(volume.affine, code=1)
    img.set_qform(volume.affine, code=1)
    if volume.meta.description:
        img.header["descrip"] = volume.meta.description.encode("ascii", "replace")[:79]
    tmp = path.with_name(path.name + ".part")
    raw = img.to_bytes()  # nibabel serialises header + data; we only compress (in parallel)
    if path.name.endswith(".gz"):
        raw = _gzip_parallel(raw, compresslevel, threads or (os.cpu_count() or 1))
    tmp.write_bytes(raw)
    os.replace(tmp, path)
    if sidecar:
        write_sidecar(volume.meta, sidecar_path(path))
    return path


def read_itk(path: str | os.PathLike) -> Volume:
    """Read any image SimpleITK reads (``.nrrd``, ``.mha``, ...), LPS -> RAS."""
    import SimpleITK as sitk

    path = Path(path)
    try:
        img = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
        raise InputError(f"{path}: not a readable image ({first})") from None
    if img.GetNumberOfComponentsPerPixel() != 1:
        raise UnsupportedInputError(f"{path}: {img.GetNumberOfComponentsPerPixel()}-component pixels; need scalar")
    arr = sitk.GetArrayFromImage(img)  # z, y, x
    dim = img.GetDimension()
    arr = np.transpose(arr, tuple(range(arr.ndim))[::-1])  # x, y, z(, t)
    arr = _normalise_dtype(_squeeze_to_3d(arr, path), path)
    direction = np.array(img.GetDirection(), dtype=float).reshape(dim, dim)[:3, :3]
    spacing = np.array(img.GetSpacing(), dtype=float)[:3]
    origin = np.array(img.GetOrigin(), dtype=float)[:3]
    if dim == 2:
        direction = np.eye(3)
        direction[:2, :2] = np.array(img.GetDirection()).reshape(2, 2)
        spacing = np.r_[spacing[:2], 1.0]
        origin = np.r_[origin[:2], 0.0]
    lps = np.eye(4)
    lps[:3, :3] = direction * spacing
    lps[:3, 3] = origin
    return Volume(arr, LPS_TO_RAS @ lps, VolumeMeta(source=str(path)))


def write_itk(volume: Volume, path: str | os.PathLike) -> Path:
    """Write through SimpleITK (format from the suffix), RAS -> LPS."""
    import SimpleITK as sitk

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lps = LPS_TO_RAS @ volume.affine
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    img = sitk.GetImageFromArray(np.transpose(volume.array, (2, 1, 0)))
    img.SetSpacing(tuple(float(s) for s in spacing))
    img.SetDirection(tuple(float(x) for x in (lps[:3, :3] / spacing).ravel()))
    img.SetOrigin(tuple(float(x) for x in lps[:3, 3]))
    tmp = path.with_name(path.stem + ".part" + path.suffix)
    sitk.WriteImage(img, str(tmp), True)
    shutil.move(str(tmp), path)
    return path

