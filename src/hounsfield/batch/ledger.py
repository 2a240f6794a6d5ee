"""The batch ledger: one SQLite file (WAL) recording every exam's state.

States: ``pending`` -> ``running`` -> ``done`` | ``failed``. An exam is marked
``done`` only after its result file has been written completely (atomic
rename), in one transaction, so a run killed at any moment (kill -9 included)
never leaves a half-written result marked done; ``running`` rows found at
start-up belong to a dead run and are run again.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

__all__ = ["Ledger", "LedgerRow"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS exams (
    exam TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    started REAL,
    finished REAL,
    seconds REAL,
    worker TEXT,
    versions TEXT,
    error TEXT,
    result TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    finished REAL,
    options TEXT
);
"""


@dataclass(frozen=True)
class LedgerRow:
    exam: str
    source: str
    kind: str
    status: str
    attempts: int
    seconds: float | None
    error: str | None
    result: dict[str, Any] | None


class Ledger:
    """SQLite ledger at ``path`` (created if missing). Use from one process: the
    batch coordinator; workers never write to it."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing
    def add(self, exams: Iterable[tuple[str, str, str]]) -> int:
        """Register exams (id, source, kind); existing ones keep their state."""
        cur = self.db.executemany(
            "INSERT OR IGNORE INTO exams (exam, source, kind) VALUES (?, ?, ?)", list(exams)
        )
        return cur.rowcount

    def start_run(self, options: dict[str, Any]) -> int:
        cur = self.db.execute("INSERT INTO runs (started, options) VALUES (?, ?)", (time.time(), json.dumps(options)))
        # rows left 'running' by a killed run are pending again
        self.db.execute("UPDATE exams SET status = 'pending' WHERE status = 'running'")
        return int(cur.lastrowid)

    def finish_run(self, run_id: int) -> None:
        self.db.execute("UPDATE runs SET finished = ? WHERE id = ?", (time.time(), run_id))

    def claim(self, exam: str, worker: str = "") -> None:
        self.db.execute(
            "UPDATE exams SET status = 'running', attempts = attempts + 1, started = ?, worker = ?, error = NULL "
            "WHERE exam = ?", (time.time(), worker, exam))

    def done(self, exam: str, result: dict[str, Any], seconds: float, versions: dict[str, Any]) -> None:
        self.db.execute(
            "UPDATE exams SET status = 'done', finished = ?, seconds = ?, versions = ?, result = ?, error = NULL "
            "WHERE exam = ?", (time.time(), seconds, json.dumps(versions), json.dumps(result), exam))

    def failed(self, exam: str, error: str, seconds: float, versions: dict[str, Any]) -> None:
        self.db.execute(
            "UPDATE exams SET status = 'failed', finished = ?, seconds = ?, versions = ?, error = ? WHERE exam = ?",
            (time.time(), seconds, json.dumps(versions), error, exam))

    # ------------------------------------------------------------------ reading
    def todo(self, retry_failed: bool = False) -> list[tuple[str, str, str]]:
        states = ("pending", "failed") if retry_failed else ("pending",)
        q = f"SELECT exam, source, kind FROM exams WHERE status IN ({','.join('?' * len(states))}) ORDER BY exam"
        return [tuple(r) for r in self.db.execute(q, states)]  # type: ignore[misc]

    def rows(self) -> list[LedgerRow]:
        out = []
        for r in self.db.execute(
            "SELECT exam, source, kind, status, attempts, seconds, error, result FROM exams ORDER BY exam"
        ):
            out.append(LedgerRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]) if r[7] else None))
        return out

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT status, COUNT(*) FROM exams GROUP BY status").fetchall())
