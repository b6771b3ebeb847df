"""Loaded by the partitioned engine's fork server before it forks workers, so every worker starts with the
modules imported and the default gazetteer and coastline in memory (shared copy-on-write).

Nothing here may run a parallel (OpenMP) Numba kernel: the server must stay safe to fork.
"""

from __future__ import annotations

import functools

import watchkeeper.engines.partitioned  # noqa: F401 - the detectors and their compiled kernels
from watchkeeper.geo.coast import Coast
from watchkeeper.geo.gazetteer import Gazetteer, load_gazetteer


def load_kernels(prefixes: tuple[str, ...] = ("watchkeeper.detect", "watchkeeper.tracks", "watchkeeper.geo")) -> int:
    """Load, without running any, the compiled versions of the serial Numba kernels of the imported modules under
    ``prefixes`` that Numba's on-disk cache holds for this machine and this code (as ``make`` leaves them). Forked
    workers then inherit them instead of each loading them on first use. Parallel kernels are left to the
    workers: loading them could initialise OpenMP here. Best effort: a kernel that fails to load is loaded or
    compiled where it is first used, as before. Returns the number of versions loaded."""
    import sys

    from numba.core.dispatcher import Dispatcher

    loaded = 0
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(prefixes):
            continue
        for kernel in list(vars(module).values()):
            if (not isinstance(kernel, Dispatcher) or kernel.__module__ != name
                    or kernel.targetoptions.get("parallel") or kernel._cache is None):
                continue
            try:
                codegen = kernel.targetctx.codegen()
                for key in list(kernel._cache._cache_file._load_index()):
                    # only an entry this code on this machine would load: anything else would compile (slow)
                    if key == kernel._cache._index_key(key[0], codegen) and tuple(key[0]) not in kernel.overloads:
                        kernel.compile(key[0])
                        loaded += 1
            except Exception:  # noqa: BLE001 - an optimisation only: the kernel loads on first use instead
                continue
    return loaded


def warm(gaz: Gazetteer, config=None) -> None:
    """Prepare this process to be the parent of detection workers (see :func:`load_kernels`): the serial kernels,
    and the gazetteer's search structures for ``config``'s radii (its grids, the k-d tree, the port groups, the
    places of interest by port)."""
    from watchkeeper.config import Config
    from watchkeeper.detect.dark_port_calls import _places
    from watchkeeper.detect.encounters import in_port_radius_km
    from watchkeeper.detect.port_visits import port_groups
    from watchkeeper.engines.partitioned import _radius_km

    config = config or Config()
    try:
        load_kernels()
        for radius in {_radius_km(config), in_port_radius_km(config)}:
            if radius > 0:
                gaz._index._grid(float(radius))
        gaz._index._tree
        port_groups(gaz)
        _places(gaz)
    except Exception:  # noqa: BLE001 - an optimisation only: the workers build what is missing on first use
        import logging

        logging.getLogger("watchkeeper.engines").debug("warming this process failed", exc_info=True)


@functools.cache
def gazetteer() -> Gazetteer:
    """The default gazetteer (loaded once per process)."""
    return load_gazetteer()


def coast() -> Coast:
    """The default coastline."""
    return Coast.default()


gazetteer()
coast()
