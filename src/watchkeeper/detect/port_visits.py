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
import pyarrow.compute as pc
from numba import njit

from watchkeeper.config import Config
from watchkeeper.detect.events import make_events
from watchkeeper.geo.gazetteer import Gazetteer
from watchkeeper.tracks.arrays import as_tracks

VERSION = "port_visit/1"


def track_arrays(segmented) -> dict[str, np.ndarray]:
    """The columns the per-segment scans need, as NumPy arrays ordered by (segment, time, line): the
    ``plausible`` view of :class:`watchkeeper.tracks.arrays.Tracks` (implausible rows left out; ``bounds`` holds
    the first row of each segment and, last, the number of rows; ``segment_id`` one id per segment)."""
    return as_tracks(segmented).plausible


def _np(col, dtype, null) -> np.ndarray:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if arr.null_count:
        arr = pc.fill_null(arr, pa.scalar(null, arr.type))
    return np.asarray(arr.to_numpy(zero_copy_only=False)).astype(dtype, copy=False)


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


def port_visits(segmented: pa.Table, gazetteer: Gazetteer, config: Config | None = None) -> pa.Table:
    """Port visits of every segment.

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
