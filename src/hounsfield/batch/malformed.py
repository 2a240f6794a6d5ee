"""A corpus of malformed inputs, for reliability tests and ``benchmarks/reliability.py``.

:func:`write_corpus` writes one exam per case under a root folder (each a
DICOM folder or an image file) plus one valid control exam. A batch over the
root must finish with every malformed exam ``failed`` with a one-line error
and the control ``done``.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["CASES", "NOT_CT", "READABLE", "write_corpus"]

#: cases a reader can still turn into a volume, recording what it decided (a slice with an
#: invalid position or a stray orientation is left out of the series, as a missing slice)
READABLE = {"dicom_conflicting_orientation", "dicom_nan_position"}
#: readable images that are not CT: converted by ``convert``, refused by every CT analysis
NOT_CT = {"dicom_mr_series", "dicom_xray", "nifti_2d_tiny", "nifti_positive_values_only"}


def _series(folder: Path, n: int = 4, **kw) -> list[Path]:  # noqa: ANN003
    from ..examples import cylinder_ct
    from ..io import write_dicom_series

    return write_dicom_series(cylinder_ct(shape=(24, 20, n), seed=n), folder, prefix="IM", **kw)


def _edit(files: list[Path], fn: Callable, which: slice | list[int] = slice(None)) -> None:
    import pydicom

    chosen = files[which] if isinstance(which, slice) else [files[i] for i in which]
    for f in chosen:
        ds = pydicom.dcmread(f)
        fn(ds)
        ds.save_as(f)


def _nifti(path: Path, arr: np.ndarray, affine: np.ndarray | None = None) -> None:
    import nibabel as nib

    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(arr, np.eye(4) if affine is None else affine), str(path))


def _truncate(f: Path, keep: int) -> None:
    data = f.read_bytes()
    f.write_bytes(data[:keep] if keep >= 0 else data[:keep])


def _case_funcs() -> dict[str, Callable[[Path], None]]:
    from pydicom.uid import JPEG2000Lossless, RLELossless

    def c(name: str) -> Callable:
        def deco(fn: Callable) -> Callable:
            cases[name] = fn
            return fn
        return deco

    cases: dict[str, Callable[[Path], None]] = {}

    @c("dicom_truncated_pixels")
    def _(d: Path) -> None:
        _truncate(_series(d)[1], -300)

    @c("dicom_truncated_header")
    def _(d: Path) -> None:
        for f in _series(d):
            _truncate(f, 200)

    @c("dicom_all_files_zero_bytes")
    def _(d: Path) -> None:
        for f in _series(d):
            f.write_bytes(b"")

    @c("dicom_missing_pixel_data")
    def _(d: Path) -> None:
        _edit(_series(d), lambda ds: delattr(ds, "PixelData"))

    @c("dicom_wrong_transfer_syntax_j2k")
    def _(d: Path) -> None:
        # raw pixels wrapped as if they were JPEG 2000 codestreams
        import pydicom
        from pydicom.encaps import encapsulate

        for p in _series(d):
            ds = pydicom.dcmread(p)
            ds.PixelData = encapsulate([ds.PixelData])
            ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
            ds.save_as(p, enforce_file_format=True)

    @c("dicom_wrong_transfer_syntax_rle")
    def _(d: Path) -> None:
        # the meta header says RLE (same UID length, patched in place), the data are raw
        for p in _series(d):
            data = p.read_bytes()
            p.write_bytes(data.replace(b"1.2.840.10008.1.2.1\0", RLELossless.encode() + b"\0", 1))

    @c("dicom_one_slice")
    def _(d: Path) -> None:
        _series(d, n=1)

    @c("dicom_mixed_modalities")
    def _(d: Path) -> None:
        _edit(_series(d), lambda ds: setattr(ds, "Modality", "MR"), [0])

    @c("dicom_mr_series")
    def _(d: Path) -> None:
        _series(d, modality="MR")

    @c("dicom_xray")
    def _(d: Path) -> None:
        _series(d, n=2, modality="DX")

    @c("dicom_huge_dimensions_tiny_file")
    def _(d: Path) -> None:
        def f(ds):  # noqa: ANN001
            ds.Rows, ds.Columns = 60000, 60000
        _edit(_series(d), f)

    @c("dicom_zero_rows")
    def _(d: Path) -> None:
        _edit(_series(d), lambda ds: setattr(ds, "Rows", 0))

    @c("dicom_nan_position")
    def _(d: Path) -> None:
        _edit(_series(d), lambda ds: setattr(ds, "ImagePositionPatient", ["nan", "0", "0"]), [1])

    @c("dicom_duplicate_everything")
    def _(d: Path) -> None:
        def f(ds):  # noqa: ANN001
            ds.ImagePositionPatient = ["0", "0", "0"]
        _edit(_series(d), f)

    @c("dicom_conflicting_orientation")
    def _(d: Path) -> None:
        _edit(_series(d), lambda ds: setattr(ds, "ImageOrientationPatient", [0, 1, 0, 0, 0, 1]), [2])

    @c("dicom_degenerate_orientation")
    def _(d: Path) -> None:
        _edit(_series(d), lambda ds: setattr(ds, "ImageOrientationPatient", [1, 0, 0, 1, 0, 0]))

    @c("dicom_bits_allocated_wrong")
    def _(d: Path) -> None:
        _edit(_series(d), lambda ds: setattr(ds, "BitsAllocated", 32))

    @c("dicom_colour")
    def _(d: Path) -> None:
        _edit(_series(d), lambda ds: setattr(ds, "SamplesPerPixel", 3))

    @c("dicom_garbage_after_preamble")
    def _(d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        for i in range(3):
            (d / f"IM{i}.dcm").write_bytes(b"\0" * 128 + b"DICM" + os.urandom(300))

    @c("dicom_localizers_only")
    def _(d: Path) -> None:
        _edit(_series(d), lambda ds: setattr(ds, "ImageType", ["ORIGINAL", "PRIMARY", "LOCALIZER"]))

    @c("dicom_secondary_capture_only")
    def _(d: Path) -> None:
        _edit(_series(d), lambda ds: setattr(ds, "SOPClassUID", "1.2.840.10008.5.1.4.1.1.7"))

    @c("nifti_nan")
    def _(d: Path) -> None:
        a = np.zeros((8, 8, 8), np.float32)
        a[2, 2, 2] = np.nan
        _nifti(d / "ct.nii.gz", a)

    @c("nifti_inf")
    def _(d: Path) -> None:
        a = np.zeros((8, 8, 8), np.float32)
        a[1] = np.inf
        _nifti(d / "ct.nii.gz", a)

    @c("nifti_4d")
    def _(d: Path) -> None:
        _nifti(d / "ct.nii.gz", np.zeros((8, 8, 8, 3), np.int16))

    @c("nifti_zero_size")
    def _(d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        (d / "ct.nii.gz").write_bytes(b"")

    @c("nifti_truncated")
    def _(d: Path) -> None:
        _nifti(d / "ct.nii", np.ones((16, 16, 16), np.int16))
        _truncate(d / "ct.nii", 600)

    @c("nifti_not_gzip")
    def _(d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        (d / "ct.nii.gz").write_bytes(b"this is not gzip at all")

    @c("nifti_huge_header_tiny_file")
    def _(d: Path) -> None:
        import nibabel as nib

        d.mkdir(parents=True, exist_ok=True)
        hdr = nib.Nifti1Header()
        hdr.set_data_shape((30000, 30000, 3000))
        hdr.set_data_dtype(np.int16)
        (d / "ct.nii.gz").write_bytes(gzip.compress(hdr.binaryblock + b"\0" * 4 + b"\1\2" * 10))

    @c("nifti_singular_affine")
    def _(d: Path) -> None:
        import nibabel as nib

        d.mkdir(parents=True, exist_ok=True)
        hdr = nib.Nifti1Header()
        hdr.set_data_shape((8, 8, 8))
        hdr.set_data_dtype(np.int16)
        hdr["srow_x"], hdr["srow_y"], hdr["srow_z"] = [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]
        hdr["sform_code"], hdr["qform_code"], hdr["vox_offset"] = 1, 0, 352
        (d / "ct.nii").write_bytes(hdr.binaryblock + b"\0" * 4 + np.zeros(512, np.int16).tobytes())

    @c("nifti_2d_tiny")
    def _(d: Path) -> None:
        _nifti(d / "ct.nii.gz", np.zeros((1, 1, 1), np.int16))

    @c("nifti_positive_values_only")
    def _(d: Path) -> None:
        _nifti(d / "ct.nii.gz", np.full((16, 16, 16), 500, np.uint16))

    @c("nrrd_garbage")
    def _(d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        (d / "ct.nrrd").write_bytes(b"NRRD0004\ntype: short\ndimension: 3\nsizes: 999 999 999\nencoding: raw\n\n" + b"\0" * 10)

    @c("mha_wrong_element_count")
    def _(d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        (d / "ct.mha").write_bytes(
            b"ObjectType = Image\nNDims = 3\nDimSize = 50 50 50\nElementType = MET_SHORT\nElementDataFile = LOCAL\n"
            + struct.pack("<10h", *range(10)))

    return cases


CASES = sorted(_case_funcs())


def write_corpus(root: str | os.PathLike, *, control: bool = True) -> list[str]:
    """Write every malformed case (one sub-folder each) and a valid control exam."""
    root = Path(root)
    funcs = _case_funcs()
    for name in sorted(funcs):
        funcs[name](root / name)
    if control:
        _series(root / "control_valid", n=6)
    return sorted(funcs)
