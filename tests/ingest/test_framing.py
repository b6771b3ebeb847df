"""Framing, timestamps and multi-sentence reassembly on hand-made lines with known answers."""

from __future__ import annotations

import datetime as dt
import gzip
import random
from functools import reduce

import pyais
import pytest
from testdata import decode_file

T0 = dt.datetime(2021, 11, 1, 1, 58, 7, tzinfo=dt.timezone.utc)
EPOCH = int(T0.timestamp())


def cs(body: str) -> str:
    return f"{reduce(lambda a, c: a ^ ord(c), body, 0):02X}"


def vdm(payload: str, fill: int = 0, count: int = 1, num: int = 1, seq: str = "", ch: str = "A",
        talker: str = "AI") -> str:
    body = f"{talker}VDM,{count},{num},{seq},{ch},{payload},{fill}"
    return f"!{body}*{cs(body)}"


def tag(**fields) -> str:
    body = ",".join(f"{k}:{v}" for k, v in fields.items())
    return f"\\{body}*{cs(body)}\\"


POS = pyais.encode_dict({"msg_type": 1, "mmsi": 273123456, "lat": 42.6, "lon": 131.2, "speed": 11.3, "course": 187.5,
                         "heading": 188, "status": 0}, talker_id="AI")[0]
PAYLOAD = POS.split(",")[5]
STATIC = pyais.encode_dict({"msg_type": 5, "mmsi": 445112000, "imo": 9134187, "callsign": "HMYU", "shipname": "ANGARA",
                            "ship_type": 70, "to_bow": 100, "to_stern": 20, "to_port": 10, "to_starboard": 8,
                            "month": 3, "day": 14, "hour": 6, "minute": 30, "draught": 7.5,
                            "destination": "RAJIN"}, talker_id="AI", seq_id=3)
S1, S2 = STATIC[0].split(",")[5], STATIC[1].split(",")[5]
F1, F2 = int(STATIC[0].split(",")[6][0]), int(STATIC[1].split(",")[6][0])


def run(tmp_path, lines, name="t.nmea", **kw):
    p = tmp_path / name
    data = ("\n".join(lines) + "\n").encode()
    if name.endswith(".gz"):
        data = gzip.compress(data)
    p.write_bytes(data)
    return decode_file(p, **kw)


def ts_of(table):
    return [None if v is None else v for v in table.column("ts").to_pylist()]


@pytest.mark.parametrize("line,expect", [
    (tag(s="rx1", c=EPOCH) + vdm(PAYLOAD), T0),
    (tag(s="rx1", c=EPOCH * 1000 + 250) + vdm(PAYLOAD), T0 + dt.timedelta(milliseconds=250)),
    (f"{EPOCH} " + vdm(PAYLOAD), T0),
    (f"{EPOCH}.5;" + vdm(PAYLOAD), T0 + dt.timedelta(milliseconds=500)),
    ("2021-11-01T01:58:07Z " + vdm(PAYLOAD), T0),
    ("2021-11-01 01:58:07.125," + vdm(PAYLOAD), T0 + dt.timedelta(milliseconds=125)),
    ("2021-11-01T03:58:07+02:00 " + vdm(PAYLOAD), T0),
    (vdm(PAYLOAD) + f",d-109,S2105,t015807.00,T07.1,r003669946,{EPOCH},{EPOCH - 59}", T0),
    (vdm(PAYLOAD), None),
])
def test_time_sources(tmp_path, line, expect):
    pos, _, q, counts = run(tmp_path, [line])
    assert q.num_rows == 0, q.to_pylist()
    assert ts_of(pos) == [expect]


def test_pghp_time_applies_to_the_next_sentence_only(tmp_path):
    body = "PGHP,1,2010,6,11,11,46,11,390,231,45,992190934,1,2B"
    pghp = f"${body}*{cs(body)}"
    pos, _, q, counts = run(tmp_path, [pghp, vdm(PAYLOAD), vdm(PAYLOAD, ch="B")], dedup=False)
    assert ts_of(pos) == [dt.datetime(2010, 6, 11, 11, 46, 11, 390000, tzinfo=dt.timezone.utc), None]
    assert counts["metadata"] == 1 and counts["decoded"] == 2


def test_tag_block_time_wins_over_prefix_and_trailer(tmp_path):
    line = "1999-01-01T00:00:00Z " + tag(c=EPOCH) + vdm(PAYLOAD) + ",1000000000"
    # a prefix before a tag block is not a recognised layout: the prefix is ignored only if the tag block leads
    pos, _, q, _ = run(tmp_path, [tag(c=EPOCH) + vdm(PAYLOAD) + ",1000000000"])
    assert ts_of(pos) == [T0]
    del line


@pytest.mark.parametrize("line,reason", [
    (vdm(PAYLOAD)[:-2] + "00", "bad_checksum"),
    (vdm(PAYLOAD).split("*")[0], "malformed"),
    ("!AIVDM,1,1,,A,,0*" + cs("AIVDM,1,1,,A,,0"), "malformed"),
    ("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*" + cs("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"), "not_ais"),
    ("hello world", "not_ais"),
    ("yesterday " + vdm(PAYLOAD), "bad_timestamp"),
    ("\\c:1635731889*00\\" + vdm(PAYLOAD), "bad_tag_block"),
    (tag(c="soon") + vdm(PAYLOAD), "bad_timestamp"),
    ("!AIVDM,1,1,,A," + "1" * 2000 + ",0*00", "line_too_long"),
])
def test_rejections_are_kept_with_reason(tmp_path, line, reason):
    pos, st, q, counts = run(tmp_path, [line])
    assert pos.num_rows == 0 and st.num_rows == 0
    rows = q.to_pylist()
    assert [r["reason"] for r in rows] == [reason]
    assert rows[0]["line"] == 1 and rows[0]["raw"] == line[:4096]
    assert counts["rejected"] == 1 == counts["lines_in"]


def test_not_text_line(tmp_path):
    p = tmp_path / "bin.nmea"
    good = vdm(PAYLOAD).encode()
    p.write_bytes(good + b"\n" + b"!AIVDM,1,1,,A,\xff\xfe\x00garbage*00\n" + vdm(PAYLOAD, ch="B").encode() + b"\n")
    pos, _, q, counts = decode_file(p, dedup=False)
    assert [r["reason"] for r in q.to_pylist()] == ["not_text"]
    assert "\\xff" in q.column("raw")[0].as_py()
    assert counts["lines_in"] == 3 and counts["decoded"] == 2


def _static_rows(st):
    return [(r["mmsi"], r["shipname"], r["imo"], r["line"], r["line_last"]) for r in st.to_pylist()]


def test_multipart_in_order_out_of_order_and_interleaved(tmp_path):
    a1 = vdm(S1, F1, 2, 1, "3", "A")
    a2 = vdm(S2, F2, 2, 2, "3", "A")
    b1 = vdm(S1, F1, 2, 1, "4", "B")
    b2 = vdm(S2, F2, 2, 2, "4", "B")
    lines = [a1, a2,  # in order
             b2, vdm(PAYLOAD), b1,  # out of order, with a message between
             vdm(S1, F1, 2, 1, "5", "A"), vdm(S1, F1, 2, 1, "6", "B"), vdm(S2, F2, 2, 2, "6", "B"),
             vdm(S2, F2, 2, 2, "5", "A")]  # two groups interleaved across channels and sequence ids
    pos, st, q, counts = run(tmp_path, lines, dedup=False)
    rows = _static_rows(st)
    assert [r[:3] for r in rows] == [(445112000, "ANGARA", 9134187)] * 4
    assert sorted((r[3], r[4]) for r in rows) == [(1, 2), (3, 5), (6, 9), (7, 8)]
    assert counts["decoded"] == 9 and counts["incomplete"] == 0 and q.num_rows == 0


def test_incomplete_groups_are_counted_and_kept(tmp_path):
    lines = [vdm(S1, F1, 2, 1, "1", "A"),  # never completed
             vdm(S1, F1, 2, 1, "2", "A"), vdm(S1, F1, 2, 1, "2", "A"),  # part 1 twice: the first is given up
             vdm(S2, F2, 2, 2, "2", "A"),
             vdm(S2, F2, 2, 2, "7", "B")]  # an orphan last part at the end of the data
    pos, st, q, counts = run(tmp_path, lines, dedup=False)
    assert len(st) == 1
    assert sorted(r["line"] for r in q.to_pylist()) == [1, 2, 5]
    assert set(q.column("reason").to_pylist()) == {"incomplete_multipart"}
    assert counts["incomplete"] == 3 and counts["decoded"] == 2


def test_groups_survive_chunk_boundaries(tmp_path):
    """The same stream decoded in tiny chunks gives the same rows as in one chunk."""
    rng = random.Random(7)
    lines = []
    for i in range(300):
        if rng.random() < 0.3:
            seq = str(i % 10)
            lines += [vdm(S1, F1, 2, 1, seq, "A"), vdm(PAYLOAD, ch="B") if rng.random() < 0.5 else "",
                      vdm(S2, F2, 2, 2, seq, "A")]
        else:
            lines.append(tag(c=EPOCH + i) + vdm(PAYLOAD))
    big = run(tmp_path, lines, name="a.nmea", dedup=False)
    small = run(tmp_path, lines, name="b.nmea", dedup=False, chunk_bytes=97)
    for a, b in zip(big[:3], small[:3]):
        assert a.to_pylist() == b.to_pylist()
    assert big[3] == small[3]


def test_gzip_input(tmp_path):
    lines = [tag(c=EPOCH + i) + vdm(PAYLOAD) for i in range(50)]
    plain = run(tmp_path, lines, name="x.nmea", dedup=False)
    gz = run(tmp_path, lines, name="x.nmea.gz", dedup=False)
    assert plain[0].to_pylist() == gz[0].to_pylist() and plain[0].num_rows == 50


def test_duplicates_from_two_stations_count_once(tmp_path):
    lines = []
    first = None
    for i in range(20):
        p = pyais.encode_dict({"msg_type": 1, "mmsi": 273000000 + i, "lat": 43.0 + i / 100, "lon": 132.0}, talker_id="AI")[0]
        pl = p.split(",")[5]
        first = first or pl
        lines.append(tag(s="rx-A", c=EPOCH + i) + vdm(pl, ch="A"))
        lines.append(tag(s="rx-B", c=EPOCH + i + 1) + vdm(pl, ch="B"))  # same transmission, other receiver
    lines.append(tag(s="rx-A", c=EPOCH + 3600) + vdm(first, ch="A"))  # an hour later: not a dup
    pos, _, q, counts = run(tmp_path, lines)
    assert counts["duplicates"] == 20
    assert pos.num_rows == 21
    assert sorted(pos.column("mmsi").to_pylist()) == sorted([273000000 + i for i in range(20)] + [273000000])


def test_one_message_as_one_sentence_and_as_two_counts_once(tmp_path):
    """Stations split long messages differently; the content decides what is a duplicate."""
    payload, fill = S1 + S2, F2
    one = tag(s="rx-A", c=EPOCH) + vdm(payload, fill)
    two = [tag(s="rx-B", c=EPOCH + 2) + vdm(S1, 0, 2, 1, "4", "B"), vdm(S2, F2, 2, 2, "4", "B")]
    _, st, q, counts = run(tmp_path, [one, *two])
    assert st.num_rows == 1 and counts["duplicates"] == 2 and counts["decoded"] == 1
