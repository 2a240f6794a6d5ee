"""Batch reliability and throughput, measured (not asserted) on this machine.

1. Kill-and-resume: a batch of N synthetic exams is killed with SIGKILL (the
   coordinator and its workers together) at random moments K times, then run
   to the end; every exam must end with exactly one result.
2. Malformed corpus: every malformed input gives a one-line error in the ledger.
3. Throughput: exams per minute with ``--workers 2`` vs ``--workers 1`` on the
   same exams (target >= 1.7x on 2 cores).

Usage: python benchmarks/reliability.py [--task screen] [--n 50] [--kills 5] [--throughput-n 20]
Writes benchmarks/results/reliability.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_exams(root: Path, n: int, task: str) -> None:
    """Synthetic exams: chest phantoms for analysis tasks, small cylinders for ``convert``."""
    if task == "convert":
        from hounsfield.examples import cylinder_ct
        from hounsfield.io import write_dicom_series

        for i in range(n):
            write_dicom_series(cylinder_ct(shape=(96, 96, 40), seed=i), root / f"exam{i:03d}", prefix="IM")
        return
    # each synthetic patient holds two exams (gated, non-gated): n exams = n / 2 patients
    subprocess.run([sys.executable, "-m", "hounsfield", "phantom", "chest", "--n", str(-(-n // 2)), "--seed", "777",
                    "-o", str(root), "--matrix", "256", "--gated-matrix", "256", "--workers", "2"], check=True,
                   capture_output=True)


def batch_cmd(root: Path, out: Path, task: str, workers: int) -> list[str]:
    return [sys.executable, "-m", "hounsfield", "batch", str(root), "-o", str(out), "--task", task,
            "--workers", str(workers)]


def kill_and_resume(root: Path, out: Path, task: str, kills: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    killed_at = []
    for _ in range(kills):
        p = subprocess.Popen(batch_cmd(root, out, task, 2), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        t = rng.uniform(5, 40)
        try:
            p.wait(timeout=t)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            killed_at.append(round(t, 1))
    final = subprocess.run(batch_cmd(root, out, task, 2), capture_output=True, text=True)
    with open(out / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    exams = [r["exam"] for r in rows]
    folders = [p.name for p in (out / "exams").iterdir()]
    return {
        "kills": killed_at, "final_exit": final.returncode, "rows": len(rows), "unique": len(set(exams)),
        "done": sum(r["status"] == "done" for r in rows), "failed": sum(r["status"] == "failed" for r in rows),
        "result_folders": len(folders), "partial_folders": sum(".part" in f for f in folders),
        "errors": sorted({r["error"] for r in rows if r["error"]})[:5],
    }


def throughput(root: Path, tmp: Path, task: str) -> dict:
    out = {}
    for w in (1, 2):
        dst = tmp / f"tp{w}"
        shutil.rmtree(dst, ignore_errors=True)
        t = time.perf_counter()
        subprocess.run(batch_cmd(root, dst, task, w), capture_output=True)
        out[w] = time.perf_counter() - t
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="screen")
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--throughput-n", type=int, default=20)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "reliability.md")
    args = ap.parse_args()
    lines = [f"# Batch reliability and throughput (task `{args.task}`, {os.cpu_count()} cores)", ""]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_exams(tmp / "cohort", args.n, args.task)
        from hounsfield.batch import find_exams

        n_exams = len(find_exams(tmp / "cohort"))
        k = kill_and_resume(tmp / "cohort", tmp / "out", args.task, args.kills)
        lines += ["## Kill -9 and resume", "", f"- {n_exams} exams, killed at {k['kills']} s, then run to the end",
                  f"- rows {k['rows']}, unique exams {k['unique']}, done {k['done']}, failed {k['failed']}, "
                  f"result folders {k['result_folders']}, partial folders {k['partial_folders']}",
                  f"- every exam exactly one result: **{k['rows'] == k['unique'] == n_exams == k['result_folders'] and k['partial_folders'] == 0}**",
                  ""]
        if k["errors"]:
            lines.append(f"- errors: {k['errors']}")
        from hounsfield.batch.malformed import CASES, write_corpus

        write_corpus(tmp / "corpus")
        subprocess.run(batch_cmd(tmp / "corpus", tmp / "corpus_out", args.task, 2), capture_output=True)
        with open(tmp / "corpus_out" / "results.csv") as fh:
            rows = list(csv.DictReader(fh))
        one_line = all("\n" not in r["error"] for r in rows)
        internal = [r["exam"] for r in rows if "internal error" in r["error"]]
        lines += ["## Malformed corpus", "", f"- {len(CASES)} malformed cases + 1 control: "
                  f"{sum(r['status'] == 'failed' for r in rows)} failed, {sum(r['status'] == 'done' for r in rows)} done; "
                  f"one-line errors: {one_line}; internal errors: {internal or 'none'}", ""]
        sub = tmp / "tp_cohort"
        sub.mkdir()
        per = 1 if args.task == "convert" else 2  # exams per cohort folder
        for p in sorted((tmp / "cohort").iterdir())[: -(-args.throughput_n // per)]:
            shutil.copytree(p, sub / p.name) if p.is_dir() else shutil.copy(p, sub / p.name)
        tp = throughput(sub, tmp, args.task)
        n = len(find_exams(sub))
        lines += ["## Throughput", "", "| workers | seconds | exams/min |", "|---|---|---|"]
        for w, s in tp.items():
            lines.append(f"| {w} | {s:.1f} | {60 * n / s:.1f} |")
        lines += ["", f"**speed-up with 2 workers: {tp[1] / tp[2]:.2f}x** (target >= 1.7x; includes process start-up "
                  "and the first model load in each worker)", ""]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
