"""CXR calcium commands: ``hounsfield cxr``, ``hounsfield train cxr``, ``hounsfield phantom cxr``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from ..cli import app, evaluate_app, phantom_app, train_app
from ..errors import InputError


@app.command("cxr")
def cxr(
    inputs: list[Path] = typer.Argument(..., help="Radiographs (DICOM, PNG, JPEG) or folders of them."),
    csv: Path = typer.Option(..., "--csv", help="Output CSV: one row per image (image, p_cac_gt0, category, ...)."),
    model: Optional[str] = typer.Option(None, "--model", help="Model file (.pt from 'train cxr --save') or registry name."),
    models_dir: Optional[Path] = typer.Option(None, "--models", help="Folder of user-trained models (manifest.json)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the rows and the model statement as JSON."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch (1 is fastest on a busy machine)."),
    clinical: Optional[Path] = typer.Option(None, "--clinical", help="For a model with clinical inputs: CSV with an image column and the model's columns (e.g. age, sex); DICOM headers (PatientAge, PatientSex) fill what it lacks."),
    device: str = typer.Option("cpu", "--device", help="cpu (default), cuda, or auto (a GPU when one is visible): where the network runs; reading and preprocessing stay on the CPU."),
    any_view: bool = typer.Option(False, "--any-view", help="Also score films whose DICOM header says lateral/oblique (ViewPosition) or another body part than the chest (BodyPartExamined); by default they are listed as skipped."),
) -> None:
    """Probability of coronary calcium (CAC > 0) and CAC category from chest radiographs.

    One CSV row per image, with a status: ok, skipped (a lateral or non-chest film, or a file in a folder that is
    not a radiograph, with the reason in note) or error (unreadable; the others are still scored, the CSV is
    written, and the exit code is 1).
    """
    from ..console import stderr

    if threads:
        import torch

        torch.set_num_threads(int(threads))
    from ..cxr.predict import clinical_values, expand_inputs, predict_files, resolve_model, write_rows_csv
    from ..training.distributed import resolve_device

    dev = resolve_device(device)  # before any image is read: a bad --device is one line
    files = expand_inputs(inputs)
    net, label = resolve_model(model, models_dir)
    net.net.to(dev)
    stderr.print(f"model {label}: {net.arch} {net.task}, trained on: {net.trained_on}"
                 + (f" (running on {dev})" if dev != "cpu" else ""))
    values = None
    if net.clinical is not None:
        stderr.print(f"clinical inputs: {', '.join(net.clinical.names)}")
        values = clinical_values(files, clinical)
    elif clinical is not None:
        stderr.print(f"note: {label} takes no clinical inputs; --clinical is ignored", style="yellow")
    held = (net.info.get("manifest_metrics") or {}).get("auroc_cac_gt0")
    if isinstance(held, dict) and held.get("value") is not None:
        ci = held.get("ci95") or [float("nan")] * 2
        stderr.print(f"its held-out AUROC for CAC > 0 on synthetic radiographs: {held['value']:.2f} "
                     f"(95% CI {ci[0]:.2f}-{ci[1]:.2f})")
    ext = (net.info.get("manifest_metrics") or {}).get("external_held_out")
    if isinstance(ext, dict) and (ext.get("auroc_cac_gt0") or {}).get("value") is not None:
        a, ci = ext["auroc_cac_gt0"]["value"], ext["auroc_cac_gt0"].get("ci95") or [float("nan")] * 2
        stderr.print(f"on {ext.get('n', '?')} synthetic radiographs of another phantom cohort: AUROC {a:.2f} "
                     f"(95% CI {ci[0]:.2f}-{ci[1]:.2f})")
    stderr.print("research use only: not validated on real patients' radiographs", style="yellow")
    for path, why in files.skipped:
        stderr.print(f"skipped {path}: {why}", style="yellow")
    rows = predict_files(files, net, label, clinical=values, on_error="record", any_view=any_view,
                         skip_unsupported=files.from_folders)
    write_rows_csv(rows, csv)
    skipped = [r for r in rows if r["status"] == "skipped"]
    failed = [r for r in rows if r["status"] == "error"]
    for r in skipped:
        stderr.print(f"skipped {r['image']}: {r['note']}", style="yellow")
    n_ap = sum(1 for r in rows if r["status"] == "ok" and r.get("view") == "AP")
    if n_ap:
        stderr.print(f"note: {n_ap} AP film(s); the bundled models learnt from PA projections (column note)",
                     style="yellow")
    n_imp = sum(1 for r in rows if r.get("clinical_imputed"))
    if n_imp:
        stderr.print(f"note: {n_imp} image(s) lacked clinical values; the training mean or reference level was "
                     "used (column clinical_imputed)", style="yellow")
    if json_out:
        from ..io import write_json

        write_json({"model": label, "arch": net.arch, "task": net.task, "trained_on": net.trained_on,
                    "preprocess": net.preprocess.to_dict(), "rows": rows}, json_out)
    scored = [r for r in rows if r["status"] == "ok"]
    secs = sum(r["seconds"] for r in scored) / max(len(scored), 1)
    stderr.print(f"{len(scored)} image(s) scored -> {csv} ({secs:.3f} s per image)"
                 + (f"; {len(skipped)} skipped" if skipped else "") + (f"; {len(failed)} failed" if failed else ""))
    if failed:
        for r in failed[:5]:
            typer.echo(f"error: {r['image']}: {r['note']}", err=True)
        if len(failed) > 5:
            typer.echo(f"error: ... and {len(failed) - 5} more (status error in {csv})", err=True)
        raise typer.Exit(1)
    if not scored:
        typer.echo(f"error: no image was scored ({len(skipped)} skipped; reasons in {csv})", err=True)
        raise typer.Exit(1)


@evaluate_app.command("cxr")
def evaluate_cxr(
    predictions: Path = typer.Argument(..., help="CSV written by 'hounsfield cxr --csv'."),
    labels: Path = typer.Argument(..., help="Labels CSV of the same images (image, patient_id, cac)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write every metric here."),
    threshold: Optional[float] = typer.Option(None, "--threshold",
                                              help="Decision threshold on p_cac_gt0 (default: the model's own)."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap resamples (patients) for the 95 % CIs."),
    by: Optional[str] = typer.Option(None, "--by", help="Also per subgroup of this labels column (e.g. sex; numeric columns in tertiles)."),
) -> None:
    """AUROC (95 % CI) for CAC > 0, >= 100, >= 400, sensitivity, specificity, kappa, calibration on a test set."""
    from ..console import stderr
    from ..cxr.evaluate import evaluate_prediction_csv

    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise InputError(f"--threshold {threshold} is not a probability")
    res = evaluate_prediction_csv(predictions, labels, threshold=threshold, n_boot=n_boot, by=by)
    if json_out:
        from ..io import write_json

        write_json(res, json_out)
    a = res["auroc_cac_gt0"]
    at = res["cac_gt0_at_threshold"]
    typer.echo(f"{res['n']} images ({res['n_cac_gt0']} with CAC > 0): AUROC {a['value']:.3f} "
               f"(95% CI {a['ci95'][0]:.3f}-{a['ci95'][1]:.3f}); at threshold {res['threshold']:.3f}: "
               f"sensitivity {at['sensitivity']:.2f}, specificity {at['specificity']:.2f}; "
               f"kappa (linear) {res['kappa_linear']:.2f}")
    for g, row in (res.get("by") or {}).get("groups", {}).items():
        ga = row["auroc_cac_gt0"]
        typer.echo(f"  {res['by']['column']} = {g}: {row['n']} images ({row['n_cac_gt0']} with CAC > 0), AUROC "
                   f"{ga['value']:.3f} (95% CI {ga['ci95'][0]:.3f}-{ga['ci95'][1]:.3f}); sensitivity "
                   f"{row['sensitivity']:.2f}, specificity {row['specificity']:.2f}")
    for key, what in (("n_labels_without_prediction", "labelled images have no prediction"),
                      ("n_unlabelled_predictions", "predictions have no label")):
        if res[key]:
            stderr.print(f"note: {res[key]} {what} (left out)")


def _trained_on(csv_path: Path, n: int, n_patients: int) -> str:
    info_path = csv_path.parent / "cohort.json"
    if info_path.exists():
        try:
            info = json.loads(info_path.read_text())
            return (f"synthetic: {n} radiographs of {n_patients} patients, {info.get('kind', 'synthetic')} "
                    f"({info.get('source', '?')}, seed {info.get('seed', '?')}); not real radiographs")
        except ValueError:
            pass
    return f"{n} radiographs of {n_patients} patients listed in {csv_path.name}"


def _parse_region(text: Optional[str]) -> Optional[tuple[float, float, float, float]]:
    if not text or text.lower() in ("none", "full"):
        return None
    if text.lower() == "heart":
        from ..cxr.preprocess import HEART_REGION

        return HEART_REGION
    try:
        vals = tuple(float(v) for v in text.split(","))
    except ValueError:
        vals = ()
    if len(vals) != 4:
        raise InputError(f"--region must be 'heart' or four fractions top,bottom,left,right; got '{text}'")
    return vals  # type: ignore[return-value]


@train_app.command("cxr")
def train_cxr(
    data: Path = typer.Option(..., "--data", help="Labels CSV (image, patient_id, cac[, clinical columns])."),
    out: Path = typer.Option(Path("cxr-train"), "-o", "--out", help="Output folder (metrics, predictions, figures, model)."),
    task: str = typer.Option("classify", "--task", help="classify (CAC>0, >=100, >=400) or regress (log CAC)."),
    arch: str = typer.Option("densenet121", "--arch", help="densenet121, resnet18 or efficientnet-b0."),
    kfold: int = typer.Option(5, "--kfold", help="Number of cross-validation folds."),
    epochs: int = typer.Option(50, "--epochs", help="Epochs per fold."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate (default 3e-4 classify, 1e-3 regress)."),
    wd: float = typer.Option(1e-4, "--wd", help="Weight decay."),
    batch_size: int = typer.Option(8, "--batch-size", "--batchsize", help="Images per batch."),
    momentum: float = typer.Option(0.9, "--momentum", help="SGD momentum, or AdamW beta1."),
    optimizer: str = typer.Option("adamw", "--optimizer", help="adamw or sgd."),
    size: int = typer.Option(224, "--size", help="Input size: 224, 512 or 1024 (published: resize 1248, crop 1024)."),
    equalize: bool = typer.Option(True, "--equalize/--no-equalize", help="Histogram equalisation (published: on)."),
    val_fraction: float = typer.Option(0.2, "--val-fraction", help="Inner validation share of each training part."),
    augment: bool = typer.Option(True, "--augment/--no-augment", help="Small affine and contrast augmentation."),
    patience: int = typer.Option(0, "--patience", help="Stop a fold after this many epochs without validation gain (0: never)."),
    seed: int = typer.Option(0, "--seed", help="Seed for folds, initialisation and augmentation."),
    viz: bool = typer.Option(False, "--viz", help="Save loss curves, ROC curves and confusion matrices (PNG)."),
    save: bool = typer.Option(False, "--save", help="Save the model (OUT/model.pt + model.json)."),
    pretrained: bool = typer.Option(False, "--pretrained", help="Start from pretrained weights (needs --init FILE)."),
    init: Optional[Path] = typer.Option(None, "--init", help="Local state-dict file to initialise the encoder."),
    image_root: Optional[Path] = typer.Option(None, "--image-root", help="Folder the CSV's image paths are relative to."),
    trained_on: Optional[str] = typer.Option(None, "--trained-on", help="Statement of the training data saved with the model."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap resamples for the 95% CIs."),
    region: Optional[str] = typer.Option(None, "--region", help="Cut-out before resizing: 'heart' (heart + mediastinum) or 'top,bottom,left,right' fractions; recorded in the model config."),
    max_folds: Optional[int] = typer.Option(None, "--max-folds", help="Train and evaluate only the first N outer folds (time budget)."),
    bn_images: int = typer.Option(0, "--bn-images", help="Recompute BatchNorm statistics on this many training images per epoch (0: all)."),
    width: float = typer.Option(1.0, "--width", help="resnet18 only: channel multiplier (0.25: 16-128 channels)."),
    stem_stride: int = typer.Option(1, "--stem-stride", help="resnet18 only: stride of the 7x7 stem convolution (1 MONAI default, 2 original ResNet)."),
    cache: Optional[Path] = typer.Option(None, "--cache", help="Keep the preprocessed inputs in this .npz and reuse them when images and preprocessing match."),
    device: str = typer.Option("auto", "--device", help="auto (a GPU when one is visible), cpu or cuda. Several GPUs or machines: start this command with torchrun (see docs/cxr.md)."),
    clinical: Optional[str] = typer.Option(None, "--clinical", help="Labels-CSV columns given to the network with the image, e.g. age,sex (numbers standardised, text one-hot; saved with the model)."),
    aux: Optional[str] = typer.Option(None, "--aux", help="Labels-CSV columns the network also learns to predict from the image, e.g. age,sex (auxiliary targets, not inputs; predictions in the output as aux_*)."),
    aux_weight: float = typer.Option(0.5, "--aux-weight", help="Weight of the auxiliary losses."),
    aux_map: Optional[Path] = typer.Option(None, "--aux-map", help="Calcium maps (calcium_maps.npz of 'hounsfield phantom cxr --n N --maps'; format in hounsfield.cxr.calcium_map) as a dense auxiliary target: the network also learns where on the film the calcium is (training only; resnet18, --size a multiple of 16)."),
    aux_map_weight: float = typer.Option(1.0, "--aux-map-weight", help="Weight of the calcium-map loss."),
) -> None:
    """k-fold cross-validated training (patient-grouped, inner validation for model selection).

    Several GPUs or machines: torchrun --standalone --nproc_per_node N -m hounsfield train cxr ... (PyTorch DDP).
    """
    from ..console import stderr
    from ..cxr.clinical import parse_columns
    from ..cxr.data import read_labels_csv
    from ..cxr.train import TrainConfig, cross_validate

    records = read_labels_csv(data, image_root)
    box = _parse_region(region)
    cfg = TrainConfig(task=task, arch=arch, kfold=kfold, epochs=epochs, lr=lr, wd=wd, batch_size=batch_size,
                      momentum=momentum, optimizer=optimizer, size=size, equalize=equalize,
                      val_fraction=val_fraction, augment=augment, patience=patience, seed=seed, n_boot=n_boot,
                      pretrained=pretrained, init=str(init) if init else None, threads=threads, region=box,
                      max_folds=max_folds, bn_images=bn_images, width=width, stem_stride=stem_stride,
                      cache=str(cache) if cache else None, device=device, clinical=parse_columns(clinical),
                      aux=parse_columns(aux), aux_weight=aux_weight,
                      aux_map=str(aux_map) if aux_map else None, aux_map_weight=aux_map_weight)
    n_pat = len({r.patient_id for r in records})
    statement = trained_on or _trained_on(data, len(records), n_pat)
    command = "hounsfield " + " ".join(sys.argv[1:]) if sys.argv and "hounsfield" in sys.argv[0] else ""
    result = cross_validate(records, cfg, out, viz=viz, save=out / "model.pt" if save else None,
                            trained_on=statement, log=lambda s: stderr.print(s), command=command)
    if "rank" in result:  # another process of a torchrun job: rank 0 reports
        return
    p = result["pooled"]
    a = p["auroc_cac_gt0"]
    stderr.print(f"pooled out-of-fold AUROC CAC>0: {a['value']:.3f} (95% CI {a['ci95'][0]:.3f}-{a['ci95'][1]:.3f}); "
                 f"kappa {p['kappa_linear']:.3f}; {result['seconds']['total']:.0f} s")
    typer.echo(str(out / "cv_metrics.json"))


@phantom_app.command("cxr")
def phantom_cxr(
    out: Path = typer.Option(..., "-o", "--out", help="Output folder (images/, labels.csv, cohort.json)."),
    n: int = typer.Option(0, "--n", help="N chest phantoms (hounsfield.phantoms) projected directly, no CT rendered."),
    start: int = typer.Option(0, "--start", help="With --n: index of the first patient."),
    arch_link: float = typer.Option(0.8, "--arch-link", help="With --n: correlation of aortic arch calcification with the coronary burden (0: default phantom)."),
    zero_cac_rate: float = typer.Option(0.5, "--zero-cac-rate", help="With --n: share of patients without coronary calcium."),
    voxel_mm: float = typer.Option(2.0, "--voxel-mm", help="With --n: grid on which the anatomy is projected (mm)."),
    arch_style: str = typer.Option("plates", "--arch-style", help="With --n and --arch-link > 0: where the arch calcium lies, plates (anywhere on the arch) or knob (at the aortic knob, as graded on PA films)."),
    age_signs: bool = typer.Option(False, "--age-signs", help="With --n: costal cartilage calcification by age and sex (a sign of age on films; phantoms/cartilage.py)."),
    truth_from: Optional[Path] = typer.Option(None, "--truth-from", help="With --n: labels.csv of an earlier run of the same seed; its CAC is reused where no aortic structure reaches the truth's crop box."),
    workers: int = typer.Option(1, "--workers", min=1, help="With --n: parallel processes (each film depends only on --seed and its index)."),
    maps: bool = typer.Option(False, "--maps", help="With --n: also calcium_maps.npz, where each film's coronary calcium projects (for 'train cxr --aux-map')."),
    from_dir: Optional[Path] = typer.Option(None, "--from", help="Cohort folder from 'hounsfield phantom chest'."),
    simple: int = typer.Option(0, "--simple", help="Instead of --from: N simple synthetic torsos (no phantoms package needed)."),
    fmt: str = typer.Option("png", "--format", help="png (16-bit), dicom, or both."),
    seed: int = typer.Option(0, "--seed", help="Seed (noise; torso anatomy with --simple)."),
    p_zero: float = typer.Option(0.5, "--p-zero", help="With --simple: share of patients without calcium."),
    pixel_mm: Optional[float] = typer.Option(None, "--pixel-mm", help="Detector pixel size (mm; default 1.0 with --n, else 0.5)."),
    scatter_fraction: float = typer.Option(0.15, "--scatter-fraction", help="Scatter as a fraction of the blurred image."),
    detector_blur_mm: float = typer.Option(0.35, "--detector-blur-mm", help="Detector blur (Gaussian sigma, mm)."),
    photons: float = typer.Option(3e6, "--photons", help="Incident photons per mm^2 (0: no noise)."),
) -> None:
    """Synthetic PA chest radiographs (DRRs) with each patient's CAC score, plus labels.csv."""
    from ..console import progress_bar
    from ..cxr.cohort import drr_cohort, phantom_cohort, torso_cohort
    from ..cxr.drr import DRRSettings

    if sum([n > 0, from_dir is not None, simple > 0]) != 1:
        raise InputError("give one of --n N (chest phantoms), --from DIR (a 'hounsfield phantom chest' cohort) "
                         "or --simple N")
    if not 0 <= arch_link < 1:
        raise InputError(f"--arch-link must be in [0, 1), got {arch_link}")
    from ..phantoms.aortic import ARCH_STYLES

    if arch_style not in ARCH_STYLES:
        raise InputError(f"--arch-style must be one of {', '.join(ARCH_STYLES)}, got '{arch_style}'")
    if maps and n <= 0:
        raise InputError("--maps needs --n (the chest phantoms know where their plaques are)")
    formats = {"png": ["png"], "dicom": ["dicom"], "both": ["png", "dicom"]}.get(fmt)
    if formats is None:
        raise InputError(f"--format must be png, dicom or both, got '{fmt}'")
    settings = DRRSettings(pixel_mm=pixel_mm or (1.0 if n > 0 else 0.5), scatter_fraction=scatter_fraction, detector_blur_mm=detector_blur_mm,
                           photons_per_mm2=photons or None)
    with progress_bar() as bar:
        task = bar.add_task("radiographs", total=None)
        update = lambda i, n: bar.update(task, completed=i, total=n)  # noqa: E731
        if n > 0:
            csv_path = phantom_cohort(n, out, settings, formats, seed, start, arch_link, zero_cac_rate, voxel_mm,
                                      update, truth_from=truth_from, arch_style=arch_style,
                                      age_signs=age_signs, maps=maps, workers=workers)
        elif from_dir is not None:
            csv_path = drr_cohort(from_dir, out, settings, formats, seed, update)
        else:
            csv_path = torso_cohort(simple, out, settings, formats, seed, p_zero, update)
    typer.echo(str(csv_path))
