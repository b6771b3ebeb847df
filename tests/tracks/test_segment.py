"""Segmentation: two transmitters on one MMSI, antimeridian, spoofed jumps, gaps, nulls, real data."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import pyarrow as pa
import pyarrow.compute as pc

from watchkeeper.config import load_config
from watchkeeper.ingest.nmea import read_nmea
from watchkeeper.schema import POSITIONS
from watchkeeper.tracks import segment
from watchkeeper.geo.sphere import haversine_km_scalar as _haversine_km
from watchkeeper.tracks.segment import SEGMENTED_POSITIONS

CFG = load_config()
T0 = datetime(2024, 3, 1, 20, 0, tzinfo=UTC)
AIS = Path(__file__).parents[1] / "data" / "aisdb" / "test_data_20211101.nm4"


def table(rows) -> pa.Table:
    """Positions from (mmsi, ts, lat, lon[, msg_type]) tuples; line = position in the list (1-based)."""
    cols = {name: [] for name in POSITIONS.names}
    for i, r in enumerate(rows, 1):
        mmsi, ts, lat, lon, *rest = r
        for name, v in (("mmsi", mmsi), ("ts", ts), ("lat", lat), ("lon", lon), ("msg_type", rest[0] if rest else 1),
                        ("source_id", 1), ("line", i), ("line_last", i)):
            cols[name].append(v)
        for name in POSITIONS.names:
            if len(cols[name]) < i:
                cols[name].append(None)
    return pa.Table.from_pydict(cols, schema=POSITIONS)


def track(mmsi, lat0, lon0, course_deg, speed_kn, start, minutes, step_min=3.0, msg_type=1):
    """A ship on a great-circle-ish straight course (small steps, flat approximation per step)."""
    rows, lat, lon = [], lat0, lon0
    step_nm = speed_kn * step_min / 60
    for k in range(int(minutes / step_min) + 1):
        rows.append((mmsi, start + timedelta(minutes=k * step_min), lat, (lon + 180) % 360 - 180, msg_type))
        lat += step_nm / 60 * math.cos(math.radians(course_deg))
        lon += step_nm / 60 * math.sin(math.radians(course_deg)) / math.cos(math.radians(lat))
    return rows


def segments_of(out: pa.Table) -> dict[str, list[int]]:
    """segment_id -> list of input line numbers."""
    seg = {}
    for sid, line in zip(out["segment_id"].to_pylist(), out["line"].to_pylist()):
        seg.setdefault(sid, []).append(line)
    return seg


def test_two_ships_sharing_an_mmsi_get_one_segment_each():
    a = track(273000001, 42.0, 131.0, 90, 12, T0, 6 * 60, step_min=3)
    b = track(273000001, 42.0, 131.0 + 300 / (111.32 * math.cos(math.radians(42))), 270, 10, T0 + timedelta(minutes=1),
              6 * 60, step_min=4)
    assert 290 < _haversine_km(a[0][2], a[0][3], b[0][2], b[0][3]) < 310
    rows = sorted(a + b, key=lambda r: r[1])
    src = {i: ("a" if r in a else "b") for i, r in enumerate(rows, 1)}
    out = segment(table(rows), CFG)
    assert out.schema == SEGMENTED_POSITIONS
    seg = segments_of(out)
    assert len(seg) == 2
    assert sorted(Counter(src[line] for line in lines).most_common(1)[0][1] for lines in seg.values()) == sorted(
        [len(b), len(a)])
    for lines in seg.values():
        assert len({src[line] for line in lines}) == 1
    # the first report of the second ship is a jump from the MMSI's previous report; no other row is
    assert pc.sum(out["implausible"]).as_py() == 1


def test_antimeridian_crossing_stays_one_segment():
    rows = track(412000002, 50.0, 179.5, 90, 14, T0, 4 * 60)
    lons = [r[3] for r in rows]
    assert max(lons) > 179 and min(lons) < -179  # it does cross
    out = segment(table(rows), CFG)
    assert pc.count_distinct(out["segment_id"]).as_py() == 1
    assert not any(out["implausible"].to_pylist())
    speeds = [s for s in out["implied_speed_kn"].to_pylist() if s is not None]
    assert max(speeds) < 15 and min(speeds) > 13


def test_spoofed_jump_is_flagged_and_the_real_track_stays_whole():
    rows = track(273000003, 43.0, 132.0, 45, 11, T0, 5 * 60)
    spoof_at = len(rows) // 2
    ts = rows[spoof_at][1] + timedelta(seconds=30)
    rows.insert(spoof_at + 1, (273000003, ts, 38.0, 125.0, 1))  # ~800 km away, then back
    out = segment(table(rows), CFG)
    spoof = out.filter(pc.equal(out["lat"], 38.0))
    assert spoof["implausible"].to_pylist() == [True]
    real = out.filter(pc.not_equal(out["lat"], 38.0))
    assert pc.count_distinct(real["segment_id"]).as_py() == 1
    assert not any(real["implausible"].to_pylist())
    assert spoof["segment_id"][0].as_py() != real["segment_id"][0].as_py()


def test_long_gap_at_plausible_distance_keeps_one_segment():
    before = track(273000004, 42.0, 133.0, 180, 12, T0, 2 * 60)
    lat, lon = before[-1][2], before[-1][3]
    after = track(273000004, lat - 10 * 12 / 60, lon, 180, 12, before[-1][1] + timedelta(hours=10), 2 * 60)
    out = segment(table(before + after), CFG)
    assert pc.count_distinct(out["segment_id"]).as_py() == 1
    gap_speed = out["implied_speed_kn"][len(before)].as_py()
    assert abs(gap_speed - 12) < 0.5


def test_midnight_is_irrelevant():
    rows = track(273000005, 41.0, 130.0, 10, 9, datetime(2024, 3, 1, 22, 0, tzinfo=UTC), 4 * 60)
    out = segment(table(rows), CFG)
    assert pc.count_distinct(out["segment_id"]).as_py() == 1
    days = {t.date() for t in out["ts"].to_pylist()}
    assert len(days) == 2


def test_nulls_duplicates_and_deterministic_ids():
    rows = track(273000006, 42.0, 131.0, 0, 10, T0, 60) + track(273000007, 40.0, 129.0, 90, 10, T0, 60)
    rows += [rows[3], rows[4], rows[20]]  # exact duplicates (later lines)
    rows += [(273000006, None, 42.0, 131.0, 1), (273000006, T0, None, 131.0, 1), (273000006, T0, 42.0, None, 1)]
    tbl = table(rows)
    out = segment(tbl, CFG)
    assert out.num_rows == len(rows) - 3 - 3
    assert out.num_rows == len({(r[0], r[1], r[2], r[3]) for r in rows if None not in r[1:4]})
    assert max(out["line"].to_pylist()) <= len(rows) - 6  # of each duplicate group, the first line is kept
    keys = list(zip(out["mmsi"].to_pylist(), out["ts"].to_pylist(), out["line"].to_pylist()))
    assert keys == sorted(keys)
    perm = np.random.default_rng(1).permutation(tbl.num_rows)
    again = segment(tbl.take(pa.array(perm)), CFG)
    assert again.equals(out)
    assert segment(tbl, CFG)["segment_id"].to_pylist() == out["segment_id"].to_pylist()
    assert out["segment_id"][0].as_py() == f"273000006-{T0:%Y%m%dT%H%M%S}-0"
    assert tbl.num_rows == len(rows)  # the caller's table is untouched
    assert segment(tbl.slice(0, 0), CFG).num_rows == 0


def test_real_sample_every_row_accounted_and_segment_counts_plausible():
    pos = pa.concat_tables(b.positions for b in read_nmea(str(AIS), 1))
    out = segment(pos, CFG)
    valid = pos.filter(pc.and_(pc.and_(pc.is_valid(pos["ts"]), pc.is_valid(pos["lat"])), pc.is_valid(pos["lon"])))
    unique = {(r["mmsi"], r["ts"], r["lat"], r["lon"]) for r in valid.select(["mmsi", "ts", "lat", "lon"]).to_pylist()}
    assert out.num_rows == len(unique) > 0
    assert set(zip(out["mmsi"].to_pylist(), out["ts"].to_pylist(), out["lat"].to_pylist(),
                   out["lon"].to_pylist())) == unique
    # A row opens a segment only if it is incompatible with every open segment, so in particular with its
    # predecessor's segment, which is open and ends at the predecessor unless the silence closed it, the classes
    # differ (class_mismatch_weight), or the predecessor is a type 27 row riding along. So per MMSI:
    # segments <= 1 + incompatible consecutive pairs + long silences + class changes + type 27 rows.
    mmsi = out["mmsi"].to_numpy()
    seg = out["segment_id"].to_numpy(zero_copy_only=False)
    lat, lon = out["lat"].to_numpy(), out["lon"].to_numpy()
    t_h = out["ts"].cast(pa.int64()).to_numpy() / 3.6e9
    tr = CFG.tracks
    same = mmsi[1:] == mmsi[:-1]
    dist_nm = np.array([_haversine_km(lat[i], lon[i], lat[i + 1], lon[i + 1]) for i in range(len(lat) - 1)]) / 1.852
    incompatible = same & (dist_nm > tr.segment_max_speed_kn * (np.diff(t_h) + tr.segment_buffer_h))
    long_silence = same & (np.diff(t_h) > CFG.position_jump.max_return_h)
    msg = out["msg_type"].to_numpy()
    cls = np.where(np.isin(msg, (18, 19)), 2, np.where(np.isin(msg, (1, 2, 3)), 1, 0))
    class_change = same & (cls[1:] != cls[:-1]) & (cls[1:] > 0) & (cls[:-1] > 0)
    for m in np.unique(mmsi):
        sel = mmsi == m
        n_seg = len(set(seg[sel]))
        pairs = sel[1:] & sel[:-1]
        bound = (1 + int(incompatible[pairs].sum()) + int(long_silence[pairs].sum()) + int(class_change[pairs].sum())
                 + int((msg[sel] == 27).sum()))
        assert n_seg <= bound, (m, n_seg, bound)
    assert len(np.unique(mmsi)) > 10
    # every segment's id names its MMSI
    assert all(s.split("-")[0] == str(m) for s, m in zip(seg, mmsi))


def test_only_the_read_columns_give_the_same_tracks():
    """The partitioned engine moves only READ_COLUMNS: the tracks are the same, the other columns come out null,
    and a missing read column is a clear error."""
    from watchkeeper.tracks.segment import READ_COLUMNS, segment_tracks

    pos = pa.concat_tables(b.positions for b in read_nmea(str(AIS), 1))
    full, narrow = segment_tracks(pos, CFG), segment_tracks(pos.select(list(READ_COLUMNS)), CFG)
    for k, v in full.rows.items():
        assert np.array_equal(v, narrow.rows[k], equal_nan=v.dtype.kind == "f"), k
    other = [n for n in POSITIONS.names if n not in READ_COLUMNS]
    assert other and pos.select(other).drop_null().num_rows > 0  # the sample has values there
    t = narrow.table
    assert t.schema.equals(SEGMENTED_POSITIONS) and t.num_rows == full.table.num_rows
    assert all(t[n].null_count == t.num_rows for n in other)
    assert t.drop_columns(other).equals(full.table.drop_columns(other))
    try:
        segment_tracks(pos.drop_columns(["sog_kn"]), CFG)
    except ValueError as e:
        assert "sog_kn" in str(e)
    else:
        raise AssertionError("no error for a missing column")


@pytest.mark.parametrize("n", [0, 1, 7, 5000])
def test_stable_order_is_a_stable_argsort(n):
    """Group order by counting sort (small codes) or the fallback (negative or large codes): np.argsort's stable
    order in both."""
    from watchkeeper.tracks.arrays import stable_order

    rng = np.random.default_rng(n)
    for high in (1, 3, n + 2, 100 * n + 5000):
        codes = rng.integers(0, high, n)
        assert np.array_equal(stable_order(codes), np.argsort(codes, kind="stable"))
        assert np.array_equal(stable_order(codes.astype(np.int32) - 1), np.argsort(codes - 1, kind="stable"))


@pytest.mark.parametrize("n", [0, 1, 2, 9, 4000])
def test_key_order_is_a_stable_argsort(n):
    """Keys and row numbers packed in 64 bits (small keys), or the keys' low bits left out and the runs that come
    out of order sorted again (keys up to 2**63 - 1, near-equal keys side by side): np.argsort's stable order,
    with the sorted keys."""
    from watchkeeper.tracks.arrays import key_order

    rng = np.random.default_rng(n)
    for high in (1, 5, 1 << 40, (1 << 63) - 1):
        keys = rng.integers(0, high, n, dtype=np.int64)
        near = np.repeat(keys[: n // 3 + 1], 3)[:n]
        near = near - np.minimum(near, rng.integers(0, 3, n))  # equal and neighbouring keys in the same run
        for k in (keys, near):
            order, sorted_key = key_order(k)
            want = np.argsort(k, kind="stable")
            assert np.array_equal(order, want) and np.array_equal(sorted_key, k[want])
    with pytest.raises(ValueError):
        key_order(np.array([3, -1]))
