"""Port visits: entry and exit with hysteresis, stops, in-port gaps and GFW-style confidence levels.

Rules (thresholds of ``[port_visit]`` in :mod:`watchkeeper.config`), applied per segment in time order:

* A visit begins at the first position within ``entry_radius_km`` of a place of the gazetteer (port or anchorage)
  and lasts while the vessel stays within ``exit_radius_km`` of some place; it ends at the last position inside,
  before the first one beyond the exit radius (or the segment's end). The margin between the radii keeps a vessel
  on the edge from making many visits. UTC midnight plays no part, so a visit across midnight is one event.
* Inside a visit a stop begins when the speed falls below ``stop_begin_speed_kn`` and ends when it rises above
  ``stop_end_speed_kn``. The speed is the reported SOG, or the implied speed where SOG is not available.
* Silences never split a visit; one longer than ``in_port_gap_h`` is a *port gap*, counted in the details.
* Confidence level (GFW): 1 entry or exit only, 2 stop or gap only, 3 entry or exit plus stop or gap, 4 entry and
  exit plus stop or gap. The entry is observed when the visit does not begin at the segment's first position, the
  exit when it does not end at its last. Visits below ``min_confidence_level`` or shorter than ``min_duration_h``
  are dropped (a vessel passing by without stopping is level 1). ``confidence`` = level / 4.

The event's ``lat``/``lon`` and ``port`` are those of the place nearest to the vessel during the visit (its closest
approach). The per-segment scan and the search for visits to split between ports are compiled (numba) passes;
distances come from one vectorised gazetteer query.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numba import njit

from watchkeeper.config import Config
from watchkeeper.detect.events import events_from_columns, make_events, rounded
from watchkeeper.geo.gazetteer import Gazetteer
from watchkeeper.tracks.arrays import as_tracks

VERSION = "port_visit/1"


def track_arrays(segmented) -> dict[str, np.ndarray]:
    """The columns the per-segment scans need, as NumPy arrays ordered by (segment, time, line): the
    ``plausible`` view of :class:`watchkeeper.tracks.arrays.Tracks` (implausible rows left out; ``bounds`` holds
    the first row of each segment and, last, the number of rows; ``segment_id`` one id per segment)."""
    return as_tracks(segmented).plausible


def ref(c: dict[str, np.ndarray], i: int, role: str) -> dict:
    """A positions reference to row ``i`` of :func:`track_arrays`."""
    return {"mmsi": int(c["mmsi"][i]), "source_id": int(c["source_id"][i]), "line": int(c["line"][i]), "role": role}


@njit(cache=True)
def _visit_scan(bounds, t_s, dist_km, speed_kn, entry_km, exit_km, stop_begin_kn, stop_end_kn, gap_h):
    """Visits of every segment: (first, last, closest row, entry seen, exit seen, stopped, port gaps, longest
    silence in hours), one entry per visit."""
    n = t_s.shape[0]
    first = np.empty(n, np.int64)
    last = np.empty(n, np.int64)
    closest = np.empty(n, np.int64)
    entry = np.zeros(n, np.bool_)
    exit_ = np.zeros(n, np.bool_)
    stopped_any = np.zeros(n, np.bool_)
    n_gaps = np.zeros(n, np.int64)
    max_gap = np.zeros(n, np.float64)
    k = 0
    for s in range(bounds.shape[0] - 1):
        lo, hi = bounds[s], bounds[s + 1]
        inside = False
        stopped = False
        for i in range(lo, hi):
            d = dist_km[i]
            if not inside:
                if d <= entry_km:
                    inside = True
                    first[k] = i
                    last[k] = i
                    closest[k] = i
                    entry[k] = i > lo
                    stopped = speed_kn[i] < stop_begin_kn
                    stopped_any[k] = stopped
            elif d <= exit_km:
                g = (t_s[i] - t_s[last[k]]) / 3600.0
                max_gap[k] = max(max_gap[k], g)
                if g > gap_h:
                    n_gaps[k] += 1
                last[k] = i
                if d < dist_km[closest[k]]:
                    closest[k] = i
                if stopped and speed_kn[i] > stop_end_kn:
                    stopped = False
                elif speed_kn[i] < stop_begin_kn:  # NaN speed leaves the state as it was
                    stopped = True
                    stopped_any[k] = True
            else:  # beyond the exit radius, or no place within it (NaN)
                exit_[k] = True
                inside = False
                k += 1
        if inside:
            k += 1
    return first[:k], last[:k], closest[:k], entry[:k], exit_[:k], stopped_any[:k], n_gaps[:k], max_gap[:k]


def port_groups(gazetteer: Gazetteer) -> np.ndarray:
    """An integer per place of the gazetteer: places with the same country and normalised name are one port."""
    cached = getattr(gazetteer, "_port_groups", None)
    if cached is None:
        from watchkeeper.geo.names import normalize_name

        names = gazetteer.table["name"].to_pylist()
        countries = gazetteer.table["country_iso2"].to_pylist()
        keys: dict[str, int] = {}
        cached = np.array([keys.setdefault(f"{c or ''}:{normalize_name(n or '')}", len(keys))
                           for n, c in zip(names, countries)], np.int64)
        object.__setattr__(gazetteer, "_port_groups", cached)
    return cached


@njit(cache=True)
def _port_pieces(first, last, port, port_group, entry_km, t_s, dist_km, speed_kn, min_s, stop_begin_kn, gap_h):
    """The pieces of the visits in which the vessel moves from one port to another (see :func:`_split_by_port`):
    rows of (visit, first row, last row, closest row, stopped, port gaps) and the longest silence in hours of each
    piece, in visit order; a visit that stays one piece has none. The port of a row is ``port_group[port]`` when it
    lies within ``entry_km`` of its nearest place ``port``, else none (-1)."""
    out = np.empty((16, 6), np.int64)
    out_gap = np.empty(16, np.float64)
    n_out = 0
    for v in range(first.shape[0]):
        i0, i1 = first[v], last[v]
        row_group = np.full(i1 - i0 + 1, -1, np.int64)  # port of each row of the visit
        for i in range(i0, i1 + 1):
            if port[i] >= 0 and dist_km[i] <= entry_km:
                row_group[i - i0] = port_group[port[i]]
        # only visits whose rows within the entry radius belong to more than one port
        lo, hi, head = np.iinfo(np.int64).max, -1, -1
        for g in row_group:
            if g >= 0:
                if hi < 0:
                    head = g
                lo = min(lo, g)
                hi = max(hi, g)
        if hi < 0 or lo == hi:
            continue
        # runs of one port: rows in the exit band keep the port they came from (those before the first row within
        # the entry radius take its port)
        n = i1 - i0 + 1
        starts = np.empty(n + 1, np.int64)
        run_group = np.empty(n, np.int64)
        m = 0
        cur = head
        prev = -2
        for j in range(n):
            if row_group[j] >= 0:
                cur = row_group[j]
            if cur != prev:
                starts[m] = j
                run_group[m] = cur
                m += 1
            prev = cur
        starts[m] = n
        # a run shorter than min_s, or of the same port as the run before, joins the run before; merged run r is
        # rows ends[r]..ends[r + 1] - 1 of the visit
        ends = np.empty(m + 1, np.int64)
        merged_group = np.empty(m, np.int64)
        ends[0] = 0
        k = 0
        for r in range(m):
            a, b = starts[r], starts[r + 1]
            if k and (t_s[i0 + b - 1] - t_s[i0 + a] < min_s or run_group[r] == merged_group[k - 1]):
                ends[k] = b
            else:
                merged_group[k] = run_group[r]
                k += 1
                ends[k] = b
        skip = 0
        if k > 1 and t_s[i0 + ends[1] - 1] - t_s[i0 + ends[0]] < min_s:
            skip = 1  # a short first run joins the next one
        if k - skip < 2:
            continue
        for r in range(skip, k):
            r0 = i0 + (ends[0] if r == skip else ends[r])
            r1 = i0 + ends[r + 1] - 1
            closest = r0  # first row of the closest approach (non-finite distances count as infinite)
            best = dist_km[r0] if np.isfinite(dist_km[r0]) else np.inf
            stopped = False
            n_gaps = 0
            max_gap = 0.0 if r1 == r0 else -np.inf
            for i in range(r0, r1 + 1):
                d = dist_km[i] if np.isfinite(dist_km[i]) else np.inf
                if d < best:
                    best = d
                    closest = i
                if speed_kn[i] < stop_begin_kn:
                    stopped = True
                if i > r0:
                    gap = (t_s[i] - t_s[i - 1]) / 3600.0
                    if gap > gap_h:
                        n_gaps += 1
                    if gap > max_gap or np.isnan(gap):  # NaN propagates, as in ndarray.max
                        max_gap = gap
            if n_out == out.shape[0]:
                grown = np.empty((2 * n_out, 6), np.int64)
                grown[:n_out] = out
                grown_gap = np.empty(2 * n_out, np.float64)
                grown_gap[:n_out] = out_gap
                out, out_gap = grown, grown_gap
            out[n_out, 0], out[n_out, 1], out[n_out, 2], out[n_out, 3] = v, r0, r1, closest
            out[n_out, 4], out[n_out, 5] = stopped, n_gaps
            out_gap[n_out] = max_gap
            n_out += 1
    return out[:n_out], out_gap[:n_out]


def _split_by_port(c, first, last, closest, entry, exit_, stopped, n_gaps, max_gap, port, dist, gazetteer, cfg):
    """Split visits in which the vessel moves from one port to another (see ``port_switch_min_h``); the visit
    arrays with the visits kept whole first and then the pieces of the split ones (per-piece closest row, stop,
    port gaps; a piece's entry and exit are observed where it meets another piece). The search is one compiled
    pass, :func:`_port_pieces`."""
    groups = port_groups(gazetteer)
    if not len(first):
        return first, last, closest, entry, exit_, stopped, n_gaps, max_gap
    pieces = _port_pieces(first, last, port, groups, float(cfg.entry_radius_km), c["t_s"], dist, c["speed_kn"],
                          float(cfg.port_switch_min_h) * 3600.0, float(cfg.stop_begin_speed_kn),
                          float(cfg.in_port_gap_h))
    if not len(pieces[0]):
        return first, last, closest, entry, exit_, stopped, n_gaps, max_gap
    p_visit, p_first, p_last, p_closest, p_stopped, p_gaps = pieces[0].T
    p_stopped, p_max_gap = p_stopped.astype(bool), pieces[1]
    new_visit = np.r_[True, p_visit[1:] != p_visit[:-1]]
    head, tail = new_visit, np.r_[new_visit[1:], True]  # first / last piece of its visit
    whole = np.ones(len(first), bool)
    whole[p_visit] = False
    return (np.r_[first[whole], p_first], np.r_[last[whole], p_last], np.r_[closest[whole], p_closest],
            np.r_[entry[whole], np.where(head, entry[p_visit], True)],
            np.r_[exit_[whole], np.where(tail, exit_[p_visit], True)], np.r_[stopped[whole], p_stopped],
            np.r_[n_gaps[whole], p_gaps], np.r_[max_gap[whole], p_max_gap])


def port_visits(segmented: pa.Table, gazetteer: Gazetteer, config: Config | None = None) -> pa.Table:
    """Port visits of every segment (split where the vessel moves on to a neighbouring port, see
    :func:`port_groups` and ``port_switch_min_h``).

    Parameters
    ----------
    segmented
        Rows of :data:`watchkeeper.tracks.segment.SEGMENTED_POSITIONS` (output of ``segment()``).
    gazetteer
        Ports and anchorages; its interest tiers go into the details.
    config
        Thresholds (section ``port_visit``); the defaults when ``None``.

    Returns
    -------
    pyarrow.Table
        :data:`~watchkeeper.schema.EVENTS` of type ``port_visit``: ``start``/``end`` the first and last position
        in port, ``lat``/``lon`` and ``port`` the place of closest approach, ``confidence`` level / 4, details
        ``duration_h``, ``n_positions``, ``min_distance_km``, ``stopped``, ``entry_observed``, ``exit_observed``,
        ``confidence_level``, ``n_port_gaps``, ``max_silence_h``, ``port_kind``, ``port_id`` and ``port_tier``
        (0 when not a port of interest), and refs to the first and last position.
    """
    config = config or Config()
    cfg = config.port_visit
    c = track_arrays(segmented)
    if len(c["ts_us"]):
        port, dist = as_tracks(segmented).nearest_place(gazetteer, float(cfg.exit_radius_km))
        first, last, closest, entry, exit_, stopped, n_gaps, max_gap = _visit_scan(
            c["bounds"], c["t_s"], dist, c["speed_kn"], float(cfg.entry_radius_km), float(cfg.exit_radius_km),
            float(cfg.stop_begin_speed_kn), float(cfg.stop_end_speed_kn), float(cfg.in_port_gap_h))
        first, last, closest, entry, exit_, stopped, n_gaps, max_gap = _split_by_port(
            c, first, last, closest, entry, exit_, stopped, n_gaps, max_gap, port, dist, gazetteer, cfg)
        evidence = stopped | (n_gaps > 0)
        ends = entry.astype(np.int64) + exit_
        level = np.where(evidence, np.where(ends == 2, 4, np.where(ends == 1, 3, 2)), np.where(ends > 0, 1, 0))
        duration_h = (c["t_s"][last] - c["t_s"][first]) / 3600.0
        keep = np.flatnonzero((duration_h >= cfg.min_duration_h) & (level >= cfg.min_confidence_level))
        first, last, closest, p_rows = first[keep], last[keep], closest[keep], port[closest[keep]]
        places = gazetteer.table.select(["port_id", "name", "locode", "lat", "lon", "kind"]).take(
            pa.array(p_rows, pa.int64()))
        places = {k: places[k].to_numpy(zero_copy_only=False) for k in places.column_names}
        n_pos = last - first + 1
        return events_from_columns(
            "port_visit", mmsi=c["mmsi"][first], start_us=c["ts_us"][first], end_us=c["ts_us"][last],
            lat=places["lat"], lon=places["lon"],
            port={"name": places["name"], "locode": places["locode"], "lat": places["lat"], "lon": places["lon"]},
            confidence=level[keep] / 4.0,
            details={"duration_h": rounded(duration_h[keep]), "n_positions": n_pos,
                     "min_distance_km": rounded(dist[closest]), "stopped": stopped[keep], "entry_observed": entry[keep],
                     "exit_observed": exit_[keep], "confidence_level": level[keep], "n_port_gaps": n_gaps[keep],
                     "max_silence_h": rounded(max_gap[keep]), "port_id": places["port_id"],
                     "port_kind": places["kind"], "port_tier": gazetteer.tier[p_rows]},
            refs=[("first", c["mmsi"][first], c["source_id"][first], c["line"][first], None),
                  ("last", c["mmsi"][last], c["source_id"][last], c["line"][last], last != first)],
            n_positions=n_pos, segment_id=[str(x) for x in c["segment_id"][c["seg"][first]].tolist()],
            id_extra={"port": places["port_id"]}, config_sha256=config.sha256(), detector_version=VERSION)
    return make_events([], config_sha256=config.sha256(), detector_version=VERSION)
