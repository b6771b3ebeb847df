"""AIS reception estimated from the data itself, per latitude-longitude cell and UTC day.

Rules (thresholds of ``[reception]`` and the ITU-R M.1371 intervals of ``[ais_gap]`` in :mod:`watchkeeper.config`):

* Cells are ``cell_size_deg`` squares of latitude and longitude; days are UTC days.
* A *vessel-hour present* in a cell is an hour (UTC clock hour) in which a track (segment, or MMSI for raw
  positions) was in that cell: either it has a position there, or its straight path between two consecutive
  positions (at most ``reception.max_presence_gap_h`` apart) passes there at the middle of that hour. Implausible rows
  are left out. A vessel-hour is *received* when the track has at least one position in that cell in that hour.
* Per cell and day the grid holds ``presence_h``, ``received_h``, ``n_positions`` and ``nominal_positions`` (what
  the present vessels would have sent at the ITU-R M.1371 interval for their class and speed). Two estimates follow:
  ``hour_reception`` = received_h / presence_h (the chance an hour in the cell yields any position; robust to the
  burstiness of satellite passes) and ``position_reception`` = n_positions / nominal_positions, at most 1 (the
  fraction of transmitted positions that reach the data).
* A lookup sums the counts over ``window_days`` days around the time asked for; a cell with less than
  ``min_presence_h`` vessel-hours in that window has *unknown* reception, treated as none, so silence where nobody
  is received is never evidence.

Everything is vectorised NumPy (sorts, ``np.bincount``, ``np.searchsorted`` on cumulative sums).
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
from numba import njit

from watchkeeper.config import Config
from watchkeeper.geo.sphere import haversine_km, mod_floor
from watchkeeper.tracks.arrays import column_array

# Path samples per gap are one per hour, between these bounds.
MAX_PATH_SAMPLES = 2000
_US_H = 3_600_000_000
_DAY_KEY = 1_000_000  # cell * _DAY_KEY + day (days since 1970 stay below this until year 4707)
_CLASS_B_TYPES = (18, 19)
_ANCHORED_STATUS = (1, 5)  # at anchor, moored

GRID_SCHEMA = pa.schema([
    pa.field("cell", pa.int64(), nullable=False),
    pa.field("day", pa.date32(), nullable=False),
    pa.field("lat", pa.float64(), nullable=False),
    pa.field("lon", pa.float64(), nullable=False),
    pa.field("presence_h", pa.int64(), nullable=False),
    pa.field("received_h", pa.int64(), nullable=False),
    pa.field("n_positions", pa.int64(), nullable=False),
    pa.field("nominal_positions", pa.float64(), nullable=False),
    pa.field("hour_reception", pa.float64(), nullable=False),
    pa.field("position_reception", pa.float64(), nullable=False),
])


_np = column_array  # Arrow column -> NumPy, nulls filled


def track_arrays(table: pa.Table) -> dict[str, np.ndarray]:
    """NumPy columns ordered by (track, time, line): a track is a segment when ``segment_id`` is present, else an
    MMSI. Implausible rows are left out. ``bounds`` holds each track's first row and, last, the number of rows;
    ``track_id`` one id per track; ``speed_kn`` the SOG, or the implied speed where SOG is missing (NaN if none);
    ``class_b`` and ``anchored`` (nav status at anchor or moored) feed the ITU-R reporting interval."""
    from watchkeeper.tracks.arrays import Tracks, as_tracks

    if isinstance(table, Tracks) or "segment_id" in table.column_names:
        return as_tracks(table).plausible
    n = table.num_rows
    if "implausible" in table.column_names and n:
        keep = np.flatnonzero(~_np(table["implausible"], np.bool_, False))
        table = table.take(pa.array(keep, pa.int64()))
    mmsi = _np(table["mmsi"], np.int64, 0)
    if "segment_id" in table.column_names:
        key = np.asarray(table["segment_id"].to_pylist(), dtype=object).astype(str)
    else:
        key = mmsi.astype(str)
    track_id, code = (np.unique(key, return_inverse=True) if len(key)
                      else (np.empty(0, str), np.empty(0, np.int64)))
    ts = _np(table["ts"].cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()), np.int64, 0)
    line = _np(table["line"], np.int64, 0)
    order = np.lexsort((line, ts, code))
    sog = _np(table["sog_kn"], np.float64, np.nan)
    implied = (_np(table["implied_speed_kn"], np.float64, np.nan) if "implied_speed_kn" in table.column_names
               else np.full(len(sog), np.nan))
    msg = _np(table["msg_type"], np.int64, 0)
    status = _np(table["nav_status"], np.int64, -1)
    c = {"mmsi": mmsi, "ts_us": ts, "lat": _np(table["lat"], np.float64, np.nan),
         "lon": _np(table["lon"], np.float64, np.nan), "speed_kn": np.where(np.isfinite(sog), sog, implied),
         "source_id": _np(table["source_id"], np.int64, 0), "line": line, "seg": code.astype(np.int64),
         "class_b": np.isin(msg, _CLASS_B_TYPES), "anchored": np.isin(status, _ANCHORED_STATUS)}
    c = {k: v[order] for k, v in c.items()}
    starts = np.flatnonzero(np.r_[True, c["seg"][1:] != c["seg"][:-1]]) if len(order) else np.empty(0, np.int64)
    c["bounds"] = np.r_[starts, len(order)].astype(np.int64)
    c["track_id"] = track_id
    return c


def reporting_interval_s(config: Config, class_b, speed_kn, anchored=False) -> np.ndarray:
    """Nominal ITU-R M.1371 reporting interval in seconds by class and speed (``[ais_gap]`` thresholds).

    Class A: ``class_a_anchored_interval_s`` when anchored or moored at <= 3 kn, else ``class_a_interval_s``
    to 14 kn, ``class_a_fast_interval_s`` to 23 kn, ``class_a_very_fast_interval_s`` above. Class B:
    ``class_b_slow_interval_s`` at <= 2 kn, ``class_b_interval_s`` above. An unknown (NaN) speed gives the under-way
    Class A interval and the slow Class B interval.
    """
    g = config.ais_gap
    class_b, speed, anchored = np.broadcast_arrays(np.asarray(class_b, bool), np.asarray(speed_kn, float),
                                                   np.asarray(anchored, bool))
    a = np.where(speed > 23, g.class_a_very_fast_interval_s,
                 np.where(speed > 14, g.class_a_fast_interval_s, g.class_a_interval_s))
    a = np.where(anchored & ~(speed > 3), g.class_a_anchored_interval_s, a)
    b = np.where(speed > 2, g.class_b_interval_s, g.class_b_slow_interval_s)
    return np.where(class_b, b, a).astype(np.float64)


def _shape(cell_size_deg: float) -> tuple[int, int]:
    return int(math.ceil(180.0 / cell_size_deg)), int(math.ceil(360.0 / cell_size_deg))


def cell_of(lat, lon, cell_size_deg: float) -> np.ndarray:
    """Cell number (row * columns + column, rows from 90 S, columns from 180 W) of each position."""
    rows, cols = _shape(cell_size_deg)
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    r = np.clip(np.floor((lat + 90.0) / cell_size_deg), 0, rows - 1).astype(np.int64)
    q = np.mod(np.floor((np.mod(lon + 180.0, 360.0)) / cell_size_deg), cols).astype(np.int64)
    return r * cols + q


def _interp(lat0, lon0, lat1, lon1, f):
    dlon = np.mod(lon1 - lon0 + 180.0, 360.0) - 180.0
    return lat0 + f * (lat1 - lat0), np.mod(lon0 + f * dlon + 180.0, 360.0) - 180.0


@njit(cache=True)
def _cells(lat, lon, cell_size_deg, rows, cols):
    """:func:`cell_of` of finite positions, operation for operation."""
    cell = np.empty(lat.shape[0], np.int64)
    for i in range(lat.shape[0]):
        r = min(max(np.floor((lat[i] + 90.0) / cell_size_deg), 0.0), rows - 1.0)
        q = mod_floor(np.floor(mod_floor(lon[i] + 180.0, 360.0) / cell_size_deg), float(cols))
        cell[i] = np.int64(r) * cols + np.int64(q)
    return cell


@njit(cache=True)
def _records(track, hour, cell):
    """Rows ordered by track and time: True at the first row of each (track, hour, cell) record, and there the
    number of rows of the record. A track-hour remembers 64 cells; rows of further cells are records of their own
    (the sums over records stay the same)."""
    n = track.shape[0]
    first = np.zeros(n, np.bool_)
    count = np.zeros(n, np.int64)
    seen = np.empty(64, np.int64)
    seen_row = np.empty(64, np.int64)
    n_seen = 0
    for i in range(n):
        if i == 0 or track[i] != track[i - 1] or hour[i] != hour[i - 1]:
            n_seen = 0
        at = -1
        for k in range(n_seen):
            if seen[k] == cell[i]:
                at = seen_row[k]
                break
        if at >= 0:
            count[at] += 1
        else:
            first[i] = True
            count[i] = 1
            if n_seen < seen.shape[0]:
                seen[n_seen] = cell[i]
                seen_row[n_seen] = i
                n_seen += 1
    return first, count


def reception_grid(positions_or_segmented: pa.Table, config: Config | None = None) -> pa.Table:
    """Reception per cell and UTC day, estimated from all vessels' positions (see the module rules).

    Parameters
    ----------
    positions_or_segmented
        Rows of ``POSITIONS`` (tracks are MMSIs) or of ``SEGMENTED_POSITIONS`` (tracks are segments, implausible
        rows left out).
    config
        Uses ``reception.cell_size_deg``, ``reception.window_days``, ``reception.min_presence_h`` (kept in the
        table's metadata for :func:`path_reception`) and the ``ais_gap`` reporting intervals.

    Returns
    -------
    pyarrow.Table
        :data:`GRID_SCHEMA`, one row per (cell, day) with any presence, sorted by cell and day; ``lat``/``lon``
        the cell centre.
    """
    config = config or Config()
    return grid_from_counts([grid_counts(positions_or_segmented, config)], config)


def grid_counts(positions_or_segmented, config: Config | None = None) -> dict[str, np.ndarray]:
    """The additive part of :func:`reception_grid`: per (cell, day) key (``cell * 1e6 + day``, sorted) the sums
    ``presence_h``, ``received_h``, ``n_positions`` and ``nominal_positions`` of the given tracks.

    Every count is a sum over tracks, so the counts of disjoint sets of tracks (e.g. partitions of the MMSIs)
    add up to the counts of their union: :func:`grid_from_counts` merges them. (``nominal_positions`` sums
    3600 / interval; with the default intervals, which divide an hour, the sums are integers and exact in any
    order.)
    """
    config = config or Config()
    size = float(config.reception.cell_size_deg)
    c = track_arrays(positions_or_segmented)
    t, lat, lon, seg = c["ts_us"], c["lat"], c["lon"], c["seg"]
    hour = np.floor_divide(t, _US_H)

    # hours a track crossed without a position: sample its straight path at the middle of each such hour
    same = seg[1:] == seg[:-1] if len(t) else np.empty(0, bool)
    dt = (t[1:] - t[:-1]) if len(t) else np.empty(0, np.int64)
    k = np.where(same & (dt <= float(config.reception.max_presence_gap_h) * _US_H) & (dt > 0), hour[1:] - hour[:-1] - 1, 0).clip(0)
    i = np.repeat(np.arange(len(k)), k)
    j = np.arange(len(i)) - np.repeat(np.cumsum(k) - k, k)
    ts_mid = (hour[i] + 1 + j) * _US_H + _US_H // 2
    f = (ts_mid - t[i]) / dt[i] if len(i) else np.empty(0)
    s_lat, s_lon = _interp(lat[i], lon[i], lat[i + 1], lon[i + 1], f)
    speed = haversine_km(lat[i], lon[i], lat[i + 1], lon[i + 1]) / 1.852 / (dt[i] / _US_H) if len(i) else np.empty(0)
    s_nominal = 3600.0 / reporting_interval_s(config, c["class_b"][i], speed, c["anchored"][i])

    # one record per (track, cell, hour): received if any position, nominal rate of its first position, and its
    # number of positions. Positions are in time order per track, so the first of each (cell, hour) is found in
    # one pass; path samples lie in hours without any position of their track, so they are records of their own
    # (never received, no positions).
    finite = np.isfinite(lat).all() and np.isfinite(lon).all()
    p_cell = _cells(lat, lon, size, *_shape(size)) if finite else cell_of(lat, lon, size)
    first, count = _records(seg, hour, p_cell)
    rec = np.flatnonzero(first)
    nominal_pos = 3600.0 / reporting_interval_s(config, c["class_b"][rec], c["speed_kn"][rec], c["anchored"][rec])
    u_cell = np.r_[p_cell[rec], cell_of(s_lat, s_lon, size)]
    u_day = np.floor_divide(np.r_[hour[rec], hour[i] + 1 + j], 24)
    u_recv = np.r_[np.ones(len(rec), np.int64), np.zeros(len(i), np.int64)]
    u_nom = np.r_[nominal_pos, s_nominal]
    u_pos = np.r_[count[rec], np.zeros(len(i), np.int64)]

    key = u_cell * _DAY_KEY + u_day
    keys, inv = np.unique(key, return_inverse=True)
    return {"key": keys.astype(np.int64), "presence_h": np.bincount(inv, minlength=len(keys)).astype(np.int64),
            "received_h": np.bincount(inv, weights=u_recv, minlength=len(keys)).astype(np.int64),
            "n_positions": np.bincount(inv, weights=u_pos, minlength=len(keys)).astype(np.int64),
            "nominal_positions": np.bincount(inv, weights=u_nom, minlength=len(keys)).astype(np.float64)}


def grid_from_counts(parts: list[dict[str, np.ndarray]], config: Config | None = None) -> pa.Table:
    """The reception grid (:data:`GRID_SCHEMA`) of the summed :func:`grid_counts` of ``parts``."""
    config = config or Config()
    size = float(config.reception.cell_size_deg)
    if len(parts) == 1:
        keys, presence, received, n_pos, nominal = (parts[0][k] for k in (
            "key", "presence_h", "received_h", "n_positions", "nominal_positions"))
    else:
        keys, inv = np.unique(np.concatenate([p["key"] for p in parts] or [np.empty(0, np.int64)]),
                              return_inverse=True)

        def total(name, dtype):
            v = np.concatenate([p[name] for p in parts]).astype(np.float64)
            return np.bincount(inv, weights=v, minlength=len(keys)).astype(dtype)

        presence, received, n_pos = (total(k, np.int64) for k in ("presence_h", "received_h", "n_positions"))
        nominal = total("nominal_positions", np.float64)
    cell, day = keys // _DAY_KEY, keys % _DAY_KEY
    _, cols = _shape(size)
    clat = -90.0 + (cell // cols + 0.5) * size
    clon = -180.0 + (cell % cols + 0.5) * size
    table = pa.Table.from_arrays([
        pa.array(cell, pa.int64()), pa.array(day.astype(np.int32), pa.int32()).cast(pa.date32()),
        pa.array(clat), pa.array(clon), pa.array(presence), pa.array(received), pa.array(n_pos.astype(np.int64)),
        pa.array(nominal.astype(np.float64)),
        pa.array(received / np.maximum(presence, 1)),
        pa.array(np.minimum(n_pos / np.maximum(nominal, 1e-12), 1.0) if len(keys) else np.empty(0)),
    ], schema=GRID_SCHEMA)
    meta = {"cell_size_deg": str(size), "window_days": str(int(config.reception.window_days)),
            "min_presence_h": str(float(config.reception.min_presence_h))}
    return table.replace_schema_metadata(meta)


def _meta(grid: pa.Table) -> tuple[float, int, float]:
    m = grid.schema.metadata or {}
    cfg = Config().reception
    size = float(m.get(b"cell_size_deg", cfg.cell_size_deg))
    return size, int(m.get(b"window_days", cfg.window_days)), float(m.get(b"min_presence_h", cfg.min_presence_h))


def path_reception(grid: pa.Table, lat0, lon0, lat1, lon1, t0, t1, class_b=False, speed_kn=np.nan,
                   anchored=False, config: Config | None = None) -> dict[str, np.ndarray]:
    """Reception along straight paths from (lat0, lon0) at t0 to (lat1, lon1) at t1 (times: integer microseconds
    since 1970 UTC); all arguments broadcast to one shape, one path each.

    Each path is sampled at the middle of ``n`` equal parts (``n`` = hours rounded up, 1 to
    :data:`MAX_PATH_SAMPLES`); each sample looks up its cell's counts summed over ``window_days`` days around its
    day. Returns arrays of that shape:

    ``expected_positions``
        sum over samples of position_reception x part length x 3600 / ITU-R interval (class, speed).
    ``log_p_silence``
        natural log of the chance of no position at all: the larger (less certain) of the hour-level estimate
        sum(part_h x log(1 - hour_reception)) and the Poisson estimate -expected_positions.
    ``known_fraction``
        fraction of the path in cells of known reception (presence >= ``min_presence_h``).
    ``hour_reception``
        mean hour-level reception along the path (unknown cells count as 0).
    """
    config = config or Config()
    size, window, min_presence = _meta(grid)
    arrs = np.broadcast_arrays(*(np.asarray(a) for a in (lat0, lon0, lat1, lon1, t0, t1, class_b, speed_kn,
                                                         anchored)))
    shape = arrs[0].shape
    lat0, lon0, lat1, lon1, t0, t1, class_b, speed_kn, anchored = (a.ravel() for a in arrs)
    t0, t1 = t0.astype(np.int64), t1.astype(np.int64)
    dur_h = np.maximum(t1 - t0, 0) / _US_H
    n = np.clip(np.ceil(dur_h), 1, MAX_PATH_SAMPLES).astype(np.int64)
    g = np.repeat(np.arange(len(n)), n)
    j = np.arange(len(g)) - np.repeat(np.cumsum(n) - n, n)
    f = (j + 0.5) / n[g]
    s_lat, s_lon = _interp(lat0[g].astype(float), lon0[g].astype(float), lat1[g].astype(float),
                           lon1[g].astype(float), f)
    s_day = np.floor_divide(t0[g] + (f * (t1[g] - t0[g])).astype(np.int64), _US_H * 24)
    part_h = dur_h[g] / n[g]

    cell = grid["cell"].to_numpy()
    day = grid["day"].cast(pa.int32()).to_numpy().astype(np.int64)
    keys = cell * _DAY_KEY + day
    cs = {k: np.r_[0.0, np.cumsum(grid[k].to_numpy().astype(np.float64))]
          for k in ("presence_h", "received_h", "n_positions", "nominal_positions")}
    s_cell = cell_of(s_lat, s_lon, size)
    d0 = s_day - window // 2
    lo = np.searchsorted(keys, s_cell * _DAY_KEY + d0, "left")
    hi = np.searchsorted(keys, s_cell * _DAY_KEY + d0 + window - 1, "right")
    tot = {k: v[hi] - v[lo] for k, v in cs.items()}
    known = tot["presence_h"] >= max(min_presence, 1e-9)
    p_hour = np.where(known, tot["received_h"] / np.maximum(tot["presence_h"], 1e-12), 0.0)
    p_msg = np.where(known, np.minimum(tot["n_positions"] / np.maximum(tot["nominal_positions"], 1e-12), 1.0), 0.0)
    rate_h = 3600.0 / reporting_interval_s(config, class_b[g], speed_kn[g], anchored[g])
    m = len(n)
    expected = np.bincount(g, weights=p_msg * part_h * rate_h, minlength=m)
    log_hour = np.bincount(g, weights=part_h * np.log1p(-np.minimum(p_hour, 0.999)), minlength=m)
    known_part = np.bincount(g, weights=part_h * known, minlength=m)
    hour_part = np.bincount(g, weights=part_h * p_hour, minlength=m)
    safe = np.maximum(dur_h, 1e-12)
    out = {"expected_positions": expected, "log_p_silence": np.maximum(log_hour, -expected),
           "known_fraction": np.where(dur_h > 0, known_part / safe, 0.0),
           "hour_reception": np.where(dur_h > 0, hour_part / safe, 0.0)}
    return {k: v.reshape(shape) for k, v in out.items()}


def expected_positions(grid: pa.Table, lat, lon, t0, t1, vessel_class: str | np.ndarray = "A", speed_kn=np.nan,
                       anchored=False, config: Config | None = None):
    """Positions the reception of ``grid`` and the vessel's class (``"A"`` or ``"B"``) and speed would have
    produced on the straight path from ``(lat[0], lon[0])`` at ``t0`` to ``(lat[1], lon[1])`` at ``t1`` (times as
    integer microseconds since 1970 UTC, or anything :func:`watchkeeper.detect.events.to_us` takes when scalar)."""
    from watchkeeper.detect.events import to_us

    t0 = t0 if isinstance(t0, np.ndarray) else to_us(t0)
    t1 = t1 if isinstance(t1, np.ndarray) else to_us(t1)
    class_b = np.char.upper(np.asarray(vessel_class, dtype=str)) == "B"
    out = path_reception(grid, lat[0], lon[0], lat[1], lon[1], t0, t1, class_b, speed_kn, anchored, config)
    e = out["expected_positions"]
    return float(e) if e.ndim == 0 else e
