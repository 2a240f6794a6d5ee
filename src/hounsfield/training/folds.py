"""Patient-grouped, stratified cross-validation folds with an inner validation split.

Every image of a patient lands in the same fold (``groups``), the folds keep
the class balance (``strata``) as well as grouping allows, and model selection
uses an inner validation split carved out of the training part only, so the
test fold is never looked at before the final evaluation.

Examples
--------
>>> import numpy as np
>>> strata = np.array([0, 0, 1, 1, 0, 1, 0, 1])
>>> groups = np.array([1, 1, 2, 2, 3, 4, 5, 6])
>>> folds = grouped_stratified_folds(strata, groups, n_splits=2, seed=0)
>>> sorted(np.concatenate([f.test for f in folds]).tolist())
[0, 1, 2, 3, 4, 5, 6, 7]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Fold", "grouped_stratified_folds", "inner_validation_split", "check_folds", "merge_rare_strata"]


@dataclass(frozen=True)
class Fold:
    """Indices (into the data set) of one outer fold.

    ``train`` = ``inner_train`` + ``validation``; ``test`` is disjoint from
    both, at the patient level.
    """

    index: int
    train: np.ndarray
    test: np.ndarray
    inner_train: np.ndarray
    validation: np.ndarray

    def to_dict(self, groups: Any = None) -> dict[str, Any]:
        d: dict[str, Any] = {"fold": self.index, "n_train": int(self.inner_train.size),
                             "n_validation": int(self.validation.size), "n_test": int(self.test.size)}
        if groups is not None:
            g = np.asarray(groups)
            for name in ("inner_train", "validation", "test"):
                d[f"{name}_groups"] = sorted({str(v) for v in g[getattr(self, name)]})
        return d


def merge_rare_strata(strata: np.ndarray, min_count: int) -> np.ndarray:
    """Merge (ordered) classes with fewer than ``min_count`` members into their nearest neighbour.

    >>> merge_rare_strata(np.array([0, 0, 0, 1, 2, 2, 2]), 2).tolist()
    [0, 0, 0, 0, 2, 2, 2]
    """
    out = np.asarray(strata).copy()
    while True:
        values, counts = np.unique(out, return_counts=True)
        if values.size <= 1 or counts.min() >= min_count:
            return out
        i = int(np.argmin(counts))
        j = i - 1 if i == values.size - 1 or (i > 0 and counts[i - 1] <= counts[i + 1]) else i + 1
        out[out == values[i]] = values[j]


def _sgkf(strata: np.ndarray, groups: np.ndarray, n_splits: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    n_groups = np.unique(groups).size
    if n_groups < n_splits:
        raise ValueError(f"{n_splits} folds need at least {n_splits} patients, got {n_groups}")
    merged = merge_rare_strata(strata, n_splits)
    if np.unique(merged).size > 1:
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        splits = splitter.split(np.zeros(strata.size), merged, groups)
    else:
        splits = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(np.zeros(strata.size), groups=groups)
    return [(np.sort(a), np.sort(b)) for a, b in splits]


def inner_validation_split(
    train: np.ndarray, strata: np.ndarray, groups: np.ndarray, val_fraction: float = 0.2, seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Split training indices ``train`` into (inner train, validation), grouped and stratified.

    The validation part is one fold of a ``round(1 / val_fraction)``-fold
    StratifiedGroupKFold of the training patients only.
    """
    train = np.asarray(train)
    k = max(2, int(round(1.0 / val_fraction)))
    k = min(k, np.unique(groups[train]).size)
    inner = _sgkf(strata[train], groups[train], k, seed)
    tr, va = inner[0]
    return np.sort(train[tr]), np.sort(train[va])


def grouped_stratified_folds(
    strata: Any, groups: Any, n_splits: int = 5, seed: int = 0, val_fraction: float = 0.2,
) -> list[Fold]:
    """Outer ``n_splits`` folds (StratifiedGroupKFold) each with an inner validation split.

    Parameters
    ----------
    strata
        Class per sample used for stratification (e.g. CAC category).
    groups
        Patient ID per sample; a patient never spans two parts.
    n_splits
        Number of outer folds.
    seed
        Shuffling seed (outer folds use ``seed``, inner splits ``seed + 1 + fold``).
    val_fraction
        Fraction of each training part held out for model selection.
    """
    strata = np.asarray(strata)
    groups = np.asarray(groups)
    if strata.shape != groups.shape or strata.ndim != 1:
        raise ValueError("strata and groups must be 1-D arrays of the same length")
    folds = []
    for i, (train, test) in enumerate(_sgkf(strata, groups, n_splits, seed)):
        inner_train, val = inner_validation_split(train, strata, groups, val_fraction, seed + 1 + i)
        folds.append(Fold(i, train, test, inner_train, val))
    check_folds(folds, groups, strata.size)
    return folds


def check_folds(folds: list[Fold], groups: Any, n: int) -> None:
    """Raise ``AssertionError`` if a patient crosses parts or a sample is tested twice/never."""
    groups = np.asarray(groups)
    tested = np.concatenate([f.test for f in folds]) if folds else np.array([], int)
    if sorted(tested.tolist()) != list(range(n)):
        raise AssertionError("every sample must be in exactly one test fold")
    for f in folds:
        parts = [set(groups[f.inner_train]), set(groups[f.validation]), set(groups[f.test])]
        if parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2]:
            raise AssertionError(f"fold {f.index}: a patient appears in two of train/validation/test")
        if set(f.train.tolist()) != set(f.inner_train.tolist()) | set(f.validation.tolist()):
            raise AssertionError(f"fold {f.index}: train != inner train + validation")
