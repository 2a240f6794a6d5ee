"""``hounsfield calcium INPUT ...`` and ``hounsfield calcium compare GATED NONGATED``."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup

from ..cli import app
from ..errors import InputError


def fail(message: str) -> None:
    """Stop with a one-line message (the CLI prints it and exits non-zero)."""
    raise InputError(message)


class _ScoreByDefault(TyperGroup):
    """``hounsfield calcium INPUT`` means ``hounsfield calcium score INPUT``."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["score", *args]
        return super().parse_args(ctx, args)


calcium_app = typer.Typer(cls=_ScoreByDefault, no_args_is_help=True,
                          help="Coronary calcium score of a gated or non-gated chest CT; 'compare' for agreement.")
app.add_typer(calcium_app, name="calcium")

CSV_FIELDS = ["patient_id", "input", "agatston", "volume_mm3", "mass_mg", "risk_category", "n_lesions", "gated",
              "protocol", "slice_increment_mm", "kvp", "agatston_LM", "agatston_LAD", "agatston_LCX", "agatston_RCA",
              "agatston_aorta", "agatston_other", "mass_pv_mg"]


def patient_id_of(path: Path, meta_id: str | None = None) -> str:
    """A pairing key: the file stem without ``_gated``/``_non_gated``, or the folder name."""
    name = path.name
    for ext in (".nii.gz", ".nii", ".nrrd", ".mha", ".mhd", ".dcm"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    for suffix in ("_non_gated", "non_gated", "_nongated", "nongated", "_gated", "gated", "_ct", "ct"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    name = name.strip("_-")
    if not name:  # a file or folder named just "gated" / "non_gated" / "ct": the patient's folder names it
        name = path.resolve().parent.name
    return name or (meta_id or "exam")


def _read_roi(path: Path):
    """A label map for --roi: NIfTI / NRRD / MHA, or a DICOM SEG (segment numbers as labels)."""
    from ..io import read

    if path.is_file() and not path.name.endswith((".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")):
        from ..io import has_dicom_marker

        if has_dicom_marker(path):
            import pydicom

            if str(getattr(pydicom.dcmread(path, stop_before_pixels=True), "Modality", "")) == "SEG":
                from ..io.export import read_seg

                return read_seg(path)
    return read(path)


def _append_csv(path: Path, row: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    fields = CSV_FIELDS
    if not new:  # appending to a file written by another version: keep its columns
        with open(path, newline="") as fh:
            fields = next(csv.reader(fh), None) or CSV_FIELDS
    with open(path, "a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        if new:
            w.writeheader()
        w.writerow(row)


@calcium_app.command("score")
def score(
    input: Path = typer.Argument(..., help="DICOM folder or image file (.nii.gz, .nrrd, .mha)."),
    gated: bool = typer.Option(False, "--gated", help="ECG-gated calcium-score exam: score the slices as stored."),
    non_gated: bool = typer.Option(False, "--non-gated", help="Non-gated chest CT: fake gated to 3 mm first."),
    auto: bool = typer.Option(False, "--auto", help="Decide from metadata and slice geometry (the default)."),
    roi: Optional[str] = typer.Option(None, "--roi", help="Label file (NIfTI/NRRD/MHA or DICOM SEG, aligned in world space): one score per "
                                      "label; or 'all': the whole volume, no anatomy."),
    masks: Optional[Path] = typer.Option(None, "--masks", help="TotalSegmentator output folder (heart.nii.gz, "
                                         "aorta.nii.gz, vertebrae_*, rib_*, sternum.nii.gz) or multilabel file."),
    segmenter: str = typer.Option("builtin", "--segmenter", help="builtin | totalsegmentator (if installed)."),
    kvp: Optional[int] = typer.Option(None, "--kvp", help="Tube voltage table: 70, 80, 100, 120 (default), 135."),
    mass_calibration: Optional[float] = typer.Option(None, "--mass-calibration",
                                                     help="c in mg/(HU mm^3); without it mass is null."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the full result as JSON."),
    csv_out: Optional[Path] = typer.Option(None, "--csv", help="Append one row (totals + per-artery columns)."),
    overlay: Optional[Path] = typer.Option(None, "--overlay", help="Write a PNG: lesions by artery + MIP."),
    save_fake_gated: Optional[Path] = typer.Option(None, "--save-fake-gated", help="Folder for "
                                                   "non_gated_FakeGated_avg_slices=N.nii.gz."),
    increment: float = typer.Option(3.0, "--increment", help="Fake-gated increment: 3.0 or 1.5 mm."),
    risk_scheme: str = typer.Option("default", "--risk-scheme", help="default | four | four-300 | lung-screening."),
    allow_contrast: bool = typer.Option(False, "--allow-contrast", help="Score a contrast-enhanced scan anyway "
                                        "(with a warning; not an Agatston score)."),
    classifier: str = typer.Option("default", "--classifier", help="Lesion classifier model name, or 'none'."),
    models: Optional[Path] = typer.Option(None, "--models", help="Folder of user-trained models (manifest.json)."),
) -> None:
    """Coronary artery calcium score (Agatston, volume, mass) of one CT exam."""
    import json

    from ..anatomy import read_totalseg_masks, run_totalsegmentator
    from ..calcium import ScoringOptions, analyse
    from ..calcium import save_fake_gated as write_fake_gated
    from ..io import read, require_ct, write_json

    if sum([gated, non_gated, auto]) > 1:
        fail("choose one of --gated, --non-gated, --auto")
    mode = "gated" if gated else "non-gated" if non_gated else "auto"
    if segmenter not in ("builtin", "totalsegmentator"):
        fail("--segmenter must be 'builtin' or 'totalsegmentator'")
    opts = ScoringOptions(kvp=kvp if kvp is not None else 120, mass_calibration=mass_calibration,
                          risk_scheme=risk_scheme)
    volume = read(input)
    require_ct(volume, "calcium")
    roi_arg = None
    if roi is not None:
        roi_arg = "all" if roi == "all" else _read_roi(Path(roi))
    anatomy = None
    if masks is not None:
        anatomy = read_totalseg_masks(masks)
    elif segmenter == "totalsegmentator" and roi is None:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            anatomy = run_totalsegmentator(volume, tmp)
    model = None
    if roi is None and classifier != "none":
        from ..calcium.classify import load_classifier

        model = load_classifier(classifier, models)
    result = analyse(volume, mode=mode, roi=roi_arg, masks=anatomy, options=opts, increment_mm=increment,
                     allow_contrast=allow_contrast, classifier=model)
    d = result.to_dict()
    d = {"input": str(input), "patient_id": patient_id_of(input, volume.meta.patient_id), **d}
    from .. import __version__

    d["hounsfield_version"] = __version__
    if json_out:
        write_json(d, json_out)
    if csv_out:
        row = {k: d.get(k) for k in CSV_FIELDS}
        for name in ("LM", "LAD", "LCX", "RCA", "aorta", "other"):
            reg = d["regions"].get(name)
            row[f"agatston_{name}"] = reg["agatston"] if reg else ""
        row["mass_mg"] = "" if d["mass_mg"] is None else d["mass_mg"]
        row["mass_pv_mg"] = "" if d.get("mass_pv_mg") is None else d["mass_pv_mg"]
        _append_csv(csv_out, row)
    if save_fake_gated:
        if result.fake_gated is None:
            typer.echo("note: gated exam, no fake-gated volume to save", err=True)
        else:
            p = write_fake_gated(result.fake_gated, save_fake_gated)
            typer.echo(f"fake gated: {p}", err=True)
    if overlay:
        from ..calcium.overlay import write_overlay

        write_overlay(result, overlay)
    for w in d["warnings"]:
        typer.echo(f"warning: {w}", err=True)
    mass = "null" if d["mass_mg"] is None else f"{d['mass_mg']:.1f} mg (partial-volume corrected {d['mass_pv_mg']:.1f} mg)"
    regs = ", ".join(f"{k} {v['agatston']:.1f}" for k, v in d["regions"].items())
    typer.echo(f"{input}: Agatston {d['agatston']:.1f} ({d['risk_category']}), volume {d['volume_mm3']:.1f} mm3, "
               f"mass {mass}, {d['n_lesions']} lesions; {'gated' if d['gated'] else 'non-gated'}; "
               f"increment {d['slice_increment_mm']:g} mm; regions: {regs or 'none'}")
    if not (json_out or csv_out):
        typer.echo(json.dumps({k: d[k] for k in ("agatston", "volume_mm3", "mass_mg", "risk_category")}))


@calcium_app.command("compare")
def compare(
    gated_results: Path = typer.Argument(..., help="CSV of the gated exams (patient_id, agatston)."),
    nongated_results: Path = typer.Argument(..., help="CSV of the non-gated exams of the same patients."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the statistics as JSON."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Bland-Altman PNG (default: beside the second CSV)."),
    column: str = typer.Option("agatston", "--column", help="Score column to compare."),
    risk_scheme: str = typer.Option("default", "--risk-scheme"),
    n_bootstrap: int = typer.Option(2000, "--bootstrap", help="Bootstrap replicates for the 95 % CIs."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Agreement of non-gated with gated scores: ICC(2,1), Spearman, Bland-Altman, weighted kappa, confusion."""
    from ..calcium.agreement import agreement, bland_altman_plot, read_scores_csv
    from ..io import write_json

    a = read_scores_csv(gated_results, column)
    b = read_scores_csv(nongated_results, column)
    ids = sorted(set(a) & set(b))
    missing = (set(a) ^ set(b))
    if len(ids) < 3:
        fail(f"only {len(ids)} patients appear in both files (pairing by patient_id)")
    ga = [a[i] for i in ids]
    nb = [b[i] for i in ids]
    ag = agreement(ga, nb, scheme=risk_scheme, n_bootstrap=n_bootstrap, seed=seed)
    png = plot or nongated_results.with_name(nongated_results.stem + "_bland_altman.png")
    bland_altman_plot(ga, nb, png)
    d = ag.to_dict()
    d["unpaired"] = sorted(missing)
    d["plot"] = str(png)
    if json_out:
        write_json(d, json_out)
    ci = ag.ci95

    def f(name: str, v: float) -> str:
        lo, hi = ci.get(name, (float("nan"), float("nan")))
        return f"{v:.3f} [{lo:.3f}, {hi:.3f}]"

    typer.echo(f"patients paired: {ag.n}" + (f" ({len(missing)} unpaired, ignored)" if missing else ""))
    typer.echo(f"ICC(2,1) absolute agreement: {f('icc', ag.icc)}")
    typer.echo(f"Spearman rho: {f('spearman', ag.spearman)}")
    typer.echo(f"Bland-Altman bias: {f('bias', ag.bias)}; limits {ag.loa_lower:.1f} to {ag.loa_upper:.1f} "
               f"(CI lower {ci.get('loa_lower', (0, 0))[0]:.1f}..{ci.get('loa_lower', (0, 0))[1]:.1f}, "
               f"upper {ci.get('loa_upper', (0, 0))[0]:.1f}..{ci.get('loa_upper', (0, 0))[1]:.1f})")
    typer.echo(f"linearly weighted kappa ({risk_scheme}): {f('kappa', ag.kappa)}; "
               f"category agreement {f('category_agreement', ag.category_agreement)}")
    typer.echo("risk categories (rows gated, columns non-gated): " + " | ".join(ag.categories))
    for lab, row in zip(ag.categories, ag.confusion):
        typer.echo(f"  {lab:>8}: " + " ".join(f"{x:5d}" for x in row))
    typer.echo(f"Bland-Altman plot: {png}")


from ..cli import train_app  # noqa: E402


@train_app.command("calcium")
def train_calcium(
    data: list[Path] = typer.Option(..., "--data", help="Phantom cohort folder (hounsfield phantom chest) or a folder "
                                    "with imagesTr/ + labelsTr/ (repeatable)."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder for the model, its config and manifest.json."),
    labels: str = typer.Option("auto", "--labels", help="auto (phantoms) | orcascore | 4artery."),
    mode: str = typer.Option("auto", "--mode", help="Your images: gated | non-gated | auto."),
    seed: int = typer.Option(0, "--seed"),
    name: str = typer.Option("calcium-lesions", "--name", help="Model name in the manifest."),
    workers: int = typer.Option(1, "--workers", min=1),
    candidates: Optional[Path] = typer.Option(None, "--candidates", help="Cache file (.npz) of the extracted "
                                              "candidates: written on the first run, reused by later runs on the same "
                                              "exams (re-fitting without re-extracting)."),
) -> None:
    """Train the lesion classifier (coronary LM/LAD/LCX/RCA vs other) on labelled CTs."""
    import shlex
    import sys

    from ..calcium.train import discover_cases, train_classifier
    from ..console import progress_bar

    cases = [c for d in data for c in discover_cases(d, labels=labels, mode=mode)]
    synthetic = labels in ("auto", "phantom")
    trained_on = (f"{'synthetic: hounsfield phantom chest patients' if synthetic else 'user data'} "
                  f"({len(cases)} exams from {', '.join(str(d) for d in data)})")
    command = "hounsfield " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["train"] else \
        f"hounsfield train calcium --data {' --data '.join(map(str, data))} -o {output} --labels {labels} --seed {seed}"
    with progress_bar() as bar:
        task = bar.add_task("candidates", total=len(cases))
        res = train_classifier(cases, output, seed=seed, name=name, command=command, trained_on=trained_on,
                               workers=workers, cache=candidates, progress=lambda i, n: bar.update(task, completed=i))
    m = res["metrics"]
    typer.echo(f"{res['entry'].path}: {m['n_candidates']} candidates from {m['n_exams']} exams; "
               f"validation {json.dumps(m.get('validation', {}).get('f1', {}))}")


import json  # noqa: E402


@train_app.command("heart")
def train_heart(
    data: list[Path] = typer.Option(..., "--data", help="Phantom cohort folder(s) from hounsfield phantom chest "
                                    "(patients with *_heart.nii.gz and *_bones.nii.gz maps; repeatable)."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder for the weights, their config and manifest.json."),
    epochs: int = typer.Option(12, "--epochs", min=1),
    slices_per_epoch: int = typer.Option(2000, "--slices-per-epoch", min=16),
    batch_size: int = typer.Option(16, "--batch-size", min=1),
    lr: float = typer.Option(2e-3, "--lr"),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto (a GPU when one is visible), cpu or cuda. Several GPUs: start this command with torchrun."),
) -> None:
    """Train the built-in heart/bone segmenter (2.5-D U-Net on 3 mm slices) used to find the heart region.

    Several GPUs or machines: torchrun --standalone --nproc_per_node N -m hounsfield train heart ... (PyTorch DDP).
    """
    import shlex
    import sys

    from ..anatomy.heart_model import train_heart_model

    for d in data:
        if not d.is_dir():
            fail(f"{d}: not a folder")
    command = ("hounsfield " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["train"] else
               f"hounsfield train heart --data {' --data '.join(map(str, data))} -o {output} --epochs {epochs} "
               f"--slices-per-epoch {slices_per_epoch} --seed {seed}")
    trained_on = f"synthetic: hounsfield phantom chest patients ({', '.join(str(d) for d in data)}); no real patient data"
    res = train_heart_model([str(d) for d in data], output, epochs=epochs, slices_per_epoch=slices_per_epoch,
                            batch_size=batch_size, lr=lr, seed=seed, command=command, trained_on=trained_on,
                            progress=lambda msg: typer.echo(msg, err=True), device=device)
    if "rank" in res:  # another process of a torchrun job: rank 0 reports
        return
    m = res["metrics"]
    typer.echo(f"{res['entry'].path}: {m['n_exams']} exams, validation Dice heart {m['val_dice_heart_mean']} "
               f"(min {m['val_dice_heart_min']}), bone {m['val_dice_bone_mean']}")
