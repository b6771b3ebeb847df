"""Evaluation matching rules on hand-made cases."""

from __future__ import annotations

import datetime as dt

import pytest

from watchkeeper.detect.events import make_events
from watchkeeper.evaluate import evaluate, match_events

T0 = dt.datetime(2024, 3, 4, tzinfo=dt.UTC)
SHA = "a" * 64


def ev(type_, mmsi, h0, h1, other=None, port=None, **kw):
    row = {"type": type_, "mmsi": mmsi, "other_mmsi": other, "start": T0 + dt.timedelta(hours=h0),
           "end": T0 + dt.timedelta(hours=h1), "confidence": 1.0, "id_extra": kw}
    if port:
        name, locode, lat, lon = port
        row.update(port_name=name, port_locode=locode, port_lat=lat, port_lon=lon)
    return row


RAJIN = ("Najin", "KPRJN", 42.2333, 130.3)
SONBONG = ("Senbong", "KPSON", 42.33, 130.4)
RAJIN_NO_CODE = ("Rajin anchorage", None, 42.25, 130.32)


def table(rows):
    return make_events(rows, config_sha256=SHA, detector_version="test/1")


def test_same_type_vessel_and_overlap():
    truth = table([ev("ais_gap", 1, 0, 5), ev("ais_gap", 2, 0, 5), ev("loitering", 1, 10, 14)])
    det = table([ev("ais_gap", 1, 0.5, 5.5, a=1),   # match
                 ev("ais_gap", 2, 20, 22),          # same vessel, no overlap
                 ev("loitering", 3, 10, 14),        # other vessel
                 ev("encounter", 1, 10, 14, other=5)])  # other type
    m = match_events(truth, det)
    assert len(m) == 1
    r = evaluate(truth, det)
    assert r["types"]["ais_gap"]["matched"] == 1 and r["types"]["ais_gap"]["precision"] == 0.5
    assert r["types"]["loitering"]["recall"] == 0.0 and r["types"]["loitering"]["f1"] == 0.0
    assert r["types"]["encounter"]["truth"] == 0  # false detections only: not in the macro-F1
    assert r["macro_f1"] == pytest.approx((2 * 0.5 * 0.5 / 1.0 + 0.0) / 2)
    assert r["weakest"] == "loitering"


def test_gap_tolerance():
    truth = table([ev("ais_gap", 1, 0, 3)])
    assert len(match_events(truth, table([ev("ais_gap", 1, 3.8, 6)]))) == 1  # within 1 h each side
    assert len(match_events(truth, table([ev("ais_gap", 1, 5.5, 8)]))) == 0
    # loitering has only a quarter hour
    truth = table([ev("loitering", 1, 0, 3)])
    assert len(match_events(truth, table([ev("loitering", 1, 3.8, 6)]))) == 0


def test_encounter_pair_is_unordered():
    truth = table([ev("encounter", 1, 0, 3, other=2), ev("encounter", 2, 0, 3, other=1)])
    det = table([ev("encounter", 2, 0.2, 3.1, other=1)])
    r = evaluate(truth, det)["types"]["encounter"]
    assert (r["matched"], r["precision"], r["recall"]) == (1, 1.0, 0.5)
    assert not match_events(truth, table([ev("encounter", 1, 0, 3, other=3)]))


def test_port_must_agree():
    truth = table([ev("dark_port_call", 1, 0, 20, port=RAJIN)])
    assert len(match_events(truth, table([ev("dark_port_call", 1, 0, 20, port=RAJIN_NO_CODE)]))) == 1  # 2.7 km
    assert len(match_events(truth, table([ev("dark_port_call", 1, 0, 20, port=SONBONG)]))) == 0  # 14 km
    truth = table([ev("activity_surge", None, 84, 168, port=RAJIN)])
    assert len(match_events(truth, table([ev("activity_surge", None, 0, 168, port=RAJIN)]))) == 1


def test_one_to_one_best_overlap_first():
    truth = table([ev("port_visit", 1, 0, 10, port=RAJIN, k=1), ev("port_visit", 1, 9, 20, port=RAJIN, k=2)])
    det = table([ev("port_visit", 1, 0, 20, port=RAJIN)])  # one long visit covering both
    m = match_events(truth, det)
    assert m == [(1, 0)]  # the better overlap (11 h of 20) wins; the other truth visit is missed
    r = evaluate(truth, det)["types"]["port_visit"]
    assert (r["precision"], r["recall"]) == (1.0, 0.5) and len(r["missed"]) == 1


def test_identity_instant_and_empty():
    truth = table([ev("identity_change", 1, 5, 5, field="shipname")])
    assert len(match_events(truth, table([ev("identity_change", 1, 5.9, 5.9)]))) == 1
    r = evaluate(truth, table([]))
    assert r["types"]["identity_change"]["f1"] == 0.0 and r["detected_events"] == 0
