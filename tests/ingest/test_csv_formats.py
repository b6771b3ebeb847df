"""CSV exports to canonical tables: format sniffing, conversions, routing, lineage and accounting.

Expected values are derived from the input files with the standard library's ``csv`` module (an
independent, row-by-row reading), not hard-coded, except for the few hand-built canonical files.
"""

from __future__ import annotations

import csv
import gzip
import math
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from watchkeeper import schema
from watchkeeper.errors import ConfigError, InputError
from watchkeeper.ingest.csv import (
    CANONICAL_COLUMNS, DMA_NAV_STATUS, DMA_SHIP_TYPE, parse_mapping, read_csv, sniff_csv,
)

DATA = Path(__file__).resolve().parents[1] / "data"
NOAA = DATA / "noaa" / "test_data_noaa_20230101.csv"
DMA = DATA / "dma" / "dma_sample.csv"
UTC = timezone.utc


# ------------------------------------------------------------------------------------------------ helpers


def read_all(path, source_id: int = 3, **kw):
    """Read a whole file; returns (positions, statics, quarantine, counts, reasons)."""
    pos, st, q, counts, reasons = [], [], [], Counter(), Counter()
    for b in read_csv(str(path), source_id, **kw):
        assert b.positions.schema.equals(schema.POSITIONS, check_metadata=True)
        assert b.statics.schema.equals(schema.STATICS, check_metadata=True)
        assert b.quarantine.schema.equals(schema.QUARANTINE, check_metadata=True)
        assert b.counts["positions"] == b.positions.num_rows and b.counts["statics"] == b.statics.num_rows
        assert b.counts["messages"] == b.counts["decoded"]
        pos.append(b.positions)
        st.append(b.statics)
        q.append(b.quarantine)
        counts.update(b.counts)
        reasons.update(b.reasons)
    assert counts["lines_in"] == counts["decoded"] + counts["rejected"] + counts["skipped"], counts
    return pa.concat_tables(pos), pa.concat_tables(st), pa.concat_tables(q), counts, reasons


def physical_lines(path: Path) -> int:
    return len(path.read_bytes().splitlines())


def num(text: str) -> float | None:
    return float(text) if text.strip() else None


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


# ------------------------------------------------------------------------------------------------ sniffing


def test_sniff_recognises_each_header():
    assert sniff_csv(NOAA.read_bytes()[:4096]) == "csv-noaa"
    assert sniff_csv(DMA.read_bytes()[:4096]) == "csv-dma"
    assert sniff_csv(gzip.compress(NOAA.read_bytes())[:4096]) == "csv-noaa"
    assert sniff_csv(b"mmsi,basedatetime,lat,lon,sog,cog,heading,vesselname,imo,callsign,vesseltype,status,"
                     b"length,width,draft,cargo\n1,2") == "csv-noaa"  # older, lower-case, no TransceiverClass
    assert sniff_csv(",".join(CANONICAL_COLUMNS).encode() + b"\n") == "csv-canonical"
    assert sniff_csv(b"msg_type,mmsi,ts,lat,lon,sog_kn,line,line_last\n1,2") == "csv-canonical"
    assert sniff_csv(b"mmsi,ts,shipname,imo,source_id\r\n") == "csv-canonical"
    assert sniff_csv(b'\xef\xbb\xbf"mmsi","ts","lat","lon"\n') == "csv-canonical"  # BOM, quoted names


@pytest.mark.parametrize("head", [
    b"", b"\x00\x01\x02\x03", b"ship,when,where\n1,2,3\n", b"mmsi,lat,lon\n",  # canonical without ts
    b"mmsi,ts,lat,lon,speed\n",  # a column that is not canonical
    b"!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C\n", b"MMSI\n", b"Timestamp,MMSI,Latitude,Longitude\n",
])
def test_sniff_rejects_other_text(head):
    assert sniff_csv(head) is None


# ------------------------------------------------------------------------------------------------ NOAA


def noaa_expected(row: dict) -> dict:
    """One NOAA row converted by the documented rules, written independently of the reader."""
    heading, cog, sog = num(row["Heading"]), num(row["COG"]), num(row["SOG"])
    status, vtype = num(row["Status"]), num(row["VesselType"])
    imo = row["IMO"].removeprefix("IMO")
    draft = num(row["Draft"])
    return {
        "mmsi": int(row["MMSI"]),
        "ts": datetime.fromisoformat(row["BaseDateTime"]).replace(tzinfo=UTC),
        "lat": float(row["LAT"]), "lon": float(row["LON"]),
        "sog_kn": None if sog is None or sog > 102.2 else sog,
        "cog_deg": None if cog is None or cog >= 360 else cog,
        "heading_deg": None if heading is None or heading > 359 else int(heading),
        "nav_status": None if status is None or status > 14 else int(status),
        "identity": (int(imo) or None if imo else None, row["CallSign"] or None, row["VesselName"] or None,
                     int(vtype) or None if vtype is not None else None,
                     int(num(row["Length"])) or None if row["Length"] else None,
                     int(num(row["Width"])) or None if row["Width"] else None,
                     draft or None),
    }


def noaa_rows() -> list[dict]:
    with NOAA.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def noaa():
    return read_all(NOAA, fmt="csv-noaa")


def test_noaa_every_line_accounted_for(noaa):
    pos, st, q, counts, _ = noaa
    rows = noaa_rows()
    assert counts["lines_in"] == physical_lines(NOAA) == len(rows) + 1
    assert counts["skipped"] == 1  # the header
    assert counts["decoded"] == len(rows) and counts["rejected"] == 0 and q.num_rows == 0
    assert pos.num_rows == sum(1 for r in rows if r["LAT"] and r["LON"])


def test_noaa_values_match_the_rows(noaa):
    pos, _, _, _, _ = noaa
    rows = noaa_rows()
    got = pos.to_pylist()
    assert [r["line"] for r in got] == list(range(2, len(rows) + 2))
    for r, g in zip(rows, got):
        e = noaa_expected(r)
        assert (g["mmsi"], g["ts"], g["lat"], g["lon"]) == (e["mmsi"], e["ts"], e["lat"], e["lon"])
        assert g["heading_deg"] == e["heading_deg"] and g["nav_status"] == e["nav_status"]
        for k in ("sog_kn", "cog_deg"):
            assert (g[k] is None) == (e[k] is None) and (g[k] is None or math.isclose(g[k], e[k], rel_tol=1e-6))
        assert g["msg_type"] == 0 and g["source_id"] == 3 and g["line_last"] == g["line"]
    # the documented "not available" conversions really occur in this sample
    assert any(r["Heading"] == "511.0" for r in rows) and pos.column("heading_deg").null_count > 0
    assert any(r["COG"] == "360.0" for r in rows) and pos.column("cog_deg").null_count > 0


def test_noaa_statics_follow_the_identity_rule(noaa):
    _, st, _, _, _ = noaa
    rows = noaa_rows()
    last: dict[int, tuple] = {}
    want = []
    for line, r in enumerate(rows, start=2):
        e = noaa_expected(r)
        if any(v is not None for v in e["identity"]) and last.get(e["mmsi"]) != e["identity"]:
            last[e["mmsi"]] = e["identity"]
            want.append((line, e["mmsi"], *e["identity"]))
    got = [(s["line"], s["mmsi"], s["imo"], s["callsign"], s["shipname"], s["ship_type"], s["length_m"],
            s["beam_m"], None if s["draught_m"] is None else round(s["draught_m"], 3)) for s in st.to_pylist()]
    want = [w[:-1] + (None if w[-1] is None else round(w[-1], 3),) for w in want]
    assert got == want
    imo_row = next(s for s in st.to_pylist() if s["mmsi"] == 636021061)
    assert imo_row["imo"] == 9307839  # 'IMO9307839' in the file
    assert not any(s["imo"] == 0 for s in st.to_pylist())  # 'IMO0000000' -> null


def test_noaa_gzip_and_chunking_give_the_same_tables(tmp_path, noaa):
    gz = write(tmp_path, "noaa.csv.gz", gzip.compress(NOAA.read_bytes()))
    for got in (read_all(gz, fmt="csv-noaa"), read_all(NOAA, fmt="csv-noaa", chunk_rows=37)):
        for a, b in zip(got[:3], noaa[:3]):
            assert a.equals(b)
        assert got[3] == noaa[3]


# ------------------------------------------------------------------------------------------------ DMA


def dma_expected(fields: list[str]) -> dict | str:
    """One DMA row by the documented rules; a reason name when the row must be rejected."""
    if len(fields) != 26:
        return "bad_csv_row"
    try:
        ts = datetime.strptime(fields[0], "%d/%m/%Y %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return "bad_timestamp"
    unknown = ("", "Unknown", "Undefined")
    lat, lon = float(fields[3]), float(fields[4])
    lat, lon = (None if lat == 91 else lat), (None if lon == 181 else lon)
    if (lat is not None and abs(lat) > 90) or (lon is not None and abs(lon) > 180):
        return "bad_field_values"
    nav = {k.lower(): v for k, v in DMA_NAV_STATUS.items()}.get(fields[5].lower())
    ship = {k.lower(): v for k, v in DMA_SHIP_TYPE.items()}.get(fields[13].lower())

    def integer(text):
        return None if text in unknown or int(text) == 0 else int(text)

    eta = None
    if fields[20]:
        e = datetime.strptime(fields[20], "%d/%m/%Y %H:%M:%S")
        eta = f"--{e:%m-%d}T{e:%H:%M}"
    identity = (integer(fields[10]), None if fields[11] in unknown else fields[11],
                None if fields[12] in unknown else fields[12], ship,
                *(integer(fields[i]) for i in (22, 23, 24, 25)), integer(fields[16]), integer(fields[15]),
                None if fields[18] in unknown else float(fields[18]),
                None if fields[19] in unknown else fields[19], eta)
    return {"mmsi": int(fields[2]), "ts": ts, "lat": lat, "lon": lon, "nav_status": nav,
            "heading_deg": None if fields[9] == "" else int(fields[9]), "identity": identity}


@pytest.fixture(scope="module")
def dma():
    return read_all(DMA, fmt="csv-dma")


def dma_rows():
    with DMA.open(newline="") as f:
        return list(csv.reader(f))[1:]


def test_dma_every_line_accounted_for(dma):
    _, _, q, counts, reasons = dma
    expected = {line: dma_expected(r) for line, r in enumerate(dma_rows(), start=2)}
    rejected = {line: why for line, why in expected.items() if isinstance(why, str)}
    assert counts["lines_in"] == physical_lines(DMA) and counts["skipped"] == 1
    assert counts["rejected"] == len(rejected) == 3 and counts["decoded"] == len(expected) - len(rejected)
    assert dict(zip(q.column("line").to_pylist(), q.column("reason").to_pylist())) == rejected
    assert reasons == Counter(rejected.values())
    raw_lines = DMA.read_text().splitlines()
    for row in q.to_pylist():
        assert row["raw"] == raw_lines[row["line"] - 1] and row["raw_bytes"] == len(row["raw"])
        assert row["source_id"] == 3 and row["n_lines"] == 1 and row["detail"]


def test_dma_positions_and_conversions(dma):
    pos, _, _, _, _ = dma
    expected = [(line, e) for line, r in enumerate(dma_rows(), start=2)
                if isinstance(e := dma_expected(r), dict) and e["lat"] is not None and e["lon"] is not None]
    got = pos.to_pylist()
    assert [g["line"] for g in got] == [line for line, _ in expected]
    for g, (_, e) in zip(got, expected):
        assert (g["mmsi"], g["ts"], g["lat"], g["lon"]) == (e["mmsi"], e["ts"], e["lat"], e["lon"])
        assert g["nav_status"] == e["nav_status"] and g["heading_deg"] == e["heading_deg"]
    assert {g["nav_status"] for g in got} == {0, 4, 5, 7, 3, None}  # "Unknown value" -> null


def test_dma_statics_emitted_when_identity_changes(dma):
    _, st, _, _, _ = dma
    last: dict[int, tuple] = {}
    want = []
    for line, r in enumerate(dma_rows(), start=2):
        e = dma_expected(r)
        if isinstance(e, dict) and any(v is not None for v in e["identity"]) and last.get(e["mmsi"]) != e["identity"]:
            last[e["mmsi"]] = e["identity"]
            want.append((line, e["mmsi"], *e["identity"]))
    fields = ["line", "mmsi", "imo", "callsign", "shipname", "ship_type", "to_bow_m", "to_stern_m", "to_port_m",
              "to_starboard_m", "length_m", "beam_m", "draught_m", "destination", "eta"]
    got = [tuple(round(s[k], 3) if k == "draught_m" and s[k] is not None else s[k] for k in fields)
           for s in st.to_pylist()]
    assert got == want
    tanker = [s for s in st.to_pylist() if s["mmsi"] == 265000903]
    assert [s["destination"] for s in tanker] == ["SKAGEN", "FREDERICIA", "SKAGEN"]
    assert tanker[0]["ship_type"] == 80 and tanker[0]["eta"] == "--03-03T18:00"
    assert 2190068 not in st.column("mmsi").to_pylist()  # base station: every identity value Unknown


@pytest.mark.parametrize("chunk_rows", [1, 5, 16])
def test_dma_statics_state_crosses_chunks(dma, chunk_rows):
    got = read_all(DMA, fmt="csv-dma", chunk_rows=chunk_rows)
    for a, b in zip(got[:3], dma[:3]):
        assert a.equals(b)


def test_dma_text_tables_cover_the_documented_values():
    assert DMA_SHIP_TYPE["Cargo"] == 70 and DMA_SHIP_TYPE["Tanker"] == 80 and DMA_SHIP_TYPE["Undefined"] is None
    assert DMA_NAV_STATUS["Moored"] == 5 and DMA_NAV_STATUS["Unknown value"] is None
    doc = (Path(__file__).resolve().parents[2] / "docs" / "csv-formats.md").read_text()
    for text, code in {**DMA_SHIP_TYPE, **DMA_NAV_STATUS}.items():
        assert f"| {text} | {'null' if code is None else code} |" in doc, text


# ------------------------------------------------------------------------------------------------ canonical


POS_HEADER = "msg_type,mmsi,ts,lat,lon,sog_kn,cog_deg,heading_deg,nav_status,rot,pos_accuracy,line,line_last"
STAT_HEADER = "msg_type,mmsi,ts,imo,callsign,shipname,ship_type,to_bow_m,to_stern_m,to_port_m,to_starboard_m," \
              "length_m,beam_m,draught_m,destination,eta,line,line_last"


def test_canonical_positions_only(tmp_path):
    p = write(tmp_path, "pos.csv", "\n".join([
        POS_HEADER,
        "1,244123456,2021-11-01T01:58:07Z,52.1,4.3,10.5,90.0,91,0,-2.5,true,900,900",
        "18,244123457,2021-11-01T01:58:08.250Z,52.2,4.4,,,,,,false,901,901",
        "",  # blank line: skipped
        "# a comment line: skipped",
        "27,244123458,2021-11-01 02:58:09+01:00,52.3,4.5,3,45,,5,,,1,1",
        "3,244123459,,52.4,4.6,0,0,0,15,0,1,2,2",  # no time: allowed in canonical files
    ]) + "\n")
    pos, st, q, counts, _ = read_all(p, fmt="csv-canonical")
    assert counts == Counter(lines_in=7, decoded=4, rejected=0, skipped=3, messages=4, positions=4, statics=0)
    assert st.num_rows == 0 and q.num_rows == 0
    rows = pos.to_pylist()
    assert [r["line"] for r in rows] == [2, 3, 6, 7]  # this CSV's lines, not the 'line' column
    assert [r["msg_type"] for r in rows] == [1, 18, 27, 3]
    assert rows[0]["ts"] == datetime(2021, 11, 1, 1, 58, 7, tzinfo=UTC)
    assert rows[1]["ts"] == datetime(2021, 11, 1, 1, 58, 8, 250000, tzinfo=UTC)
    assert rows[2]["ts"] == datetime(2021, 11, 1, 1, 58, 9, tzinfo=UTC)  # +01:00 converted
    assert rows[3]["ts"] is None
    assert rows[0]["pos_accuracy"] is True and rows[1]["pos_accuracy"] is False and rows[2]["pos_accuracy"] is None
    assert rows[0]["rot"] == -2.5 and rows[0]["heading_deg"] == 91 and rows[3]["nav_status"] is None


def test_canonical_statics_only(tmp_path):
    p = write(tmp_path, "st.csv", "\n".join([
        STAT_HEADER,
        '5,244123456,2021-11-01T01:58:07,9307839,PDAB,"NAME, WITH COMMA",70,100,20,5,6,,,7.5,ROTTERDAM,'
        "--11-02T08:00,5,6",
        "24,244123457,2021-11-01T01:58:08,,,SMALL ONE,,,,,,,,,,,9,9",
        "5,244123456,2021-11-01T01:58:09,9307839,PDAB,\"NAME, WITH COMMA\",70,100,20,5,6,,,7.5,ROTTERDAM,,7,8",
    ]) + "\r\n")
    pos, st, q, counts, _ = read_all(p, fmt="csv-canonical")
    assert pos.num_rows == 0 and q.num_rows == 0 and counts["statics"] == 3  # canonical rows are never deduplicated
    first = st.to_pylist()[0]
    assert first["shipname"] == "NAME, WITH COMMA" and first["imo"] == 9307839 and first["msg_type"] == 5
    assert (first["length_m"], first["beam_m"]) == (120, 11)  # from the dimensions when not given
    assert first["eta"] == "--11-02T08:00" and first["line"] == 2
    assert st.column("line").to_pylist() == [2, 3, 4]


def test_canonical_union_routing(tmp_path):
    header = ",".join(CANONICAL_COLUMNS)
    n = len(CANONICAL_COLUMNS)

    def row(**values):
        return ",".join(str(values.get(c, "")) for c in CANONICAL_COLUMNS)

    p = write(tmp_path, "union.csv", "\n".join([
        header,
        row(msg_type=1, mmsi=111111111, ts="2021-11-01T00:00:00Z", lat=1, lon=2),
        row(msg_type=5, mmsi=111111111, ts="2021-11-01T00:00:01Z", shipname="A", ship_type=70),
        row(msg_type=19, mmsi=222222222, ts="2021-11-01T00:00:02Z", lat=3, lon=4, shipname="B"),
        row(msg_type=21, mmsi=993333333, ts="2021-11-01T00:00:03Z", lat=5, lon=6, ship_type=1),
        row(msg_type=0, mmsi=444444444, ts="2021-11-01T00:00:04Z", lat=7, lon=8),
        row(msg_type=0, mmsi=555555555, ts="2021-11-01T00:00:05Z", callsign="CALL"),
        row(msg_type="", mmsi=666666666, ts="2021-11-01T00:00:06Z"),  # nothing to store: decoded, no rows
        row(msg_type=8, mmsi=777777777, ts="2021-11-01T00:00:07Z"),  # binary message: unsupported
        row(msg_type=99, mmsi=777777777, ts="2021-11-01T00:00:08Z", lat=1, lon=1),  # no such type
        row(msg_type=1, mmsi=0, ts="2021-11-01T00:00:09Z", lat=1, lon=1),  # MMSI 0
        row(msg_type=1, mmsi=888888888, ts="yesterday", lat=1, lon=1),
        row(msg_type=1, mmsi=888888888, ts="2021-11-01T00:00:10Z", lat=1, lon=1, sog_kn="fast"),
        row(msg_type=1, mmsi=888888888, ts="2021-11-01T00:00:11Z", lat=-95, lon=1),
        row(msg_type=1, mmsi=888888888, ts="2021-11-01T00:00:12Z", lat=91, lon=181),  # not available -> null
        "1,2,3",  # wrong column count
    ]) + "\n")
    assert sniff_csv(p.read_bytes()) == "csv-canonical"
    pos, st, q, counts, reasons = read_all(p, fmt="csv-canonical")
    assert pos.column("line").to_pylist() == [2, 4, 5, 6, 15]
    assert st.column("line").to_pylist() == [3, 4, 5, 7]
    assert st.column("msg_type").to_pylist() == [5, 19, 21, 0]
    assert dict(zip(q.column("line").to_pylist(), q.column("reason").to_pylist())) == {
        9: "unsupported_type", 10: "bad_field_values", 11: "bad_field_values", 12: "bad_timestamp",
        13: "bad_field_values", 14: "bad_field_values", 16: "bad_csv_row"}
    assert counts["decoded"] == 8 and counts["rejected"] == 7 and counts["lines_in"] == 16
    detail = dict(zip(q.column("line").to_pylist(), q.column("detail").to_pylist()))
    assert "'sog_kn'" in detail[13] and "'fast'" in detail[13]
    assert "'lat'" in detail[14] and "-90..90" in detail[14]
    assert "expected %d columns, found 3" % n == detail[16]
    last = pos.to_pylist()[-1]
    assert last["lat"] is None and last["lon"] is None


def test_canonical_round_trip_of_a_hand_built_file_is_stable(tmp_path):
    """Rows read from a canonical file, written back in canonical form, read again: the same tables."""
    p = write(tmp_path, "a.csv", "\n".join([
        ",".join(CANONICAL_COLUMNS),
        "1,244123456,2021-11-01T01:58:07Z,52.1,4.3,10.5,90.5,91,0,-2.5,true,,,,,,,,,,,,,,3,3",
        '5,244123456,2021-11-01T01:58:08Z,,,,,,,,,9307839,PDAB,"A ""QUOTED"" NAME",70,100,20,5,6,120,11,7.5,'
        "ROTTERDAM,--11-02T08:00,4,5",
    ]) + "\n")
    pos, st, _, _, _ = read_all(p, fmt="csv-canonical")
    assert st.column("shipname").to_pylist() == ['A "QUOTED" NAME']
    merged = []
    for table, kind in ((pos, "p"), (st, "s")):
        for r in table.to_pylist():
            r["ts"] = r["ts"].strftime("%Y-%m-%dT%H:%M:%SZ")
            merged.append(r)
    out = tmp_path / "b.csv"
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(CANONICAL_COLUMNS), extrasaction="ignore")
        w.writeheader()
        for r in sorted(merged, key=lambda r: r["line"]):
            w.writerow({k: ("" if v is None else str(v).lower() if isinstance(v, bool) else v) for k, v in r.items()})
    pos2, st2, _, _, _ = read_all(out, fmt="csv-canonical")
    assert pos2.drop_columns(["line", "line_last"]).equals(pos.drop_columns(["line", "line_last"]))
    assert st2.drop_columns(["line", "line_last"]).equals(st.drop_columns(["line", "line_last"]))


def test_canonical_from_decode_matches_the_nmea_reader(tmp_path):
    """`watchkeeper decode --format csv` output read back gives the NMEA reader's rows (times to the second)."""
    decode_out = pytest.importorskip("watchkeeper.ingest.decode_out")
    nmea = pytest.importorskip("watchkeeper.ingest.nmea")
    src = DATA / "aisdb" / "test_data_20211101.nm4"
    out = tmp_path / "decoded.csv"
    decode_out.decode_to(str(src), "csv", str(out), None)
    assert sniff_csv(out.read_bytes()[:4096]) == "csv-canonical"
    pos, st, q, counts, _ = read_all(out, fmt="csv-canonical")
    assert q.num_rows == 0
    ref_pos = pa.concat_tables([b.positions for b in nmea.read_nmea(str(src), 3)])
    ref_st = pa.concat_tables([b.statics for b in nmea.read_nmea(str(src), 3)])
    assert pos.num_rows == ref_pos.num_rows and st.num_rows == ref_st.num_rows
    keep = ["mmsi", "lat", "lon", "sog_kn", "cog_deg", "heading_deg", "nav_status", "pos_accuracy", "msg_type"]
    assert pos.select(keep).equals(ref_pos.select(keep))
    keep = ["mmsi", "imo", "callsign", "shipname", "ship_type", "draught_m", "destination", "eta", "msg_type"]
    assert st.select(keep).equals(ref_st.select(keep))


# ------------------------------------------------------------------------------------------------ robustness


def test_broken_quotes_keep_line_numbers(tmp_path):
    p = write(tmp_path, "q.csv", "\n".join([
        "mmsi,ts,shipname,lat,lon",
        '244000001,2021-11-01T00:00:00Z,"OPEN QUOTE,1,2',  # quote never closed
        "244000002,2021-11-01T00:00:01Z,OK,1,2",
        '244000003,2021-11-01T00:00:02Z,"SPANS',  # a quoted field running onto the next line
        'TWO LINES",1,2',
        "244000004,2021-11-01T00:00:03Z,LAST,1,2",
    ]) + "\n")
    pos, st, q, counts, _ = read_all(p, fmt="csv-canonical")
    assert pos.column("line").to_pylist() == [3, 6]
    assert q.column("line").to_pylist() == [2, 4, 5]
    assert set(q.column("reason").to_pylist()) == {"bad_csv_row"}
    assert counts["lines_in"] == 6


def test_bytes_that_are_not_utf8_are_escaped(tmp_path):
    p = write(tmp_path, "latin1.csv", b"mmsi,ts,shipname,lat,lon\n"
              b"219000001,2021-11-01T00:00:00Z,F\xd8RGE,55,12\n219000002,not a time,\xc6,55,12\n")
    _, st, q, counts, _ = read_all(p, fmt="csv-canonical")
    assert st.column("shipname").to_pylist() == ["F\\xd8RGE"]
    assert q.column("raw").to_pylist() == ["219000002,not a time,\\xc6,55,12"]
    assert q.column("raw_bytes").to_pylist() == [28]  # the original bytes


def test_header_only_and_empty_files(tmp_path):
    _, _, _, counts, _ = read_all(write(tmp_path, "h.csv", "mmsi,ts,lat,lon\n"), fmt="csv-canonical")
    assert counts == Counter(lines_in=1, skipped=1)
    with pytest.raises(InputError, match="empty"):
        read_all(write(tmp_path, "e.csv", ""), fmt="csv-canonical")


def test_missing_required_columns_raise_input_error(tmp_path):
    p = write(tmp_path, "n.csv", "MMSI,BaseDateTime,LAT\n1,2,3\n")
    with pytest.raises(InputError) as e:
        read_all(p, fmt="csv-noaa")
    assert e.value.where == str(p)
    assert "lon" in e.value.what and "'MMSI', 'BaseDateTime', 'LAT'" in e.value.what
    assert "--columns" in e.value.fix


# ------------------------------------------------------------------------------------------------ mapped


def test_mapped_with_time_format(tmp_path):
    p = write(tmp_path, "m.csv", "\n".join([
        "Ship Id,When,Lat,Lon,Name",
        "244000001,01/11/2021 00:00:05,52.5,4.25,ALPHA",
        "244000001,01/11/2021 00:00:06,52.6,4.35,ALPHA",
        "244000001,01/11/2021 00:00:07,52.7,4.45,BRAVO",
        "244000002,31/02/2021 00:00:07,52.7,4.45,X",  # no such day: strptime would roll it over
        "244000003,1/11/2021 0:00:08,52.8,4.55,",  # unpadded numbers parse
    ]) + "\n")
    mapping = parse_mapping("mmsi=Ship Id, ts=When,lat=lat,lon=Lon,shipname=Name")
    pos, st, q, counts, _ = read_all(p, fmt="csv-mapped", mapping=mapping, ts_format="%d/%m/%Y %H:%M:%S")
    assert pos.column("line").to_pylist() == [2, 3, 4, 6]
    assert pos.column("ts").to_pylist()[0] == datetime(2021, 11, 1, 0, 0, 5, tzinfo=UTC)
    assert st.column("shipname").to_pylist() == ["ALPHA", "BRAVO"]
    assert q.column("reason").to_pylist() == ["bad_timestamp"]
    assert counts["decoded"] == 4


def test_mapped_default_times_epoch_or_iso(tmp_path):
    p = write(tmp_path, "e.csv", "id,t,y,x\n1,1635724800,1,2\n2,1635724800.5,1,2\n3,2021-11-01T00:00:00Z,1,2\n"
                                 "4,2021-11-01 01:00:00,1,2\n5,soon,1,2\n")
    pos, _, q, _, _ = read_all(p, fmt="csv-mapped", mapping=parse_mapping("mmsi=id,ts=t,lat=y,lon=x"))
    base = datetime(2021, 11, 1, tzinfo=UTC)
    assert pos.column("ts").to_pylist() == [base, base.replace(microsecond=500000), base, base.replace(hour=1)]
    assert q.column("line").to_pylist() == [6]


def test_mapped_statics_only(tmp_path):
    p = write(tmp_path, "s.csv", "id,t,name,imo\n1,2021-11-01T00:00:00,A,IMO1234567\n1,2021-11-01T00:01:00,A,"
                                 "IMO1234567\n")
    pos, st, _, _, _ = read_all(p, fmt="csv-mapped", mapping=parse_mapping("mmsi=id,ts=t,shipname=name,imo=imo"))
    assert pos.num_rows == 0 and st.column("imo").to_pylist() == [1234567]


def test_mapped_missing_column_error_names_file_columns_and_fix(tmp_path):
    p = write(tmp_path, "x.csv", "ShipId,Time,Latitude,Longitude\n1,2,3,4\n")
    with pytest.raises(InputError) as e:
        read_all(p, fmt="csv-mapped", mapping=parse_mapping("mmsi=ShipId,ts=Timestamp,lat=Latitude,lon=Lon"))
    err = e.value
    assert err.where == str(p)
    assert "'Timestamp' (for ts)" in err.what and "'Lon' (for lon)" in err.what
    assert "'ShipId', 'Time', 'Latitude', 'Longitude'" in err.what
    assert "--columns mmsi=ShipId,ts=Time,lat=Latitude,lon=Longitude" in err.fix


def test_parse_mapping():
    assert parse_mapping("mmsi=ShipId,ts=Time,lat=Lat,lon=Lon") == {
        "mmsi": "ShipId", "ts": "Time", "lat": "Lat", "lon": "Lon"}
    assert parse_mapping(" mmsi = A ,ts=B C ") == {"mmsi": "A", "ts": "B C"}
    for bad, words in [("", "empty"), ("mmsi", "canonical=source"), ("mmsi=", "canonical=source"),
                       ("speed=SOG", "unknown canonical field 'speed'"), ("mmsi=A,mmsi=B", "twice"),
                       ("line=L", "unknown")]:
        with pytest.raises(ConfigError) as e:
            parse_mapping(bad)
        assert words in e.value.what
    with pytest.raises(ConfigError) as e:
        parse_mapping("speed=SOG")
    assert "sog_kn" in e.value.fix and "shipname" in e.value.fix


def test_mapping_must_bind_enough(tmp_path):
    p = write(tmp_path, "x.csv", "a,b,c\n1,2,3\n")
    for spec in ("mmsi=a,ts=b", "mmsi=a,lat=b,lon=c", "mmsi=a,ts=b,lat=c"):
        with pytest.raises(ConfigError):
            read_all(p, fmt="csv-mapped", mapping=parse_mapping(spec))
    with pytest.raises(ConfigError):
        read_all(p, fmt="csv-noaa", mapping={"mmsi": "a"})


@pytest.mark.parametrize("seed", range(8))
def test_random_mix_of_good_and_bad_lines_keeps_every_line_number(tmp_path, seed):
    """Whatever the mix and the chunking, each line lands in the right place with its own number."""
    import random

    rng = random.Random(seed)
    kinds = ["good", "good", "good", "quoted", "columns", "time", "mmsi", "number", "blank", "comment", "open"]
    lines, want = ["mmsi,ts,shipname,lat,lon"], {}
    for line in range(2, 2 + rng.randint(1, 120)):
        kind = rng.choice(kinds)
        mmsi = 200000000 + line
        good = f"{mmsi},2021-11-01T00:00:{line % 60:02d}Z,NAME {line},{rng.uniform(-89, 89):.5f},1.5"
        text = {
            "good": good, "quoted": f'{mmsi},2021-11-01T00:00:00Z,"A, ""B""",1,2',
            "columns": good + ",extra", "time": f"{mmsi},2021-13-01T00:00:00Z,X,1,2",
            "mmsi": f"-{mmsi},2021-11-01T00:00:00Z,X,1,2", "number": f"{mmsi},2021-11-01T00:00:00Z,X,1,2e",
            "blank": "", "comment": "# note", "open": f'{mmsi},2021-11-01T00:00:00Z,"OPEN,1,2',
        }[kind]
        lines.append(text)
        want[line] = {"good": "decoded", "quoted": "decoded", "blank": "skipped", "comment": "skipped",
                      "columns": "bad_csv_row", "open": "bad_csv_row", "time": "bad_timestamp",
                      "mmsi": "bad_field_values", "number": "bad_field_values"}[kind]
    eol = rng.choice(["\n", "\r\n"])
    ending = rng.choice([eol, ""]) if lines[-1] else eol  # a last blank line exists only if terminated
    p = write(tmp_path, "mix.csv", eol.join(lines) + ending)
    pos, st, q, counts, _ = read_all(p, fmt="csv-canonical", chunk_rows=rng.choice([1, 3, 10, 1000]))
    decoded = sorted(line for line, w in want.items() if w == "decoded")
    assert pos.column("line").to_pylist() == decoded == st.column("line").to_pylist()
    assert dict(zip(q.column("line").to_pylist(), q.column("reason").to_pylist())) == {
        line: w for line, w in want.items() if w not in ("decoded", "skipped")}
    assert counts["skipped"] == 1 + sum(1 for w in want.values() if w == "skipped")
    assert counts["lines_in"] == len(lines)
    for row in q.to_pylist():
        assert row["raw"] == lines[row["line"] - 1]


def test_truncated_gzip_is_an_input_error(tmp_path):
    data = gzip.compress(NOAA.read_bytes())
    p = write(tmp_path, "cut.csv.gz", data[: len(data) // 2])
    with pytest.raises(InputError, match="gzip"):
        read_all(p, fmt="csv-noaa")
    with pytest.raises(InputError, match="not found"):
        read_all(tmp_path / "nowhere.csv", fmt="csv-noaa")


def test_stopping_early_releases_the_file():
    batches = read_csv(str(NOAA), 1, fmt="csv-noaa", chunk_rows=10)
    first = next(batches)
    batches.close()  # the reader thread and the file are released without reading the rest
    assert first.counts["lines_in"] == 11 and first.positions.num_rows == 10


def test_times_mixed_forms_and_impossible_dates(tmp_path):
    times = ["2024-02-29T10:00:00", "2024-02-29T11:00:00+02:00", "2024-02-29 12:00:00.5Z", "2023-02-29T10:00:00",
             "2024-02-28T24:00:00", "2024-02-28", " 2024-02-28T01:02:03 ", "28/02/2024 01:02:03"]
    p = write(tmp_path, "t.csv", "mmsi,ts,lat,lon\n" + "".join(f"244000001,{t},1,2\n" for t in times))
    pos, _, q, _, _ = read_all(p, fmt="csv-canonical")
    assert pos.column("ts").to_pylist() == [
        datetime(2024, 2, 29, 10, tzinfo=UTC), datetime(2024, 2, 29, 9, tzinfo=UTC),
        datetime(2024, 2, 29, 12, 0, 0, 500000, tzinfo=UTC), datetime(2024, 2, 28, tzinfo=UTC),
        datetime(2024, 2, 28, 1, 2, 3, tzinfo=UTC)]
    assert q.column("line").to_pylist() == [5, 6, 9] and set(q.column("reason").to_pylist()) == {"bad_timestamp"}


def test_dma_eta_forms(tmp_path):
    row = DMA.read_text().splitlines()[1].split(",")
    lines = [DMA.read_text().splitlines()[0]]
    for eta in ("05/03/2023 14:30:00", "05/03/2023 24:60:00", "00/00/2023 24:60:00", "", "soon", "32/03/2023 14:30:00"):
        row[20] = eta
        lines.append(",".join(row))
    p = write(tmp_path, "eta.csv", "\n".join(lines) + "\n")
    _, st, q, _, _ = read_all(p, fmt="csv-dma")
    assert st.select(["line", "eta"]).to_pylist() == [
        {"line": 2, "eta": "--03-05T14:30"}, {"line": 3, "eta": "--03-05"}, {"line": 4, "eta": None}]
    assert q.column("line").to_pylist() == [6, 7]  # 'soon', day 32


def test_dma_sample_is_what_its_generator_writes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_dma_sample", DMA.with_name("make_dma_sample.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert DMA.read_text(encoding="utf-8") == "\n".join([gen.HEADER, *gen.rows()]) + "\n"
