"""Dark port calls on hand-made AIS gaps: the Rajin shuttle, a gap too short, a gap far at sea, the ranking."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from watchkeeper.config import Config
from watchkeeper.detect.dark_port_calls import dark_port_calls, vessel_speeds_kn
from watchkeeper.detect.events import make_events, to_records, validate_events
from watchkeeper.geo.gazetteer import load_gazetteer

CFG = Config()
T0 = dt.datetime(2023, 9, 1, 0, 0, tzinfo=dt.UTC)
OFF_RASON = (42.10, 130.45)  # open water south of Rajin (Najin), near the DPRK-Russia border
MID_SEA = (40.0, 135.0)  # Sea of Japan, hundreds of km from every port of interest


def gap(mmsi, start_h, dur_h, a, b, likely=0.0, open_=False):
    return {"type": "ais_gap", "mmsi": mmsi, "start": T0 + dt.timedelta(hours=start_h),
            "end": T0 + dt.timedelta(hours=start_h + dur_h), "lat": a[0], "lon": a[1], "confidence": likely,
            "segment_id": f"{mmsi}-1",
            "positions": [{"mmsi": mmsi, "source_id": 1, "line": 1, "role": "first"}],
            "details": {"duration_h": dur_h, "open": open_, "start_lat": a[0], "start_lon": a[1],
                        "end_lat": None if open_ else b[0], "end_lon": None if open_ else b[1],
                        "implied_speed_kn": None, "likely_intentional": likely}}


def gaps(*rows):
    return make_events(rows, config_sha256="0" * 64, detector_version="test")


def calls(*rows, config=CFG, segmented=None):
    ev = dark_port_calls(gaps(*rows), load_gazetteer(), config, segmented)
    validate_events(ev)
    return list(to_records(ev))


def test_rajin_shuttle_gap_gives_one_dark_call_at_najin():
    [c] = calls(gap(273000001, 10.0, 40.0, OFF_RASON, (42.12, 130.50), likely=0.4))
    assert c["type"] == "dark_port_call" and c["mmsi"] == 273000001
    assert c["port"]["locode"] == "KPRJN" and c["port"]["name"] == "Najin"
    d = c["details"]
    assert d["candidates"][0]["locode"] == "KPRJN" and d["candidates"][0]["tier"] == 1
    assert d["max_dwell_h"] >= CFG.dark_port_call.min_dwell_h
    assert 1 < len(d["candidates"]) <= CFG.dark_port_call.max_candidates
    scores = [x["score"] for x in d["candidates"]]
    assert scores == sorted(scores, reverse=True)
    assert 0 < c["confidence"] <= 1
    assert c["start"] == "2023-09-01T10:00:00Z" and c["end"] == "2023-09-03T02:00:00Z"


def test_gap_too_short_to_reach_any_port_of_interest():
    # 40 km south of Najin: there and back at 13.2 kn (~24 km/h) is 3.3 h, plus a 6 h stay > 8 h
    assert calls(gap(273000002, 0.0, 8.0, (41.87, 130.3), (41.87, 130.3))) == []


def test_gap_at_sea_far_from_every_port_of_interest():
    assert calls(gap(273000003, 0.0, 12.0, MID_SEA, (40.1, 135.1), likely=1.0)) == []


def test_ranking_prefers_slack_and_the_straight_path():
    # a gap between two points off Ch'ongjin: Ch'ongjin is on the path, Najin is a long detour but feasible
    a, b = (41.70, 129.95), (41.70, 129.70)
    [c] = calls(gap(273000004, 0.0, 30.0, a, b))
    names = [x["name"] for x in c["details"]["candidates"]]
    assert names[0] == "Ch'ongjin"
    najin = next(x for x in c["details"]["candidates"] if x["locode"] == "KPRJN")
    assert najin["detour_km"] > c["details"]["candidates"][0]["detour_km"]
    assert najin["max_dwell_h"] < c["details"]["candidates"][0]["max_dwell_h"]


def test_port_seen_at_the_gap_ends_is_not_a_dark_call_and_ids_are_deterministic():
    at_najin = (42.233, 130.30)
    [c] = calls(gap(273000005, 0.0, 40.0, at_najin, (42.12, 130.50)))
    assert all(x["locode"] != "KPRJN" for x in c["details"]["candidates"])
    again = calls(gap(273000005, 0.0, 40.0, at_najin, (42.12, 130.50)))
    assert again[0]["event_id"] == c["event_id"]


def test_open_gap_needs_only_the_way_there_and_uses_the_vessels_own_speed():
    [c] = calls(gap(273000006, 0.0, 20.0, OFF_RASON, None, open_=True))
    assert c["details"]["open"] and c["port"]["locode"] == "KPRJN"
    seg = pa.table({"mmsi": pa.array([273000006] * 4, pa.int32()), "sog_kn": pa.array([0.1, 5.0, 6.0, 6.0], pa.float32()),
                    "implied_speed_kn": [None, 5.0, 6.0, 6.0], "implausible": [False] * 4})
    assert abs(vessel_speeds_kn(seg, CFG)[273000006] - 6.0) < 1e-6
    [c2] = calls(gap(273000006, 0.0, 20.0, OFF_RASON, None, open_=True), segmented=seg)
    assert c2["details"]["speed_source"] == "vessel_speed_quantile"
    assert c2["details"]["assumed_speed_kn"] < c["details"]["assumed_speed_kn"]


def test_other_event_types_are_ignored():
    ev = gaps({**gap(273000007, 0.0, 40.0, OFF_RASON, OFF_RASON), "type": "loitering"})
    assert dark_port_calls(ev, load_gazetteer(), CFG).num_rows == 0
    assert json.loads("{}") == {}


def test_ports_a_gap_cannot_tell_apart_are_decided_by_the_documented_prior():
    # a shuttle from the Russian side: Senbong (14 km north-east of Najin) lies nearer its path, but the two are
    # within ambiguity_km, so Najin (prior 2 in the default file) is named and Senbong listed as ambiguous
    from_russia = (42.45, 130.75)
    [c] = calls(gap(273000011, 0.0, 30.0, from_russia, from_russia, likely=0.9))
    d = c["details"]
    assert c["port"]["locode"] == "KPRJN" and "Senbong" in d["ambiguous_with"] and d["port_prior"] == 2.0
    # with no ambiguity allowed the best-scored port stands
    strict = CFG.replace(dark_port_call={"ambiguity_km": 0.0})
    [s] = calls(gap(273000011, 0.0, 30.0, from_russia, from_russia, likely=0.9), config=strict)
    assert s["port"]["name"] == s["details"]["candidates"][0]["name"] and s["details"]["ambiguous_with"] == []


def test_context_ports_are_candidates_but_never_the_event_port():
    # 8 h dark off Zarubino: only the Russian commercial ports of the gulf (tier 3) are within reach
    off_zarubino = (42.50, 131.30)
    assert calls(gap(273000012, 0.0, 8.0, off_zarubino, off_zarubino, likely=0.9)) == []
    wide = CFG.replace(dark_port_call={"max_event_tier": 3})
    [c] = calls(gap(273000012, 0.0, 8.0, off_zarubino, off_zarubino, likely=0.9), config=wide)
    assert c["details"]["port_tier"] == 3 and all(x["tier"] == 3 for x in c["details"]["candidates"])


def test_vessel_speeds_of_some_mmsis_are_those_of_all():
    """dark_port_calls asks only for the MMSIs of its gaps: the same values as over every vessel."""
    import numpy as np

    from pathlib import Path

    from watchkeeper.ingest.nmea import read_nmea
    from watchkeeper.tracks.segment import segment_tracks

    sample = Path(__file__).parents[1] / "data" / "dma-aislib" / "stream_example.txt"
    pos = pa.concat_tables(b.positions for b in read_nmea(str(sample), 1))
    tracks = segment_tracks(pos, CFG)
    every = vessel_speeds_kn(tracks, CFG)
    assert len(every) > 10
    some = set(list(every)[::3]) | {123}  # and one MMSI that is not there
    assert vessel_speeds_kn(tracks, CFG, some) == {m: v for m, v in every.items() if m in some}
    assert all(np.isfinite(v) for v in every.values())
    # the arrays' one-pass path (rows grouped by MMSI) equals the table's sort of every row
    assert vessel_speeds_kn(tracks.table, CFG) == every
    assert vessel_speeds_kn(tracks.table, CFG, some) == vessel_speeds_kn(tracks, CFG, some)
