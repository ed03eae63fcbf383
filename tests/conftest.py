"""Shared test fixtures. Tests may read ../shared/ (official vectors); the library may not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
SHARED = PROJECT.parent / "shared"
VECTORS = SHARED / "vectors"


@pytest.fixture(scope="session")
def vectors() -> Path:
    if not VECTORS.is_dir():
        pytest.skip(f"official vectors not found at {VECTORS}")
    return VECTORS


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("VCWALLET_TEST_POSTGRES")
    if not url:
        pytest.skip("VCWALLET_TEST_POSTGRES is not set: no PostgreSQL server to test against")
    return url
