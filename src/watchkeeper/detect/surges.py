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
import pyarrow.compute as pc

from watchkeeper.config import Config
from watchkeeper.detect.events import make_events, to_us
from watchkeeper.geo.names import normalize_name
from watchkeeper.tracks.arrays import column_array as _np

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
    counted = None
    if visit_events.num_rows:  # only the columns used, only the counted types
        counted = visit_events.filter(pc.is_in(visit_events["type"], value_set=pa.array(COUNTED)))
    if counted is None or not counted.num_rows:
        return make_events([], config_sha256=sha, detector_version=VERSION)
    # column arrays (one row per counted event); Python runs per distinct port name and per place only
    is_dark = _np(pc.equal(counted["type"], "dark_port_call"), np.bool_, False)
    start, end = _np(counted["start"], np.int64, 0), _np(counted["end"], np.int64, 0)
    # a port visit counts when it starts (the arrival); a dark port call at the middle of its gap, since the unseen
    # stay lies somewhere inside it and the gap's start is hours before any arrival
    t = np.where(is_dark, (start + end) // 2, start)
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
    lat, lon = _np(counted["lat"], np.float64, np.nan), _np(counted["lon"], np.float64, np.nan)

    # groups: (kind, key, mask, label fields); a port's key is its normalised name (one call per distinct name)
    groups = []
    names = pc.dictionary_encode(counted["port_name"].combine_chunks())
    keys = [None if n is None else (normalize_name(n) or None) for n in names.dictionary.to_pylist()]
    key_names = sorted({k for k in keys if k is not None})
    rank = {k: i for i, k in enumerate(key_names)}
    key_code = np.array([-1 if k is None else rank[k] for k in keys] + [-1], np.int64)  # [-1]: a null name
    row_key = key_code[pc.fill_null(names.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)]
    by_key = np.argsort(row_key, kind="stable")  # rows of each key together, in row order
    bounds = np.searchsorted(row_key[by_key], np.arange(len(key_names) + 1))
    # places per key with their counts: (name, locode, lat, lon) -> number of rows
    place_cols = counted.select(["port_name", "port_locode", "port_lat", "port_lon"]).append_column(
        "key", pa.array(row_key))
    place_counts = place_cols.filter(pc.greater_equal(place_cols["key"], 0)).group_by(
        ["key", "port_name", "port_locode", "port_lat", "port_lon"], use_threads=False).aggregate([([], "count_all")])
    places: dict[int, dict[tuple, int]] = {}
    for r in place_counts.to_pylist():
        places.setdefault(r["key"], {})[(r["port_name"], r["port_locode"], r["port_lat"], r["port_lon"])] = \
            r["count_all"]
    for code, key in enumerate(key_names):
        members = by_key[bounds[code]:bounds[code + 1]]
        # label: the most common place with a LOCODE, else the most common place
        pl = places[code]
        name, locode, plat, plon = min(pl, key=lambda p: (p[1] is None, -pl[p], str(p)))
        groups.append(({"port": key}, members.astype(np.int64), {"port_name": name, "port_locode": locode,
                                                                 "port_lat": plat, "port_lon": plon, "lat": plat,
                                                                 "lon": plon}, {"port_key": key}))
    for area_name in sorted(areas or {}):
        ok = np.isfinite(lat) & np.isfinite(lon)
        mask, clat, clon = _area_mask(areas[area_name], np.nan_to_num(lat), np.nan_to_num(lon))
        groups.append(({"area": area_name}, np.flatnonzero(mask & ok), {"lat": clat, "lon": clon},
                       {"area": area_name}))

    nw = w_last - w_first + 1
    # the count of every (group, window) with events, at once: one sorted key per counted row and group
    lengths = np.array([len(m) for _, m, _, _ in groups], np.int64)
    members = np.concatenate([m for _, m, _, _ in groups]) if groups else np.empty(0, np.int64)
    key = np.repeat(np.arange(len(groups), dtype=np.int64), lengths) * nw + (w[members] - w_first)
    uk, inv = np.unique(key, return_inverse=True)
    counts = np.bincount(inv, minlength=len(uk))
    dark = np.bincount(inv, weights=is_dark[members], minlength=len(uk)).astype(np.int64)
    csum, dsum = np.r_[0, np.cumsum(counts)], np.r_[0, np.cumsum(dark)]

    def before(k):  # the counts (and dark ones) of all keys below k
        i = np.searchsorted(uk, k)
        return csum[i], dsum[i]

    # the windows with enough events and enough baseline, then the rate ratio (the arithmetic of the rule)
    cand = np.flatnonzero(counts >= int(cfg.min_count))
    g, j = uk[cand] // nw, uk[cand] % nw
    b0 = np.maximum(0, j - n_base)
    nb = j - b0
    ok = nb >= min_base
    cand, g, j, b0, nb = cand[ok], g[ok], j[ok], b0[ok], nb[ok]
    (c_j, d_j), (c_b0, d_b0) = before(g * nw + j), before(g * nw + b0)
    bc, bd = c_j - c_b0, d_j - d_b0
    mean = bc / nb
    ok = ~(counts[cand] < float(cfg.min_rate_ratio) * mean)
    events = []
    for c, gi, jj, nbi, bci, bdi, mi in zip(cand[ok].tolist(), g[ok].tolist(), j[ok].tolist(), nb[ok].tolist(),
                                            bc[ok].tolist(), bd[ok].tolist(), mean[ok].tolist()):
        k = int(counts[c])
        p = poisson_rate_test(k, bci, nbi)
        if not p < float(cfg.significance_level):
            continue
        extra, _, place, tag = groups[gi]
        dk = int(dark[c])
        start = origin + (w_first + jj) * win_us
        details = {**tag, "week_count": k, "baseline_weekly_mean": round(mi, 6), "baseline_weeks": nbi,
                   "baseline_count": bci, "ratio": None if mi == 0 else round(k / mi, 6),
                   "p_value": float(f"{p:.6g}"), "test": "poisson_rate_conditional_binomial",
                   "window_days": round(win_us / _US_DAY, 6),
                   "counts_by_type": {"port_visit": k - dk, "dark_port_call": dk},
                   "baseline_counts_by_type": {"port_visit": bci - bdi, "dark_port_call": bdi}}
        events.append({"type": "activity_surge", "mmsi": 0, "start": start, "end": start + win_us,
                       **place, "confidence": float(min(1.0, max(0.0, 1.0 - p))), "details": details,
                       "positions": None, "id_extra": extra})
    return make_events(events, config_sha256=sha, detector_version=VERSION)


__all__ = ["COUNTED", "activity_surges", "poisson_rate_test"]
