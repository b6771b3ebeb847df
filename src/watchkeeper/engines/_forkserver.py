"""Preloaded by the partitioned engine's fork server (a fresh interpreter in which no OpenMP thread ever runs):
the modules, the default gazetteer and coastline (:mod:`watchkeeper.engines._preload`), the serial compiled
kernels and the default configuration's search structures, so that every worker it forks starts with them."""

from __future__ import annotations

from watchkeeper.engines import _preload

_preload.warm(_preload.gazetteer())
