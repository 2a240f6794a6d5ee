"""Running a task over a cohort: local worker processes or a Dask cluster.

The coordinator (this process) owns the :class:`~hounsfield.batch.ledger.Ledger`;
workers run :func:`run_exam`, which never raises: every failure comes back as
one line of text. Each exam's outputs are written into a temporary folder and
renamed into ``OUTDIR/exams/<exam>/`` before the coordinator marks the exam
done, so a killed run never leaves a half-written result marked done, and a
re-run replaces (never duplicates) a result.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..errors import HounsfieldError, InputError
from .exams import Exam, find_exams
from .ledger import Ledger

__all__ = ["BatchSummary", "run_batch", "run_exam", "exam_folder", "LEDGER_NAME"]

LEDGER_NAME = "ledger.sqlite"


def exam_folder(out: Path, exam_id: str) -> Path:
    safe = exam_id.replace("/", "__").replace("\\", "__")
    return out / "exams" / safe


def _versions() -> dict[str, Any]:
    v: dict[str, Any] = {"hounsfield": __version__, "python": platform.python_version()}
    try:
        from ..models import list_models

        v["models"] = {m.name: m.sha256[:16] for m in list_models()}
    except Exception:  # pragma: no cover - a broken manifest must not stop a batch
        v["models"] = {}
    return v


def _init_worker() -> None:
    """One thread per worker process: N workers on N cores scale instead of oversubscribing."""
    from .._workers import init_worker

    init_worker(torch=True)


def run_exam(task_name: str, exam: Exam, out_root: str) -> dict[str, Any]:
    """Run one exam in a worker; returns a dict with ``status`` and never raises."""
    from .tasks import get_task

    t0 = time.perf_counter()
    final = exam_folder(Path(out_root), exam.id)
    tmp = final.with_name(f"{final.name}.part-{os.getpid()}")
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        result = get_task(task_name)(exam, tmp)
        result = {k: v for k, v in result.items() if v is None or isinstance(v, (str, int, float, bool))}
        (tmp / "result.json").write_text(json.dumps({"exam": exam.id, "source": exam.path, **result}, indent=2))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        return {"exam": exam.id, "status": "done", "result": result, "seconds": time.perf_counter() - t0,
                "worker": worker}
    except HounsfieldError as exc:
        error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    except MemoryError:
        error = "out of memory"
    except Exception as exc:  # a bug, but one exam must never stop the cohort
        last = traceback.extract_tb(exc.__traceback__)[-1]
        error = f"internal error {type(exc).__name__}: {str(exc)[:200]} (at {Path(last.filename).name}:{last.lineno})"
    shutil.rmtree(tmp, ignore_errors=True)
    return {"exam": exam.id, "status": "failed", "error": error, "seconds": time.perf_counter() - t0,
            "worker": worker}


@dataclass
class BatchSummary:
    total: int
    ran: int
    done: int
    failed: int
    skipped: int
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)


def run_batch(
    root: str | os.PathLike,
    out: str | os.PathLike,
    *,
    task: str = "screen",
    workers: int = 1,
    scheduler: str | None = None,
    retry_failed: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BatchSummary:
    """Run ``task`` on every exam under ``root``; resumable through the ledger in ``out``."""
    from .tasks import TASKS

    if task not in TASKS:
        raise InputError(f"unknown batch task '{task}' (choose from {', '.join(sorted(TASKS))})")
    root, out = Path(root), Path(out)
    if not root.exists():
        raise InputError(f"{root}: no such file or folder")
    exams = find_exams(root)
    if not exams:
        raise InputError(f"{root}: no exams found (DICOM folders, image files or gated/non-gated patient folders)")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    by_id = {e.id: e for e in exams}
    with _exclusive(out), Ledger(out / LEDGER_NAME) as ledger:
        # folders a killed run left half-written are never results: remove them
        for stale in (out / "exams").glob("*.part-*") if (out / "exams").exists() else []:
            shutil.rmtree(stale, ignore_errors=True)
        ledger.add((e.id, e.path, e.kind) for e in exams)
        run_id = ledger.start_run({"task": task, "workers": workers, "scheduler": scheduler,
                                   "retry_failed": retry_failed, "root": str(root)})
        todo = [by_id[t[0]] for t in ledger.todo(retry_failed) if t[0] in by_id]
        versions = _versions()
        done_n = failed_n = 0

        def record(r: dict[str, Any]) -> None:
            nonlocal done_n, failed_n
            if r["status"] == "done":
                ledger.done(r["exam"], r["result"], r["seconds"], versions)
                done_n += 1
            else:
                ledger.failed(r["exam"], r["error"], r["seconds"], versions)
                failed_n += 1
            if progress:
                progress(done_n + failed_n, len(todo))

        if progress:
            progress(0, len(todo))
        if todo:
            if scheduler:
                _run_dask(scheduler, task, todo, out, ledger, record)
            else:
                _run_local(task, todo, out, ledger, record, workers)
        ledger.finish_run(run_id)
        counts = ledger.counts()
        _write_manifest(out, task, workers, scheduler, versions, t0)
    from .export import export_results

    export_results(out)
    return BatchSummary(total=len(exams), ran=len(todo), done=done_n, failed=failed_n,
                        skipped=len(exams) - len(todo), seconds=time.time() - t0, counts=counts)


class _exclusive:
    """One coordinator per output folder (an advisory lock, released when the process dies)."""

    def __init__(self, out: Path) -> None:
        self.path = out / "batch.lock"

    def __enter__(self) -> "_exclusive":
        import fcntl

        self.fh = open(self.path, "w")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.fh.close()
            raise InputError(f"another batch is already running on {self.path.parent}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self.fh.close()


def _run_local(task: str, todo: list[Exam], out: Path, ledger: Ledger, record: Callable, workers: int) -> None:
    """A pool of spawned worker processes. If a worker dies (segfault, OOM kill), the
    exams that were in flight are re-run one at a time in a fresh single-worker pool,
    so only the exam that kills its worker is marked failed."""
    import multiprocessing as mp

    queue, suspects = list(todo), []
    while queue or suspects:
        isolate = bool(suspects)
        source = suspects if isolate else queue
        n = 1 if isolate else max(1, workers)
        with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"), initializer=_init_worker) as pool:
            running: dict[Any, Exam] = {}
            broken = False
            while (source or running) and not broken:
                while source and len(running) < (1 if isolate else 2 * n):
                    exam = source.pop(0)
                    ledger.claim(exam.id)
                    running[pool.submit(run_exam, task, exam, str(out))] = exam
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    exam = running.pop(fut)
                    try:
                        record(fut.result())
                    except BrokenProcessPool:
                        broken = True
                        if isolate:
                            record({"exam": exam.id, "status": "failed", "seconds": 0.0, "error":
                                    "the worker process died (crash or out of memory) while running this exam"})
                        else:
                            suspects.append(exam)
            suspects.extend(running.values())


def _run_dask(address: str, task: str, todo: list[Exam], out: Path, ledger: Ledger, record: Callable) -> None:
    from .._optional import import_optional

    distributed = import_optional("distributed", "batch", "--scheduler (Dask)")
    try:
        client = distributed.Client(address, timeout="20s")
    except OSError as exc:
        raise InputError(f"cannot reach the Dask scheduler at {address} ({exc})") from None
    try:
        client.run(_init_worker)
        futures = {}
        for exam in todo:
            ledger.claim(exam.id)
            futures[client.submit(run_exam, task, exam, str(out.resolve()), pure=False, key=f"hounsfield-{exam.id}")] = exam
        for fut in distributed.as_completed(futures):
            exam = futures[fut]
            try:
                record(fut.result())
            except Exception as exc:  # worker lost, etc.
                record({"exam": exam.id, "status": "failed", "seconds": 0.0,
                        "error": f"Dask worker failed: {type(exc).__name__}: {str(exc)[:200]}"})
    finally:
        client.close()


def _write_manifest(out: Path, task: str, workers: int, scheduler: str | None, versions: dict, t0: float) -> None:
    from ..io.sidecar import write_json

    device = "cpu"
    try:
        import torch

        if torch.cuda.is_available():
            device = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    write_json({
        "command": "batch", "task": task, "workers": workers, "scheduler": scheduler,
        "versions": versions, "device": device, "host": socket.gethostname(), "cpus": os.cpu_count(),
        "started": t0, "finished": time.time(),
    }, out / "run_manifest.json")
