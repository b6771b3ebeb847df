"""Speed of the coast queries (``watchkeeper.geo.coast``) on three sets of positions. Run by hand.

    .venv/bin/python bench/coast.py [--n 2000000] [--repeat 5]

Sets (seeded, reproducible):

* ``near-coast``: coastline vertices of the corridor moved by up to +-0.1 degree (about 0-12 km off the
  coastline, on either side): where AIS positions concentrate and where the exact tests run;
* ``corridor``: uniform in the detail box 115-145 E, 30-50 N (land and sea);
* ``global``: uniform on the sphere (mostly open ocean, far from any coast).

Prints points per second (best of ``--repeat``) for ``on_land`` (default buffer) and ``distance_to_shore_km``,
and the load time of ``Coast.natural_earth()``. With ``--accuracy N`` it also compares ``distance_to_shore_km``
with a brute-force reference (haversine to the coastline sampled every 0.002 degree) on N near-coast points of
each resolution.
"""

from __future__ import annotations

import argparse
import os
import time

import numba
import numpy as np


def point_sets(coast, n: int, seed: int = 20240301) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    lon_min, lat_min, lon_max, lat_max = coast.detail_box_deg
    edges = coast._grid.edges
    inside = (edges[:, 0] > lon_min) & (edges[:, 0] < lon_max) & (edges[:, 1] > lat_min) & (edges[:, 1] < lat_max)
    vertices = edges[inside]
    pick = vertices[rng.integers(0, len(vertices), n)]
    near = (pick[:, 1] + rng.uniform(-0.1, 0.1, n), pick[:, 0] + rng.uniform(-0.1, 0.1, n))
    corridor = (rng.uniform(lat_min, lat_max, n), rng.uniform(lon_min, lon_max, n))
    z = rng.uniform(-1, 1, n)
    glob = (np.degrees(np.arcsin(z)), rng.uniform(-180, 180, n))
    return {"near-coast": near, "corridor": corridor, "global": glob}


def accuracy(coast, n: int, seed: int = 20240302) -> None:
    """Brute-force check of distances near the coast, in the detail box (1:10m) and in the world (1:50m)."""
    import shapely

    from watchkeeper.geo.coast import natural_earth_land

    rng = np.random.default_rng(seed)
    world, detail = natural_earth_land()
    box = shapely.box(*coast.detail_box_deg)
    cut = shapely.buffer(shapely.union_all([shapely.boundary(box), shapely.linestrings([[180, -90], [180, 90]]),
                                            shapely.linestrings([[-180, -90], [-180, 90]])]), 1e-7)
    cases = {
        "1:10m (detail box)": (shapely.union_all(detail), shapely.box(117, 32, 143, 48)),
        "1:50m (world)": (shapely.union_all(world), None),
    }
    for name, (land, window) in cases.items():
        xy = shapely.get_coordinates(shapely.segmentize(shapely.difference(shapely.boundary(land), cut), 0.002))
        if window is None:  # outside the detail box, away from the poles
            lon_min, lat_min, lon_max, lat_max = coast.detail_box_deg
            far = ~((xy[:, 0] > lon_min - 5) & (xy[:, 0] < lon_max + 5) & (xy[:, 1] > lat_min - 5)
                    & (xy[:, 1] < lat_max + 5)) & (np.abs(xy[:, 1]) < 75)
            pick = xy[far][rng.integers(0, far.sum(), n)]
        else:
            inner = shapely.contains_xy(window, xy[:, 0], xy[:, 1])
            pick = xy[inner][rng.integers(0, inner.sum(), n)]
        # 0-50 km from the coastline, on either side
        bearing = rng.uniform(0, 2 * np.pi, n)
        step_deg = rng.uniform(0, 0.45, n)
        lat = np.clip(pick[:, 1] + step_deg * np.cos(bearing), -89.9, 89.9)
        lon = pick[:, 0] + step_deg * np.sin(bearing) / np.cos(np.radians(lat))
        d = np.abs(coast.distance_to_shore_km(lat, lon))
        ref = np.empty(n)
        rlat, rlon = np.radians(xy[:, 1]), np.radians(xy[:, 0])
        for i in range(n):
            near = np.abs(xy[:, 1] - lat[i]) < 1.5
            h = (np.sin((rlat[near] - np.radians(lat[i])) / 2) ** 2 + np.cos(rlat[near]) * np.cos(np.radians(lat[i]))
                 * np.sin((rlon[near] - np.radians(lon[i])) / 2) ** 2)
            ref[i] = 2 * 6371.0088 * np.arcsin(np.sqrt(h.min()))
        err = d - ref
        print(f"{name:>19}: {n} points, |distance| {np.median(d):.1f} km median; distance - brute force: "
              f"min {err.min() * 1000:.1f} m, max {err.max() * 1000:.1f} m "
              f"(samples every 0.002 degree, so brute force overstates by up to ~0.1 km at the coast)")


def best_rate(fn, lat, lon, repeat: int) -> float:
    fn(lat[:1000], lon[:1000])  # compile / warm up
    best = min(_timed(fn, lat, lon) for _ in range(repeat))
    return lat.size / best


def _timed(fn, lat, lon) -> float:
    t0 = time.perf_counter()
    fn(lat, lon)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--accuracy", type=int, default=0, metavar="N")
    args = parser.parse_args()
    from watchkeeper.geo.coast import Coast

    Coast.natural_earth()  # compile the kernels (cached on disk afterwards)
    t0 = time.perf_counter()
    coast = Coast.natural_earth()
    load_s = time.perf_counter() - t0
    coast.on_land(0.0, 0.0)  # classes of the default buffer
    print(f"cpus {os.cpu_count()}, numba threads {numba.get_num_threads()}, load {load_s:.2f} s, "
          f"{coast.n_coast_segments:,} coastline segments")
    for name, (lat, lon) in point_sets(coast, args.n).items():
        land = best_rate(coast.on_land, lat, lon, args.repeat)
        dist = best_rate(coast.distance_to_shore_km, lat, lon, args.repeat)
        d = np.abs(coast.distance_to_shore_km(lat, lon))
        print(f"{name:>11}: on_land {land:>12,.0f} points/s   distance_to_shore_km {dist:>10,.0f} points/s   "
              f"(median |distance| {np.median(d):.1f} km)")
    if args.accuracy:
        accuracy(coast, args.accuracy)


if __name__ == "__main__":
    main()
