"""AIS gaps on hand-made tracks: reception from other vessels, an unreceived area, midnight, open gap, shared MMSI."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
from test_port_visits import positions

from watchkeeper.config import Config
from watchkeeper.detect.events import to_records, validate_events
from watchkeeper.detect.gaps import ais_gaps
from watchkeeper.tracks import segment

CFG = Config()
T0 = dt.datetime(2024, 3, 1, 6, 0, tzinfo=dt.UTC)
SEA = (41.6, 133.0)  # Sea of Japan
DPRK = (39.5, 129.6)  # off the DPRK east coast


def route(at, hours=9.0, kn=12.0):
    lat, lon = at
    return [(0.0, lat, lon), (hours, lat, lon + kn * 1.852 * hours / (111.2 * np.cos(np.radians(lat))))]


def gaps(*tables, **kw) -> list[dict]:
    out = ais_gaps(segment(pa.concat_tables(tables), CFG), config=CFG, **kw)
    validate_events(out)
    return list(to_records(out))


def hours(iso: str, t0=T0) -> float:
    return (dt.datetime.fromisoformat(iso) - t0).total_seconds() / 3600.0


def test_gap_where_others_are_received_is_likely_intentional():
    others = [positions(273200100 + k, route(SEA), t0=T0 + dt.timedelta(hours=k)) for k in range(6)]
    evs = gaps(positions(273200001, route(SEA), drop=[(2.0, 7.0)]), *others)
    assert all(x["details"]["open"] for x in evs if x["mmsi"] != 273200001)  # the others end before the data
    [e] = [x for x in evs if x["mmsi"] == 273200001 and not x["details"]["open"]]
    d = e["details"]
    assert e["mmsi"] == 273200001 and abs(hours(e["start"]) - 2.0) < 0.06 and abs(hours(e["end"]) - 7.0) < 0.06
    assert abs(d["duration_h"] - 5.0) < 0.11 and abs(d["implied_speed_kn"] - 12.0) < 0.5
    assert d["expected_positions"] > 20 and d["likely_intentional"] > 0.9 and not d["open"]
    assert d["distance_from_shore_km"] > 20 and d["end_distance_from_shore_km"] > 20
    assert [r["role"] for r in e["positions"]["refs"]] == ["first", "last"]


def test_same_gap_where_nobody_is_received_is_not():
    [e] = gaps(positions(273200002, route(DPRK), drop=[(2.0, 7.0)]))
    assert e["details"]["likely_intentional"] < 0.1 and e["details"]["expected_positions"] < 1


def test_gap_across_midnight_is_one_event():
    t0 = dt.datetime(2024, 3, 1, 20, 0, tzinfo=dt.UTC)
    [e] = gaps(positions(273200003, route(SEA, hours=10.0, kn=1.0), t0=t0, drop=[(2.0, 7.0)]))
    assert e["start"] == "2024-03-01T22:00:00Z" and e["end"] == "2024-03-02T03:00:00Z"


def test_open_gap_at_end_of_data():
    other = positions(273200104, route(SEA, hours=10.0))
    evs = gaps(positions(273200004, route(SEA, hours=3.0)), other)
    [e] = [x for x in evs if x["mmsi"] == 273200004]
    assert e["details"]["open"] and e["end"] == "2024-03-01T16:00:00Z" and abs(hours(e["start"]) - 3.0) < 1e-6
    assert e["details"]["end_lat"] is None and len(e["positions"]["refs"]) == 1
    assert not [x for x in evs if x["mmsi"] == 273200104]  # ends with the data: no open gap


def test_two_ships_on_one_mmsi_are_gapped_per_segment():
    a = positions(273200005, route(SEA), drop=[(2.0, 5.0)])
    b = positions(273200005, route((43.0, 131.5), kn=5.0), step_min=60.0)  # reports through a's silence
    b = b.set_column(b.column_names.index("line"), "line", pa.array(np.arange(1000, 1000 + b.num_rows))).cast(a.schema)
    evs = gaps(a, b)
    assert len(evs) == 1 and b.num_rows > 8 and abs(evs[0]["details"]["duration_h"] - 3.0) < 0.11
    assert evs[0]["lat"] == SEA[0]


def test_short_silences_are_not_gaps_and_ids_are_deterministic():
    assert gaps(positions(273200006, route(SEA), drop=[(2.0, 3.5)])) == []
    t = pa.concat_tables([positions(273200007, route(SEA), drop=[(2.0, 7.0)]),
                          positions(273200008, route(DPRK), drop=[(1.0, 4.0)])])
    a = ais_gaps(segment(t, CFG), config=CFG)
    b = ais_gaps(segment(t.take(pa.array(np.arange(t.num_rows)[::-1])), CFG), config=CFG)
    assert a.num_rows == 2 and a.equals(b)
    assert ais_gaps(segment(t, CFG.replace(ais_gap={"min_gap_h": 6.0})), config=CFG.replace(
        ais_gap={"min_gap_h": 6.0})).num_rows == 0


def test_open_gap_ends_with_the_data_of_its_own_area():
    """A store mixing areas and years: data that goes on elsewhere is no silence here."""
    here = positions(273200010, route(SEA, hours=3.0))
    far_later = positions(367000011, route((40.0, -70.0), hours=3.0), t0=T0 + dt.timedelta(days=400))
    evs = gaps(here, far_later)
    assert not [x for x in evs if x["mmsi"] == 273200010]  # its area's data ends with it
    neighbour = positions(273200012, route(SEA, hours=10.0))
    [e] = [x for x in gaps(here, far_later, neighbour) if x["mmsi"] == 273200010]
    assert e["details"]["open"] and abs(hours(e["end"]) - 10.0) < 1e-6  # ends where the area's data ends


def test_multi_day_dark_voyage_is_one_gap_not_two_segments():
    # three days silent, back on a plausible course: one segment, one gap of ~72 h (a 24 h segment cut-off, as in
    # gpsdio-segment, would hide it between two segments)
    [e] = gaps(positions(273200009, route(SEA, hours=80.0, kn=1.0), drop=[(4.0, 76.0)]))
    assert abs(e["details"]["duration_h"] - 72.0) < 0.2 and not e["details"]["open"]
    # beyond tracks.max_silence_h the track is cut and the silence is no gap
    short = CFG.replace(tracks={"max_silence_h": 24.0})
    table = positions(273200009, route(SEA, hours=80.0, kn=1.0), drop=[(4.0, 76.0)])
    assert ais_gaps(segment(table, short), config=short).num_rows == 0


def test_open_gap_ends_with_its_own_period_of_data():
    """A store mixing years in one area: next year's data here is no silence of this year's vessel."""
    here = positions(273200010, route(SEA, hours=3.0))
    neighbour = positions(273200012, route(SEA, hours=10.0))  # the area's data goes on until 10 h
    next_year = positions(273200013, route(SEA, hours=3.0), t0=T0 + dt.timedelta(days=400))
    [e] = [x for x in gaps(here, neighbour, next_year) if x["mmsi"] == 273200010]
    assert e["details"]["open"] and abs(hours(e["end"]) - 10.0) < 1e-6
    # without the neighbour, the data here ends with the vessel: no open gap (and none reaching the next year)
    assert not [x for x in gaps(here, next_year) if x["mmsi"] == 273200010]
