"""Synthetic cohort: gated score vs truth, fake-gated non-gated vs gated (SYNTHETIC data).

    hounsfield phantom chest --n 120 --seed 2000 -o /tmp/calc/test --matrix 256 --gated-matrix 256 --coverage chest
    PYTHONPATH=src python3 benchmarks/calcium_cohort.py --data /tmp/calc/test --workers 2

Patients come from ``hounsfield phantom chest`` with a seed the classifier's
training never saw (the bundled model was trained on seed 1000). Truth is the
phantom's own clinical Agatston score of the gated exam restricted to the true
coronary lesion map (``truth.json``). Each exam goes through the same path as
``hounsfield calcium``: gated exams scored as stored, non-gated exams fake
gated to 3 mm; search region from the built-in heart heuristic (default) or
from the phantom's heart/aorta/bone masks standing in for TotalSegmentator
(``--anatomy masks``); lesions classified by the bundled model.

Writes ``<out>/<anatomy>/{scores.csv, summary.json, summary.md, *_bland_altman.png}``.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path
from typing import Any

import numpy as np


def score_patient(args: tuple[str, str, str]) -> dict[str, Any]:
    folder, anatomy, model_name = args
    from hounsfield.anatomy import AnatomyMasks
    from hounsfield.calcium import analyse
    from hounsfield.calcium.classify import load_classifier
    from hounsfield.io import read

    d = Path(folder)
    truth = json.loads((d / "truth.json").read_text())
    row: dict[str, Any] = {"patient_id": d.name, "truth": float(truth["agatston"]),
                           **{f"truth_{a}": float(truth["arteries"][a]["agatston"]) for a in ("LM", "LAD", "LCX", "RCA")}}
    model = None if model_name == "none" else load_classifier(model_name)
    for exam, mode in (("gated", "gated"), ("non_gated", "non-gated")):
        t = time.perf_counter()
        vol = read(d / f"{exam}.nii.gz")
        masks = None
        if anatomy == "masks":
            masks = AnatomyMasks(heart=read(d / f"{exam}_heart.nii.gz"), aorta=read(d / f"{exam}_aorta.nii.gz"),
                                 bone=read(d / f"{exam}_bones.nii.gz"), source="phantom masks")
        try:
            r = analyse(vol, mode=mode, masks=masks, classifier=model)
            row[exam] = r.score.agatston
            for a in ("LM", "LAD", "LCX", "RCA"):
                reg = r.score.regions.get(a)
                row[f"{exam}_{a}"] = reg.agatston if reg else 0.0
            row[f"{exam}_lesions"] = r.score.n_lesions
            row[f"{exam}_error"] = ""
        except Exception as exc:  # recorded, counted as a failure in the summary
            row[exam] = float("nan")
            row[f"{exam}_error"] = f"{type(exc).__name__}: {exc}"
        row[f"{exam}_seconds"] = round(time.perf_counter() - t, 2)
    return row


def summarise(rows: list[dict[str, Any]], out: Path, n_boot: int) -> dict[str, Any]:
    from hounsfield.calcium.agreement import agreement, bland_altman_plot

    ok = [r for r in rows if np.isfinite(r["gated"]) and np.isfinite(r["non_gated"])]
    truth = np.array([r["truth"] for r in ok])
    g = np.array([r["gated"] for r in ok])
    ng = np.array([r["non_gated"] for r in ok])
    res: dict[str, Any] = {"n_patients": len(rows), "n_scored": len(ok),
                           "failures": [{"patient_id": r["patient_id"], "gated": r["gated_error"],
                                         "non_gated": r["non_gated_error"]} for r in rows if r not in ok]}
    for name, a, b in (("gated_vs_truth", truth, g), ("nongated_vs_gated", g, ng), ("nongated_vs_truth", truth, ng)):
        ag = agreement(a, b, n_bootstrap=n_boot, seed=0)
        res[name] = ag.to_dict()
        bland_altman_plot(a, b, out / f"{name}_bland_altman.png", title=f"synthetic cohort: {name.replace('_', ' ')}",
                          labels=tuple(name.split("_vs_")[::-1]))  # type: ignore[arg-type]
    res["seconds_per_exam"] = {e: round(float(np.median([r[f"{e}_seconds"] for r in rows])), 2)
                               for e in ("gated", "non_gated")}
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--anatomy", choices=("builtin", "masks"), default="builtin")
    ap.add_argument("--model", default="default")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--bootstrap", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "calcium_cohort")
    args = ap.parse_args()
    folders = sorted(str(p.parent) for p in args.data.glob("*/truth.json"))
    if args.limit:
        folders = folders[: args.limit]
    out = args.out / args.anatomy
    out.mkdir(parents=True, exist_ok=True)
    t = time.time()
    jobs = [(f, args.anatomy, args.model) for f in folders]
    if args.workers > 1:
        from multiprocessing import get_context

        with get_context("spawn").Pool(args.workers) as pool:
            rows = list(pool.imap(score_patient, jobs))
    else:
        rows = [score_patient(j) for j in jobs]
    with open(out / "scores.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    res = summarise(rows, out, args.bootstrap)
    res.update({"data": str(args.data), "anatomy": args.anatomy, "model": args.model,
                "wall_seconds": round(time.time() - t, 1), "synthetic": True})
    (out / "summary.json").write_text(json.dumps(res, indent=1) + "\n")
    lines = [f"# Synthetic calcium cohort ({args.anatomy} anatomy, model {args.model}) - SYNTHETIC data", "",
             f"{res['n_scored']} of {res['n_patients']} patients scored; data {args.data}; {res['wall_seconds']} s", "",
             "| comparison | ICC(2,1) [95% CI] | Spearman | linear kappa [95% CI] | bias (AU) | LoA |",
             "|---|---|---|---|---|---|"]
    for name in ("gated_vs_truth", "nongated_vs_gated", "nongated_vs_truth"):
        a = res[name]
        ci = a["ci95"]
        lines.append(f"| {name} | {a['icc']:.3f} [{ci['icc'][0]:.3f}, {ci['icc'][1]:.3f}] | {a['spearman']:.3f} | "
                     f"{a['kappa']:.3f} [{ci['kappa'][0]:.3f}, {ci['kappa'][1]:.3f}] | {a['bias']:.1f} | "
                     f"{a['loa_lower']:.1f} to {a['loa_upper']:.1f} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
