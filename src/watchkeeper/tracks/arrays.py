"""The segmented positions as NumPy arrays, built once and shared by every detector.

Detectors scan tracks segment by segment over plain arrays (compiled loops, ``np.bincount``, ``searchsorted``).
Converting an Arrow table into those arrays - and above all turning string segment ids into integer codes - costs
more than most detectors themselves, so :class:`Tracks` does it once per detection run:

``rows``
    every row of the segmented table in its own order (``mmsi``, time, line), implausible rows included, with
    ``seg`` the integer code of the row's segment (codes number segments in order of first appearance, so by MMSI
    and then start time) and ``seg_names`` the segment id of each code.
``plausible``
    the rows not flagged implausible, ordered by (segment, time, line), with ``bounds`` (first row of each segment
    and, last, the row count), ``segment_id``/``track_id`` (id of each code; codes are renumbered densely), and the
    derived columns the scans need: ``t_s`` (float seconds), ``speed_kn`` (SOG, else implied speed), ``class_b``
    and ``anchored`` (nav status 1 or 5); and, when the tracks come from
    :func:`watchkeeper.tracks.segment.segment_tracks` (not from a table), ``step_km``: the distance from the row
    before as the segmentation measured it, where that row is the one it measured from (NaN elsewhere).

Every detector accepts either a segmented :class:`pyarrow.Table` or a :class:`Tracks`; :func:`as_tracks` turns the
first into the second.
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

_CLASS_B_TYPES = (18, 19)
_ANCHORED_STATUS = (1, 5)  # at anchor, moored


def column_array(col, dtype, null=None) -> np.ndarray:
    """An Arrow column as a NumPy array of ``dtype``: timestamps as integer microseconds (UTC), nulls replaced by
    ``null`` (left as Arrow converts them when ``null`` is None)."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_timestamp(arr.type):
        arr = arr.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    if null is not None and arr.null_count:
        arr = pc.fill_null(arr, pa.scalar(null, arr.type))
    return np.asarray(arr.to_numpy(zero_copy_only=False)).astype(dtype, copy=False)


def run_rows(first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of runs ``first[k]..last[k]`` (inclusive) laid end to end, without a Python loop: ``(rows, owner,
    offset)`` with ``owner`` the run of each row and ``offset`` where each run starts in ``rows`` (for
    ``np.ufunc.reduceat``)."""
    first, last = np.asarray(first, np.int64), np.asarray(last, np.int64)
    length = last - first + 1
    offset = np.r_[0, np.cumsum(length)[:-1]].astype(np.int64)
    owner = np.repeat(np.arange(len(first)), length)
    return np.repeat(first - offset, length) + np.arange(int(length.sum())), owner, offset


@njit(cache=True)
def _counting_order(codes, n_codes):
    start = np.zeros(n_codes + 1, np.int64)
    for c in codes:
        start[c + 1] += 1
    for k in range(n_codes):
        start[k + 1] += start[k]
    out = np.empty(codes.shape[0], np.int64)
    for i in range(codes.shape[0]):
        c = codes[i]
        out[start[c]] = i
        start[c] += 1
    return out


def stable_order(codes: np.ndarray) -> np.ndarray:
    """``np.argsort(codes, kind="stable")`` for codes that number groups (segments, days): the rows of each code
    together, codes ascending, rows in their own order within a code. A counting sort, linear in rows plus
    codes, where the codes are non-negative and not much larger than their count; a stable sort otherwise."""
    codes = np.asarray(codes)
    if not codes.shape[0]:
        return np.empty(0, np.int64)
    lo, hi = int(codes.min()), int(codes.max())
    if lo < 0 or hi > 4 * codes.shape[0] + 1024:
        return np.argsort(codes, kind="stable")
    return _counting_order(codes.astype(np.int64, copy=False), hi + 1)


def key_order(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(order, key[order])`` with ``order = np.argsort(key, kind="stable")``, for non-negative int64 keys.

    Sorting values is several times faster than sorting indices (NumPy sorts values with SIMD kernels): the key's
    high bits and the row number are packed into one unsigned 64-bit value and those values are sorted; the low
    bits of each sorted value are the row. Where key and row number do not fit in 64 bits together, the key's
    lowest bits are left out of the packed value, and only runs of equal packed keys whose full keys then come out
    of order (rows close in key, rare) are sorted again by (key, row)."""
    key = np.asarray(key, np.int64)
    n = key.shape[0]
    if not n:
        return np.empty(0, np.int64), key.copy()
    if int(key.min()) < 0:
        raise ValueError("key_order takes non-negative keys")
    row_bits = max(1, (n - 1).bit_length())
    shift = max(0, int(key.max()).bit_length() + row_bits - 64)
    packed = key.astype(np.uint64)
    if shift:
        packed >>= np.uint64(shift)
    packed <<= np.uint64(row_bits)
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    packed &= np.uint64((1 << row_bits) - 1)
    order = packed.view(np.int64)
    sorted_key = key[order]
    if shift:
        down = np.flatnonzero(sorted_key[1:] < sorted_key[:-1])
        if down.shape[0]:
            coarse = sorted_key >> shift  # non-decreasing: runs of equal coarse keys lie together
            g = np.flatnonzero(np.isin(coarse, coarse[down]))
            sub, sub_key = order[g], sorted_key[g]
            o = np.lexsort((sub, sub_key))  # the runs' coarse keys are in order already, so (key, row) suffices
            order[g], sorted_key[g] = sub[o], sub_key[o]
    return order, sorted_key


class Tracks:
    """NumPy views of a segmented positions table (output of :func:`watchkeeper.tracks.segment`).

    Parameters
    ----------
    table
        Rows of ``SEGMENTED_POSITIONS`` sorted by (``mmsi``, ``ts``, ``line``), as ``segment()`` returns them.
    """

    def __init__(self, table: pa.Table | None = None, *, rows: dict[str, np.ndarray] | None = None,
                 make_table=None):
        if table is None and rows is None:
            raise ValueError("give a segmented table or its row arrays")
        if table is not None:
            self.__dict__["table"] = table
        if rows is not None:
            self.__dict__["rows"] = rows
        self._make_table = make_table
        self.num_rows = table.num_rows if table is not None else len(rows["mmsi"])

    @functools.cached_property
    def table(self) -> pa.Table:
        """The segmented table (``SEGMENTED_POSITIONS``), built on first use when the arrays came first."""
        return self._make_table()

    @functools.cached_property
    def rows(self) -> dict[str, np.ndarray]:
        """All rows in table order: ``mmsi``, ``ts`` (us), ``lat``, ``lon``, ``sog``, ``speed`` (implied),
        ``msg_type``, ``nav_status`` (-1 unknown), ``source_id``, ``line``, ``seg``, ``seg_names``, ``implausible``."""
        t = self.table
        if t.num_rows:
            enc = pc.dictionary_encode(t["segment_id"].combine_chunks())
            seg = np.asarray(enc.indices.to_numpy(), dtype=np.int64)
            names = np.asarray(enc.dictionary.to_pylist(), dtype=object)
        else:
            seg, names = np.empty(0, np.int64), np.empty(0, object)
        return {"mmsi": column_array(t["mmsi"], np.int64, 0), "ts": column_array(t["ts"], np.int64, 0),
                "lat": column_array(t["lat"], np.float64, np.nan), "lon": column_array(t["lon"], np.float64, np.nan),
                "sog": column_array(t["sog_kn"], np.float64, np.nan), "speed": column_array(t["implied_speed_kn"], np.float64, np.nan),
                "msg_type": column_array(t["msg_type"], np.int64, 0), "nav_status": column_array(t["nav_status"], np.int64, -1),
                "source_id": column_array(t["source_id"], np.int64, -1), "line": column_array(t["line"], np.int64, -1),
                "seg": seg, "seg_names": names, "implausible": column_array(t["implausible"], np.bool_, False)}

    @functools.cached_property
    def plausible(self) -> dict[str, np.ndarray]:
        """Rows not flagged implausible, ordered by (segment, time, line); see the module docstring."""
        r = self.rows
        keep = np.flatnonzero(~r["implausible"])
        # rows are in (mmsi, ts, line) order and codes grow with (mmsi, start), so a stable sort by code gives
        # (segment, ts, line)
        order = keep[stable_order(r["seg"][keep])]
        seg = r["seg"][order]
        starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]]) if len(order) else np.empty(0, np.int64)
        used = seg[starts]
        dense = np.repeat(np.arange(len(starts), dtype=np.int64), np.diff(np.r_[starts, len(order)]))
        ts = r["ts"][order]
        sog = r["sog"][order]
        c = {"mmsi": r["mmsi"][order], "ts_us": ts, "t_s": ts.astype(np.float64) / 1e6,
             "lat": r["lat"][order], "lon": r["lon"][order],
             "speed_kn": np.where(np.isfinite(sog), sog, r["speed"][order]), "sog_kn": sog,
             "source_id": r["source_id"][order], "line": r["line"][order], "seg": dense,
             "class_b": np.isin(r["msg_type"][order], _CLASS_B_TYPES),
             "anchored": np.isin(r["nav_status"][order], _ANCHORED_STATUS), "row": order,
             "bounds": np.r_[starts, len(order)].astype(np.int64)}
        c["segment_id"] = c["track_id"] = r["seg_names"][used].astype(str) if len(used) else np.empty(0, str)
        if "step_km" in r:  # from the segmentation: the distance from the row before, where that row is its source
            came_from = r["step_from"][order]
            ok = np.zeros(len(order), bool)
            ok[1:] = (came_from[1:] == order[:-1]) & (dense[1:] == dense[:-1])
            c["step_km"] = np.where(ok, r["step_km"][order], np.nan)
        return c


    def set_nearest(self, gazetteer, max_distance_km: float, index: np.ndarray, distance_km: np.ndarray) -> None:
        """Seed :meth:`nearest_place` with an answer already known (``gazetteer.nearest`` of the ``plausible``
        rows within ``max_distance_km``), e.g. one computed by another process over the same rows."""
        if len(index) != len(self.plausible["row"]) or len(distance_km) != len(index):
            raise ValueError("the nearest-place answer must have one value per plausible row")
        self.__dict__.setdefault("_nearest", {})[id(gazetteer)] = (gazetteer, float(max_distance_km), index,
                                                                   distance_km)

    def nearest_place(self, gazetteer, max_distance_km: float) -> tuple[np.ndarray, np.ndarray]:
        """Nearest place of ``gazetteer`` within ``max_distance_km`` of each ``plausible`` row: ``(index, km)``
        as :meth:`watchkeeper.geo.gazetteer.Gazetteer.nearest` gives them (-1 / NaN where none).

        One search serves every detector: the answer for the largest radius asked so far is kept, and a smaller
        radius is a filter of it (the nearest place within r is the nearest within R > r when it lies within r).
        """
        cache = self.__dict__.setdefault("_nearest", {})
        hit = cache.get(id(gazetteer))
        if hit is None or hit[0] is not gazetteer or hit[1] < max_distance_km:
            c = self.plausible
            idx, km = gazetteer.nearest(c["lat"], c["lon"], float(max_distance_km))
            hit = cache[id(gazetteer)] = (gazetteer, float(max_distance_km), idx, km)
        _, radius, idx, km = hit
        if radius == max_distance_km:
            return idx, km
        far = ~(km <= max_distance_km)
        return np.where(far, -1, idx), np.where(far, np.nan, km)


def as_tracks(segmented: pa.Table | Tracks) -> Tracks:
    """``segmented`` itself when it is a :class:`Tracks`, else a :class:`Tracks` over the table."""
    return segmented if isinstance(segmented, Tracks) else Tracks(segmented)
