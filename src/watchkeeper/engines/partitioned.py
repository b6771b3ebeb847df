"""The partitioned engine: the detection suite over partitions of the vessels, in parallel, in bounded memory.

The local engine reads the whole store at once, so its memory grows with the store. This engine gives the same
events (the same rows and ids; tests compare the two) while holding only a few partitions at a time:

1. **Shuffle.** DuckDB streams the store's positions into ``P`` partitions by ``mmsi % P`` (Parquet files in a
   temporary folder inside the store), ``P`` chosen so that a partition holds about ``partition_rows`` rows.
   Every row of an MMSI lands in the same partition, so segmentation and every per-vessel rule see whole tracks.
2. **Pass 1, per partition** (``workers`` processes): segmentation; the per-vessel detectors that need nothing
   from other vessels (port visits, loitering, MMSI conflicts, invalid identity); and the additive summaries of
   the partition that the rules spanning all vessels need: reception counts per cell and day
   (:func:`~watchkeeper.geo.reception.grid_counts`), runs of data per area
   (:func:`~watchkeeper.detect.gaps.area_runs`), vessels per inland-water cell
   (:func:`~watchkeeper.detect.spoofing.inland_cell_vessels`) and the encounter grid points
   (:func:`~watchkeeper.detect.encounters.encounter_points`, written per UTC day). The partition's track arrays
   are kept on disk for pass 2.
3. **Merge.** The summaries add up exactly (they are counts over disjoint sets of vessels, or unions of time
   spans), giving the reception grid, area runs and cell counts of the whole store.
4. **Pass 2** (``workers`` processes): per partition, AIS gaps scored against the whole store's reception, dark
   port calls and position jumps; per UTC day, the adjacent pairs of encounter grid points of every vessel (pairs
   exist only within one grid instant, so days are independent).
5. **Finish** (this process): encounter runs from the adjacent pairs, activity surges from the port visits and dark
   port calls, identity changes from the statics (an IMO moving between MMSIs spans partitions).

Peak memory is about ``workers`` partitions plus one day of encounter grid points, the statics and the events;
it does not grow with the number of positions. Workers are forked from a fork server that has loaded the default
gazetteer and coastline once (a fresh interpreter: forking a process in which Numba's OpenMP threads have run is
unsafe). With one worker every step runs in this process.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from watchkeeper.config import Config
from watchkeeper.detect.dark_port_calls import dark_port_calls
from watchkeeper.detect.encounters import adjacency, concat_adjacency, encounter_events, encounter_points
from watchkeeper.detect.gaps import ais_gaps, area_runs, merge_area_runs
from watchkeeper.detect.identity import identity_change, invalid_identity
from watchkeeper.detect.loitering import loitering
from watchkeeper.detect.mmsi_conflict import mmsi_conflicts
from watchkeeper.detect.port_visits import port_visits
from watchkeeper.detect.spoofing import inland_cell_vessels, position_jumps
from watchkeeper.detect.surges import activity_surges
from watchkeeper.geo.coast import Coast
from watchkeeper.geo.gazetteer import Gazetteer
from watchkeeper.geo.reception import grid_counts, grid_from_counts
from watchkeeper.schema import EVENTS, POSITIONS
from watchkeeper.tracks.arrays import Tracks
from watchkeeper.tracks.segment import segment_tracks

DEFAULT_PARTITION_ROWS = 1_000_000
# Below this many positions one process does everything (forking and shuffling cost more than they save).
MIN_PARALLEL_ROWS = 400_000
_SEG_BITS = 32  # global segment code: partition << 32 | segment code within the partition
_US_DAY = 86_400_000_000

# What the forked workers need, set in this process before each pool starts (inherited, never pickled).
_STATE: dict = {}


def plan_partitions(n_rows: int, partition_rows: int = DEFAULT_PARTITION_ROWS, workers: int = 1) -> int:
    """How many partitions ``n_rows`` positions get: about ``partition_rows`` each, and at least one per worker
    once there are ``MIN_PARALLEL_ROWS``; 1 means the local engine is the better choice."""
    if partition_rows < 1:
        raise ValueError(f"partition_rows must be >= 1, not {partition_rows}")
    p = max(1, math.ceil(n_rows / partition_rows))
    if workers > 1 and n_rows >= MIN_PARALLEL_ROWS:
        p = max(p, workers)
    return p


def default_workers() -> int:
    """Worker processes by default: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _events(table: pa.Table) -> pa.Table:
    return table.select(EVENTS.names).cast(EVENTS)


def _radius_km(config: Config) -> float:
    return max(float(config.port_visit.exit_radius_km), float(config.loitering.min_port_distance_km),
               float(config.loitering.near_port_km), float(config.position_jump.inland_water_place_km))


def _shuffle(store, n_parts: int, folder: Path) -> None:
    """The store's positions as ``folder/bucket=K/*.parquet``, K = mmsi % n_parts (DuckDB, streaming)."""
    cols = ", ".join(f'"{c}"' for c in POSITIONS.names)
    rel = store.relation("positions").select(
        f"{cols}, CAST(((coalesce(mmsi, 0) % {n_parts}) + {n_parts}) % {n_parts} AS INTEGER) AS bucket")
    rel.write_parquet(str(folder), partition_by=["bucket"], write_partition_columns=False, overwrite=True)


def _read_bucket(folder: Path, k: int) -> pa.Table:
    path = folder / f"bucket={k}"
    if not path.exists():
        return POSITIONS.empty_table()
    return pq.read_table(path, partitioning=None).select(POSITIONS.names).cast(POSITIONS)


def _bucket_of(mmsi: pa.ChunkedArray, n_parts: int) -> np.ndarray:
    m = pc.fill_null(mmsi, 0).to_numpy().astype(np.int64)
    return m % n_parts


# --- pass 1 -------------------------------------------------------------------------------------------------
def _pass1(k: int) -> dict:
    s = _STATE
    config, gaz, tmp, n_parts = s["config"], s["gazetteer"], s["tmp"], s["n_parts"]
    positions = _read_bucket(tmp / "positions", k)
    statics = s["statics"].filter(pa.array(s["statics_bucket"] == k))
    n_positions = positions.num_rows
    tracks = segment_tracks(positions, config)
    tracks.nearest_place(gaz, _radius_km(config))
    events = [port_visits(tracks, gaz, config), loitering(tracks, gaz, config), mmsi_conflicts(tracks, config),
              invalid_identity(statics, positions, config)]
    del positions
    p = tracks.plausible
    silence_us = int(float(config.ais_gap.area_max_silence_h) * 3_600_000_000)
    ts = tracks.rows["ts"]
    out = {"events": pa.concat_tables([_events(e) for e in events]),
           "grid": grid_counts(tracks, config), "area": area_runs(p["lat"], p["lon"], p["ts_us"], silence_us),
           "cells": inland_cell_vessels(tracks, config),
           "span": (int(ts.min()), int(ts.max())) if len(ts) else None, "n_rows": n_positions}
    # encounter grid points, one file per UTC day, segment codes made unique across partitions
    pts = encounter_points(p, config)
    step_us = int(pts.pop("step_us"))
    out["step_us"] = step_us
    pts["seg"] = pts["seg"] + (np.int64(k) << _SEG_BITS)
    day = (pts["slot"] * step_us) // _US_DAY
    order = np.argsort(day, kind="stable")
    day_sorted = day[order]
    cuts = np.flatnonzero(np.r_[True, day_sorted[1:] != day_sorted[:-1], True]) if len(day) else np.zeros(1, int)
    table = pa.table({name: v[order] for name, v in pts.items()})
    days = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        d = int(day_sorted[a])
        folder = tmp / "points" / f"day={d}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.slice(a, b - a), folder / f"part-{k}.parquet")
        days.append(d)
    out["days"] = days
    # segment ids, looked up by the encounters found at the end
    pq.write_table(pa.table({"segment_id": pa.array(p["segment_id"].tolist(), pa.string())}),
                   tmp / f"segments-{k}.parquet")
    # the track arrays for pass 2 (the nearest-place search included, it is the costliest part to redo)
    state = {"rows": tracks.rows, "plausible": p, "nearest": tracks.nearest_place(gaz, _radius_km(config)),
             "radius": _radius_km(config)}
    with open(tmp / f"tracks-{k}.pickle", "wb") as f:
        pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
    return out


# --- pass 2 -------------------------------------------------------------------------------------------------
def _load_tracks(path: Path, gazetteer: Gazetteer) -> Tracks:
    with open(path, "rb") as f:
        state = pickle.load(f)
    tracks = Tracks(rows=state["rows"])
    tracks.__dict__["plausible"] = state["plausible"]
    idx, km = state["nearest"]
    tracks.__dict__["_nearest"] = {id(gazetteer): (gazetteer, state["radius"], idx, km)}
    return tracks


def _pass2_partition(k: int) -> pa.Table:
    _load_merged()
    s = _STATE
    config, gaz, coast, tmp = s["config"], s["gazetteer"], s["coast"], s["tmp"]
    tracks = _load_tracks(tmp / f"tracks-{k}.pickle", gaz)
    gaps = ais_gaps(tracks, s["grid"], coast, config, area=s["area"])
    dark = dark_port_calls(gaps, gaz, config, segmented=tracks)
    jumps = position_jumps(tracks, coast, config, gazetteer=gaz, cell_vessels=s["cells"])
    return pa.concat_tables([_events(gaps), _events(dark), _events(jumps)])


def _pass2_day(day: int) -> dict[str, np.ndarray]:
    _load_merged()
    s = _STATE
    table = pq.read_table(s["tmp"] / "points" / f"day={day}", partitioning=None)
    pts = {name: table[name].to_numpy() for name in table.column_names}
    pts["step_us"] = np.int64(s["step_us"])
    return adjacency(pts, s["config"])


class _SegmentIds:
    """``ids[code]``: the segment id of a global segment code, read per partition on first use."""

    def __init__(self, tmp: Path):
        self.tmp, self.parts = tmp, {}

    def __getitem__(self, code: int) -> str:
        k, seg = int(code) >> _SEG_BITS, int(code) & ((1 << _SEG_BITS) - 1)
        if k not in self.parts:
            self.parts[k] = pq.read_table(self.tmp / f"segments-{k}.parquet")["segment_id"].to_pylist()
        return self.parts[k][seg]


class _InProcess:
    """The pool's interface, running each task here (one worker: no processes to start)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, fn, *args):
        from concurrent.futures import Future

        f = Future()
        f.set_result(fn(*args))
        return f


def _init_worker(state: dict) -> None:
    """Worker set-up: the shared state, with the default gazetteer and coastline the fork server preloaded."""
    from watchkeeper.engines import _preload

    _STATE.clear()
    _STATE.update(state)
    if _STATE.get("gazetteer") is None:
        _STATE["gazetteer"] = _preload.gazetteer()
    if _STATE.get("coast") is None:
        _STATE["coast"] = _preload.coast()


def _load_merged() -> None:
    """Pass 2's inputs (the merged summaries), read once per worker."""
    if "grid" not in _STATE:
        with open(_STATE["tmp"] / "merged.pickle", "rb") as f:
            _STATE.update(pickle.load(f))


def _pool(workers: int, n_tasks: int, state: dict):
    """``workers`` processes (at most one per task) forked from a fork server, which starts from a fresh
    interpreter: forking this process is unsafe once Numba's OpenMP threads have run in it."""
    if workers <= 1 or n_tasks <= 1:
        _init_worker(state)
        return _InProcess()
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["watchkeeper.engines._preload"])
    return ProcessPoolExecutor(max_workers=min(workers, n_tasks), mp_context=ctx, initializer=_init_worker,
                               initargs=(state,))


def detect_partitioned(store, statics: pa.Table, config: Config, *, gazetteer: Gazetteer | None = None,
                       coast: Coast | None = None, n_parts: int, workers: int) -> tuple[pa.Table, int]:
    """Every detector over ``store`` in ``n_parts`` partitions of the vessels with ``workers`` processes.

    ``gazetteer`` and ``coast`` default to the vendored ones (preloaded once by the workers' fork server; others
    are sent to every worker).

    Returns ``(events, n_positions)``: the events in the local engine's order
    (:func:`watchkeeper.engines.local.detect_all` gives the same table) and the number of positions read.
    """
    tmp = Path(tempfile.mkdtemp(prefix="_detect-", dir=store.root))
    silence_us = int(float(config.ais_gap.area_max_silence_h) * 3_600_000_000)
    _mark("start")
    try:
        state = {"config": config, "gazetteer": gazetteer, "coast": coast, "tmp": tmp, "n_parts": n_parts,
                 "statics": statics, "statics_bucket": _bucket_of(statics["mmsi"], n_parts)}
        with _pool(workers, n_parts, state) as pool:
            # the workers start while DuckDB shuffles the positions (their first task waits for it)
            ready = [pool.submit(_noop) for _ in range(min(workers, n_parts))]
            _shuffle(store, n_parts, tmp / "positions")
            _mark("shuffle")
            for r in ready:
                r.result()
            _mark("workers ready")
            first = [j.result() for j in [pool.submit(_pass1, k) for k in range(n_parts)]]
            _mark("pass 1")
            shutil.rmtree(tmp / "positions", ignore_errors=True)
            cells = np.concatenate([r["cells"][0] for r in first])
            counts = np.concatenate([r["cells"][1] for r in first])
            u_cells, inv = np.unique(cells, return_inverse=True)
            merged = {"grid": grid_from_counts([r["grid"] for r in first], config),
                      "area": merge_area_runs([r["area"] for r in first], silence_us),
                      "cells": (u_cells, np.bincount(inv, weights=counts, minlength=len(u_cells)).astype(np.int64)),
                      "step_us": first[0]["step_us"]}
            with open(tmp / "merged.pickle", "wb") as f:
                pickle.dump(merged, f, protocol=pickle.HIGHEST_PROTOCOL)
            days = sorted({d for r in first for d in r["days"]})
            part_jobs = [pool.submit(_pass2_partition, k) for k in range(n_parts)]
            day_jobs = [pool.submit(_pass2_day, d) for d in days]
            second = [j.result() for j in part_jobs]
            _mark("pass 2 partitions")
            pairs = [j.result() for j in day_jobs]
            _mark("pass 2 days")
        spans = [r["span"] for r in first if r["span"] is not None]
        per_vessel = pa.concat_tables([pa.concat_tables([r["events"] for r in first]), *second])
        is_call = pc.is_in(per_vessel["type"], pa.array(["port_visit", "dark_port_call"]))
        span = (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else (None, None)
        if gazetteer is None:
            from watchkeeper.engines import _preload

            gazetteer = _preload.gazetteer()
        parts = [per_vessel,
                 _events(activity_surges(per_vessel.filter(is_call), config, data_start=span[0], data_end=span[1])),
                 _events(identity_change(statics, config))]
        if pairs:
            parts.append(_events(encounter_events(concat_adjacency(pairs), _SegmentIds(tmp), gazetteer, config)))
        events = pa.concat_tables(parts)
        events = events.sort_by([("mmsi", "ascending"), ("start", "ascending"), ("type", "ascending"),
                                 ("event_id", "ascending")])
        _mark("finish")
        return events, sum(r["n_rows"] for r in first)
    finally:
        _STATE.clear()
        shutil.rmtree(tmp, ignore_errors=True)


def _noop() -> None:
    return None


_T0 = [0.0]


def _mark(step: str) -> None:
    """Log the seconds since the previous mark (``logging`` at DEBUG, logger ``watchkeeper.engines``)."""
    import logging
    import time

    now = time.perf_counter()
    if step != "start":
        logging.getLogger("watchkeeper.engines").debug("%s: %.2f s", step, now - _T0[0])
    _T0[0] = now
