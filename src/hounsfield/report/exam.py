"""``report.html`` for one screened exam: one self-contained page a clinician can read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .html import embed_png, esc, page, table

__all__ = ["write_exam_html"]

_STATUS_CLASS = {"done": "ok", "not analysed": "note", "failed": "bad"}


def write_exam_html(res: Any, path: str | os.PathLike) -> Path:
    """Render a :class:`~hounsfield.screen.ScreenResult` to ``path``."""
    path = Path(path)
    parts = [f"<p class='note'>Input: {esc(res.input)} ({esc(res.kind)}). hounsfield report; "
             "not a medical device; results from models trained on synthetic data must be checked by a reader.</p>"]
    if res.volume_info:
        v = res.volume_info
        rows = [{"item": k, "value": v.get(k)} for k in ("modality", "shape", "spacing_mm", "orientation", "kvp",
                                                          "increment_mm", "thickness_mm", "gated", "gated_reason")]
        parts.append("<h2>Exam</h2>" + table(rows, ["item", "value"], id="exam"))
        if v.get("decisions"):
            parts.append("<p class='note'>Reader decisions: " + "; ".join(esc(d) for d in v["decisions"]) + "</p>")
    for s in res.sections:
        cls = _STATUS_CLASS.get(s.status, "note")
        parts.append(f"<h2 id='{esc(s.name)}'>{esc(s.title)} <span class='{cls}'>({esc(s.status)})</span></h2>")
        if s.reason:
            parts.append(f"<p class='{cls}'>{esc(s.reason)}</p>")
        if s.summary:
            parts.append(table([{"measure": a, "value": b} for a, b in s.summary], ["measure", "value"],
                               id=f"{s.name}-summary"))
        for w in s.warnings:
            parts.append(f"<p class='bad'>warning: {esc(w)}</p>")
        if s.figures:
            parts.append('<div class="grid">' + "".join(
                f"<figure>{embed_png(png, name)}<figcaption>{esc(name)}</figcaption></figure>"
                for name, png in s.figures.items()) + "</div>")
    not_done = [s for s in res.sections if s.status != "done"]
    parts.append("<h2>Not analysed</h2>" + ("<ul>" + "".join(
        f"<li><b>{esc(s.title)}</b>: {esc(s.reason)}</li>" for s in not_done) + "</ul>" if not_done
        else "<p>Every analysis that applies ran.</p>"))
    models = res.to_dict()["models"]
    parts.append("<h2>Models</h2>" + (table(models, ["name", "task", "sha256", "trained_on"], id="models")
                                      if models else "<p>No learned model was used.</p>"))
    text = page(f"hounsfield report: {res.exam}", "".join(parts))
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
