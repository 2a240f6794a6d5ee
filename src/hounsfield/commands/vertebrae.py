"""``hounsfield vertebrae``, ``hounsfield train vertebrae``, ``hounsfield evaluate vertebrae``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..cli import app, evaluate_app, train_app


@app.command("vertebrae")
def vertebrae(
    input: Path = typer.Argument(..., help="CT: DICOM folder/file or image file (.nii/.nii.gz/.nrrd/.mha)."),
    json_out: Path = typer.Option(..., "--json", help="Write {'vertebrae': [{label, centroid_mm, confidence}]} here."),
    labels: Optional[Path] = typer.Option(None, "--labels", help="Also write a label map (VerSe numbers) on the input grid."),
    ctd: Optional[Path] = typer.Option(None, "--ctd", help="Also write VerSe centroid JSON (voxel units of the input)."),
    model: Optional[str] = typer.Option(None, "--model", help="Model name or parameter file (default: bundled)."),
    models_dir: Optional[Path] = typer.Option(None, "--models", help="Folder of user-trained models (manifest.json)."),
) -> None:
    """Detect, identify (C1..L5, T13/L6) and localise vertebral bodies; centroids in the input's RAS+ mm."""
    import time

    from ..io import require_ct, write_json
    from ..io.readers import read
    from ..vertebrae.formats import write_verse_ctd
    from ..vertebrae.model import load_model
    from ..vertebrae.predict import label_map

    t0 = time.time()
    vol = require_ct(read(input), "hounsfield vertebrae")
    mdl = load_model(model, models_dir)
    det = mdl.detect(vol)
    out = det.to_dict()
    out["input"] = str(input)
    out["frame"] = "world RAS+ mm of the input (vertebral body centres)"
    out["model"] = {"name": mdl.name, **mdl.summary}
    out["seconds"] = round(time.time() - t0, 2)
    write_json(out, json_out)
    if ctd is not None:
        write_verse_ctd(ctd, det.centroids, vol)
    if labels is not None:
        from ..io import write

        write(label_map(det, vol), labels)
    names = " ".join(c.name for c in sorted(det.centroids, key=lambda c: c.xyz[2]))
    typer.echo(f"{len(det.centroids)} vertebrae ({names}), anchor: {det.anchor}, {out['seconds']} s -> {json_out}")


@train_app.command("vertebrae")
def train_vertebrae(
    data: Path = typer.Argument(..., help="Folder of annotated scans: VerSe layout, image + .lml, or phantom folders."),
    output: Path = typer.Option(..., "-o", "--output", help="Models folder: parameter file + manifest entry go here."),
    name: str = typer.Option("vertebrae-anatomical", "--name", help="Model name in the manifest."),
    seed: int = typer.Option(0, "--seed", help="Seed (order and subsampling of the scans)."),
    max_cases: Optional[int] = typer.Option(None, "--max-cases", min=1, help="Use at most this many scans."),
    trained_on: str = typer.Option("", "--trained-on", help="What the data is, for the manifest (default: the folder)."),
) -> None:
    """Fit the vertebra detector's parameters to annotated scans and register the model."""
    import datetime
    import shlex
    import sys

    from ..models.registry import register_model
    from ..vertebrae.model import save_params
    from ..vertebrae.train import find_cases, fit_params

    cases = find_cases(data)
    typer.echo(f"{len(cases)} annotated scans in {data}")
    fit = fit_params(cases, seed=seed, max_cases=max_cases, progress=lambda s: typer.echo(f"  {s}"))
    output.mkdir(parents=True, exist_ok=True)
    weights = output / f"{name.replace('-', '_')}.json"
    config = {"seed": seed, "grid": fit["grid"], "cases": fit["cases"], "seconds": fit["seconds"]}
    save_params(fit["params"], weights, {"name": name})
    (output / f"{name.replace('-', '_')}.config.json").write_text(json.dumps(config, indent=1) + "\n")
    m = fit["metrics"]
    register_model(output, weights, name=name, task="vertebrae", trained_on=trained_on or f"{data} ({len(fit['cases'])} scans)",
                   command="hounsfield " + shlex.join(sys.argv[1:]) if "train" in sys.argv[1:3]
                   else f"hounsfield train vertebrae {shlex.quote(str(data))} -o {shlex.quote(str(output))} --seed {seed}",
                   input={"spacing_mm": fit["params"]["spacing_mm"], "units": "HU"}, config=config,
                   metrics={"training": {k: m[k] for k in ("identification_rate", "mean_error_mm", "median_error_mm", "n_vertebrae")}},
                   created=datetime.date.today().isoformat())
    typer.echo(f"training scans: identification {m['identification_rate']:.3f}, mean error {m['mean_error_mm']:.2f} mm "
               f"({fit['seconds']} s) -> {weights}")


@evaluate_app.command("vertebrae")
def evaluate_vertebrae(
    pred_dir: Path = typer.Argument(..., help="Predictions: CASE.json (--json output), CASE_ctd.json or CASE.lml."),
    truth_dir: Path = typer.Argument(..., help="References: VerSe ctd/mask, .lml, or phantom folders (truth.json)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the summary and per-scan tables as JSON."),
    only: Optional[str] = typer.Option(None, "--labels", help="Restrict the reference to these labels, e.g. S1,L5,L4 or T12-S1."),
    radius: float = typer.Option(20.0, "--radius", help="Identification radius in mm (VerSe: 20)."),
    quiet: bool = typer.Option(False, "--quiet", help="Only the summary, no per-scan tables."),
) -> None:
    """Identification rate (VerSe rule), localisation error (mean, median, per region) and per-scan tables."""
    from ..io import write_json
    from ..vertebrae.evaluate import evaluate_scan, format_table, load_case_dir, summarise
    from ..vertebrae.formats import VERSE_NAMES, label_number, order_key

    preds = load_case_dir(pred_dir, "prediction")
    refs = load_case_dir(truth_dir, "reference")
    keep = None
    if only:
        keep = set()
        for part in only.split(","):
            if "-" in part:
                a, b = (order_key(label_number(x)) for x in part.split("-"))
                lo, hi = min(a, b), max(a, b)
                keep |= {lab for lab in VERSE_NAMES if lo <= order_key(lab) <= hi and lab != 28}
            else:
                keep.add(label_number(part))
    results = []
    missing = sorted(set(refs) - set(preds))
    for case in sorted(refs):
        if case not in preds:
            continue
        r = evaluate_scan(preds[case], refs[case], case, radius, keep)
        results.append(r)
        if not quiet:
            typer.echo(format_table(r) + "\n")
    if not results:
        raise typer.BadParameter(f"no case of {truth_dir} has a prediction in {pred_dir}")
    s = summarise(results)
    typer.echo(f"{s['n_scans']} scans, {s['n_vertebrae']} vertebrae: identification {100 * s['identification_rate']:.1f} %, "
               f"localisation error mean {s['mean_error_mm']:.2f} mm, median {s['median_error_mm']:.2f} mm")
    for region, v in s["per_region"].items():
        typer.echo(f"  {region:9s} n={v['n']:3d} identification {100 * v['identification_rate']:.1f} % "
                   f"mean {v['mean_error_mm']:.2f} mm median {v['median_error_mm']:.2f} mm")
    if missing:
        typer.echo(f"  no prediction for {len(missing)} case(s): {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    if json_out:
        write_json({"summary": s, "missing": missing, "scans": [r.to_dict() for r in results]}, json_out)
