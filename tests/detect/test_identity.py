"""Identity detectors: invalid MMSIs and IMO numbers, identity changes, on hand-made statics and a real sample."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from testdata import DATA, decode_file

from watchkeeper.config import Config
from watchkeeper.detect.events import validate_events
from watchkeeper.detect.identity import (
    classify_mmsi,
    edit_distance,
    identity_change,
    imo_rule,
    invalid_identity,
    mid_table,
    mmsi_rule,
    normalise_callsign,
    normalise_name,
)
from watchkeeper.schema import POSITIONS, STATICS

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
SAMPLE = DATA / "dma-aislib" / "stream_example.txt"


def statics(rows: list[dict]) -> pa.Table:
    """A STATICS table from short rows: mmsi, minutes after T0 (``t``), and any identity fields."""
    cols = {n: [] for n in STATICS.names}
    for i, r in enumerate(rows):
        full = {n: None for n in STATICS.names}
        full.update({"ts": T0 + dt.timedelta(minutes=r.get("t", i)), "msg_type": 5, "source_id": 1,
                     "line": i + 1, "line_last": i + 1})
        full.update({k: v for k, v in r.items() if k != "t"})
        for n in STATICS.names:
            cols[n].append(full[n])
    return pa.Table.from_pydict(cols, schema=STATICS)


def ship_check(imo: int) -> bool:
    """The IMO ship check digit, written out independently of the detector."""
    d = [int(c) for c in str(imo)]
    return len(d) == 7 and sum(x * w for x, w in zip(d, (7, 6, 5, 4, 3, 2))) % 10 == d[6]


# ------------------------------------------------------------------------------------------------ MID table


def test_mid_table_is_the_vendored_itu_table():
    src = Path(__file__).parents[2] / "src" / "watchkeeper" / "data" / "itu_mid.csv"
    with open(src, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    table = mid_table()
    assert set(table) == {int(r["MID"]) for r in rows}
    assert table[273] == "Russian Federation"
    assert "Korea" in table[445]
    assert table[306].count("; ") == 2  # three rows for one MID
    assert min(table) >= 201 and max(table) <= 775


# ------------------------------------------------------------------------------------------------ MMSI forms


@pytest.mark.parametrize("mmsi, form, mid", [
    (273436530, "ship", 273),          # Russian ship
    (219000547, "ship", 219),
    (21900547, "group_ship", 219),     # 0MIDXXXXX
    (2190049, "coast_station", 219),   # 00MIDXXXX, leading zeros implicit in the integer
    (111219501, "sar_aircraft", 219),  # 111MIDXXX
    (970123456, "sart_mob_epirb", -1),
    (972012345, "sart_mob_epirb", -1),
    (974012345, "sart_mob_epirb", -1),
    (982191234, "craft_of_parent_ship", 219),  # 98MIDXXXX
    (992190002, "aid_to_navigation", 219),     # 99MIDXXXX (a Danish AtoN of the sample)
    (824412345, "handheld_vhf", 244),          # 8MIDXXXXX
])
def test_legitimate_forms_are_recognised_and_not_flagged(mmsi, form, mid):
    f, m = classify_mmsi([mmsi])
    assert (f[0], m[0]) == (form, mid)
    rule, _, _ = mmsi_rule([mmsi], Config().invalid_identity.placeholder_mmsi)
    assert rule[0] is None


@pytest.mark.parametrize("mmsi, rule", [
    (0, "placeholder_mmsi"),
    (123456789, "placeholder_mmsi"),
    (111111111, "placeholder_mmsi"),
    (999999999, "placeholder_mmsi"),
    (1, "mmsi_form"),                 # far too short
    (3638, "mmsi_form"),
    (1806011, "mmsi_form"),           # 00180xxxx: a MID cannot start with 1
    (1_000_000_000, "mmsi_form"),     # ten digits
    (150000000, "mmsi_form"),         # first digit 1 but not 111
    (960000000, "mmsi_form"),         # 96x is no form
    (973000000, "mmsi_form"),         # 973 is not SART/MOB/EPIRB
    (222222222, "unallocated_mid"),   # ship form, MID 222 not in the ITU table
    (200123456, "unallocated_mid"),   # MID 200
    (776123456, "unallocated_mid"),   # MID 776
    (999999993, "unallocated_mid"),   # AtoN form with MID 999
    (111111222, "unallocated_mid"),   # SAR aircraft with MID 111
])
def test_invalid_mmsis_name_their_rule(mmsi, rule):
    got, _, _ = mmsi_rule([mmsi], Config().invalid_identity.placeholder_mmsi)
    assert got[0] == rule


def test_placeholders_come_from_the_config():
    got, _, _ = mmsi_rule([123456789, 273436530], [273436530])
    assert got[0] == "mmsi_form" and got[1] == "placeholder_mmsi"


# ------------------------------------------------------------------------------------------------ IMO numbers


def test_imo_check_digit_against_an_independent_rule():
    # 9179842 (Angara), 9161003 (Lady R), 8660313 (Chon Ma San) from anchors-sanctions.md; 9134187 we compute
    for imo in (9179842, 9161003, 8660313, 9562233, 9187629, 9134187, 9134180):
        assert (imo_rule([imo])[0] is None) == ship_check(imo), imo
    assert ship_check(9179842) and imo_rule([9179842])[0] is None
    assert not ship_check(9134187) and imo_rule([9134187])[0] == "imo_check_digit"
    rng = random.Random(7)
    sample = [rng.randrange(1_000_000, 10_000_000) for _ in range(2000)]
    got = imo_rule(sample, reject_company=False)
    # without reject_company a number is valid when either checksum passes, so ship-valid ones are never flagged
    assert all(g is None for g, n in zip(got, sample) if ship_check(n))
    strict = imo_rule(sample, reject_company=True)
    assert all((g is None) == ship_check(n) for g, n in zip(strict, sample))


def test_imo_company_number_and_length():
    # 1790183 passes both checksums (anchors-sanctions.md 4.1): a valid ship number
    assert imo_rule([1790183])[0] is None
    company_only = next(n for n in range(1_000_000, 1_100_000)
                        if not ship_check(n) and (11 - sum(int(c) * w for c, w in zip(str(n), (8, 6, 4, 2, 9, 7))) % 11)
                        % 10 == n % 10)
    assert imo_rule([company_only], True)[0] == "imo_company_number"
    assert imo_rule([company_only], False)[0] is None
    assert list(imo_rule([925190100, 999999, 10_000_000])) == ["imo_length"] * 3


# ------------------------------------------------------------------------------------------------ invalid_identity


def test_invalid_identity_one_event_per_mmsi_and_per_bad_imo():
    st = statics([
        {"mmsi": 273436530, "imo": 9179842, "shipname": "ANGARA"},     # valid
        {"mmsi": 273436530, "imo": 9179842, "shipname": "ANGARA"},
        {"mmsi": 222222222, "imo": 9134187, "shipname": "FAKE"},       # bad MID and bad IMO
        {"mmsi": 222222222, "imo": 9134187, "shipname": "FAKE"},
        {"mmsi": 992190002, "shipname": "SABIK", "msg_type": 21},      # AtoN: fine
        {"mmsi": 2190049},                                             # coast station: fine
    ])
    pos = pa.Table.from_pylist([
        {"mmsi": 123456789, "ts": T0 + dt.timedelta(hours=1), "lat": 55.0, "lon": 12.0, "msg_type": 1,
         "source_id": 2, "line": 10, "line_last": 10},
        {"mmsi": 123456789, "ts": T0 + dt.timedelta(hours=2), "lat": 55.1, "lon": 12.1, "msg_type": 1,
         "source_id": 2, "line": 11, "line_last": 11},
        {"mmsi": 273436530, "ts": T0 + dt.timedelta(hours=2), "lat": 60.0, "lon": 20.0, "msg_type": 1,
         "source_id": 2, "line": 12, "line_last": 12},
    ], schema=POSITIONS)
    ev = invalid_identity(st, pos, Config())
    validate_events(ev)
    got = sorted((r["mmsi"], json.loads(r["details"])["rule"], json.loads(r["details"])["value"])
                 for r in ev.to_pylist())
    assert got == [(123456789, "placeholder_mmsi", "123456789"), (222222222, "imo_check_digit", "9134187"),
                   (222222222, "unallocated_mid", "222222222")]
    fake = next(r for r in ev.to_pylist() if r["mmsi"] == 123456789)
    assert (fake["lat"], fake["lon"]) == (55.0, 12.0)
    assert fake["start"] == T0 + dt.timedelta(hours=1) and fake["end"] == T0 + dt.timedelta(hours=2)
    assert [(r["line"], r["role"]) for r in fake["positions"]["refs"]] == [(10, "first"), (11, "last")]
    assert set(ev["detector_version"].to_pylist()) == {"invalid_identity/1"}
    # deterministic: a rerun (rows shuffled) gives the same ids
    again = invalid_identity(st.take(pa.array([5, 3, 1, 0, 2, 4])), pos, Config())
    assert again["event_id"].to_pylist() == ev["event_id"].to_pylist()


def test_invalid_identity_empty_and_untimed():
    assert invalid_identity(statics([]), None).num_rows == 0
    st = statics([{"mmsi": 123456789}]).set_column(1, "ts", pa.array([None], STATICS.field("ts").type))
    assert invalid_identity(st).num_rows == 0  # no time, no event


# ------------------------------------------------------------------------------------------------ identity_change


def test_normalisation():
    assert {normalise_name(n) for n in ("M/V Angara", "M.V. ANGARA", "MV  angara", "angara", " ANGARA ")} == {"ANGARA"}
    assert normalise_name("ST.NICHOLAS") == normalise_name("St. Nicholas") == "ST NICHOLAS"
    assert normalise_name("MSC ANNA") == "MSC ANNA"  # MSC is a name, not a prefix
    assert normalise_name("") is None and normalise_name(None) is None
    assert normalise_callsign("ovib 2") == normalise_callsign("OVIB2") == "OVIB2"


def test_edit_distance_matches_a_plain_implementation():
    def plain(a, b):
        prev = list(range(len(b) + 1))
        for i, ca in enumerate(a, 1):
            cur = [i]
            for j, cb in enumerate(b, 1):
                cur.append(min(prev[j - 1] + (ca != cb), prev[j] + 1, cur[j - 1] + 1))
            prev = cur
        return prev[-1]

    rng = random.Random(3)
    for _ in range(300):
        a = "".join(rng.choice("ABC ") for _ in range(rng.randrange(0, 9)))
        b = "".join(rng.choice("ABC ") for _ in range(rng.randrange(0, 9)))
        assert edit_distance(a, b) == plain(a, b), (a, b)


def _changes(ev):
    return [(r["mmsi"], r["other_mmsi"], json.loads(r["details"])) for r in ev.to_pylist()]


def test_typo_level_name_change_is_not_reported():
    st = statics([{"mmsi": 273436530, "shipname": "ANGARA"}] * 3 + [{"mmsi": 273436530, "shipname": "ANGRA"}] * 3
                 + [{"mmsi": 273436530, "shipname": "M/V Angara"}] * 2)
    assert identity_change(st).num_rows == 0


def test_real_rename_is_reported_once_confirmed():
    rows = ([{"mmsi": 273436530, "shipname": "ANGARA", "callsign": "UBCT7"}] * 3
            + [{"mmsi": 273436530, "shipname": "HAI XIANG"}]          # first message of the new name
            + [{"mmsi": 273436530, "shipname": "SPARTA IV"}]          # one corrupted message: never confirmed
            + [{"mmsi": 273436530, "shipname": "HAI XIANG", "callsign": "UBCT7"}] * 2)
    ev = identity_change(statics(rows), Config())
    validate_events(ev)
    [(mmsi, other, d)] = _changes(ev)
    assert (mmsi, other) == (273436530, None)
    assert (d["field"], d["before"], d["after"]) == ("shipname", "ANGARA", "HAI XIANG")
    r = ev.to_pylist()[0]
    assert r["start"] == r["end"] == T0 + dt.timedelta(minutes=3)  # the first message with the new name
    assert [x["line"] for x in r["positions"]["refs"]] == [3, 4, 6]  # last old row, first and confirming new rows
    assert {x["role"] for x in r["positions"]["refs"]} == {"static"}
    # with min_observations 1 the corrupted message is a change too (two more events)
    loose = identity_change(statics(rows), Config().replace(identity_change={"min_observations": 1}))
    assert [d["after"] for _, _, d in _changes(loose)] == ["HAI XIANG", "SPARTA IV", "HAI XIANG"]


def test_type24_parts_a_and_b_are_not_changes():
    rows = []
    for k in range(4):
        rows.append({"mmsi": 235054954, "shipname": "TIGER LILY VI", "msg_type": 24})             # part A
        rows.append({"mmsi": 235054954, "callsign": "2DAR7", "ship_type": 37, "msg_type": 24})  # part B
    assert identity_change(statics(rows)).num_rows == 0


def test_ship_type_category_and_callsign_changes():
    rows = ([{"mmsi": 636013004, "ship_type": 80, "callsign": "A8JX6"}] * 2
            + [{"mmsi": 636013004, "ship_type": 84, "callsign": "A8JX6"}] * 2     # same category (tanker)
            + [{"mmsi": 636013004, "ship_type": 70, "callsign": "5LAB2"}] * 2)    # cargo, new call sign
    got = sorted((d["field"], d["before"], d["after"]) for _, _, d in _changes(identity_change(statics(rows))))
    assert got == [("callsign", "A8JX6", "5LAB2"), ("ship_type", 84, 70)]
    exact = identity_change(statics(rows), Config().replace(identity_change={"ship_type_by_category": False}))
    assert [(d["before"], d["after"]) for _, _, d in _changes(exact) if d["field"] == "ship_type"] == [(80, 84), (84, 70)]


def test_imo_under_a_new_mmsi_with_a_new_mid_is_a_flag_change():
    rows = ([{"mmsi": 273436530, "imo": 9179842, "shipname": "ANGARA", "t": t} for t in (0, 10, 20)]
            + [{"mmsi": 445123000, "imo": 9179842, "shipname": "ANGARA", "t": t} for t in (60, 70)]
            + [{"mmsi": 445999000, "imo": 9134187, "t": t} for t in (80, 90)]     # invalid IMO: not followed
            + [{"mmsi": 273000001, "imo": 9134187, "t": t} for t in (80, 90)])
    ev = identity_change(statics(rows))
    validate_events(ev)
    [(mmsi, other, d)] = _changes(ev)
    assert (mmsi, other) == (445123000, 273436530)
    assert d["flag_change"] is True and (d["old_mid"], d["new_mid"]) == (273, 445)
    assert d["old_flag"] == "Russian Federation" and "Korea" in d["new_flag"]
    assert d["overlap"] is False and d["imo"] == 9179842
    r = ev.to_pylist()[0]
    assert r["start"] == r["end"] == T0 + dt.timedelta(minutes=60)
    assert [(x["mmsi"], x["line"]) for x in r["positions"]["refs"]] == [(273436530, 3), (445123000, 4), (445123000, 5)]


def test_imo_under_a_new_mmsi_same_mid_is_not_a_flag_change():
    rows = ([{"mmsi": 273436530, "imo": 9179842, "t": t} for t in (0, 10)]
            + [{"mmsi": 273111000, "imo": 9179842, "t": t} for t in (5, 30)])  # overlaps the old MMSI
    [(_, _, d)] = _changes(identity_change(statics(rows)))
    assert d["flag_change"] is False and d["overlap"] is True


def test_identity_change_empty():
    assert identity_change(statics([])).num_rows == 0


# ------------------------------------------------------------------------------------------------ real sample


@pytest.fixture(scope="module")
def sample():
    pos, st, _, _ = decode_file(SAMPLE)
    return pos, st


def test_real_sample_events_reference_real_lines_and_really_fail(sample):
    pos, st = sample
    n_lines = SAMPLE.read_bytes().count(b"\n") + 1
    inv = invalid_identity(st, pos, Config())
    chg = identity_change(st, Config())
    for ev in (inv, chg):
        validate_events(ev)
        for r in ev.to_pylist():
            assert r["positions"]["refs"]
            for ref in r["positions"]["refs"]:
                assert ref["source_id"] == 1 and 1 <= ref["line"] <= n_lines
                table = st if ref["role"] == "static" else pos
                mask = np.asarray(table["line"]) == ref["line"]
                assert ref["mmsi"] in set(np.asarray(table["mmsi"])[mask].tolist())
    allocated = set(mid_table())
    placeholders = set(Config().invalid_identity.placeholder_mmsi)
    assert inv.num_rows > 0
    for r in inv.to_pylist():
        d = json.loads(r["details"])
        if d["field"] == "imo":
            assert not ship_check(int(d["value"]))
            continue
        text = str(r["mmsi"]).zfill(9)
        assert d["value"] == text
        if r["mmsi"] in placeholders:
            continue
        # re-check independently: which 3 digits would be the MID of each recognised form
        mid = None
        if len(str(r["mmsi"])) == 9 and text[0] in "234567":
            mid = text[:3]
        elif text.startswith("111"):
            mid = text[3:6]
        elif text.startswith(("98", "99")):
            mid = text[2:5]
        elif text[0] == "8":
            mid = text[1:4]
        elif text.startswith("00") and text[2] in "234567":
            mid = text[2:5]
        elif text[0] == "0" and text[1] in "234567":
            mid = text[1:4]
        elif text[:3] in ("970", "972", "974"):
            pytest.fail(f"SART/MOB/EPIRB {text} flagged")
        assert mid is None or int(mid) not in allocated, (text, d)
    # and every MMSI not flagged is a valid one by the same reading (ship MMSIs of the sample)
    flagged = {r["mmsi"] for r in inv.to_pylist() if json.loads(r["details"])["field"] == "mmsi"}
    for m in set(np.asarray(pos["mmsi"]).tolist()) - flagged:
        t = str(m).zfill(9)
        if t[0] in "234567":
            assert int(t[:3]) in allocated, t
