"""Generate and write many patients, in parallel processes, deterministically."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable, Iterable

__all__ = ["generate_cohort", "write_one"]


def write_one(seed: int, index: int, out: str, formats: tuple[str, ...], options: dict[str, Any]) -> dict[str, Any]:
    """Generate patient ``index`` and write it; returns a small summary (and its MIP record if asked)."""
    from .generate import generate_patient
    from .writers import mip_record, write_patient

    res = generate_patient(seed, index, **options)
    folder = Path(out) / res.patient_id
    disk = tuple(f for f in formats if f != "mip")
    write_patient(res, folder, disk or ("nifti",))
    summary = {"patient_id": res.patient_id, "agatston": res.truth["agatston"],
               "risk_category": res.truth["risk_category"], "coverage": res.non_gated.acquisition.coverage,
               "transitional": res.params.transitional}
    if "mip" in formats:
        summary["mip"] = mip_record(res)
    return summary


def generate_cohort(n: int, seed: int, out: str | os.PathLike, *, formats: Iterable[str] = ("nifti",),
                    workers: int = 1, start: int = 0, progress: Callable[[int, int], None] | None = None,
                    **options: Any) -> list[dict[str, Any]]:
    """Write patients ``start .. start+n-1`` of cohort ``seed`` under ``out`` (one folder each).

    The result of each patient depends only on (seed, index), never on the
    number of workers or the order they finish in.
    """
    from .writers import write_mip_archive

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    formats = tuple(formats)
    idx = list(range(start, start + n))
    results: dict[int, dict[str, Any]] = {}
    done = 0
    if workers <= 1:
        for i in idx:
            results[i] = write_one(seed, i, str(out), formats, options)
            done += 1
            if progress:
                progress(done, n)
    else:
        from .._workers import init_worker

        with ProcessPoolExecutor(max_workers=workers, initializer=init_worker, initargs=(False,)) as pool:
            futs = {pool.submit(write_one, seed, i, str(out), formats, options): i for i in idx}
            for f in as_completed(futs):
                results[futs[f]] = f.result()
                done += 1
                if progress:
                    progress(done, n)
    ordered = [results[i] for i in idx]
    if "mip" in formats:
        write_mip_archive([r.pop("mip") for r in ordered], out / "mips.npz")
    return ordered
