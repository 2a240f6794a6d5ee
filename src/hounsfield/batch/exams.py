"""Finding the exams under a cohort root.

An exam is one image to analyse:

* a folder whose files include DICOM images (any names), or files named like
  DICOM files (``*.dcm``, ``*.ima`` or no extension) even when they are broken -
  one exam per folder (series inside it are told apart by the reader);
* an image file (``.nii``, ``.nii.gz``, ``.nrrd``, ``.mha``) that is not a mask
  or label map (names containing ``mask``, ``seg``, ``label``, ``msk``,
  ``truth`` or ``_ctd`` are skipped);
* the gated/non-gated patient layout: a folder holding ``gated.nii.gz`` /
  ``non_gated.nii.gz`` (or ``<patient>_gated.nii.gz``...) or ``G*.dcm`` /
  ``SG*.dcm`` files gives the exams ``<patient>/gated`` and
  ``<patient>/non_gated``; the other files in that folder are not exams.

Exam ids are paths relative to the root (POSIX style), stable between runs.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..io.dicom import has_dicom_marker

__all__ = ["Exam", "find_exams"]

_IMAGE = re.compile(r"\.(nii|nii\.gz|nrrd|mha|mhd)$", re.IGNORECASE)
_MASKY = re.compile(r"(mask|seg|label|msk|truth|_ctd|heatmap)", re.IGNORECASE)
_PAIR_NIFTI = re.compile(r"^(?:(?P<pid>.+?)_)?(?P<kind>non_gated|(?<!non_)gated)\.(nii|nii\.gz)$", re.IGNORECASE)
_NOT_DICOM = re.compile(r"\.(txt|json|csv|tsv|md|html?|png|jpe?g|pdf|xml|npz|npy|py|log|sqlite|parquet|zip|gz)$",
                        re.IGNORECASE)
#: a file named like a DICOM file (or with no extension) makes its folder an exam even when it is broken
_DICOM_NAME = re.compile(r"(\.dcm|\.ima|^[^.]+)$", re.IGNORECASE)
_G = re.compile(r"^G\d*\.dcm$", re.IGNORECASE)
_SG = re.compile(r"^SG\d*\.dcm$", re.IGNORECASE)


@dataclass(frozen=True)
class Exam:
    """One unit of work: ``id`` (stable, relative to the root), ``path`` and,
    for DICOM pairs in one folder, the file-name ``prefix`` that selects the exam."""

    id: str
    path: str
    kind: str  # "dicom", "image", "gated", "non_gated"
    prefix: str | None = None


def find_exams(root: str | os.PathLike) -> list[Exam]:
    """Every exam under ``root`` (a folder, or one file), sorted by id."""
    root = Path(root)
    if root.is_file():
        return [Exam(root.name, str(root), "image" if _IMAGE.search(root.name) else "dicom")]
    exams: list[Exam] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        here = Path(dirpath)
        rel = here.relative_to(root).as_posix()
        rel = "" if rel == "." else rel
        names = sorted(f for f in filenames if not f.startswith("."))
        pair = [n for n in names if _PAIR_NIFTI.match(n)]
        g = [n for n in names if _G.match(n)]
        sg = [n for n in names if _SG.match(n)]
        if pair or g or sg:
            for n in pair:
                kind = _PAIR_NIFTI.match(n).group("kind").lower()  # type: ignore[union-attr]
                exams.append(Exam(f"{rel}/{kind}".lstrip("/"), str(here / n), kind))
            if g:
                exams.append(Exam(f"{rel}/gated".lstrip("/"), str(here), "gated", prefix="G"))
            if sg:
                exams.append(Exam(f"{rel}/non_gated".lstrip("/"), str(here), "non_gated", prefix="SG"))
            continue
        images = [n for n in names if _IMAGE.search(n) and not _MASKY.search(n)]
        for n in images:
            exams.append(Exam(f"{rel}/{n}".lstrip("/"), str(here / n), "image"))
        others = [n for n in names if not _IMAGE.search(n) and n.upper() != "DICOMDIR" and not _NOT_DICOM.search(n)]
        if others and (any(_DICOM_NAME.search(n) for n in others) or any(has_dicom_marker(here / n) for n in others[:20])):
            exams.append(Exam(rel or root.name, str(here), "dicom"))
    exams.sort(key=lambda e: e.id)
    return exams
