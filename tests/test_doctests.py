"""The examples in the package's docstrings are true (every module of hounsfield, run by doctest)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import hounsfield

MODULES = sorted(m.name for m in pkgutil.walk_packages(hounsfield.__path__, "hounsfield.")
                 if not m.name.endswith("__main__"))


def test_modules_are_found():
    assert "hounsfield.cxr.calcium_map" in MODULES and len(MODULES) > 50


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples failed in {name}"
