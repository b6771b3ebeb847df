"""The partitioned engine: the detection suite over partitions of the vessels, in parallel, in bounded memory.

The local engine reads the whole store at once, so its memory grows with the store. This engine gives the same
events (the same rows and ids; tests compare the two) while holding only a few partitions at a time:

1. **Shuffle.** One streaming pass over the store's Parquet files (Arrow batches) splits the positions (the
   columns the detectors read, :data:`~watchkeeper.tracks.segment.READ_COLUMNS`) into ``P`` partitions by
   ``mmsi % P``, appended to uncompressed Arrow IPC files in a temporary folder inside the store;
   ``P`` is chosen so that a partition holds at most ``partition_rows`` rows (a multiple of the workers). Every row
   of an MMSI lands in the same partition, so segmentation and every per-vessel rule see whole tracks.
2. **Pass 1, per partition** (``workers`` processes): segmentation; the per-vessel detectors that need nothing
   from other vessels (port visits, loitering, MMSI conflicts, invalid identity); position jumps, with the
   partition's own vessel counts per inland-water cell; the AIS gap candidates
   (:func:`~watchkeeper.detect.gaps.gap_candidates`: everything a gap takes from its own track) and each
   vessel's own speeds for the dark port calls; and the additive summaries of the partition that the rules
   spanning all vessels need: reception counts per cell and day (:func:`~watchkeeper.geo.reception.grid_counts`),
   runs of data per area (:func:`~watchkeeper.detect.gaps.area_runs`), vessels per inland-water cell
   (:func:`~watchkeeper.detect.spoofing.inland_cell_vessels`) and the encounter grid points
   (:func:`~watchkeeper.detect.encounters.encounter_points`, written per UTC day, integers in int32 where they
   fit). The partition's positions file is deleted, unless the partition's own inland counts left some on-land
   rows off inland water: it then waits for pass 2.
3. **Merge.** The summaries add up exactly (they are counts over disjoint sets of vessels, or unions of time
   spans), giving the reception grid, area runs and cell counts of the whole store.
4. **Pass 2** (``workers`` processes): per partition, the AIS gaps of the candidates, scored against the whole
   store's reception and with open gaps ended where the data around them ends
   (:func:`~watchkeeper.detect.gaps.gap_events`), their dark port calls, and, where every vessel's inland counts
   make such a row's cell inland water, the position jumps of its MMSI again: its rows read back and segmented
   on their own (segmentation and jumps are per MMSI), the pass 1 jumps of that MMSI dropped; per UTC
   day, the adjacent pairs of every vessel's encounter grid points (pairs exist only within one grid instant, so
   days are independent), and the encounters whose runs lie wholly inside the day.
5. **Finish**: encounters from the runs that touch a day's first or last slot, joined across days (in one
   worker, whose gazetteer search is built already); in this process, activity surges from the port visits and
   dark port calls, and identity changes from the statics (an IMO moving between MMSIs spans partitions).

Peak memory is about ``workers`` partitions plus one day of encounter grid points, the statics and the events; it
does not grow with the number of positions. Temporary disk peaks at about 90 bytes a position (87 in a 5M-position
run: the shuffled positions, 54 bytes a position, while pass 1 writes the grid points, 32), removed as the steps
finish and at the end; a folder left by a killed run is removed by the next. Workers are forked from this process when no
parallel Numba kernel has run in it yet (the command line's case), else from a fork server that has loaded the
default gazetteer and coastline (forking a process in which OpenMP threads have run is unsafe). With one worker
every step runs in this process.
"""

from __future__ import annotations

import contextlib
import errno
import gc
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

from watchkeeper.config import Config
from watchkeeper.engines import GC_THRESHOLDS, rare_collections
from watchkeeper.errors import StoreError
from watchkeeper.detect.dark_port_calls import dark_port_calls, vessel_speeds_kn
from watchkeeper.detect.encounters import (
    adjacency,
    encounter_events,
    encounter_points,
    in_port_radius_km,
    run_pieces,
    run_place,
)
from watchkeeper.detect.gaps import area_runs, gap_candidates, gap_events, merge_area_runs
from watchkeeper.detect.identity import identity_change, invalid_identity
from watchkeeper.detect.loitering import loitering
from watchkeeper.detect.mmsi_conflict import mmsi_conflicts
from watchkeeper.detect.port_visits import port_visits
from watchkeeper.detect.spoofing import counted_water, inland_cell_vessels, inland_cells, position_jumps
from watchkeeper.detect.surges import activity_surges
from watchkeeper.geo.coast import Coast
from watchkeeper.geo.gazetteer import Gazetteer
from watchkeeper.geo.reception import grid_counts, grid_from_counts
from watchkeeper.schema import EVENTS, POSITIONS
from watchkeeper.tracks.arrays import stable_order
from watchkeeper.tracks.segment import READ_COLUMNS, segment_tracks

DEFAULT_PARTITION_ROWS = 1_000_000
# From this many positions a store that fits one partition is still split among the workers when they can be
# forked from this process (measured: 1M positions take 2.8-4.0 s so against 4.6 s in one process); with a fork
# server to start first (a parallel kernel already ran here, e.g. ingest in the same process) it is not worth it.
MIN_PARALLEL_ROWS = 400_000
_SEG_BITS = 32  # global segment code: partition << 32 | segment code within the partition
_US_DAY = 86_400_000_000
# the positions columns the shuffle moves: those the detectors read (the others would be read, sorted and written
# for nothing; measured on 2M positions: the split of all 14 columns took about twice as long)
_MOVED = pa.schema([POSITIONS.field(n) for n in READ_COLUMNS])

# What the steps read (configuration, gazetteer, coastline, temporary folder, statics, merged summaries): set by
# _init_worker in every worker process, or here when the steps run in this process.
_STATE: dict = {}


def plan_partitions(n_rows: int, partition_rows: int = DEFAULT_PARTITION_ROWS, workers: int = 1, *,
                    split_small: bool = True) -> int:
    """How many partitions ``n_rows`` positions get: at most ``partition_rows`` each, and when more than one, a
    multiple of ``workers``. A store that fits one partition is split among the workers when ``split_small`` and
    it has at least ``MIN_PARALLEL_ROWS`` positions. 1 means the local engine (one process)."""
    if partition_rows < 1:
        raise ValueError(f"partition_rows must be >= 1, not {partition_rows}")
    p = max(1, math.ceil(n_rows / partition_rows))
    if p == 1 and split_small and n_rows >= MIN_PARALLEL_ROWS:
        p = workers
    if p > 1 and workers > 1:
        p = workers * math.ceil(p / workers)  # a multiple of the workers, so none waits idle in the last round
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


def _shares(files: list[str], n_tasks: int) -> list[list[str]]:
    """``files`` (largest first) in ``n_tasks`` shares of about equal bytes: each file to the share with the
    fewest bytes so far."""
    shares, size = [[] for _ in range(n_tasks)], [0] * n_tasks
    for f in files:
        t = size.index(min(size))
        shares[t].append(f)
        size[t] += os.path.getsize(f)
    return shares


def _store_files(store) -> list[str]:
    """The store's positions files, largest first (see :func:`_shares`)."""
    files = list((store.root / "positions").glob("*/*.parquet"))
    return [str(p) for p in sorted(files, key=lambda p: (-p.stat().st_size, str(p)))]


def _shuffle(files: list[str], task: int) -> None:
    """Split ``files`` (Parquet files of the store's positions, hive-partitioned by day) by partition,
    ``mmsi % n_parts``, into uncompressed Arrow IPC files ``positions-K-<task>.arrow``: one streaming pass in
    batches, each batch split and appended."""
    import pyarrow.dataset as ds
    import pyarrow.ipc as ipc

    tmp, n_parts = _STATE["tmp"], _STATE["n_parts"]
    writers = [ipc.new_file(str(tmp / f"positions-{k}-{task}.arrow"), _MOVED) for k in range(n_parts)]
    try:
        if files:
            data = ds.dataset(files, format="parquet")
            # little read-ahead: memory stays at a few batches whatever the store's size
            for batch in data.to_batches(columns=_MOVED.names, batch_size=1 << 20, batch_readahead=2,
                                         fragment_readahead=1):
                table = pa.Table.from_batches([batch]).cast(_MOVED)
                bucket = _bucket_of(table["mmsi"], n_parts)
                counts = np.bincount(bucket, minlength=n_parts)
                # a stable sort of small integers is a radix sort in NumPy
                small = bucket.astype(np.int16) if n_parts <= np.iinfo(np.int16).max else bucket
                table = table.take(pa.array(np.argsort(small, kind="stable")))
                offset = 0
                for k in range(n_parts):
                    if counts[k]:
                        writers[k].write_table(table.slice(offset, int(counts[k])))
                    offset += int(counts[k])
    finally:
        for w in writers:
            w.close()


def _partition_files(tmp: Path, k: int) -> list[Path]:
    """Partition ``k``'s positions files, one per shuffle task, in task order."""
    return sorted(tmp.glob(f"positions-{k}-*.arrow"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


def _read_partition(tmp: Path, k: int) -> pa.Table:
    """Partition ``k``'s positions from every shuffle task's file (memory-mapped: they stay readable after
    :func:`_delete_partition`)."""
    tables = [_read_arrow(p) for p in _partition_files(tmp, k)]
    return pa.concat_tables(tables) if tables else _MOVED.empty_table()


def _delete_partition(tmp: Path, k: int) -> None:
    for path in _partition_files(tmp, k):
        path.unlink(missing_ok=True)


def _read_arrow(path: Path) -> pa.Table:
    import pyarrow.ipc as ipc

    with pa.memory_map(str(path)) as source:
        return ipc.open_file(source).read_all()


def _narrow(a: np.ndarray) -> np.ndarray:
    """An int64 array as int32 when every value fits (the grid points' slots, rows, sources and mostly lines):
    less to write and read; :func:`_read_points` widens them back."""
    if a.dtype == np.int64 and len(a) and np.iinfo(np.int32).min <= a.min() and a.max() <= np.iinfo(np.int32).max:
        return a.astype(np.int32)
    return a


def _read_points(tmp: Path, day: int, segs: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The grid points of UTC day ``day`` from every partition's file (of the segments ``segs`` only, when
    given), integers back in int64."""
    tables = [_read_arrow(f) for f in sorted((tmp / "points" / f"day={day}").iterdir())]
    keep = [None if segs is None else np.isin(t["seg"].to_numpy(), segs) for t in tables]
    out = {}
    for name in tables[0].column_names:
        parts = [t[name].to_numpy() if k is None else t[name].to_numpy()[k] for t, k in zip(tables, keep)]
        wide = np.int64 if parts[0].dtype.kind == "i" else parts[0].dtype
        out[name] = np.concatenate(parts, dtype=wide) if len(parts) > 1 else parts[0].astype(wide)
    return out


def _write_arrow(table: pa.Table, path: Path) -> None:
    import pyarrow.ipc as ipc

    with ipc.new_file(str(path), table.schema) as w:
        w.write_table(table)


def _bucket_of(mmsi, n_parts: int) -> np.ndarray:
    m = pc.fill_null(mmsi, 0)
    m = m.to_numpy() if isinstance(m, pa.ChunkedArray) else m.to_numpy(zero_copy_only=False)
    return np.asarray(m).astype(np.int64) % n_parts


# --- pass 1 -------------------------------------------------------------------------------------------------
def _pass1(k: int) -> dict:
    s = _STATE
    config, gaz, coast, tmp = s["config"], s["gazetteer"], s["coast"], s["tmp"]
    positions = _read_partition(tmp, k)
    statics = s["statics"].filter(pa.array(s["statics_bucket"] == k))
    n_positions = positions.num_rows
    tracks = segment_tracks(positions, config)
    tracks.nearest_place(gaz, _radius_km(config))  # every detector's search, at the largest radius
    events = [port_visits(tracks, gaz, config), loitering(tracks, gaz, config), mmsi_conflicts(tracks, config),
              invalid_identity(statics, positions, config)]
    del positions
    p = tracks.plausible
    silence_us = int(float(config.ais_gap.area_max_silence_h) * 3_600_000_000)
    ts = tracks.rows["ts"]
    cells = inland_cell_vessels(tracks, config)
    # position jumps with this partition's vessel counts per inland cell. On-land rows those counts leave off
    # inland water may be on it by every vessel's counts: their MMSIs and cells go back, and the partition's
    # positions stay on disk until pass 2 has checked them (_pass2_partition)
    pending: list[np.ndarray] = []
    events.append(position_jumps(tracks, coast, config, gazetteer=gaz, cell_vessels=cells, pending=pending))
    rows = np.concatenate(pending) if pending else np.empty(0, np.int64)
    r = tracks.rows
    pending_cells = {"mmsi": r["mmsi"][rows], "cell": inland_cells(r["lat"][rows], r["lon"][rows], config)}
    if not len(rows):
        _delete_partition(tmp, k)
    # AIS gaps up to what needs every vessel (reception, the end of the data in the area), and each vessel's own
    # speeds for the dark port calls
    gaps = gap_candidates(tracks, coast, config)
    with open(tmp / f"gaps-{k}.pickle", "wb") as f:
        pickle.dump((gaps, vessel_speeds_kn(tracks, config, set(np.unique(gaps["mmsi"]).tolist()))), f,
                    protocol=pickle.HIGHEST_PROTOCOL)
    out = {"events": pa.concat_tables([_events(e) for e in events]),
           "grid": grid_counts(tracks, config), "area": area_runs(p["lat"], p["lon"], p["ts_us"], silence_us),
           "cells": cells, "pending": pending_cells, "span": (int(ts.min()), int(ts.max())) if len(ts) else None,
           "n_rows": n_positions}
    # encounter grid points, one file per UTC day, segment codes made unique across partitions
    pts = encounter_points(p, config)
    step_us = int(pts.pop("step_us"))
    out["step_us"] = step_us
    pts["seg"] = pts["seg"] + (np.int64(k) << _SEG_BITS)
    day = (pts["slot"] * step_us) // _US_DAY
    order = stable_order(day - day.min()) if len(day) else np.empty(0, np.int64)
    day_sorted = day[order]
    cuts = np.flatnonzero(np.r_[True, day_sorted[1:] != day_sorted[:-1], True]) if len(day) else np.zeros(1, int)
    table = pa.table({name: _narrow(v)[order] for name, v in pts.items()})
    days = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        d = int(day_sorted[a])
        folder = tmp / "points" / f"day={d}"
        folder.mkdir(parents=True, exist_ok=True)
        _write_arrow(table.slice(a, b - a), folder / f"part-{k}.arrow")
        days.append(d)
    out["days"] = days
    # segment ids, looked up by the encounters found at the end
    _write_arrow(pa.table({"segment_id": pa.array(p["segment_id"].tolist(), pa.string())}),
                 tmp / f"segments-{k}.arrow")
    out["peak_rss_kib"] = _peak_rss_kib()
    return out


# --- pass 2 -------------------------------------------------------------------------------------------------
def _pass2_partition(k: int, pending: dict[str, np.ndarray]) -> tuple[pa.Table, int, np.ndarray]:
    """Partition ``k``'s AIS gaps and dark port calls, and the position jumps of the MMSIs whose ``pending``
    on-land rows (pass 1) lie in cells that every vessel's counts make inland water: those MMSIs' rows are read
    again and segmented on their own (segmentation, like the jumps, is per MMSI). Returns the events, the peak
    memory and the MMSIs done again (their pass 1 jumps are void)."""
    _load_merged()
    s = _STATE
    config, gaz, coast, tmp = s["config"], s["gazetteer"], s["coast"], s["tmp"]
    with open(tmp / f"gaps-{k}.pickle", "rb") as f:
        candidates, speeds = pickle.load(f)
    gaps = gap_events(candidates, s["grid"], config, area=s["area"])
    out = [_events(gaps), _events(dark_port_calls(gaps, gaz, config, speeds=speeds))]
    redo = np.unique(pending["mmsi"][counted_water(s["cells"], pending["cell"], config)])
    if len(redo):
        positions = _read_partition(tmp, k)
        positions = positions.filter(pc.is_in(positions["mmsi"], pa.array(redo, positions.schema.field("mmsi").type)))
        tracks = segment_tracks(positions, config)
        tracks.nearest_place(gaz, _radius_km(config))
        out.append(_events(position_jumps(tracks, coast, config, gazetteer=gaz, cell_vessels=s["cells"])))
    _delete_partition(tmp, k)
    return pa.concat_tables(out), _peak_rss_kib(), redo


def _in_port_place(gazetteer: Gazetteer, config: Config):
    """``place(lat, lon)`` for :func:`~watchkeeper.detect.encounters.adjacency`: the place within
    :func:`~watchkeeper.detect.encounters.in_port_radius_km` of each point, -1 for none (all -1 without a port
    rule). Runs whose points all lie near one place are never encounters."""
    radius = in_port_radius_km(config)
    if radius > 0:
        return lambda lat, lon: gazetteer.nearest(lat, lon, radius)[0]
    return lambda lat, lon: np.full(len(lat), -1, np.int64)


def _pass2_day(day: int, step_us: int) -> tuple[pa.Table, dict[str, np.ndarray], int]:
    """The encounters of one UTC day's grid points (grid step ``step_us``). Runs of adjacent slots wholly inside the
    day become events here (those whose points all lie near one port are skipped: they never are). Runs that touch
    the day's first or last slot may go on in the neighbouring days: their records are written to
    ``edges/day=D.arrow`` and a summary of each (segments, first and last slot, place) goes back, to be joined
    across days. Needs no merged summary: it can start as soon as pass 1 is done."""
    s = _STATE
    step = int(step_us)
    pts = _read_points(s["tmp"], day)
    pts["step_us"] = np.int64(step)
    first_slot, last_slot = -((-day * _US_DAY) // step), ((day + 1) * _US_DAY - 1) // step
    min_duration_h = float(s["config"].encounter.min_duration_h)

    near_one_place = {}

    def select(light):
        # records of runs not wholly near one place (those never are encounters, unless a run touching the day's
        # edge goes on, away from the place, next door), and either touching the day's edges (they may go on
        # next door) or long enough: only these are gathered in full. Runs at an edge wholly near one place are
        # summarised from these few fields alone
        order, starts, ends = run_pieces(light)
        slot = light["slot"][order]
        edge = (slot[starts] == first_slot) | (slot[ends] == last_slot)
        place = run_place(light, order, starts)
        long_ = (slot[ends] - slot[starts]) * step / 3.6e9 >= min_duration_h
        at_place = edge & (place >= 0)
        near_one_place.update(seg_a=light["seg_a"][order][starts][at_place],
                              seg_b=light["seg_b"][order][starts][at_place], lo=slot[starts][at_place],
                              hi=slot[ends][at_place], place=place[at_place])
        keep = np.empty(len(slot), bool)
        keep[order] = np.repeat((place < 0) & (edge | long_), ends - starts + 1)
        return keep

    adj = adjacency(pts, s["config"], place=_in_port_place(s["gazetteer"], s["config"]), select=select)
    del pts
    order, starts, ends = run_pieces(adj)
    slot = adj["slot"][order]
    lo, hi = slot[starts], slot[ends]
    place = run_place(adj, order, starts)  # -1 for every run kept
    edge_run = (lo == first_slot) | (hi == last_slot)
    piece = np.empty(len(slot), np.int64)
    piece[order] = np.repeat(np.arange(len(starts)), ends - starts + 1)

    def records(mask_runs):
        keep = mask_runs[piece]
        return {k: (v[keep] if k != "step_us" else v) for k, v in adj.items()}

    events = _events(encounter_events(records(~edge_run & (place < 0)), _SegmentIds(s["tmp"]), s["gazetteer"],
                                      s["config"]))
    # records of the edge runs, but not of those wholly near one place (in a crowded port, most of them): such a
    # piece counts only if its run goes on, away from that place, in another day; its records are then found again
    # from the day's points (_redo_pieces)
    edge = records(edge_run & (place < 0))
    summary = {"seg_a": adj["seg_a"][order][starts][edge_run], "seg_b": adj["seg_b"][order][starts][edge_run],
               "lo": lo[edge_run], "hi": hi[edge_run], "place": place[edge_run], "piece": np.flatnonzero(edge_run)}
    if near_one_place:  # their records are found again from the points if their run goes on (_redo_pieces)
        n = len(near_one_place["lo"])
        summary = {k: np.r_[v, near_one_place[k] if k != "piece" else np.full(n, -1, np.int64)].astype(np.int64)
                   for k, v in summary.items()}
    summary["day"] = np.full(len(summary["lo"]), day, np.int64)
    if len(edge["slot"]):
        edge["piece"] = piece[(edge_run & (place < 0))[piece]]
        folder = s["tmp"] / "edges"
        folder.mkdir(exist_ok=True)
        _write_arrow(pa.table({k: v for k, v in edge.items() if k != "step_us"}), folder / f"day={day}.arrow")
    return events, summary, _peak_rss_kib()


def _edge_encounters(summaries: list[dict[str, np.ndarray]], tmp: Path, step_us: int, gazetteer: Gazetteer,
                     config: Config) -> pa.Table:
    """Encounters from the runs that touch a day's edge: pieces of consecutive days join into runs; a run too
    short (the duration rule of :func:`~watchkeeper.detect.encounters.encounter_events`) or whose points all lie
    near one place is dropped from its summary alone; the records of the others are read back and judged."""
    su = {k: np.concatenate([x[k] for x in summaries]) for k in summaries[0]}
    if not len(su["lo"]):
        return _events(encounter_events({"slot": np.empty(0, np.int64), "step_us": np.int64(step_us)}, [],
                                        gazetteer, config))
    o = np.lexsort((su["lo"], su["seg_b"], su["seg_a"]))
    su = {k: v[o] for k, v in su.items()}
    new = np.r_[True, (su["seg_a"][1:] != su["seg_a"][:-1]) | (su["seg_b"][1:] != su["seg_b"][:-1])
                | (su["lo"][1:] != su["hi"][:-1] + 1)]
    starts = np.flatnonzero(new)
    run = np.cumsum(new) - 1
    lo, hi = su["lo"][starts], np.maximum.reduceat(su["hi"], starts)
    p_lo, p_hi = np.minimum.reduceat(su["place"], starts), np.maximum.reduceat(su["place"], starts)
    one_place = (p_lo == p_hi) & (p_lo >= 0)
    duration_h = (hi - lo) * step_us / 3.6e9  # as encounter_events computes it
    keep = (duration_h >= config.encounter.min_duration_h) & ~one_place
    kept = keep[run]
    parts = []
    for day in np.unique(su["day"][kept]).tolist():
        of_day = kept & (su["day"] == day)
        written = of_day & (su["place"] < 0)
        if written.any():
            table = _read_arrow(tmp / "edges" / f"day={day}.arrow")
            rec = {name: table[name].to_numpy() for name in table.column_names}
            sel = np.isin(rec["piece"], su["piece"][written])
            parts.append({k: v[sel] for k, v in rec.items()})
        redo = of_day & (su["place"] >= 0)
        if redo.any():
            parts.append(_redo_pieces(tmp, day, {k: su[k][redo] for k in ("seg_a", "seg_b", "lo", "hi")}, step_us,
                                      gazetteer, config))
    if not parts:
        adj = {"slot": np.empty(0, np.int64), "step_us": np.int64(step_us)}
    else:
        adj = {k: np.concatenate([x[k] for x in parts]) for k in parts[0]}
        adj["step_us"] = np.int64(step_us)
    return _events(encounter_events(adj, _SegmentIds(tmp), gazetteer, config))


def _redo_pieces(tmp: Path, day: int, pieces: dict[str, np.ndarray], step_us: int, gazetteer: Gazetteer,
                 config: Config) -> dict[str, np.ndarray]:
    """The adjacency records of run pieces of one day that were not written (wholly near one place), found again
    from the day's grid points of their segments only: the same pairs, since a pair depends on its two points."""
    segs = np.unique(np.r_[pieces["seg_a"], pieces["seg_b"]])
    pts = _read_points(tmp, day, segs)
    pts["step_us"] = np.int64(step_us)
    adj = adjacency(pts, config, place=_in_port_place(gazetteer, config))
    keep = np.zeros(len(adj["slot"]), bool)
    for sa, sb, lo, hi in zip(*(pieces[k].tolist() for k in ("seg_a", "seg_b", "lo", "hi"))):
        keep |= (adj["seg_a"] == sa) & (adj["seg_b"] == sb) & (adj["slot"] >= lo) & (adj["slot"] <= hi)
    out = {k: v[keep] for k, v in adj.items() if k != "step_us"}
    out["piece"] = np.full(int(keep.sum()), -1, np.int64)
    return out


def _edge_task(summaries: list[dict[str, np.ndarray]]) -> pa.Table:
    """:func:`_edge_encounters` in a worker (or this process with one worker)."""
    _load_merged()
    s = _STATE
    return _edge_encounters(summaries, s["tmp"], int(s["step_us"]), s["gazetteer"], s["config"])


class _SegmentIds:
    """``ids[code]``: the segment id of a global segment code, read per partition on first use."""

    def __init__(self, tmp: Path):
        self.tmp, self.parts = tmp, {}

    def __getitem__(self, code: int) -> str:
        k, seg = int(code) >> _SEG_BITS, int(code) & ((1 << _SEG_BITS) - 1)
        if k not in self.parts:
            self.parts[k] = _read_arrow(self.tmp / f"segments-{k}.arrow")["segment_id"].to_pylist()
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


def _keep_freed_memory() -> bool:
    """In a worker process: reuse freed memory instead of handing it back to the system after each array.

    By default glibc's allocator maps every block above a dynamic threshold (a few MB: each column of a
    partition) afresh and unmaps it when freed, Arrow's allocator gives its pages back after a few milliseconds,
    and NumPy asks for transparent huge pages on large arrays; so every partition's arrays are faulted in and
    zeroed by the kernel again, with page compaction on top. On the benchmark's 5M-position store that system time
    was about a third of the workers' CPU time. Here blocks up to 32 MiB come from the heap, freed memory up to
    1 GiB stays in it (a worker's resident memory then stays near its peak, which does not grow with the store),
    Arrow allocates from that heap too, and NumPy's huge-page advice is off. Best effort: nothing changes where
    the C library is not glibc. Returns whether the allocator was set."""
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # glibc only: mallopt's parameters below are glibc's
        ok = libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20) == 1 and libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30) == 1
    except (OSError, AttributeError):
        return False
    if not ok:
        return False
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # pragma: no cover - NumPy < 2
        from numpy.core.multiarray import _set_madvise_hugepage
    _set_madvise_hugepage(False)
    return True


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def _init_pool_worker(state: dict) -> None:
    """:func:`_init_worker` in a process of the pool, its allocator set to keep freed memory first, the objects it
    inherits (modules, gazetteer, coastline) left out of the garbage collector's full passes, and the collector run
    rarely (:data:`~watchkeeper.engines.GC_THRESHOLDS`)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    _keep_freed_memory()
    _init_worker(state)


def _init_worker(state: dict) -> None:
    """Worker set-up: the shared state, with the default gazetteer and coastline the fork server preloaded."""
    from watchkeeper.engines import _preload

    _STATE.clear()
    _STATE.update(state)
    if state.get("numba_threads"):  # the workers share the CPUs: parallel kernels get their share of them
        import numba

        numba.set_num_threads(max(1, min(int(state["numba_threads"]), numba.config.NUMBA_NUM_THREADS)))
    if _STATE.get("gazetteer") is None:
        _STATE["gazetteer"] = _preload.gazetteer()
    if _STATE.get("coast") is None:
        _STATE["coast"] = _preload.coast()


def _load_merged() -> None:
    """Pass 2's inputs (the merged summaries), read once per worker."""
    if "grid" not in _STATE:
        with open(_STATE["tmp"] / "merged.pickle", "rb") as f:
            _STATE.update(pickle.load(f))


def openmp_started() -> bool:
    """Whether a parallel Numba kernel has run in this process (its OpenMP threads make forking it unsafe)."""
    try:
        from numba.np.ufunc import parallel
    except ImportError:  # pragma: no cover - a Numba without the module: assume the worst
        return True
    return bool(getattr(parallel, "_is_initialized", True))


def _pool(workers: int, n_tasks: int, state: dict):
    """``workers`` processes (at most one per task). This process is forked when no parallel Numba kernel has run
    in it yet (the command line's case: workers inherit everything loaded); otherwise the workers come from a fork
    server, a fresh interpreter that has preloaded the modules and the default gazetteer and coastline, because
    forking a process in which OpenMP threads have run is unsafe."""
    if workers <= 1 or n_tasks <= 1:
        _init_worker(state)
        return _InProcess()
    if not openmp_started():  # keep in step with detect_partitioned
        from watchkeeper.engines import _preload

        state = {**state, "gazetteer": state.get("gazetteer") or _preload.gazetteer(),
                 "coast": state.get("coast") or _preload.coast()}
        ctx = multiprocessing.get_context("fork")
    else:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["watchkeeper.engines._forkserver"])
    n = min(workers, n_tasks)
    state = {**state, "numba_threads": max(1, default_workers() // n)}
    return ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_pool_worker,
                               initargs=(state,))


@rare_collections()
def detect_partitioned(store, statics: pa.Table, config: Config, *, gazetteer: Gazetteer | None = None,
                       coast: Coast | None = None, n_parts: int, workers: int) -> tuple[pa.Table, int]:
    """Every detector over ``store`` in ``n_parts`` partitions of the vessels with ``workers`` processes.

    ``gazetteer`` and ``coast`` default to the vendored ones (preloaded once by the workers' fork server; others
    are sent to every worker).

    Returns ``(events, n_positions)``: the events in the local engine's order
    (:func:`watchkeeper.engines.local.detect_all` gives the same table) and the number of positions read.
    """
    for stale in store.root.glob("_detect-*"):  # left by a run that was killed (the store admits one process)
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix="_detect-", dir=store.root))
    silence_us = int(float(config.ais_gap.area_max_silence_h) * 3_600_000_000)
    _mark("start")
    try:
        state = {"config": config, "gazetteer": gazetteer, "coast": coast, "tmp": tmp, "n_parts": n_parts,
                 "statics": statics, "statics_bucket": _bucket_of(statics["mmsi"], n_parts)}
        fork = workers > 1 and n_parts > 1 and not openmp_started()
        files = _store_files(store)
        n_tasks = max(1, min(workers, len(files)))
        if fork:
            from watchkeeper.engines import _preload

            state["gazetteer"] = gazetteer or _preload.gazetteer()
            state["coast"] = coast or _preload.coast()
        with contextlib.ExitStack() as stack:
            pool = stack.enter_context(_pool(workers, n_tasks if fork else n_parts, state))
            # the shuffle in parallel: each task splits a share of the files of about equal bytes
            jobs = [pool.submit(_shuffle, share, t) for t, share in enumerate(_shares(files, n_tasks))]
            if fork:  # meanwhile this process loads the kernels and search structures the workers would each load
                _preload.warm(state["gazetteer"], config)
            for j in jobs:
                j.result()
            _mark("shuffle")
            if fork:  # the workers of the passes, forked from this warm process
                stack.close()
                pool = stack.enter_context(_pool(workers, n_parts, state))
            # the largest partitions first, so that the pass does not end on a large one
            part_bytes = [sum(f.stat().st_size for f in _partition_files(tmp, k)) for k in range(n_parts)]
            by_part = {k: pool.submit(_pass1, k) for k in sorted(range(n_parts), key=lambda k: (-part_bytes[k], k))}
            first = [by_part[k].result() for k in range(n_parts)]
            _mark("pass 1")
            # the days first (they need no merged summary; the longest, by grid-point bytes, first), then the
            # partitions, so that no worker is left with a long task at the end while the other waits
            days = sorted({d for r in first for d in r["days"]})
            size = {d: sum(f.stat().st_size for f in (tmp / "points" / f"day={d}").iterdir()) for d in days}
            by_day = {d: pool.submit(_pass2_day, d, first[0]["step_us"])
                      for d in sorted(days, key=lambda d: (-size[d], d))}
            day_jobs = [by_day[d] for d in days]
            cells = np.concatenate([r["cells"][0] for r in first])
            counts = np.concatenate([r["cells"][1] for r in first])
            u_cells, inv = np.unique(cells, return_inverse=True)
            merged = {"grid": grid_from_counts([r["grid"] for r in first], config),
                      "area": merge_area_runs([r["area"] for r in first], silence_us),
                      "cells": (u_cells, np.bincount(inv, weights=counts, minlength=len(u_cells)).astype(np.int64)),
                      "step_us": first[0]["step_us"]}
            with open(tmp / "merged.pickle", "wb") as f:
                pickle.dump(merged, f, protocol=pickle.HIGHEST_PROTOCOL)
            part_jobs = [pool.submit(_pass2_partition, k, first[k]["pending"]) for k in range(n_parts)]
            days_out = [j.result() for j in day_jobs]
            worker_rss = [r["peak_rss_kib"] for r in first] + [r[2] for r in days_out]
            day_events = [r[0] for r in days_out]
            edge_runs = [r[1] for r in days_out]
            del days_out
            _mark("pass 2 days")
            # in a worker: its gazetteer search structures are built and its kernels loaded already; queued now, it
            # runs beside the last partitions
            edge_job = pool.submit(_edge_task, edge_runs) if edge_runs else None
            second = [j.result() for j in part_jobs]
            worker_rss += [r[1] for r in second]
            for r, (_, _, redo) in zip(first, second):  # jumps done again in pass 2
                if len(redo):
                    ev = r["events"]
                    void = pc.and_(pc.equal(ev["type"], "position_jump"),
                                   pc.is_in(ev["mmsi"], pa.array(redo, ev.schema.field("mmsi").type)))
                    r["events"] = ev.filter(pc.invert(void))
            second = [r[0] for r in second]
            _mark("pass 2 partitions")
            edge_events = edge_job.result() if edge_job is not None else None
            _mark("encounters across days")
        _mark("workers closed")
        spans = [r["span"] for r in first if r["span"] is not None]
        per_vessel = pa.concat_tables([pa.concat_tables([r["events"] for r in first]), *second])
        is_call = pc.is_in(per_vessel["type"], pa.array(["port_visit", "dark_port_call"]))
        span = (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else (None, None)
        parts = [per_vessel, *day_events,
                 _events(activity_surges(per_vessel.filter(is_call), config, data_start=span[0], data_end=span[1])),
                 _events(identity_change(statics, config))]
        _mark("surges, identity changes")
        if edge_events is not None:
            parts.append(edge_events)
        events = pa.concat_tables(parts)
        events = events.sort_by([("mmsi", "ascending"), ("start", "ascending"), ("type", "ascending"),
                                 ("event_id", "ascending")])
        _mark("finish")
        LAST_RUN.update(partitions=n_parts, workers=workers, forked=fork, worker_peak_rss_kib=max(worker_rss),
                        parent_peak_rss_kib=_peak_rss_kib())
        LAST_RUN.pop("_t", None)
        return events, sum(r["n_rows"] for r in first)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StoreError(f"no space left for the partitioned engine's temporary files ({e.strerror})",
                             where=str(store.root),
                             fix="free disk space where the store is (about 90 bytes per position are needed "
                                 "while detecting), or detect in one process with --partition-rows larger than "
                                 "the store's positions") from None
        raise
    finally:
        _STATE.clear()
        shutil.rmtree(tmp, ignore_errors=True)


# Statistics of the last run in this process: seconds per step and the workers' peak memory (read by bench/).
LAST_RUN: dict = {}


def _mark(step: str) -> None:
    """Record (and log at DEBUG, logger ``watchkeeper.engines``) the seconds since the previous mark."""
    import logging
    import time

    now = time.perf_counter()
    if step == "start":
        LAST_RUN.clear()
        LAST_RUN.update(steps_s={}, _t=now)
        return
    LAST_RUN["steps_s"][step] = round(now - LAST_RUN["_t"], 3)
    logging.getLogger("watchkeeper.engines").debug("%s: %.2f s", step, now - LAST_RUN["_t"])
    LAST_RUN["_t"] = now


def _peak_rss_kib() -> int:
    """This process's peak resident memory (``VmHWM``), KiB; -1 where unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1
