"""Exports of a batch: ``results.csv``, ``results.parquet`` and ``cohort.html``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..io.sidecar import write_csv
from .ledger import Ledger

__all__ = ["export_results", "result_rows"]

BASE_COLUMNS = ["exam", "status", "error", "seconds", "attempts", "source"]


def result_rows(out: Path) -> tuple[list[dict[str, Any]], list[str]]:
    from .runner import LEDGER_NAME

    with Ledger(out / LEDGER_NAME) as ledger:
        rows = ledger.rows()
    extra: list[str] = []
    table = []
    for r in rows:
        d: dict[str, Any] = {"exam": r.exam, "status": r.status if r.status in ("done", "failed") else "pending",
                             "error": r.error or "", "seconds": round(r.seconds, 3) if r.seconds else None,
                             "attempts": r.attempts, "source": r.source}
        for k, v in (r.result or {}).items():
            if k not in d:
                d[k] = v
                if k not in extra:
                    extra.append(k)
        table.append(d)
    return table, BASE_COLUMNS + extra


def export_results(out: str | os.PathLike) -> list[Path]:
    out = Path(out)
    rows, columns = result_rows(out)
    written = []
    written.append(write_csv(rows, columns, out / "results.csv"))
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        pass
    else:
        cols = {c: [r.get(c) for r in rows] for c in columns}
        for c, values in cols.items():  # one type per column: mixed columns become strings
            types = {type(v) for v in values if v is not None}
            if len(types) > 1 and not types <= {int, float}:
                cols[c] = [None if v is None else str(v) for v in values]
        pq.write_table(pa.table(cols), out / "results.parquet.part")
        os.replace(out / "results.parquet.part", out / "results.parquet")
        written.append(out / "results.parquet")
    try:
        from ..report.cohort import write_cohort_html
    except ImportError:
        pass
    else:
        written.append(write_cohort_html(rows, out / "cohort.html"))
    return written
