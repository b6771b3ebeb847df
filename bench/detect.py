"""Throughput and memory of the whole detection suite, and a side-by-side with MovingPandas on its subset.

* engine (the number that answers "positions per second"): ``run_detection`` on a store of N synthetic positions,
  as ``watchkeeper detect --db`` runs it: read the Parquet store, detect every event type, replace the events
  table. Each N: one subprocess writes the store, a fresh one runs the detection (cold: imports and the numba
  cache load are in the time), ``--workers`` processes (default: every CPU). Stores above one partition
  (``--partition-rows``, default 1,000,000) go to the partitioned engine. Peak RSS: ``VmHWM`` of the parent and
  the largest of the workers' (they report their own).
* suite (for comparison with earlier rounds): ``engines.local.detect_all`` in memory on an Arrow table, after a
  warm-up call on 20k rows in the same process; peak RSS includes generating the input.
* subset: on one 100k-row Parquet file shared by both, MovingPandas ``TrajectoryCollection`` +
  ``ObservationGapSplitter(gap=2h)`` + ``add_speed`` + ``TrajectoryStopDetector(max_diameter=500 m,
  min_duration=2h)`` (in its own venv, /tmp/mpd-venv) against Watchkeeper's ``segment_tracks`` + ``reception_grid`` +
  ``ais_gaps`` + ``port_visits`` + ``loitering`` on the same rows.

Synthetic fleet (seeded, vectorised numpy; ``--fleet sea``, the default): a few thousand vessels (2,000 + N/5,000),
each sailing a chain of real ports from the vendored gazetteer: places at sea (a gazetteer place more than 1 km
inside the Natural Earth land is a town, not a berth), next port drawn among the 4th-40th nearest whose straight
leg stays at sea (samples every 3 km, 1 km buffer, the 3 km at each end left out); 6-48 h alongside (sog ~0, nav
status 5), transits at 9-16 kn split at mid-route where 1 in 5 vessels drift 2-6 h (loitering), and 1 drifting
vessel in 10 has a partner 150-300 m away that reports only then (ship-to-ship transfer: encounters); reports
every 60-540 s; 1 transit in 8 loses its middle 40% (AIS gap), 1 port stay in 30 is dropped entirely (dark port
call), 0.05% spoofed jumps, 1 MMSI in 50 shared by a second transmitter; input shuffled. About 0.6% of its
positions are on land (the jitter near coastal berths).

``--fleet legacy`` is the generator of the rounds before 2026-11-27: any gazetteer place away from the
antimeridian, next port among the 4th-16th nearest whatever lies between, no partners. Half of its positions are
on land (inland places, legs over land), which real AIS is not; it is kept to compare with the earlier numbers.

Usage::

    python bench/detect.py [--sizes 1000000 5000000 20000000] [--suite-sizes 1000000] [--workers 2]
                           [--partition-rows 1000000] [--mp-rows 100000] [--skip-mp] [--fleet sea|legacy]
"""

from __future__ import annotations

import argparse
import atexit
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    RESULTS,
    git_state,
    machine,
    maxrss_kib,
    rss_now_kib,
    run_worker,
    snapshot_src,
    versions,
)

MP_PYTHON = "/tmp/mpd-venv/bin/python"
KN = 1852.0 / 3600.0  # m/s per knot
R_M = 6_371_008.8


def _sea_legs(plat, plon, cand, coast, step_km: float = 3.0, clear_km: float = 3.0):
    """Which legs ``port i -> cand[i, j]`` (straight in lat/lon, as the fleet sails them) stay at sea: every sample
    (one per ``step_km``) more than ``clear_km`` from both ends is off land (1 km buffer, as for harbours)."""
    import numpy as np

    a = np.repeat(np.arange(cand.shape[0]), cand.shape[1])
    b = cand.ravel()
    dlat, dlon = plat[b] - plat[a], plon[b] - plon[a]
    km = 111.2 * np.hypot(dlat, dlon * np.cos(np.radians(plat[a])))
    n = np.maximum(np.ceil(km / step_km).astype(np.int64), 1) + 1
    leg = np.repeat(np.arange(a.size), n)
    first = np.r_[0, np.cumsum(n)[:-1]]
    f = (np.arange(leg.size) - first[leg]) / (n[leg] - 1).clip(1)
    inner = (f * km[leg] > clear_km) & ((1 - f) * km[leg] > clear_km)
    land = np.zeros(leg.size, bool)
    land[inner] = coast.on_land(plat[a][leg[inner]] + dlat[leg[inner]] * f[inner],
                                plon[a][leg[inner]] + dlon[leg[inner]] * f[inner], buffer_m=1000.0)
    return (np.bincount(leg, weights=land, minlength=a.size) == 0).reshape(cand.shape)


def synthetic(n_rows: int, seed: int = 0, fleet: str = "sea"):
    """``n_rows`` positions and the statics of a synthetic fleet (module docstring). ``fleet="legacy"`` is the
    generator of the rounds before 2026-11-27 (ports and transits also on land)."""
    import numpy as np
    import pyarrow as pa

    from watchkeeper.geo.gazetteer import load_gazetteer
    from watchkeeper.schema import POSITIONS, STATICS

    rng = np.random.default_rng(seed)
    n_v = 2000 + n_rows // 5000
    gaz = load_gazetteer()
    if fleet == "legacy":
        # ports: a seeded sample of the gazetteer away from the antimeridian, with their 4th-16th nearest neighbours
        ok = np.flatnonzero(np.abs(gaz.lon) < 170)
        ports = np.sort(rng.choice(ok, min(3000, ok.size), replace=False))
        plat, plon = np.radians(gaz.lat[ports]), np.radians(gaz.lon[ports])
        xyz = np.stack([np.cos(plat) * np.cos(plon), np.cos(plat) * np.sin(plon), np.sin(plat)], 1)
        nbr = np.argsort(-(xyz @ xyz.T), axis=1)[:, 4:17]
        plat, plon = np.degrees(plat), np.degrees(plon)
        deg = np.full(ports.size, nbr.shape[1])
    elif fleet == "sea":
        # ports at sea (a gazetteer place more than 1 km inland is a town, not a berth), joined by the legs to their
        # 4th-40th nearest that stay at sea, both ways; ports without such a leg are left out
        from watchkeeper.geo.coast import Coast

        coast = Coast.default()
        ok = np.flatnonzero((np.abs(gaz.lon) < 170) & ~coast.on_land(gaz.lat, gaz.lon, buffer_m=1000.0))
        ports = np.sort(rng.choice(ok, min(4000, ok.size), replace=False))
        plat, plon = np.radians(gaz.lat[ports]), np.radians(gaz.lon[ports])
        xyz = np.stack([np.cos(plat) * np.cos(plon), np.cos(plat) * np.sin(plon), np.sin(plat)], 1)
        cand = np.argsort(-(xyz @ xyz.T), axis=1)[:, 4:41]
        plat, plon = np.degrees(plat), np.degrees(plon)
        clear = _sea_legs(plat, plon, cand, coast)
        a = np.repeat(np.arange(ports.size), cand.shape[1])[clear.ravel()]
        b = cand.ravel()[clear.ravel()]
        edges = np.unique(np.r_[a * ports.size + b, b * ports.size + a])
        src, dst = edges // ports.size, edges % ports.size
        deg = np.bincount(src, minlength=ports.size)
        nbr = np.zeros((ports.size, max(1, int(deg.max()))), np.int64)
        nbr[src, np.arange(src.size) - np.r_[0, np.cumsum(deg)[:-1]][src]] = dst
    else:
        raise ValueError(f"fleet must be 'sea' or 'legacy', not {fleet!r}")

    # per vessel: a chain of K ports; phases per cycle: port stay, transit half 1, loiter (often 0 s), half 2
    K = 48
    chain = np.empty((n_v, K + 1), np.int64)
    chain[:, 0] = rng.choice(np.flatnonzero(deg > 0), n_v)
    for k in range(K):
        chain[:, k + 1] = nbr[chain[:, k], rng.integers(0, deg[chain[:, k]])]
    a_lat, a_lon, b_lat, b_lon = plat[chain[:, :-1]], plon[chain[:, :-1]], plat[chain[:, 1:]], plon[chain[:, 1:]]
    dist = R_M * np.hypot(np.radians(b_lat - a_lat), np.radians(b_lon - a_lon) * np.cos(np.radians(a_lat)))
    speed = rng.uniform(9, 16, (n_v, K))
    half = dist / 2 / (speed * KN)
    loiters = rng.random(n_v) < 0.2
    dur = np.stack([rng.uniform(6, 48, (n_v, K)) * 3600, half,
                    np.where(loiters[:, None] & (rng.random((n_v, K)) < 0.5), rng.uniform(2, 6, (n_v, K)) * 3600, 0),
                    half], 2).reshape(n_v, 4 * K)
    ends = np.cumsum(dur, 1)
    starts = ends - dur

    per = n_rows // n_v
    vessel = np.repeat(np.arange(n_v), per)
    vessel = np.r_[vessel, rng.integers(0, n_v, n_rows - vessel.size)]
    vessel.sort(kind="stable")
    dt = rng.uniform(60, 540, n_rows)
    first = np.r_[True, vessel[1:] != vessel[:-1]]
    t = np.cumsum(dt)
    t -= np.maximum.accumulate(np.where(first, t - dt, 0))
    t += rng.uniform(0, 6 * 3600, n_v)[vessel]  # stagger the fleet's first reports over 6 h
    t = np.clip(t, 0, ends[:, -1][vessel] - 1)
    # phase of every row: search in the vessel's phase ends (offset per vessel so one searchsorted does all)
    off = np.arange(n_v, dtype=np.float64) * (ends[:, -1].max() + 1)
    ph = np.searchsorted((ends + off[:, None]).ravel(), t + off[vessel], side="right") - vessel * 4 * K
    ph = np.minimum(ph, 4 * K - 1)
    cyc, kind = ph // 4, ph % 4
    frac = (t - starts[vessel, ph]) / np.maximum(dur[vessel, ph], 1)
    al, ao, bl, bo = a_lat[vessel, cyc], a_lon[vessel, cyc], b_lat[vessel, cyc], b_lon[vessel, cyc]
    f = np.where(kind == 1, frac / 2, np.where(kind == 3, 0.5 + frac / 2, np.where(kind == 2, 0.5, 0.0)))
    lat = al + (bl - al) * f
    lon = ao + (bo - ao) * f
    jitter = np.where(kind == 0, 30.0, np.where(kind == 2, 150.0, 10.0)) / 111_000
    lat = lat + rng.normal(0, 1, n_rows) * jitter
    lon = lon + rng.normal(0, 1, n_rows) * jitter / np.cos(np.radians(lat))
    sp = speed[vessel, cyc]
    sog = np.where(kind == 0, rng.uniform(0, 0.15, n_rows), np.where(kind == 2, rng.uniform(0.1, 0.8, n_rows),
                                                                     sp + rng.normal(0, 0.3, n_rows)))
    cog = (np.degrees(np.arctan2((bo - ao) * np.cos(np.radians(al)), bl - al)) + 360) % 360
    cog = np.where(kind == 0, rng.uniform(0, 360, n_rows), cog)
    nav = np.where(kind == 0, 5, 0).astype(np.int8)
    # gaps: the middle 40% of 1 transit in 8; dark port calls: 1 port stay in 30 with no rows at all
    gap_tr = rng.random((n_v, K)) < 1 / 8
    dark = rng.random((n_v, K)) < 1 / 30
    dark[:, 0] = False
    keep = ~(((kind == 1) & (frac > 0.6) | (kind == 3) & (frac < 0.4)) & gap_tr[vessel, cyc])
    keep &= ~((kind == 0) & dark[vessel, cyc])
    # spoofed jumps and a second transmitter on 1 MMSI in 50
    spoof = rng.random(n_rows) < 0.0005
    lat = np.where(spoof, lat - 8, lat)
    twin = (vessel % 50 == 7) & (rng.random(n_rows) < 0.3)
    lat = np.where(twin, lat + 3.1, lat)
    lat = np.clip(lat, -85, 85)
    lon = (lon + 180) % 360 - 180
    idx = np.flatnonzero(keep)
    mmsi_v = vessel * 7 + 201_000_000
    if fleet == "sea":
        # ship-to-ship transfers: 1 drifting vessel in 10 has a partner (an MMSI of its own, seen only then) 150-300 m
        # away, reporting as often, for as long as it drifts (an encounter)
        sts = idx[(kind[idx] == 2) & (vessel[idx] % 10 == 3)]
        off_m = rng.uniform(150, 300, n_v)[vessel[sts]]
        bearing = rng.uniform(0, 2 * np.pi, n_v)[vessel[sts]]
        lat = np.r_[lat, lat[sts] + off_m * np.cos(bearing) / 111_000]
        lon = np.r_[lon, lon[sts] + off_m * np.sin(bearing) / 111_000 / np.cos(np.radians(lat[sts]))]
        t = np.r_[t, t[sts] + rng.uniform(-120, 120, sts.size)]
        sog, cog, nav = np.r_[sog, sog[sts]], np.r_[cog, cog[sts]], np.r_[nav, nav[sts]]
        mmsi_v = np.r_[mmsi_v, vessel[sts] * 7 + 301_000_000]
        vessel = np.r_[vessel, vessel[sts]]
        idx = np.r_[idx, n_rows + np.arange(sts.size)]
    # exactly n_rows: drop a random share, or top up by repeating reports at slightly different times (duplicates
    # of real positions)
    if idx.size > n_rows:
        idx = np.sort(rng.choice(idx, n_rows, replace=False))
    elif idx.size < n_rows:
        idx = np.r_[idx, rng.choice(idx, n_rows - idx.size)]
    n = n_rows
    ts = (1_735_689_600 + t[idx]).astype(np.int64) * 1_000_000 + rng.integers(0, 1_000_000, n)
    mmsi = mmsi_v[idx].astype(np.int32)
    cols = {name: pa.nulls(n, fld.type) for name, fld in zip(POSITIONS.names, POSITIONS)}
    cols.update(mmsi=pa.array(mmsi), ts=pa.array(ts, POSITIONS.field("ts").type),
                lat=pa.array(lat[idx]), lon=pa.array(lon[idx]), sog_kn=pa.array(sog[idx].clip(0, 30).astype(np.float32)),
                cog_deg=pa.array((cog[idx] % 360).astype(np.float32)), nav_status=pa.array(nav[idx]),
                msg_type=pa.array(np.where(vessel[idx] % 9 == 0, 18, 1).astype(np.int8)),
                source_id=pa.array(np.ones(n, np.int32)), line=pa.array(np.arange(1, n + 1)),
                line_last=pa.array(np.arange(1, n + 1)))
    pos = pa.table(cols, schema=POSITIONS).take(pa.array(rng.permutation(n)))
    # statics: one report per vessel, plus a name change for 1 in 100
    m = (np.arange(n_v) * 7 + 201_000_000).astype(np.int32)
    sv = np.r_[np.arange(n_v), np.arange(0, n_v, 100)]
    sc = {name: pa.nulls(sv.size, fld.type) for name, fld in zip(STATICS.names, STATICS)}
    sc.update(mmsi=pa.array(m[sv]), ts=pa.array((1_735_689_600 + np.r_[np.zeros(n_v), np.full(sv.size - n_v, 86400)])
                                                .astype(np.int64) * 1_000_000, STATICS.field("ts").type),
              imo=pa.array(_imo(9_000_00 + sv)),
              shipname=pa.array([f"VESSEL {i}" + ("" if j < n_v else " II") for j, i in enumerate(sv)]),
              ship_type=pa.array(np.full(sv.size, 70, np.int16)), msg_type=pa.array(np.full(sv.size, 5, np.int8)),
              source_id=pa.array(np.ones(sv.size, np.int32)), line=pa.array(np.arange(1, sv.size + 1)),
              line_last=pa.array(np.arange(1, sv.size + 1)))
    statics = pa.table(sc, schema=STATICS)
    return pos, statics


def write_store(path, pos, statics, chunk_rows: int = 1_000_000) -> None:
    """A Watchkeeper store at ``path`` holding the synthetic positions and statics (one source, day partitions),
    as ``watchkeeper ingest`` would have written them."""
    from watchkeeper.store import Store

    with Store.open(path, create=True) as store:
        sid = store.begin_source(f"synthetic-{pos.num_rows}", 0, "synthetic", "arrow")
        w = store.writer(sid)
        for name, table in (("positions", pos), ("statics", statics)):
            for off in range(0, table.num_rows, chunk_rows):
                w.write(name, table.slice(off, chunk_rows))
        w.close()
        w.publish()
        store.complete_source(sid, {"positions": pos.num_rows, "statics": statics.num_rows})


def _imo(base):
    """Valid IMO numbers (check digit) from 6-digit bases."""
    import numpy as np
    d = np.stack([(base // 10 ** k) % 10 for k in range(5, -1, -1)], 1)
    return (base * 10 + (d * np.arange(7, 1, -1)).sum(1) % 10).astype(np.int32)


# --- workers ---------------------------------------------------------------------------------------------
def worker_suite(n: str, fleet: str = "sea") -> dict:
    from watchkeeper.config import load_config
    from watchkeeper.engines.local import count_by_type, detect_all
    from watchkeeper.geo.coast import Coast
    from watchkeeper.geo.gazetteer import load_gazetteer

    n = int(n)
    cfg, gaz, coast = load_config(), load_gazetteer(), Coast.default()
    t = time.perf_counter()
    wp, ws = synthetic(20_000, seed=1)
    detect_all(wp, ws, cfg, gazetteer=gaz, coast=coast)
    t_warm = time.perf_counter() - t
    del wp, ws
    t = time.perf_counter()
    pos, statics = synthetic(n, fleet=fleet)
    t_gen = time.perf_counter() - t
    rss_input = rss_now_kib()
    t = time.perf_counter()
    events = detect_all(pos, statics, cfg, gazetteer=gaz, coast=coast)
    s = time.perf_counter() - t
    return {"rows": n, "detect_s": round(s, 3), "positions_per_s": round(n / s), "warmup_s": round(t_warm, 2),
            "generate_s": round(t_gen, 2), "rss_after_input_kib": rss_input, "peak_rss_kib": maxrss_kib(),
            "events": events.num_rows, "counts": count_by_type(events)}


def worker_store(n: str, path: str, fleet: str = "sea") -> dict:
    t = time.perf_counter()
    pos, statics = synthetic(int(n), fleet=fleet)
    write_store(path, pos, statics)
    return {"rows": int(n), "generate_and_write_s": round(time.perf_counter() - t, 2)}


def worker_warm(path: str) -> dict:
    """Fill the numba cache of this copy of the code (the benchmark runs a snapshot in a temporary folder), so the
    timed run loads compiled kernels as an installed Watchkeeper does."""
    from watchkeeper.config import load_config
    from watchkeeper.engines.local import run_detection
    from watchkeeper.store import Store
    from watchkeeper.warmup import warm_up

    t = time.perf_counter()
    warm_up()
    pos, statics = synthetic(120_000, seed=5)
    write_store(path, pos, statics)
    with Store.open(path) as store:
        run_detection(store, load_config(), workers=1, partition_rows=40_000)
    return {"warm_s": round(time.perf_counter() - t, 1)}


def worker_engine(path: str, workers: str, partition_rows: str) -> dict:
    t0 = time.perf_counter()
    from watchkeeper.config import load_config
    from watchkeeper.engines import partitioned
    from watchkeeper.engines.local import run_detection
    from watchkeeper.store import Store

    t = time.perf_counter()
    with Store.open(path) as store:
        counts = run_detection(store, load_config(), workers=int(workers), partition_rows=int(partition_rows))
        n = store.detect_runs().to_pylist()[-1]["positions"]
    s = time.perf_counter() - t
    run = {k: v for k, v in partitioned.LAST_RUN.items()}
    return {"rows": n, "detect_s": round(s, 3), "positions_per_s": round(n / s), "import_s": round(t - t0, 2),
            "parent_peak_rss_kib": maxrss_kib(), "worker_peak_rss_kib": run.get("worker_peak_rss_kib"),
            "partitions": run.get("partitions", 1), "steps_s": run.get("steps_s"), "events": sum(counts.values()),
            "counts": counts}


def worker_wk_subset(path: str) -> dict:
    import pyarrow.parquet as pq

    from watchkeeper.config import load_config
    from watchkeeper.detect.gaps import ais_gaps
    from watchkeeper.detect.loitering import loitering
    from watchkeeper.detect.port_visits import port_visits
    from watchkeeper.geo.coast import Coast
    from watchkeeper.geo.gazetteer import load_gazetteer
    from watchkeeper.geo.reception import reception_grid
    from watchkeeper.schema import POSITIONS
    from watchkeeper.tracks.segment import segment_tracks

    cfg, gaz, coast = load_config(), load_gazetteer(), Coast.default()
    pos = pq.read_table(path).cast(POSITIONS)

    def run(tbl):
        seg = segment_tracks(tbl, cfg)
        grid = reception_grid(seg, cfg)
        g = ais_gaps(seg, grid, coast, cfg)
        v = port_visits(seg, gaz, cfg)
        lo = loitering(seg, gaz, cfg)
        return g.num_rows, v.num_rows, lo.num_rows

    run(pos.slice(0, 5000))  # warm-up: kernels
    best = None
    for _ in range(3):
        t = time.perf_counter()
        res = run(pos)
        s = time.perf_counter() - t
        best = s if best is None else min(best, s)
    return {"rows": pos.num_rows, "best_s": round(best, 4), "rows_per_s": round(pos.num_rows / best),
            "gaps": res[0], "port_visits": res[1], "loitering": res[2], "peak_rss_kib": maxrss_kib()}


MP_CODE = r'''
import json, sys, time, resource
import pandas as pd, geopandas as gpd, movingpandas as mpd
from datetime import timedelta
df = pd.read_parquet(sys.argv[1], columns=["mmsi", "ts", "lat", "lon"])
df["ts"] = pd.to_datetime(df["ts"]).dt.tz_localize(None)
t = time.perf_counter()
gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon, df.lat), crs="EPSG:4326")
tc = mpd.TrajectoryCollection(gdf, "mmsi", t="ts")
split = mpd.ObservationGapSplitter(tc).split(gap=timedelta(hours=2))
split.add_speed(overwrite=True)
stops = mpd.TrajectoryStopDetector(split).get_stop_points(max_diameter=500, min_duration=timedelta(hours=2))
s = time.perf_counter() - t
print(json.dumps({"rows": len(df), "s": round(s, 2), "rows_per_s": round(len(df) / s), "trajectories": len(split),
                  "stops": len(stops), "version": mpd.__version__, "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
'''


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000, 20_000_000])
    ap.add_argument("--suite-sizes", type=int, nargs="*", default=[1_000_000])
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--partition-rows", type=int, default=1_000_000)
    ap.add_argument("--mp-rows", type=int, default=100_000)
    ap.add_argument("--skip-mp", action="store_true")
    ap.add_argument("--fleet", choices=("sea", "legacy"), default="sea",
                    help="synthetic fleet: at sea (default) or the generator of earlier rounds (half its positions on land)")
    ap.add_argument("--idle-wait", type=float, default=30.0)
    a = ap.parse_args()
    src, src_hash = snapshot_src()
    out = {"machine": machine(), "git": git_state(), "src_sha": src_hash, "versions": versions(sys.executable, src),
           "fleet": a.fleet, "engine": [], "suite": [], "subset": {}}
    import os
    import shutil
    workers = a.workers or len(os.sched_getaffinity(0))
    warm_dir = Path(tempfile.mkdtemp(prefix="wk-detect-warm-"))
    out["warm"] = run_worker(Path(__file__), "warm", [str(warm_dir / "db")], pythonpath=src, timeout=1800,
                             idle_wait_s=0)
    shutil.rmtree(warm_dir, ignore_errors=True)
    for n in a.sizes:
        store = Path(tempfile.mkdtemp(prefix="wk-detect-store-")) / "db"
        try:
            made = run_worker(Path(__file__), "store", [str(n), str(store), a.fleet], pythonpath=src, timeout=3600,
                              idle_wait_s=0)
            r = run_worker(Path(__file__), "engine", [str(store), str(workers), str(a.partition_rows)],
                           pythonpath=src, timeout=3600, idle_wait_s=a.idle_wait)
            r["generate_and_write_s"] = made["generate_and_write_s"]
        except Exception as e:  # noqa: BLE001
            r = {"rows": n, "error": str(e)[-500:]}
        finally:
            shutil.rmtree(store.parent, ignore_errors=True)
        out["engine"].append(r)
        print(json.dumps(r), flush=True)
    for n in a.suite_sizes:
        try:
            r = run_worker(Path(__file__), "suite", [str(n), a.fleet], pythonpath=src, timeout=900, idle_wait_s=a.idle_wait)
        except Exception as e:  # noqa: BLE001
            r = {"rows": n, "error": str(e)[-500:]}
        out["suite"].append(r)
        print(json.dumps(r), flush=True)
    # the subset side by side, on one shared Parquet file
    tmp = Path(tempfile.mkdtemp(prefix="wk-detect-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    path = tmp / f"positions-{a.mp_rows}.parquet"
    import pyarrow.parquet as pq
    sys.path.insert(0, str(src))
    pq.write_table(synthetic(a.mp_rows, seed=2, fleet=a.fleet)[0], path)
    out["subset"]["watchkeeper"] = run_worker(Path(__file__), "wk_subset", [str(path)], pythonpath=src,
                                              idle_wait_s=a.idle_wait)
    print(json.dumps(out["subset"]["watchkeeper"]), flush=True)
    if not a.skip_mp and Path(MP_PYTHON).exists():
        import subprocess
        t = time.perf_counter()
        p = subprocess.run([MP_PYTHON, "-c", MP_CODE, str(path)], capture_output=True, text=True, timeout=1800, check=False)
        if p.returncode == 0:
            out["subset"]["movingpandas"] = json.loads(p.stdout.strip().splitlines()[-1])
        else:
            out["subset"]["movingpandas"] = {"error": p.stderr[-1500:]}
        out["subset"]["movingpandas"]["process_wall_s"] = round(time.perf_counter() - t, 1)
        print(json.dumps(out["subset"]["movingpandas"]), flush=True)
    else:
        out["subset"]["movingpandas"] = {"error": "not run (no /tmp/mpd-venv or --skip-mp)"}
    mp, wk = out["subset"]["movingpandas"], out["subset"]["watchkeeper"]
    if "rows_per_s" in mp:
        out["subset"]["ratio"] = round(wk["rows_per_s"] / mp["rows_per_s"], 1)

    print(f"\nengine ({workers} workers, partitions of {a.partition_rows:,})")
    print(f"{'rows':>12} {'seconds':>9} {'positions/s':>13} {'parent MiB':>11} {'worker MiB':>11} {'events':>9}")
    for r in out["engine"]:
        if "error" in r:
            print(f"{r['rows']:>12,} failed: {r['error'][-200:]}")
        else:
            w = r["worker_peak_rss_kib"]
            print(f"{r['rows']:>12,} {r['detect_s']:>9.2f} {r['positions_per_s']:>13,} "
                  f"{r['parent_peak_rss_kib'] / 1024:>11,.0f} {(w or 0) / 1024:>11,.0f} {r['events']:>9,}")
    print("\nsuite in memory (detect_all)")
    print(f"{'rows':>12} {'seconds':>9} {'positions/s':>13} {'peak RSS MiB':>13} {'events':>9}")
    for r in out["suite"]:
        if "error" in r:
            print(f"{r['rows']:>12,} failed: {r['error'][-200:]}")
        else:
            print(f"{r['rows']:>12,} {r['detect_s']:>9.2f} {r['positions_per_s']:>13,} "
                  f"{r['peak_rss_kib'] / 1024:>13,.0f} {r['events']:>9,}")
    print(f"\nsubset on {a.mp_rows:,} rows: Watchkeeper {wk['rows_per_s']:,} rows/s ({wk['best_s']} s); "
          f"MovingPandas {mp.get('rows_per_s', 'n/a')} rows/s ({mp.get('s', '-')} s); ratio {out['subset'].get('ratio')}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("detect.json" if a.fleet == "sea" else f"detect-{a.fleet}.json")).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        sys.exit(print(json.dumps({"suite": worker_suite, "wk_subset": worker_wk_subset, "store": worker_store,
                                   "engine": worker_engine, "warm": worker_warm}[sys.argv[2]](*sys.argv[3:]))))
    main()
