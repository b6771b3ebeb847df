"""Throughput of tracks.segment on synthetic positions: ``python bench/segment.py [rows ...]``.

Synthetic fleet: 1 row in 200 per MMSI on average (5,000 rows per MMSI at 1M rows), random-walk tracks at 0-20 kn,
reports every 2-600 s, 1 MMSI in 20 shared by a second transmitter 300 km away, 0.1% spoofed jumps, input shuffled.
Prints rows/s of the whole call (sorts, deduplication, compiled scan, id strings); the first call compiles.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pyarrow as pa

from watchkeeper.config import load_config
from watchkeeper.schema import POSITIONS
from watchkeeper.tracks import segment


def synthetic(n_rows: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    n_mmsi = max(1, n_rows // 5000)
    mmsi = rng.integers(0, n_mmsi, n_rows)
    order = np.argsort(mmsi, kind="stable")
    mmsi = mmsi[order]
    dt = rng.uniform(2, 600, n_rows)
    start = np.r_[True, mmsi[1:] != mmsi[:-1]]
    t = np.cumsum(dt)
    t -= np.maximum.accumulate(np.where(start, t - dt, 0))
    step_deg = rng.uniform(0, 20, n_rows) * dt / 3600 / 60
    ang = rng.uniform(0, 2 * np.pi, n_rows)
    dlat, dlon = step_deg * np.cos(ang), step_deg * np.sin(ang)
    lat = 30 + rng.uniform(-20, 20, n_mmsi)[mmsi] + np.cumsum(dlat) - np.maximum.accumulate(
        np.where(start, np.cumsum(dlat) - dlat, -np.inf))
    lon = rng.uniform(-180, 180, n_mmsi)[mmsi] + np.cumsum(dlon) - np.maximum.accumulate(
        np.where(start, np.cumsum(dlon) - dlon, -np.inf))
    twin = (mmsi % 20 == 0) & (rng.random(n_rows) < 0.5)
    lat = np.where(twin, lat + 2.7, lat)
    spoof = rng.random(n_rows) < 0.001
    lat = np.where(spoof, lat - 10, lat)
    lat = np.clip(lat, -85, 85)
    lon = (lon + 180) % 360 - 180
    ts = (1_700_000_000 + t).astype("int64") * 1_000_000
    cols = {name: pa.nulls(n_rows, f.type) for name, f in zip(POSITIONS.names, POSITIONS)}
    cols.update(mmsi=pa.array(mmsi.astype(np.int32) + 200_000_000), ts=pa.array(ts, POSITIONS.field("ts").type),
                lat=pa.array(lat), lon=pa.array(lon), msg_type=pa.array(np.where(mmsi % 3 == 0, 18, 1).astype(np.int8)),
                source_id=pa.array(np.ones(n_rows, np.int32)), line=pa.array(np.arange(1, n_rows + 1)),
                line_last=pa.array(np.arange(1, n_rows + 1)))
    tbl = pa.table(cols, schema=POSITIONS)
    return tbl.take(pa.array(rng.permutation(n_rows)))


def main(sizes: list[int]) -> None:
    cfg = load_config()
    segment(synthetic(1000), cfg)  # compile
    for n in sizes:
        tbl = synthetic(n)
        t0 = time.perf_counter()
        out = segment(tbl, cfg)
        s = time.perf_counter() - t0
        n_seg = len(set(out["segment_id"].unique().to_pylist()))
        print(f"{n:>10,} rows  {s:7.2f} s  {n / s:12,.0f} rows/s  {n_seg:,} segments  "
              f"{sum(out['implausible'].to_pylist()):,} implausible")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1_000_000, 5_000_000])
