"""Exports of a real store: GeoJSON, KML, FollowTheMoney, GeoParquet and CSV parse and hold what the store does."""

from __future__ import annotations

import csv
import json
from xml.etree import ElementTree as ET

import numpy as np
import pyarrow.parquet as pq
import pytest
import shapely
from click.testing import CliRunner
from report_voyage import A, B

from watchkeeper.cli import cli
from watchkeeper.report.exports import split_antimeridian, track_geometry
from watchkeeper.store.catalogue import Store

KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture(scope="module")
def store_facts(voyage_store):
    with Store.open(voyage_store) as store:
        events = store.events_table()
        n_pos = store.relation("positions").count("*").fetchall()[0][0]
    return {"events": events.num_rows, "ids": set(events.column("event_id").to_pylist()), "positions": n_pos}


def run_export(db, fmt, out, what="all"):
    result = CliRunner().invoke(cli, ["export", "--db", str(db), "--format", fmt, "-o", str(out), "--what", what])
    assert result.exit_code == 0, result.output
    return out


def test_geojson(voyage_store, store_facts, tmp_path):
    doc = json.loads(run_export(voyage_store, "geojson", tmp_path / "x.geojson").read_text())
    assert doc["type"] == "FeatureCollection"
    tracks = [f for f in doc["features"] if f["properties"]["kind"] == "track"]
    events = [f for f in doc["features"] if f["properties"]["kind"] == "event"]
    assert {f["properties"]["mmsi"] for f in tracks} == {A, B}
    assert sum(f["properties"]["n_positions"] for f in tracks) == store_facts["positions"]
    assert {f["id"] for f in events} == store_facts["ids"]
    for f in doc["features"]:
        if f["geometry"] is not None:
            geom = shapely.from_geojson(json.dumps(f["geometry"]))
            assert shapely.is_valid(geom) and not shapely.is_empty(geom)
    assert all(f["geometry"]["type"] == "LineString" for f in tracks)


def test_kml(voyage_store, store_facts, tmp_path):
    root = ET.parse(run_export(voyage_store, "kml", tmp_path / "x.kml")).getroot()
    assert root.tag == f"{KML}kml"
    folders = {f.find(f"{KML}name").text: f for f in root.iter(f"{KML}Folder")}
    assert list(folders) == ["Tracks", "Events", "Ports"]
    events = folders["Events"].findall(f"{KML}Placemark")
    assert len(events) == store_facts["events"]
    assert all(p.find(f"{KML}TimeSpan/{KML}begin") is not None for p in events)
    ports = [p.find(f"{KML}name").text for p in folders["Ports"].findall(f"{KML}Placemark")]
    assert "Vladivostok" in ports and "Najin" in ports
    line = folders["Tracks"].find(f".//{KML}LineString/{KML}coordinates").text.split()
    lon, lat = map(float, line[0].split(","))
    assert 130 < lon < 135 and 40 < lat < 44


def test_ftm_loads_as_entities(voyage_store, store_facts, tmp_path):
    from followthemoney import model

    lines = run_export(voyage_store, "ftm", tmp_path / "x.ftm.json").read_text().splitlines()
    proxies = [model.get_proxy(json.loads(line)) for line in lines]
    by_schema: dict = {}
    for p in proxies:
        by_schema.setdefault(p.schema.name, []).append(p)
    vessels = {p.first("mmsi"): p for p in by_schema["Vessel"]}
    assert set(vessels) == {f"{A:09d}", f"{B:09d}"}
    a = vessels[f"{A:09d}"]
    assert a.first("name") == "SPARTA IV" and "ANGARA" in a.get("previousName")
    assert a.get("imoNumber") == ["IMO9179842"] and a.get("flag") == ["ru"] and a.get("callSign") == ["UBCI5"]
    assert {p.first("recordId") for p in by_schema["Event"]} == store_facts["ids"]
    ids = {p.id for p in proxies}
    for link in by_schema["UnknownLink"]:
        assert link.first("subject") in ids and link.first("object") in ids


def test_geoparquet(voyage_store, tmp_path):
    out = run_export(voyage_store, "geoparquet", tmp_path / "gp", what="all")
    for name, types in (("tracks.parquet", {"LineString"}), ("events.parquet", {"Point"})):
        table = pq.read_table(out / name)
        geo = json.loads(table.schema.metadata[b"geo"])
        assert geo["version"] == "1.0.0" and geo["primary_column"] == "geometry"
        col = geo["columns"]["geometry"]
        assert col["encoding"] == "WKB" and set(col["geometry_types"]) == types
        wkb = [g for g in table.column("geometry").to_pylist() if g is not None]
        geoms = shapely.from_wkb(wkb)
        assert shapely.is_valid(geoms).all()
        assert np.allclose(shapely.total_bounds(geoms), col["bbox"])


def test_csv(voyage_store, store_facts, tmp_path):
    out = run_export(voyage_store, "csv", tmp_path / "c", what="all")
    rows = list(csv.DictReader((out / "positions.csv").open()))
    assert len(rows) == store_facts["positions"] and rows[0]["segment_id"].startswith(str(rows[0]["mmsi"]))
    events = list(csv.DictReader((out / "events.csv").open()))
    assert {r["event_id"] for r in events} == store_facts["ids"]
    single = run_export(voyage_store, "csv", tmp_path / "e.csv", what="events")
    assert single.read_text() == (out / "events.csv").read_text()


def test_antimeridian_split():
    lon = np.array([179.0, 179.8, -179.6, -179.0])
    lat = np.array([50.0, 50.2, 50.4, 50.6])
    parts = split_antimeridian(lon, lat)
    assert len(parts) == 2 and parts[0][-1][0] == 180.0 and parts[1][0][0] == -180.0
    assert parts[0][-1][1] == pytest.approx(parts[1][0][1]) and 50.2 < parts[0][-1][1] < 50.4
    geom = track_geometry({"lon": lon, "lat": lat})
    assert geom.geom_type == "MultiLineString" and shapely.is_valid(geom)
    assert shapely.bounds(geom)[2] - shapely.bounds(geom)[0] == pytest.approx(360.0)  # each part stays in range
