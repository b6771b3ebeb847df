"""Encounters: two vessels side by side, slow, away from ports, for a long time (a transfer at sea).

Rules (thresholds of ``[encounter]`` in :mod:`watchkeeper.config`; Global Fishing Watch's definition):

* Every segment with at least ``tracks.min_segment_positions`` positions (implausible rows left out) is resampled
  onto one global time grid of step ``resample_interval_min``, aligned on the Unix epoch, so all vessels share
  the same instants and UTC midnight plays no part (no loss at day boundaries, GFW's known flaw). A grid instant
  between two consecutive positions at most ``max_interpolation_gap_h`` apart gets the linearly interpolated
  position; across a longer silence only instants that coincide with a position are kept, so the silence breaks
  adjacency. The speed of a grid point is the reported SOG interpolated between the two positions when both
  have it, else the implied speed between them.
* Each grid point is hashed into (grid slot, 3-D cell of the Earth-centred unit-sphere coordinates, cell edge
  ``max(max_distance_m, 50 m)``); only points of the same slot in the same or one of the 26 neighbouring cells
  are compared, so the search is linear in the number of points (no pairwise loop, no trouble at the
  antimeridian or the poles). Points of the same MMSI are never paired (neither two segments of one MMSI).
* A pair of points at most ``max_distance_m`` apart (great circle) is adjacent. Consecutive grid slots in which
  the same two segments are adjacent form a run; a run is an encounter when it lasts at least ``min_duration_h``
  (from its first to its last slot), the median speed of each vessel over it is below ``max_median_speed_kn``, and
  its median location is at least ``min_port_distance_km`` from every port and anchorage of the gazetteer. A queue
  of ships at anchor therefore gives encounters only between ships that really lie within the distance.

Each encounter is two mirrored rows, one per vessel (``mmsi`` the vessel, ``other_mmsi`` its partner), ``start``/``end`` the first and last grid
instant of the run, ``lat``/``lon`` the median midpoint, ``confidence`` = min(1, 0.5 x duration /
``min_duration_h``), and refs to the positions bracketing the run for each vessel. Resampling, hashing and the
pair search are compiled (numba) passes over sorted arrays.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from watchkeeper.config import Config
from watchkeeper.detect.events import make_events
from watchkeeper.detect.port_visits import track_arrays
from watchkeeper.geo.gazetteer import Gazetteer
from watchkeeper.geo.sphere import EARTH_RADIUS_KM, haversine_km_scalar
from watchkeeper.tracks.arrays import key_order, run_rows, stable_order

VERSION = "encounter/1"
KM_PER_NM = 1.852
MIN_CELL_KM = 0.05  # 21 bits per axis cover the Earth's diameter down to ~6 m cells; this keeps a wide margin
_BITS = 21
_OFFSET = 1 << (_BITS - 1)


@njit(cache=True)
def _resample(bounds, ts_us, lat, lon, speed_kn, step_us, max_gap_us, min_positions, fill,
              o_seg, o_slot, o_lat, o_lon, o_speed, o_left, o_right):
    """Grid points of every segment; with ``fill`` False only count them. Returns the number of points."""
    k = 0
    for s in range(bounds.shape[0] - 1):
        lo, hi = bounds[s], bounds[s + 1]
        if hi - lo < min_positions:
            continue
        for i in range(lo, hi):
            t0 = ts_us[i]
            first_slot = -((-t0) // step_us)  # ceil
            if i + 1 < hi and ts_us[i + 1] - t0 <= max_gap_us:
                j = i + 1
                t1 = ts_us[j]
                last_slot = (t1 - 1) // step_us  # the slots in [t0, t1)
                if last_slot < first_slot:
                    continue
                if fill:
                    dt = float(t1 - t0)
                    sog0, sog1 = speed_kn[i], speed_kn[j]
                    if np.isfinite(sog0) and np.isfinite(sog1):
                        implied = np.nan
                    else:
                        implied = haversine_km_scalar(lat[i], lon[i], lat[j], lon[j]) / KM_PER_NM / (dt / 3.6e9)
                    dlon = lon[j] - lon[i]
                    if dlon > 180.0:
                        dlon -= 360.0
                    elif dlon < -180.0:
                        dlon += 360.0
                    for q in range(first_slot, last_slot + 1):
                        f = (q * step_us - t0) / dt
                        o_seg[k] = s
                        o_slot[k] = q
                        o_lat[k] = lat[i] + f * (lat[j] - lat[i])
                        x = lon[i] + f * dlon
                        o_lon[k] = x - 360.0 if x > 180.0 else (x + 360.0 if x < -180.0 else x)
                        o_speed[k] = sog0 + f * (sog1 - sog0) if np.isnan(implied) else implied
                        o_left[k] = i
                        o_right[k] = j if q * step_us > t0 else i
                        k += 1
                else:
                    k += last_slot - first_slot + 1
            elif t0 % step_us == 0:  # a position on the grid before a long silence or at the end
                if fill:
                    o_seg[k] = s
                    o_slot[k] = t0 // step_us
                    o_lat[k] = lat[i]
                    o_lon[k] = lon[i]
                    o_speed[k] = speed_kn[i]
                    o_left[k] = i
                    o_right[k] = i
                k += 1
    return k


def resample(c: dict[str, np.ndarray], step_s: float, max_gap_h: float, min_positions: int) -> dict[str, np.ndarray]:
    """Grid points of the segments of :func:`~watchkeeper.detect.port_visits.track_arrays` output ``c``.

    Returns arrays ``seg``, ``slot`` (grid instant = slot x step), ``lat``, ``lon``, ``speed_kn``, ``left`` and
    ``right`` (rows of ``c`` bracketing the point), ordered by segment and slot.
    """
    step_us = max(round(step_s * 1e6), 1)
    max_gap_us = round(max_gap_h * 3.6e9)
    args = (c["bounds"], c["ts_us"], c["lat"], c["lon"], c["speed_kn"], step_us, max_gap_us, int(min_positions))
    empty_i, empty_f = np.empty(0, np.int64), np.empty(0, np.float64)
    n = _resample(*args, False, empty_i, empty_i, empty_f, empty_f, empty_f, empty_i, empty_i)
    out = {"seg": np.empty(n, np.int64), "slot": np.empty(n, np.int64), "lat": np.empty(n), "lon": np.empty(n),
           "speed_kn": np.empty(n), "left": np.empty(n, np.int64), "right": np.empty(n, np.int64)}
    _resample(*args, True, out["seg"], out["slot"], out["lat"], out["lon"], out["speed_kn"], out["left"],
              out["right"])
    out["step_us"] = np.int64(step_us)
    return out


@njit(cache=True)
def _cell_keys(lat, lon, cell_km):
    n = lat.shape[0]
    keys = np.empty(n, np.int64)
    for i in range(n):
        p, l = math.radians(lat[i]), math.radians(lon[i])
        x = EARTH_RADIUS_KM * math.cos(p) * math.cos(l)
        y = EARTH_RADIUS_KM * math.cos(p) * math.sin(l)
        z = EARTH_RADIUS_KM * math.sin(p)
        cx = np.int64(math.floor(x / cell_km)) + _OFFSET
        cy = np.int64(math.floor(y / cell_km)) + _OFFSET
        cz = np.int64(math.floor(z / cell_km)) + _OFFSET
        keys[i] = (cx << (2 * _BITS)) | (cy << _BITS) | cz
    return keys


@njit(cache=True)
def _pair_search(slot, key, lat, lon, vessel, max_km):
    """Adjacent pairs among points sorted by (slot, key): (i, j, distance_km) with i < j, and the number of
    distance evaluations made.

    Each pair is found once, from the point whose cell comes first in key order: a point looks only at the
    neighbouring cells whose offset (dx, dy, dz) is lexicographically >= (0, 0, 0). Cells that differ only in z
    have consecutive keys, so those 14 cells are 5 key ranges: its own cell and z + 1 (scanned on from the
    point), (0, +1, -1..+1), and (+1, -1..+1, -1..+1) as three ranges. Points are visited in key order, so the start
    of each of the last four ranges only moves forward: four pointers walk the slot once (a merge, no binary
    search).
    """
    n = slot.shape[0]
    cap = max(16, n // 4)
    pi = np.empty(cap, np.int64)
    pj = np.empty(cap, np.int64)
    pd = np.empty(cap, np.float64)
    m = 0
    compared = 0
    s0 = 0
    y = np.int64(1) << _BITS
    x = np.int64(1) << (2 * _BITS)
    offsets = np.array([y - 1, x - y - 1, x - 1, x + y - 1], np.int64)  # first key of each range, less the point's
    ptr = np.empty(4, np.int64)
    while s0 < n:
        s1 = s0
        while s1 < n and slot[s1] == slot[s0]:
            s1 += 1
        ptr[:] = s0
        for a in range(s0, s1):
            ka, la, oa, va = key[a], lat[a], lon[a], vessel[a]
            for r in range(5):
                if r == 0:  # its own cell and z + 1, from the next point on
                    b, last_key = a + 1, ka + 1
                else:
                    lo = ka + offsets[r - 1]
                    b = ptr[r - 1]
                    while b < s1 and key[b] < lo:  # the first point of the slot with key >= lo
                        b += 1
                    ptr[r - 1] = b
                    last_key = lo + 2
                while b < s1 and key[b] <= last_key:
                    if vessel[b] != va:
                        compared += 1
                        d = haversine_km_scalar(la, oa, lat[b], lon[b])
                        if d <= max_km:
                            if m == pi.shape[0]:  # grow the output
                                pi = np.concatenate((pi, np.empty(m, np.int64)))
                                pj = np.concatenate((pj, np.empty(m, np.int64)))
                                pd = np.concatenate((pd, np.empty(m, np.float64)))
                            pi[m] = a
                            pj[m] = b
                            pd[m] = d
                            m += 1
                    b += 1
        s0 = s1
    return pi[:m], pj[:m], pd[:m], compared


def adjacent_pairs(slot, lat, lon, vessel, max_distance_km: float):
    """Pairs of points in the same slot, of different ``vessel``, at most ``max_distance_km`` apart.

    Returns ``(i, j, distance_km, n_compared)``: indices into the inputs (``i`` != ``j``; each unordered pair once)
    and the number of distances evaluated, which grows linearly with the points at a fixed density.
    """
    slot = np.asarray(slot, np.int64)
    lat, lon = np.asarray(lat, np.float64), np.asarray(lon, np.float64)
    vessel = np.asarray(vessel, np.int64)
    if not len(slot):
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), 0
    key = _cell_keys(lat, lon, max(float(max_distance_km), MIN_CELL_KM))
    # by (slot, key): one unstable sort of the keys, then a counting sort of the slots. Points of one slot and
    # cell may come in any order: the pairs are the same (distances are symmetric to the bit), and every caller
    # orders them by (segments, slot)
    order = np.argsort(key)
    order = order[stable_order(slot[order] - slot.min())]
    i, j, d, n = _pair_search(slot[order], key[order], lat[order], lon[order], vessel[order], float(max_distance_km))
    return order[i], order[j], d, int(n)


def group_median(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of the finite ``values`` of each group ``0..n_groups-1`` (NaN for a group without any), as
    ``numpy.median`` computes it (the mean of the two middle values for an even count)."""
    ok = np.isfinite(values)
    v, g = values[ok], group[ok]
    order = np.lexsort((v, g))
    v, g = v[order], g[order]
    count = np.bincount(g, minlength=n_groups)
    start = np.r_[0, np.cumsum(count)[:-1]]
    has = count > 0
    lo = np.where(has, start + (count - 1) // 2, 0)
    hi = np.where(has, start + count // 2, 0)
    if not len(v):
        return np.full(n_groups, np.nan)
    return np.where(has, (v[lo.clip(0, len(v) - 1)] + v[hi.clip(0, len(v) - 1)]) / 2.0, np.nan)


def encounters(segmented: pa.Table, gazetteer: Gazetteer, config: Config | None = None) -> pa.Table:
    """Encounters between segments of different vessels.

    Parameters
    ----------
    segmented
        Rows of :data:`watchkeeper.tracks.segment.SEGMENTED_POSITIONS` (output of ``segment()``).
    gazetteer
        Ports and anchorages to keep away from.
    config
        Thresholds (section ``encounter``, and ``tracks.min_segment_positions``); the defaults when ``None``.

    Returns
    -------
    pyarrow.Table
        :data:`~watchkeeper.schema.EVENTS` of type ``encounter`` (one per pair of segments and run), details
        ``duration_h``, ``n_slots``, ``median_distance_m``, ``min_distance_m``, ``median_speed_kn`` (of ``mmsi``),
        ``other_median_speed_kn``, ``distance_from_port_km`` (of the median location; null without any place),
        ``other_segment_id``; refs to the first and last bracketing position of each vessel.

    The three steps - :func:`encounter_points` per segment, :func:`adjacency` per grid slot and
    :func:`encounter_events` over the adjacent pairs - are separate functions so that the partitioned engine can
    run the first per partition of the vessels and the second per day.
    """
    config = config or Config()
    c = track_arrays(segmented)
    pts = encounter_points(c, config)
    return encounter_events(adjacency(pts, config), c["segment_id"] if len(c["ts_us"]) else [], gazetteer, config)


POINT_FIELDS = ("seg", "slot", "lat", "lon", "speed_kn", "mmsi", "left_row", "right_row", "left_source", "left_line",
                "right_source", "right_line")


def encounter_points(c: dict[str, np.ndarray], config: Config | None = None) -> dict[str, np.ndarray]:
    """The grid points of the segments of track arrays ``c`` (:func:`resample` with the ``[encounter]``
    thresholds): arrays :data:`POINT_FIELDS` (``seg`` the segment code of ``c``, ``mmsi`` its vessel, the rows of
    ``c`` bracketing each point and their source and line) and ``step_us``."""
    config = config or Config()
    cfg = config.encounter
    step_us = max(round(float(cfg.resample_interval_min) * 60.0 * 1e6), 1)
    if not len(c["ts_us"]):
        out = {k: np.empty(0, np.float64 if k in ("lat", "lon", "speed_kn") else np.int64) for k in POINT_FIELDS}
        out["step_us"] = np.int64(step_us)
        return out
    g = resample(c, float(cfg.resample_interval_min) * 60.0, float(cfg.max_interpolation_gap_h),
                 int(config.tracks.min_segment_positions))
    left, right = g["left_row"], g["right_row"] = g.pop("left"), g.pop("right")
    g["mmsi"] = c["mmsi"][c["bounds"][:-1]][g["seg"]]
    g["left_source"], g["left_line"] = c["source_id"][left], c["line"][left]
    g["right_source"], g["right_line"] = c["source_id"][right], c["line"][right]
    return g


def adjacency(pts: dict[str, np.ndarray], config: Config | None = None, place=None,
              select=None) -> dict[str, np.ndarray]:
    """The adjacent pairs among grid points ``pts`` (:func:`encounter_points`, of one or many partitions; segment
    codes unique across them): one record per pair and slot, side ``a`` the smaller MMSI, with each side's
    :data:`POINT_FIELDS` (and any other per-point array of ``pts``) suffixed ``_a``/``_b``, ``slot`` and
    ``distance_km``. Pairs exist only within a slot, so the points of different slots (e.g. of different days) can
    be searched separately and the records concatenated.

    ``place(lat, lon)``, when given, is a per-point value (e.g. the nearby port) computed for the paired points
    only, recorded as ``place_a``/``place_b``. ``select(records)``, when given, sees the records' ``slot``,
    ``seg_a``, ``seg_b`` (and ``place_a``/``place_b``) first and returns which to keep: only those get the other
    fields (in crowded ports most pairs belong to runs that can never be encounters).
    """
    config = config or Config()
    i, j, dist_km, _ = adjacent_pairs(pts["slot"], pts["lat"], pts["lon"], pts["mmsi"],
                                      float(config.encounter.max_distance_m) / 1000.0)
    swap = pts["mmsi"][i] > pts["mmsi"][j]
    a, b = np.where(swap, j, i), np.where(swap, i, j)  # a: the smaller MMSI
    value = None
    if place is not None:
        used = np.zeros(len(pts["slot"]), bool)
        used[a] = used[b] = True
        used = np.flatnonzero(used)
        value = np.full(len(pts["slot"]), -1, np.int64)
        if len(used):
            value[used] = place(pts["lat"][used], pts["lon"][used])
    if select is not None:
        light = {"slot": pts["slot"][a], "seg_a": pts["seg"][a], "seg_b": pts["seg"][b]}
        if value is not None:
            light["place_a"], light["place_b"] = value[a], value[b]
        keep = np.asarray(select(light), bool)
        a, b, dist_km = a[keep], b[keep], dist_km[keep]
    out = {"slot": pts["slot"][a], "distance_km": dist_km}
    for k in pts:
        if k not in ("slot", "step_us"):
            out[k + "_a"], out[k + "_b"] = pts[k][a], pts[k][b]
    if value is not None:
        out["place_a"], out["place_b"] = value[a], value[b]
    out["step_us"] = np.int64(pts["step_us"])
    return out


def in_port_radius_km(config: Config) -> float:
    """Radius around one port or anchorage within which a run's points, all of them, make the run's median
    location closer than ``min_port_distance_km`` to that place, so the run can never be an encounter.

    The median latitude and longitude lie within the bounding box of the points, and the box of points within
    ``r`` of a place lies within ``r * sqrt(2)`` of it; 0.9 of ``min_port_distance_km / sqrt(2)`` leaves a margin
    far beyond the planar approximation at these distances. 0 when there is no port rule.
    """
    return 0.9 * float(config.encounter.min_port_distance_km) / math.sqrt(2.0)


def run_pieces(adj: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The runs of :func:`adjacency` records ``adj`` (consecutive slots of the same two segments), as
    ``(order, starts, ends)``: records grouped by pair of segments, in slot order within a pair (pairs in a
    deterministic order), and the first and last position of each run in that order."""
    sa, sb, slot = adj["seg_a"], adj["seg_b"], adj["slot"]
    order = _pair_slot_order(sa, sb, slot)
    sa, sb, slot = sa[order], sb[order], slot[order]
    if not len(slot):  # no records, no runs
        return order, np.empty(0, np.int64), np.empty(0, np.int64)
    brk = np.r_[True, (sa[1:] != sa[:-1]) | (sb[1:] != sb[:-1]) | (slot[1:] != slot[:-1] + 1)]
    starts = np.flatnonzero(brk)
    return order, starts, np.r_[starts[1:], len(slot)] - 1


def _pair_slot_order(sa: np.ndarray, sb: np.ndarray, slot: np.ndarray) -> np.ndarray:
    """Records by (pair of segments, slot): the segment codes numbered in order of appearance (one hash pass), and
    (pair, slot) packed into one int64 key for one sort; a (pair, slot) is one record, so the order is unique.
    Falls back to a three-key sort where the key would not fit."""
    n = len(slot)
    if not n:
        return np.empty(0, np.int64)
    codes = np.asarray(pc.dictionary_encode(pa.array(np.r_[sa, sb])).indices.to_numpy(), np.int64)
    n_codes = int(codes.max()) + 1
    s0 = int(slot.min())
    n_slots = int(slot.max()) - s0 + 1
    if n_codes * n_codes * n_slots >= 1 << 62:
        return np.lexsort((slot, sb, sa))
    return key_order((codes[:n] * n_codes + codes[n:]) * n_slots + (slot - s0))[0]


def run_place(adj: dict[str, np.ndarray], order: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per run of :func:`run_pieces`: the place (``place_a``/``place_b`` of the records: the place within
    :func:`in_port_radius_km` of each point, -1 for none) that every point of the run lies near, else -1."""
    if not len(starts):
        return np.empty(0, np.int64)
    pa_, pb_ = adj["place_a"][order], adj["place_b"][order]
    lo = np.minimum(np.minimum.reduceat(pa_, starts), np.minimum.reduceat(pb_, starts))
    hi = np.maximum(np.maximum.reduceat(pa_, starts), np.maximum.reduceat(pb_, starts))
    return np.where((lo == hi) & (lo >= 0), lo, -1)


def concat_adjacency(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The records of several :func:`adjacency` calls (same ``step_us``) as one."""
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k != "step_us"}
    out["step_us"] = parts[0]["step_us"]
    return out


def encounter_events(adj: dict[str, np.ndarray], segment_ids, gazetteer: Gazetteer,
                     config: Config | None = None) -> pa.Table:
    """Encounter events from the :func:`adjacency` records ``adj``: runs of consecutive slots of the same two
    segments, kept when long and slow enough and away from ports (the module rules). ``segment_ids[code]`` is the
    segment id of a segment code."""
    config = config or Config()
    cfg = config.encounter
    events: list[dict] = []
    if len(adj["slot"]):
        order, starts, ends = run_pieces(adj)
        adj = {k: (v[order] if k != "step_us" else v) for k, v in adj.items()}
        sa, sb, slot, dist_km = adj["seg_a"], adj["seg_b"], adj["slot"], adj["distance_km"]
        step_us = int(adj["step_us"])
        duration_h = (slot[ends] - slot[starts]) * step_us / 3.6e9
        long_enough = np.flatnonzero(duration_h >= cfg.min_duration_h)
        # per run: both vessels' median speeds, the median location (longitudes unwrapped around the run's first
        # point, so the antimeridian does not split it) and the median distance, all as grouped medians
        lo_r, hi_r = starts[long_enough], ends[long_enough] + 1
        n_runs = len(long_enough)
        pos, grp, _ = run_rows(lo_r, hi_r - 1)
        va = group_median(adj["speed_kn_a"][pos], grp, n_runs)
        vb = group_median(adj["speed_kn_b"][pos], grp, n_runs)
        slow = np.flatnonzero((va < cfg.max_median_speed_kn) & (vb < cfg.max_median_speed_kn))
        ref_lon = adj["lon_a"][lo_r][grp]
        unwrap = lambda lon: ref_lon + (lon - ref_lon + 180.0) % 360.0 - 180.0  # noqa: E731
        mlat = group_median(np.r_[adj["lat_a"][pos], adj["lat_b"][pos]], np.r_[grp, grp], n_runs)
        mlon = group_median(np.r_[unwrap(adj["lon_a"][pos]), unwrap(adj["lon_b"][pos])], np.r_[grp, grp], n_runs)
        mlon = (mlon + 180.0) % 360.0 - 180.0
        d_med = group_median(dist_km[pos] * 1000.0, grp, n_runs)
        d_min = np.full(n_runs, np.inf)
        np.minimum.at(d_min, grp, dist_km[pos] * 1000.0)
        port_km = gazetteer.nearest(mlat[slow], mlon[slow])[1] if len(slow) else np.empty(0)

        def refs(side, lo, hi):
            m = int(adj["mmsi_" + side][lo])
            return [{"mmsi": m, "source_id": int(adj["left_source_" + side][lo]),
                     "line": int(adj["left_line_" + side][lo]), "role": "first"},
                    {"mmsi": m, "source_id": int(adj["right_source_" + side][hi - 1]),
                     "line": int(adj["right_line_" + side][hi - 1]), "role": "last"}]

        for k, pkm in zip(slow.tolist(), port_km.tolist()):
            if np.isfinite(pkm) and pkm < cfg.min_port_distance_km:
                continue
            r, lo, hi = int(long_enough[k]), int(lo_r[k]), int(hi_r[k])
            seg_id_a, seg_id_b = str(segment_ids[int(sa[lo])]), str(segment_ids[int(sb[lo])])
            dur = float(duration_h[r])
            details = {"duration_h": round(dur, 6), "n_slots": hi - lo,
                       "median_distance_m": round(float(d_med[k]), 3),
                       "min_distance_m": round(float(d_min[k]), 3),
                       "median_speed_kn": round(float(va[k]), 6), "other_median_speed_kn": round(float(vb[k]), 6),
                       "distance_from_port_km": round(float(pkm), 6) if np.isfinite(pkm) else None,
                       "other_segment_id": seg_id_b}
            refs_a, refs_b = refs("a", lo, hi), refs("b", lo, hi)
            common = {"type": "encounter", "start": int(slot[lo]) * step_us, "end": int(slot[hi - 1]) * step_us,
                      "lat": float(mlat[k]), "lon": float(mlon[k]),
                      "confidence": min(1.0, 0.5 * dur / cfg.min_duration_h) if cfg.min_duration_h > 0 else 1.0}
            # positions from the first to the last bracketing row of each vessel
            n_pos = sum(int(adj["right_row_" + x][hi - 1] - adj["left_row_" + x][lo]) + 1 for x in ("a", "b"))
            mmsi_a, mmsi_b = int(adj["mmsi_a"][lo]), int(adj["mmsi_b"][lo])
            # one row per vessel (mirrored), so each vessel's events list its encounters
            events.append({**common, "mmsi": mmsi_a, "other_mmsi": mmsi_b,
                           "details": details, "positions": {"n": n_pos, "refs": refs_a + refs_b},
                           "segment_id": seg_id_a, "id_extra": {"segments": [seg_id_a, seg_id_b]}})
            mirrored = {**details, "median_speed_kn": details["other_median_speed_kn"],
                        "other_median_speed_kn": details["median_speed_kn"], "other_segment_id": seg_id_a}
            events.append({**common, "mmsi": mmsi_b, "other_mmsi": mmsi_a,
                           "details": mirrored, "positions": {"n": n_pos, "refs": refs_b + refs_a},
                           "segment_id": seg_id_b, "id_extra": {"segments": [seg_id_b, seg_id_a]}})
    return make_events(events, config_sha256=config.sha256(), detector_version=VERSION)
