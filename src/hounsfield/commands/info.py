"""``hounsfield info INPUT``: what hounsfield sees in a file or folder."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..cli import app


@app.command()
def info(
    input: Path = typer.Argument(..., help="DICOM folder/file or image file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Show each series' geometry and metadata (gating and its reason, decisions taken)."""
    from ..io import read_dicom
    from ..io.readers import is_image_file, read

    vols = [read(input)] if input.is_file() and is_image_file(input) else read_dicom(input, allow_single_slice=True)
    rows = []
    for v in vols:
        rows.append({
            "shape": list(v.shape), "spacing_mm": [round(s, 4) for s in v.spacing], "orientation": v.orientation,
            "dtype": str(v.array.dtype), "affine": v.affine.round(4).tolist(), **v.meta.to_dict(),
        })
        rows[-1].pop("extra", None)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['source']}: {r['modality']} {r['shape']} spacing {r['spacing_mm']} {r['orientation']} "
                   f"'{r['description'] or ''}' gated={r['gated']} ({r['gated_reason']})")
        for d in r["decisions"]:
            typer.echo(f"  decision: {d}")
