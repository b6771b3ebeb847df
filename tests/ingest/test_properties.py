"""Property tests: random valid messages round-trip through pyais's encoder; mutated real lines never crash."""

from __future__ import annotations

import pyais
from testdata import NMEA_SAMPLES, decode_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SIX_BIT_TEXT = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -./", min_size=0, max_size=20)
MMSI = st.integers(min_value=1, max_value=999_999_999)
LAT = st.integers(min_value=-90 * 600000, max_value=90 * 600000).map(lambda v: v / 600000)
LON = st.integers(min_value=-180 * 600000, max_value=180 * 600000).map(lambda v: v / 600000)

position = st.fixed_dictionaries({
    "msg_type": st.sampled_from([1, 2, 3]),
    "mmsi": MMSI,
    "status": st.integers(0, 14),
    "speed": st.integers(0, 1022).map(lambda v: v / 10),
    "accuracy": st.booleans(),
    "lat": LAT,
    "lon": LON,
    "course": st.integers(0, 3599).map(lambda v: v / 10),
    "heading": st.integers(0, 359),
})
class_b = st.fixed_dictionaries({
    "msg_type": st.just(18),
    "mmsi": MMSI,
    "speed": st.integers(0, 1022).map(lambda v: v / 10),
    "accuracy": st.booleans(),
    "lat": LAT,
    "lon": LON,
    "course": st.integers(0, 3599).map(lambda v: v / 10),
    "heading": st.integers(0, 359),
})
static = st.fixed_dictionaries({
    "msg_type": st.just(5),
    "mmsi": MMSI,
    "imo": st.integers(1, 2**30 - 1),
    "callsign": st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=7),
    "shipname": SIX_BIT_TEXT,
    "ship_type": st.sampled_from([20, 30, 31, 35, 36, 37, 50, 52, 60, 69, 70, 79, 80, 89, 90, 99]),
    "to_bow": st.integers(1, 511),
    "to_stern": st.integers(1, 511),
    "to_port": st.integers(1, 63),
    "to_starboard": st.integers(1, 63),
    "draught": st.integers(1, 255).map(lambda v: v / 10),
    "destination": SIX_BIT_TEXT,
})


def _write(tmp_path, name, lines):
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return p


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(msgs=st.lists(st.one_of(position, class_b), min_size=1, max_size=20))
def test_positions_round_trip(tmp_path, msgs):
    lines = [s for m in msgs for s in pyais.encode_dict(m, talker_id="AI")]
    pos, st_, q, counts = decode_file(_write(tmp_path, "p.nmea", lines), dedup=False)
    assert q.num_rows == 0
    rows = pos.to_pylist()
    assert len(rows) == len(msgs)
    for m, r in zip(msgs, rows):
        assert r["mmsi"] == m["mmsi"] and r["msg_type"] == m["msg_type"]
        assert abs(r["lat"] - m["lat"]) < 1e-9 and abs(r["lon"] - m["lon"]) < 1e-9
        assert abs(r["sog_kn"] - m["speed"]) < 1e-4 and abs(r["cog_deg"] - m["course"]) < 1e-4
        assert r["heading_deg"] == m["heading"] and r["pos_accuracy"] == m["accuracy"]
        if m["msg_type"] != 18:
            assert r["nav_status"] == m["status"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(msgs=st.lists(static, min_size=1, max_size=10))
def test_statics_round_trip(tmp_path, msgs):
    lines = []
    for i, m in enumerate(msgs):
        lines += pyais.encode_dict(m, talker_id="AI", seq_id=i % 10)
    _, st_, q, counts = decode_file(_write(tmp_path, "s.nmea", lines), dedup=False)
    assert q.num_rows == 0 and counts["decoded"] == len(lines)
    for m, r in zip(msgs, st_.to_pylist()):
        assert (r["mmsi"], r["imo"], r["callsign"], r["ship_type"]) == (m["mmsi"], m["imo"], m["callsign"],
                                                                      m["ship_type"])
        assert r["shipname"] == (m["shipname"].strip() or None)
        assert r["destination"] == (m["destination"].strip() or None)
        assert (r["to_bow_m"], r["to_stern_m"], r["to_port_m"], r["to_starboard_m"]) == (
            m["to_bow"], m["to_stern"], m["to_port"], m["to_starboard"])
        assert r["length_m"] == m["to_bow"] + m["to_stern"]
        assert abs(r["draught_m"] - m["draught"]) < 1e-4


REAL_LINES = [ln for p in NMEA_SAMPLES for ln in p.read_bytes().splitlines() if ln.strip()]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, len(REAL_LINES) - 1), min_size=1, max_size=30),
       mutations=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255), st.sampled_from(["set", "del", "ins"])),
                          max_size=8))
def test_mutated_real_lines_never_crash_and_are_accounted(tmp_path, picks, mutations):
    lines = [bytearray(REAL_LINES[i]) for i in picks]
    for pos, byte, op in mutations:
        ln = lines[pos % len(lines)]
        if not ln:
            continue
        k = pos % len(ln)
        if op == "set":
            ln[k] = byte
        elif op == "del":
            del ln[k]
        else:
            ln.insert(k, byte)
    data = b"\n".join(bytes(x).replace(b"\n", b" ") for x in lines) + b"\n"
    p = tmp_path / "m.nmea"
    p.write_bytes(data)
    pos_t, st_t, q, c = decode_file(p)
    assert c["lines_in"] == data.count(b"\n")
    assert c["lines_in"] == sum(c[k] for k in ("decoded", "rejected", "duplicates", "incomplete", "metadata",
                                               "skipped"))
    assert sum(q.column("n_lines").to_pylist()) == c["rejected"] + c["incomplete"]
