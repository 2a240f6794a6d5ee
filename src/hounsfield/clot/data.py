"""Clot data sets on disk: three layouts, one case list, patient-level splits.

Layouts (detected by :func:`detect_layout`)
-------------------------------------------
``folders``
    what ``hounsfield phantom head`` writes: ``<root>/<case>/cta.nii.gz``,
    ``ncct.nii.gz`` and (optionally) ``clot.nii.gz``.
``published`` (CT-ClotSeg)
    ``DL_vol_files/binary/CS<N>_CTA_Binary.npy``, ``CS<N>_NCCT_Reg_Binary.npy``
    and masks ``DL_seg_files/binary/CS<N>_seg_corrected_binary.npy``. The
    ``.npy`` files carry no geometry: the affine comes from
    ``DL_vol_files/binary/geometry.json`` (written by :func:`write_published`)
    or else from the ``spacing`` argument (isotropic 1 mm by default), and
    the slice axis is the last array axis (``[i, j, k]``, as everywhere in
    hounsfield). The NCCT is expected already registered to the CTA ("Reg").
``nnunet``
    ``imagesTr/<CASE>_0000.nii.gz`` (CTA), ``<CASE>_0001.nii.gz`` (NCCT),
    ``labelsTr/<CASE>.nii.gz`` and ``dataset.json`` (nnU-Net v2 format).

Splits are by patient (60/20/20 by default), written to ``splits.json`` and
reused on later runs (:func:`load_or_make_splits`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..errors import InputError
from ..volume import Volume, VolumeMeta

__all__ = [
    "CaseRef", "ClotCase", "detect_layout", "find_cases", "load_case", "make_splits", "load_or_make_splits",
    "write_published", "write_nnunet", "write_folders",
]

_PUB_VOL = Path("DL_vol_files") / "binary"
_PUB_SEG = Path("DL_seg_files") / "binary"


@dataclass(frozen=True)
class CaseRef:
    """Where one patient's files are (paths may be ``None`` when absent)."""

    case_id: str
    layout: str
    cta: Path | None
    ncct: Path | None
    mask: Path | None


@dataclass(frozen=True)
class ClotCase:
    """One loaded patient: CTA, NCCT (either may be ``None``) and the clot mask if annotated."""

    case_id: str
    cta: Volume | None
    ncct: Volume | None
    mask: Volume | None


def detect_layout(root: str | Path) -> str:
    """``'published'``, ``'nnunet'`` or ``'folders'``; :class:`InputError` when none fits."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    if (root / _PUB_VOL).is_dir():
        return "published"
    if (root / "imagesTr").is_dir() or (root / "dataset.json").exists():
        return "nnunet"
    if any((d / "cta.nii.gz").exists() or (d / "ncct.nii.gz").exists() for d in root.iterdir() if d.is_dir()):
        return "folders"
    raise InputError(f"{root}: no clot data set found (expected <case>/cta.nii.gz folders, DL_vol_files/binary/ "
                     "(CT-ClotSeg) or imagesTr/ + dataset.json (nnU-Net))")


def _natural(s: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def find_cases(root: str | Path, layout: str | None = None) -> list[CaseRef]:
    """Every case under ``root`` in natural order (``CS2`` before ``CS10``)."""
    root = Path(root)
    layout = layout or detect_layout(root)
    refs: list[CaseRef] = []

    def opt(p: Path) -> Path | None:
        return p if p.exists() else None

    if layout == "published":
        for f in (root / _PUB_VOL).glob("*_CTA_Binary.npy"):
            cid = f.name[: -len("_CTA_Binary.npy")]
            refs.append(CaseRef(cid, layout, f, opt(root / _PUB_VOL / f"{cid}_NCCT_Reg_Binary.npy"),
                                opt(root / _PUB_SEG / f"{cid}_seg_corrected_binary.npy")))
    elif layout == "nnunet":
        for f in (root / "imagesTr").glob("*_0000.nii.gz"):
            cid = f.name[: -len("_0000.nii.gz")]
            refs.append(CaseRef(cid, layout, f, opt(root / "imagesTr" / f"{cid}_0001.nii.gz"),
                                opt(root / "labelsTr" / f"{cid}.nii.gz")))
    elif layout == "folders":
        for d in root.iterdir():
            if d.is_dir() and ((d / "cta.nii.gz").exists() or (d / "ncct.nii.gz").exists()):
                refs.append(CaseRef(d.name, layout, opt(d / "cta.nii.gz"), opt(d / "ncct.nii.gz"), opt(d / "clot.nii.gz")))
    else:
        raise InputError(f"unknown clot data layout '{layout}' (published, nnunet or folders)")
    if not refs:
        raise InputError(f"{root}: no cases found in the {layout} layout")
    return sorted(refs, key=lambda r: _natural(r.case_id))


def _published_affine(root: Path, case_id: str, spacing: tuple[float, float, float]) -> np.ndarray:
    geo = root / _PUB_VOL / "geometry.json"
    if geo.exists():
        table = json.loads(geo.read_text())
        if case_id in table:
            return np.asarray(table[case_id], dtype=np.float64)
    return np.diag([*spacing, 1.0])


def load_case(ref: CaseRef, spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> ClotCase:
    """Read one case. ``spacing`` is used for ``.npy`` files without a geometry sidecar."""
    from ..io import read

    if ref.layout == "published":
        root = ref.cta.parents[2] if ref.cta else ref.ncct.parents[2]  # type: ignore[union-attr]
        aff = _published_affine(root, ref.case_id, spacing)

        def npy(p: Path | None, desc: str, dtype: Any) -> Volume | None:
            if p is None:
                return None
            arr = np.load(p, allow_pickle=False)
            if arr.ndim != 3:
                raise InputError(f"{p}: expected a 3-D array, got shape {arr.shape}")
            return Volume(arr.astype(dtype, copy=False), aff.copy(), VolumeMeta(modality="CT", description=desc, source=str(p)))

        return ClotCase(ref.case_id, npy(ref.cta, "CTA", np.int16), npy(ref.ncct, "NCCT (registered)", np.int16),
                        npy(ref.mask, "clot mask", np.uint8))
    mask = read(ref.mask) if ref.mask else None
    if mask is not None:
        mask = mask.with_array((mask.array > 0).astype(np.uint8))
    return ClotCase(ref.case_id, read(ref.cta) if ref.cta else None, read(ref.ncct) if ref.ncct else None, mask)


# ----------------------------------------------------------------------------- splits
def make_splits(case_ids: Iterable[str], seed: int = 0, train: float = 0.6, val: float = 0.2) -> dict[str, Any]:
    """Random patient-level split; test gets the rest (``1 - train - val``).

    >>> s = make_splits([f"c{i}" for i in range(10)], seed=1)
    >>> [len(s[k]) for k in ("train", "val", "test")]
    [6, 2, 2]
    """
    ids = sorted(set(case_ids), key=_natural)
    if not 0 < train <= 1 or not 0 <= val < 1 or train + val > 1 + 1e-9:
        raise ValueError("need 0 < train <= 1, 0 <= val < 1 and train + val <= 1")
    n = len(ids)
    order = np.random.default_rng(seed).permutation(n)
    n_train = max(1, int(round(train * n)))
    n_val = int(round(val * n))
    if n >= 3 and val > 0:
        n_val = max(1, n_val)
    if n >= 3 and train + val < 1:
        n_train = min(n_train, n - n_val - 1)
    n_val = min(n_val, n - n_train)
    pick = [ids[i] for i in order]
    return {"seed": seed, "fractions": {"train": train, "val": val, "test": round(1 - train - val, 6)},
            "train": sorted(pick[:n_train], key=_natural), "val": sorted(pick[n_train:n_train + n_val], key=_natural),
            "test": sorted(pick[n_train + n_val:], key=_natural)}


def load_or_make_splits(path: str | Path, case_ids: Iterable[str], seed: int = 0, train: float = 0.6,
                        val: float = 0.2) -> tuple[dict[str, Any], bool]:
    """Reuse ``path`` when it exists (checking it names only known cases), else make and save it.

    Returns the splits and whether they were reused.
    """
    from ..io import write_json

    path = Path(path)
    ids = set(case_ids)
    if path.exists():
        splits = json.loads(path.read_text())
        named = set(splits.get("train", [])) | set(splits.get("val", [])) | set(splits.get("test", []))
        unknown = sorted(named - ids, key=_natural)
        if unknown:
            raise InputError(f"{path} names cases that are not in the data set ({', '.join(unknown[:5])}); "
                             "delete it to make new splits")
        return splits, True
    splits = make_splits(ids, seed=seed, train=train, val=val)
    write_json(splits, path)
    return splits, False


# ----------------------------------------------------------------------------- writers
def _on_cta_grid(case: ClotCase) -> tuple[Volume, Volume | None, Volume | None]:
    if case.cta is None:
        raise InputError(f"{case.case_id}: writing this layout needs the CTA")
    ncct = case.ncct.resample_like(case.cta, order=1, fill=-1024) if case.ncct is not None else None
    mask = case.mask.resample_like(case.cta, order=0) if case.mask is not None else None
    return case.cta, ncct, mask


def write_published(cases: Iterable[ClotCase], root: str | Path) -> list[str]:
    """Write the CT-ClotSeg layout; case ids become ``CS1, CS2, ...`` in order.

    The NCCT is resampled onto the CTA grid (the published files are
    registered); the affines go to ``DL_vol_files/binary/geometry.json`` and
    the original ids to ``DL_vol_files/binary/case_ids.json``.
    """
    root = Path(root)
    (root / _PUB_VOL).mkdir(parents=True, exist_ok=True)
    (root / _PUB_SEG).mkdir(parents=True, exist_ok=True)
    geometry: dict[str, Any] = {}
    names: dict[str, str] = {}
    out = []
    for n, case in enumerate(cases, start=1):
        cid = f"CS{n}"
        cta, ncct, mask = _on_cta_grid(case)
        np.save(root / _PUB_VOL / f"{cid}_CTA_Binary.npy", cta.array.astype(np.int16))
        if ncct is not None:
            np.save(root / _PUB_VOL / f"{cid}_NCCT_Reg_Binary.npy", ncct.array.astype(np.int16))
        if mask is not None:
            np.save(root / _PUB_SEG / f"{cid}_seg_corrected_binary.npy", mask.array.astype(np.uint8))
        geometry[cid] = cta.affine.tolist()
        names[cid] = case.case_id
        out.append(cid)
    (root / _PUB_VOL / "geometry.json").write_text(json.dumps(geometry))
    (root / _PUB_VOL / "case_ids.json").write_text(json.dumps(names, indent=1))
    return out


def write_nnunet(cases: Iterable[ClotCase], root: str | Path, name: str = "Dataset501_Clot") -> list[str]:
    """Write the nnU-Net v2 raw layout (``imagesTr``, ``labelsTr``, ``dataset.json``)."""
    from ..io import write_json, write_nifti

    root = Path(root)
    (root / "imagesTr").mkdir(parents=True, exist_ok=True)
    (root / "labelsTr").mkdir(parents=True, exist_ok=True)
    out = []
    for case in cases:
        cta, ncct, mask = _on_cta_grid(case)
        if ncct is None:
            raise InputError(f"{case.case_id}: the nnU-Net layout needs both channels (CTA and NCCT)")
        cid = re.sub(r"[^A-Za-z0-9]+", "_", case.case_id)
        write_nifti(cta, root / "imagesTr" / f"{cid}_0000.nii.gz")
        write_nifti(ncct, root / "imagesTr" / f"{cid}_0001.nii.gz")
        if mask is None:
            mask = cta.with_array(np.zeros(cta.shape, np.uint8))
        write_nifti(mask.with_array(mask.array.astype(np.uint8)), root / "labelsTr" / f"{cid}.nii.gz")
        out.append(cid)
    write_json({"name": name, "channel_names": {"0": "CTA", "1": "NCCT"}, "labels": {"background": 0, "clot": 1},
                "numTraining": len(out), "file_ending": ".nii.gz"}, root / "dataset.json")
    return out


def write_folders(cases: Iterable[ClotCase], root: str | Path) -> list[str]:
    """Write ``<root>/<case>/cta.nii.gz, ncct.nii.gz, clot.nii.gz``."""
    from ..io import write_nifti

    root = Path(root)
    out = []
    for case in cases:
        d = root / case.case_id
        d.mkdir(parents=True, exist_ok=True)
        for vol, name in ((case.cta, "cta"), (case.ncct, "ncct"), (case.mask, "clot")):
            if vol is not None:
                write_nifti(vol, d / f"{name}.nii.gz")
        out.append(case.case_id)
    return out
