"""Console helpers for the CLI (rich). Library code never prints."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

__all__ = ["stderr", "progress_bar", "named_ticker"]

stderr = Console(stderr=True, highlight=False)


def progress_bar() -> Progress:
    """A progress bar on stderr; silent when stderr is not a terminal."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=stderr, transient=True, disable=not sys.stderr.isatty(),
    )


def named_ticker(bar: Progress):  # noqa: ANN201 - returns the callback
    """A ``progress(what, i, n)`` callback that keeps one bar per named stage."""
    tasks: dict[str, int] = {}

    def tick(what: str, i: int, n: int) -> None:
        if what not in tasks:
            tasks[what] = bar.add_task(what, total=n)
        bar.update(tasks[what], completed=i)

    return tick


def quiet_libraries() -> None:
    """Silence the libraries' own warnings about odd-but-readable files (pydicom's VR
    validation, ITK's warning window) in CLI processes and batch workers; hounsfield
    reports what matters itself, as decisions and one-line errors."""
    import logging
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning, module=r"pydicom(\..*)?")
    warnings.filterwarnings("ignore", category=UserWarning, module=r"nibabel(\..*)?")
    logging.getLogger("pydicom").setLevel(logging.ERROR)
    try:
        import SimpleITK as sitk

        sitk.ProcessObject_SetGlobalWarningDisplay(False)
    except ImportError:  # pragma: no cover
        pass
