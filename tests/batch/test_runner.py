import csv
import json
import os
import random
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from hounsfield.batch import run_batch

from ..io.helpers import cli
from .conftest import make_cohort


def read_csv(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_local_batch_resume_and_retry(cohort, tmp_path):
    out = tmp_path / "out"
    s = run_batch(cohort, out, task="convert", workers=2)
    assert (s.total, s.done, s.failed) == (6, 5, 1)
    rows = {r["exam"]: r for r in read_csv(out / "results.csv")}
    assert set(rows) == {"p00", "p01", "p02", "p03", "nifti/ct.nii.gz", "bad.nii.gz"}
    assert rows["bad.nii.gz"]["status"] == "failed" and "not a readable NIfTI" in rows["bad.nii.gz"]["error"]
    assert rows["p00"]["status"] == "done" and rows["p00"]["shape"] == "24x20x6"
    assert pq.read_table(out / "results.parquet").num_rows == 6
    res = json.loads((out / "exams" / "p02" / "result.json").read_text())
    assert res["exam"] == "p02" and (out / "exams" / "p02" / "image.nii.gz").exists()
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert manifest["task"] == "convert" and manifest["versions"]["hounsfield"]
    # second run: nothing to do; --retry-failed: only the failed one again (and it fails again)
    s2 = run_batch(cohort, out, task="convert", workers=2)
    assert (s2.ran, s2.skipped) == (0, 6)
    (cohort / "bad.nii.gz").unlink()
    from hounsfield.examples import cylinder_ct
    from hounsfield.io import write_nifti

    write_nifti(cylinder_ct(shape=(16, 16, 4)), cohort / "bad.nii.gz")  # fixed on disk
    s3 = run_batch(cohort, out, task="convert", workers=1, retry_failed=True)
    assert (s3.ran, s3.done) == (1, 1)
    assert {r["status"] for r in read_csv(out / "results.csv")} == {"done"}


def test_cli_batch_exit_codes(cohort, tmp_path):
    r = cli("batch", cohort, "-o", tmp_path / "out", "--task", "convert")
    assert r.returncode == 1 and "1 failed" in r.stdout  # one bad exam: reported, cohort finished
    r = cli("batch", tmp_path / "missing", "-o", tmp_path / "out2", "--task", "convert")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no such file" in r.stderr
    assert (tmp_path / "out" / "cohort.html").exists()


def test_kill_minus_9_loses_nothing(tmp_path):
    root = make_cohort(tmp_path / "root", n_dicom=12, bad=False)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "hounsfield", "batch", str(root), "-o", str(out), "--task", "convert",
           "--workers", "2"]
    rng = random.Random(1)
    for attempt in range(2):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(2.5, 5.0))
        os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and its workers, at once
        proc.wait()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rows = read_csv(out / "results.csv")
    assert len(rows) == 13 and len({r["exam"] for r in rows}) == 13
    assert all(r["status"] == "done" for r in rows)
    folders = sorted(p.name for p in (out / "exams").iterdir())
    assert len(folders) == 13 and not [f for f in folders if ".part" in f]  # killed workers' leftovers removed
    for f in (out / "exams").iterdir():
        assert json.loads((f / "result.json").read_text())["shape"]


@pytest.mark.slow
def test_dask_local_cluster(cohort, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        s = run_batch(cohort, tmp_path / "out", task="convert", scheduler=cluster.scheduler_address)
    assert (s.done, s.failed) == (5, 1)
    assert {r["status"] for r in read_csv(tmp_path / "out" / "results.csv")} == {"done", "failed"}


@pytest.mark.slow
def test_dask_scheduler_and_workers_as_separate_processes(cohort, tmp_path):
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--dashboard-address", ":0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        time.sleep(3)
        for _ in range(2):
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                           "--nthreads", "1", "--no-dashboard"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(3)
        r = cli("batch", cohort, "-o", tmp_path / "out", "--task", "convert", "--scheduler", address)
        assert r.returncode == 1, r.stderr  # the one bad exam
        rows = read_csv(tmp_path / "out" / "results.csv")
        assert sorted(r["status"] for r in rows) == ["done"] * 5 + ["failed"]
        workers = {json.loads((tmp_path / "out" / "exams" / f / "result.json").read_text())["exam"]
                   for f in ("p00", "p01")}
        assert workers == {"p00", "p01"}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
