"""mmsi_conflict on hand-made tracks: two ships on one MMSI 300 km apart, and one ship alone."""

from __future__ import annotations

import json
from datetime import timedelta

from test_spoofing import CFG, MMSI, T0, sea_track, table

from watchkeeper.detect.events import validate_events
from watchkeeper.detect.mmsi_conflict import mmsi_conflicts
from watchkeeper.tracks import segment


def two_ships():
    """Two ships on one MMSI for 6 h: one in Korea Bay, one 300 km east (Sea of Japan side), reports interleaved."""
    a = sea_track(n=37)  # 6 h at 10-minute steps
    b = sea_track(n=37, lat0=38.2 + 0.3, lon0=124.2 + 300 / (111.2 * 0.785))
    for r in b:
        r[1] += timedelta(minutes=5)
    return a + b


def test_two_ships_sharing_an_mmsi_give_one_conflict():
    seg = segment(table(two_ships()), CFG)
    assert len(set(seg["segment_id"].to_pylist())) == 2
    ev = mmsi_conflicts(seg, CFG)
    validate_events(ev)
    assert ev.num_rows == 1
    r = ev.to_pylist()[0]
    d = json.loads(r["details"])
    assert r["type"] == "mmsi_conflict" and r["mmsi"] == MMSI and r["other_mmsi"] is None
    assert sorted(d["segment_ids"]) == sorted(set(seg["segment_id"].to_pylist()))
    assert abs(d["overlap_h"] - (6 - 5 / 60)) < 1e-3
    assert 290 < d["median_separation_km"] < 320
    assert r["start"] == T0 + timedelta(minutes=5) and r["end"] == T0 + timedelta(hours=6)


def test_one_ship_gives_none():
    assert mmsi_conflicts(segment(table(sea_track()), CFG), CFG).num_rows == 0


def test_ids_are_deterministic():
    rows = two_ships()
    a = mmsi_conflicts(segment(table(rows), CFG), CFG)
    b = mmsi_conflicts(segment(table(rows[::-1]), CFG), CFG)
    assert a["event_id"].to_pylist() == b["event_id"].to_pylist()
