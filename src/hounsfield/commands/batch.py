"""``hounsfield batch ROOT -o OUTDIR``."""

from __future__ import annotations

from pathlib import Path

import typer

from ..cli import app
from ..console import progress_bar


@app.command()
def batch(
    root: Path = typer.Argument(..., help="Cohort root: DICOM folders, image files, gated/non-gated patient folders."),
    output: Path = typer.Option(..., "-o", "--output", help="Output folder (ledger, results, exports)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Local worker processes."),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://host:8786) instead of local workers."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Run exams that failed before again."),
    task: str = typer.Option("screen", "--task", help="What to run on each exam (screen, convert, ...)."),
) -> None:
    """Run an analysis on every exam under ROOT, resumably.

    Finished exams are skipped on the next run; a killed run loses no finished
    result. Exports results.csv, results.parquet and cohort.html.
    """
    from ..batch import run_batch

    with progress_bar() as bar:
        tid = bar.add_task(f"batch {task}", total=None)
        summary = run_batch(root, output, task=task, workers=workers, scheduler=scheduler, retry_failed=retry_failed,
                            progress=lambda i, n: bar.update(tid, completed=i, total=n))
    typer.echo(f"{summary.total} exams: ran {summary.ran} ({summary.done} done, {summary.failed} failed), "
               f"skipped {summary.skipped} finished earlier; {summary.seconds:.1f} s")
    typer.echo(f"results: {output / 'results.csv'}")
    if summary.failed:
        raise typer.Exit(1)
