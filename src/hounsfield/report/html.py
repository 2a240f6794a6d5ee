"""Small helpers for self-contained HTML pages (images embedded as data URIs)."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

__all__ = ["embed_png", "figure_png", "page", "table", "esc"]

esc = html.escape

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em;border-bottom:2px solid #456;padding-bottom:.3em}h2{font-size:1.2em;margin-top:1.6em;color:#345}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#eef2f5}.note{color:#666;font-size:.9em}.bad{color:#a11}.ok{color:#161}
img{max-width:100%;border:1px solid #ddd;margin:.4em 0}.grid{display:flex;flex-wrap:wrap;gap:1em}
.grid figure{margin:0;flex:1 1 320px}figcaption{font-size:.9em;color:#555}
"""


def embed_png(png: bytes, alt: str) -> str:
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def figure_png(fig: Any) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def table(rows: list[dict[str, Any]], columns: list[str], id: str | None = None) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc('' if r.get(c) is None else str(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    ident = f' id="{esc(id)}"' if id else ""
    return f"<table{ident}><tr>{head}</tr>{body}</table>"


#: after load, records how many embedded images decoded (read by the browser test and visible to a
#: reader as a warning when some did not)
_IMAGE_CHECK = (
    "<div id='imgcheck' class='note'></div><script>window.addEventListener('load',function(){"
    "var im=Array.prototype.slice.call(document.images);"
    "var ok=im.filter(function(i){return i.complete&&i.naturalWidth>0;}).length;"
    "var d=document.getElementById('imgcheck');d.dataset.loaded=ok;d.dataset.total=im.length;"
    "if(ok<im.length){d.textContent=(im.length-ok)+' image(s) failed to load';d.className='bad';}});</script>"
)


def page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{esc(title)}</h1>{body}{_IMAGE_CHECK}</body></html>")
