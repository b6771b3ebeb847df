"""Compile every numba kernel once, at install time (``python -m watchkeeper.warmup``; run by ``make``).

Watchkeeper's hot paths are numba kernels compiled on first use and cached next to the code (``cache=True``).
The first compilation of all of them takes about a minute on 2 cores; doing it when the environment is created
keeps that minute out of the first real job. This runs the pipeline once on a few hours of simulated corridor
traffic (NMEA and CSV ingest, detection) in a temporary folder and writes nothing else.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def warm_up() -> float:
    """Run simulate -> ingest (NMEA and CSV) -> detect on a tiny scenario; return the seconds it took."""
    from watchkeeper.engines.local import run_detection
    from watchkeeper.ingest.pipeline import ingest_paths
    from watchkeeper.simulate.scenario import simulate
    from watchkeeper.store import Store

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="watchkeeper-warmup-") as tmp:
        sim = Path(tmp) / "sim"
        simulate(sim, days=0.25, vessels=30, seed=1, write_csv=True)
        with Store.open(Path(tmp) / "db", create=True) as store:
            ingest_paths(store, [str(sim / "ais.nmea"), str(sim / "ais.csv")])
            run_detection(store)
            # the partitioned engine's steps, in this process (same kernels, other entry points)
            run_detection(store, workers=1, partition_rows=1000)
    # the grid path of the bounded nearest-place search, taken for large batches of positions only
    import numpy as np

    from watchkeeper.geo.gazetteer import load_gazetteer
    from watchkeeper.geo.grid_index import GRID_MIN_QUERIES

    lat = np.linspace(30.0, 50.0, GRID_MIN_QUERIES)
    load_gazetteer().nearest(lat, np.linspace(120.0, 140.0, GRID_MIN_QUERIES), 10.0)
    return time.perf_counter() - t0


def main() -> None:
    seconds = warm_up()
    print(f"watchkeeper: compiled kernels cached ({seconds:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
