"""The whole detection suite on hand-made hard cases: the antimeridian and a port whose reference point is on land.

Each case runs every detector (``detect_all``), so a rule that handles a case correctly cannot be undone by another
one reporting nonsense about it (a 360-degree "jump" at the date line, a moored ship "on land").
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
from test_port_visits import positions

from watchkeeper.config import Config
from watchkeeper.engines.local import detect_all
from watchkeeper.geo.coast import Coast
from watchkeeper.geo.gazetteer import load_gazetteer
from watchkeeper.schema import STATICS

CFG = Config()
T0 = dt.datetime(2024, 3, 1, 6, 0, tzinfo=dt.UTC)
LAT = 45.0  # North Pacific, far from any land or port at 180 degrees
KM_PER_DEG_LON = 111.195 * np.cos(np.radians(LAT))


def events(*tables: pa.Table) -> list[dict]:
    table = detect_all(pa.concat_tables(tables), STATICS.empty_table(), CFG)
    return [{**r, "details": json.loads(r["details"])} for r in table.to_pylist()]


def of_type(evs, t):
    return [e for e in evs if e["type"] == t]


def drift_across_date_line(mmsi, hours=6.0, kn=1.0, north_km=0.0, drop=()):
    """Waypoints drifting east across 180 degrees at ``kn``, centred on the date line at ``hours / 2``."""
    half = kn * 1.852 * hours / 2 / KM_PER_DEG_LON
    lat = LAT + north_km / 111.195
    return positions(mmsi, [(0.0, lat, 180.0 - half), (hours, lat, 180.0 + half)], t0=T0, drop=drop)


def wrap(table: pa.Table) -> pa.Table:
    lon = np.asarray(table["lon"].to_numpy(zero_copy_only=False))
    return table.set_column(table.schema.get_field_index("lon"), "lon", pa.array((lon + 180.0) % 360.0 - 180.0))


def test_the_date_line_is_open_sea_here():
    gaz, coast = load_gazetteer(), Coast.default()
    assert gaz.nearest(np.array([LAT]), np.array([180.0]))[1][0] > 500
    assert coast.distance_to_shore_km(np.array([LAT]), np.array([179.99]))[0] > 300


def test_drifting_pair_across_the_date_line_is_one_encounter_and_no_jump():
    a = wrap(drift_across_date_line(273400001))
    b = wrap(drift_across_date_line(273400002, north_km=0.2))
    assert (np.asarray(a["lon"]) < 0).any() and (np.asarray(a["lon"]) > 0).any()  # it really crosses
    evs = events(a, b)
    enc, mirror = sorted(of_type(evs, "encounter"), key=lambda e: e["mmsi"])  # one row per vessel
    assert (enc["mmsi"], enc["other_mmsi"]) == (mirror["other_mmsi"], mirror["mmsi"]) == (273400001, 273400002)
    assert abs(enc["details"]["duration_h"] - 6.0) < 0.3 and enc["details"]["median_distance_m"] < 250
    assert abs(abs(enc["lon"]) - 180.0) < 0.1  # the median location is at the date line, not at 0 degrees
    assert not of_type(evs, "position_jump") and not of_type(evs, "mmsi_conflict")
    # each vessel loiters there too, with the drift's speed (not a 360-degree leap)
    loiter = of_type(evs, "loitering")
    assert sorted(e["mmsi"] for e in loiter) == [273400001, 273400002]
    assert all(abs(e["details"]["median_speed_kn"] - 1.0) < 0.1 for e in loiter)


def test_gap_across_the_date_line_measures_the_short_way():
    evs = events(wrap(drift_across_date_line(273400003, hours=10.0, kn=10.0, drop=[(3.0, 7.0)])))
    [gap] = [e for e in of_type(evs, "ais_gap") if not e["details"]["open"]]
    # 4 h at 10 kn: about 74 km, not the ~28,000 km the long way round at this latitude
    assert abs(gap["details"]["distance_km"] - 4 * 10 * 1.852) < 2
    assert abs(gap["details"]["implied_speed_kn"] - 10.0) < 0.5
    assert not of_type(evs, "position_jump")


def test_ship_moored_at_a_port_whose_reference_point_is_on_land():
    # Hamburg lies ~100 km up the Elbe, which the 1:10m land polygons fill: its port point is well inside "land"
    gaz, coast = load_gazetteer(), Coast.default()
    port = next(gaz.row(int(k)) for k in gaz.find("Hamburg", "DE") if gaz.row(int(k))["kind"] == "port")
    assert coast.distance_to_shore_km([port["lat"]], [port["lon"]])[0] < -5
    at = (port["lat"], port["lon"])
    wp = [(0.0, at[0], at[1] - 0.15), (1.0, *at), (13.0, at[0], at[1] + 0.001), (14.0, at[0], at[1] - 0.15)]
    evs = events(positions(273400004, wp, t0=T0))
    [visit] = of_type(evs, "port_visit")
    # the approach along the Elbe passes other places of the port, so the visit may start before the berth
    assert visit["port_name"] == port["name"] and 11.5 < visit["details"]["duration_h"] <= 14.0
    assert not of_type(evs, "position_jump") and not of_type(evs, "loitering")
