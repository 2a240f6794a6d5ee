"""Synthetic radiograph data sets: DRRs of a folder of chest CTs, or of simple torsos.

``phantom_cohort`` builds chest phantoms (:mod:`hounsfield.phantoms`) on the
fly and projects their description directly (:mod:`.phantom_drr`, no CT
rendered), each image labelled with the patient's clinical coronary Agatston
score; ``drr_cohort`` turns a cohort folder written by ``hounsfield phantom chest``
(``<DIR>/<patient>/non_gated.nii.gz`` + ``truth.json`` with ``agatston``)
into radiographs and a labels CSV; ``torso_cohort`` does the same for
:func:`hounsfield.cxr.torso.simple_torso` patients built on the fly.

Output layout::

    OUT/images/<patient>.png   (and/or .dcm)
    OUT/labels.csv             image,patient_id,cac[,n_plaques]
    OUT/cohort.json            DRR settings, source, counts
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..errors import InputError
from .data import Record, write_labels_csv
from .drr import DRRSettings, drr
from .io import Radiograph, write_png, write_radiograph_dicom

__all__ = ["drr_cohort", "phantom_cohort", "torso_cohort", "read_truth_agatston", "CT_NAMES"]

#: CT file names looked for in each patient folder, in order
CT_NAMES = ("non_gated.nii.gz", "non_gated.nii", "ct.nii.gz", "gated.nii.gz")


def read_truth_agatston(path: str | os.PathLike) -> float:
    """The patient's total Agatston score from a ``truth.json``.

    Accepts ``{"agatston": 123.4}``, ``{"agatston": {"total": ...}}`` or
    ``{"calcium": {"agatston": ...}}``.
    """
    path = Path(path)
    try:
        truth = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the truth file ({exc})") from None
    value: Any = truth.get("agatston", truth.get("calcium", {}).get("agatston") if isinstance(truth.get("calcium"), dict) else None)
    if isinstance(value, dict):
        value = value.get("total", value.get("agatston"))
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{path}: no numeric 'agatston' score") from None
    if not np.isfinite(v) or v < 0:
        raise InputError(f"{path}: Agatston score {v} is not a finite number >= 0")
    return v


def _write(rad: Radiograph, out: Path, pid: str, formats: Iterable[str], extra_dicom: dict[str, Any] | None = None) -> str:
    written = []
    for fmt in formats:
        if fmt == "png":
            written.append(write_png(rad, out / "images" / f"{pid}.png", bits=16))
        elif fmt == "dicom":
            written.append(write_radiograph_dicom(rad, out / "images" / f"{pid}.dcm", patient_id=pid,
                                                  extra=extra_dicom))
        else:
            raise InputError(f"unknown image format '{fmt}' (png or dicom)")
    return str(written[0])


def _finish(out: Path, records: list[Record], info: dict[str, Any]) -> Path:
    csv_path = write_labels_csv(records, out / "labels.csv")
    cac = np.array([r.cac for r in records])
    info.update({"n": len(records), "n_cac_gt0": int(np.sum(cac > 0)), "labels": "labels.csv"})
    (out / "cohort.json").write_text(json.dumps(info, indent=2) + "\n")
    return csv_path


def drr_cohort(
    src: str | os.PathLike, out: str | os.PathLike, settings: DRRSettings = DRRSettings(),
    formats: Iterable[str] = ("png",), seed: int = 0, progress: Callable[[int, int], None] | None = None,
) -> Path:
    """DRRs of every ``<src>/<patient>/non_gated.nii.gz`` with its ``truth.json`` score; returns the CSV path."""
    from ..io import read

    src, out = Path(src), Path(out)
    patients = sorted(p for p in src.iterdir() if p.is_dir()) if src.is_dir() else []
    cases = []
    for p in patients:
        ct = next((p / n for n in CT_NAMES if (p / n).exists()), None)
        if ct is not None and (p / "truth.json").exists():
            cases.append((p.name, ct, p / "truth.json"))
    if not cases:
        raise InputError(f"{src}: no patient folders with non_gated.nii.gz and truth.json "
                         "(make them with 'hounsfield phantom chest')")
    formats = list(formats)
    rng = np.random.default_rng(seed)
    records = []
    for i, (pid, ct, truth) in enumerate(cases):
        cac = read_truth_agatston(truth)
        rad = drr(read(ct), settings, rng)
        image = _write(rad, out, pid, formats)
        records.append(Record(image, pid, cac, {}))
        if progress:
            progress(i + 1, len(cases))
    return _finish(out, records, {"source": str(src), "kind": "DRR of chest CT phantoms", "seed": seed,
                                  "drr": settings.to_dict(), "formats": formats})


def torso_cohort(
    n: int, out: str | os.PathLike, settings: DRRSettings = DRRSettings(), formats: Iterable[str] = ("png",),
    seed: int = 0, p_zero: float = 0.5, progress: Callable[[int, int], None] | None = None,
) -> Path:
    """``n`` simple-torso patients (see :mod:`hounsfield.cxr.torso`) as DRRs + labels; returns the CSV path.

    Patient ``i`` is built from ``numpy.random.default_rng([seed, i])``, so
    any subset can be regenerated exactly.
    """
    from .torso import sample_plaque_count, simple_torso

    out = Path(out)
    formats = list(formats)
    records = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        pid = f"torso{seed:04d}_{i:05d}"
        vol, truth = simple_torso(rng, sample_plaque_count(rng, p_zero), patient_id=pid)
        rad = drr(vol, settings, rng)
        image = _write(rad, out, pid, formats)
        records.append(Record(image, pid, float(truth["agatston"]), {"n_plaques": truth["n_plaques"]}))
        if progress:
            progress(i + 1, n)
    return _finish(out, records, {"source": "hounsfield.cxr.torso.simple_torso (synthetic)",
                                  "kind": "DRR of simple torsos", "seed": seed, "p_zero": p_zero,
                                  "drr": settings.to_dict(), "formats": formats})


def aorta_near_truth_box(ph: Any, other: Any | None = None, margin_mm: float = 10.0) -> bool:
    """Whether an aortic structure that differs between ``ph`` and ``other`` (the same patient drawn with other
    arch options; ``None``: every aortic structure of ``ph`` counts) reaches the box ``margin_mm`` round the
    coronary plaques of ``ph`` (the crop of :func:`~.phantom_drr.coronary_truth`). Aortic structures: the aorta
    tube (its centreline segments with the radius plus 2 mm) and every non-coronary calcification."""
    if not ph.plaques:
        return False
    lo = np.min([q.centre - q.radii.max() for q in ph.plaques], axis=0) - margin_mm
    hi = np.max([q.centre + q.radii.max() for q in ph.plaques], axis=0) + margin_mm

    def gap(pts: np.ndarray) -> np.ndarray:  # distance of points to the box
        return np.linalg.norm(np.maximum(np.maximum(lo - pts, pts - hi), 0.0), axis=-1)

    def key(d: Any) -> tuple:
        return (d.kind, *np.round(d.centre, 9), *np.round(d.radii, 9), round(float(d.density), 6))

    mine = [(ph, other)] + ([(other, ph)] if other is not None else [])
    for q, o in mine:
        pts, r = q.heart.aorta, q.heart.aorta_r
        seg = np.ones(len(pts) - 1, bool)
        if o is not None and o.heart.aorta.shape == pts.shape:
            moved = np.any(np.abs(o.heart.aorta - pts) > 1e-9, axis=1) | (np.abs(o.heart.aorta_r - r) > 1e-9)
            seg = moved[:-1] | moved[1:]
        f = np.linspace(0, 1, 11)[None, :, None]
        dense = (pts[:-1, None, :] * (1 - f) + pts[1:, None, :] * f)[seg].reshape(-1, 3)
        rad = np.repeat(np.maximum(r[:-1], r[1:])[seg], 11)
        if dense.size and np.any(gap(dense) <= rad + 2.0):
            return True
        same = {key(d) for d in o.distractors} if o is not None else set()
        for d in q.distractors:
            if key(d) not in same and gap(d.centre[None])[0] <= float(d.radii.max()):
                return True
    return False


def _truth_reusable(ph: Any, p: Any, seed: int, i: int, arch_link: float, zero_cac_rate: float) -> bool:
    """No aortic structure or other calcification (arch, costal cartilage) that differs from the default phantom's
    (also with the knob shift undone) comes within 4 mm of the coronary plaques' box (see ``truth_from`` of :func:`phantom_cohort`); the two comparison
    phantoms are built only here, when an earlier truth exists to reuse."""
    from ..phantoms import build_patient, sample_params

    default = build_patient(sample_params(seed, i, zero_cac_rate=zero_cac_rate)) if arch_link > 0 else None
    unshifted = build_patient(dataclasses.replace(p, knob_mm=0.0)) if p.knob_mm else None  # pre-knob arch
    return not aorta_near_truth_box(ph, default, margin_mm=4.0) and not (
        unshifted is not None and aorta_near_truth_box(unshifted, default, margin_mm=4.0))


def _phantom_one(seed: int, i: int, out: str, settings: DRRSettings, formats: list[str], voxel_mm: float,
                 options: dict[str, Any], old_cac: float | None, maps: bool) -> dict[str, Any]:
    """Film, truth and (with ``maps``) calcium map of patient ``i`` of :func:`phantom_cohort` (one process)."""
    import time

    from ..phantoms import build_patient, sample_params
    from .calcium_map import sparse_map
    from .phantom_drr import coronary_truth, phantom_radiograph

    p = sample_params(seed, i, **options)
    ph = build_patient(p)
    t0 = time.perf_counter()
    cor: dict[str, Any] | None = {} if maps else None
    rad = phantom_radiograph(ph, settings, np.random.default_rng([seed, i, 77]), voxel_mm=voxel_mm, coronary=cor)
    t1 = time.perf_counter()
    pid = f"patient_{i:04d}"
    reused = old_cac is not None and _truth_reusable(ph, p, seed, i, options["arch_link"], options["zero_cac_rate"])
    agatston = float(old_cac) if reused else float(coronary_truth(ph, seed, i)["agatston"])
    t2 = time.perf_counter()
    image = _write(rad, Path(out), pid, formats)
    record = Record(image, pid, round(agatston, 4),
                    {"age": p.age, "sex": p.sex, "arch_calcium_mm3": round(p.arch_calcium_mm3, 2),
                     "n_plaques": len(ph.plaques),
                     **({"cartilage_mm": round(p.cartilage_mm, 2)} if options["age_signs"] else {})})
    return {"record": record, "reused": bool(reused), "t_drr": t1 - t0, "t_truth": t2 - t1,
            "map": sparse_map(cor["integrals"], float(settings.pixel_mm)) if cor is not None else None}


def phantom_cohort(
    n: int, out: str | os.PathLike, settings: DRRSettings | None = None, formats: Iterable[str] = ("png",),
    seed: int = 0, start: int = 0, arch_link: float = 0.8, zero_cac_rate: float = 0.5, voxel_mm: float = 2.0,
    progress: Callable[[int, int], None] | None = None, truth_from: str | os.PathLike | None = None,
    arch_style: str = "plates", age_signs: bool = False, maps: bool = False, workers: int = 1,
) -> Path:
    """Radiographs of chest phantoms ``start .. start + n - 1`` of cohort ``seed``; returns the CSV path.

    ``truth_from``: the ``labels.csv`` of an earlier run of the same ``seed`` and ``zero_cac_rate`` (e.g. before
    a change to the opt-in arch options): its ``cac`` is reused for a patient when no aortic structure that
    differs from the default phantom's (moved aorta segments, arch calcification, moved aortic distractors, before
    or after, also with the knob shift undone) comes within 4 mm of the coronary plaques' bounding box (the score
    counts only voxels of the coronary lesion map; the scanner's in-plane blur is 0.45 mm, the slices 3 mm; the
    noise is drawn per crop shape, which the arch options leave unchanged); otherwise the truth is computed again.
    The number reused goes to ``cohort.json``.

    Patient ``i`` is ``sample_params(seed, i, arch_link=arch_link, zero_cac_rate=zero_cac_rate,
    arch_style=arch_style, age_signs=age_signs)``
    (the same anatomy and coronary plaques as ``hounsfield phantom chest --seed seed``; ``arch_link``
    > 0 adds the opt-in aortic arch calcification correlated with the coronary burden,
    :mod:`hounsfield.phantoms.aortic`; 0 keeps the default phantom). The CSV has the clinical
    ``cac`` (Agatston) and, as extra columns, ``age``, ``sex``, ``arch_calcium_mm3``,
    ``n_plaques`` (and ``cartilage_mm`` with ``age_signs``: costal cartilage calcification,
    :mod:`hounsfield.phantoms.cartilage`) (truth for analysis, not network inputs). Per-image seconds go to ``cohort.json``.
    ``maps``: also ``calcium_maps.npz``, where each film's coronary plaques project
    (:mod:`hounsfield.cxr.calcium_map`; the dense auxiliary target of ``train cxr --aux-map``).
    ``workers`` > 1: patients in parallel processes; every film, truth and map depends only on (``seed``, index).
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from .phantom_drr import PHANTOM_DRR_SETTINGS

    settings = settings or PHANTOM_DRR_SETTINGS
    out = Path(out)
    formats = list(formats)
    old: dict[str, float] = {}
    if truth_from is not None:
        from .data import read_labels_csv

        old = {r.patient_id: r.cac for r in read_labels_csv(truth_from)}
    options = {"arch_link": arch_link, "zero_cac_rate": zero_cac_rate, "arch_style": arch_style,
               "age_signs": age_signs}
    jobs = {i: (seed, i, str(out), settings, formats, voxel_mm, options, old.get(f"patient_{i:04d}"), maps)
            for i in range(start, start + n)}
    done: dict[int, dict[str, Any]] = {}
    if workers <= 1:
        for i, job in jobs.items():
            done[i] = _phantom_one(*job)
            if progress:
                progress(len(done), n)
    else:
        from .._workers import init_worker

        with ProcessPoolExecutor(max_workers=workers, initializer=init_worker, initargs=(False,)) as pool:
            futs = {pool.submit(_phantom_one, *job): i for i, job in jobs.items()}
            for f in as_completed(futs):
                done[futs[f]] = f.result()
                if progress:
                    progress(len(done), n)
    results = [done[i] for i in jobs]  # patient order, whatever order the workers finished in
    records = [r["record"] for r in results]
    reused = sum(r["reused"] for r in results)
    t_drr, t_truth = [r["t_drr"] for r in results], [r["t_truth"] for r in results]
    if maps:
        from .calcium_map import write_map_file

        write_map_file(out / "calcium_maps.npz", [r.patient_id for r in records], [r["map"] for r in results])
    return _finish(out, records, {
        "source": f"hounsfield.phantoms (seed {seed}, patients {start}-{start + n - 1}, arch_link {arch_link:g}, "
                  + (f"arch_style {arch_style}, " if arch_link > 0 and arch_style != "plates" else "")
                  + ("age_signs, " if age_signs else "")
                  + f"zero_cac_rate {zero_cac_rate:g})",
        "kind": "PA DRRs of the chest phantoms' description (hounsfield.cxr.phantom_drr)", "seed": seed,
        "start": start, "arch_link": arch_link, "zero_cac_rate": zero_cac_rate, "voxel_mm": voxel_mm,
        **({"arch_style": arch_style} if arch_link > 0 else {}), **({"age_signs": True} if age_signs else {}),
        "drr": settings.to_dict(), "formats": formats, **({"calcium_maps": "calcium_maps.npz"} if maps else {}),
        **({"truth_reused_from": str(truth_from), "truth_reused": reused} if truth_from is not None else {}),
        "seconds_per_image": {"drr_mean": round(float(np.mean(t_drr)), 3),
                              "truth_mean": round(float(np.mean(t_truth)), 3),
                              "drr_median": round(float(np.median(t_drr)), 3)},
    })
