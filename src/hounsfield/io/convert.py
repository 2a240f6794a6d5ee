"""``hounsfield convert``: DICOM (or any readable image) to NIfTI + JSON sidecar.

Two layouts:

* ``series`` (default): every series under INPUT becomes
  ``OUTPUT/<patient>_<series number>_<description>.nii.gz`` (+ ``.json``).
* ``gated-pairs``: INPUT is a root of patient folders (the calcium-scoring
  studies' layout): files ``G*.dcm`` are the gated exam and ``SG*.dcm`` the
  non-gated exam, written as ``OUTPUT/<patient>/<patient>_gated.nii.gz`` and
  ``<patient>_non_gated.nii.gz``. Without such prefixes the series are assigned
  by the gating classification of their metadata.

One unreadable file or series is reported and skipped; it never stops the rest.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import HounsfieldError, InputError
from .dicom import DicomSeries, Skipped, discover, read_series
from .nifti import write_nifti
from .readers import is_image_file, read

__all__ = ["ConvertReport", "convert", "series_filename"]

_G = re.compile(r"^G[^/]*$", re.IGNORECASE)
_SG = re.compile(r"^SG[^/]*$", re.IGNORECASE)


@dataclass
class ConvertReport:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def _clean(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", text).strip("_")[:60]


def series_filename(series: DicomSeries) -> str:
    h = series.header
    parts = [
        _clean(str(getattr(h, "PatientID", "") or "")) or "anon",
        str(getattr(h, "SeriesNumber", "") or "0"),
        _clean(series.description) or series.modality or "series",
    ]
    return "_".join(p for p in parts if p)


def _write(vol, path: Path, report: ConvertReport) -> None:
    write_nifti(vol, path, sidecar=True)
    report.written.append(path)


def convert(
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    layout: str = "series",
    uneven: str = "resample",
    allow_single_slice: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> ConvertReport:
    """Convert INPUT to NIfTI under OUTPUT; see the module docstring."""
    src, out = Path(input), Path(output)
    if not src.exists():
        raise InputError(f"{src}: no such file or folder")
    report = ConvertReport()
    if src.is_file() and is_image_file(src):
        target = out if out.name.endswith((".nii", ".nii.gz")) else out / (re.sub(r"\.(nii\.gz|nii|nrrd|nhdr|mha|mhd)$", "", src.name) + ".nii.gz")
        _write(read(src), target, report)
        return report
    if layout == "gated-pairs":
        return _convert_pairs(src, out, report, uneven, allow_single_slice, progress)
    if layout != "series":
        raise InputError(f"unknown layout '{layout}' (use 'series' or 'gated-pairs')")
    series, skipped = discover(src, progress=(lambda i, n: progress("reading headers", i, n)) if progress else None)
    report.skipped.extend(skipped)
    if not series:
        why = f": {skipped[0].reason} ({len(skipped)} file(s))" if skipped else ": no files"
        raise InputError(f"{src}: no DICOM image series found{why}")
    used: set[str] = set()
    for n, s in enumerate(series, 1):
        name = series_filename(s)
        base, i = name, 2
        while name in used:
            name, i = f"{base}_{i}", i + 1
        used.add(name)
        try:
            vol = read_series(s, uneven=uneven, allow_single_slice=allow_single_slice)
            _write(vol, out / f"{name}.nii.gz", report)
        except HounsfieldError as exc:
            report.failed.append((f"series {name} ({s.folder})", str(exc)))
        if progress:
            progress("converting series", n, len(series))
    return report


def _pick(series: list[DicomSeries]) -> DicomSeries | None:
    return max(series, key=lambda s: len(s.slices)) if series else None


def _convert_pairs(
    root: Path, out: Path, report: ConvertReport, uneven: str, allow_single_slice: bool,
    progress: Callable[[str, int, int], None] | None,
) -> ConvertReport:
    patients = sorted(p for p in root.iterdir() if p.is_dir())
    if not patients:
        raise InputError(f"{root}: no patient folders (gated-pairs layout expects ROOT/<patient>/G*.dcm, SG*.dcm)")
    for n, pdir in enumerate(patients, 1):
        pid = pdir.name
        try:
            files = sorted(f for f in pdir.rglob("*") if f.is_file())
            g = [f for f in files if _G.match(f.name)]
            sg = [f for f in files if _SG.match(f.name)]
            chosen: dict[str, DicomSeries | None] = {}
            if g or sg:
                for kind, group in (("gated", g), ("non_gated", sg)):
                    if group:
                        series, skipped = discover(group)
                        report.skipped.extend(skipped)
                        chosen[kind] = _pick(series)
                    else:
                        chosen[kind] = None
            else:
                series, skipped = discover(pdir)
                report.skipped.extend(skipped)
                from .dicom import classify_gating

                labelled = [(classify_gating(s.header)[0], s) for s in series]
                chosen["gated"] = _pick([s for gated, s in labelled if gated])
                chosen["non_gated"] = _pick([s for gated, s in labelled if not gated])
            for kind, s in chosen.items():
                if s is None:
                    report.failed.append((f"{pid} {kind}", f"patient {pid}: no {kind.replace('_', '-')} series found"))
                    continue
                try:
                    vol = read_series(s, uneven=uneven, allow_single_slice=allow_single_slice)
                    _write(vol, out / pid / f"{pid}_{kind}.nii.gz", report)
                except HounsfieldError as exc:
                    report.failed.append((f"{pid} {kind}", str(exc)))
        except HounsfieldError as exc:
            report.failed.append((pid, str(exc)))
        if progress:
            progress("converting patients", n, len(patients))
    return report
