"""Activity surges: weekly counts of port visits and dark port calls per port (and area) against their baseline.

Rules (thresholds of ``[activity_surge]`` in :mod:`watchkeeper.config`):

* Every ``port_visit`` (at its start) and ``dark_port_call`` (at the middle of its gap) counts once for its port (ports are keyed by
  country-free normalised name, so a port and its anchorages count together) and for every user area that
  contains its position. Other event types are ignored.
* Time is cut into windows of ``window_days`` aligned on Monday 1970-01-05 00:00 UTC. Windows are considered
  over the data (``data_start`` to ``data_end``: the first and last position when the engine calls it, else the
  first and last counted event), so weeks with data but no visits count as zeros and weeks outside it do not.
* The baseline of a window is the ``baseline_days // window_days`` windows before it, clipped to the data; a
  window is tested only when at least ``min_baseline_fraction`` of them are available.
* Data shorter than two windows (e.g. one week) is split into two halves instead: the second half is tested
  against the first (one baseline window), so a rise within a short dataset is still visible.
* Test: the exact conditional test of two Poisson rates (Przyborowski and Wilenski 1940): with ``k`` in the
  window and ``B`` in ``n`` baseline windows, under equal rates ``k | k + B ~ Binomial(k + B, 1 / (n + 1))``;
  ``p_value = P(X >= k)``, computed with ``math.lgamma`` (no SciPy). It accounts for the baseline's own noise and
  needs no special case for an empty baseline.
* A surge is a window with ``p_value < significance_level``, ``k >= min_count`` and
  ``k >= min_rate_ratio * B / n``. One ``activity_surge`` event per (port or area, window): ``mmsi`` 0,
  ``start``/``end`` the window, ``lat``/``lon`` the port (or the area's centre), ``confidence`` = 1 - p_value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

from watchkeeper.config import Config
from watchkeeper.detect.events import make_events, to_us
from watchkeeper.geo.names import normalize_name

VERSION = "activity_surge/1"
COUNTED = ("port_visit", "dark_port_call")
_US_DAY = 86_400_000_000
_ORIGIN_US = 4 * _US_DAY  # Monday 1970-01-05 00:00 UTC


def poisson_rate_test(k: int, baseline_count: int, baseline_windows: int) -> float:
    """One-sided p-value that a window with ``k`` events has a higher rate than ``baseline_count`` in
    ``baseline_windows`` windows of the same length: ``P(X >= k)``, ``X ~ Binomial(k + B, 1 / (n + 1))``."""
    if k <= 0:
        return 1.0
    n_tot, p = k + baseline_count, 1.0 / (baseline_windows + 1)
    lp, lq = math.log(p), math.log1p(-p)
    logs = [math.lgamma(n_tot + 1) - math.lgamma(x + 1) - math.lgamma(n_tot - x + 1) + x * lp + (n_tot - x) * lq
            for x in range(k, n_tot + 1)]
    m = max(logs)
    return min(1.0, math.exp(m) * sum(math.exp(v - m) for v in logs))


def _area_mask(area, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Which points lie in ``area``: a bbox ``(min_lat, min_lon, max_lat, max_lon)`` or a polygon
    ``[(lat, lon), ...]`` (even-odd rule). Returns the mask and the area's centre."""
    if isinstance(area, Mapping):
        area = area.get("bbox") or area.get("polygon")
    a = np.asarray(area, dtype=float)
    if a.ndim == 1 and len(a) == 4:
        lo_lat, lo_lon, hi_lat, hi_lon = a
        mask = (lat >= lo_lat) & (lat <= hi_lat) & (lon >= lo_lon) & (lon <= hi_lon)
        return mask, (lo_lat + hi_lat) / 2, (lo_lon + hi_lon) / 2
    if a.ndim != 2 or a.shape[1] != 2 or len(a) < 3:
        raise ValueError(f"an area is a bbox (min_lat, min_lon, max_lat, max_lon) or a polygon [(lat, lon), ...]: "
                         f"{area!r}")
    y0, x0 = a[:, 0], a[:, 1]
    y1, x1 = np.roll(y0, -1), np.roll(x0, -1)
    py, px = lat[:, None], lon[:, None]
    cross = ((y0 > py) != (y1 > py)) & (px < (x1 - x0) * (py - y0) / np.where(y1 == y0, 1e-300, y1 - y0) + x0)
    return (np.count_nonzero(cross, axis=1) % 2 == 1), float(y0.mean()), float(x0.mean())


def activity_surges(visit_events: pa.Table, config: Config | None = None,
                    areas: Mapping[str, Sequence] | None = None, data_start=None, data_end=None) -> pa.Table:
    """Activity surge events from port visit and dark port call events.

    Parameters
    ----------
    visit_events
        Events (:data:`~watchkeeper.schema.EVENTS`); ``port_visit`` and ``dark_port_call`` rows are counted.
    config
        Thresholds; the defaults when ``None``.
    areas
        Optional user areas by name: a bbox ``(min_lat, min_lon, max_lat, max_lon)`` or a polygon
        ``[(lat, lon), ...]`` (or a mapping with ``bbox`` or ``polygon``).
    data_start, data_end
        The time span of the data (anything :func:`~watchkeeper.detect.events.to_us` takes); the first and last
        counted event when ``None``.

    Returns
    -------
    pyarrow.Table
        :data:`~watchkeeper.schema.EVENTS` of type ``activity_surge`` with ``mmsi`` 0; details ``week_count``,
        ``baseline_weekly_mean``, ``baseline_weeks``, ``baseline_count``, ``ratio`` (null for an empty
        baseline), ``p_value``, ``test``, ``window_days``, ``counts_by_type``, ``baseline_counts_by_type`` and
        ``port_key`` or ``area``.
    """
    config = config or Config()
    cfg = config.activity_surge
    sha = config.sha256()
    if visit_events.num_rows:  # only the columns used, only the counted types
        import pyarrow.compute as pc

        counted = visit_events.filter(pc.is_in(visit_events["type"], value_set=pa.array(COUNTED)))
        rows = counted.select(["type", "start", "end", "lat", "lon", "port_name", "port_locode", "port_lat",
                               "port_lon"]).to_pylist()
    else:
        rows = []
    if not rows:
        return make_events([], config_sha256=sha, detector_version=VERSION)
    # a port visit counts when it starts (the arrival); a dark port call at the middle of its gap, since the unseen
    # stay lies somewhere inside it and the gap's start is hours before any arrival
    t = np.array([to_us(r["start"]) if r["type"] != "dark_port_call" else (to_us(r["start"]) + to_us(r["end"])) // 2
                  for r in rows], np.int64)
    t_lo = int(t.min()) if data_start is None else min(to_us(data_start), int(t.min()))
    t_hi = int(t.max()) if data_end is None else max(to_us(data_end), int(t.max()))
    win_us = int(cfg.window_days) * _US_DAY
    halves = t_hi - t_lo < 2 * win_us
    if halves:  # short data: the second half against the first
        win_us = max(-(-(t_hi - t_lo) // 2), 1)  # two halves; the last instant belongs to the second
        origin, n_base, min_base = t_lo, 1, 1
    else:
        origin = _ORIGIN_US
        n_base = max(1, int(cfg.baseline_days) // int(cfg.window_days))
        min_base = max(1, math.ceil(float(cfg.min_baseline_fraction) * n_base))
    w = (t - origin) // win_us
    w_first, w_last = int((t_lo - origin) // win_us), int((t_hi - origin) // win_us)
    if halves:
        w, w_last = np.minimum(w, 1), min(w_last, 1)
    is_dark = np.array([r["type"] == "dark_port_call" for r in rows])
    lat = np.array([np.nan if r["lat"] is None else r["lat"] for r in rows], float)
    lon = np.array([np.nan if r["lon"] is None else r["lon"] for r in rows], float)

    # groups: (kind, key, mask, label fields)
    groups = []
    by_key: dict[str, list[int]] = {}
    norm: dict[str, str] = {}
    for i, r in enumerate(rows):
        key = None if r["port_name"] is None else norm.get(r["port_name"])
        if key is None and r["port_name"] is not None:
            key = norm[r["port_name"]] = normalize_name(r["port_name"])
        if key:
            by_key.setdefault(key, []).append(i)
    for key in sorted(by_key):
        members = by_key[key]
        # label: the most common place with a LOCODE, else the most common place
        places = {}
        for i in members:
            r = rows[i]
            pk = (r["port_name"], r["port_locode"], r["port_lat"], r["port_lon"])
            places[pk] = places.get(pk, 0) + 1
        name, locode, plat, plon = min(places, key=lambda p: (p[1] is None, -places[p], str(p)))
        groups.append(({"port": key}, np.asarray(members, np.int64), {"port_name": name, "port_locode": locode, "port_lat": plat,
                                             "port_lon": plon, "lat": plat, "lon": plon}, {"port_key": key}))
    for area_name in sorted(areas or {}):
        ok = np.isfinite(lat) & np.isfinite(lon)
        mask, clat, clon = _area_mask(areas[area_name], np.nan_to_num(lat), np.nan_to_num(lon))
        groups.append(({"area": area_name}, np.flatnonzero(mask & ok), {"lat": clat, "lon": clon},
                       {"area": area_name}))

    nw = w_last - w_first + 1
    events = []
    for extra, members, place, tag in groups:
        counts = np.bincount(w[members] - w_first, minlength=nw)
        dark = np.bincount(w[members[is_dark[members]]] - w_first, minlength=nw)
        csum = np.r_[0, np.cumsum(counts)]
        dsum = np.r_[0, np.cumsum(dark)]
        for j in np.flatnonzero(counts >= int(cfg.min_count)).tolist():
            b0 = max(0, j - n_base)
            nb = j - b0
            if nb < min_base:
                continue
            k, bc = int(counts[j]), int(csum[j] - csum[b0])
            mean = bc / nb
            if k < float(cfg.min_rate_ratio) * mean:
                continue
            p = poisson_rate_test(k, bc, nb)
            if not p < float(cfg.significance_level):
                continue
            bd = int(dsum[j] - dsum[b0])
            start = origin + (w_first + int(j)) * win_us
            details = {**tag, "week_count": k, "baseline_weekly_mean": round(mean, 6), "baseline_weeks": nb,
                       "baseline_count": bc, "ratio": None if mean == 0 else round(k / mean, 6),
                       "p_value": float(f"{p:.6g}"), "test": "poisson_rate_conditional_binomial",
                       "window_days": round(win_us / _US_DAY, 6),
                       "counts_by_type": {"port_visit": k - int(dark[j]), "dark_port_call": int(dark[j])},
                       "baseline_counts_by_type": {"port_visit": bc - bd, "dark_port_call": bd}}
            events.append({"type": "activity_surge", "mmsi": 0, "start": start, "end": start + win_us,
                           **place, "confidence": float(min(1.0, max(0.0, 1.0 - p))), "details": details,
                           "positions": None, "id_extra": extra})
    return make_events(events, config_sha256=sha, detector_version=VERSION)


__all__ = ["COUNTED", "activity_surges", "poisson_rate_test"]
