"""One picture of where the radiograph models stand against the issue's bar and what this generator allows.

Reads the recorded results (nothing re-run) and draws docs/cxr_ceiling.png: external AUROC for CAC > 0 (500
phantom films of seed 4242, 219 with CAC > 0; 95 % bootstrap CI) of the trained models; the AUROC of perfect
readers of the true covariates on the same cohort (age + sex, age + arch calcium volume); the signal-known-exactly
reader of the coronary calcium itself (told where and what each plaque is; 120 patients of the same seed, a
with-vs-without-plaques AUROC, ``cxr_oracle.py``); and the bar of 0.90. All synthetic.

python benchmarks/cxr_ceiling_figure.py [--out docs/cxr_ceiling.png]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

MODELS = [  # label, result file (hounsfield evaluate cxr --json)
    ("image only, 2,000 films", "cxr_heldout4242_s7_heart2000_plain.json"),
    ("+ calcium map (--aux-map), 2,000", "cxr_heldout4242_s7_heart2000_maponly.json"),
    ("+ age, sex auxiliary, 2,000", "cxr_heldout4242_s7_heart2000_aux.json"),
    ("+ age, sex auxiliary + map, 2,000", "cxr_heldout4242_s7_heart2000_auxmap.json"),
    ("bundled cxr-cac (aux age, sex), 4,000", "cxr_heldout4242_heart4000_aux.json"),
    ("bundled cxr-cac-clinical (image + age, sex)", "cxr_heldout4242_heart4000_clin.json"),
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "cxr_ceiling.png"))
    a = ap.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = []
    for label, name in MODELS:
        d = json.loads((RESULTS / name).read_text())["auroc_cac_gt0"]
        rows.append((label, d["value"], d["ci95"], "C0"))
    probe = json.loads((RESULTS / "cxr_clinical_probe.json").read_text())["truth_covariates_auroc_cac_gt0"]
    oracle = json.loads((RESULTS / "cxr_oracle.json").read_text())["summary"]["cor_display"]
    rows += [(f"ideal reader of the coronary calcium, told where ({oracle['n']} with plaques)", oracle["ske_auroc"], None, "C2"),
             ("perfect reader of true age + sex", probe["age_sex"], None, "C1"),
             ("perfect reader of true age + arch calcium", probe["arch_age"], None, "C1")]
    fig, ax = plt.subplots(figsize=(9.5, 4.6))
    for k, (label, v, ci, colour) in enumerate(rows):
        y = len(rows) - 1 - k
        ax.barh(y, v - 0.5, left=0.5, color=colour, alpha=0.8, height=0.6)
        if ci:
            ax.plot(ci, [y, y], color="k", lw=1.2)
        ax.text(max(v, ci[1] if ci else v) + 0.005, y, f"{v:.2f}", va="center", fontsize=8)
    ax.axvline(0.90, color="C3", ls="--")
    ax.text(0.895, len(rows) - 0.45, "issue's bar 0.90 ", color="C3", fontsize=8, va="bottom", ha="right")
    ax.set_yticks(range(len(rows)), [r[0] for r in reversed(rows)], fontsize=8)
    ax.set_xlim(0.5, 1.0)
    ax.set_ylim(-0.6, len(rows) - 0.1)
    ax.set_xlabel("AUROC, CAC > 0 (external phantom films, seed 4242)")
    ax.set_title("Radiograph models vs what the phantom films allow (all synthetic)", fontsize=10)
    fig.tight_layout()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=110)
    print(a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
