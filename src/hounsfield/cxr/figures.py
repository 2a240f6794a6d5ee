"""Training figures (``--viz``): loss curves, ROC curves, confusion matrices (matplotlib, Agg)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics.classification import roc_curve_points
from .data import CATEGORY_NAMES

__all__ = ["plot_losses", "plot_roc", "plot_confusion"]


def _plt() -> Any:
    from .._optional import import_optional

    mpl = import_optional("matplotlib", "plots", "--viz figures")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_losses(history: list[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Train and validation loss per epoch, one colour per fold; the chosen epoch marked."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    folds = sorted({h["fold"] for h in history})
    for f in folds:
        rows = [h for h in history if h["fold"] == f]
        ep = [h["epoch"] for h in rows]
        line, = ax.plot(ep, [h["train_loss"] for h in rows], "-", label=f"fold {f} train")
        ax.plot(ep, [h["val_loss"] for h in rows], "--", color=line.get_color(), label=f"fold {f} validation")
        best = [h for h in rows if h.get("selected")]
        if best:
            ax.plot([best[0]["epoch"]], [best[0]["val_loss"]], "o", color=line.get_color())
    ax.set_xlabel("epoch"); ax.set_ylabel("loss"); ax.set_title("losses (o: epoch selected on validation)")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110); plt.close(fig)
    return Path(path)


def plot_roc(curves: dict[str, tuple[Any, Any]], path: str | os.PathLike, title: str = "CAC > 0") -> Path:
    """ROC curves: ``{label: (y_true, score)}``."""
    from ..metrics.classification import auroc

    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for label, (y, s) in curves.items():
        fpr, tpr = roc_curve_points(y, s)
        ax.plot(fpr, tpr, label=f"{label} (AUC {auroc(y, s):.3f})")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set_xlabel("1 - specificity"); ax.set_ylabel("sensitivity"); ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout(); fig.savefig(path, dpi=110); plt.close(fig)
    return Path(path)


def plot_confusion(matrix: Any, path: str | os.PathLike, labels: Any = CATEGORY_NAMES, title: str = "") -> Path:
    """A confusion matrix (rows: truth, columns: prediction) with counts."""
    plt = _plt()
    m = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.imshow(m, cmap="Blues")
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, str(int(v)), ha="center", va="center", color="black" if v < m.max() / 2 else "white")
    ax.set_xticks(range(len(labels))); ax.set_xticklabels(labels)
    ax.set_yticks(range(len(labels))); ax.set_yticklabels(labels)
    ax.set_xlabel("predicted"); ax.set_ylabel("true"); ax.set_title(title)
    fig.tight_layout(); fig.savefig(path, dpi=110); plt.close(fig)
    return Path(path)
