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
approach). The per-segment scan is one compiled (numba) pass; distances come from one vectorised gazetteer query.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numba import njit

from watchkeeper.config import Config
from watchkeeper.detect.events import make_events
from watchkeeper.geo.gazetteer import Gazetteer
from watchkeeper.tracks.arrays import as_tracks, run_rows

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


def _split_by_port(c, first, last, closest, entry, exit_, stopped, n_gaps, max_gap, port, dist, gazetteer, cfg):
    """Split visits in which the vessel moves from one port to another (see ``port_switch_min_h``); the visit
    arrays of the pieces, with per-piece closest row, stop, port gaps and entry/exit flags."""
    groups = port_groups(gazetteer)
    row_group = np.where((port >= 0) & (dist <= float(cfg.entry_radius_km)), groups[np.maximum(port, 0)], -1)
    if not len(first):
        return first, last, closest, entry, exit_, stopped, n_gaps, max_gap
    # visits whose rows within the entry radius belong to more than one port
    big = np.iinfo(np.int64).max
    rows, owner, _ = run_rows(first, last)
    g = row_group[rows]
    lo = np.full(len(first), big)
    hi = np.full(len(first), -1)
    np.minimum.at(lo, owner[g >= 0], g[g >= 0])
    np.maximum.at(hi, owner[g >= 0], g[g >= 0])
    mixed = np.flatnonzero((hi >= 0) & (lo != hi))
    if not len(mixed):
        return first, last, closest, entry, exit_, stopped, n_gaps, max_gap
    t_s, speed = c["t_s"], c["speed_kn"]
    min_s = float(cfg.port_switch_min_h) * 3600.0
    out = [list(a) for a in (first, last, closest, entry, exit_, stopped, n_gaps, max_gap)]
    drop = set()
    for v in mixed.tolist():
        i0, i1 = int(first[v]), int(last[v])
        gv = row_group[i0:i1 + 1].copy()
        known = np.flatnonzero(gv >= 0)
        gv[:known[0]] = gv[known[0]]
        # rows in the exit band keep the port they came from (forward fill)
        gv = gv[np.maximum.accumulate(np.where(gv >= 0, np.arange(len(gv)), 0))]
        # runs of one port; a run shorter than port_switch_min_h joins the run before it (or after, at the start)
        cuts = [0, *(np.flatnonzero(np.diff(gv) != 0) + 1).tolist(), len(gv)]
        pieces = [[cuts[j], cuts[j + 1], gv[cuts[j]]] for j in range(len(cuts) - 1)]
        merged: list[list] = []
        for p in pieces:
            dur = t_s[i0 + p[1] - 1] - t_s[i0 + p[0]]
            if merged and (dur < min_s or p[2] == merged[-1][2]):
                merged[-1][1] = p[1]
            else:
                merged.append(p)
        if len(merged) > 1 and t_s[i0 + merged[0][1] - 1] - t_s[i0 + merged[0][0]] < min_s:
            merged[1][0] = merged[0][0]  # a short first run joins the next one
            merged.pop(0)
        if len(merged) < 2:
            continue
        drop.add(v)
        for j, (a, b, _) in enumerate(merged):
            r0, r1 = i0 + a, i0 + b - 1
            seg_rows = np.arange(r0, r1 + 1)
            silences = np.diff(t_s[seg_rows]) / 3600.0
            out[0].append(r0)
            out[1].append(r1)
            out[2].append(int(seg_rows[np.nanargmin(np.where(np.isfinite(dist[seg_rows]), dist[seg_rows], np.inf))]))
            out[3].append(bool(entry[v]) if j == 0 else True)
            out[4].append(bool(exit_[v]) if j == len(merged) - 1 else True)
            out[5].append(bool((speed[seg_rows] < float(cfg.stop_begin_speed_kn)).any()))
            out[6].append(int((silences > float(cfg.in_port_gap_h)).sum()))
            out[7].append(float(silences.max()) if len(silences) else 0.0)
    keep = [k for k in range(len(out[0])) if k not in drop]
    dtypes = (np.int64, np.int64, np.int64, bool, bool, bool, np.int64, np.float64)
    return tuple(np.asarray([out[a][k] for k in keep], dtype=dt) for a, dt in enumerate(dtypes))


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
    events: list[dict] = []
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
        p_rows = port[closest[keep]]
        places = gazetteer.table.select(["port_id", "name", "locode", "lat", "lon", "kind"]).take(
            pa.array(p_rows, pa.int64())).to_pylist()
        for v, p, place in zip(keep.tolist(), p_rows.tolist(), places):
            i0, i1 = int(first[v]), int(last[v])
            refs = [ref(c, i0, "first")] + ([ref(c, i1, "last")] if i1 != i0 else [])
            details = {"duration_h": round(float(duration_h[v]), 6), "n_positions": i1 - i0 + 1,
                       "min_distance_km": round(float(dist[closest[v]]), 6), "stopped": bool(stopped[v]),
                       "entry_observed": bool(entry[v]), "exit_observed": bool(exit_[v]),
                       "confidence_level": int(level[v]), "n_port_gaps": int(n_gaps[v]),
                       "max_silence_h": round(float(max_gap[v]), 6), "port_id": place["port_id"],
                       "port_kind": place["kind"], "port_tier": int(gazetteer.tier[p])}
            events.append({"type": "port_visit", "mmsi": int(c["mmsi"][i0]), "start": int(c["ts_us"][i0]),
                           "end": int(c["ts_us"][i1]), "lat": place["lat"], "lon": place["lon"],
                           "port_name": place["name"], "port_locode": place["locode"], "port_lat": place["lat"],
                           "port_lon": place["lon"], "confidence": int(level[v]) / 4.0, "details": details,
                           "positions": {"n": i1 - i0 + 1, "refs": refs},
                           "segment_id": str(c["segment_id"][c["seg"][i0]]),
                           "id_extra": {"port": place["port_id"]}})
    return make_events(events, config_sha256=config.sha256(), detector_version=VERSION)
