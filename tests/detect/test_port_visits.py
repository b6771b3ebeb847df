"""Port visits on hand-made tracks at Vostochny: stops, pass-bys, in-port gaps, midnight, a ferry's daily calls."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from watchkeeper.config import Config
from watchkeeper.detect.events import to_records, validate_events
from watchkeeper.detect.port_visits import port_visits
from watchkeeper.geo.gazetteer import load_gazetteer
from watchkeeper.geo.sphere import haversine_km
from watchkeeper.schema import POSITIONS
from watchkeeper.tracks import segment

CFG = Config()
T0 = dt.datetime(2024, 3, 1, 6, 0, tzinfo=dt.UTC)
PORT = (42.75, 133.08333)  # Vostochnyy (WPI, RUVYP)
SEA = (42.45, 133.35)  # open water about 40 km south-east of it


def positions(mmsi: int, waypoints, t0=T0, step_min: float = 3.0, drop=()) -> pa.Table:
    """POSITIONS sampled every ``step_min`` along ``waypoints`` [(hours after t0, lat, lon), ...], straight between
    them; rows in the ``drop`` intervals [(from_h, to_h), ...] (exclusive) are silent. SOG is not reported."""
    wp = np.asarray(waypoints, dtype=float)
    t_h = np.arange(0.0, wp[-1, 0] + 1e-9, step_min / 60.0)
    for a, b in drop:
        t_h = t_h[(t_h <= a) | (t_h >= b)]
    lat, lon = np.interp(t_h, wp[:, 0], wp[:, 1]), np.interp(t_h, wp[:, 0], wp[:, 2])
    n = len(t_h)
    cols = {name: [None] * n for name in POSITIONS.names}
    cols.update(mmsi=[mmsi] * n, ts=[t0 + dt.timedelta(hours=float(h)) for h in t_h], lat=lat.tolist(),
                lon=lon.tolist(), msg_type=[1] * n, source_id=[1] * n, line=list(range(1, n + 1)),
                line_last=list(range(1, n + 1)))
    return pa.Table.from_pydict(cols, schema=POSITIONS)


def visits(table: pa.Table) -> list[dict]:
    events = port_visits(segment(table, CFG), load_gazetteer(), CFG)
    validate_events(events)
    return list(to_records(events))


def hours(iso: str, t0=T0) -> float:
    return (dt.datetime.fromisoformat(iso) - t0).total_seconds() / 3600.0


def call(arrive_h: float, leave_h: float, transit_h: float = 2.0):
    """Waypoints of a call: from SEA, at PORT from arrive_h to leave_h, back to SEA."""
    return [(arrive_h - transit_h, *SEA), (arrive_h, *PORT), (leave_h, *PORT), (leave_h + transit_h, *SEA)]


def test_stop_of_five_hours_is_one_visit_with_its_times():
    [v] = visits(positions(273000001, call(2.0, 7.0)))
    assert v["type"] == "port_visit" and v["mmsi"] == 273000001
    assert v["port"]["name"].startswith("Vostochn") and v["port"]["locode"] == "RUVYP"
    # the 40 km approach takes 2 h (~11 kn): 3 km (entry) is reached some 10 min before arrival; 4 km (exit) the
    # same after departure; nearby anchorage points can only make the visit start earlier and end later
    assert 1.0 <= hours(v["start"]) <= 2.0 - 0.1
    assert 7.0 + 0.1 <= hours(v["end"]) <= 8.0
    d = v["details"]
    assert d["stopped"] and d["entry_observed"] and d["exit_observed"] and d["confidence_level"] == 4
    assert v["confidence"] == 1.0
    assert d["duration_h"] == pytest.approx(hours(v["end"]) - hours(v["start"]))
    assert d["min_distance_km"] < 0.01 and d["port_kind"] == "port" and d["n_port_gaps"] == 0
    assert d["n_positions"] == v["positions"]["n"] == round(d["duration_h"] * 20) + 1  # a position every 3 min
    assert [r["role"] for r in v["positions"]["refs"]] == ["first", "last"]
    assert (v["lat"], v["lon"]) == (v["port"]["lat"], v["port"]["lon"])


def test_pass_by_at_12_kn_within_2_km_is_no_visit():
    south = PORT[0] - 2.0 / 111.2  # 2 km south of the port point
    west, east = (south, 132.90), (south, 133.30)
    length_km = float(haversine_km(*west, *east))
    assert 2.0 * 1.852 * 12 > length_km > 30  # the pass lasts under 2 h at 12 kn
    track = positions(273000002, [(0.0, *west), (length_km / (12 * 1.852), *east)])
    assert visits(track) == []
    # it did enter and leave: with level 1 (entry or exit only) and no minimum duration kept, it shows
    lenient = CFG.replace(port_visit={"min_confidence_level": 1, "min_duration_h": 0.0})
    [v] = list(to_records(port_visits(segment(track, lenient), load_gazetteer(), lenient)))
    assert v["details"]["confidence_level"] == 2 - 1 and not v["details"]["stopped"]


def test_gap_in_port_does_not_split_the_visit():
    [v] = visits(positions(273000003, call(2.0, 7.0), drop=[(3.0, 5.0)]))
    assert 1.0 <= hours(v["start"]) < 2.0 and 7.0 < hours(v["end"]) <= 8.0
    assert v["details"]["max_silence_h"] == pytest.approx(2.0)
    assert v["details"]["n_port_gaps"] == 0  # 2 h is shorter than in_port_gap_h


def test_long_gap_in_port_is_a_port_gap():
    gap = CFG.port_visit.in_port_gap_h + 1.0
    [v] = visits(positions(273000004, call(2.0, 4.0 + gap), drop=[(2.5, 2.5 + gap)]))
    assert v["details"]["n_port_gaps"] == 1 and v["details"]["max_silence_h"] == pytest.approx(gap)


def test_visit_across_utc_midnight_is_one_event():
    t0 = dt.datetime(2024, 3, 1, 20, 0, tzinfo=dt.UTC)
    [v] = visits(positions(273000005, call(2.0, 7.0), t0=t0))  # in port 22:00 - 03:00
    midnight = dt.datetime(2024, 3, 2, tzinfo=dt.UTC)
    assert dt.datetime.fromisoformat(v["start"]) < midnight < dt.datetime.fromisoformat(v["end"])
    assert 5.0 < v["details"]["duration_h"] < 7.0


def test_ferry_with_two_daily_calls_gives_two_visits():
    day1, day2 = call(2.0, 6.0), call(26.0, 30.0)
    track = positions(273000006, day1 + day2)  # waiting at SEA between the calls
    vs = visits(track)
    assert len(vs) == 2 and len({v["event_id"] for v in vs}) == 2
    assert [round(hours(v["start"]) // 24) for v in vs] == [0, 1]
    assert all(v["details"]["confidence_level"] == 4 for v in vs)


def test_event_ids_are_deterministic_and_input_order_free():
    track = positions(273000007, call(2.0, 7.0) + call(26.0, 30.0))
    a = port_visits(segment(track, CFG), load_gazetteer(), CFG)
    shuffled = track.take(pa.array(np.random.default_rng(1).permutation(track.num_rows)))
    b = port_visits(segment(shuffled, CFG), load_gazetteer(), CFG)
    assert a["event_id"].to_pylist() == b["event_id"].to_pylist() and a.num_rows == 2
    assert a.equals(b)


def test_empty_input_gives_an_empty_table():
    assert port_visits(segment(positions(273000008, [(0, *SEA), (1, *SEA)]).slice(0, 0), CFG),
                       load_gazetteer(), CFG).num_rows == 0


def test_moving_on_to_a_neighbouring_port_is_two_visits():
    # Nakhodka and Vostochny share one bay, 17 km apart with anchorages in between: the vessel never leaves port
    # proximity, but six hours at each is a call at each
    gaz = load_gazetteer()

    def port(name):
        return next(gaz.row(int(k)) for k in gaz.find(name, "RU") if gaz.row(int(k))["kind"] == "port")

    nak, vos = port("Nakhodka"), port("Vostochnyy")
    wp = [(0.0, nak["lat"], nak["lon"]), (6.0, nak["lat"], nak["lon"] + 0.001), (8.0, vos["lat"], vos["lon"]),
          (14.0, vos["lat"], vos["lon"] + 0.001)]
    table = positions(273500001, wp)
    got = visits(table)
    assert [v["port"]["name"] for v in got] == ["Nakhodka", "Vostochnyy"]
    assert got[0]["end"] < got[1]["start"] and got[1]["details"]["entry_observed"]
    assert all(5.5 < v["details"]["duration_h"] < 8.0 for v in got)
    # without the port-switch rule the whole stay is one visit named after one of the two
    merged = CFG.replace(port_visit={"port_switch_min_h": 1000.0})
    assert len(list(to_records(port_visits(segment(table, merged), gaz, merged)))) == 1
