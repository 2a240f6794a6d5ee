"""``hounsfield levels``, ``hounsfield bodycomp``, ``hounsfield train levels``, ``hounsfield evaluate levels``."""

from __future__ import annotations

import json
import re
import shlex
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import typer

from ..cli import app, evaluate_app, train_app


def _exam_id(path: Path) -> str:
    name = path.name
    for suf in (".nii.gz", ".nii", ".nrrd", ".mha", ".mhd", ".npz", ".dcm"):
        if name.lower().endswith(suf):
            return name[: -len(suf)]
    return name


def _levels_opt(levels: str) -> tuple[str, ...]:
    out = tuple(x.strip().upper() for x in levels.split(",") if x.strip())
    if not out:
        raise typer.BadParameter("give at least one level, e.g. T12,L3", param_hint="--levels")
    return out


def _iter_inputs(inputs: list[Path]) -> Iterator[tuple[str, Any]]:
    """(exam_id, Volume or MipPair) for every input (all series of a DICOM folder, all exams of an archive)."""
    from ..errors import InputError
    from ..io import read_dicom
    from ..io.readers import is_image_file, read
    from ..levels.archive import load_mips

    stems = [_exam_id(p) for p in inputs]
    for path in inputs:
        base = _exam_id(path)
        if stems.count(base) > 1:  # e.g. many patient_*/non_gated.nii.gz: name them by their folder
            base = f"{path.resolve().parent.name}_{base}"
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if path.is_file() and path.suffix.lower() == ".npz":
            pairs, _ = load_mips(path)
            for p in pairs:
                yield p.exam_id, p
        elif path.is_file() and is_image_file(path):
            yield base, read(path)
        else:
            vols = read_dicom(path)
            for i, v in enumerate(vols):
                eid = base if len(vols) == 1 else f"{base}_s{v.meta.series_number or i}"
                yield eid, v


@app.command("levels")
def levels_cmd(
    inputs: list[Path] = typer.Argument(..., help="DICOM folders, image files (.nii.gz, .nrrd, .mha) or MIP .npz archives."),
    csv: Path = typer.Option(..., "--csv", help="Output CSV: one row per exam."),
    overlay: Optional[Path] = typer.Option(None, "--overlay", help="Folder for MIP overlays with the predicted lines (PNG)."),
    levels: str = typer.Option("T12,L3", "--levels", help="Comma-separated levels to report."),
    model: Optional[str] = typer.Option(None, "--model", help="Model name in the registry or a weights .pt file."),
    models_dir: Optional[Path] = typer.Option(None, "--models", help="Folder with a manifest.json of your own models."),
    save_mips: Optional[Path] = typer.Option(None, "--save-mips", help="Also write the computed MIPs to this .npz archive."),
) -> None:
    """Find the T12 and L3 slices from maximum intensity projections of the skeleton.

    Slices are 0-based indices along the input file's third voxel axis as stored; z is world
    superior-positive mm. A level outside the field of view is left empty with the reason.
    """
    from ..console import stderr
    from ..io import require_ct
    from ..levels.archive import save_mips as write_archive
    from ..levels.mip import MipPair, compute_mips
    from ..levels.predict import load_predictor, overlay_png, write_csv

    lv = _levels_opt(levels)
    pred = load_predictor(model, models_dir)
    results, pairs = [], []
    for eid, item in _iter_inputs(inputs):
        t0 = time.perf_counter()
        if isinstance(item, MipPair):
            pair = item
        else:
            require_ct(item, "hounsfield levels")
            pair = compute_mips(item, exam_id=eid, grid=pred.grid)
        res = pred.predict(pair, lv)
        results.append(res)
        pairs.append(pair)
        if overlay is not None:
            overlay_png(res, overlay / f"{eid}_levels.png")
        msg = ", ".join(f"{k} " + (f"k={a.slice} z={a.z_mm:.1f}" if a.z_mm is not None else
                                   (f"k={a.slice}" if a.slice is not None else f"- ({a.reason})"))
                        for k, a in res.answers.items())
        stderr.print(f"{eid}: {msg} [{time.perf_counter() - t0:.2f} s]")
    write_csv(results, csv, lv)
    if save_mips is not None:
        write_archive(pairs, save_mips)
    typer.echo(str(csv))


@app.command("bodycomp")
def bodycomp_cmd(
    input: Path = typer.Argument(..., help="DICOM folder or image file (one CT series)."),
    csv: Path = typer.Option(..., "--csv", help="Output CSV (Level, Index, Muscle_HU, Muscle_area_cm2, SAT_..., VAT_..., IMAT_...)."),
    level: str = typer.Option("L3", "--level", help="Level to measure at (found with the level model)."),
    slice_: Optional[int] = typer.Option(None, "--slice", help="Measure at this 0-based slice instead of finding the level."),
    height_m: Optional[float] = typer.Option(None, "--height-m", min=0.5, max=2.5, help="Height in metres: adds the skeletal muscle index."),
    overlay: Optional[Path] = typer.Option(None, "--overlay", help="PNG of the slice with the compartments."),
    model: Optional[str] = typer.Option(None, "--model", help="Level model name or weights .pt file."),
    models_dir: Optional[Path] = typer.Option(None, "--models", help="Folder with a manifest.json of your own models."),
) -> None:
    """Skeletal muscle, subcutaneous, visceral and intermuscular fat at one level (areas cm^2, mean HU, SMI)."""
    from ..errors import InputError
    from ..io import require_ct
    from ..levels.bodycomp import body_composition, bodycomp_overlay, write_bodycomp_csv
    from ..levels.mip import compute_mips
    from ..levels.predict import load_predictor

    rows = []
    for eid, vol in _iter_inputs([input]):
        if not hasattr(vol, "affine"):
            raise InputError("bodycomp needs a CT volume, not a MIP archive")
        require_ct(vol, "hounsfield bodycomp")
        k = slice_
        if k is None:
            pred = load_predictor(model, models_dir)
            res = pred.predict(compute_mips(vol, exam_id=eid, grid=pred.grid), (level.upper(),))
            a = res.answers[level.upper()]
            if a.slice is None:
                raise InputError(f"{eid}: {level} not found ({a.reason}); give --slice to measure anyway")
            k = a.slice
        bc, comp, hu = body_composition(vol, k, level=level.upper(), height_m=height_m)
        rows.append(bc.row(eid))
        if overlay is not None:
            out = overlay if len(rows) == 1 else overlay.with_name(f"{overlay.stem}_{eid}{overlay.suffix}")
            bodycomp_overlay(hu, comp, out, f"{eid} {level} k={k}: muscle {bc.muscle_area_cm2:.1f} cm2, "
                                            f"SAT {bc.sat_area_cm2:.1f}, VAT {bc.vat_area_cm2:.1f}, IMAT {bc.imat_area_cm2:.1f}")
    write_bodycomp_csv(rows, csv)
    typer.echo(str(csv))


@train_app.command("levels")
def train_levels(
    data: list[Path] = typer.Option([], "--data", help="MIP .npz archive(s), folders of them, or a folder of synthetic patients (truth.json). Repeatable."),
    out: Path = typer.Option(..., "-o", "--out", help="Output folder: levels_mip.pt, config.json, checkpoints/, log.csv."),
    synthetic: int = typer.Option(0, "--synthetic", min=0, help="Also render this many synthetic patients (cached in OUT/synthetic_mips.npz)."),
    synthetic_seed: int = typer.Option(1000, "--synthetic-seed", help="Cohort seed of the synthetic patients."),
    seed: int = typer.Option(0, "--seed", help="Training seed (split, sampling, initialisation)."),
    steps: int = typer.Option(1500, "--steps", min=1, help="Optimiser steps."),
    batch_size: int = typer.Option(8, "--batch-size", min=1),
    lr: float = typer.Option(2e-3, "--lr"),
    crop_rows: int = typer.Option(160, "--crop-rows", min=32, help="Training crop height in rows (multiple of 4)."),
    val_fraction: float = typer.Option(0.15, "--val-fraction", min=0.0, max=0.9),
    val_every: int = typer.Option(250, "--val-every", min=1),
    max_minutes: float = typer.Option(0.0, "--max-minutes", min=0.0, help="Stop after this many minutes (0: no limit)."),
    threads: int = typer.Option(1, "--threads", min=1, help="CPU threads for torch."),
    init: Optional[str] = typer.Option(None, "--init", help="Start from these weights (a .pt file or a model name, e.g. levels-mip): fine-tuning."),
    min_fov_mm: float = typer.Option(100.0, "--min-fov-mm", min=10.0, help="Shortest simulated field of view in training crops."),
    device: str = typer.Option("auto", "--device", help="auto (a GPU when one is visible), cpu or cuda. Several GPUs or machines: start this command with torchrun (docs/levels.md)."),
) -> None:
    """Train the T12/L3 level model (heat-map regression along z over frontal + sagittal MIPs)."""
    import numpy as np

    from ..console import progress_bar, stderr
    from ..levels.archive import save_mips
    from ..levels.data import load_dataset
    from ..levels.train import TrainConfig, train

    if crop_rows % 4:
        raise typer.BadParameter("must be a multiple of 4", param_hint="--crop-rows")
    init_path = ""
    if init:
        from ..models.registry import load_entry

        init_path = init if Path(init).exists() else str(load_entry(init).path)
    cfg = TrainConfig(seed=seed, steps=steps, batch_size=batch_size, lr=lr, crop_rows=crop_rows,
                      val_fraction=val_fraction, val_every=val_every, max_minutes=max_minutes, threads=threads,
                      init=init_path, device=device)
    cfg.augment["min_fov_mm"] = float(min_fov_mm)
    paths = list(data)
    out.mkdir(parents=True, exist_ok=True)
    from ..training.distributed import init_distributed, main_first

    dist = init_distributed(device)  # joined here already: the synthetic cache is rendered by rank 0 alone
    if synthetic:
        cache = out / "synthetic_mips.npz"
        with main_first(dist):  # rank 0 renders the cache, the others then read it
            if not cache.exists():
                from ..levels.mip import MipGrid
                from ..levels.synth import synthetic_cohort_mips

                with progress_bar() as bar:
                    task = bar.add_task("synthetic patients", total=synthetic)
                    pairs, lv = synthetic_cohort_mips(synthetic, synthetic_seed, grid=MipGrid(**cfg.grid),
                                                      progress=lambda i, n: bar.update(task, completed=i))
                save_mips(pairs, cache, lv)
        paths.append(cache)
    if not paths:
        raise typer.BadParameter("give --data and/or --synthetic N", param_hint="--data")
    from ..levels.mip import MipGrid

    examples = load_dataset(paths, MipGrid(**cfg.grid))
    if dist.main:
        stderr.print(f"{len(examples)} exams; training {steps} steps")
    args = ["hounsfield", "train", "levels"] + [a for d in data for a in ("--data", str(d))]
    if synthetic:
        args += ["--synthetic", str(synthetic), "--synthetic-seed", str(synthetic_seed)]
    args += ["-o", str(out), "--seed", str(seed), "--steps", str(steps), "--batch-size", str(batch_size), "--lr", str(lr),
             "--crop-rows", str(crop_rows), "--val-fraction", str(val_fraction), "--val-every", str(val_every),
             "--max-minutes", str(max_minutes), "--threads", str(threads), "--min-fov-mm", str(min_fov_mm)]
    if init:
        args += ["--init", init]
    command = " ".join(shlex.quote(a) for a in args)

    def show(step: int, total: int, row: dict[str, Any]) -> None:
        stderr.print(" ".join(f"{k}={v}" for k, v in row.items()))

    result = train(examples, out, cfg, command=command, data=[str(p) for p in paths], progress=show)
    if "rank" in result:  # another process of a torchrun job: rank 0 reports
        return
    typer.echo(json.dumps(result, indent=2, default=lambda o: float(o) if isinstance(o, np.floating) else str(o)))


@evaluate_app.command("levels")
def evaluate_levels(
    pred: Path = typer.Argument(..., help="Predictions CSV from 'hounsfield levels'."),
    truth: Path = typer.Argument(..., help="Reference CSV: exam_id with <LEVEL>_slice and/or <LEVEL>_z_mm."),
    levels: str = typer.Option("T12,L3", "--levels", help="Comma-separated levels to evaluate."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for metrics.json and error histograms (PNG)."),
    thickness: Optional[float] = typer.Option(None, "--thickness", help="Slice thickness (mm) when only slices are given."),
) -> None:
    """Errors in slices and mm: median, mean, share within 5 and 10 mm, histograms."""
    from ..io import write_json
    from ..levels.evaluate import compare, error_histograms, summarise

    errs = compare(pred, truth, _levels_opt(levels), thickness)
    summary = summarise(errs)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_json(summary, out / "metrics.json")
        error_histograms(errs, out)
    for lv, s in summary.items():
        def f(x: Any, spec: str = ".2f") -> str:
            return "-" if x is None else format(x, spec)

        typer.echo(f"{lv}: n={s['n_compared']}/{s['n_reference_present']} missed={s['missed']} "
                   f"false={s['false_detections']} median {f(s['median_abs_slices'])} slices / "
                   f"{f(s['median_abs_mm'])} mm, mean {f(s['mean_abs_mm'])} +- {f(s['sd_abs_mm'])} mm, "
                   f"within 5 mm {f(s['within_5mm'], '.1%')}, within 10 mm {f(s['within_10mm'], '.1%')}")
