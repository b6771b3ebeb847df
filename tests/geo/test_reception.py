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
