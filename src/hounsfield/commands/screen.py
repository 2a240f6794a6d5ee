"""``hounsfield screen INPUT -o OUTDIR`` and ``hounsfield demo``."""

from __future__ import annotations

from pathlib import Path

import typer

from ..cli import app


def _print_sections(res) -> None:  # noqa: ANN001
    for s in res.sections:
        line = f"  {s.title}: {s.status}"
        if s.status != "done":
            line += f" ({s.reason})"
        elif s.summary:
            line += " - " + "; ".join(f"{a} {b}" for a, b in s.summary[:2])
        typer.echo(line)


@app.command()
def screen(
    input: Path = typer.Argument(..., help="A CT (DICOM folder or image file), a folder with cta.* + ncct.*, or a radiograph."),
    output: Path = typer.Option(..., "-o", "--output", help="Output folder."),
    models: Path = typer.Option(None, "--models", help="Folder of user-trained models (manifest.json), searched first."),
    no_dicom: bool = typer.Option(False, "--no-dicom", help="Do not write DICOM SEG/SR even when the input is DICOM."),
) -> None:
    """Run every analysis that applies to one exam; write results.json, masks, overlays and report.html."""
    from ..screen import screen as run

    res = run(input, output, models_dir=models, dicom_outputs=not no_dicom)
    typer.echo(f"{res.exam}: {res.kind}, {res.seconds:.1f} s")
    _print_sections(res)
    typer.echo(f"report: {output / 'report.html'}")


@app.command()
def demo(
    output: Path = typer.Option(Path("hounsfield-demo"), "-o", "--output", help="Where to write the demo."),
    seed: int = typer.Option(2, "--seed", help="Synthetic patient seed (the default has coronary calcium)."),
    matrix: int = typer.Option(512, "--matrix", help="In-plane matrix of the synthetic scans."),
) -> None:
    """Generate one synthetic patient (gated + non-gated CT, as DICOM) and screen both exams.

    Everything is synthetic and made on this machine: no download, no real
    patient. The truth of the synthetic patient is printed beside the results.
    """
    import json
    import time

    from ..phantoms import generate_patient, write_patient
    from ..screen import screen as run

    t0 = time.perf_counter()
    patient = output / "patient"
    result = generate_patient(seed=seed, index=0, matrix=matrix, gated_matrix=matrix, coverage="chest_abdomen",
                              thickness=1.25, zero_cac_rate=0.05)
    write_patient(result, patient, formats=("dicom",), masks=False)
    truth = json.loads((patient / "truth.json").read_text())
    typer.echo(f"synthetic patient written to {patient} ({time.perf_counter() - t0:.1f} s): "
               f"true Agatston {truth['agatston']:.1f} ({truth['risk_category']}), "
               f"T12 at z = {truth['levels']['T12_z_mm']:.1f} mm, L3 at z = {truth['levels']['L3_z_mm']:.1f} mm")
    for exam in ("gated", "non_gated"):
        res = run(patient / exam, output / f"screen_{exam}", exam_id=f"demo {exam}")
        typer.echo(f"{exam}: {res.seconds:.1f} s")
        _print_sections(res)
        typer.echo(f"  report: {output / f'screen_{exam}' / 'report.html'}")
    typer.echo(f"demo finished in {time.perf_counter() - t0:.1f} s")
