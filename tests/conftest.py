"""Shared test setup: every test starts from the same hubel seed."""

import pytest

import hubel


@pytest.fixture(autouse=True)
def _seed_hubel():
    """Reseed hubel's one generator so each test is reproducible on its own."""
    hubel.seed(0)
    yield
