"""TotalSegmentator masks: read them from disk, or run the optional package.

Label numbers of its multilabel output (v2, task ``total``): 26-50 vertebrae
(S1 .. C1), 51 heart, 52 aorta, 92-115 ribs, 116 sternum, 117 costal
cartilages. Single-structure files are named after the structure
(``heart.nii.gz``, ``aorta.nii.gz``, ``vertebrae_T7.nii.gz``,
``rib_left_3.nii.gz``, ``sternum.nii.gz``, ``costal_cartilages.nii.gz``).
Masks are aligned to an image through their affines, never by shape.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, MissingDependencyError
from ..volume import Volume

__all__ = ["TOTALSEG_V2", "AnatomyMasks", "read_totalseg_masks", "run_totalsegmentator"]

#: TotalSegmentator v2 label numbers used here
TOTALSEG_V2: dict[str, tuple[int, ...]] = {
    "heart": (51,),
    "aorta": (52,),
    "vertebrae": tuple(range(26, 51)),
    "ribs": tuple(range(92, 116)),
    "sternum": (116,),
    "costal_cartilages": (117,),
}
BONE_PARTS = ("vertebrae", "ribs", "sternum", "costal_cartilages")


@dataclass(frozen=True)
class AnatomyMasks:
    """Binary masks (uint8 Volumes, each on its own grid); ``None`` when not available."""

    heart: Volume | None
    aorta: Volume | None
    bone: Volume | None
    source: str


def _read(path: Path) -> Volume:
    from ..io import read

    return read(path)


def _union(vols: list[Volume]) -> Volume | None:
    if not vols:
        return None
    ref = vols[0]
    acc = ref.array > 0
    for v in vols[1:]:
        same = v.shape == ref.shape and np.allclose(v.affine, ref.affine, atol=1e-4)
        acc |= (v.array if same else v.resample_like(ref, order=0).array) > 0
    return Volume(acc.astype(np.uint8), ref.affine)


def _from_multilabel(v: Volume, source: str) -> AnatomyMasks:
    lab = v.array

    def pick(names: tuple[str, ...]) -> Volume | None:
        values = [x for n in names for x in TOTALSEG_V2[n]]
        m = np.isin(lab, values)
        return Volume(m.astype(np.uint8), v.affine) if m.any() else None

    return AnatomyMasks(pick(("heart",)), pick(("aorta",)), pick(BONE_PARTS), source)


def read_totalseg_masks(path: str | os.PathLike) -> AnatomyMasks:
    """Read TotalSegmentator output: a folder of per-structure files or one multilabel file.

    In a folder, ``heart.nii.gz`` is used when present, otherwise every
    ``heart*.nii*`` file (e.g. ``heart_totalseg.nii.gz`` or the chambers of the
    ``heartchambers`` task, united). A multilabel file (``*.nii.gz`` with values
    above 1, e.g. ``totalseg.nii.gz``) inside the folder is used when there are
    no per-structure files.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such mask file or folder")
    if p.is_file():
        return _from_multilabel(_read(p), str(p))

    def find(stem: str, exact_first: bool = True) -> list[Path]:
        exact = [p / f"{stem}.nii.gz", p / f"{stem}.nii"]
        hit = [q for q in exact if q.exists()] if exact_first else []
        return hit or sorted(q for q in p.glob(f"{stem}*.nii*") if q.is_file())

    heart_files = find("heart")
    aorta_files = find("aorta")
    bone_files = [q for stem in ("vertebrae_", "rib_", "sternum", "costal_cartilages") for q in find(stem, False)]
    if not (heart_files or aorta_files or bone_files):
        multi = [q for q in sorted(p.glob("*.nii*")) if q.is_file()]
        for q in multi:
            v = _read(q)
            if np.issubdtype(v.array.dtype, np.integer) and int(v.array.max()) > 1:
                return _from_multilabel(v, str(q))
        raise InputError(f"{p}: no TotalSegmentator masks (heart.nii.gz, aorta.nii.gz, vertebrae_*, rib_*, "
                         "sternum.nii.gz or a multilabel file)")
    return AnatomyMasks(
        heart=_union([_read(q) for q in heart_files]),
        aorta=_union([_read(q) for q in aorta_files]),
        bone=_union([_read(q) for q in bone_files]),
        source=str(p),
    )


def _weights_present() -> bool:
    home = os.environ.get("TOTALSEG_HOME_DIR") or str(Path.home() / ".totalsegmentator")
    results = Path(home) / "nnunet" / "results"
    return results.is_dir() and any(results.iterdir())


def run_totalsegmentator(volume: Volume, workdir: str | os.PathLike) -> AnatomyMasks:
    """Run TotalSegmentator (``--fast``, heart, aorta and bones) if installed *with its weights*.

    Never downloads: without the package or its weights this raises
    :class:`~hounsfield.errors.MissingDependencyError` with what to install.
    """
    if importlib.util.find_spec("totalsegmentator") is None:
        raise MissingDependencyError(
            "--segmenter totalsegmentator needs the optional package TotalSegmentator: "
            'pip install "hounsfield[totalsegmentator]" and download its weights once with '
            "'totalseg_download_weights -t total_fast'; or pass its masks with --masks DIR, "
            "or use --segmenter builtin")
    if not _weights_present():
        raise MissingDependencyError(
            "TotalSegmentator is installed but its weights are not (hounsfield never downloads at run time): "
            "run 'totalseg_download_weights -t total_fast' once, or use --masks DIR / --segmenter builtin")
    from totalsegmentator.python_api import totalsegmentator  # pragma: no cover - optional

    from ..io import write_nifti  # pragma: no cover

    work = Path(workdir)  # pragma: no cover
    work.mkdir(parents=True, exist_ok=True)  # pragma: no cover
    src = write_nifti(volume, work / "input.nii.gz")  # pragma: no cover
    out = work / "totalseg"  # pragma: no cover
    totalsegmentator(str(src), str(out), fast=True, quiet=True)  # pragma: no cover
    return read_totalseg_masks(out)  # pragma: no cover
