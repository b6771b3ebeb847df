"""Screening with known truth: synthetic AIS identities built from listed vessels read out of the CSV itself."""

from __future__ import annotations

import gzip
import re

import pytest
from sanctions_helpers import CANADA, SDN_CSV, add_statics, sdn_rows

from watchkeeper.sanctions.identifiers import imo_check_ok
from watchkeeper.sanctions.screen import (
    SCREENING_SCHEMA,
    screen_identities,
    screen_store,
)
from watchkeeper.sanctions.store import list_files, load_files
from watchkeeper.store import Store

FRAUD_UN = """<?xml version='1.0' encoding='UTF-8'?><CONSOLIDATED_LIST><INDIVIDUALS/><ENTITIES><ENTITY>
  <DATAID>1</DATAID><FIRST_NAME>WISE HONEST</FIRST_NAME><UN_LIST_TYPE>DPRK</UN_LIST_TYPE>
  <REFERENCE_NUMBER>KPe.999</REFERENCE_NUMBER><LISTED_ON>2018-03-30</LISTED_ON>
  <COMMENTS1>Vessel. IMO number: 8905490. The vessel falsely used MMSI 445123000 in 2018.</COMMENTS1>
  </ENTITY></ENTITIES></CONSOLIDATED_LIST>"""


def _vessels():
    out = []
    for r in sdn_rows():
        if r[2] != "vessel":
            continue
        imo = [x for x in re.findall(r"IMO (\d{7})", r[11]) if imo_check_ok(x)]
        mmsi = re.findall(r"MMSI (\d{9})", r[11])
        out.append({"id": f"ofac-{r[0]}", "name": r[1], "program": r[3], "imo": imo, "mmsi": mmsi,
                    "callsign": None if r[5].strip() == "-0-" else r[5].strip()})
    return out


@pytest.fixture(scope="module")
def truth():
    vs = _vessels()
    with_both = next(v for v in vs if v["imo"] and v["mmsi"])
    mmsi_only = next(v for v in vs if v["mmsi"] and v is not with_both)
    cs = next(v for v in vs if v["callsign"] and not v["mmsi"] and len(v["callsign"]) >= 4)
    pos_only = next(v for v in vs if v["mmsi"] and v not in (with_both, mmsi_only))
    return {"angara": next(v for v in vs if v["name"] == "ANGARA"),
            "lady_r": next(v for v in vs if v["name"] == "LADY R"), "theft": with_both, "mmsi": mmsi_only,
            "callsign": cs, "pos_only": pos_only}


@pytest.fixture(scope="module")
def store(tmp_path_factory, truth):
    root = tmp_path_factory.mktemp("screen") / "db"
    st = Store.open(root, create=True)
    un = root.parent / "un_fraud.xml"
    un.write_text(FRAUD_UN)
    load_files(st, [SDN_CSV, CANADA, un])
    t = truth
    add_statics(st, [
        {"mmsi": 273000001, "imo": int(t["angara"]["imo"][0]), "shipname": "ANGARA", "ship_type": 70},
        {"mmsi": 636000002, "imo": int(t["theft"]["imo"][0]), "shipname": "OCEAN PRIDE", "ship_type": 80},
        {"mmsi": int(t["mmsi"]["mmsi"][0])},
        {"mmsi": 538000004, "callsign": t["callsign"]["callsign"]},
        {"mmsi": 538000005, "shipname": "M/V LADY-R"},
        {"mmsi": 538000006, "shipname": "LADY MARY", "imo": 9074729},
        {"mmsi": 445123000, "shipname": "NORTH WIND 9"},
    ], positions_only=[int(t["pos_only"]["mmsi"][0])])
    yield st
    st.close()


@pytest.fixture(scope="module")
def result(store):
    return screen_store(store)


def _for(result, mmsi):
    return [r for r in result.to_pylist() if r["mmsi"] == mmsi]


def test_exact_imo_matches_every_list_that_has_it(result, truth):
    rows = _for(result, 273000001)
    assert {r["list_source"] for r in rows} == {"ofac_sdn", "canada_sema"}
    ofac = next(r for r in rows if r["list_source"] == "ofac_sdn")
    assert ofac["entity_id"] == truth["angara"]["id"] and ofac["match_kind"] == "imo"
    assert ofac["programs"] == [truth["angara"]["program"]] and ofac["conflicts"] == []
    assert ofac["score"] >= 0.95 and "IMO" in ofac["explanation"]
    ca = next(r for r in rows if r["list_source"] == "canada_sema")
    assert ca["listing_date"] and ca["authority"].startswith("Global Affairs Canada")


def test_listed_imo_with_other_name_and_mmsi_is_possible_identity_theft(result, truth):
    rows = _for(result, 636000002)
    assert [r["match_kind"] for r in rows] == ["possible_identity_theft"]
    r = rows[0]
    assert r["entity_id"] == truth["theft"]["id"]
    assert set(r["conflicts"]) >= {"name", "mmsi"} and r["listed_mmsi"] == truth["theft"]["mmsi"]
    assert "IDENTITY THEFT" in r["explanation"]


def test_mmsi_only(result, truth):
    rows = _for(result, int(truth["mmsi"]["mmsi"][0]))
    assert [(r["entity_id"], r["match_kind"]) for r in rows] == [(truth["mmsi"]["id"], "mmsi")]


def test_mmsi_seen_only_in_positions_is_screened(result, truth):
    rows = _for(result, int(truth["pos_only"]["mmsi"][0]))
    assert [(r["entity_id"], r["match_kind"]) for r in rows] == [(truth["pos_only"]["id"], "mmsi")]


def test_callsign_only(result, truth):
    rows = _for(result, 538000004)
    assert truth["callsign"]["id"] in {r["entity_id"] for r in rows}
    assert all(r["match_kind"] == "callsign" for r in rows)


def test_fuzzy_name_matches_normalised_name(result, truth):
    rows = _for(result, 538000005)
    hit = next(r for r in rows if r["entity_id"] == truth["lady_r"]["id"])
    assert hit["match_kind"] == "name" and hit["name_similarity"] >= 0.85
    assert 0 < hit["score"] < 0.95  # a name alone is weaker than an identifier


def test_shared_token_is_not_a_match(result):
    assert _for(result, 538000006) == []


def test_broadcasting_a_fraudulent_identifier(result):
    rows = _for(result, 445123000)
    assert [r["match_kind"] for r in rows] == ["fraudulent_identifier"]
    assert "mmsi_fraudulent" in rows[0]["features"] and rows[0]["list_source"] == "un"


def test_result_is_deterministic_and_written(store, result):
    again = screen_store(store)
    assert again.equals(result)
    assert result.schema.equals(SCREENING_SCHEMA)
    stored = store.con.sql("SELECT * FROM screening").to_arrow_table()
    assert stored.column("match_id").to_pylist() == result.column("match_id").to_pylist()
    scores = result.column("score").to_pylist()
    assert scores == sorted(scores, reverse=True)
    assert len(set(result.column("match_id").to_pylist())) == result.num_rows


def test_min_score_filters(store, result):
    from watchkeeper.sanctions.screen import store_identities

    strong = screen_identities(store, store_identities(store), min_score=0.9)
    assert strong.num_rows < result.num_rows
    assert min(strong.column("score").to_pylist()) >= 0.9


def test_reload_is_idempotent_and_new_snapshot_replaces(tmp_path):
    st = Store.open(tmp_path / "db", create=True)
    first = load_files(st, [CANADA])
    n = st.con.execute("SELECT count(*) FROM sanctions_entities").fetchall()[0][0]
    assert first[0]["status"] == "loaded" and n == first[0]["entities"] - _dupes(st)
    again = load_files(st, [CANADA])
    assert again[0]["status"] == "already loaded"
    assert st.con.execute("SELECT count(*) FROM sanctions_entities").fetchall()[0][0] == n
    # a new snapshot: the same list with its ship records removed
    text = gzip.decompress(CANADA.read_bytes()).decode()
    newer = re.sub(r"<record>(?:(?!</record>).)*<ShipIMONumber>.*?</record>", "", text, flags=re.DOTALL)
    p = tmp_path / "sema-newer.xml"
    p.write_text(newer)
    res = load_files(st, [p])
    assert res[0]["status"] == "replaced" and res[0]["vessels"] == 0
    assert st.con.execute("SELECT count(*) FROM sanctions_entities WHERE schema = 'Vessel'").fetchall()[0][0] == 0
    assert st.con.execute("SELECT count(*) FROM sanctions_identifiers WHERE kind = 'imo'").fetchall()[0][0] == 0
    files = list_files(st).to_pylist()
    assert [f["current"] for f in files] == [False, True]
    st.close()


def _dupes(st):
    return 0
