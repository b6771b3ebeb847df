"""Reception grid from the data: well-received and unobserved cells, the ITU-R intervals, path lookups."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from watchkeeper.config import Config
from watchkeeper.geo.reception import cell_of, expected_positions, reception_grid, reporting_interval_s
from watchkeeper.schema import POSITIONS

CFG = Config()
T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


def track(mmsi, lat, lon0, lon1, hours, step_min=3.0, drop=()):
    t_h = np.arange(0.0, hours + 1e-9, step_min / 60.0)
    for a, b in drop:
        t_h = t_h[(t_h <= a) | (t_h >= b)]
    n = len(t_h)
    cols = {name: [None] * n for name in POSITIONS.names}
    cols.update(mmsi=[mmsi] * n, ts=[T0 + dt.timedelta(hours=float(h)) for h in t_h], lat=[lat] * n,
                lon=np.interp(t_h, [0, hours], [lon0, lon1]).tolist(), msg_type=[1] * n, source_id=[1] * n,
                line=list(range(1, n + 1)), line_last=list(range(1, n + 1)))
    return pa.Table.from_pydict(cols, schema=POSITIONS)


def test_grid_counts_presence_and_reception():
    grid = reception_grid(pa.concat_tables([track(1000 + k, 41.6, 133.0, 133.2, 24.0) for k in range(3)]
                                           + [track(2000, 41.1, 133.0, 133.0, 24.0, drop=[(1.0, 23.0)])]), CFG)
    assert grid.num_rows and (np.asarray(grid["hour_reception"]) <= 1).all()
    full = grid.filter(pa.compute.equal(grid["cell"], int(cell_of(41.6, 133.1, 0.25))))
    assert full["hour_reception"][0].as_py() == 1.0 and full["presence_h"][0].as_py() >= 3 * 24 - 3
    holey = grid.filter(pa.compute.equal(grid["cell"], int(cell_of(41.1, 133.0, 0.25))))
    assert holey["presence_h"][0].as_py() == 24 and holey["received_h"][0].as_py() == 3


def test_expected_positions_follow_reception_class_and_speed():
    grid = reception_grid(pa.concat_tables([track(1000 + k, 41.6, 133.0, 133.2, 24.0) for k in range(3)]), CFG)
    t0, t1 = T0 + dt.timedelta(hours=5), T0 + dt.timedelta(hours=10)
    a = expected_positions(grid, (41.6, 41.6), (133.05, 133.15), t0, t1, "A", 12.0)
    b = expected_positions(grid, (41.6, 41.6), (133.05, 133.15), t0, t1, "B", 12.0)
    none = expected_positions(grid, (39.5, 39.5), (129.6, 129.7), t0, t1, "A", 12.0)
    assert a > 2 * b > 0 and none == 0.0
    assert reporting_interval_s(CFG, [False, False, False, True, True], [5, 20, 30, 1, 5],
                                [False] * 5).tolist() == [10.0, 6.0, 2.0, 180.0, 30.0]


def test_grid_counts_records_equal_a_plain_count():
    """The one-pass record scan gives, per (cell, day), the counts a plain group-by gives: positions, received
    track-hours (distinct (track, hour, cell) with a position), and the cells match ``cell_of``."""
    from watchkeeper.geo.reception import _cells, _records, _shape, grid_counts

    rng = np.random.default_rng(7)
    n, size = 20_000, 0.25
    seg = np.sort(rng.integers(0, 40, n))
    t = np.zeros(n, np.int64)
    for s in np.unique(seg):  # each track in time order, crossing cells back and forth within hours
        k = seg == s
        t[k] = np.sort(rng.integers(0, 3 * 86_400_000_000, k.sum()))
    lat = rng.uniform(41.0, 41.6, n)
    lon = np.where(rng.random(n) < 0.02, rng.uniform(-180, 180, n), rng.uniform(132.9, 133.4, n))
    assert np.array_equal(_cells(lat, lon, size, *_shape(size)), cell_of(lat, lon, size))
    from watchkeeper.tracks.arrays import Tracks

    names = np.unique(seg)
    tracks = Tracks(rows={"mmsi": 200_000_000 + seg, "ts": t, "lat": lat, "lon": lon, "sog": np.full(n, 10.0),
                          "speed": np.full(n, np.nan), "msg_type": np.ones(n, np.int64),
                          "nav_status": np.zeros(n, np.int64), "source_id": np.ones(n, np.int64),
                          "line": np.arange(n), "seg": seg, "seg_names": names.astype(str).astype(object),
                          "implausible": np.zeros(n, bool)})
    hour = t // 3_600_000_000
    cell = cell_of(lat, lon, size)
    first, count = _records(seg, hour, cell)
    rec = set(zip(seg.tolist(), hour.tolist(), cell.tolist()))
    assert first.sum() == len(rec) and count.sum() == n
    got = grid_counts(tracks, Config({"reception": {"max_presence_gap_h": 0.0}}))
    key = cell * 1_000_000 + hour // 24
    keys, n_pos = np.unique(key, return_counts=True)
    np.testing.assert_array_equal(got["key"], keys)
    np.testing.assert_array_equal(got["n_positions"], n_pos)
    recv = {}
    for s, h, ce in rec:
        recv[ce * 1_000_000 + h // 24] = recv.get(ce * 1_000_000 + h // 24, 0) + 1
    np.testing.assert_array_equal(got["received_h"], [recv[k] for k in keys.tolist()])
