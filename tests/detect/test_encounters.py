"""Encounters on hand-made tracks: side by side offshore, midnight, distance, duration, speed, port, gaps, a queue."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pyarrow as pa

from watchkeeper.config import Config
from watchkeeper.detect.encounters import adjacent_pairs, encounters
from watchkeeper.detect.events import to_records, validate_events
from watchkeeper.geo.gazetteer import load_gazetteer
from watchkeeper.geo.sphere import haversine_km
from watchkeeper.schema import POSITIONS
from watchkeeper.tracks import segment

CFG = Config()
T0 = dt.datetime(2024, 3, 1, 6, 0, tzinfo=dt.UTC)
SEA = (41.2, 134.6)  # Sea of Japan, far (>> 10 km) from any port or anchorage
PORT = (42.75, 133.08333)  # Vostochnyy (WPI, RUVYP)
KM_LAT = 111.195  # km per degree of latitude
KN_KMH = 1.852


def positions(mmsi, t_h, lat, lon, t0=T0) -> pa.Table:
    n = len(t_h)
    cols = {name: [None] * n for name in POSITIONS.names}
    cols.update(mmsi=[mmsi] * n, ts=[t0 + dt.timedelta(hours=float(h)) for h in t_h], lat=list(map(float, lat)),
                lon=list(map(float, lon)), msg_type=[1] * n, source_id=[1] * n, line=list(range(1, n + 1)),
                line_last=list(range(1, n + 1)))
    return pa.Table.from_pydict(cols, schema=POSITIONS)


def drift(mmsi, hours, speed_kn=1.0, east_km=0.0, where=SEA, t0=T0, step_min=3.0, drop=()) -> pa.Table:
    """A vessel drifting north at ``speed_kn`` for ``hours`` from ``where`` shifted ``east_km``; rows in the
    ``drop`` intervals (exclusive) are silent."""
    t_h = np.arange(0.0, hours + 1e-9, step_min / 60.0)
    for a, b in drop:
        t_h = t_h[(t_h <= a) | (t_h >= b)]
    lat = where[0] + t_h * speed_kn * KN_KMH / KM_LAT
    lon = np.full_like(t_h, where[1] + east_km / (KM_LAT * np.cos(np.radians(where[0]))))
    return positions(mmsi, t_h, lat, lon, t0)


def found(*tables: pa.Table, config=CFG) -> list[dict]:
    """The encounters, one per pair (the row of the smaller MMSI), after checking that each comes as two mirrored
    rows: same times and place, vessels and segments swapped, the speeds swapped, different ids."""
    events = encounters(segment(pa.concat_tables(tables), config), load_gazetteer(), config)
    validate_events(events)
    rows = list(to_records(events))
    by_key = {(r["mmsi"], r["other_mmsi"], r["start"], r["end"]): r for r in rows}
    assert len(by_key) == len(rows)
    for r in rows:
        m = by_key[(r["other_mmsi"], r["mmsi"], r["start"], r["end"])]
        d, md = r["details"], m["details"]
        assert (m["lat"], m["lon"], m["confidence"]) == (r["lat"], r["lon"], r["confidence"])
        assert md["median_speed_kn"] == d["other_median_speed_kn"] and md["other_segment_id"] == r["segment_id"]
        assert m["event_id"] != r["event_id"]
    return [r for r in rows if r["mmsi"] < r["other_mmsi"]]


def hours(iso: str, t0=T0) -> float:
    return (dt.datetime.fromisoformat(iso) - t0).total_seconds() / 3600.0


def test_side_by_side_for_three_hours_is_one_encounter():
    [e] = found(drift(273000002, 3.0, east_km=0.3), drift(273000001, 3.0))
    assert e["type"] == "encounter" and (e["mmsi"], e["other_mmsi"]) == (273000001, 273000002)
    assert 0.0 <= hours(e["start"]) <= 10 / 60 and 3.0 - 10 / 60 <= hours(e["end"]) <= 3.0
    d = e["details"]
    assert d["duration_h"] >= 2.8 and d["n_slots"] == round(d["duration_h"] * 6) + 1
    assert abs(d["median_distance_m"] - 300) < 5 and abs(d["min_distance_m"] - 300) < 5
    assert abs(d["median_speed_kn"] - 1.0) < 0.02 and abs(d["other_median_speed_kn"] - 1.0) < 0.02
    assert d["distance_from_port_km"] > 10
    assert float(haversine_km(e["lat"], e["lon"], SEA[0] + 1.5 * KN_KMH / KM_LAT, SEA[1])) < 0.5
    refs = e["positions"]["refs"]
    assert [(r["mmsi"], r["role"]) for r in refs] == [(273000001, "first"), (273000001, "last"),
                                                      (273000002, "first"), (273000002, "last")]
    assert e["confidence"] > 0.5
    # deterministic: the same input in another order gives the same event id
    [e2] = found(drift(273000001, 3.0), drift(273000002, 3.0, east_km=0.3))
    assert e2["event_id"] == e["event_id"]


def test_across_utc_midnight_is_one_event():
    t0 = dt.datetime(2024, 3, 1, 22, 30, tzinfo=dt.UTC)
    [e] = found(drift(273000001, 3.0, t0=t0), drift(273000002, 3.0, east_km=0.3, t0=t0))
    assert e["start"].startswith("2024-03-01T22:") and e["end"].startswith("2024-03-02T01:")
    assert e["details"]["duration_h"] >= 2.8


def test_two_km_apart_is_no_encounter():
    assert found(drift(273000001, 3.0), drift(273000002, 3.0, east_km=2.0)) == []


def test_ninety_minutes_is_too_short():
    assert found(drift(273000001, 1.5), drift(273000002, 1.5, east_km=0.3)) == []


def test_at_eight_knots_is_no_encounter():
    assert found(drift(273000001, 3.0, speed_kn=8.0), drift(273000002, 3.0, speed_kn=8.0, east_km=0.3)) == []


def test_near_a_port_is_no_encounter():
    near = (PORT[0] - 5.0 / KM_LAT, PORT[1])  # 5 km south of the port, drifting ~5.5 km north over 3 h
    assert found(drift(273000001, 3.0, where=near), drift(273000002, 3.0, east_km=0.3, where=near)) == []


def test_thirty_minute_gap_inside_is_interpolated():
    [e] = found(drift(273000001, 3.0), drift(273000002, 3.0, east_km=0.3, drop=[(1.0, 1.5)]))
    assert e["details"]["duration_h"] >= 2.8


def test_gap_longer_than_interpolation_limit_breaks_the_run():
    # 3 h + 2 h with a 75 min silence in one track: only the 3 h part qualifies
    evs = found(drift(273000001, 6.0), drift(273000002, 6.0, east_km=0.3, drop=[(3.0, 4.25)]))
    assert len(evs) == 1 and evs[0]["details"]["duration_h"] < 3.01


def test_two_segments_of_one_mmsi_never_meet():
    # the same MMSI transmitted by two ships 300 m apart: never an encounter with itself
    a = drift(273000001, 3.0)
    b = drift(273000001, 3.0, east_km=0.3)
    i = b.schema.get_field_index("line")
    b = b.set_column(i, b.schema.field(i), pa.array(np.arange(1000, 1000 + b.num_rows), pa.int64()))
    assert found(a, b) == []


def _queue(spacing_km: float, n: int = 20) -> list[pa.Table]:
    return [drift(273100000 + k, 4.0, speed_kn=0.0, east_km=k * spacing_km, step_min=6.0) for k in range(n)]


def test_queue_at_anchor_one_km_apart_gives_no_encounters():
    assert found(*_queue(1.0)) == []


def test_queue_at_anchor_300_m_apart_pairs_only_neighbours():
    evs = found(*_queue(0.3))
    pairs = sorted((e["mmsi"] - 273100000, e["other_mmsi"] - 273100000) for e in evs)
    assert pairs == [(k, k + 1) for k in range(19)]  # 19 adjacent pairs, not 190


def test_pair_search_is_linear_not_quadratic():
    """Report the runtime and the number of distance evaluations for growing numbers of grid points at a fixed
    density (about 200k points at the top); pairwise comparison would grow with the square."""
    rng = np.random.default_rng(3)
    adjacent_pairs(np.zeros(10, np.int64), np.zeros(10), np.zeros(10), np.arange(10), 0.5)  # compile
    per_slot = 1400  # vessels per 10-min slot in a 2 x 2 degree box
    for n_slots in (36, 72, 144):
        n = per_slot * n_slots
        slot = np.repeat(np.arange(n_slots), per_slot)
        vessel = np.tile(np.arange(per_slot), n_slots)
        lat, lon = 40 + 2 * rng.random(n), 130 + 2 * rng.random(n)
        t = time.perf_counter()
        i, _, d, compared = adjacent_pairs(slot, lat, lon, vessel, 0.5)
        took = time.perf_counter() - t
        print(f"\n{n:>7} grid points: {took * 1e3:7.1f} ms, {compared:>8} distances evaluated "
              f"(pairwise: {n_slots * per_slot * (per_slot - 1) // 2}), {len(i)} adjacent pairs")
        assert compared < n_slots * per_slot * (per_slot - 1) // 2 / 50
        assert np.all(d <= 0.5)
        # the hashed search misses nothing: check one slot by brute force
        s = slot == 0
        la, lo_ = lat[s], lon[s]
        full = haversine_km(la[:, None], lo_[:, None], la[None, :], lo_[None, :])
        want = int(((full <= 0.5) & np.triu(np.ones_like(full, bool), 1)).sum())
        assert int(((slot[i] == 0)).sum()) == want
