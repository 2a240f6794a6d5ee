"""DICOM series discovery and reading into :class:`~hounsfield.volume.Volume`.

What the reader does, in order (each decision is logged in ``meta.decisions``):

1. **Walk** a folder recursively, any file names; ``DICOMDIR`` and non-DICOM
   files are skipped (reported, not fatal).
2. **Group** files into series by ``SeriesInstanceUID``, then by orientation,
   matrix size, pixel spacing and image type. Localizers/scouts, secondary
   captures and objects without pixel data are dropped.
3. **Sort** slices by their position along the slice normal
   (``cross(row, column)`` of ImageOrientationPatient); the slice increment is
   computed from the positions, never from ``SliceThickness``.
4. **Duplicates** (same position): identical pixel data -> keep one; different
   data with distinct acquisition/temporal indices -> split into series.
5. **Gantry tilt** (slice origins not stacked along the normal) and **uneven
   spacing** (including missing slices) -> resampled onto a regular orthogonal
   grid aligned with the slice plane, spacing = the smallest increment (as
   dcm2niix's ``_Tilt``/``_Eq`` outputs), or refused with ``uneven="refuse"``.
6. **Values**: rescale slope/intercept applied per slice; CT kept as ``int16``.
7. **Voxel order** as dcm2niix writes it: ``i`` = DICOM column, ``j`` = DICOM
   row reversed, ``k`` = ascending along the slice normal. Files written by
   hounsfield and by dcm2niix therefore have identical arrays and affines.

Multi-frame (enhanced) objects are read through their functional groups.
"""

from __future__ import annotations

import logging
import os
import re
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..errors import HounsfieldError, InputError, UnsupportedInputError
from ..volume import LPS_TO_RAS, Volume, VolumeMeta

__all__ = [
    "DicomSeries",
    "Skipped",
    "discover",
    "read_series",
    "read_dicom",
    "read_dicom_volume",
    "classify_gating",
    "has_dicom_marker",
]

log = logging.getLogger(__name__)


def has_dicom_marker(path: str | os.PathLike) -> bool:
    """True when the file carries the DICOM Part 10 marker (``DICM`` after the 128-byte preamble); reads 132 bytes."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"

SECONDARY_CAPTURE_PREFIX = "1.2.840.10008.5.1.4.1.1.7"
_GATED_WORDS = re.compile(
    r"(ca\s*sc|cacs|calc?ium|ca\s*score|agatston|cardiac|coronar|heart|ecg|gated|prospective|retrospective|"
    r"\bcta\b.*heart|smartscore|\bcs\b)",
    re.IGNORECASE,
)
_NONGATED_WORDS = re.compile(r"(non[-_ ]?gated|ungated|thorax|chest|lung|ldct|low[- ]?dose)", re.IGNORECASE)


# --------------------------------------------------------------------------- records
@dataclass
class _Slice:
    """One 2-D image: a file, or one frame of a multi-frame file."""

    path: Path
    frame: int | None
    position: np.ndarray  # LPS mm of the first transmitted pixel's centre
    orientation: np.ndarray  # 6 values: row direction, column direction (LPS)
    spacing: tuple[float, float]  # (between rows, between columns) mm
    rows: int
    cols: int
    slope: float
    intercept: float
    instance: int
    acquisition: Any
    temporal: Any
    header: Any  # pydicom Dataset without pixels


@dataclass
class DicomSeries:
    """A group of slices that form one volume (before reading pixels)."""

    uid: str
    slices: list[_Slice]
    header: Any
    notes: list[str] = field(default_factory=list)

    @property
    def n_files(self) -> int:
        return len({s.path for s in self.slices})

    @property
    def description(self) -> str:
        return str(_get(self.header, "SeriesDescription", "") or "")

    @property
    def modality(self) -> str:
        return str(_get(self.header, "Modality", "") or "")

    @property
    def folder(self) -> Path:
        return self.slices[0].path.parent


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


# --------------------------------------------------------------------------- walking
def _iter_files(root: Path) -> Iterable[Path]:
    if root.is_file():
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.upper() == "DICOMDIR" or name.startswith("."):
                continue
            yield Path(dirpath) / name


def _read_header(path: Path) -> tuple[Any | None, str | None]:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(str(path), stop_before_pixels=False, defer_size=256)
    except InvalidDicomError:
        return None, "not a DICOM file"
    except Exception as exc:  # truncated, corrupt
        return None, f"unreadable DICOM ({type(exc).__name__}: {str(exc)[:120]})"
    return ds, None


def _floats(value: Any, n: int) -> np.ndarray | None:
    try:
        arr = np.array([float(x) for x in value], dtype=float)
    except (TypeError, ValueError):
        return None
    return arr if arr.size == n and np.isfinite(arr).all() else None


def _get(ds: Any, name: str, default: Any = None) -> Any:
    try:
        v = getattr(ds, name, default)
    except Exception:
        return default
    return default if v is None or v == "" else v


def _slices_of(path: Path, ds: Any) -> tuple[list[_Slice], str | None]:
    """Turn one dataset into slice records, or say why it is not usable."""
    sop = str(_get(ds, "SOPClassUID", ""))
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        return [], "no pixel data"
    if sop.startswith(SECONDARY_CAPTURE_PREFIX):
        return [], "secondary capture"
    image_type = [str(x).upper() for x in (_get(ds, "ImageType", []) or [])]
    if "LOCALIZER" in image_type or any(t in ("SCOUT", "TOPOGRAM") for t in image_type):
        return [], "localizer"
    rows, cols = int(_get(ds, "Rows", 0) or 0), int(_get(ds, "Columns", 0) or 0)
    if rows <= 0 or cols <= 0:
        return [], "no image matrix (Rows/Columns)"
    if int(_get(ds, "SamplesPerPixel", 1) or 1) != 1:
        return [], "colour image (SamplesPerPixel > 1)"
    nframes = int(_get(ds, "NumberOfFrames", 1) or 1)
    base = dict(
        path=path, rows=rows, cols=cols, instance=int(_get(ds, "InstanceNumber", 0) or 0),
        acquisition=_get(ds, "AcquisitionNumber"), temporal=_get(ds, "TemporalPositionIdentifier"), header=ds,
    )
    slope0 = float(_get(ds, "RescaleSlope", 1.0) or 1.0)
    inter0 = float(_get(ds, "RescaleIntercept", 0.0) or 0.0)

    if nframes > 1 or "PerFrameFunctionalGroupsSequence" in ds:
        return _frames_of(ds, base, nframes, slope0, inter0)

    pos = _floats(_get(ds, "ImagePositionPatient", []), 3)
    ori = _floats(_get(ds, "ImageOrientationPatient", []), 6)
    if pos is None and "ImagePositionPatient" in ds:
        return [], "invalid ImagePositionPatient"
    if ori is None and "ImageOrientationPatient" in ds:
        return [], "invalid ImageOrientationPatient"
    if ori is not None and not _valid_orientation(ori):
        return [], "invalid ImageOrientationPatient (not two orthogonal unit vectors)"
    sp = _floats(_get(ds, "PixelSpacing", []), 2)
    if sp is not None and np.any(sp <= 0):
        return [], "invalid PixelSpacing"
    if sp is None:
        sp = _floats(_get(ds, "ImagerPixelSpacing", []), 2)
    spacing = (float(sp[0]), float(sp[1])) if sp is not None else (1.0, 1.0)
    if pos is None or ori is None:
        # projection images (CR/DX) and some secondary images carry no patient
        # geometry: identity orientation at the origin (noted when read)
        pos, ori = np.zeros(3), np.array([1.0, 0, 0, 0, 1.0, 0])
    return [_Slice(frame=None, position=pos, orientation=ori, spacing=spacing, slope=slope0, intercept=inter0,
                   **base)], None


def _valid_orientation(ori: np.ndarray) -> bool:
    r, c = ori[:3], ori[3:]
    nr, nc = np.linalg.norm(r), np.linalg.norm(c)
    return bool(abs(nr - 1) < 0.05 and abs(nc - 1) < 0.05 and abs(r @ c) < 0.05)


def _frames_of(ds: Any, base: dict, nframes: int, slope0: float, inter0: float) -> tuple[list[_Slice], str | None]:
    shared = (_get(ds, "SharedFunctionalGroupsSequence") or [None])[0]
    per = _get(ds, "PerFrameFunctionalGroupsSequence") or []

    def group(fg: Any, seq: str, attr: str) -> Any:
        for src in (fg, shared):
            if src is not None and seq in src and len(src[seq].value):
                v = _get(src[seq].value[0], attr)
                if v is not None:
                    return v
        return None

    out = []
    offsets = _get(ds, "GridFrameOffsetVector")
    for f in range(nframes):
        fg = per[f] if f < len(per) else None
        pos = _floats(group(fg, "PlanePositionSequence", "ImagePositionPatient") or [], 3)
        ori = _floats(group(fg, "PlaneOrientationSequence", "ImageOrientationPatient") or [], 6)
        sp = _floats(group(fg, "PixelMeasuresSequence", "PixelSpacing") or [], 2)
        if pos is None and offsets is not None:  # legacy multi-frame (NM/RT dose style)
            p0 = _floats(_get(ds, "ImagePositionPatient", []), 3)
            ori = ori if ori is not None else _floats(_get(ds, "ImageOrientationPatient", []), 6)
            if p0 is not None and ori is not None:
                n = np.cross(ori[:3], ori[3:])
                pos = p0 + n * float(offsets[f])
        if sp is None:
            sp = _floats(_get(ds, "PixelSpacing", []), 2)
        if pos is None or ori is None or sp is None or not _valid_orientation(ori):
            return [], "multi-frame object without valid per-frame plane position/orientation"
        slope = group(fg, "PixelValueTransformationSequence", "RescaleSlope")
        inter = group(fg, "PixelValueTransformationSequence", "RescaleIntercept")
        out.append(_Slice(frame=f, position=pos, orientation=ori, spacing=(float(sp[0]), float(sp[1])),
                          slope=float(slope) if slope is not None else slope0,
                          intercept=float(inter) if inter is not None else inter0, **base))
    return out, None


def _group_key(s: _Slice) -> tuple:
    ds = s.header
    image_type = tuple(str(x).upper() for x in (_get(ds, "ImageType", []) or [])[:3])
    return (
        str(_get(ds, "SeriesInstanceUID", "")),
        tuple(np.round(s.orientation, 3)),
        (s.rows, s.cols),
        tuple(np.round(s.spacing, 4)),
        image_type,
    )


def discover(
    root: str | os.PathLike | list[Path],
    *,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[DicomSeries], list[Skipped]]:
    """Find every DICOM series under ``root`` (a folder, one file, or a list of files).

    Returns the series (largest first) and the files or groups that were
    skipped, each with a reason.
    """
    if isinstance(root, list):
        files = [Path(f) for f in root]
    else:
        root = Path(root)
        if not root.exists():
            raise InputError(f"{root}: no such file or folder")
        files = list(_iter_files(root))
    skipped: list[Skipped] = []
    slices: list[_Slice] = []
    with ThreadPoolExecutor(threads or min(8, (os.cpu_count() or 1) + 2)) as pool:
        for n, (path, (ds, why)) in enumerate(zip(files, pool.map(_read_header, files)), 1):
            if progress:
                progress(n, len(files))
            if ds is None:
                skipped.append(Skipped(str(path), why or "unreadable"))
                continue
            try:
                recs, why = _slices_of(path, ds)
            except Exception as exc:  # noqa: BLE001 - a header element that does not parse (pydicom reads lazily)
                recs, why = [], f"invalid header value ({type(exc).__name__}: {str(exc)[:120]})"
            if why:
                skipped.append(Skipped(str(path), why))
            slices.extend(recs)
    groups: dict[tuple, list[_Slice]] = defaultdict(list)
    for s in slices:
        groups[_group_key(s)].append(s)
    series: list[DicomSeries] = []
    for key, members in groups.items():
        for part, notes in _split_duplicates(members):
            series.append(DicomSeries(uid=key[0], slices=part, header=part[0].header, notes=notes))
    series.sort(key=lambda s: (-len(s.slices), s.uid))
    return series, skipped


def _normal(s: _Slice) -> np.ndarray:
    n = np.cross(s.orientation[:3], s.orientation[3:])
    return n / np.linalg.norm(n)


def _split_duplicates(members: list[_Slice]) -> list[tuple[list[_Slice], list[str]]]:
    """Handle slices sharing a position: split by acquisition/temporal index when
    that separates them, otherwise keep one of each position."""
    n = _normal(members[0])
    d = np.round(np.array([float(n @ s.position) for s in members]), 3)
    if len(np.unique(d)) == len(d):
        return [(members, [])]
    for attr in ("temporal", "acquisition"):
        keys = {getattr(s, attr) for s in members}
        if len(keys) > 1:
            parts = [[s for s in members if getattr(s, attr) == k] for k in sorted(keys, key=str)]
            if all(len(np.unique(np.round([n @ s.position for s in p], 3))) == len(p) for p in parts):
                note = f"files sharing slice positions split into {len(parts)} series by {attr} number"
                return [(p, [note]) for p in parts]
    seen: dict[float, _Slice] = {}
    for dist, s in sorted(zip(d, members), key=lambda t: (t[0], t[1].instance)):
        seen.setdefault(float(dist), s)
    kept = list(seen.values())
    note = f"{len(members) - len(kept)} slice(s) at duplicate positions dropped (kept the lowest InstanceNumber)"
    return [(kept, [note])]


# --------------------------------------------------------------------------- gating
def classify_gating(ds: Any) -> tuple[bool | None, str]:
    """ECG-gated or not, from metadata alone, with the reason.

    Evidence in order of strength: CardiacSynchronizationTechnique, a trigger
    time / cardiac R-R interval, words in the series/protocol description,
    and finally a small field of view with ~3 mm slices.
    """
    tech = str(_get(ds, "CardiacSynchronizationTechnique", "") or "").upper()
    if tech and tech != "NONE":
        return True, f"CardiacSynchronizationTechnique is {tech}"
    if tech == "NONE":
        return False, "CardiacSynchronizationTechnique is NONE"
    for tag in ("TriggerTime", "NominalCardiacTriggerDelayTime", "NominalPercentageOfCardiacPhase"):
        v = _get(ds, tag)
        try:
            if v is not None and float(v) > 0:
                return True, f"{tag} = {v}"
        except (TypeError, ValueError):
            pass
    if _get(ds, "CardiacRRIntervalSpecified") or _get(ds, "HeartRate"):
        return True, "cardiac R-R interval / heart rate recorded"
    text = " ".join(str(_get(ds, t, "") or "") for t in ("SeriesDescription", "ProtocolName", "StudyDescription"))
    m_non = _NONGATED_WORDS.search(text)
    m = _GATED_WORDS.search(text)
    if m and not (m_non and "gated" in m_non.group(0).lower()):
        if not m_non or m.start() < m_non.start():
            return True, f"description mentions '{m.group(0)}'"
    if m_non:
        return False, f"description mentions '{m_non.group(0)}'"
    fov = _get(ds, "ReconstructionDiameter")
    thick = _get(ds, "SliceThickness")
    try:
        if fov is not None and float(fov) <= 260 and thick is not None and 2.5 <= float(thick) <= 3.0:
            return True, f"small field of view ({float(fov):.0f} mm) with {float(thick):g} mm slices (heuristic)"
    except (TypeError, ValueError):
        pass
    if fov is not None:
        return False, "no ECG-gating metadata; field of view and description suggest a routine exam"
    return None, "no gating metadata"


# --------------------------------------------------------------------------- reading
def _pixels(s: _Slice) -> np.ndarray:
    import pydicom

    ds = pydicom.dcmread(str(s.path), force=True)
    try:
        arr = ds.pixel_array
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{s.path}: pixel data cannot be decoded ({msg})") from None
    if s.frame is not None:
        arr = arr[s.frame] if arr.ndim == 3 else arr
    if arr.shape != (s.rows, s.cols):
        raise InputError(f"{s.path}: pixel data has shape {arr.shape}, header says {(s.rows, s.cols)}")
    return arr


def _read_stack(slices: list[_Slice], threads: int) -> list[np.ndarray]:
    # group frames of the same file so multi-frame files are decoded once
    by_file: dict[Path, list[int]] = defaultdict(list)
    for idx, s in enumerate(slices):
        by_file[s.path].append(idx)
    out: list[np.ndarray | None] = [None] * len(slices)
    if all(s.frame is None for s in slices):
        with ThreadPoolExecutor(threads) as pool:
            for idx, arr in enumerate(pool.map(_pixels, slices)):
                out[idx] = arr
        return out  # type: ignore[return-value]
    import pydicom

    for path, idxs in by_file.items():
        ds = pydicom.dcmread(str(path), force=True)
        try:
            data = ds.pixel_array
        except Exception as exc:
            raise InputError(f"{path}: pixel data cannot be decoded ({str(exc)[:160]})") from None
        for idx in idxs:
            f = slices[idx].frame
            out[idx] = data[f] if (f is not None and data.ndim == 3) else data
    return out  # type: ignore[return-value]


def _meta_from(series: DicomSeries, extra_notes: list[str]) -> VolumeMeta:
    ds = series.header
    gated, reason = classify_gating(ds)
    kernel = _get(ds, "ConvolutionKernel")
    if kernel is not None and not isinstance(kernel, str):
        kernel = "\\".join(str(k) for k in kernel)

    def num(name: str) -> float | None:
        v = _get(ds, name)
        try:
            return float(v) if v is not None else None
        except (TypeError, ValueError):
            return None

    contrast = "contrast" if _get(ds, "ContrastBolusAgent") or _get(ds, "ContrastBolusRoute") else None
    tilt = num("GantryDetectorTilt")
    return VolumeMeta(
        modality=str(_get(ds, "Modality", "") or "") or None,
        kvp=num("KVP"),
        thickness_mm=num("SliceThickness"),
        kernel=str(kernel) if kernel is not None else None,
        gated=gated,
        gated_reason=reason,
        contrast=contrast,
        description=str(_get(ds, "SeriesDescription", "") or "") or None,
        manufacturer=str(_get(ds, "Manufacturer", "") or "") or None,
        patient_id=str(_get(ds, "PatientID", "") or "") or None,
        study_uid=str(_get(ds, "StudyInstanceUID", "") or "") or None,
        series_uid=series.uid or None,
        frame_of_reference_uid=str(_get(ds, "FrameOfReferenceUID", "") or "") or None,
        series_number=int(_get(ds, "SeriesNumber")) if str(_get(ds, "SeriesNumber", "")).strip().lstrip("-").isdigit() else None,
        source=str(series.folder),
        gantry_tilt_deg=tilt,
        decisions=tuple(series.notes + extra_notes),
        extra={"n_files": series.n_files},
    )


def read_series(
    series: DicomSeries,
    *,
    uneven: str = "resample",
    allow_single_slice: bool = False,
    threads: int | None = None,
) -> Volume:
    """Read the pixels of one :class:`DicomSeries` into a :class:`Volume`.

    Anything else that goes wrong while reading the files (pydicom parses header elements when they are first
    read, so a corrupt one surfaces here rather than at discovery) is one :class:`InputError` naming the
    series' first file.

    Parameters
    ----------
    uneven
        ``"resample"`` (default): gantry tilt, uneven spacing or missing slices
        are resampled onto a regular grid (recorded in ``meta.decisions``);
        ``"refuse"``: raise :class:`InputError` instead.
    allow_single_slice
        A one-slice series is refused unless this is set; its k spacing is then
        taken from SliceThickness (the only case where that tag is used).
    """
    if uneven not in ("resample", "refuse"):
        raise ValueError("uneven must be 'resample' or 'refuse'")
    try:
        return _read_series(series, uneven=uneven, allow_single_slice=allow_single_slice, threads=threads)
    except HounsfieldError:
        raise
    except Exception as exc:  # noqa: BLE001
        first = series.slices[0].path if series.slices else "?"
        raise InputError(f"{first}: the DICOM series cannot be read ({type(exc).__name__}: "
                         f"{str(exc)[:160]})") from None


def _read_series(
    series: DicomSeries,
    *,
    uneven: str = "resample",
    allow_single_slice: bool = False,
    threads: int | None = None,
) -> Volume:
    """The body of :func:`read_series`."""
    slices = series.slices
    if not slices:
        raise InputError("empty series")
    name = series.description or series.uid
    modalities = {str(_get(s.header, "Modality", "")) for s in slices}
    if len(modalities) > 1:
        raise InputError(f"series {name}: mixed modalities {sorted(modalities)} in one series")
    n = _normal(slices[0])
    d = np.array([float(n @ s.position) for s in slices])
    order = np.argsort(d, kind="stable")
    slices = [slices[i] for i in order]
    d = d[order]
    notes: list[str] = []
    if "ImagePositionPatient" not in slices[0].header and slices[0].frame is None:
        notes.append("no ImagePositionPatient/ImageOrientationPatient: identity geometry assumed")
    if len(slices) == 1 and not allow_single_slice:
        raise InputError(
            f"series {name} ({slices[0].path}) has one slice: not a volume (increment cannot be computed)"
        )
    threads = threads or min(8, (os.cpu_count() or 1) + 2)
    raw = _read_stack(slices, threads)
    slope = np.array([s.slope for s in slices])
    inter = np.array([s.intercept for s in slices])
    modality = next(iter(modalities))
    integral = np.allclose(slope, np.rint(slope)) and np.allclose(inter, np.rint(inter))
    # rows are stored reversed (j = nrows - 1 - row, as dcm2niix): the stack is then C-contiguous as
    # (k, j, i) and its transpose, the (i, j, k) volume, is Fortran-contiguous - NIfTI's own byte order
    stack = np.empty((len(slices), slices[0].rows, slices[0].cols), np.float32 if not integral else np.int32)
    for idx, arr in enumerate(raw):
        if slope[idx] == 1 and inter[idx] == 0:
            stack[idx] = arr[::-1]
        else:
            stack[idx] = arr[::-1].astype(np.float64) * slope[idx] + inter[idx]
    if not integral and modality == "CT":
        stack = np.rint(stack).astype(np.int32)
        notes.append("non-integer rescale slope/intercept: CT values rounded to integer HU")
    if stack.dtype == np.int32:
        lo, hi = int(stack.min()), int(stack.max())
        if lo < -32768 or hi > 32767:
            if modality == "CT":
                notes.append(f"HU outside int16 range ({lo}..{hi}) clipped")
                stack = np.clip(stack, -32768, 32767)
            else:
                stack = stack.astype(np.float32)
        if stack.dtype == np.int32:
            stack = stack.astype(np.int16)
    s0 = slices[0]
    r = s0.orientation[:3] / np.linalg.norm(s0.orientation[:3])
    c = s0.orientation[3:] / np.linalg.norm(s0.orientation[3:])
    dy, dx = s0.spacing  # between rows (along c), between columns (along r)
    pos = np.array([s.position for s in slices])

    if len(slices) == 1:
        inc = float(_get(s0.header, "SliceThickness", 1.0) or 1.0)
        notes.append(f"single slice: k spacing taken from SliceThickness ({inc:g} mm)")
        vol_stack, origin, dk, increment = stack, pos[0], inc, None
    else:
        steps = np.diff(d)
        if np.any(steps < 1e-3):
            raise InputError(f"series {name}: slices at duplicate positions could not be resolved")
        offsets = pos - pos[0] - np.outer(d - d[0], n)  # in-plane drift of slice origins
        drift = np.linalg.norm(offsets[-1]) / max(d[-1] - d[0], 1e-9)
        tilt_deg = float(np.degrees(np.arctan(drift)))
        even = (steps.max() - steps.min()) <= max(0.01, 0.01 * steps.min())
        tilted = np.abs(offsets).max() > 0.01 * min(dx, dy) + 1e-3
        if even and not tilted:
            vol_stack, origin, dk, increment = stack, pos[0], float(np.mean(steps)), float(np.mean(steps))
        else:
            problems = []
            if tilted:
                problems.append(f"gantry tilt {tilt_deg:.1f} deg")
            if not even:
                kind = "missing slices" if _looks_like_gaps(steps) else "uneven slice spacing"
                problems.append(f"{kind} ({steps.min():.2f}-{steps.max():.2f} mm along the normal)")
            if uneven == "refuse":
                raise InputError(f"series {name}: {', '.join(problems)}; refused (use uneven='resample' to resample)")
            dk = float(steps.min()) if not even else float(np.mean(steps))
            rows_first, origin = _resample_stack(stack[:, ::-1, :], d, offsets, r, c, n, dx, dy, dk, pos[0])
            vol_stack = np.ascontiguousarray(rows_first[:, ::-1, :])
            increment = dk
            notes.append(
                f"{' and '.join(problems)}: resampled (linear) onto an orthogonal grid aligned with the slice "
                f"plane, {dk:.3f} mm along the normal, {vol_stack.shape[0]} slices (as dcm2niix _Tilt/_Eq)"
            )
    # stack[k, j (= reversed row), col] -> array[i = col, j, k]
    nrows = vol_stack.shape[1]
    arr = np.transpose(vol_stack, (2, 1, 0))
    lps = np.eye(4)
    lps[:3, 0] = r * dx
    lps[:3, 1] = -c * dy
    lps[:3, 2] = n * dk
    lps[:3, 3] = origin + c * dy * (nrows - 1)
    meta = _meta_from(series, notes).replace(increment_mm=increment)
    if vol_stack is stack and all(s.frame is None for s in slices):
        # the voxel grid is the files' own grid: k-th slice = k-th file (used to reference the
        # source images from DICOM SEG/SR results)
        meta.extra["source_files"] = [str(s.path) for s in slices]
        meta.extra["sop_instance_uids"] = [str(_get(s.header, "SOPInstanceUID", "")) for s in slices]
    return Volume(arr, LPS_TO_RAS @ lps, meta)


def _looks_like_gaps(steps: np.ndarray) -> bool:
    base = float(np.median(steps))
    ratio = steps / base
    return bool(np.all(np.abs(ratio - np.rint(ratio)) < 0.05) and ratio.max() >= 1.9)


def _resample_stack(
    stack: np.ndarray, d: np.ndarray, offsets: np.ndarray, r: np.ndarray, c: np.ndarray, n: np.ndarray,
    dx: float, dy: float, dk: float, p0: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Resample tilted and/or unevenly spaced planes onto a regular grid.

    Slice ``s`` is a plane at normal distance ``d[s]`` whose origin is shifted
    in-plane by ``offsets[s]`` (mm). The output grid is aligned with the plane
    (axes r, c, n), covers every input slice's footprint, and is interpolated
    linearly: in-plane at each neighbouring slice, then between the two.
    """
    from scipy import ndimage

    a = offsets @ r / dx  # column offset (pixels) of each slice's origin
    b = offsets @ c / dy  # row offset
    amin, amax, bmin, bmax = a.min(), a.max(), b.min(), b.max()
    ns, nr, nc = stack.shape
    out_nc = nc + int(np.ceil(amax - amin - 1e-6))
    out_nr = nr + int(np.ceil(bmax - bmin - 1e-6))
    out_nk = int(np.floor((d[-1] - d[0]) / dk + 1e-6)) + 1
    fill = float(stack.min())
    out = np.empty((out_nk, out_nr, out_nc), dtype=stack.dtype)
    work = stack.astype(np.float32)
    jj, ii = np.mgrid[0:out_nr, 0:out_nc].astype(np.float32)
    for k in range(out_nk):
        dist = d[0] + k * dk
        t = float(np.interp(dist, d, np.arange(ns)))
        s = min(int(np.floor(t)), ns - 2)
        f = t - s
        acc = np.zeros((out_nr, out_nc), np.float32)
        for ss, w in ((s, 1.0 - f), (s + 1, f)):
            if w <= 1e-6:
                continue
            coords = np.array([jj + (bmin - b[ss]), ii + (amin - a[ss])])
            acc += w * ndimage.map_coordinates(work[ss], coords, order=1, mode="constant", cval=fill)
        out[k] = np.rint(acc) if np.issubdtype(stack.dtype, np.integer) else acc
    origin = p0 + amin * dx * r + bmin * dy * c
    return out, origin


def read_dicom(
    path: str | os.PathLike, *, uneven: str = "resample", allow_single_slice: bool = False
) -> list[Volume]:
    """Every readable series under ``path``, largest first. Raises if there is none."""
    series, skipped = discover(path)
    if not series:
        why = f" ({len(skipped)} file(s) skipped: {skipped[0].reason})" if skipped else " (no files)"
        raise InputError(f"{path}: no DICOM image series found{why}")
    return [read_series(s, uneven=uneven, allow_single_slice=allow_single_slice) for s in series]


def read_dicom_volume(
    path: str | os.PathLike, *, uneven: str = "resample", allow_single_slice: bool = False
) -> Volume:
    """The one series under ``path``; with several, the one with most slices
    (recorded in the decisions)."""
    series, skipped = discover(path)
    if not series:
        why = f" ({len(skipped)} file(s) skipped: {skipped[0].reason})" if skipped else " (no files)"
        raise InputError(f"{path}: no DICOM image series found{why}")
    vol = read_series(series[0], uneven=uneven, allow_single_slice=allow_single_slice)
    if len(series) > 1:
        vol = vol.add_decision(
            f"{len(series)} series found; read the largest ({len(series[0].slices)} slices, "
            f"'{series[0].description}'); convert the folder to get all of them"
        )
    return vol
