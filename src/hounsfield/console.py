"""Console helpers for the CLI (rich). Library code never prints."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

__all__ = ["stderr", "progress_bar"]

stderr = Console(stderr=True, highlight=False)


def progress_bar() -> Progress:
    """A progress bar on stderr; silent when stderr is not a terminal."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=stderr, transient=True, disable=not sys.stderr.isatty(),
    )
