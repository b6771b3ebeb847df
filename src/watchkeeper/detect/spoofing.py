"""``position_jump`` events: impossible excursions that return, positions on land, and GNSS default positions.

Rules (thresholds in ``watchkeeper.config`` sections ``position_jump`` and ``tracks``), all over the output of
:func:`watchkeeper.tracks.segment`:

* **speed** -- the segmenter flags a row ``implausible`` when it is reached from the MMSI's previous row only
  beyond the class maximum (``max_speed_class_a_kn`` / ``max_speed_class_b_kn``, farther than
  ``min_distance_km``) and continues no open segment; such a row starts a segment of its own. A jump is a
  stretch of consecutive rows of the MMSI that starts with such a row and forms a *whole* segment (the
  segment has no rows elsewhere, so it is not a second transmitter interleaving with the first), after which
  the MMSI's next row continues the segment that preceded the stretch within ``max_return_h``
  (``returned`` = true). A stretch at the end of the MMSI's data with fewer than
  ``tracks.min_segment_positions`` rows is reported with ``returned`` = false and lower confidence; longer
  unreturned stretches are left to segmentation (another transmitter).
* **on_land** -- consecutive rows of one segment lying more than ``tracks.land_tolerance_km`` inside the
  coastline (:meth:`watchkeeper.geo.coast.Coast.on_land`) and not on inland water (:func:`inland_water`): the
  generalised land polygons fill rivers, canals and lakes (the Suez Canal, the Rhine, the Great Lakes), so a row
  within ``inland_water_place_km`` of a port or anchorage, or in a cell (``inland_water_cell_deg``) where at
  least ``inland_water_min_vessels`` other vessels have plausible positions, is taken as a waterway; and only a
  stretch with a row of its own segment at sea before or after it, or one reached by an impossible jump, is
  reported (a plausible segment wholly on land, e.g. a vessel on the Yangtze or Lake Vattern, is an
  inland-waterway track the polygons cannot show, not a spoof).
* **null_island** -- consecutive rows of one segment at exactly 0 N 0 E, the value of an unset GNSS position.
* **frozen_position** -- at least ``min_gnss_loss_positions`` consecutive rows of one segment with exactly the
  same latitude and longitude while every one reports a speed over ground of at least
  ``frozen_min_sog_kn``: positions are resolved to 1/10000 minute (about 0.2 m), so a ship really moving
  at that speed cannot repeat its position; a receiver that lost its fix and repeats the last one can.

Reports with no position at all (lat 91 / lon 181) never reach the segmented table, so runs of them are not
judged here. A speed stretch whose every row is already reported as on land or null island is not reported a
second time. The kernels are NumPy over the sorted arrays; Python runs once per event.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from watchkeeper.config import Config
from watchkeeper.detect.events import make_events
from watchkeeper.geo.sphere import haversine_km
from watchkeeper.tracks.arrays import as_tracks, run_rows, stable_order

VERSION = "position_jump/1"
KM_PER_NM = 1.852
_CONFIDENCE = {"speed": 0.9, "speed_unreturned": 0.5, "on_land": 0.9, "null_island": 0.95, "frozen_position": 0.7}


def columns(segmented) -> dict[str, np.ndarray]:
    """The arrays the detectors read from a segmented table (rows in its order), with ``seg`` a segment code: the
    ``rows`` view of :class:`watchkeeper.tracks.arrays.Tracks`."""
    return as_tracks(segmented).rows


def runs(mask: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last index (inclusive) of each run of consecutive true ``mask`` values with equal ``group``."""
    idx = np.flatnonzero(mask)
    if not len(idx):
        return idx, idx
    brk = np.r_[True, (np.diff(idx) != 1) | (group[idx[1:]] != group[idx[:-1]])]
    return idx[brk], idx[np.r_[brk[1:], True]]


def ref(c: dict[str, np.ndarray], i: int, role: str) -> dict:
    return {"mmsi": int(c["mmsi"][i]), "source_id": int(c["source_id"][i]), "line": int(c["line"][i]), "role": role}


def _inland_cell(lat, lon, size: float) -> np.ndarray:
    return (np.floor((lat + 90.0) / size).astype(np.int64) * int(math.ceil(360.0 / size) + 1)
            + np.floor((lon + 180.0) / size).astype(np.int64))


def inland_cell_vessels(tracks, config: Config, cells: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The MMSIs with plausible positions in each ``inland_water_cell_deg`` cell: ``(cells, n_vessels)``, cells
    sorted; only the given ``cells`` when not ``None``. Counts of disjoint sets of MMSIs (partitions of the
    MMSIs) add up to the counts of their union."""
    size = float(config.position_jump.inland_water_cell_deg)
    c = tracks.rows
    lat, lon = c["lat"], c["lon"]
    ok = ~c["implausible"] & np.isfinite(lat) & np.isfinite(lon)
    all_cells = _inland_cell(lat[ok], lon[ok], size)
    mmsi = c["mmsi"][ok]
    if cells is not None:
        sel = np.isin(all_cells, cells)
        all_cells, mmsi = all_cells[sel], mmsi[sel]
    if not len(all_cells):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    # distinct (cell, MMSI) pairs as one int64 key (MMSIs are below 2^30), then MMSIs per cell; rows come by
    # vessel and time, so most repeat the pair before them: those go first, the sort sees the rest
    pairs = (all_cells << 30) | (mmsi & ((1 << 30) - 1))
    pairs = np.unique(pairs[np.r_[True, pairs[1:] != pairs[:-1]]])
    return np.unique(pairs >> 30, return_counts=True)


def inland_water(tracks, rows: np.ndarray, gazetteer, config: Config,
                 cell_vessels: tuple[np.ndarray, np.ndarray] | None = None, pending: list | None = None) -> np.ndarray:
    """Which of ``rows`` (table rows of ``tracks``, on land) are on inland water used by shipping: near a port or
    anchorage, or in a cell where at least ``inland_water_min_vessels`` other MMSIs have plausible positions
    (``[position_jump]``). ``cell_vessels`` are the :func:`inland_cell_vessels` of every vessel when the tracks
    are only part of them (a partition of the MMSIs). ``pending``, when a list, receives the rows found not on
    inland water by the vessel counts alone (an array): counts of more vessels could make them water."""
    pj = config.position_jump
    c = tracks.rows
    lat, lon = c["lat"], c["lon"]
    radius = float(pj.inland_water_place_km)
    # plausible rows: the shared nearest-place search; implausible ones (few) on their own
    p = tracks.plausible
    where = np.full(len(lat), -1, np.int64)
    where[p["row"]] = np.arange(len(p["row"]))
    place_km = np.full(len(rows), np.nan)
    known = where[rows] >= 0
    place_km[known] = tracks.nearest_place(gazetteer, radius)[1][where[rows[known]]]
    place_km[~known] = gazetteer.nearest(lat[rows[~known]], lon[rows[~known]], radius)[1]
    water = np.isfinite(place_km)
    rest = np.flatnonzero(~water)
    if len(rest):
        want = inland_cells(lat[rows[rest]], lon[rows[rest]], config)
        water[rest] = counted_water(inland_cell_vessels(tracks, config, want) if cell_vessels is None
                                    else cell_vessels, want, config)
        if pending is not None:
            pending.append(rows[rest[~water[rest]]])
    return water


def inland_cells(lat, lon, config: Config) -> np.ndarray:
    """The ``inland_water_cell_deg`` cell of each position (as :func:`inland_cell_vessels` counts them)."""
    return _inland_cell(np.asarray(lat, np.float64), np.asarray(lon, np.float64),
                        float(config.position_jump.inland_water_cell_deg))


def counted_water(cell_vessels: tuple[np.ndarray, np.ndarray], want: np.ndarray, config: Config) -> np.ndarray:
    """Which cells ``want`` (:func:`inland_cells`) are inland water by the vessel counts ``cell_vessels``
    (:func:`inland_cell_vessels`): at least ``inland_water_min_vessels`` MMSIs besides the vessel itself (which
    may be one of its cell's MMSIs)."""
    cells, n_vessels = cell_vessels
    if not len(cells):
        return np.zeros(len(want), bool)
    k = np.searchsorted(cells, want).clip(0, len(cells) - 1)
    return (cells[k] == want) & (n_vessels[k] - 1 >= int(config.position_jump.inland_water_min_vessels))


def position_jumps(segmented: pa.Table, coast, config: Config | None = None, gazetteer=None,
                   cell_vessels: tuple[np.ndarray, np.ndarray] | None = None, pending: list | None = None) -> pa.Table:
    """Position jumps, positions on land and GNSS default positions (``position_jump`` events).

    Parameters
    ----------
    segmented
        Output of :func:`watchkeeper.tracks.segment` (rows sorted by mmsi and time); not modified.
    coast
        A :class:`watchkeeper.geo.coast.Coast` (e.g. ``Coast.default()``).
    gazetteer
        Ports and anchorages, for positions on land that are on rivers, canals and lakes
        (:func:`inland_water`); the vendored default when ``None``.
    config
        Thresholds; the defaults when ``None``.
    cell_vessels
        :func:`inland_cell_vessels` of every vessel, when ``segmented`` holds only some of them (the partitioned
        engine); counted from ``segmented`` when ``None``.
    pending
        When a list, receives the rows on land that the vessel counts of ``cell_vessels`` left off inland water
        (see :func:`inland_water`): with the counts of only some vessels, the events of these rows' MMSIs may
        change once all vessels are counted. Each MMSI's events depend on its own rows only.

    Returns
    -------
    pyarrow.Table
        :data:`~watchkeeper.schema.EVENTS`: one event per stretch, ``start``/``end`` its first and last row,
        ``lat``/``lon`` its first position, ``segment_id`` its segment, refs to its first and last rows (and for a
        speed jump the farthest row as ``key``). ``details.rule`` is ``speed``, ``on_land``, ``null_island`` or
        ``frozen_position``; every rule gives ``n_positions``; ``speed`` adds ``max_implied_speed_kn``,
        ``jump_distance_km`` (farthest row from the last position before the stretch) and ``returned``;
        ``on_land`` adds ``max_inland_km``.
    """
    config = config or Config()
    pj, tr = config.position_jump, config.tracks
    c = columns(segmented)
    n = len(c["mmsi"])
    out: list[dict] = []
    if n == 0:
        return make_events(out, config_sha256=config.sha256(), detector_version=VERSION)
    lat, lon, seg, t_h = c["lat"], c["lon"], c["seg"], c["ts"] / 3.6e9

    # per-segment rules run in segment-contiguous order (stable, so time order inside a segment)
    order = stable_order(seg)
    null_island = (lat == 0.0) & (lon == 0.0)
    if gazetteer is None:
        from watchkeeper.geo.gazetteer import load_gazetteer

        gazetteer = load_gazetteer()
    tracks = as_tracks(segmented)
    on_land = np.zeros(n, bool)
    cand = ~null_island & np.isfinite(lat) & np.isfinite(lon)
    # rows near a port or anchorage are inland water whatever the land polygons say: skip the polygon test there
    p = tracks.plausible
    cand[p["row"][np.isfinite(tracks.nearest_place(gazetteer, float(pj.inland_water_place_km))[1])]] = False
    on_land[cand] = np.asarray(coast.on_land(lat[cand], lon[cand], buffer_m=float(tr.land_tolerance_km) * 1000.0))
    land_rows = np.flatnonzero(on_land)
    if len(land_rows):
        on_land[land_rows[inland_water(tracks, land_rows, gazetteer, config, cell_vessels, pending)]] = False
    # an on-land stretch is evidence only against the vessel's own sea track: a segment entirely on land (a
    # vessel on a river, canal or lake the land polygons fill, e.g. the Yangtze, Lake Vattern, a fjord) says
    # nothing, so a stretch must have a row of its segment at sea before or after it
    first, last = runs(on_land[order], seg[order])
    o_seg_all = seg[order]
    before_sea = (first > 0) & (o_seg_all[np.maximum(first - 1, 0)] == o_seg_all[first])
    after_sea = (last < n - 1) & (o_seg_all[np.minimum(last + 1, n - 1)] == o_seg_all[last])
    # ... or it began with a jump onto land (an implausible row: the track came from elsewhere)
    at_sea = before_sea | after_sea | c["implausible"][order[first]]
    reported = np.zeros(n, bool)
    for a, b in zip(first[at_sea], last[at_sea]):
        reported[order[a:b + 1]] = True
    for rule, mask in (("on_land", reported), ("null_island", null_island)):
        first, last = runs(mask[order], seg[order])
        if rule == "on_land" and len(first):
            # one distance query for every on-land row, reduced per run (rows of a run are contiguous in `order`)
            pos, _, offset = run_rows(first, last)
            rows = order[pos]
            d = np.asarray(coast.distance_to_shore_km(lat[rows], lon[rows]), dtype=float)
            inland = np.fmax(-np.minimum.reduceat(np.where(np.isnan(d), np.inf, d), offset), 0.0)
        for k, (a, b) in enumerate(zip(first, last)):
            details = {"rule": rule, "n_positions": int(b - a + 1)}
            if rule == "on_land":
                details["max_inland_km"] = round(float(inland[k]) if np.isfinite(inland[k]) else 0.0, 3)
            out.append(_event(c, order[a], order[b], rule, _CONFIDENCE[rule], details))

    o_lat, o_lon, o_seg, o_sog = lat[order], lon[order], seg[order], c["sog"][order]
    frozen_kn = float(pj.frozen_min_sog_kn)
    same = np.zeros(n, bool)
    same[1:] = (o_seg[1:] == o_seg[:-1]) & (o_lat[1:] == o_lat[:-1]) & (o_lon[1:] == o_lon[:-1]) & (
        o_sog[1:] >= frozen_kn) & (o_sog[:-1] >= frozen_kn) & ~null_island[order][1:]
    f_first, f_last = runs(same, o_seg)
    long_run = f_last - f_first + 2 >= int(pj.min_gnss_loss_positions)  # the run repeats the row before it
    for a, b in zip(f_first[long_run].tolist(), f_last[long_run].tolist()):
        rows = order[a - 1:b + 1]
        out.append(_event(c, rows[0], rows[-1], "frozen_position", _CONFIDENCE["frozen_position"],
                          {"rule": "frozen_position", "n_positions": len(rows),
                           "min_sog_kn": round(float(np.nanmin(c["sog"][rows])), 2)}))

    out.extend(_speed_jumps(c, t_h, reported | null_island, config))
    return make_events(out, config_sha256=config.sha256(), detector_version=VERSION)


def _speed_jumps(c: dict[str, np.ndarray], t_h: np.ndarray, covered: np.ndarray, config: Config) -> list[dict]:
    pj, tr = config.position_jump, config.tracks
    mmsi, seg, lat, lon = c["mmsi"], c["seg"], c["lat"], c["lon"]
    n = len(mmsi)
    # runs of consecutive rows of one MMSI in one segment, in the table's (mmsi, time) order
    brk = np.r_[True, (mmsi[1:] != mmsi[:-1]) | (seg[1:] != seg[:-1])]
    rs = np.flatnonzero(brk)
    re = np.r_[rs[1:], n] - 1
    run_seg, run_mmsi = seg[rs], mmsi[rs]
    whole = np.bincount(run_seg, minlength=int(seg.max()) + 1)[run_seg] == 1
    has_prev = np.r_[False, run_mmsi[1:] == run_mmsi[:-1]]
    has_next = np.r_[run_mmsi[:-1] == run_mmsi[1:], False]
    prev_seg = np.r_[-1, run_seg[:-1]]
    next_seg = np.r_[run_seg[1:], -2]
    before = np.maximum(rs - 1, 0)
    after = np.minimum(re + 1, n - 1)
    returned = has_prev & has_next & (next_seg == prev_seg) & (t_h[after] - t_h[before] <= pj.max_return_h)
    at_end = ~has_next & (re - rs + 1 < tr.min_segment_positions)
    keep = c["implausible"][rs] & whole & has_prev & (returned | at_end)
    if not keep.any():
        return []
    # farthest row of each kept stretch from the last position before it (only the kept runs' rows)
    kept = np.flatnonzero(keep)
    rows, owner, offset = run_rows(rs[kept], re[kept])
    dist = haversine_km(lat[before[kept]][owner], lon[before[kept]][owner], lat[rows], lon[rows])
    far = np.zeros(len(rs), np.int64)
    jump_km = np.zeros(len(rs))
    jump_km[kept] = np.maximum.reduceat(dist, offset)
    far_pos = np.flatnonzero(dist == jump_km[kept][owner])
    far[kept[owner[far_pos][::-1]]] = rows[far_pos][::-1]  # first farthest row of each run
    # speeds: into the stretch, inside it, and back out when it returned
    v_in, v_out = np.full(len(rs), np.nan), np.full(len(rs), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        b_, s_, e_, a_ = before[kept], rs[kept], re[kept], after[kept]
        v_in[kept] = haversine_km(lat[b_], lon[b_], lat[s_], lon[s_]) / KM_PER_NM / (t_h[s_] - t_h[b_])
        v_out[kept] = haversine_km(lat[e_], lon[e_], lat[a_], lon[a_]) / KM_PER_NM / (t_h[a_] - t_h[e_])
    v_out = np.where(returned, v_out, np.nan)
    inner = c["speed"]
    out = []
    for k in np.flatnonzero(keep):
        a, b = int(rs[k]), int(re[k])
        if covered[a:b + 1].all():
            continue  # every row is reported by the on-land or null-island rule
        speeds = np.r_[v_in[k], v_out[k], inner[a + 1:b + 1]]
        speeds = speeds[np.isfinite(speeds)]
        ret = bool(returned[k])
        details = {"rule": "speed", "n_positions": int(b - a + 1), "returned": ret,
                   "max_implied_speed_kn": round(float(speeds.max()), 1) if len(speeds) else None,
                   "jump_distance_km": round(float(jump_km[k]), 3)}
        conf = _CONFIDENCE["speed" if ret else "speed_unreturned"]
        out.append(_event(c, a, b, "speed", conf, details, key=int(far[k])))
    return out


def _event(c, first: int, last: int, rule: str, confidence: float, details: dict, key: int | None = None) -> dict:
    refs = [ref(c, first, "first")]
    if last != first:
        refs.append(ref(c, last, "last"))
    if key is not None and key not in (first, last):
        refs.append(ref(c, key, "key"))
    return {"type": "position_jump", "mmsi": int(c["mmsi"][first]), "start": int(c["ts"][first]),
            "end": int(c["ts"][last]), "lat": float(c["lat"][first]), "lon": float(c["lon"][first]),
            "confidence": confidence, "details": details, "positions": {"n": details["n_positions"], "refs": refs},
            "segment_id": str(c["seg_names"][c["seg"][first]]), "id_extra": {"rule": rule}}
