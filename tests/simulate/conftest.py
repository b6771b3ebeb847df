"""Shared fixtures: one small simulated scenario per test session (1 day, about 10 transmitters)."""

from __future__ import annotations

import pytest

from watchkeeper.simulate.scenario import simulate

SMALL = {"days": 1.0, "vessels": 10, "seed": 3}


@pytest.fixture(scope="session")
def small(tmp_path_factory):
    """The result of a small scenario and its directory."""
    out = tmp_path_factory.mktemp("sim")
    return simulate(out, **SMALL)
