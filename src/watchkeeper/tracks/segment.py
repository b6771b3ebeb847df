"""Split each MMSI's positions into segments of kinematically compatible points (one per transmitter).

In the spirit of Global Fishing Watch's segmenter (``GlobalFishingWatch/gpsdio-segment: matcher.py``): the points
of one MMSI are scanned in time order while a few segments stay open. A point continues the open segment it is
compatible with - the great-circle distance from that segment's last point is at most ``segment_max_speed_kn`` x
(elapsed time + ``segment_buffer_h``) - choosing the one with the smallest time-scaled discrepancy; otherwise it
opens a new segment. Segments silent for longer than ``tracks.max_silence_h`` are closed. See
``docs/tracks.md`` for the thresholds, the Class A/B and type 27 rules, and the limitations.

The scan is one compiled (numba) pass over sorted arrays; sorting and deduplication are NumPy/Arrow, so the cost is
that of two sorts plus a linear pass.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from watchkeeper.geo.sphere import EARTH_RADIUS_KM
from watchkeeper.schema import POSITIONS
from watchkeeper.tracks.arrays import column_array, key_order

KM_PER_NM = 1.852
# At most this many segments of one MMSI stay open at once; when a new one opens, the one silent longest closes.
# More than two or three transmitters on one MMSI at the same time is very rare; 8 bounds the work per point.
MAX_OPEN_SEGMENTS = 8
# Type 27 positions have 1/10 minute resolution (about 185 m in latitude): distances to or from one are reduced by
# this much before they are judged, so rounding alone never makes a point look incompatible.
TYPE27_SLACK_KM = 0.2

SEGMENTED_POSITIONS = pa.schema(
    list(POSITIONS)
    + [
        pa.field("segment_id", pa.string(), nullable=False, metadata={
            "unit": "", "doc": "Deterministic id of the segment (transmitter track) the row belongs to: "
                               "'{mmsi}-{first UTC second, YYYYMMDDTHHMMSS}-{n}', n counting segments of the MMSI "
                               "that start in the same second."}),
        pa.field("implied_speed_kn", pa.float64(), metadata={
            "unit": "kn", "doc": "Great-circle distance over elapsed time from the previous row of the same "
                                 "segment; null for a segment's first row or when no time elapsed."}),
        pa.field("implausible", pa.bool_(), nullable=False, metadata={
            "unit": "flag", "doc": "The row is reached from the MMSI's previous row only at a speed beyond its class "
                                   "maximum (position_jump.max_speed_class_*_kn) and continues no open segment "
                                   "plausibly; flagged, never removed."}),
    ]
)

_CLASS_B_TYPES = (18, 19)
_CLASS_A_TYPES = (1, 2, 3)
# class (0 neither, 1 Class A, 2 Class B) of each message type, indexed by the type's int8 value read as uint8
_CLASS_OF_TYPE = np.zeros(256, np.int8)
_CLASS_OF_TYPE[list(_CLASS_A_TYPES)] = 1
_CLASS_OF_TYPE[list(_CLASS_B_TYPES)] = 2


@njit(cache=True, inline="always")
def _haversine_km(p1, cos1, lon1, p2, cos2, lon2):
    """:func:`watchkeeper.geo.sphere.haversine_km_scalar` from the latitudes in radians and their cosines (computed
    once per row), operation for operation the same, so the same result to the bit."""
    dl = math.radians(lon2 - lon1)
    h = math.sin((p2 - p1) / 2) ** 2 + cos1 * cos2 * math.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(max(h, 0.0), 1.0)))


@njit(cache=True)
def _scan(mmsi, t_s, lat, lon, cls, is27, max_speed_kn, buffer_h, mismatch_weight, max_gap_h, type27_gap_h,
          max_a_kn, max_b_kn, min_jump_km, max_open, jump_max_h):
    """Assign each row (sorted by mmsi, time) a segment number; return (seg, implied_speed_kn, implausible, starts,
    step_km, step_from): ``step_km`` the distance from ``step_from``, the row of the same segment the implied speed
    was measured from (NaN and -1 for a segment's first row).

    ``cls``: 0 unknown or neither class, 1 Class A, 2 Class B. ``starts`` holds the first row of each segment.
    A segment that began with an implausible row after another segment's last row and is left when the track
    returns to that other segment (a returned jump, or a second transmitter) stays open only ``jump_max_h``
    (``tracks.returned_max_silence_h``) of silence instead of ``max_gap_h``, so a later jump (anywhere within reach
    by then) cannot continue it.
    """
    n = mmsi.shape[0]
    seg = np.empty(n, np.int64)
    speed = np.full(n, np.nan)
    step_km = np.full(n, np.nan)
    step_from = np.full(n, -1, np.int64)
    implausible = np.zeros(n, np.bool_)
    starts = np.empty(n, np.int64)
    returned = np.zeros(n, np.bool_)
    n_seg = 0
    slot_seg = np.empty(max_open, np.int64)
    slot_last = np.empty(max_open, np.int64)
    n_open = 0
    prev = -1
    # each row's latitude in radians and its cosine, for the distances (as haversine_km_scalar computes them)
    rad = np.empty(n)
    cos_lat = np.empty(n)
    for i in range(n):
        rad[i] = math.radians(lat[i])
        cos_lat[i] = math.cos(rad[i])
    slot_km = np.empty(max_open)  # distance from each open segment's last row to the current row
    for i in range(n):
        if i == 0 or mmsi[i] != mmsi[i - 1]:
            n_open = 0
            prev = -1
        # close segments silent for too long (keep the slots compact)
        j = 0
        while j < n_open:
            limit = jump_max_h if returned[slot_seg[j]] else max_gap_h
            if (t_s[i] - t_s[slot_last[j]]) / 3600.0 > limit:
                n_open -= 1
                slot_seg[j] = slot_seg[n_open]
                slot_last[j] = slot_last[n_open]
            else:
                j += 1
        chosen = -1
        passenger = False
        if is27[i] and prev >= 0 and (t_s[i] - t_s[prev]) / 3600.0 < type27_gap_h:
            # a coarse long-range position close in time to another one rides along with the previous row's
            # segment without becoming its tail, so its rounding never steers the matching
            for j in range(n_open):
                if slot_seg[j] == seg[prev]:
                    chosen = j
                    passenger = True
                    break
        if chosen < 0:
            best = 2.0
            for j in range(n_open):
                k = slot_last[j]
                dt_h = (t_s[i] - t_s[k]) / 3600.0
                d_km = _haversine_km(rad[k], cos_lat[k], lon[k], rad[i], cos_lat[i], lon[i])
                slot_km[j] = d_km
                if is27[i] or is27[k]:
                    d_km = max(d_km - TYPE27_SLACK_KM, 0.0)
                score = (d_km / KM_PER_NM) / (max_speed_kn * (dt_h + buffer_h))
                if cls[i] != 0 and cls[k] != 0 and cls[i] != cls[k]:
                    score = score / mismatch_weight if mismatch_weight > 0 else np.inf
                if score <= 1.0 and score < best:
                    best = score
                    chosen = j
        in_seg_bad = False
        if chosen >= 0 and not passenger and prev >= 0 and seg[prev] != slot_seg[chosen]:
            x = seg[prev]
            sx = starts[x]
            if sx > slot_last[chosen] and implausible[sx]:
                returned[x] = True  # the track came back from x: x stays open only jump_max_h
        if chosen >= 0:
            k = slot_last[chosen]
            seg[i] = slot_seg[chosen]
            dt_h = (t_s[i] - t_s[k]) / 3600.0
            d_km = _haversine_km(rad[k], cos_lat[k], lon[k], rad[i], cos_lat[i], lon[i]) if passenger \
                else slot_km[chosen]
            step_km[i] = d_km
            step_from[i] = k
            if dt_h > 0:
                speed[i] = d_km / KM_PER_NM / dt_h
            if passenger:
                lim = max_b_kn if cls[i] == 2 else max_a_kn
                in_seg_bad = d_km - TYPE27_SLACK_KM > min_jump_km and (dt_h <= 0 or speed[i] > lim)
            else:
                slot_last[chosen] = i
        else:
            if n_open == max_open:  # close the segment silent longest
                oldest = 0
                for j in range(1, n_open):
                    if t_s[slot_last[j]] < t_s[slot_last[oldest]]:
                        oldest = j
                n_open -= 1
                slot_seg[oldest] = slot_seg[n_open]
                slot_last[oldest] = slot_last[n_open]
            slot_seg[n_open] = n_seg
            slot_last[n_open] = i
            n_open += 1
            seg[i] = n_seg
            starts[n_seg] = i
            n_seg += 1
            in_seg_bad = True
        if prev >= 0 and in_seg_bad:
            d_km = _haversine_km(rad[prev], cos_lat[prev], lon[prev], rad[i], cos_lat[i], lon[i])
            if is27[i] or is27[prev]:
                d_km -= TYPE27_SLACK_KM
            if d_km > min_jump_km:
                dt_h = (t_s[i] - t_s[prev]) / 3600.0
                lim = max_b_kn if cls[i] == 2 else max_a_kn
                if dt_h <= 0 or d_km / KM_PER_NM / dt_h > lim:
                    implausible[i] = True
        prev = i
    return seg, speed, implausible, starts[:n_seg].copy(), step_km, step_from


_np = column_array


def _sort_order(mmsi, ts, line, src, lat, lon):
    """The permutation that sorts rows by (mmsi, ts, line, source_id, lat, lon), ties kept in input order (what a
    stable multi-key sort gives), with the sorted ``mmsi`` and ``ts`` (int64) and ``same`` (row i + 1 has the
    (mmsi, ts) of row i).

    (mmsi, ts) is packed into one int64 key - the MMSI's offset (or rank among the MMSIs) above the time's offset -
    and sorted once (:func:`~watchkeeper.tracks.arrays.key_order`); only rows sharing (mmsi, ts), rare, are then
    ordered by the other keys.
    Where the key does not fit in 63 bits, a multi-key Arrow sort does it all.
    """
    n = mmsi.shape[0]
    mmsi = mmsi.astype(np.int64)
    if n == 0:
        return np.empty(0, np.int64), mmsi, ts, np.empty(0, np.bool_)
    t0, t1 = int(ts.min()), int(ts.max())
    m0, m1 = int(mmsi.min()), int(mmsi.max())
    t_bits = (t1 - t0).bit_length()
    values = None  # MMSI of each rank, when keyed by rank
    if (m1 - m0).bit_length() + t_bits <= 63:
        mkey = mmsi - m0
    else:
        enc = pc.dictionary_encode(pa.array(mmsi))
        values = enc.dictionary.to_numpy()
        by_value = np.argsort(values)
        values = values[by_value]
        if (values.shape[0] - 1).bit_length() + t_bits > 63:
            keys = pa.table({"mmsi": mmsi, "ts": ts, "line": line, "source_id": src, "lat": lat, "lon": lon})
            order = pc.sort_indices(keys, sort_keys=[(k, "ascending") for k in keys.column_names]).to_numpy()
            order = order.astype(np.int64)
            smmsi, sts = mmsi[order], ts[order]
            return order, smmsi, sts, (smmsi[1:] == smmsi[:-1]) & (sts[1:] == sts[:-1])
        rank = np.empty(values.shape[0], np.int64)
        rank[by_value] = np.arange(values.shape[0])
        mkey = rank[enc.indices.to_numpy()]
    order, key = key_order((mkey << t_bits) | (ts - t0))
    same = key[1:] == key[:-1]
    if same.any():
        # rows of equal (mmsi, ts) lie together in arbitrary order: sort each group by the other keys, then by
        # input position (the group number first keeps the groups where they are)
        grouped = np.zeros(n, np.bool_)
        grouped[1:] |= same
        grouped[:-1] |= same
        g = np.flatnonzero(grouped)
        group = np.cumsum(np.r_[False, ~same])[g]
        sub = order[g]
        order[g] = sub[np.lexsort((sub, lon[sub], lat[sub], src[sub], line[sub], group))]
    mk = key >> t_bits
    sts = (key & ((1 << t_bits) - 1)) + t0 if t_bits < 63 else ts[order]
    return order, (mk + m0 if values is None else values[mk]), sts, same


def segment(positions: pa.Table, config) -> pa.Table:
    """Sort, deduplicate and segment positions; flag implausible jumps.

    Parameters
    ----------
    positions
        Rows of :data:`watchkeeper.schema.POSITIONS`, in any order; rows with null ``ts``, ``lat`` or ``lon`` are
        left out, and of rows with the same ``mmsi``, ``ts``, ``lat`` and ``lon`` only the first (lowest
        ``source_id``, ``line``) is kept. The caller's table is not modified.
    config
        A :class:`watchkeeper.config.Config`; uses ``tracks.segment_max_speed_kn``, ``tracks.segment_buffer_h``,
        ``tracks.class_mismatch_weight``, ``tracks.type27_min_gap_h``, ``position_jump.max_speed_class_a_kn``,
        ``position_jump.max_speed_class_b_kn``, ``position_jump.min_distance_km`` and
        ``tracks.max_silence_h`` (the silence after which a segment closes).

    Returns
    -------
    pa.Table
        :data:`SEGMENTED_POSITIONS`: the kept rows sorted by (``mmsi``, ``ts``, ``line``) with ``segment_id``,
        ``implied_speed_kn`` and ``implausible``.
    """
    return segment_tracks(positions, config).table


# the columns of POSITIONS that segmentation and the detectors read, with the whole reference to the input lines
# (line_last); the others may be left out of the input (the partitioned engine moves only these), and are then
# null in the segmented table
READ_COLUMNS = ("mmsi", "ts", "lat", "lon", "sog_kn", "msg_type", "nav_status", "source_id", "line", "line_last")


def _conform(positions: pa.Table) -> pa.Table:
    """``positions`` as POSITIONS, or as its :data:`READ_COLUMNS` fields when it lacks some other column."""
    missing = [n for n in READ_COLUMNS if n not in positions.column_names]
    if missing:
        raise ValueError(f"positions lack column(s) {', '.join(missing)}; segmentation reads "
                         f"{', '.join(READ_COLUMNS)}")
    if all(n in positions.column_names for n in POSITIONS.names):
        return positions.select(POSITIONS.names).cast(POSITIONS)
    schema = pa.schema([POSITIONS.field(n) for n in POSITIONS.names if n in positions.column_names])
    return positions.select(schema.names).cast(schema)


def _with_all_columns(tbl: pa.Table) -> pa.Table:
    """``tbl`` with every POSITIONS column, those it lacks all null."""
    if len(tbl.column_names) == len(POSITIONS.names):
        return tbl
    cols = [tbl[f.name] if f.name in tbl.column_names else pa.nulls(tbl.num_rows, f.type) for f in POSITIONS]
    return pa.Table.from_arrays(cols, schema=POSITIONS)


def segment_tracks(positions: pa.Table, config):
    """:func:`segment` as a :class:`watchkeeper.tracks.arrays.Tracks`: the detectors' arrays straight from the
    scan, without building the segmented table (built on first use of ``.table``)."""
    from watchkeeper.tracks.arrays import Tracks

    tbl = _conform(positions)
    valid = pc.and_(pc.and_(pc.is_valid(tbl["ts"]), pc.is_valid(tbl["lat"])), pc.is_valid(tbl["lon"]))
    rows = np.flatnonzero(_np(valid, np.bool_))
    every = rows.shape[0] == tbl.num_rows  # no row left out: rows is 0..n-1 and needs no gathering

    def col(k, dt, null):
        a = _np(tbl[k], dt, null)
        return a if every else a[rows]

    # gathered in the columns' own (narrower) types and widened after: the same values, less memory traffic
    mmsi_v, ts_v, line_v = col("mmsi", np.int32, 0), col("ts", np.int64, 0), col("line", np.int64, -1)
    src_v, lat_v, lon_v = col("source_id", np.int32, -1), col("lat", np.float64, np.nan), col("lon", np.float64, np.nan)
    # the output order: (mmsi, ts, line), ties broken by every other key (and then input order) so the result is
    # input-order free
    order, mmsi, ts, same = _sort_order(mmsi_v, ts_v, line_v, src_v, lat_v, lon_v)
    rows = order if every else rows[order]
    lat, lon = lat_v[order], lon_v[order]
    src, line = src_v[order].astype(np.int64), line_v[order]
    # exact duplicates share (mmsi, ts), so only rows of (mmsi, ts) groups of two or more need a closer look; of
    # each duplicate group the row with the lowest (source_id, line) stays
    n = rows.shape[0]
    if same.shape[0] and same.any():
        grouped = np.zeros(n, np.bool_)
        grouped[1:] |= same
        grouped[:-1] |= same
        g = np.flatnonzero(grouped)
        o = g[np.lexsort((line[g], src[g], lon[g], lat[g], ts[g], mmsi[g]))]
        dup = np.zeros(o.shape[0], np.bool_)
        dup[1:] = (mmsi[o[1:]] == mmsi[o[:-1]]) & (ts[o[1:]] == ts[o[:-1]]) & (lat[o[1:]] == lat[o[:-1]]) & (
            lon[o[1:]] == lon[o[:-1]])
        if dup.any():
            keep = np.ones(n, np.bool_)
            keep[o[dup]] = False
            rows, mmsi, ts, lat, lon, src, line = (a[keep] for a in (rows, mmsi, ts, lat, lon, src, line))

    msg8 = _np(tbl["msg_type"], np.int8, 0)[rows]
    msg = msg8.astype(np.int64)
    cls = _CLASS_OF_TYPE[msg8.view(np.uint8)]
    t_s = ts.astype(np.float64) / 1e6
    tr, pj = config.tracks, config.position_jump
    seg, speed, implausible, starts, step_km, step_from = _scan(
        mmsi, t_s, lat, lon, cls, msg == 27,
        float(tr.segment_max_speed_kn), float(tr.segment_buffer_h), float(tr.class_mismatch_weight),
        float(tr.max_silence_h), float(tr.type27_min_gap_h), float(pj.max_speed_class_a_kn),
        float(pj.max_speed_class_b_kn), float(pj.min_distance_km), MAX_OPEN_SEGMENTS, float(tr.returned_max_silence_h))

    # segment ids: mmsi, first second, and n among the MMSI's segments that start in that second
    first_mmsi = mmsi[starts]
    first_s = ts[starts] // 1_000_000
    nth = np.zeros(starts.shape[0], np.int64)
    if starts.shape[0] > 1:
        same = (first_mmsi[1:] == first_mmsi[:-1]) & (first_s[1:] == first_s[:-1])
        # running count within runs of equal (mmsi, second); segments are numbered in time order within an MMSI
        idx = np.arange(1, starts.shape[0])
        run_start = np.maximum.accumulate(np.where(~same, idx, 0))
        nth[1:] = np.where(same, idx - run_start, 0)
    stamp = pc.strftime(pa.array(first_s, pa.timestamp("s", tz="UTC")), format="%Y%m%dT%H%M%S")
    ids = pc.binary_join_element_wise(
        pa.array(first_mmsi).cast(pa.string()), stamp, pa.array(nth).cast(pa.string()), "-")

    arrays = {"mmsi": mmsi, "ts": ts, "lat": lat, "lon": lon, "sog": _np(tbl["sog_kn"], np.float32, np.nan)[rows].astype(np.float64),
              "speed": speed, "msg_type": msg, "nav_status": _np(tbl["nav_status"], np.int8, -1)[rows].astype(np.int64),
              "source_id": src, "line": line, "seg": seg, "seg_names": np.asarray(ids.to_pylist(), dtype=object),
              "implausible": implausible, "step_km": step_km, "step_from": step_from}

    def make_table() -> pa.Table:
        out = _with_all_columns(tbl).take(pa.array(rows, pa.int64()))
        out = out.append_column(SEGMENTED_POSITIONS.field("segment_id"), pc.take(ids, pa.array(seg)))
        out = out.append_column(SEGMENTED_POSITIONS.field("implied_speed_kn"), pa.array(speed, from_pandas=True))
        out = out.append_column(SEGMENTED_POSITIONS.field("implausible"), pa.array(implausible))
        return out.cast(SEGMENTED_POSITIONS)

    return Tracks(rows=arrays, make_table=make_table)
