"""``hounsfield convert INPUT OUTPUT``."""

from __future__ import annotations

from pathlib import Path

import typer

from ..cli import app
from ..console import named_ticker, progress_bar, stderr


@app.command()
def convert(
    input: Path = typer.Argument(..., help="DICOM folder (searched recursively), DICOM file, or image file."),
    output: Path = typer.Argument(..., help="Output folder (or a .nii.gz file for one image file)."),
    layout: str = typer.Option("series", "--layout", help="'series' (one file per series) or 'gated-pairs'."),
    uneven: str = typer.Option("resample", "--uneven", help="Gantry tilt / uneven spacing: 'resample' or 'refuse'."),
    allow_single_slice: bool = typer.Option(False, "--allow-single-slice", help="Also write one-slice series."),
) -> None:
    """Convert every series to int16 .nii.gz plus a JSON sidecar of its metadata.

    Exit code 0 when everything converted, 1 when some series or patient failed
    (each reported on its own line), 2 when nothing could be read.
    """
    from ..io.convert import convert as run

    if uneven not in ("resample", "refuse"):
        raise typer.BadParameter("--uneven must be 'resample' or 'refuse'")
    with progress_bar() as bar:
        tick = named_ticker(bar)
        report = run(input, output, layout=layout, uneven=uneven, allow_single_slice=allow_single_slice, progress=tick)
    for path in report.written:
        typer.echo(str(path))
    ignored = [s for s in report.skipped if s.reason not in ("not a DICOM file",)]
    if report.skipped:
        stderr.print(f"skipped {len(report.skipped)} file(s)" + (f", e.g. {ignored[0].path}: {ignored[0].reason}" if ignored else " (not DICOM)"))
    for source, reason in report.failed:
        typer.echo(f"failed: {source}: {reason}", err=True)
    if report.failed:
        raise typer.Exit(1 if report.written else 2)
