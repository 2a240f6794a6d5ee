"""Realism of the synthetic patients measured against the real CTs in ../shared/fixtures.

Compares, with the same code path for real and synthetic data:

* spine (``ct_abdomen`` + its TotalSegmentator vertebra labels): spacing of
  consecutive vertebra centroids along z, z-extent of each whole vertebra,
  L1-L5 body heights (TotalSegmentator's spine report vs the phantom truth),
  mean HU inside each vertebra label;
* HU distributions at L3 (+-2 slices) inside the body: medians of the fat
  (-190..-30) and muscle (-29..150) bands and the share of body area in each;
* body width / depth / area at L3;
* heart (``ct_heart_cta`` TotalSegmentator mask vs the phantom heart mask):
  extents along x, y, z and volume;
* noise: SD and lag-1 in-plane autocorrelation of the high-pass residual in
  subcutaneous fat.

Phantoms are rendered like the fixture (3 mm slices) at 1.5 mm pixels and
block-averaged to 3 mm in-plane, so partial volume is comparable.

Run: ``PYTHONPATH=src python3 benchmarks/realism.py --n 8 --out benchmarks/realism_results.md``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

FIX = ROOT.parent / "shared" / "fixtures"
TS_TO_VERSE = {26: 26, 27: 24, 28: 23, 29: 22, 30: 21, 31: 20, 32: 19, 33: 18}
NAMES = {26: "S1", 24: "L5", 23: "L4", 22: "L3", 21: "L2", 20: "L1", 19: "T12", 18: "T11"}
PAIRS = [(24, 23), (23, 22), (22, 21), (21, 20), (20, 19)]


def body_mask_2d(sl: np.ndarray) -> np.ndarray:
    m = sl > -300
    m = ndimage.binary_opening(m, iterations=2)
    lab, n = ndimage.label(m)
    if n == 0:
        return m
    sizes = np.bincount(lab.ravel())[1:]
    m = lab == (np.argmax(sizes) + 1)
    return ndimage.binary_fill_holes(m)


def spine_stats(ct: np.ndarray, aff: np.ndarray, vert: np.ndarray) -> dict:
    """Per VerSe label: whole-vertebra centroid z, z-extent and mean HU."""
    labels = [l for l in np.unique(vert) if l in NAMES]
    out = {}
    dz = abs(aff[2, 2])
    for l in labels:
        m = vert == l
        ijk = np.argwhere(m)
        ks = np.unique(ijk[:, 2])
        cut = ks.min() == 0 or ks.max() == ct.shape[2] - 1
        z = (aff @ np.r_[ijk.mean(axis=0), 1.0])[2]
        out[int(l)] = {"z": float(z), "extent_mm": float((ks.max() - ks.min() + 1) * dz), "cut": bool(cut),
                       "mean_hu": float(ct[m].mean())}
    return out


def tissue_stats(ct: np.ndarray, k: int, spacing: tuple[float, float, float]) -> dict:
    """HU bands and body size on slices k-2..k+2."""
    fat_med, mus_med, fat_share, mus_share, widths, depths, areas = [], [], [], [], [], [], []
    for kk in range(max(0, k - 2), min(ct.shape[2], k + 3)):
        sl = ct[:, :, kk].astype(np.float32)
        body = body_mask_2d(sl)
        v = sl[body]
        fat = v[(v >= -190) & (v <= -30)]
        mus = v[(v >= -29) & (v <= 150)]
        fat_med.append(np.median(fat))
        mus_med.append(np.median(mus))
        fat_share.append(fat.size / v.size)
        mus_share.append(mus.size / v.size)
        ii, jj = np.nonzero(body)
        widths.append((ii.max() - ii.min() + 1) * spacing[0])
        depths.append((jj.max() - jj.min() + 1) * spacing[1])
        areas.append(body.sum() * spacing[0] * spacing[1] / 100)
    return {"fat_median_hu": float(np.mean(fat_med)), "muscle_median_hu": float(np.mean(mus_med)),
            "fat_share": float(np.mean(fat_share)), "muscle_share": float(np.mean(mus_share)),
            "body_width_mm": float(np.mean(widths)), "body_depth_mm": float(np.mean(depths)),
            "body_area_cm2": float(np.mean(areas))}


def noise_stats(ct: np.ndarray, k: int) -> dict:
    """High-pass residual in eroded fat near slice k: SD and lag-1 autocorrelation along x."""
    sds, acs = [], []
    for kk in range(max(0, k - 3), min(ct.shape[2], k + 4)):
        sl = ct[:, :, kk].astype(np.float32)
        fat = (sl > -190) & (sl < -30) & body_mask_2d(sl)
        fat = ndimage.binary_erosion(fat, iterations=2)
        if fat.sum() < 100:
            continue
        res = sl - ndimage.uniform_filter(sl, 5)
        r = res[fat]
        sds.append(r.std() * np.sqrt(25 / 24))
        both = fat[:-1] & fat[1:]
        a, b = res[:-1][both], res[1:][both]
        acs.append(float(np.corrcoef(a, b)[0, 1]))
    return {"noise_sd_hu": float(np.median(sds)) if sds else float("nan"),
            "noise_lag1_corr": float(np.median(acs)) if acs else float("nan")}


def heart_stats(mask: np.ndarray, aff: np.ndarray) -> dict:
    ijk = np.argwhere(mask)
    xyz = ijk @ aff[:3, :3].T + aff[:3, 3]
    ext = xyz.max(axis=0) - xyz.min(axis=0) + np.abs(np.diag(aff)[:3])
    vol = mask.sum() * abs(np.linalg.det(aff[:3, :3])) / 1000
    return {"heart_x_mm": float(ext[0]), "heart_y_mm": float(ext[1]), "heart_z_mm": float(ext[2]),
            "heart_volume_ml": float(vol)}


def real_stats() -> dict:
    import nibabel as nib

    img = nib.load(str(FIX / "ct_abdomen" / "ct.nii.gz"))
    ct = np.asanyarray(img.dataobj).astype(np.int16)
    ts = np.asanyarray(nib.load(str(FIX / "ct_abdomen" / "vertebrae_totalseg.nii.gz")).dataobj).astype(np.int16)
    vert = np.zeros_like(ts)
    for a, b in TS_TO_VERSE.items():
        vert[ts == a] = b
    sp = spine_stats(ct, img.affine, vert)
    rep = json.loads((FIX / "ct_abdomen" / "spine_report_totalseg.json").read_text())["results"]
    heights = {l: rep[f"vertebrae_{NAMES[l]}_height_middle_mm"] for l in (20, 21, 22, 23, 24)}
    k_l3 = int(round(np.argwhere(vert == 22)[:, 2].mean()))
    zooms = img.header.get_zooms()[:3]
    out = {"spine": sp, "body_heights": heights, "tissue": tissue_stats(ct, k_l3, zooms),
           "noise": noise_stats(ct, k_l3)}
    h = nib.load(str(FIX / "ct_heart_cta" / "heart_totalseg.nii.gz"))
    out["heart"] = heart_stats(np.asanyarray(h.dataobj) > 0, h.affine)
    return out


def phantom_stats(n: int, seed: int) -> list[dict]:
    from hounsfield.phantoms import generate_patient
    from hounsfield.phantoms.tissues import O

    rows = []
    for i in range(n):
        r = generate_patient(seed, i, matrix=256, gated_matrix=128, coverage="chest_abdomen", thickness=3.0,
                             max_slices=400)
        ng = r.non_gated
        ct = ng.ct.array.astype(np.float32)
        # block-average 2x2 in-plane -> ~3 mm pixels like the fixture
        n2 = ct.shape[0] // 2
        ct3 = ct[: 2 * n2, : 2 * n2].reshape(n2, 2, n2, 2, -1).mean(axis=(1, 3))
        vert = np.where(ng.organ <= 28, ng.organ, 0) * np.isin(ng.tissue, (15, 16, 17, 18))
        vert3 = vert[: 2 * n2:2, : 2 * n2:2]
        aff3 = ng.ct.affine.copy()
        aff3[:2, :2] *= 2
        aff3[:2, 3] += ng.ct.spacing[0] / 2
        sp = spine_stats(ct3, aff3, vert3)
        heights = {v["verse_label"]: v["body_height_mm"] for v in r.truth["vertebrae"] if v["verse_label"] in
                   (20, 21, 22, 23, 24)}
        k_l3 = r.truth["levels"]["L3_slice"]["non_gated"]
        spacing3 = (ng.ct.spacing[0] * 2, ng.ct.spacing[1] * 2, ng.ct.spacing[2])
        hs = heart_stats(r.gated.organ == O.HEART, r.gated.ct.affine)
        rows.append({"spine": sp, "body_heights": heights, "tissue": tissue_stats(ct3, k_l3, spacing3),
                     "noise": noise_stats(ct3, k_l3), "heart": hs, "noise_native": noise_stats(ct, k_l3),
                     "sex": r.params.sex, "age": r.params.age})
    return rows


def fmt(v: float, d: int = 1) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.{d}f}"


def summarise(real: dict, ph: list[dict]) -> str:
    lines = ["| quantity | real CT (fixture) | phantoms mean | phantoms sd | phantoms min-max |", "|---|---|---|---|---|"]

    def row(name, rv, vals, d=1):
        vals = np.array([v for v in vals if v is not None and np.isfinite(v)], float)
        if vals.size == 0:
            lines.append(f"| {name} | {fmt(rv, d)} | n/a | n/a | n/a |")
            return
        lines.append(f"| {name} | {fmt(rv, d)} | {fmt(vals.mean(), d)} | {fmt(vals.std(), d)} | "
                     f"{fmt(vals.min(), d)}-{fmt(vals.max(), d)} |")

    rs = real["spine"]
    for a, b in PAIRS:
        rv = rs[b]["z"] - rs[a]["z"] if a in rs and b in rs else None
        vals = [p["spine"][b]["z"] - p["spine"][a]["z"] for p in ph if a in p["spine"] and b in p["spine"]]
        row(f"centroid spacing {NAMES[a]}->{NAMES[b]} (mm)", rv, vals)
    for l in (24, 23, 22, 21, 20):
        rv = rs[l]["extent_mm"] if l in rs and not rs[l]["cut"] else None
        row(f"z-extent of whole {NAMES[l]} label (mm)", rv, [p["spine"][l]["extent_mm"] for p in ph if l in p["spine"]])
    for l in (24, 23, 22, 21, 20):
        row(f"{NAMES[l]} body height (mm; real: TotalSegmentator middle height)", real["body_heights"][l],
            [p["body_heights"].get(l) for p in ph])
    for l in (24, 22, 20):
        row(f"{NAMES[l]} mean HU inside the vertebra label", rs[l]["mean_hu"] if l in rs else None,
            [p["spine"][l]["mean_hu"] for p in ph if l in p["spine"]])
    for key, label, d in (("fat_median_hu", "fat band median HU at L3", 1), ("muscle_median_hu", "muscle band median HU at L3", 1),
                          ("fat_share", "share of body area in the fat band", 2), ("muscle_share", "share of body area in the muscle band", 2),
                          ("body_width_mm", "body width at L3 (mm)", 0), ("body_depth_mm", "body AP depth at L3 (mm)", 0),
                          ("body_area_cm2", "body area at L3 (cm2)", 0)):
        row(label, real["tissue"][key], [p["tissue"][key] for p in ph], d)
    for key, label in (("heart_x_mm", "heart extent x (mm)"), ("heart_y_mm", "heart extent y (mm)"),
                       ("heart_z_mm", "heart extent z (mm)"), ("heart_volume_ml", "heart volume (ml)")):
        row(label, real["heart"][key], [p["heart"][key] for p in ph], 0)
    row("noise SD in fat, 3 mm voxels (HU)", real["noise"]["noise_sd_hu"], [p["noise"]["noise_sd_hu"] for p in ph])
    row("noise lag-1 correlation, 3 mm voxels", real["noise"]["noise_lag1_corr"], [p["noise"]["noise_lag1_corr"] for p in ph], 2)
    row("noise lag-1 correlation, native ~1.5 mm pixels", None, [p["noise_native"]["noise_lag1_corr"] for p in ph], 2)
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "realism_results.md")
    args = ap.parse_args(argv)
    t = time.time()
    real = real_stats()
    ph = phantom_stats(args.n, args.seed)
    table = summarise(real, ph)
    head = (f"# Phantom realism vs real CT fixtures\n\nCommand: `PYTHONPATH=src python3 benchmarks/realism.py --n {args.n} "
            f"--seed {args.seed}` ({time.time() - t:.0f} s). Real: `ct_abdomen` (3 mm, TotalSegmentator vertebra labels "
            f"and spine report; one patient) and `ct_heart_cta` (TotalSegmentator heart mask). Phantoms: {args.n} synthetic "
            f"patients (chest + abdomen, 3 mm slices, 1.5 mm pixels block-averaged to 3 mm). Heart volume of the real CTA "
            f"mask is one patient; phantom heart mask = pericardial sac content.\n\n")
    text = head + table + "\n"
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
