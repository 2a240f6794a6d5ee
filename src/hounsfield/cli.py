"""The ``hounsfield`` command line.

Each command is a thin wrapper over a library function and lives in
``hounsfield/commands/<name>.py``; heavy libraries are imported inside the
command bodies so ``hounsfield --help`` starts fast. Groups that several
subsystems extend (``phantom``, ``train``, ``evaluate``) are created here.

Errors meant for the user (:class:`~hounsfield.errors.HounsfieldError`, missing
files, full disks) become one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import importlib
import sys

import typer

from . import __version__
from .errors import HounsfieldError

app = typer.Typer(
    name="hounsfield",
    help="Opportunistic screening in routine CT and chest X-ray.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
phantom_app = typer.Typer(help="Synthetic patients with exact ground truth.", no_args_is_help=True)
train_app = typer.Typer(help="Train the models on your data (or on synthetic patients).", no_args_is_help=True)
evaluate_app = typer.Typer(help="Compare predictions with reference annotations.", no_args_is_help=True)
app.add_typer(phantom_app, name="phantom")
app.add_typer(train_app, name="train")
app.add_typer(evaluate_app, name="evaluate")

#: modules under hounsfield.commands that register commands on the apps above
COMMAND_MODULES = [
    "calcium",
    "clot",
    "convert",
    "cxr",
    "info",
    "batch",
    "phantom",
    "screen",
    "vertebrae",
    "levels",
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hounsfield {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Opportunistic screening in routine CT and chest X-ray."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"{__package__}.commands.{_name}")


def fail(message: str, code: int = 2) -> None:
    """Print one line on stderr and exit with ``code`` (for use inside commands)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hounsfield`` script."""
    from .console import quiet_libraries

    quiet_libraries()
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except HounsfieldError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except FileNotFoundError as exc:
        typer.echo(f"error: {exc.filename or exc}: no such file or folder", err=True)
        return 2
    except OSError as exc:
        typer.echo(f"error: {exc.strerror or exc} ({exc.filename or ''})", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except MemoryError:
        typer.echo("error: out of memory", err=True)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
