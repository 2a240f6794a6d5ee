"""Where the vertebra detector's misses and localisation errors come from (synthetic phantoms).

Usage::

    python benchmarks/vertebrae_breakdown.py PHANTOM_DIR PRED_DIR [--json OUT.json] [--redo]

PHANTOM_DIR holds phantom folders (``CASE/non_gated.nii.gz`` + ``CASE/truth.json``);
detections are written to ``PRED_DIR/CASE.json`` (re-used unless ``--redo``).
Prints the pooled VerSe identification rate and localisation error, then

* every missed vertebra with its cause: ``unlabelled`` (no anchor, nothing
  predicted), ``shifted`` (the scan's labels are off by a constant: a wrong
  anchor or a missed/extra disc below), ``edge`` (reference centroid within
  half a vertebra of the end of the field of view), ``missing`` (no
  same-label prediction), ``far`` (right label, > 20 mm);
  and whether the patient is transitional (T13 / L6 / sacralised L5);
* the localisation error split into cranio-caudal (z), antero-posterior (y)
  and left-right (x) components, mean signed and mean absolute, and per
  region; errors of vertebrae at the field-of-view edge separately.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("pred", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--redo", action="store_true")
    args = ap.parse_args()

    from hounsfield.io import read, write_json
    from hounsfield.vertebrae.evaluate import _phantom_truth, evaluate_scan, summarise
    from hounsfield.vertebrae.formats import label_name, order_key, read_centroids, region_of
    from hounsfield.vertebrae.model import load_model

    model = load_model()
    args.pred.mkdir(parents=True, exist_ok=True)
    cases = sorted(p.parent for p in args.data.glob("*/truth.json") if (p.parent / "non_gated.nii.gz").exists())
    results, misses, comps, timing = [], [], [], []
    for case in cases:
        out = args.pred / f"{case.name}.json"
        vol = None
        if args.redo or not out.exists():
            vol = read(case / "non_gated.nii.gz")
            w0, c0 = time.perf_counter(), time.process_time()
            det = model.detect(vol)
            timing.append({"case": case.name, "wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0,
                           "shape": list(vol.shape)})
            write_json(det.to_dict(), out)
        pred = read_centroids(out)
        det_d = json.loads(out.read_text())
        truth = json.loads((case / "truth.json").read_text())
        ref = _phantom_truth(case / "truth.json")
        res = evaluate_scan(pred, ref, case.name)
        results.append(res)
        if vol is None:
            vol = read(case / "non_gated.nii.gz")
        zs = [vol.world([0, 0, k])[2] for k in (0, vol.shape[2] - 1)]
        zlo, zhi = min(zs), max(zs)
        heights = {e["label"]: e.get("body_height_mm") or 25.0 for e in truth["vertebrae"]}
        trans = truth.get("anatomy", {}).get("transitional")
        # constant label shift of the scan: rank difference between the closest prediction and the truth
        shifts = [order_key(r.closest_label) - order_key(r.label) for r in res.rows
                  if r.closest_label is not None and r.closest_mm is not None and r.closest_mm <= 20]
        shift = Counter(round(s) for s in shifts).most_common(1)[0][0] if shifts else None
        for r in res.rows:
            name = label_name(r.label)
            z = r.reference[2]
            edge = min(z - zlo, zhi - z) < 0.5 * heights.get(name, 25.0) + 4
            if r.error_mm is not None:
                d = np.subtract(r.predicted, r.reference)
                comps.append({"case": case.name, "label": name, "region": region_of(r.label), "edge": bool(edge),
                              "dx": float(d[0]), "dy": float(d[1]), "dz": float(d[2]), "err": r.error_mm})
            if r.identified:
                continue
            if not pred:
                cause = "unlabelled"
            elif edge:
                cause = "edge"
            elif shift not in (None, 0):
                cause = f"shifted {shift:+d}"
            elif r.predicted is None:
                cause = "missing"
            else:
                cause = "far" if (r.error_mm or 0) > 20 else "closer-to-other"
            misses.append({"case": case.name, "label": name, "cause": cause, "transitional": trans,
                           "anchor": det_d.get("anchor"),
                           "error_mm": None if r.error_mm is None else round(r.error_mm, 1),
                           "closest": None if r.closest_label is None else label_name(r.closest_label),
                           "closest_mm": None if r.closest_mm is None else round(r.closest_mm, 1),
                           "fov_z": [round(zlo, 1), round(zhi, 1)]})
    summ = summarise(results)
    print(f"{summ['n_scans']} scans, {summ['n_vertebrae']} vertebrae: identification "
          f"{100 * summ['identification_rate']:.1f} %, mean error {summ['mean_error_mm']:.2f} mm, "
          f"median {summ['median_error_mm']:.2f} mm")
    for reg, v in summ["per_region"].items():
        print(f"  {reg:9s} n={v['n']:4d} id {100 * v['identification_rate']:5.1f} %  mean {v['mean_error_mm']:.2f}  "
              f"median {v['median_error_mm']:.2f}")
    print(f"misses ({len(misses)}):", dict(Counter(m["cause"].split()[0] for m in misses)))
    for m in misses:
        print("  ", json.dumps(m))
    c = comps
    if c:
        def stats(rows: list[dict]) -> str:
            a = np.array([[r["dx"], r["dy"], r["dz"], r["err"]] for r in rows])
            sq = np.sum(a[:, 3] ** 2)
            return (f"n={len(rows):4d} mean err {a[:, 3].mean():5.2f} | signed x {a[:, 0].mean():+.2f} "
                    f"y {a[:, 1].mean():+.2f} z {a[:, 2].mean():+.2f} | abs x {np.abs(a[:, 0]).mean():.2f} "
                    f"y {np.abs(a[:, 1]).mean():.2f} z {np.abs(a[:, 2]).mean():.2f} | share of sum sq "
                    f"x {np.sum(a[:, 0]**2) / sq:.2f} y {np.sum(a[:, 1]**2) / sq:.2f} z {np.sum(a[:, 2]**2) / sq:.2f}")
        print("error components (pred - truth, mm):")
        print("  all      ", stats(c))
        print("  interior ", stats([r for r in c if not r["edge"]]))
        if any(r["edge"] for r in c):
            print("  fov edge ", stats([r for r in c if r["edge"]]))
        for reg in ("cervical", "thoracic", "lumbar", "sacral"):
            rr = [r for r in c if r["region"] == reg]
            if rr:
                print(f"  {reg:9s}", stats(rr))
        big = sorted(c, key=lambda r: -r["err"])[:15]
        print("largest errors:")
        for r in big:
            print(f"   {r['case']} {r['label']:4s} {r['err']:6.1f} mm  dx {r['dx']:+6.1f} dy {r['dy']:+6.1f} "
                  f"dz {r['dz']:+6.1f}{'  (fov edge)' if r['edge'] else ''}")
    if timing:
        w = np.array([t["wall_s"] for t in timing])
        cpu = np.array([t["cpu_s"] for t in timing])
        print(f"speed: mean wall {w.mean():.2f} s (max {w.max():.2f}), mean cpu {cpu.mean():.2f} s "
              f"(max {cpu.max():.2f}) over {len(timing)} scans")
    if args.json:
        write_json({"summary": summ, "misses": misses, "components": comps, "timing": timing}, args.json)


if __name__ == "__main__":
    main()
