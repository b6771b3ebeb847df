"""Gazetteer query speed (run by hand): ``.venv/bin/python bench/gazetteer.py [--points 1000000]``.

Times ``nearest`` and ``within`` on the vendored gazetteer (ports and anchorages) for random positions spread
uniformly over the globe and for positions scattered within ~20 km of places (where AIS traffic is), best of
three runs after a warm-up (numba compilation and the k-d tree are built outside the timings).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from watchkeeper.geo.gazetteer import load_gazetteer


def best_of(f, reps: int = 3) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    n = ap.parse_args().points
    rng = np.random.default_rng(ap.parse_args().seed)
    t = time.perf_counter()
    gaz = load_gazetteer()
    gaz.nearest(np.zeros(60_000), np.zeros(60_000))  # compile, build the tree
    print(f"{gaz!r}; load + index + compile {time.perf_counter() - t:.2f} s; {os.cpu_count()} CPUs")
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon = rng.uniform(-180, 180, n)
    k = rng.integers(0, len(gaz), n)
    lat_near = np.clip(gaz.lat[k] + rng.normal(0, 0.1, n), -90, 90)
    lon_near = gaz.lon[k] + rng.normal(0, 0.1, n)
    cases = [
        ("nearest, uniform over the globe", lambda: gaz.nearest(lat, lon)),
        ("nearest, within ~20 km of places", lambda: gaz.nearest(lat_near, lon_near)),
        ("within 3 km, within ~20 km of places", lambda: gaz.within(lat_near, lon_near, 3.0)),
        ("within 10 km, uniform over the globe", lambda: gaz.within(lat, lon, 10.0)),
    ]
    for label, f in cases:
        dt = best_of(f)
        print(f"{label:<40} {n / dt / 1e6:6.2f} M points/s  ({n:,} points in {dt:.3f} s)")


if __name__ == "__main__":
    main()
