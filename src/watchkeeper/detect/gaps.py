"""AIS gaps: silences between consecutive positions of a segment, scored against reception estimated from the data.

Rules (thresholds of ``[ais_gap]`` and ``[reception]`` in :mod:`watchkeeper.config`), per segment in time order
(implausible rows left out), so two transmitters sharing an MMSI are never mixed into one gap:

* Every silence of at least ``min_gap_h`` between consecutive positions is one event from the last position before
  to the first after; UTC midnight plays no part.
* The *open gap*: when a segment's last position is at least ``min_gap_h`` before the end of the data and no other
  segment of the same MMSI reports later, the event runs to the end of the data with ``details.open = true`` and no
  end position. The end of the data is ``data_end`` when given, else the end of the data *where the vessel was last
  seen*: in the 5-degree cell of its last position and the eight around it, the end of the run of positions of
  any vessel that contains that time, a run ending where the cell's data falls silent for more than
  ``area_max_silence_h``. So a store that mixes areas or years does not give a vessel a silence up to the last time
  of another area or period.
* Reception along the straight path between the gap's ends comes from :func:`watchkeeper.geo.reception.path_reception`
  (an open gap uses the last position throughout). ``expected_positions`` is what that reception and the vessel's
  class and speed (implied speed over the gap; last reported speed for an open gap) would have produced.
* ``likely_intentional`` = min(1, ln P(silence) / ln ``max_silence_probability``): 1 when receiving nothing was
  less likely than the threshold, 0 where no reception is known (cells with less than ``min_presence_h`` of vessel
  presence, e.g. off the DPRK coast). It is also the event's ``confidence``.
* ``high_confidence`` (GFW's conservative tier): duration >= ``high_confidence_gap_h``, start at least
  ``high_confidence_shore_distance_nm`` from shore and >= ``pre_gap_min_positions`` positions in the
  ``pre_gap_window_h`` before the gap.

Limitation: a silence longer than ``tracks.max_silence_h`` (two weeks by default) closes the segment, so it is
not a gap here.

:func:`ais_gaps` is :func:`gap_candidates` (what a gap takes from its own track) followed by :func:`gap_events`
(what it takes from every vessel's data: the reception and the end of the data in the area); the partitioned
engine runs the first per partition and the second once the summaries of all partitions are merged.
"""

from __future__ import annotations

import collections

import numpy as np
import pyarrow as pa
from numba import njit

from watchkeeper.config import Config
from watchkeeper.detect.events import events_from_columns, make_events, rounded
from watchkeeper.geo.coast import Coast
from watchkeeper.geo.reception import path_reception, reception_grid, track_arrays
from watchkeeper.geo.sphere import haversine_km

VERSION = "ais_gap/1"
_US_H = 3_600_000_000
_KM_PER_NM = 1.852


AREA_CELL_DEG = 5  # cells of the "end of the data here" lookup; with their neighbours about +-800 km


_N_AREA_CELLS = (180 // AREA_CELL_DEG) * (360 // AREA_CELL_DEG)


@njit(cache=True)
def _area_cell_kernel(lat, lon, n_lat, n_lon, size):
    cell = np.empty(lat.shape[0], np.int64)
    for i in range(lat.shape[0]):
        r = min(max(np.int64(np.floor((lat[i] + 90) / size)), 0), n_lat - 1)
        cell[i] = r * n_lon + np.int64(np.floor((lon[i] + 180) / size)) % n_lon
    return cell


def _area_cell(lat, lon) -> np.ndarray:
    """``lat_i * columns + lon_i`` of :func:`_area_cells`; one compiled pass for coordinates of plausible size."""
    lat, lon = np.asarray(lat, np.float64), np.asarray(lon, np.float64)
    if len(lat) and np.abs(lat).max() < 1e6 and np.abs(lon).max() < 1e6:  # NaN fails both tests
        return _area_cell_kernel(lat, lon, 180 // AREA_CELL_DEG, 360 // AREA_CELL_DEG, float(AREA_CELL_DEG))
    lat_i, lon_i = _area_cells(lat, lon)
    return lat_i * (360 // AREA_CELL_DEG) + lon_i


def _area_cells(lat, lon):
    n_lat, n_lon = 180 // AREA_CELL_DEG, 360 // AREA_CELL_DEG
    lat_i = np.clip(np.floor((lat + 90) / AREA_CELL_DEG).astype(np.int64), 0, n_lat - 1)
    lon_i = np.floor((lon + 180) / AREA_CELL_DEG).astype(np.int64) % n_lon
    return lat_i, lon_i


def area_runs(lat, lon, t, max_silence_us: int) -> dict[str, np.ndarray]:
    """The runs of data of each ``AREA_CELL_DEG`` cell: per cell, the spans of its positions (of any vessel) that
    no silence longer than ``max_silence_us`` interrupts, as arrays ``cell``, ``start`` and ``end`` (microseconds)
    sorted by cell and start. Runs of disjoint sets of positions merge with :func:`merge_area_runs` into the runs
    of their union."""
    cell = _area_cell(lat, lon)
    t = np.asarray(t, np.int64)
    runs = _area_runs_by_bucket(cell, t, int(max_silence_us))
    if runs is not None:
        return runs
    if len(t) and int(t.max()) - int(t.min()) < (1 << 50):  # (cell, time) as one int64 key: one argsort
        order = np.argsort((cell << 50) | (t - t.min()))
    else:
        order = np.lexsort((t, cell))
    c_sorted, t_sorted = cell[order], t[order]
    if not len(t_sorted):
        return {"cell": np.empty(0, np.int64), "start": np.empty(0, np.int64), "end": np.empty(0, np.int64)}
    brk = np.flatnonzero(np.r_[True, (c_sorted[1:] != c_sorted[:-1]) | (np.diff(t_sorted) > max_silence_us)])
    return {"cell": c_sorted[brk], "start": t_sorted[brk], "end": np.maximum.reduceat(t_sorted, brk)}


@njit(cache=True)
def _bucket_spans(code, t, t0, width_us, n_buckets, n_slots):
    """Earliest and latest time of each (cell code, time bucket) slot, ``code * n_buckets + bucket``."""
    lo = np.full(n_slots, np.iinfo(np.int64).max, np.int64)
    hi = np.full(n_slots, np.iinfo(np.int64).min, np.int64)
    for i in range(t.shape[0]):
        k = code[i] * n_buckets + (t[i] - t0) // width_us
        if t[i] < lo[k]:
            lo[k] = t[i]
        if t[i] > hi[k]:
            hi[k] = t[i]
    return lo, hi


def _area_runs_by_bucket(cell: np.ndarray, t: np.ndarray, max_silence_us: int) -> dict[str, np.ndarray] | None:
    """:func:`area_runs` without sorting the positions: the span (earliest, latest time) of each cell's positions in
    each time bucket ``max_silence_us`` long is enough, because two positions of one bucket are never further
    apart than the silence that breaks a run, and between buckets the silence is the next non-empty bucket's
    earliest time minus this one's latest. ``None`` when the (cell, bucket) table would be large (a long span of
    data in one call): :func:`area_runs` then sorts."""
    if not len(t) or max_silence_us <= 0:
        return None
    t0 = int(t.min())
    n_buckets = (int(t.max()) - t0) // max_silence_us + 1
    used = np.flatnonzero(np.bincount(cell, minlength=_N_AREA_CELLS))
    if len(used) * n_buckets > 4 * len(t) + (1 << 20):
        return None
    lut = np.zeros(_N_AREA_CELLS, np.int64)
    lut[used] = np.arange(len(used))
    code = lut[cell]
    lo, hi = _bucket_spans(code, t, t0, max_silence_us, n_buckets, len(used) * n_buckets)
    slot = np.flatnonzero(hi >= lo)  # non-empty, in (cell, time) order
    c, start, end = used[slot // n_buckets], lo[slot], hi[slot]
    brk = np.flatnonzero(np.r_[True, (c[1:] != c[:-1]) | (start[1:] - end[:-1] > max_silence_us)])
    return {"cell": c[brk], "start": start[brk], "end": np.maximum.reduceat(end, brk)}


def merge_area_runs(parts: list[dict[str, np.ndarray]], max_silence_us: int) -> dict[str, np.ndarray]:
    """The runs of :func:`area_runs` over the union of the positions of ``parts`` (each the runs of a disjoint
    set of positions): runs of a cell closer than ``max_silence_us`` join."""
    cell = np.concatenate([p["cell"] for p in parts])
    start = np.concatenate([p["start"] for p in parts])
    end = np.concatenate([p["end"] for p in parts])
    if not len(cell):
        return {"cell": cell, "start": start, "end": end}
    order = np.lexsort((start, cell))
    cell, start, end = cell[order], start[order], end[order]
    # running end of the data so far in each cell: a run starts a new one when it begins after that plus the silence
    grp = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
    run_end = end.copy()
    for g0, g1 in zip(grp, np.r_[grp[1:], len(cell)]):
        run_end[g0:g1] = np.maximum.accumulate(end[g0:g1])
    brk = np.flatnonzero(np.r_[True, (cell[1:] != cell[:-1]) | (start[1:] - run_end[:-1] > max_silence_us)])
    return {"cell": cell[brk], "start": start[brk], "end": np.maximum.reduceat(end, brk)}


def area_data_end(runs: dict[str, np.ndarray], lat, lon, t, max_silence_us: int) -> np.ndarray:
    """End of the data where each position (``lat``, ``lon`` at ``t``) was seen, from the :func:`area_runs` of
    all positions: in its ``AREA_CELL_DEG`` cell and the eight around it, the end of the run that contains that
    time, followed from cell to cell while the data goes on without a silence longer than ``max_silence_us`` (a
    run can pass from one cell to the next, as the traffic moves). So data of another period in the same area
    (another year's file in one store) does not extend the vessel's silence."""
    n_lat, n_lon = 180 // AREA_CELL_DEG, 360 // AREA_CELL_DEG
    lat_i, lon_i = _area_cells(np.asarray(lat, np.float64), np.asarray(lon, np.float64))
    r_cell, r_start, r_end = runs["cell"], runs["start"], runs["end"]
    cells = [np.clip(lat_i + dlat, 0, n_lat - 1) * n_lon + (lon_i + dlon) % n_lon
             for dlat in (-1, 0, 1) for dlon in (-1, 0, 1)]
    out = np.asarray(t, np.int64).copy()
    if not len(r_cell) or not len(out):
        return out
    # runs keyed by (cell, start second) for one searchsorted per lookup; seconds fit 34 bits for 500 years
    base_s = int(r_start.min() // 1_000_000)
    r_key = (r_cell << 34) | (r_start // 1_000_000 - base_s)
    for _ in range(1000):
        new = out.copy()
        horizon_s = np.clip((out + max_silence_us) // 1_000_000 - base_s, -1, (1 << 34) - 1)
        for c in cells:
            # the last run of the cell that starts by the horizon: it holds the cell's last position by then
            j = np.searchsorted(r_key, (c << 34) | np.maximum(horizon_s, 0), side="right") - 1
            jj = np.maximum(j, 0)
            ok = (j >= 0) & (horizon_s >= 0) & (r_cell[jj] == c) & (r_end[jj] > new)
            new = np.where(ok, r_end[jj], new)
        if np.array_equal(new, out):
            break
        out = new
    return out


def ais_gaps(segmented: pa.Table, grid: pa.Table | None = None, coast: Coast | None = None,
             config: Config | None = None, data_end=None, area: dict[str, np.ndarray] | None = None) -> pa.Table:
    """AIS gap events of every segment.

    Parameters
    ----------
    segmented
        Rows of ``SEGMENTED_POSITIONS`` (output of ``segment()``).
    grid
        Reception grid of :func:`watchkeeper.geo.reception.reception_grid`; built from ``segmented`` when ``None``.
    coast
        For distances from shore; :meth:`Coast.default` when ``None``.
    config
        Thresholds; the defaults when ``None``.
    data_end
        End of the data for the open gap (integer microseconds or an aware datetime); the latest position when
        ``None``.
    area
        The :func:`area_runs` of every vessel's positions, for the end of the data where a vessel was last seen;
        computed from ``segmented`` when ``None`` (the partitioned engine passes the runs of the whole store).

    Returns
    -------
    pyarrow.Table
        :data:`~watchkeeper.schema.EVENTS` of type ``ais_gap``: ``lat``/``lon`` the start position, details
        ``duration_h``, ``distance_km``, ``implied_speed_kn``, ``start_lat``, ``start_lon``, ``end_lat``,
        ``end_lon``, ``distance_from_shore_km`` (at the start), ``start_distance_from_shore_km``,
        ``end_distance_from_shore_km``, ``expected_positions``, ``reception_known_fraction``,
        ``hour_reception``, ``p_silence``, ``likely_intentional``, ``n_positions_before``, ``high_confidence``,
        ``open``; refs to the last position before (first) and the first after (last).
    """
    config = config or Config()
    c = track_arrays(segmented)
    if not len(c["ts_us"]):
        return make_events([], config_sha256=config.sha256(), detector_version=VERSION)
    grid = reception_grid(segmented, config) if grid is None else grid
    if area is None and data_end is None:
        silence_us = int(float(config.ais_gap.area_max_silence_h) * _US_H)
        area = area_runs(c["lat"], c["lon"], c["ts_us"], silence_us)
    return gap_events(gap_candidates(segmented, coast, config), grid, config, data_end=data_end, area=area)


_CANDIDATE_FIELDS = ("mmsi", "t0", "t1", "lat0", "lon0", "lat1", "lon1", "speed0_kn", "class_b0", "anchored0",
                     "shore0_km", "shore1_km", "n_before", "open", "track_id", "source_id0", "line0", "source_id1",
                     "line1")


def gap_candidates(segmented, coast: Coast | None = None, config: Config | None = None) -> dict[str, np.ndarray]:
    """The part of :func:`ais_gaps` that needs only the vessels' own tracks: every silence of at least
    ``min_gap_h`` between consecutive positions of a segment, and the possible open gap after each MMSI's last
    position, with all they need from the track (positions, speed, class, distances from shore, the positions
    before the gap, the references). :func:`gap_events` turns them into events with the reception of all
    vessels. Arrays of one row per candidate (:data:`_CANDIDATE_FIELDS`); ``t1`` of an open one is its last time.
    """
    config = config or Config()
    cfg = config.ais_gap
    c = track_arrays(segmented)
    t = c["ts_us"]
    if not len(t):
        return {k: np.empty(0, np.int64) for k in _CANDIDATE_FIELDS}
    coast = coast or Coast.default()
    min_us = float(cfg.min_gap_h) * _US_H
    seg = c["seg"]
    a = np.flatnonzero((seg[1:] == seg[:-1]) & ((t[1:] - t[:-1]) >= min_us))
    # possible open gaps: a segment's last row with no later row of its MMSI (whether the data goes on long
    # enough after it depends on every vessel: gap_events)
    last = c["bounds"][1:] - 1
    mm = c["mmsi"]
    if (mm[1:] >= mm[:-1]).all():  # rows by segment, segments by MMSI: each MMSI's rows lie together
        first_of = np.flatnonzero(np.r_[True, mm[1:] != mm[:-1]])
        u_code = np.cumsum(np.r_[False, mm[1:] != mm[:-1]])
        mmsi_last = np.maximum.reduceat(t, first_of)  # latest time per MMSI
    else:
        u_mmsi, u_code = np.unique(mm, return_inverse=True)
        mmsi_last = np.full(len(u_mmsi), np.iinfo(np.int64).min, np.int64)
        np.maximum.at(mmsi_last, u_code, t)
    o = last[mmsi_last[u_code[last]] == t[last]]
    i0, i1 = np.r_[a, o], np.r_[a + 1, o]
    lat0, lon0, lat1, lon1 = c["lat"][i0], c["lon"][i0], c["lat"][i1], c["lon"][i1]
    n_before = np.empty(len(i0), np.int64)
    window_us = float(cfg.pre_gap_window_h) * _US_H
    for k, s in enumerate(i0.tolist()):
        lo = int(c["bounds"][seg[s]])
        n_before[k] = s + 1 - (lo + int(np.searchsorted(t[lo:s + 1], t[s] - window_us)))
    return {"mmsi": mm[i0], "t0": t[i0], "t1": t[i1], "lat0": lat0, "lon0": lon0, "lat1": lat1, "lon1": lon1,
            "speed0_kn": c["speed_kn"][i0], "class_b0": c["class_b"][i0], "anchored0": c["anchored"][i0],
            "shore0_km": coast.distance_to_shore_km(lat0, lon0), "shore1_km": coast.distance_to_shore_km(lat1, lon1),
            "n_before": n_before, "open": np.r_[np.zeros(len(a), bool), np.ones(len(o), bool)],
            "track_id": c["track_id"][seg[i0]].astype(str), "source_id0": c["source_id"][i0], "line0": c["line"][i0],
            "source_id1": c["source_id"][i1], "line1": c["line"][i1]}


def gap_events(cand: dict[str, np.ndarray], grid: pa.Table, config: Config | None = None, data_end=None,
               area: dict[str, np.ndarray] | None = None) -> pa.Table:
    """The ``ais_gap`` events of :func:`gap_candidates` ``cand``, scored against the reception ``grid``. An open
    candidate is a gap when the data goes on at least ``min_gap_h`` after it: until ``data_end`` when given, else
    until the end of the data around it (:func:`area_data_end` of the :func:`area_runs` ``area`` of every
    vessel)."""
    from watchkeeper.detect.events import to_us

    config = config or Config()
    cfg = config.ais_gap
    min_us = float(cfg.min_gap_h) * _US_H
    cand = dict(cand)
    op = cand["open"].astype(bool)
    o = np.flatnonzero(op)
    if data_end is None:  # the end of the data where the vessel was last seen, not of the whole store
        silence_us = int(float(cfg.area_max_silence_h) * _US_H)
        o_end = area_data_end(area, cand["lat0"][o], cand["lon0"][o], cand["t0"][o], silence_us)
    else:
        o_end = np.full(len(o), to_us(data_end), np.int64)
    keep = ~op
    keep[o[o_end - cand["t0"][o] >= min_us]] = True
    t1 = cand["t1"].astype(np.int64, copy=True)
    t1[o] = o_end
    cand["t1"] = t1
    cand = {k: v[keep] for k, v in cand.items()}
    mm, t0, t1, openf = cand["mmsi"], cand["t0"], cand["t1"], cand["open"].astype(bool)
    lat0, lon0, lat1, lon1 = cand["lat0"], cand["lon0"], cand["lat1"], cand["lon1"]
    dur_h = (t1 - t0) / _US_H
    dist = haversine_km(lat0, lon0, lat1, lon1)
    implied = dist / _KM_PER_NM / np.maximum(dur_h, 1e-12)
    speed = np.where(openf, cand["speed0_kn"], implied)
    rec = path_reception(grid, lat0, lon0, lat1, lon1, t0, t1, cand["class_b0"], speed, cand["anchored0"], config)
    score = np.clip(rec["log_p_silence"] / np.log(float(cfg.max_silence_probability)), 0.0, 1.0)
    shore0, shore1 = cand["shore0_km"], cand["shore1_km"]

    r = {name: rounded(v) for name, v in (
        ("duration_h", dur_h), ("distance_km", dist), ("implied_speed_kn", implied), ("start_lat", lat0),
        ("start_lon", lon0), ("end_lat", lat1), ("end_lon", lon1), ("shore0", shore0), ("shore1", shore1),
        ("expected_positions", rec["expected_positions"]), ("reception_known_fraction", rec["known_fraction"]),
        ("hour_reception", rec["hour_reception"]), ("likely_intentional", score),
        ("p_silence", np.exp(rec["log_p_silence"])))}
    open_l = openf.tolist()

    def closed(values):  # null for an open gap
        return [None if o else v for o, v in zip(open_l, values)]

    n_before = cand["n_before"].astype(np.int64)
    high = ((dur_h >= cfg.high_confidence_gap_h)
            & (shore0 >= float(cfg.high_confidence_shore_distance_nm) * _KM_PER_NM)
            & (n_before >= cfg.pre_gap_min_positions))
    seg_ids = [str(x) for x in cand["track_id"].tolist()]
    # the segment goes into the id only where two gaps of one MMSI share their start and end (two segments)
    keys = list(zip(mm.tolist(), t0.tolist(), t1.tolist()))
    count = collections.Counter(keys)
    shared = [count[k] > 1 for k in keys]
    return events_from_columns(
        "ais_gap", mmsi=mm, start_us=t0, end_us=t1, lat=lat0, lon=lon0, confidence=score,
        details={"duration_h": r["duration_h"], "open": openf, "distance_km": closed(r["distance_km"]),
                 "implied_speed_kn": closed(r["implied_speed_kn"]), "start_lat": r["start_lat"],
                 "start_lon": r["start_lon"], "end_lat": closed(r["end_lat"]), "end_lon": closed(r["end_lon"]),
                 "distance_from_shore_km": r["shore0"], "start_distance_from_shore_km": r["shore0"],
                 "end_distance_from_shore_km": closed(r["shore1"]), "expected_positions": r["expected_positions"],
                 "reception_known_fraction": r["reception_known_fraction"], "hour_reception": r["hour_reception"],
                 "p_silence": r["p_silence"], "likely_intentional": r["likely_intentional"],
                 "n_positions_before": n_before, "high_confidence": high},
        refs=[("first", mm, cand["source_id0"], cand["line0"], None),
              ("last", mm, cand["source_id1"], cand["line1"], ~openf)],
        n_positions=np.where(openf, 1, 2), segment_id=seg_ids,
        id_extra={"segment": [x if s else None for x, s in zip(seg_ids, shared)]}, config_sha256=config.sha256(),
        detector_version=VERSION)
