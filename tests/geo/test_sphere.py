"""The k-d tree of SphereIndex against a brute-force search, for any size and leaf size, ties included."""

from __future__ import annotations

import numpy as np
import pytest

from watchkeeper.geo.sphere import SphereIndex, _build_tree, haversine_km, to_unit_xyz


@pytest.mark.parametrize("n", [0, 1, 2, 9, 1000])
@pytest.mark.parametrize("leaf", [1, 2, 8])
def test_tree_nearest_equals_brute_force(n, leaf, monkeypatch):
    rng = np.random.default_rng(n * 10 + leaf)
    lat, lon = rng.uniform(30, 45, n), rng.uniform(125, 140, n)
    if n > 4:  # exact duplicates: the lower index must win the tie
        lat[n // 2:n // 2 + 3], lon[n // 2:n // 2 + 3] = lat[1], lon[1]
    tree = _build_tree(to_unit_xyz(lat, lon), leaf)
    if n:
        assert sorted(tree.order.tolist()) == list(range(n))
        assert (tree.lo <= tree.hi).all() and tree.start[0] == 0 and tree.end[0] == n
    import watchkeeper.geo.sphere as sphere

    monkeypatch.setattr(sphere, "LEAF_SIZE", leaf)
    monkeypatch.setattr(sphere._build_tree, "__defaults__", (leaf,))
    index = SphereIndex(lat, lon)
    q_lat, q_lon = np.r_[rng.uniform(28, 47, 300), lat[:5]], np.r_[rng.uniform(123, 142, 300), lon[:5]]
    got_i, got_d = index.nearest(q_lat, q_lon)
    for k in range(len(q_lat)):
        if not n:
            assert got_i[k] == -1
            continue
        d = haversine_km(q_lat[k], q_lon[k], lat, lon)
        want = int(np.flatnonzero(d <= d.min() + 1e-9)[0])
        assert abs(got_d[k] - d.min()) < 1e-6
        assert got_i[k] == want  # ties (the duplicates) to the lower index
