"""What a batch runs on each exam.

A task is looked up by name inside each worker process and cached there, so
its models are loaded once per worker, not once per exam. A task takes an
:class:`~hounsfield.batch.exams.Exam` and a fresh output folder and returns a
flat dictionary of results (scalars), which becomes the exam's row in
``results.csv``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from ..errors import InputError
from .exams import Exam

__all__ = ["TASKS", "get_task", "read_exam"]

TaskFn = Callable[[Exam, Path], dict[str, Any]]


def read_exam(exam: Exam):  # noqa: ANN201 - returns a Volume
    """Read an exam's image (a DICOM pair folder is narrowed to its G*/SG* files)."""
    from ..io import discover, read, read_series

    if exam.prefix:
        import re

        pat = re.compile(rf"^{exam.prefix}\d*\.dcm$", re.IGNORECASE)
        files = sorted(p for p in Path(exam.path).iterdir() if pat.match(p.name))
        series, skipped = discover(files)
        if not series:
            raise InputError(f"{exam.id}: no readable {exam.prefix}*.dcm series"
                             + (f" ({skipped[0].reason})" if skipped else ""))
        return read_series(series[0])
    return read(exam.path)


def _convert(exam: Exam, out: Path) -> dict[str, Any]:
    from ..io import write_nifti

    vol = read_exam(exam)
    write_nifti(vol, out / "image.nii.gz", sidecar=True)
    return {
        "modality": vol.meta.modality, "shape": "x".join(map(str, vol.shape)),
        "increment_mm": vol.meta.increment_mm, "gated": vol.meta.gated, "n_decisions": len(vol.meta.decisions),
    }


def _make_convert() -> TaskFn:
    return _convert


def _make_screen() -> TaskFn:
    def run(exam: Exam, out: Path) -> dict[str, Any]:
        from ..screen import screen

        source = exam.path
        if exam.prefix:  # G*/SG* files of one folder: link the exam's files into its own folder
            import os
            import re

            src = out / "_input"
            src.mkdir()
            pat = re.compile(rf"^{exam.prefix}\d*\.dcm$", re.IGNORECASE)
            for p in Path(exam.path).iterdir():
                if pat.match(p.name):
                    os.symlink(p.resolve(), src / p.name)
            source = str(src)
        res = screen(source, out, exam_id=exam.id, dicom_outputs=False)
        if exam.prefix:
            import shutil

            shutil.rmtree(out / "_input", ignore_errors=True)
        return res.flat()

    return run


#: task name -> factory building the callable once per worker (load models in the factory)
TASKS: dict[str, Callable[[], TaskFn]] = {
    "convert": _make_convert,
    "screen": _make_screen,
}


@lru_cache(maxsize=None)
def get_task(name: str) -> TaskFn:
    if name not in TASKS:
        raise InputError(f"unknown batch task '{name}' (choose from {', '.join(sorted(TASKS))})")
    return TASKS[name]()
