"""position_jump on hand-made tracks: a returning jump, a point on land, GNSS defaults, a clean track."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from watchkeeper.config import Config
from watchkeeper.detect.events import validate_events
from watchkeeper.detect.spoofing import position_jumps
from watchkeeper.geo.coast import Coast
from watchkeeper.schema import POSITIONS
from watchkeeper.tracks import segment

CFG = Config()
T0 = datetime(2024, 3, 1, 20, 0, tzinfo=UTC)
MMSI = 273350000
PYONGYANG = (39.03, 125.75)


def table(rows) -> pa.Table:
    """Positions from (mmsi, ts, lat, lon, sog_kn) tuples; line = 1-based index."""
    cols = {name: [] for name in POSITIONS.names}
    for i, (mmsi, ts, lat, lon, sog) in enumerate(rows, 1):
        full = dict.fromkeys(POSITIONS.names)
        full.update(mmsi=mmsi, ts=ts, lat=lat, lon=lon, sog_kn=sog, msg_type=1, source_id=1, line=i, line_last=i)
        for name in POSITIONS.names:
            cols[name].append(full[name])
    return pa.Table.from_pydict(cols, schema=POSITIONS)


def sea_track(n=40, step_min=10.0, lat0=38.2, lon0=124.2, speed_kn=10.0, mmsi=MMSI):
    """A ship heading north-east in Korea Bay (open sea) at 10 kn."""
    rows = []
    for k in range(n):
        d_nm = speed_kn * step_min / 60 * k
        lat = lat0 + d_nm / 60 * math.cos(math.radians(45))
        lon = lon0 + d_nm / 60 * math.sin(math.radians(45)) / math.cos(math.radians(lat0))
        rows.append([mmsi, T0 + timedelta(minutes=step_min * k), lat, lon, speed_kn])
    return rows


def detect(rows):
    ev = position_jumps(segment(table(rows), CFG), Coast.default(), CFG)
    validate_events(ev)
    return ev


def test_continuous_plausible_track_gives_no_event():
    assert detect(sea_track()).num_rows == 0


def test_three_point_jump_200_km_away_and_back():
    rows = sea_track()
    for k in (20, 21, 22):  # 200 km due south for three reports, moving on plausibly there
        rows[k][2] -= 200 / 111.2
    ev = detect(rows)
    assert ev.num_rows == 1
    r = ev.to_pylist()[0]
    d = json.loads(r["details"])
    assert r["type"] == "position_jump" and r["mmsi"] == MMSI and r["other_mmsi"] is None
    assert r["start"] == rows[20][1] and r["end"] == rows[22][1]
    assert d["rule"] == "speed" and d["returned"] is True and d["n_positions"] == 3
    assert 190 < d["jump_distance_km"] < 215
    assert d["max_implied_speed_kn"] > CFG.position_jump.max_speed_class_a_kn
    assert [(x["line"], x["role"]) for x in r["positions"]["refs"]][:2] == [(21, "first"), (23, "last")]


def test_single_point_at_pyongyang_is_one_on_land_event():
    rows = sea_track()
    rows[15][2:4] = PYONGYANG
    ev = detect(rows)
    assert ev.num_rows == 1
    r = ev.to_pylist()[0]
    d = json.loads(r["details"])
    assert d["rule"] == "on_land" and d["n_positions"] == 1 and d["max_inland_km"] > 10
    assert r["start"] == r["end"] == rows[15][1]
    assert (r["lat"], r["lon"]) == PYONGYANG


def test_null_island_and_frozen_position():
    rows = sea_track()
    rows[10][2:4] = (0.0, 0.0)
    for k in range(30, 35):  # the fix freezes while the ship reports 10 kn
        rows[k][2:4] = rows[29][2:4]
    ev = detect(rows)
    got = {json.loads(d)["rule"]: (s, e) for d, s, e in zip(ev["details"].to_pylist(), ev["start"].to_pylist(),
                                                             ev["end"].to_pylist())}
    assert got == {"null_island": (rows[10][1], rows[10][1]), "frozen_position": (rows[29][1], rows[34][1])}


def test_ids_are_deterministic_and_input_order_free():
    rows = sea_track()
    for k in (20, 21, 22):
        rows[k][2] -= 200 / 111.2
    rows[5][2:4] = PYONGYANG
    a, b = detect(rows), detect(rows[::-1])
    assert a.num_rows == 2
    assert a["event_id"].to_pylist() == b["event_id"].to_pylist()


def lake_track(mmsi, lat0, lon0=-87.3, n=12):
    """A ship crossing the middle of Lake Michigan eastwards at 10 kn, more than 40 km from any port."""
    return [[mmsi, T0 + timedelta(minutes=10 * k), lat0, lon0 + (10 * 10 / 60 * k) / 60 / math.cos(math.radians(lat0)),
             10.0] for k in range(n)]


def test_track_wholly_on_land_is_inland_water_but_a_sea_track_pulled_inland_is_not():
    # The Natural Earth land polygons fill the Great Lakes (as they fill rivers and canals): a plausible track
    # wholly "on land" there is an inland-waterway track, alone or with other traffic
    assert detect(lake_track(MMSI, 44.0)).num_rows == 0
    others = CFG.position_jump.inland_water_min_vessels
    assert detect([row for k in range(others + 1) for row in lake_track(MMSI + k, 44.0 + 0.01 * k)]).num_rows == 0
    # a ship at sea off the Korean east coast whose positions run 13 km inland at 10 kn and back (a gradual
    # pull-off), far from any port: the inland stretch is reported against its own sea track
    sea, inland = (36.8, 129.75), (36.8, 129.3)
    assert Coast.default().distance_to_shore_km([inland[0]], [inland[1]])[0] < -10
    n = 25
    lons = [sea[1] + (inland[1] - sea[1]) * min(k, 2 * n - k) / n for k in range(2 * n + 1)]
    rows = [[MMSI, T0 + timedelta(minutes=7 * k), sea[0], lon, 10.0] for k, lon in enumerate(lons)]
    ev = [json.loads(d) for d in detect(rows)["details"].to_pylist()]
    assert ev and all(d["rule"] == "on_land" for d in ev) and max(d["max_inland_km"] for d in ev) > 10


def test_river_port_far_inland_is_water():
    # Duisburg, on the Rhine ~170 km from the sea: alongside the inland port, not an impossible position
    duisburg = (51.45, 6.73)
    rows = [[MMSI, T0 + timedelta(minutes=10 * k), duisburg[0], duisburg[1] + 0.0005 * k, 0.1] for k in range(30)]
    assert Coast.default().on_land([duisburg[0]], [duisburg[1]], buffer_m=1000.0)[0]
    assert detect(rows).num_rows == 0


def test_two_long_jumps_days_apart_are_two_events_and_no_conflict():
    from watchkeeper.detect.mmsi_conflict import mmsi_conflicts

    # 3 days of reports every 10 min; two 2-hour stretches 100 km off, 2 days apart, both returning
    rows = sea_track(n=3 * 144, step_min=10.0, lat0=40.0, lon0=133.0, speed_kn=3.0)  # mid Sea of Japan
    for start in (60, 60 + 2 * 144):
        for k in range(start, start + 12):
            rows[k][2] -= 100 / 111.2
    seg = segment(table(rows), CFG)
    ev = [json.loads(d) for d in position_jumps(seg, Coast.default(), CFG)["details"].to_pylist()]
    assert [(d["rule"], d["n_positions"], d["returned"]) for d in ev] == [("speed", 12, True)] * 2
    assert mmsi_conflicts(seg, CFG).num_rows == 0
