"""``hounsfield convert`` vs ``dcm2niix -z y`` on the same uncompressed 512x512xN series, same run.

Usage: python benchmarks/convert_vs_dcm2niix.py [--slices 300] [--repeats 3] [--out benchmarks/results/convert.md]

The series is a synthetic CT written as uncompressed DICOM (one file per slice)
by hounsfield's own writer: the chest phantom when available, else the example
cylinder. Both tools read the same files into .nii.gz; wall times are the
median of the repeats (page cache warm for both after the first read), and the
two outputs are checked to hold identical voxels.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np


def make_series(folder: Path, slices: int) -> str:
    from hounsfield.examples import cylinder_ct
    from hounsfield.io import write_dicom_series

    try:  # the realistic chest phantom compresses like real CT
        from hounsfield.phantoms import chest_ct  # type: ignore[attr-defined]

        vol = chest_ct(shape=(512, 512, slices), seed=0)
        what = "synthetic chest phantom"
    except Exception:
        vol = cylinder_ct(shape=(512, 512, slices), spacing=(0.7, 0.7, 1.0))
        what = "example cylinder (noise SD 10 HU)"
    write_dicom_series(vol, folder, prefix="IM")
    return what


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slices", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "convert.md")
    args = ap.parse_args()
    import dcm2niix as d2n

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        what = make_series(tmp / "dicom", args.slices)
        ours, theirs = [], []
        for r in range(args.repeats):
            for d in ("o", "d"):
                shutil.rmtree(tmp / d, ignore_errors=True)
                (tmp / d).mkdir()
            theirs.append(timed([str(d2n.bin), "-z", "y", "-f", "%s", "-o", str(tmp / "d"), str(tmp / "dicom")]))
            ours.append(timed([sys.executable, "-m", "hounsfield", "convert", str(tmp / "dicom"), str(tmp / "o")]))
        a = nib.load(next((tmp / "o").glob("*.nii.gz")))
        b = nib.load(next((tmp / "d").glob("*.nii.gz")))
        same = np.array_equal(np.asarray(a.dataobj), np.asarray(b.dataobj)) and np.allclose(a.affine, b.affine, atol=0.05)
        size_o = next((tmp / "o").glob("*.nii.gz")).stat().st_size
        size_d = next((tmp / "d").glob("*.nii.gz")).stat().st_size
    mo, md = statistics.median(ours), statistics.median(theirs)
    lines = [
        f"# hounsfield convert vs dcm2niix -z y ({args.slices} slices of 512x512, uncompressed DICOM)",
        "",
        f"- data: {what}; machine: {platform.machine()}, {os.cpu_count()} cores; repeats: {args.repeats}",
        f"- identical voxels and affine: {same}",
        "",
        "| tool | median s | runs (s) | output MB |",
        "|---|---|---|---|",
        f"| hounsfield convert | {mo:.2f} | {', '.join(f'{x:.2f}' for x in ours)} | {size_o / 1e6:.1f} |",
        f"| dcm2niix -z y | {md:.2f} | {', '.join(f'{x:.2f}' for x in theirs)} | {size_d / 1e6:.1f} |",
        "",
        f"**ratio hounsfield / dcm2niix = {mo / md:.2f}** (target <= 1.5; < 1 means faster)",
        "",
        "hounsfield's time includes starting Python and importing its modules (~0.5 s).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
