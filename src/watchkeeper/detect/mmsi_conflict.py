"""``mmsi_conflict`` events: one MMSI transmitted by two incompatible tracks at the same time.

Rule (thresholds in ``watchkeeper.config`` sections ``mmsi_conflict``, ``tracks`` and ``position_jump``), over
the output of :func:`watchkeeper.tracks.segment`: two segments of the same MMSI, each with at least
``tracks.min_segment_positions`` rows, whose time spans overlap by at least ``min_overlap_h``. Inside the
overlap every row of either segment is paired with the nearest-in-time row of the other; a pair is
incompatible when the two positions are more than ``position_jump.min_distance_km`` apart and covering that
distance would need more than the class maximum (``max_speed_class_a_kn``, or ``max_speed_class_b_kn`` when
both segments are Class B) over the time between them plus ``tracks.segment_buffer_h``. The segments conflict
when at least half the pairs are incompatible (the median pair is impossible); the confidence is the fraction of
incompatible pairs. Both segments must have rows inside the common span: a segment lying wholly inside a silence
of the other, or whose rows there all fall inside one silence of the other, is a jump that returned
(``position_jump``), not two transmitters at once. Short segments are noise (GFW's overlapping_and_short filter) and never conflict.

Segment summaries and the pair test are NumPy; Python loops only over MMSIs with two or more long segments and
over their segment pairs.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from watchkeeper.config import Config
from watchkeeper.detect.events import make_events
from watchkeeper.detect.spoofing import KM_PER_NM, columns, ref
from watchkeeper.geo.sphere import haversine_km
from watchkeeper.tracks.arrays import stable_order

VERSION = "mmsi_conflict/1"
_CLASS_B_TYPES = (18, 19)


def mmsi_conflicts(segmented: pa.Table, config: Config | None = None) -> pa.Table:
    """Pairs of time-overlapping, incompatible segments of one MMSI (``mmsi_conflict`` events).

    Parameters
    ----------
    segmented
        Output of :func:`watchkeeper.tracks.segment` (rows sorted by mmsi and time); not modified.
    config
        Thresholds; the defaults when ``None``.

    Returns
    -------
    pyarrow.Table
        :data:`~watchkeeper.schema.EVENTS`: one event per conflicting pair of segments, ``other_mmsi`` null (the
        same MMSI), ``start``/``end`` the common time span, ``lat``/``lon`` the first position of the earlier
        segment (``a``, the one that starts first) in it, ``segment_id`` null; details ``segment_ids`` (the pair, ordered), ``overlap_h``,
        ``median_separation_km``, ``incompatible_fraction`` and ``n_positions`` (rows of both in the overlap);
        refs to the first row of each segment in the overlap.
    """
    config = config or Config()
    c = columns(segmented)
    out: list[dict] = []
    if len(c["mmsi"]):
        order = stable_order(c["seg"])  # segment-contiguous, time order inside
        seg_o = c["seg"][order]
        first = np.flatnonzero(np.r_[True, seg_o[1:] != seg_o[:-1]])
        last = np.r_[first[1:], len(order)] - 1
        count = last - first + 1
        ts = c["ts"]
        s_mmsi, s_start, s_end = c["mmsi"][order[first]], ts[order[first]], ts[order[last]]
        long_ = np.flatnonzero(count >= config.tracks.min_segment_positions)
        long_ = long_[np.lexsort((s_start[long_], s_mmsi[long_]))]
        # groups of long segments with the same MMSI; only those of two or more can hold a pair
        g_start = np.flatnonzero(np.r_[True, s_mmsi[long_][1:] != s_mmsi[long_][:-1]])
        g_end = np.r_[g_start[1:], len(long_)]
        several = g_end - g_start > 1
        for g0, g1 in zip(g_start[several].tolist(), g_end[several].tolist()):
            group = long_[g0:g1]
            for i in range(len(group)):
                for j in range(i + 1, len(group)):
                    a, b = group[i], group[j]
                    lo, hi = max(s_start[a], s_start[b]), min(s_end[a], s_end[b])
                    if (hi - lo) / 3.6e9 < config.mmsi_conflict.min_overlap_h:
                        continue
                    ev = _pair(c, order[first[a]:last[a] + 1], order[first[b]:last[b] + 1], lo, hi, config)
                    if ev is not None:
                        out.append(ev)
    return make_events(out, config_sha256=config.sha256(), detector_version=VERSION)


def _pair(c, rows_a: np.ndarray, rows_b: np.ndarray, lo: int, hi: int, config: Config) -> dict | None:
    pj, tr = config.position_jump, config.tracks
    both_b = np.isin(c["msg_type"][rows_a], _CLASS_B_TYPES).all() and np.isin(c["msg_type"][rows_b],
                                                                              _CLASS_B_TYPES).all()
    limit_kn = pj.max_speed_class_b_kn if both_b else pj.max_speed_class_a_kn
    sep, incompatible = [], []
    for x, y in ((rows_a, rows_b), (rows_b, rows_a)):
        tx, ty = c["ts"][x], c["ts"][y]
        xs = x[(tx >= lo) & (tx <= hi)]
        # x's rows in the common span must interleave with y's: if they all fall inside one silence of y, x is a
        # stretch that jumped away from y and back (position_jump), not a second transmitter at the same time
        if not len(xs) or not ((ty > c["ts"][xs].min()) & (ty < c["ts"][xs].max())).any():
            return None
        if len(y) == 1:
            ys = np.repeat(y, len(xs))
        else:
            k = np.clip(np.searchsorted(ty, c["ts"][xs]), 1, len(y) - 1)
            ys = y[np.where(np.abs(ty[k - 1] - c["ts"][xs]) <= np.abs(ty[k] - c["ts"][xs]), k - 1, k)]
        d_km = haversine_km(c["lat"][xs], c["lon"][xs], c["lat"][ys], c["lon"][ys])
        dt_h = np.abs(c["ts"][xs] - c["ts"][ys]) / 3.6e9
        sep.append(d_km)
        incompatible.append((d_km > pj.min_distance_km) & (d_km / KM_PER_NM > limit_kn * (dt_h + tr.segment_buffer_h)))
    sep_km, bad = np.concatenate(sep), np.concatenate(incompatible)
    if not len(bad) or bad.mean() < 0.5:
        return None
    ids = sorted([str(c["seg_names"][c["seg"][rows_a[0]]]), str(c["seg_names"][c["seg"][rows_b[0]]])])
    fa = rows_a[np.searchsorted(c["ts"][rows_a], lo)]
    fb = rows_b[np.searchsorted(c["ts"][rows_b], lo)]
    details = {"segment_ids": ids, "overlap_h": round((hi - lo) / 3.6e9, 3),
               "median_separation_km": round(float(np.median(sep_km)), 3),
               "incompatible_fraction": round(float(bad.mean()), 3), "n_positions": len(bad)}
    return {"type": "mmsi_conflict", "mmsi": int(c["mmsi"][rows_a[0]]), "other_mmsi": None, "start": int(lo),
            "end": int(hi), "lat": float(c["lat"][fa]), "lon": float(c["lon"][fa]),
            "confidence": float(bad.mean()), "details": details,
            "positions": {"n": len(bad), "refs": [ref(c, fa, "first"), ref(c, fb, "first")]},
            "id_extra": {"segments": "|".join(ids)}}
