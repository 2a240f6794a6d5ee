"""``cohort.html``: what a batch found, on one self-contained page."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from .html import embed_png, esc, figure_png, page, table

__all__ = ["write_cohort_html"]

#: result columns shown as distributions when present (others with numbers are shown too)
PREFERRED = ["risk_category", "agatston", "L3_muscle_area_cm2", "L3_slice", "T12_slice", "n_vertebrae"]


def _numeric(rows: list[dict[str, Any]], col: str) -> list[float]:
    out = []
    for r in rows:
        v = r.get(col)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(float(v))
    return out


def write_cohort_html(rows: list[dict[str, Any]], path: str | os.PathLike) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    status = Counter(r["status"] for r in rows)
    parts = [f"<p>{len(rows)} exams: " + ", ".join(f"{esc(k)} {v}" for k, v in sorted(status.items())) + "</p>"]
    figs = []
    cats = Counter(r.get("risk_category") for r in rows if r.get("risk_category"))
    if cats:
        fig, ax = plt.subplots(figsize=(5, 3))
        from ..calcium.scoring import RISK_SCHEMES

        order = [lab for scheme in RISK_SCHEMES.values() for lab, _ in scheme]
        labels = sorted(cats, key=lambda c: order.index(c) if c in order else len(order))
        ax.bar(labels, [cats[l] for l in labels], color="#468")
        ax.set_title("CAC risk categories")
        ax.set_ylabel("exams")
        figs.append(("CAC risk categories", figure_png(fig)))
    skip = {"seconds", "attempts"}
    all_cols = list(dict.fromkeys(k for r in rows for k in r))
    numeric_cols = [c for c in all_cols if c not in skip]
    numeric_cols = [c for c in PREFERRED if c in numeric_cols] + [c for c in numeric_cols if c not in PREFERRED]
    for col in numeric_cols:
        vals = _numeric(rows, col)
        if len(vals) < 2 or col == "risk_category":
            continue
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.hist(vals, bins=min(30, max(5, len(vals) // 3)), color="#468")
        ax.set_title(col)
        ax.set_ylabel("exams")
        figs.append((col, figure_png(fig)))
        if len(figs) >= 8:
            break
    fig, ax = plt.subplots(figsize=(5, 3))
    keys = sorted(status)
    ax.bar(keys, [status[k] for k in keys], color=["#a33" if k == "failed" else "#4a6" for k in keys])
    ax.set_title("exam status")
    figs.append(("exam status", figure_png(fig)))
    parts.append('<h2>Distributions</h2><div class="grid">' + "".join(
        f"<figure>{embed_png(png, name)}<figcaption>{esc(name)}</figcaption></figure>" for name, png in figs) + "</div>")
    failed = [r for r in rows if r["status"] == "failed"]
    parts.append(f"<h2>Failures ({len(failed)})</h2>")
    parts.append(table(failed, ["exam", "error"], id="failures") if failed else "<p class='ok'>none</p>")
    parts.append("<h2>All exams</h2>")
    key = ["exam", "status", "error", "seconds", "agatston", "risk_category", "T12_slice", "L3_slice",
           "L3_muscle_area_cm2", "vertebrae_found"]
    cols = [c for c in key if c in all_cols] or ["exam", "status"]
    parts.append("<p class='note'>Key columns; every column is in results.csv / results.parquet.</p>")
    parts.append(table(rows, cols, id="exams"))
    text = page("hounsfield cohort", "".join(parts))
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
