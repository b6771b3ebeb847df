"""Same seed, same bytes; and truth consistent with the emitted data."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from watchkeeper.detect.events import read_jsonl, to_jsonl
from watchkeeper.simulate.scenario import simulate

FILES = ("ais.nmea", "ais.csv", "truth.jsonl", "scenario.json")


def _digests(d):
    return {f: hashlib.sha256((d / f).read_bytes()).hexdigest() for f in FILES}


def test_same_seed_same_bytes(tmp_path):
    a = simulate(tmp_path / "a", days=0.4, vessels=10, seed=11)
    b = simulate(tmp_path / "b", days=0.4, vessels=10, seed=11)
    c = simulate(tmp_path / "c", days=0.4, vessels=10, seed=12, write_csv=False)
    assert _digests(a.out_dir) == _digests(b.out_dir)
    assert (a.out_dir / "ais.nmea").read_bytes() != (c.out_dir / "ais.nmea").read_bytes()


def test_truth_round_trips(small):
    raw = (small.out_dir / "truth.jsonl").read_bytes()
    import io
    table = read_jsonl(io.BytesIO(raw))
    buf = io.BytesIO()
    to_jsonl(table, buf)
    assert buf.getvalue() == raw


def _truth(small):
    return [json.loads(x) for x in (small.out_dir / "truth.jsonl").read_text().splitlines()]


def _t(s):
    return np.datetime64(s.removesuffix("Z"), "us")


def test_gaps_have_no_positions_inside(small):
    pos = pacsv.read_csv(small.out_dir / "ais.csv")
    mmsi = pos["mmsi"].to_numpy()
    lat = pos["lat"].to_numpy(zero_copy_only=False)
    ts = pc.cast(pos["ts"], pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy().astype("datetime64[us]")
    has_pos = np.isfinite(lat)
    shared = {a["mmsi"] for a in json.loads((small.out_dir / "scenario.json").read_text())["actors"]
              if a["role"] == "shared_mmsi"}
    gaps = [e for e in _truth(small) if e["type"] == "ais_gap"]
    assert gaps
    for g in gaps:
        if g["mmsi"] in shared:  # the other transmitter of the MMSI may well send inside
            continue
        inside = (mmsi == g["mmsi"]) & has_pos & (ts > _t(g["start"])) & (ts < _t(g["end"]))
        assert not inside.any(), g
        assert ((mmsi == g["mmsi"]) & has_pos & (ts == _t(g["start"]))).any()  # starts at an emitted position
        assert (_t(g["end"]) - _t(g["start"])) >= np.timedelta64(2, "h")


def test_dark_port_call_lies_in_an_intentional_gap(small):
    truth = _truth(small)
    calls = [e for e in truth if e["type"] == "dark_port_call"]
    assert calls, "the small scenario has a shuttle calling at Rajin"
    for c in calls:
        assert c["port"]["locode"] == "KPRJN"
        gaps = [g for g in truth if g["type"] == "ais_gap" and g["mmsi"] == c["mmsi"] and
                g["details"]["likely_intentional"] and g["start"] <= c["start"] and g["end"] >= c["end"]]
        assert gaps
    sc = json.loads((small.out_dir / "scenario.json").read_text())
    shuttles = {a["mmsi"] for a in sc["actors"] if a["role"] == "corridor_shuttle"}
    assert {c["mmsi"] for c in calls} <= shuttles


def test_feed_imperfections(small):
    c = small.counts
    assert 0.001 < c["duplicate_lines"] / c["lines"] < 0.02
    assert 0.0005 < c["corrupt_lines"] / c["lines"] < 0.002
    lines = (small.out_dir / "ais.nmea").read_text().splitlines()
    t = np.array([int(x.split(",c:")[1].split("*")[0]) for x in lines])
    back = np.diff(t) < 0
    assert 0 < back.mean() < 0.05  # mostly in time order, some late lines
