"""``hounsfield screen``: every analysis that applies to one exam, one folder of results.

What applies is decided from the input itself: a head CTA + NCCT pair goes to
``clot``; a radiograph (CR/DX DICOM, PNG, JPEG) to ``cxr``; a CT volume to
calcium scoring, T12/L3 levels with body composition, and vertebrae, each of
which says itself when its anatomy is not in view ("not analysed" with the
reason, never a guess). Outputs: ``results.json``, NIfTI masks, PNG overlays,
``report.html`` (self-contained), DICOM SEG/SR when the input was DICOM, and
``run_manifest.json``.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..errors import HounsfieldError, InputError
from .section import DONE, FAILED, NOT_ANALYSED, Section

__all__ = ["ScreenResult", "screen", "detect_input_kind"]

_RADIOGRAPH_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass
class ScreenResult:
    exam: str
    input: str
    kind: str
    outdir: Path
    sections: list[Section] = field(default_factory=list)
    volume_info: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "exam": self.exam, "input": self.input, "kind": self.kind, "hounsfield": __version__,
            "volume": self.volume_info, "seconds": round(self.seconds, 3),
            "analyses": {s.name: s.to_dict() for s in self.sections},
            "models": _models_used(self.sections),
            "files": self.files,
        }

    def flat(self) -> dict[str, Any]:
        """One flat row of scalars for cohort tables (``results.csv``): each section's status and
        its scalar values (the adapters name them uniquely: ``agatston``, ``L3_slice``...)."""
        row: dict[str, Any] = {"kind": self.kind}
        for s in self.sections:
            row[f"{s.name}_status"] = s.status
            for k, v in s.values.items():
                if isinstance(v, (int, float, str, bool)) or v is None:
                    row[k] = v
        return row


def _models_used(sections: list[Section]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for s in sections:
        for m in s.models:
            key = m.get("name")
            if key not in seen:
                seen.add(key)
                out.append(m)
    return out


def detect_input_kind(path: Path) -> str:
    """``"clot-pair"``, ``"radiograph"`` or ``"ct"``."""
    if path.is_dir():
        names = {p.name.lower() for p in path.iterdir()}
        if any(n.startswith("cta.") for n in names) and any(n.startswith("ncct.") for n in names):
            return "clot-pair"
    if path.is_file() and path.name.lower().endswith(_RADIOGRAPH_SUFFIXES):
        return "radiograph"
    if path.is_file() and not path.name.lower().endswith((".nii", ".nii.gz", ".nrrd", ".mha", ".mhd")):
        try:
            import pydicom

            ds = pydicom.dcmread(str(path), stop_before_pixels=True)
            if str(getattr(ds, "Modality", "")).upper() in ("CR", "DX", "DR"):
                return "radiograph"
        except Exception:  # not DICOM: the CT reader will say so
            pass
    return "ct"


def _run(fn: Callable[..., Section], *args: Any, **kwargs: Any) -> Section:
    t0 = time.perf_counter()
    try:
        sec = fn(*args, **kwargs)
    except HounsfieldError as exc:
        sec = Section(name=getattr(fn, "section_name", fn.__name__), title=getattr(fn, "section_title", fn.__name__),
                      status=NOT_ANALYSED, reason=str(exc).strip().splitlines()[0])
    except Exception as exc:  # one analysis failing must not lose the others
        sec = Section(name=getattr(fn, "section_name", fn.__name__), title=getattr(fn, "section_title", fn.__name__),
                      status=FAILED, reason=f"internal error {type(exc).__name__}: {str(exc)[:200]}")
    sec.seconds = time.perf_counter() - t0
    return sec


#: vertebral levels both the levels model and the vertebra detector report, and how far apart (mm) their heights
#: may lie before the report says they disagree (less than a vertebra's height, 25-35 mm)
CROSS_CHECK_LEVELS = ("T12", "L3")
CROSS_CHECK_MM = 20.0


def cross_check_levels(sections: list[Section]) -> None:
    """Two independent methods name T12 and L3: the levels model (MIPs) and the vertebra detector. Where both ran
    and they disagree, whether the level is in the field of view or where it is (more than
    :data:`CROSS_CHECK_MM` apart), both sections get the same warning; neither answer is changed. The levels that
    disagree also go into the vertebrae section's ``levels_cross_check`` value (comma-separated, ``""`` when
    they agree), a column of a cohort's ``results.csv``.

    >>> lev = Section("levels", "", values={"T12_slice": None, "T12_z_mm": None, "T12_confidence": 0.997,
    ...                                     "L3_slice": 40, "L3_z_mm": 300.0})
    >>> ver = Section("vertebrae", "", values={"vertebrae": [{"label": "T12", "centroid_mm": [0, 0, 617.0]},
    ...                                                      {"label": "L3", "centroid_mm": [0, 0, 304.0]}]})
    >>> cross_check_levels([lev, ver])
    >>> ver.warnings == lev.warnings, ver.values["levels_cross_check"]
    (True, 'T12')
    >>> print(ver.warnings[0])
    T12: the vertebra detector labels it at z = 617.0 mm, the levels model finds it outside the field of view (p = 1.00); at least one of them is wrong, check the images
    """
    by = {s.name: s for s in sections}
    lev, ver = by.get("levels"), by.get("vertebrae")
    if lev is None or ver is None or lev.status != DONE or ver.status != DONE:
        return
    cents = {v["label"]: float(v["centroid_mm"][2]) for v in ver.values.get("vertebrae", [])}
    disagree = []
    for name in CROSS_CHECK_LEVELS:
        if name not in cents or f"{name}_slice" not in lev.values:
            continue
        zv, zl = cents[name], lev.values.get(f"{name}_z_mm")
        if lev.values[f"{name}_slice"] is None:
            p = lev.values.get(f"{name}_confidence")
            msg = (f"{name}: the vertebra detector labels it at z = {zv:.1f} mm, the levels model finds it outside "
                   f"the field of view" + (f" (p = {p:.2f})" if p is not None else ""))
        elif zl is not None and abs(zl - zv) > CROSS_CHECK_MM:
            msg = (f"{name}: the levels model puts it at z = {zl:.1f} mm, the vertebra detector at z = {zv:.1f} mm "
                   f"({abs(zl - zv):.0f} mm apart)")
        else:
            continue
        msg += "; at least one of them is wrong, check the images"
        for sec in (lev, ver):
            sec.warnings.append(msg)
        disagree.append(name)
    ver.values["levels_cross_check"] = ",".join(disagree)


def screen(
    input: str | os.PathLike,
    outdir: str | os.PathLike,
    *,
    models_dir: str | os.PathLike | None = None,
    exam_id: str | None = None,
    dicom_outputs: bool = True,
    report: bool = True,
) -> ScreenResult:
    """Run every analysis that applies to ``input`` and write the results to ``outdir``."""
    from . import analyses

    src, out = Path(input), Path(outdir)
    if not src.exists():
        raise InputError(f"{src}: no such file or folder")
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    kind = detect_input_kind(src)
    res = ScreenResult(exam=exam_id or src.name, input=str(src), kind=kind, outdir=out)
    if kind == "clot-pair":
        res.sections.append(_run(analyses.clot, src, models_dir=models_dir))
    elif kind == "radiograph":
        res.sections.append(_run(analyses.cxr, src, models_dir=models_dir))
    else:
        from ..io import read, require_ct

        volume = read(src)
        require_ct(volume, "screening")
        res.volume_info = {
            "shape": list(volume.shape), "spacing_mm": [round(s, 4) for s in volume.spacing],
            "orientation": volume.orientation, "modality": volume.meta.modality, "kvp": volume.meta.kvp,
            "increment_mm": volume.meta.increment_mm, "thickness_mm": volume.meta.thickness_mm,
            "gated": volume.meta.gated, "gated_reason": volume.meta.gated_reason,
            "description": volume.meta.description, "decisions": list(volume.meta.decisions),
        }
        for fn in (analyses.calcium, analyses.levels, analyses.vertebrae):
            res.sections.append(_run(fn, volume, models_dir=models_dir, dicom_outputs=dicom_outputs))
        cross_check_levels(res.sections)
    _write_outputs(res, out, report=report)
    res.seconds = time.perf_counter() - t0
    from ..io.sidecar import write_json

    write_json(res.to_dict(), out / "results.json")
    write_json({"command": "screen", "input": str(src), "versions": {"hounsfield": __version__,
                "python": platform.python_version()}, "models": _models_used(res.sections),
                "timings_s": {s.name: round(s.seconds, 3) for s in res.sections} | {"total": round(res.seconds, 3)},
                "device": "cpu"}, out / "run_manifest.json")
    return res


def _write_outputs(res: ScreenResult, out: Path, report: bool) -> None:
    from ..io import write_nifti

    for s in res.sections:
        for name, png in s.figures.items():
            (out / f"{name}.png").write_bytes(png)
            res.files.append(f"{name}.png")
        for name, obj in s.masks.items():
            if isinstance(obj, bytes):  # a DICOM SEG/SR object, already encoded
                tmp = out / f"{name}.part"
                tmp.write_bytes(obj)
                os.replace(tmp, out / name)
            else:
                write_nifti(obj, out / name)
            res.files.append(name)
    if report:
        from ..report.exam import write_exam_html

        write_exam_html(res, out / "report.html")
        res.files.append("report.html")
