"""Clot commands: ``hounsfield phantom head``, ``train clot``, ``clot`` and ``evaluate clot``."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from ..cli import app, evaluate_app, phantom_app, train_app
from ..console import named_ticker, progress_bar, stderr


def _ticker(bar, label: str):  # type: ignore[no-untyped-def]
    task = bar.add_task(label, total=None)

    def tick(i: int, n: int) -> None:
        bar.update(task, completed=i, total=n)

    return tick


def _spacing(text: str) -> tuple[float, float, float]:
    try:
        sp = tuple(float(x) for x in text.split(","))
    except ValueError:
        sp = ()
    if len(sp) != 3 or min(sp) <= 0:
        raise typer.BadParameter("--spacing must be three positive numbers, e.g. 0.75,0.75,1.5")
    return sp  # type: ignore[return-value]


@phantom_app.command("head")
def phantom_head(
    n: int = typer.Option(10, "--n", min=1, help="Number of patients."),
    seed: int = typer.Option(0, "--seed", help="Seed of the first patient; patient i uses seed + i."),
    out: Path = typer.Option(..., "-o", "--out", help="Output folder."),
    layout: str = typer.Option("folders", "--layout", help="'folders' (<case>/cta.nii.gz, ncct.nii.gz, clot.nii.gz, "
                               "truth.json), 'published' (CT-ClotSeg .npy) or 'nnunet'."),
    negatives: float = typer.Option(0.15, "--negatives", min=0.0, max=1.0, help="Fraction of patients without a clot."),
    spacing: str = typer.Option("0.75,0.75,1.5", "--spacing", help="Voxel size in mm: 'x,y,z'."),
) -> None:
    """Synthetic head CTA + NCCT pairs with exact clot masks (stroke clot segmentation)."""
    from ..clot.data import ClotCase, write_nnunet, write_published
    from ..clot.phantom import HeadConfig, make_head, write_heads

    if layout not in ("folders", "published", "nnunet"):
        raise typer.BadParameter("--layout must be folders, published or nnunet")
    cfg = HeadConfig(spacing=_spacing(spacing), negative_fraction=negatives)
    with progress_bar() as bar:
        tick = _ticker(bar, "heads")
        if layout == "folders":
            write_heads(n, seed, out, cfg, progress=tick)
        else:
            cases = []
            truths = {}
            for i in range(n):
                h = make_head(seed + i, cfg)
                cid = f"head_{seed + i:05d}"
                cases.append(ClotCase(cid, h.cta, h.ncct, h.clot))
                truths[cid] = h.truth
                tick(i + 1, n)
            ids = write_published(cases, out) if layout == "published" else write_nnunet(cases, out)
            (Path(out) / "truth.json").write_text(json.dumps(dict(zip(ids, truths.values())), indent=1))
    typer.echo(f"{n} synthetic head(s), seeds {seed}..{seed + n - 1}, written to {out} ({layout} layout)")


@train_app.command("clot")
def train_clot_cmd(
    data: Path = typer.Option(..., "--data", help="Data set folder (phantom folders, CT-ClotSeg or nnU-Net layout)."),
    out: Path = typer.Option(Path("clot-model"), "-o", "--out", help="Output folder (weights, config, history)."),
    epochs: int = typer.Option(20, "--epochs", min=1),
    steps_per_epoch: int = typer.Option(100, "--steps-per-epoch", min=1),
    batch_size: int = typer.Option(16, "--batch-size", min=1),
    crop: int = typer.Option(128, "--crop", help="Training crop size (pixels) of the padded slices."),
    size: int = typer.Option(256, "--size", help="Padded slice size (published: 256)."),
    spacing: str = typer.Option("0.75,0.75,1.5", "--spacing", help="Common voxel size (mm) the ROI is resampled to: 'x,y,z'."),
    lr: float = typer.Option(2e-3, "--lr"),
    seed: int = typer.Option(0, "--seed"),
    train_frac: float = typer.Option(0.6, "--train-frac"),
    val_frac: float = typer.Option(0.2, "--val-frac"),
    splits: Optional[Path] = typer.Option(None, "--splits", help="splits.json to use/write (default DATA/splits.json)."),
    register: bool = typer.Option(False, "--register", help="Rigidly register NCCT to CTA (SimpleITK) first."),
    cta_dropout: float = typer.Option(0.15, "--cta-dropout", help="Share of samples with the CTA replaced by the NCCT."),
    vessel_fraction: float = typer.Option(0.0, "--vessel-fraction", min=0.0, max=1.0,
                                          help="Share of crops centred on contrast-filled vessels (hard negatives)."),
    pos_fraction: float = typer.Option(0.5, "--pos-fraction", min=0.0, max=1.0, help="Share of crops centred on the clot."),
    context: int = typer.Option(0, "--context", min=0, max=3,
                                help="Neighbour slices on either side as extra channels (0: 2-D; 1: 2.5-D)."),
    thin_weight: float = typer.Option(0.0, "--thin-weight", min=0.0,
                                      help="Clot crops drawn per clot ~ (median clot area per slice / its own) ** this "
                                           "(thin clots get their share; 0: uniform over clot slices)."),
    loss: str = typer.Option("dice_ce", "--loss", help="'dice_ce' (batch Dice + CE) or 'crop_dice_ce' (Dice per clot crop + CE)."),
    init: Optional[Path] = typer.Option(None, "--init", help="Start from this checkpoint (same network), e.g. to train on."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch."),
    channels: str = typer.Option("24,48,96,192", "--channels", help="U-Net feature channels per level."),
    test: bool = typer.Option(True, "--test/--no-test", help="Segment and evaluate the test split with the best model."),
    device: str = typer.Option("auto", "--device", help="auto (a GPU when one is visible), cpu or cuda. Several GPUs or machines: start this command with torchrun (see docs/clot.md)."),
) -> None:
    """Train the 2-D clot U-Net (CTA + NCCT channels, Dice + CE) with patient splits and validation selection.

    Several GPUs or machines: torchrun --standalone --nproc_per_node N -m hounsfield train clot ... (PyTorch DDP).
    """
    from ..clot.train import TrainConfig, train_clot

    cmd = "hounsfield " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv and "train" in sys.argv else ""
    sp = _spacing(spacing)
    cfg = TrainConfig(data=str(data), out=str(out), spacing=sp, epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size,
                      crop=crop, size=size, lr=lr, seed=seed, train_frac=train_frac, val_frac=val_frac,
                      splits=str(splits) if splits else None, register=register, cta_dropout=cta_dropout,
                      vessel_fraction=vessel_fraction, pos_fraction=pos_fraction, context=context, thin_weight=thin_weight, loss=loss, threads=threads, init=str(init) if init else None,
                      command=cmd, device=device)
    cfg.net["channels"] = [int(c) for c in channels.split(",")]
    cfg.net["strides"] = [2] * (len(cfg.net["channels"]) - 1)
    with progress_bar() as bar:
        tick = named_ticker(bar)
        summary = train_clot(cfg, progress=tick)
    if "rank" in summary:  # another process of a torchrun job: rank 0 reports and tests
        return
    stderr.print(f"best epoch {summary['best_epoch']}, validation Dice {summary['best_val_dice']}, "
                 f"{summary['seconds']} s; splits {summary['splits']} ({'reused' if summary['splits_reused'] else 'new'}: "
                 f"{summary['splits_file']})")
    if test and summary["splits"]["test"]:
        from ..clot.evaluate import evaluate_dirs
        from ..clot.predict import load_model, predict_dataset
        from ..io import write_json

        splits_doc = json.loads(Path(summary["splits_file"]).read_text())
        model, mcfg, msum = load_model(summary["best"])
        pred_dir = out / "test_predictions"
        predict_dataset(data, pred_dir, splits_doc["test"], model, mcfg, msum, register=register)
        truth = {p.name for p in pred_dir.glob("*.nii.gz")}
        rows, summ = evaluate_dirs(pred_dir, data)
        write_json({"summary": summ, "cases": rows, "note": "metrics on the held-out test split of DATA"},
                   out / "test_metrics.json")
        typer.echo(json.dumps({"test": _headline(summ), "n_predictions": len(truth)}, indent=1))
    typer.echo(str(out / "best.pt"))


def _headline(s: dict) -> dict:  # type: ignore[type-arg]
    d = s["dice_with_clot"]
    return {"patients": s["n_patients"], "with_clot": s["n_with_clot"], "dice_mean": d["mean"], "dice_median": d["median"],
            "sensitivity": s["sensitivity"], "specificity": s["specificity"], "missed_clot_rate": s["missed_clot_rate"],
            "hd95_mm_median": s["hd95_mm"]["median"], "surface_dice_mean": s["surface_dice"]["mean"],
            "volume_icc": s["volume_agreement"]["icc_a1"], "length_icc": s["length_agreement"]["icc_a1"]}


@app.command("clot")
def clot_cmd(
    cta: Optional[Path] = typer.Option(None, "--cta", help="CT angiography (DICOM folder or image file)."),
    ncct: Optional[Path] = typer.Option(None, "--ncct", help="Non-contrast CT of the same patient."),
    out: Path = typer.Option(..., "-o", "--out", help="Output mask (.nii.gz), or a folder with --data."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the measurements (JSON) here."),
    data: Optional[Path] = typer.Option(None, "--data", help="Segment every case of a data set instead."),
    split: Optional[str] = typer.Option(None, "--split", help="With --data: only this split (train/val/test) of DATA/splits.json."),
    model: Optional[Path] = typer.Option(None, "--model", help="A checkpoint (.pt) from 'hounsfield train clot'."),
    models: Optional[Path] = typer.Option(None, "--models", help="Folder with a manifest.json of user models."),
    register: bool = typer.Option(False, "--register", help="Rigidly register the NCCT to the CTA (SimpleITK)."),
    all_components: bool = typer.Option(False, "--all-components", help="Keep every predicted component, not only the largest."),
) -> None:
    """Segment the clot of an ischemic stroke from CTA + NCCT (either alone works, with lower sensitivity)."""
    from ..clot.predict import load_model, predict_dataset, segment_clot
    from ..io import read, require_ct, write_json, write_nifti

    net, cfg, summary = load_model(model, models)
    if data is not None:
        ids = None
        if split:
            ids = json.loads((data / "splits.json").read_text())[split]
        with progress_bar() as bar:
            res = predict_dataset(data, out, ids, net, cfg, summary, register=register, progress=_ticker(bar, "patients"))
        typer.echo(f"{len(res)} mask(s) written to {out}")
        return
    if cta is None and ncct is None:
        raise typer.BadParameter("give --cta and/or --ncct (or --data)")
    cta_v = require_ct(read(cta), "clot segmentation") if cta else None
    ncct_v = require_ct(read(ncct), "clot segmentation") if ncct else None
    result = segment_clot(cta_v, ncct_v, net, cfg, summary, register=register, largest_only=not all_components)
    write_nifti(result.mask, out)
    doc = result.to_dict()
    if json_out:
        write_json(doc, json_out)
    for note in result.notes:
        stderr.print(f"note: {note}")
    m = result.measurements
    typer.echo(f"clot: {'detected' if m['detected'] else 'none detected'}; volume {m['volume_mm3']:.1f} mm^3, "
               f"length {m['length_mm']:.1f} mm, side {m['side']}, segment {m['segment']} ({result.seconds:.1f} s) -> {out}")


@evaluate_app.command("clot")
def evaluate_clot_cmd(
    pred_dir: Path = typer.Argument(..., help="Predicted masks (<case>.nii.gz or <case>/clot.nii.gz)."),
    truth_dir: Path = typer.Argument(..., help="Reference masks (same layouts, nnU-Net labelsTr or CT-ClotSeg DL_seg_files)."),
    tolerance: float = typer.Option(1.0, "--tolerance", help="Surface Dice tolerance in mm."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write per-case rows and the summary here."),
    csv_out: Optional[Path] = typer.Option(None, "--csv", help="Write per-case rows as CSV here."),
) -> None:
    """Per-patient Dice, HD95, surface Dice, volume/length agreement, detection sensitivity/specificity."""
    from ..clot.evaluate import evaluate_dirs
    from ..io import write_json

    rows, summary = evaluate_dirs(pred_dir, truth_dir, tolerance_mm=tolerance)
    if json_out:
        write_json({"summary": summary, "cases": rows}, json_out)
    if csv_out:
        import csv

        keys = list(next(iter(rows.values())).keys())
        with open(csv_out, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["case", *keys])
            for cid, r in rows.items():
                w.writerow([cid, *[r[k] for k in keys]])
    typer.echo(json.dumps(_headline(summary), indent=1))
    if summary["missing_predictions"]:
        stderr.print(f"note: no prediction for {len(summary['missing_predictions'])} case(s): "
                     f"{', '.join(summary['missing_predictions'][:5])}")
