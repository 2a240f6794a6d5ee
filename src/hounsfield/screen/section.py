"""One analysis's part of a screening result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Section", "DONE", "NOT_ANALYSED", "FAILED"]

DONE, NOT_ANALYSED, FAILED = "done", "not analysed", "failed"


@dataclass
class Section:
    """What one analysis found (or why it did not run).

    ``values`` go to ``results.json``; ``summary`` rows (label, value) to the
    report's table; ``figures`` (name -> PNG bytes) are saved beside the
    results and embedded in the report; ``masks`` (file name -> Volume) are
    written as NIfTI; ``models`` describe the models used (name, checksum,
    what they were trained on).
    """

    name: str
    title: str
    status: str = DONE
    reason: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    summary: list[tuple[str, str]] = field(default_factory=list)
    figures: dict[str, bytes] = field(default_factory=dict, repr=False)
    masks: dict[str, Any] = field(default_factory=dict, repr=False)
    models: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "seconds": round(self.seconds, 3),
                "warnings": self.warnings, "models": self.models, **self.values}
