"""Scoring speed vs reading speed on a 512 x 512 x 300 chest CT (synthetic), same run, same machine.

    PYTHONPATH=src python3 benchmarks/calcium_speed.py [--slices 300] [--repeats 3]

Times (median of the repeats, page cache warm after the first read):

* reading the series: uncompressed DICOM folder and .nii.gz (hounsfield.io.read);
* ``score_volume`` of the whole volume (``--roi all``: bones included, the
  worst case) and of the heart search region only;
* the whole non-gated pipeline (``analyse``: heart region from the bundled
  segmenter + heuristic, fake gating to 3 mm, candidates, scoring, the bundled
  lesion classifier) on the volume already in memory.

The volume: 0.7 mm pixels, 1 mm slices, body, two lungs, heart, spine, six
plaques, Gaussian noise SD 15 HU (int16).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from hounsfield.calcium import analyse, score_volume
from hounsfield.io import read, write_dicom_series, write_nifti
from hounsfield.volume import Volume, VolumeMeta


def chest(slices: int, seed: int = 0) -> Volume:
    rng = np.random.default_rng(seed)
    n, px, dz = 512, 0.7, 1.0
    x = (np.arange(n) - (n - 1) / 2) * px
    X, Y = np.meshgrid(x, x, indexing="ij")
    a = np.empty((n, n, slices), np.int16)
    zc = slices * dz / 2
    for k in range(slices):
        z = (k + 0.5) * dz
        s = np.full((n, n), -1000.0, np.float32)
        s[(X / 165) ** 2 + (Y / 120) ** 2 <= 1] = 30
        for sx in (-1, 1):
            r = 1 - ((z - zc) / (0.55 * slices * dz)) ** 2
            if r > 0:
                s[((X - sx * 75) / (55 * np.sqrt(r))) ** 2 + ((Y + 5) / (85 * np.sqrt(r))) ** 2 <= 1] = -850
        rh = 1 - ((z - zc) / 60) ** 2
        if rh > 0:
            s[(X / (55 * np.sqrt(rh))) ** 2 + ((Y - 20) / (50 * np.sqrt(rh))) ** 2 <= 1] = 40
        s[(X / 18) ** 2 + ((Y + 85) / 18) ** 2 <= 1] = 450
        for j, (cx, cy) in enumerate(((-50, 30), (45, 5), (10, 65), (-40, -10), (30, 40), (0, -20))):
            if abs(z - zc - 8 * (j - 3)) < 2:
                s[(np.abs(X - cx) < 1.6) & (np.abs(Y - cy) < 1.6)] = 250 + 60 * j
        s += rng.normal(0, 15, s.shape).astype(np.float32)
        a[:, :, k] = np.rint(s)
    aff = np.diag([px, px, dz, 1.0])
    aff[:3, 3] = (x[0], x[0], 0.5 * dz)
    return Volume(a, aff, VolumeMeta(modality="CT", kvp=120.0, thickness_mm=dz, increment_mm=dz))


CPU: dict[str, float] = {}


def median_time(fn, repeats: int, name: str = "") -> tuple[float, object]:
    """Median wall time; the median CPU time of this process is kept in CPU[name] (on a shared, loaded
    machine the CPU time is the better estimate of the uncontended wall time of single-threaded code)."""
    times, cpus, out = [], [], None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    CPU[name] = statistics.median(cpus)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slices", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    vol = chest(args.slices)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_dicom_series(vol, tmp / "dcm", prefix="IM")
        write_nifti(vol, tmp / "ct.nii.gz")
        t_dcm, _ = median_time(lambda: read(tmp / "dcm"), args.repeats, "read_dcm")
        t_nii, v = median_time(lambda: read(tmp / "ct.nii.gz"), args.repeats, "read_nii")
    t_all, s_all = median_time(lambda: score_volume(v), args.repeats, "score_all")
    from hounsfield.calcium.classify import load_classifier

    clf = load_classifier()  # the bundled lesion classifier, as the CLI uses by default
    res = analyse(v, mode="non-gated", classifier=clf)
    region = res.region_map
    t_heart, s_heart = median_time(lambda: score_volume(res.scored, roi=region, region_names={1: "heart", 2: "aorta"}),
                                   args.repeats, "score_heart")
    t_pipe, r = median_time(lambda: analyse(v, mode="non-gated", classifier=clf), args.repeats, "pipeline")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; volume {v.shape} int16 "
          f"({v.array.nbytes / 1e6:.0f} MB)")
    print(f"read DICOM folder ({args.slices} files): {t_dcm:.2f} s")
    print(f"read .nii.gz:                        {t_nii:.2f} s")
    print(f"score whole volume (--roi all, bones included): {t_all:.2f} s  "
          f"(x{t_dcm / t_all:.1f} faster than reading DICOM, x{t_nii / t_all:.1f} than .nii.gz); "
          f"{s_all.n_lesions} lesions")
    print(f"score heart region (fake-gated 3 mm grid):      {t_heart:.3f} s  (x{t_dcm / t_heart:.0f} / "
          f"x{t_nii / t_heart:.0f}); Agatston {s_heart.agatston:.1f}")
    print(f"whole non-gated pipeline in memory (heart region + fake gating + scoring + classifier): {t_pipe:.2f} s; "
          f"Agatston {r.score.agatston:.1f}, {r.score.n_lesions} lesions")
    print(f"whole non-gated pipeline including reading .nii.gz: {t_pipe + t_nii:.2f} s")
    print("CPU seconds of this process (median): " + ", ".join(f"{k} {v:.2f}" for k, v in CPU.items()))
    print(f"CPU-time ratios: read DICOM / score all = {CPU['read_dcm'] / CPU['score_all']:.1f}, "
          f"read .nii.gz / score all = {CPU['read_nii'] / CPU['score_all']:.1f}, "
          f"read DICOM / score heart = {CPU['read_dcm'] / CPU['score_heart']:.1f}")


if __name__ == "__main__":
    main()
