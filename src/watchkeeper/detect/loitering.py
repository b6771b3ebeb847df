"""Loitering: one vessel slow for a long time away from ports and anchorages (a proxy for a dark transfer).

Rules (thresholds of ``[loitering]`` in :mod:`watchkeeper.config`), applied per segment in time order:

* The speed of a position is the implied speed averaged over a window of ``block_h`` centred on it (path length
  between the first and last positions of the window over the time between them). A centred window rather than
  clock-aligned blocks, because aligned blocks lose up to a block at each end of a slow stretch.
* A position is eligible when that speed is below ``max_speed_kn`` and no port or anchorage of the gazetteer lies
  within ``min_port_distance_km``; consecutive eligible positions form a stretch, and a stretch lasting at least
  ``min_duration_h`` is a loitering event. A silence longer than ``max_silence_h`` ends a stretch (shorter ones,
  common in patchy reception, do not).
* Segments with fewer than ``tracks.min_segment_positions`` positions are noise and are not scanned.
* A stretch over which the vessel reports (SOG) a median speed of at least ``max_speed_kn`` is dropped: it is
  manoeuvring (searching, trawling, circling between sparse satellite fixes, which makes the implied speed look
  slow), not drifting.
* ``confidence`` = min(1, 0.5 x duration / ``min_duration_h``): 0.5 at the minimum, 1 from twice the minimum;
  multiplied by ``near_port_confidence_factor`` when the stretch comes within ``near_port_km`` of a place
  (``near_port`` true: most likely waiting for a berth or a convoy).

The scan is one compiled (numba) pass; distances to ports come from vectorised gazetteer queries.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
from numba import njit

from watchkeeper.config import Config
from watchkeeper.detect.events import make_events
from watchkeeper.detect.port_visits import ref, track_arrays
from watchkeeper.geo.gazetteer import Gazetteer
from watchkeeper.geo.sphere import EARTH_RADIUS_KM
from watchkeeper.tracks.arrays import as_tracks, run_rows

VERSION = "loitering/1"
KM_PER_NM = 1.852


@njit(cache=True)
def _loiter_scan(bounds, t_s, lat, lon, near_port, max_speed_kn, half_window_s, min_duration_s, min_positions,
                 max_silence_s, step_km):
    """Slow stretches away from ports: (first row, last row) of each, and the windowed speed of every row.
    ``step_km``: each row's distance from the row before as the segmentation measured it (NaN where it did not,
    empty when not known), the same value to the bit as the haversine here."""
    n = t_s.shape[0]
    known = step_km.shape[0] == n
    cum_km = np.zeros(n)
    speed = np.full(n, np.nan)
    first = np.empty(n, np.int64)
    last = np.empty(n, np.int64)
    k = 0
    for s in range(bounds.shape[0] - 1):
        lo, hi = bounds[s], bounds[s + 1]
        if hi - lo < min_positions:
            continue
        for i in range(lo + 1, hi):
            if known and step_km[i] == step_km[i]:
                cum_km[i] = cum_km[i - 1] + step_km[i]
                continue
            p1 = math.radians(lat[i - 1])
            p2 = math.radians(lat[i])
            dl = math.radians(lon[i] - lon[i - 1])
            h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
            cum_km[i] = cum_km[i - 1] + 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(max(h, 0.0), 1.0)))
        a = lo
        b = lo
        for i in range(lo, hi):
            while t_s[i] - t_s[a] > half_window_s:
                a += 1
            while b + 1 < hi and t_s[b + 1] - t_s[i] <= half_window_s:
                b += 1
            wa, wb = a, b
            if t_s[wb] <= t_s[wa]:  # a lone position in its window: use its neighbours
                wa, wb = max(lo, i - 1), min(hi - 1, i + 1)
            if t_s[wb] > t_s[wa]:
                speed[i] = (cum_km[wb] - cum_km[wa]) / KM_PER_NM / ((t_s[wb] - t_s[wa]) / 3600.0)
        run = -1
        for i in range(lo, hi + 1):
            ok = i < hi and speed[i] < max_speed_kn and not near_port[i]
            if ok and run >= 0 and t_s[i] - t_s[i - 1] > max_silence_s:  # a long silence ends the stretch
                if t_s[i - 1] - t_s[run] >= min_duration_s:
                    first[k] = run
                    last[k] = i - 1
                    k += 1
                run = i
                continue
            if ok and run < 0:
                run = i
            elif not ok and run >= 0:
                if t_s[i - 1] - t_s[run] >= min_duration_s:
                    first[k] = run
                    last[k] = i - 1
                    k += 1
                run = -1
    return first[:k], last[:k], speed


def loitering(segmented: pa.Table, gazetteer: Gazetteer, config: Config | None = None) -> pa.Table:
    """Loitering events of every segment.

    Parameters
    ----------
    segmented
        Rows of :data:`watchkeeper.tracks.segment.SEGMENTED_POSITIONS` (output of ``segment()``).
    gazetteer
        Ports and anchorages to keep away from.
    config
        Thresholds (section ``loitering``, and ``tracks.min_segment_positions``); the defaults when ``None``.

    Returns
    -------
    pyarrow.Table
        :data:`~watchkeeper.schema.EVENTS` of type ``loitering``: ``start``/``end`` the first and last slow
        position, ``lat``/``lon`` the middle position of the stretch, details ``duration_h``,
        ``median_speed_kn`` (windowed speeds), ``distance_from_port_km`` (closest approach to any place during the
        stretch), ``n_positions``, ``near_port`` and ``max_silence_h``, and refs to the first and last position.
    """
    config = config or Config()
    cfg = config.loitering
    c = track_arrays(segmented)
    events: list[dict] = []
    if len(c["ts_us"]):
        near = as_tracks(segmented).nearest_place(gazetteer, float(cfg.min_port_distance_km))[0] >= 0
        first, last, speed = _loiter_scan(
            c["bounds"], c["t_s"], c["lat"], c["lon"], near, float(cfg.max_speed_kn), float(cfg.block_h) * 1800.0,
            float(cfg.min_duration_h) * 3600.0, int(config.tracks.min_segment_positions),
            float(cfg.max_silence_h) * 3600.0, c.get("step_km", np.empty(0)))
        if len(first):
            # a vessel that reports (SOG) a median speed of max_speed_kn or more over the stretch is manoeuvring -
            # searching, trawling, circling between sparse satellite fixes - not drifting: not loitering
            sog = c["sog_kn"]
            keep = np.array([not (np.isfinite(s := sog[a:b + 1]).sum() and np.median(s[np.isfinite(s)])
                                  >= float(cfg.max_speed_kn)) for a, b in zip(first, last)], bool)
            first, last = first[keep], last[keep]
        if len(first):
            rows, _, offsets = run_rows(first, last)
            _, dist = gazetteer.nearest(c["lat"][rows], c["lon"][rows])
            port_km = np.minimum.reduceat(np.where(np.isfinite(dist), dist, np.inf), offsets)
            near_port = port_km <= float(cfg.near_port_km)
            for v, (i0, i1) in enumerate(zip(first.tolist(), last.tolist())):
                mid = (i0 + i1) // 2
                duration_h = (c["t_s"][i1] - c["t_s"][i0]) / 3600.0
                silences = np.diff(c["t_s"][i0:i1 + 1]) / 3600.0
                details = {"duration_h": round(float(duration_h), 6),
                           "median_speed_kn": round(float(np.median(speed[i0:i1 + 1])), 6),
                           "distance_from_port_km": round(float(port_km[v]), 6) if np.isfinite(port_km[v]) else None,
                           "n_positions": i1 - i0 + 1, "near_port": bool(near_port[v]),
                           "max_silence_h": round(float(silences.max()), 6) if len(silences) else 0.0}
                events.append({"type": "loitering", "mmsi": int(c["mmsi"][i0]), "start": int(c["ts_us"][i0]),
                               "end": int(c["ts_us"][i1]), "lat": float(c["lat"][mid]), "lon": float(c["lon"][mid]),
                               "confidence": (min(1.0, 0.5 * duration_h / cfg.min_duration_h)
                                              if cfg.min_duration_h > 0 else 1.0)
                               * (float(cfg.near_port_confidence_factor) if near_port[v] else 1.0),
                               "details": details,
                               "positions": {"n": i1 - i0 + 1, "refs": [ref(c, i0, "first"), ref(c, i1, "last")]},
                               "segment_id": str(c["segment_id"][c["seg"][i0]])})
    return make_events(events, config_sha256=config.sha256(), detector_version=VERSION)
