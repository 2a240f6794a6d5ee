"""Shared test helpers.

Real scans live in ``../shared/fixtures`` (never copied into the repository).
Tests that need them use the ``fixtures_dir`` fixture, which skips with a
visible reason only when that folder is absent (CI always has it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"real fixtures not found at {SHARED_FIXTURES} (../shared/fixtures beside the checkout)")
    return SHARED_FIXTURES


def fixture_path(*parts: str) -> Path:
    """Path into ../shared/fixtures, skipping the test when it is absent."""
    p = SHARED_FIXTURES.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real fixture missing: {p}")
    return p
