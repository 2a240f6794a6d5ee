"""How visible is the calcium of the phantom radiographs at all? (oracle; synthetic only)

For each patient of a phantom cohort (not the training cohort: another seed) the radiograph is made three times
with the same anatomy and the same noise draw: with all calcium, without the coronary plaques, without the
arch plates (``phantoms/aortic.py``). The differences are the exact coronary / arch signal in each
representation:

* ``integral``: attenuation line integrals (no scatter, no noise, no log, no window: anatomy is the only clutter)
* ``display``: the 1 mm radiograph as written (scatter, quantum noise, blur, -log, window)
* ``cutout224``: network input of the bundled model (equalised, heart cut-out, 224 px, ~1 mm);
  ``cutout224_noeq`` the same without histogram equalisation
* ``film224``: the published whole-film preset at 224 px (~1.6 mm)

Per patient and representation, after a high-pass (image minus its Gaussian blur, sigma 3 mm): peak
signal, local clutter SD (21 mm box around the signal's peak) and their ratio (CNR); and the detectability of
a signal-known-exactly observer: the statistic ``<HP(image), HP(signal)>`` with and without the signal on the
same patient (paired; its AUROC is what an ideal reader who knows exactly where and what to look for reaches).
The display is also made without scatter, without noise and without both, to say which step costs what;
``--voxel-mm 1`` paints the anatomy on a finer grid (is the 2 mm grid's staircase part of the clutter?).

python benchmarks/cxr_oracle.py --seed 4242 --n 120 --out benchmarks/results/cxr_oracle.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage
from sklearn.metrics import roc_auc_score

from hounsfield.cxr.drr import radiograph_from_integrals
from hounsfield.cxr.phantom_drr import PHANTOM_DRR_SETTINGS, anatomy_integrals, project_plaques
from hounsfield.cxr.preprocess import HEART_REGION, preprocess, preset
from hounsfield.phantoms import build_patient, sample_params
from hounsfield.phantoms.aortic import sample_arch_plaques
from hounsfield.phantoms.patient import patient_rng


def highpass(img: np.ndarray, sigma_px: float) -> np.ndarray:
    img = np.asarray(img, np.float64)
    return img - ndimage.gaussian_filter(img, sigma_px, mode="nearest")


def visibility(full: np.ndarray, without: np.ndarray, sigma_px: float, box_px: int) -> dict:
    """Signal = full - without; CNR and the paired SKE statistics (with, without) on the high-passed images."""
    s = highpass(full - without, sigma_px)
    if not np.any(np.abs(full - without) > 0):
        return {}
    r, c = np.unravel_index(np.argmax(s), s.shape)
    h = box_px // 2
    sl = (slice(max(r - h, 0), r + h + 1), slice(max(c - h, 0), c + h + 1))
    hb = highpass(without, sigma_px)
    clutter = float(hb[sl].std())
    t = s * (np.abs(s) > 0.01 * np.abs(s).max())
    return {"peak": float(s.max()), "clutter_sd": clutter, "cnr": float(s.max() / max(clutter, 1e-12)),
            "ske_with": float((highpass(full, sigma_px) * t).sum()), "ske_without": float((hb * t).sum())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--n", type=int, default=120)
    ap.add_argument("--arch-link", type=float, default=0.8)
    ap.add_argument("--voxel-mm", type=float, default=2.0, help="anatomy grid (the cohort uses 2 mm)")
    ap.add_argument("--out", default="benchmarks/results/cxr_oracle.json")
    a = ap.parse_args(argv)
    st = PHANTOM_DRR_SETTINGS
    variants = {"display": st, "no_scatter": dataclasses.replace(st, scatter_fraction=0.0),
                "no_noise": dataclasses.replace(st, photons_per_mm2=None),
                "no_scatter_no_noise": dataclasses.replace(st, scatter_fraction=0.0, photons_per_mm2=None)}
    pre_cut, pre_film = preset(224, region=HEART_REGION), preset(224)
    pre_cut_raw = preset(224, equalize=False, region=HEART_REGION)
    rows, t0 = [], time.time()
    for i in range(a.n):
        p = sample_params(a.seed, i, arch_link=a.arch_link)
        ph = build_patient(p)
        rng = np.random.default_rng([a.seed, i, 77])
        extra: dict = {}
        field, xr, zt, _ = anatomy_integrals(ph, st, rng, voxel_mm=a.voxel_mm, extra=extra)
        noise_state = rng.bit_generator.state
        n_arch = len(sample_arch_plaques(p.arch_calcium_mm3, ph.heart, patient_rng(a.seed, i, 41)))
        other = list(ph.distractors)
        arch, base = (other[len(other) - n_arch:], other[:len(other) - n_arch]) if n_arch else ([], other)
        proj = lambda pl: project_plaques(pl, xr, zt, field.shape, st.pixel_mm, st.mu_water_per_mm, st.bone_factor)
        c_cor, c_arch, c_base = proj(list(ph.plaques)), proj(arch), proj(base)
        fields = {"full": field + c_cor + c_arch + c_base, "no_cor": field + c_arch + c_base,
                  "no_arch": field + c_cor + c_base}
        row = {"i": i, "age": p.age, "burden": p.cac_burden, "arch_mm3": p.arch_calcium_mm3,
               "n_plaques": len(ph.plaques), "coronary_mm3": float(sum(q.volume_mm3 for q in ph.plaques)),
               "max_plaque_hu": float(max([q.hu for q in ph.plaques], default=0.0)),
               "max_plaque_diam_mm": float(max([2 * q.radii.max() for q in ph.plaques], default=0.0))}
        for key, which in (("cor", "no_cor"), ("arch", "no_arch")):
            if not np.any(fields["full"] != fields[which]):
                continue
            row[f"{key}_integral"] = visibility(fields["full"], fields[which], 3.0, 21)
            for vname, vs in variants.items():
                imgs = {}
                for f in ("full", which):
                    g = np.random.default_rng()
                    g.bit_generator.state = noise_state  # the same noise draw for both
                    imgs[f] = radiograph_from_integrals(fields[f], vs, g).pixels
                row[f"{key}_{vname}"] = visibility(imgs["full"], imgs[which], 3.0, 21)
                if vname == "display":
                    row[f"{key}_cutout224"] = visibility(preprocess(imgs["full"], pre_cut),
                                                         preprocess(imgs[which], pre_cut), 3.0 / 1.04, 21)
                    row[f"{key}_cutout224_noeq"] = visibility(preprocess(imgs["full"], pre_cut_raw),
                                                              preprocess(imgs[which], pre_cut_raw), 3.0 / 1.04, 21)
                    row[f"{key}_film224"] = visibility(preprocess(imgs["full"], pre_film),
                                                       preprocess(imgs[which], pre_film), 3.0 / 1.57, 13)
                    # where does the signal land: fraction of its integral where the ray crosses >= 60 mm of lung
                    sig = fields["full"] - fields[which]
                    row[f"{key}_over_lung_fraction"] = float(sig[extra["lung_mm"] >= 60].sum() / sig.sum())
        rows.append(row)
        print(f"{i} {time.time() - t0:.0f}s", file=sys.stderr, flush=True)

    reps = ["integral", "no_scatter_no_noise", "no_noise", "no_scatter", "display", "cutout224_noeq", "cutout224",
            "film224"]
    summary = {}
    for key in ("cor", "arch"):
        for rep in reps:
            vals = [r[f"{key}_{rep}"] for r in rows if r.get(f"{key}_{rep}")]
            if not vals:
                continue
            cnr = np.array([v["cnr"] for v in vals])
            w, wo = np.array([v["ske_with"] for v in vals]), np.array([v["ske_without"] for v in vals])
            y = np.r_[np.ones(len(w)), np.zeros(len(wo))]
            summary[f"{key}_{rep}"] = {
                "n": len(vals), "cnr_median": float(np.median(cnr)), "cnr_q25_q75": np.percentile(cnr, [25, 75]).tolist(),
                "fraction_cnr_ge_3": float(np.mean(cnr >= 3)), "ske_auroc": float(roc_auc_score(y, np.r_[w, wo])),
                "peak_median": float(np.median([v["peak"] for v in vals])),
                "clutter_sd_median": float(np.median([v["clutter_sd"] for v in vals]))}
        fr = [r[f"{key}_over_lung_fraction"] for r in rows if f"{key}_over_lung_fraction" in r]
        if fr:
            summary[f"{key}_over_lung_fraction_median"] = float(np.median(fr))
    y = np.array([r["burden"] > 0 for r in rows])
    cnr_cut = np.array([r.get("cor_cutout224", {}).get("cnr", 0.0) for r in rows])
    summary["burden_gt0"] = int(y.sum())
    summary["n"] = len(rows)
    summary["auroc_arch_volume_for_burden_gt0"] = float(roc_auc_score(y, [r["arch_mm3"] for r in rows]))
    summary["auroc_age_for_burden_gt0"] = float(roc_auc_score(y, [r["age"] for r in rows]))
    summary["fraction_of_positives_with_cutout_cnr_ge_3"] = float(np.mean(cnr_cut[y] >= 3))
    out = {"voxel_mm": a.voxel_mm, "command": "python benchmarks/cxr_oracle.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "seed": a.seed, "arch_link": a.arch_link, "seconds": round(time.time() - t0, 1),
           "label": "coronary burden > 0 of the phantom (plaques present); no Agatston rendering",
           "summary": summary, "patients": rows}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
