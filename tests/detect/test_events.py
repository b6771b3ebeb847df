"""The shared event table: deterministic ids, validation, and the public JSON Lines / CSV / GeoJSON contract."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import random

import numpy as np
import pyarrow as pa
import pytest

from watchkeeper.config import Config
from watchkeeper.detect.events import (
    CONTRACT_KEYS,
    CSV_COLUMNS,
    EVENT_TYPES,
    ROLES,
    event_id,
    make_events,
    read_jsonl,
    to_csv,
    to_geojson,
    to_jsonl,
    validate_events,
)
from watchkeeper.errors import InputError
from watchkeeper.schema import EVENTS

UTC = dt.UTC
SHA = Config().sha256()
T0 = dt.datetime(2024, 3, 7, 22, 10, tzinfo=UTC)


def _ref(mmsi, line, role, source_id=1):
    return {"mmsi": mmsi, "source_id": source_id, "line": line, "role": role}


def _rows():
    """One event of every type, with the hard shapes: midnight, microseconds, null position, open gap, no mmsi."""
    h = dt.timedelta(hours=1)
    return [
        {"type": "encounter", "mmsi": 273354260, "other_mmsi": 445114000, "start": T0, "end": T0 + 3.5 * h,
         "lat": 42.6581, "lon": 132.9876, "confidence": 0.9, "segment_id": "273354260-1",
         "details": {"duration_h": 3.5, "median_distance_m": 140.0},
         "positions": {"n": 1262, "refs": [_ref(273354260, 10, "first"), _ref(273354260, 990, "last"),
                                           _ref(445114000, 12, "first"), _ref(445114000, 977, "last")]}},
        {"type": "encounter", "mmsi": 445114000, "other_mmsi": 273354260, "start": T0, "end": T0 + 3.5 * h,
         "lat": 42.6583, "lon": 132.9871, "confidence": 0.9, "details": {"duration_h": 3.5}},
        {"type": "ais_gap", "mmsi": 273354260, "start": T0 + 5 * h,
         "end": T0 + 40 * h + dt.timedelta(microseconds=250), "lat": 42.1, "lon": 131.2, "confidence": 0.7,
         "details": {"duration_h": 35.0, "open": True, "distance_km": 210.4},
         "positions": [_ref(273354260, 1200, "first"), _ref(273354260, 1201, "last", source_id=2)]},
        {"type": "port_visit", "mmsi": 273354260, "start": T0 + 50 * h, "end": T0 + 80 * h, "lat": 43.1,
         "lon": 131.89, "port_name": "Vladivostok", "port_locode": "RUVVO", "port_lat": 43.1167, "port_lon": 131.9,
         "confidence": 1.0, "details": {"confidence_level": 4}, "id_extra": {"port": "RUVVO"}},
        {"type": "dark_port_call", "mmsi": 273354260, "start": T0 + 5 * h, "end": T0 + 40 * h, "lat": 42.24,
         "lon": 130.3, "port_name": "Rajin", "port_lat": 42.24, "port_lon": 130.3, "confidence": 0.6,
         "details": {"candidates": [{"port": "Rajin", "dwell_h": 14.2}]}},
        {"type": "invalid_identity", "mmsi": 123456789, "start": T0, "end": T0, "confidence": 1,
         "details": {"reason": "placeholder_mmsi"}, "positions": [_ref(123456789, 5, "static")]},
        {"type": "activity_surge", "mmsi": None, "start": dt.datetime(2024, 3, 4, tzinfo=UTC),
         "end": dt.datetime(2024, 3, 11, tzinfo=UTC), "lat": 42.24, "lon": 130.3, "port_name": "Rajin",
         "port_lat": 42.24, "port_lon": 130.3, "confidence": 0.99,
         "details": {"count": 9, "expected_count": 1.5, "p_value": 1e-05}},
    ]


def _events():
    return make_events(_rows(), config_sha256=SHA, detector_version="test/1")


# ------------------------------------------------------------------------------------------------------- ids


def test_event_id_follows_the_documented_recipe():
    start_us = (T0 - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(microseconds=1)
    payload = json.dumps(["encounter", 1, 2, start_us, start_us + 60_000_000, {"k": "v"}], sort_keys=True,
                         separators=(",", ":"))
    expected = hashlib.sha256(payload.encode()).hexdigest()[:32]
    assert event_id("encounter", 1, 2, T0, T0 + dt.timedelta(minutes=1), {"k": "v"}) == expected


def test_event_id_is_the_same_for_every_form_of_the_same_instant():
    us = (T0 - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(microseconds=1)
    forms = [T0, T0.astimezone(dt.timezone(dt.timedelta(hours=9))), us, np.int64(us),
             np.datetime64(us, "us"), np.datetime64(us * 1000, "ns"), "2024-03-07T22:10:00Z",
             "2024-03-08T07:10:00+09:00", pa.scalar(us, pa.timestamp("us", tz="UTC")),
             pa.scalar(us * 1000, pa.timestamp("ns", tz="Asia/Tokyo"))]
    ids = {event_id("ais_gap", 273354260, None, f, f, None) for f in forms}
    assert len(ids) == 1
    (only,) = ids
    assert len(only) == 32 and all(c in "0123456789abcdef" for c in only)


def test_event_id_rejects_times_without_a_zone():
    with pytest.raises(ValueError, match="time zone"):
        event_id("ais_gap", 1, None, dt.datetime(2024, 1, 1), T0)
    with pytest.raises(ValueError):
        event_id("ais_gap", 1, None, True, T0)


def test_every_defining_field_changes_the_id():
    base = ("encounter", 273354260, 445114000, T0, T0 + dt.timedelta(hours=2), {"port": "RUVVO"})
    variants = [("loitering", *base[1:]), (base[0], 273354261, *base[2:]), (*base[:2], None, *base[3:]),
                (*base[:3], T0 + dt.timedelta(microseconds=1), *base[4:]),
                (*base[:4], T0 + dt.timedelta(hours=3), base[5]), (*base[:5], {"port": "RUVYP"}), (*base[:5], None),
                (base[0], base[2], base[1], *base[3:])]  # mirrored encounter row
    ids = [event_id(*base)] + [event_id(*v) for v in variants]
    assert len(set(ids)) == len(ids)
    assert event_id(*base) == event_id(*base)


def test_ids_of_many_distinct_events_are_unique():
    rng = random.Random(7)
    keys = {(rng.choice(EVENT_TYPES), rng.randint(200_000_000, 775_999_999), rng.randint(0, 10**12))
            for _ in range(20_000)}
    ids = {event_id(t, m, None, s, s + 1) for t, m, s in keys}
    assert len(ids) == len(keys)


# ------------------------------------------------------------------------------------------- make / validate


def test_make_events_gives_the_events_schema_sorted_and_filled():
    t = _events()
    assert t.schema.equals(EVENTS, check_metadata=True)
    assert t.num_rows == len(_rows())
    assert set(t["config_sha256"].to_pylist()) == {SHA}
    assert set(t["detector_version"].to_pylist()) == {"test/1"}
    keys = [(m is None, m, s, ty, e) for m, s, ty, e in zip(*(t[c].to_pylist() for c in
                                                                ("mmsi", "start", "type", "event_id")))]
    assert keys == sorted(keys)
    validate_events(t)


def test_make_events_does_not_depend_on_row_order():
    rows = _rows()
    random.Random(1).shuffle(rows)
    assert make_events(rows, config_sha256=SHA, detector_version="test/1").equals(_events())


def test_computed_ids_match_event_id_with_id_extra():
    t = _events()
    visit = next(r for r in t.to_pylist() if r["type"] == "port_visit")
    assert visit["event_id"] == event_id("port_visit", visit["mmsi"], None, visit["start"], visit["end"],
                                         {"port": "RUVVO"})


def test_details_are_stored_as_canonical_json_text():
    text = '{"b": 1,  "a": {"y": 2, "x": 1}}'
    row = {**_rows()[0], "details": text}
    t = make_events([row], config_sha256=SHA, detector_version="v")
    assert t["details"][0].as_py() == '{"a":{"x":1,"y":2},"b":1}'


def test_make_events_of_nothing_is_an_empty_valid_table():
    t = make_events([])
    assert t.num_rows == 0 and t.schema.equals(EVENTS)
    assert to_jsonl(t, io.StringIO()) == 0
    out = io.StringIO()
    assert to_geojson(t, out) == 0
    assert json.loads(out.getvalue()) == {"type": "FeatureCollection", "features": []}


def _bad(**change):
    row = {**_rows()[0], **change}
    return {k: v for k, v in row.items() if v is not _DROP}


_DROP = object()


@pytest.mark.parametrize(("row", "needle"), [
    (_bad(colour="red"), "unknown field"),
    (_bad(start=_DROP), "missing field 'start'"),
    (_bad(type="rendezvous"), "type is not one of"),
    (_bad(mmsi=None), "mmsi is null"),
    (_bad(mmsi=0), "mmsi is not between 1 and 999999999"),
    ({**_rows()[-1], "mmsi": 273354260}, "mmsi is not 0 for activity_surge"),
    (_bad(mmsi=True), "integer"),
    (_bad(other_mmsi=1_000_000_000), "other_mmsi is not between"),
    (_bad(end=T0 - dt.timedelta(seconds=1)), "start is after end"),
    (_bad(confidence=1.5), "confidence"),
    (_bad(confidence=float("nan")), "confidence"),
    (_bad(confidence=None), "confidence is null"),
    (_bad(lat=95.0), "lat is not between"),
    (_bad(lon=None), "only one of lat, lon"),
    (_bad(port_name="Rajin"), "port_name without port_lat"),
    (_bad(port_locode="KPRJN"), "port fields without port_name"),
    (_bad(details=[1, 2]), "details must be a JSON object"),
    (_bad(details="{not json"), ""),
    (_bad(positions=[{"mmsi": 1, "source_id": 1, "line": 1, "role": "middle"}]), "role"),
    (_bad(positions={"n": -1, "refs": []}), "positions.n"),
    (_bad(event_id="ABC"), "event_id is not 32"),
    (_bad(config_sha256="0" * 63), "config_sha256"),
])
def test_invalid_rows_are_refused_with_the_row_named(row, needle):
    with pytest.raises(ValueError, match="event row 0") as e:
        make_events([row], config_sha256=SHA, detector_version="v")
    assert needle in str(e.value)


def test_duplicate_ids_are_refused():
    row = _rows()[0]
    with pytest.raises(ValueError, match="not unique"):
        make_events([row, dict(row)], config_sha256=SHA, detector_version="v")


def test_missing_provenance_is_refused():
    with pytest.raises(ValueError, match="config_sha256 is null"):
        make_events(_rows()[:1], detector_version="v")


def test_validate_refuses_another_schema():
    t = _events().drop_columns(["segment_id"])
    with pytest.raises(ValueError, match="segment_id"):
        validate_events(t)


# ----------------------------------------------------------------------------------------- the public exports


def test_jsonl_lines_follow_the_contract():
    t = _events()
    out = io.StringIO()
    assert to_jsonl(t, out) == t.num_rows
    lines = out.getvalue().splitlines()
    assert len(lines) == t.num_rows and out.getvalue().endswith("\n")
    for line, row in zip(lines, t.to_pylist()):
        rec = json.loads(line)
        assert list(rec) == list(CONTRACT_KEYS)
        assert isinstance(rec["event_id"], str) and rec["event_id"] == row["event_id"]
        assert rec["type"] in EVENT_TYPES
        assert type(rec["mmsi"]) is int and (rec["mmsi"] == 0) == (rec["type"] == "activity_surge")
        assert rec["other_mmsi"] is None or type(rec["other_mmsi"]) is int
        for k in ("start", "end"):
            assert rec[k].endswith("Z") and dt.datetime.fromisoformat(rec[k]) == row[k]
        assert (rec["lat"] is None) == (rec["lon"] is None)
        assert rec["lat"] is None or (type(rec["lat"]) is float and type(rec["lon"]) is float)
        if rec["port"] is not None:
            assert set(rec["port"]) == {"name", "lat", "lon", "locode"}
            assert isinstance(rec["port"]["name"], str) and type(rec["port"]["lat"]) is float
        else:
            assert row["port_name"] is None
        assert type(rec["confidence"]) is float and 0 <= rec["confidence"] <= 1
        assert isinstance(rec["details"], dict)
        assert set(rec["positions"]) == {"n", "refs"} and type(rec["positions"]["n"]) is int
        for ref in rec["positions"]["refs"]:
            assert list(ref) == ["mmsi", "source_id", "line", "role"] and ref["role"] in ROLES
            assert all(type(ref[k]) is int for k in ("mmsi", "source_id", "line"))
        assert rec["config_sha256"] == SHA and rec["detector_version"] == "test/1"


def test_jsonl_times_keep_microseconds_and_cross_midnight():
    out = io.StringIO()
    to_jsonl(_events(), out)
    gap = next(json.loads(x) for x in out.getvalue().splitlines() if '"ais_gap"' in x)
    assert gap["start"] == "2024-03-08T03:10:00Z"
    assert gap["end"] == "2024-03-09T14:10:00.000250Z"
    enc = next(json.loads(x) for x in out.getvalue().splitlines() if '"encounter"' in x)
    assert (enc["start"], enc["end"]) == ("2024-03-07T22:10:00Z", "2024-03-08T01:40:00Z")


@pytest.mark.parametrize("binary", [False, True])
def test_jsonl_round_trips_to_the_same_table(binary):
    t = _events()
    buf = io.BytesIO() if binary else io.StringIO()
    to_jsonl(t, buf)
    buf.seek(0)
    assert read_jsonl(buf).equals(t)


@pytest.mark.parametrize(("line", "needle"), [
    ("not json", "not an event"),
    ("[1, 2]", "not a JSON object"),
    ('{"event_id": "x"}', "missing key"),
])
def test_read_jsonl_names_the_bad_line(line, needle):
    good = io.StringIO()
    to_jsonl(_events(), good)
    text = good.getvalue() + line + "\n"
    with pytest.raises(InputError) as e:
        read_jsonl(io.StringIO(text), name="events.jsonl")
    assert f"events.jsonl:{len(text.splitlines())}" in str(e.value) and needle in str(e.value)


def test_read_jsonl_refuses_a_local_time():
    out = io.StringIO()
    to_jsonl(_events(), out)
    rec = json.loads(out.getvalue().splitlines()[0])
    rec["start"] = "2024-03-07T22:10:00+09:00"
    with pytest.raises(InputError, match="ending in Z"):
        read_jsonl(io.StringIO(json.dumps(rec)))


def test_geojson_is_a_feature_collection_of_points_lon_lat():
    t = _events()
    out = io.StringIO()
    assert to_geojson(t, out) == t.num_rows
    doc = json.loads(out.getvalue())
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == t.num_rows
    jsonl = io.StringIO()
    to_jsonl(t, jsonl)
    records = [json.loads(x) for x in jsonl.getvalue().splitlines()]
    for feature, rec in zip(doc["features"], records):
        assert feature["type"] == "Feature" and feature["id"] == rec["event_id"]
        assert feature["properties"] == rec
        if rec["lat"] is None:
            assert feature["geometry"] is None
        else:
            assert feature["geometry"] == {"type": "Point", "coordinates": [rec["lon"], rec["lat"]]}
            lon, lat = feature["geometry"]["coordinates"]
            assert -180 <= lon <= 180 and -90 <= lat <= 90
    assert any(f["geometry"] is None for f in doc["features"])


def test_csv_has_the_documented_columns_and_parses_back():
    t = _events()
    out = io.StringIO()
    assert to_csv(t, out) == t.num_rows
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == list(CSV_COLUMNS) and len(rows) == t.num_rows
    for row, ev in zip(rows, t.to_pylist()):
        assert row["event_id"] == ev["event_id"]
        assert row["mmsi"] == ("" if ev["mmsi"] is None else str(ev["mmsi"]))
        assert json.loads(row["details"]) == json.loads(ev["details"])
        assert json.loads(row["positions"]) == ev["positions"]
        assert row["port_name"] == (ev["port_name"] or "")
        assert dt.datetime.fromisoformat(row["start"]) == ev["start"]
