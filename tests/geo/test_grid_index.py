"""The grid index answers exactly what the k-d tree answers (differential test on real ports and hard cases)."""

from __future__ import annotations

import numpy as np
import pytest

from watchkeeper.geo.gazetteer import load_gazetteer
from watchkeeper.geo.grid_index import GRID_MIN_QUERIES, GridSphereIndex
from watchkeeper.geo.sphere import SphereIndex


def _queries(rng, gaz, n):
    # near real ports (within a few tens of km), anywhere, near the poles and the antimeridian, invalid values
    k = rng.integers(0, len(gaz.lat), n // 2)
    near_lat = gaz.lat[k] + rng.normal(0, 0.2, n // 2)
    near_lon = gaz.lon[k] + rng.normal(0, 0.2, n // 2)
    m = n - n // 2 - 6
    any_lat, any_lon = rng.uniform(-90, 90, m), rng.uniform(-180, 180, m)
    odd_lat = np.array([np.nan, 91.0, 90.0, -90.0, 0.0, 65.0])
    odd_lon = np.array([0.0, 0.0, 10.0, -170.0, 180.0, -180.0])
    return (np.clip(np.r_[near_lat, any_lat, odd_lat], -91, 91), np.r_[(near_lon + 180) % 360 - 180, any_lon, odd_lon])


@pytest.mark.parametrize("radius_km", [0.5, 3.0, 10.0, 30.0, 49.0])
def test_grid_equals_tree_on_the_gazetteer(radius_km):
    gaz = load_gazetteer()
    rng = np.random.default_rng(int(radius_km * 10))
    lat, lon = _queries(rng, gaz, 2 * GRID_MIN_QUERIES)  # enough queries for the grid path
    grid = GridSphereIndex(gaz.lat, gaz.lon)
    tree = SphereIndex(gaz.lat, gaz.lon)
    gi, gd = grid.nearest(lat, lon, radius_km)
    ti, td = tree.nearest(lat, lon, radius_km)
    np.testing.assert_array_equal(gi, ti)
    np.testing.assert_array_equal(gd, td)  # NaN where none, equal to the bit elsewhere
    assert (gi >= 0).sum() > 100  # the test sees real answers, not only misses


def test_grid_ties_and_duplicates():
    # duplicated points: the lower index wins, as in the tree
    rng = np.random.default_rng(3)
    base_lat, base_lon = rng.uniform(30, 60, 500), rng.uniform(120, 140, 500)
    plat, plon = np.r_[base_lat, base_lat], np.r_[base_lon, base_lon]
    q = rng.integers(0, 500, GRID_MIN_QUERIES)
    qlat, qlon = base_lat[q] + rng.normal(0, 0.01, q.size), base_lon[q] + rng.normal(0, 0.01, q.size)
    gi, gd = GridSphereIndex(plat, plon).nearest(qlat, qlon, 5.0)
    ti, td = SphereIndex(plat, plon).nearest(qlat, qlon, 5.0)
    np.testing.assert_array_equal(gi, ti)
    np.testing.assert_array_equal(gd, td)
    assert (gi[gi >= 0] < 500).all()


@pytest.mark.parametrize("radius_km", [3.0, 30.0])
def test_grid_equals_tree_along_tracks(radius_km):
    """Queries in track order (random walks through ports), where each search starts from the previous answer,
    and ties where that answer is the higher index of two equally near points: the tree's answers."""
    gaz = load_gazetteer()
    rng = np.random.default_rng(int(radius_km))
    # points A and B on the equator either side of a query at (0, 0); the query before lies nearer to B
    plat, plon = np.r_[0.0, 0.0, gaz.lat], np.r_[-0.01, 0.01, gaz.lon]
    n_tracks, n_steps = 200, GRID_MIN_QUERIES // 100
    start = rng.integers(0, len(gaz.lat), n_tracks)
    lat = (gaz.lat[start][:, None] + np.cumsum(rng.normal(0, 0.004, (n_tracks, n_steps)), axis=1)).ravel()
    lon = (gaz.lon[start][:, None] + np.cumsum(rng.normal(0, 0.004, (n_tracks, n_steps)), axis=1)).ravel()
    tie = np.array([[0.0, 0.005], [0.0, 0.0]] * 50)
    lat, lon = np.clip(np.r_[tie[:, 0], lat], -90, 90), (np.r_[tie[:, 1], lon] + 180) % 360 - 180
    gi, gd = GridSphereIndex(plat, plon).nearest(lat, lon, radius_km)
    ti, td = SphereIndex(plat, plon).nearest(lat, lon, radius_km)
    np.testing.assert_array_equal(gi, ti)
    np.testing.assert_array_equal(gd, td)
    assert gi[:4].tolist() == [1, 0, 1, 0]  # B, then A (the lower index) for the query as near to both
    assert (gi >= 0).mean() > 0.2  # many steps have an answer within the bound
