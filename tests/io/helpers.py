"""Helpers for IO tests: run dcm2niix (PyPI wheel) and the hounsfield CLI as real processes."""

from __future__ import annotations

import glob
import subprocess
import sys
from pathlib import Path


def dcm2niix(src: Path, out: Path, *extra: str) -> list[Path]:
    import dcm2niix as d2n  # the PyPI wheel, a test dependency

    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(d2n.bin), "-z", "y", "-f", "%s", *extra, "-o", str(out), str(src)],
                   check=True, capture_output=True)
    return sorted(Path(p) for p in glob.glob(str(out / "*.nii.gz")))


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m hounsfield ARGS`` and capture its output."""
    return subprocess.run([sys.executable, "-m", "hounsfield", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)
