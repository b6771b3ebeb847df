"""Loaded by the partitioned engine's fork server before it forks workers, so every worker starts with the
modules imported and the default gazetteer and coastline in memory (shared copy-on-write).

Nothing here may run a parallel (OpenMP) Numba kernel: the server must stay safe to fork.
"""

from __future__ import annotations

import functools

import watchkeeper.engines.partitioned  # noqa: F401 - the detectors and their compiled kernels
from watchkeeper.geo.coast import Coast
from watchkeeper.geo.gazetteer import Gazetteer, load_gazetteer


@functools.cache
def gazetteer() -> Gazetteer:
    """The default gazetteer (loaded once per process)."""
    return load_gazetteer()


def coast() -> Coast:
    """The default coastline."""
    return Coast.default()


gazetteer()
coast()
