"""Small synthetic heads shared by the clot tests (coarse grid: fast)."""

from __future__ import annotations

import pytest

from hounsfield.clot.phantom import HeadConfig, make_head

#: a coarse grid so each head takes well under a second
SMALL = HeadConfig(spacing=(1.0, 1.0, 2.0), negative_fraction=0.0)


@pytest.fixture(scope="session")
def small_heads():
    """Three occluded heads on the coarse grid (seeds 11, 12, 13)."""
    return [make_head(s, SMALL) for s in (11, 12, 13)]
