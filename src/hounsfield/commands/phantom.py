"""``hounsfield phantom chest``: synthetic chest/abdomen CT patients with exact ground truth."""

from __future__ import annotations

from pathlib import Path

import typer

from ..cli import phantom_app


@phantom_app.command("chest")
def chest(
    n: int = typer.Option(1, "--n", min=1, help="Number of patients."),
    seed: int = typer.Option(0, "--seed", help="Cohort seed: the same seed gives byte-identical patients."),
    output: Path = typer.Option(..., "-o", "--output", help="Output folder (one sub-folder per patient)."),
    fmt: list[str] = typer.Option(["nifti"], "--format", help="nifti, dicom, calcium-study, verse, mip (repeatable or comma-separated)."),
    dicom: bool = typer.Option(False, "--dicom", help="Also write DICOM series (same as --format dicom)."),
    verse: bool = typer.Option(False, "--verse", help="Also write the VerSe layout."),
    mip: bool = typer.Option(False, "--mip", help="Also write mips.npz for the cohort."),
    workers: int = typer.Option(1, "--workers", min=1, help="Parallel processes."),
    start: int = typer.Option(0, "--start", min=0, help="Index of the first patient (to extend a cohort)."),
    matrix: int = typer.Option(512, "--matrix", min=32, help="In-plane matrix of the non-gated volume."),
    gated_matrix: int = typer.Option(512, "--gated-matrix", min=32, help="In-plane matrix of the gated volume."),
    coverage: str = typer.Option("random", "--coverage", help="Non-gated z coverage: chest, chest_abdomen, abdomen or random."),
    thickness: float = typer.Option(0.0, "--thickness", help="Non-gated slice thickness in mm (0: drawn per patient)."),
    max_slices: int = typer.Option(700, "--max-slices", min=8, help="Cap on non-gated slices (the increment grows to fit)."),
    contrast: bool = typer.Option(False, "--contrast", help="Contrast-enhanced blood pool (~300 HU)."),
    zero_cac: float = typer.Option(0.5, "--zero-cac-rate", min=0.0, max=1.0, help="Share of patients without coronary calcium."),
) -> None:
    """Generate N synthetic patients: gated + non-gated CT, label maps and truth.json each."""
    from ..console import progress_bar
    from ..phantoms import COVERAGES, FORMATS, generate_cohort

    formats = [f.strip() for item in fmt for f in item.split(",") if f.strip()]
    formats += ["dicom"] * dicom + ["verse"] * verse + ["mip"] * mip
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise typer.BadParameter(f"unknown format {bad[0]!r}; choose from {', '.join(FORMATS)}", param_hint="--format")
    if coverage != "random" and coverage not in COVERAGES:
        raise typer.BadParameter(f"choose from {', '.join(COVERAGES)} or random", param_hint="--coverage")
    options = dict(matrix=matrix, gated_matrix=gated_matrix, coverage=None if coverage == "random" else coverage,
                   thickness=thickness or None, max_slices=max_slices, contrast=contrast, zero_cac_rate=zero_cac)
    with progress_bar() as bar:
        task = bar.add_task("phantoms", total=n)
        rows = generate_cohort(n, seed, output, formats=tuple(dict.fromkeys(formats)), workers=workers, start=start,
                               progress=lambda i, total: bar.update(task, completed=i), **options)
    for r in rows:
        typer.echo(f"{output / r['patient_id']}\tagatston={r['agatston']:.1f}\t{r['coverage']}")
