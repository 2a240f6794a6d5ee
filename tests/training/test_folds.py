"""Patient-grouped stratified folds with an inner validation split."""

from __future__ import annotations

import numpy as np
import pytest

from hounsfield.training.folds import check_folds, grouped_stratified_folds, merge_rare_strata


def _data(n_patients=60, seed=0):
    rng = np.random.default_rng(seed)
    per = rng.integers(1, 4, n_patients)                 # 1-3 images per patient
    groups = np.repeat(np.arange(n_patients), per)
    cls_patient = rng.choice(4, n_patients, p=[0.5, 0.2, 0.2, 0.1])
    return cls_patient[groups], groups


def test_folds_partition_patients_and_keep_balance():
    strata, groups = _data()
    folds = grouped_stratified_folds(strata, groups, n_splits=5, seed=3)
    assert len(folds) == 5
    tested = np.concatenate([f.test for f in folds])
    assert np.array_equal(np.sort(tested), np.arange(strata.size))
    for f in folds:
        tr, va, te = set(groups[f.inner_train]), set(groups[f.validation]), set(groups[f.test])
        assert not (tr & va) and not (tr & te) and not (va & te)
        assert f.validation.size > 0 and f.inner_train.size > f.validation.size
        # stratified: share of class 0 in each test fold close to the overall share
        assert abs(np.mean(strata[f.test] == 0) - np.mean(strata == 0)) < 0.2
    # reproducible, and a different seed gives different folds
    again = grouped_stratified_folds(strata, groups, n_splits=5, seed=3)
    assert all(np.array_equal(a.test, b.test) for a, b in zip(folds, again))
    other = grouped_stratified_folds(strata, groups, n_splits=5, seed=4)
    assert not all(np.array_equal(a.test, b.test) for a, b in zip(folds, other))


def test_rare_classes_are_merged_not_fatal():
    assert merge_rare_strata(np.array([0] * 10 + [3]), 5).tolist() == [0] * 11
    strata = np.array([0] * 12 + [1] * 2 + [2] * 6)
    folds = grouped_stratified_folds(strata, np.arange(20), n_splits=4, seed=0)
    assert len(folds) == 4


def test_check_folds_catches_leaks():
    strata, groups = _data(30)
    folds = grouped_stratified_folds(strata, groups, n_splits=3)
    leaky = [folds[0].__class__(0, folds[0].train, np.r_[folds[0].test, folds[0].train[:1]],
                                folds[0].inner_train, folds[0].validation)] + folds[1:]
    with pytest.raises(AssertionError):
        check_folds(leaky, groups, strata.size)
    with pytest.raises(ValueError):
        grouped_stratified_folds([0, 1], [1, 1], n_splits=2)
