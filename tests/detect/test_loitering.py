"""Loitering on hand-made tracks: drifting offshore in the Sea of Japan, the same near a port, a short slow spell."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from test_port_visits import PORT, positions

from watchkeeper.config import Config
from watchkeeper.detect.events import to_records, validate_events
from watchkeeper.detect.loitering import loitering
from watchkeeper.geo.gazetteer import load_gazetteer
from watchkeeper.geo.sphere import haversine_km
from watchkeeper.tracks import segment

CFG = Config()
KM_PER_DEG_LON = 111.2 * np.cos(np.radians(41.6))
OFFSHORE = (41.6, 134.2)  # Sea of Japan, well over 50 km from any port or anchorage


def transit_drift_transit(at, drift_h: float, drift_kn: float = 1.0, transit_kn: float = 12.0):
    """Waypoints: 2 h east at transit_kn to ``at``, drift east for drift_h at drift_kn, 2 h east at transit_kn."""
    lat, lon = at
    dlon = lambda kn, h: kn * 1.852 * h / (111.2 * np.cos(np.radians(lat)))
    a = lon + dlon(drift_kn, drift_h)
    return [(0.0, lat, lon - dlon(transit_kn, 2.0)), (2.0, lat, lon), (2.0 + drift_h, lat, a),
            (4.0 + drift_h, lat, a + dlon(transit_kn, 2.0))]


def events(table: pa.Table) -> list[dict]:
    out = loitering(segment(table, CFG), load_gazetteer(), CFG)
    validate_events(out)
    return list(to_records(out))


def test_offshore_drift_of_three_hours_is_one_loitering_event():
    _, d = load_gazetteer().nearest(np.array([OFFSHORE[0]]), np.array([OFFSHORE[1]]))
    assert d[0] > 50
    [e] = events(positions(273100001, transit_drift_transit(OFFSHORE, 3.0)))
    t0 = dt.datetime(2024, 3, 1, 6, 0, tzinfo=dt.UTC)
    start_h = (dt.datetime.fromisoformat(e["start"]) - t0).total_seconds() / 3600
    d = e["details"]
    # the 1 h averaging window trims at most half an hour at each end of the 3 h drift, and adds nothing beyond it
    assert 2.0 <= start_h <= 2.5 and 2.0 <= d["duration_h"] <= 3.0
    assert d["median_speed_kn"] == pytest.approx(1.0, abs=0.05)
    assert d["distance_from_port_km"] > 40 and d["n_positions"] == e["positions"]["n"]
    assert d["n_positions"] == round(d["duration_h"] * 20) + 1
    assert 0.5 <= e["confidence"] <= 1.0 and e["type"] == "loitering"
    assert float(haversine_km(e["lat"], e["lon"], *OFFSHORE)) < 1.852 * 3


def test_same_drift_near_a_port_is_not_loitering():
    near = (PORT[0] - 0.02, PORT[1])  # about 2 km from Vostochnyy: inside the port-visit entry radius
    assert events(positions(273100002, transit_drift_transit(near, 3.0))) == []
    # and far enough away it is: the port rule is what removed it
    lenient = CFG.replace(loitering={"min_port_distance_km": 0.0})
    table = positions(273100002, transit_drift_transit(near, 3.0))
    assert loitering(segment(table, lenient), load_gazetteer(), lenient).num_rows == 1


def test_slow_for_one_hour_only_is_not_loitering():
    assert events(positions(273100003, transit_drift_transit(OFFSHORE, 1.0))) == []


def test_event_ids_are_deterministic():
    table = positions(273100004, transit_drift_transit(OFFSHORE, 4.0))
    a = loitering(segment(table, CFG), load_gazetteer(), CFG)
    b = loitering(segment(table.take(pa.array(np.arange(table.num_rows)[::-1])), CFG), load_gazetteer(), CFG)
    assert a.num_rows == 1 and a.equals(b)


def test_drift_a_few_km_off_a_port_is_loitering_near_port_with_lower_confidence():
    off = (PORT[0] - 0.06, PORT[1])  # about 6-7 km from Vostochnyy: outside port-visit reach, inside near_port_km
    _, d = load_gazetteer().nearest(np.array([off[0]]), np.array([off[1]]))
    assert CFG.loitering.min_port_distance_km < d[0] < CFG.loitering.near_port_km
    [near] = events(positions(273100005, transit_drift_transit(off, 3.0)))
    [far] = events(positions(273100005, transit_drift_transit(OFFSHORE, 3.0)))
    assert near["details"]["near_port"] is True and far["details"]["near_port"] is False
    assert near["confidence"] == pytest.approx(far["confidence"] * CFG.loitering.near_port_confidence_factor,
                                               abs=0.05)


def test_long_silence_ends_a_slow_stretch():
    # 24 h of drifting with a 10 h silence in the middle (longer than max_silence_h): two stretches, not one
    assert CFG.loitering.max_silence_h < 10.0
    wp = transit_drift_transit(OFFSHORE, 24.0, drift_kn=0.5)
    split = events(positions(273100006, wp, drop=[(9.0, 19.0)]))
    assert len(split) == 2 and all(e["details"]["max_silence_h"] < 1.0 for e in split)
    lenient = CFG.replace(loitering={"max_silence_h": 12.0})
    [whole] = to_records(loitering(segment(positions(273100006, wp, drop=[(9.0, 19.0)]), lenient),
                                   load_gazetteer(), lenient))
    assert whole["details"]["max_silence_h"] == pytest.approx(10.0, abs=0.1)


def test_reported_speed_vetoes_a_slow_looking_stretch():
    # sparse fixes of a vessel that says it makes 4 kn (searching, circling) look slow by implied speed; the same
    # fixes reporting 0.5 kn are a drift
    table = positions(273100007, transit_drift_transit(OFFSHORE, 4.0, drift_kn=0.5), step_min=30.0)
    n = table.num_rows

    def with_sog(kn):
        return table.set_column(table.schema.get_field_index("sog_kn"), "sog_kn", pa.array([kn] * n, pa.float32()))

    assert len(events(with_sog(0.5))) == 1
    assert events(with_sog(4.0)) == []


def test_distances_from_the_segmentation_give_the_same_events():
    """The scan takes each row's distance from the row before as the segmentation measured it, where that row is
    the one it was measured from: two transmitters on one MMSI, an impossible jump (an implausible row left out)
    and coarse type 27 positions riding along (measured from the row before them) give the same events as the
    table, whose distances are all computed afresh."""
    from watchkeeper.tracks.segment import segment_tracks

    a = positions(273_000_001, transit_drift_transit(OFFSHORE, drift_h=5.0))
    b = positions(273_000_001, transit_drift_transit((OFFSHORE[0] + 2.0, OFFSHORE[1]), drift_h=4.0),
                  t0=a["ts"][0].as_py() + dt.timedelta(minutes=1))
    for name in ("line", "line_last"):  # b's lines follow a's in the file
        b = b.set_column(b.schema.get_field_index(name), b.schema.field(name), pa.array(np.arange(b.num_rows) + 10_000))
    rows = a.to_pylist()
    mid = len(rows) // 2
    rows[mid] = {**rows[mid], "lat": rows[mid]["lat"] + 3.0}  # a jump that returns
    coarse = [{**r, "msg_type": 27, "ts": r["ts"] + dt.timedelta(seconds=30), "lat": round(r["lat"], 1),
               "lon": round(r["lon"], 1), "line": r["line"] + 20_000, "line_last": r["line"] + 20_000}
              for r in rows[40:90:5]]
    table = pa.concat_tables([pa.Table.from_pylist(rows + coarse, schema=a.schema), b])
    tracks = segment_tracks(table, CFG)
    step = tracks.plausible["step_km"]
    assert np.isfinite(step).sum() > 0.8 * len(step)  # most distances come from the segmentation
    starts = tracks.plausible["bounds"][:-1]
    assert np.isnan(np.delete(step, starts)).any()  # ... and some are computed here
    got = loitering(tracks, load_gazetteer(), CFG)
    want = loitering(tracks.table, load_gazetteer(), CFG)
    assert got.num_rows >= 2 and got.equals(want)
