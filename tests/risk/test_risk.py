"""The risk score: each indicator, diminishing returns, one-hop propagation, window, ranking, weights, docs."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pyarrow as pa
import pytest
from risk_helpers import (
    encounter,
    ev,
    gap,
    new_store,
    screening_row,
    write_events,
    write_screening,
    write_statics,
)

from watchkeeper.errors import ConfigError
from watchkeeper.risk import RISK_SCHEMA, explain, vessel_risk
from watchkeeper.risk_weights import (
    DEFAULT_WEIGHTS,
    INDICATORS,
    WEIGHTS,
    RiskWeights,
    load_risk_weights,
    markdown_table,
)

W = DEFAULT_WEIGHTS
A, B, C, D = 273354260, 445114000, 636012345, 412000001


def rows_by_mmsi(table: pa.Table) -> dict[int, dict]:
    return {r["mmsi"]: {**r, "contributions": json.loads(r["contributions"])} for r in table.to_pylist()}


def contrib(row: dict, indicator: str) -> dict | None:
    return next((c for c in row["contributions"] if c["indicator"] == indicator), None)


def expected(weight: float, value: float, scale: float) -> float:
    return weight * (1 - math.exp(-value / scale))


def combine(points: list[float]) -> float:
    return 100 * (1 - math.prod(1 - p / 100 for p in points))


# ------------------------------------------------------------------------------------------ every indicator


@pytest.fixture
def one_of_each(tmp_path):
    """One vessel per indicator, each with known evidence."""
    store = new_store(tmp_path)
    m = {name: 200000000 + 1000 * i for i, name in enumerate(INDICATORS)}
    rows = [
        ev("port_visit", m["port_of_interest_visit"], 0, 30, conf=1.0, port="Najin", details={"port_tier": 1, "duration_h": 30}),
        ev("port_visit", m["port_of_interest_visit"], 100, 110, conf=0.5, port="Vostochny",
           details={"port_tier": 3, "duration_h": 10}),
        ev("port_visit", m["port_of_interest_visit"], 200, 210, conf=1.0, port="Busan", details={"port_tier": 0}),
        ev("dark_port_call", m["dark_port_call"], 0, 40, conf=0.8, port="Najin",
           details={"gap_event_id": "x" * 32, "duration_h": 40, "port_tier": 1}),
        gap(m["ais_gap"], 0, 20, 0.9), gap(m["ais_gap"], 50, 11, 0.7), gap(m["ais_gap"], 90, 5, 0.2),
        *encounter(m["encounter"], 300000001, 0, hours=3.5, conf=0.875),
        ev("loitering", m["loitering"], 0, 6, conf=1.0, details={"duration_h": 6, "near_port": False}),
        ev("loitering", m["loitering"], 20, 22, conf=0.25, details={"duration_h": 2, "near_port": True}),
        ev("position_jump", m["position_jump"], 0, 1, conf=0.9, details={"rule": "speed"}, extra={"rule": "speed"}),
        ev("position_jump", m["position_jump"], 5, 6, conf=0.95, details={"rule": "null_island"},
           extra={"rule": "null_island"}),
        ev("mmsi_conflict", m["mmsi_conflict"], 0, 12, conf=0.9, details={"overlap_h": 12.0}),
        ev("identity_change", m["identity_change"], 5, conf=0.8,
           details={"field": "shipname", "before": "MARIA", "after": "SEA GLORY"}, extra={"field": "shipname"}),
        ev("identity_change", m["flag_hop"], 5, conf=0.9, other=273111111,
           details={"field": "mmsi", "imo": 9179842, "before": "273111111", "after": str(m["flag_hop"]),
                    "old_flag": "Russia", "new_flag": "Comoros", "flag_change": True}),
        ev("invalid_identity", m["invalid_identity"], 0, 10, conf=1.0,
           details={"rule": "imo_check_digit", "field": "imo", "value": "1234567"}),
    ]
    write_events(store, rows)
    write_screening(store, [screening_row(m["sanctions_list"], score=0.95)])
    write_statics(store, [{"mmsi": m["sanctions_list"], "shipname": "ANGARA", "imo": 9179842}])
    return store, m


def test_every_indicator_contributes_and_its_sentence_names_the_numbers(one_of_each):
    store, m = one_of_each
    res = rows_by_mmsi(vessel_risk(store))
    for name, mmsi in m.items():
        c = contrib(res[mmsi], name)
        assert c is not None and c["points"] > 0, name
        assert c["points"] <= c["weight"] + 1e-9
        assert set(c) == {"indicator", "points", "weight", "unit", "value", "sentence", "event_ids", "match_ids",
                          "source"}
        assert c["source"] and c["unit"] and c["sentence"].endswith(".")
        assert (c["match_ids"] if name == "sanctions_list" else c["event_ids"]), name
    s = {name: contrib(res[mmsi], name)["sentence"] for name, mmsi in m.items()}
    assert s["ais_gap"] == "2 likely-intentional AIS gaps totalling 31 h (scores 0.9 and 0.7)."
    assert "IMO 9179842" in s["sanctions_list"] and "ANGARA" in s["sanctions_list"] and "0.95" in s["sanctions_list"]
    assert "Najin (tier 1)" in s["port_of_interest_visit"] and "Vostochny (tier 3)" in s["port_of_interest_visit"]
    assert "Busan" not in s["port_of_interest_visit"] and "2 observed port calls" in s["port_of_interest_visit"]
    assert "Najin" in s["dark_port_call"] and "40 h" in s["dark_port_call"] and "0.8" in s["dark_port_call"]
    assert "1 encounter" in s["encounter"] and "3.5 h" in s["encounter"]
    assert "2 loitering episodes" in s["loitering"] and "1 of them near a port" in s["loitering"]
    assert "impossible speed jump" in s["position_jump"] and "0N 0E" in s["position_jump"]
    assert "12 h" in s["mmsi_conflict"]
    assert "'MARIA'" in s["identity_change"] and "'SEA GLORY'" in s["identity_change"]
    assert "Russia" in s["flag_hop"] and "Comoros" in s["flag_hop"] and "9179842" in s["flag_hop"]
    assert "1234567" in s["invalid_identity"] and "check digit" in s["invalid_identity"]
    # values follow the declared weights
    gp = contrib(res[m["ais_gap"]], "ais_gap")
    assert gp["value"] == pytest.approx(0.9 + 0.7)  # the 0.2 gap is below ais_gap_min_likely
    assert gp["points"] == pytest.approx(expected(W.ais_gap_points, 1.6, W.ais_gap_scale), abs=1e-3)
    pv = contrib(res[m["port_of_interest_visit"]], "port_of_interest_visit")
    assert pv["value"] == pytest.approx(1.0 + 0.5 * W.port_tier3_factor)
    pj = contrib(res[m["position_jump"]], "position_jump")
    assert pj["value"] == pytest.approx(0.9 * W.jump_speed_factor + 0.95 * W.jump_null_island_factor)
    lst = contrib(res[m["sanctions_list"]], "sanctions_list")
    assert lst["points"] == pytest.approx(W.list_match_points * 0.95, abs=1e-3)
    assert res[m["sanctions_list"]]["name"] == "ANGARA" and res[m["sanctions_list"]]["imo"] == 9179842
    fh = res[m["flag_hop"]]
    assert contrib(fh, "identity_change") is None  # a flag hop counts once, as a flag hop


def test_result_schema_score_and_explain(one_of_each):
    store, _m = one_of_each
    table = vessel_risk(store)
    assert table.schema.equals(RISK_SCHEMA)
    for r in table.to_pylist():
        cs = json.loads(r["contributions"])
        assert 0 < r["score"] <= 100
        assert r["score"] == pytest.approx(combine([c["points"] for c in cs]), abs=0.01)
        assert [c["points"] for c in cs] == sorted((c["points"] for c in cs), reverse=True)
        assert explain(r) == [c["sentence"] for c in cs]
        assert r["n_events"] == len({e for c in cs for e in c["event_ids"]})
    # flag from the MID: 273 is Russia
    assert all(r["flag"] is None or isinstance(r["flag"], str) for r in table.to_pylist())


def test_flag_comes_from_the_mid(tmp_path):
    store = new_store(tmp_path)
    write_events(store, [gap(A, 0, 10, 0.9)])
    (row,) = vessel_risk(store).to_pylist()
    assert row["flag"] == "Russian Federation" or "Russia" in row["flag"]
    assert row["name"] is None and row["imo"] is None


# ------------------------------------------------------------------------------------ diminishing returns


def gap_points(tmp_path, n: int) -> float:
    store = new_store(tmp_path, f"gaps{n}")
    write_events(store, [gap(A, 30 * i, 10, 0.8) for i in range(n)])
    (row,) = rows_by_mmsi(vessel_risk(store)).values()
    store.close()
    return contrib(row, "ais_gap")["points"]


def test_more_gaps_raise_less_than_linearly_and_never_exceed_the_weight(tmp_path):
    pts = [0.0] + [gap_points(tmp_path, n) for n in (1, 2, 3, 4, 50)]
    steps = [b - a for a, b in itertools.pairwise(pts[:5])]
    assert all(s > 0 for s in steps)
    assert all(later < earlier for earlier, later in itertools.pairwise(steps))
    assert pts[4] < 4 * pts[1]
    assert pts[5] <= W.ais_gap_points
    assert pts[5] == pytest.approx(expected(W.ais_gap_points, 50 * 0.8, W.ais_gap_scale), abs=1e-3)


def test_fifty_gaps_do_not_outrank_a_list_match(tmp_path):
    store = new_store(tmp_path)
    write_events(store, [gap(B, 30 * i, 10, 1.0) for i in range(50)])
    write_screening(store, [screening_row(A)])
    ranked = vessel_risk(store).column("mmsi").to_pylist()
    assert ranked == [A, B]


# --------------------------------------------------------------------------------------- one-hop propagation


def test_risk_propagates_one_hop_only(tmp_path):
    def run(listed: bool, name: str):
        store = new_store(tmp_path, name)
        # A meets listed B; C meets A; A also has a gap of its own
        write_events(store, [*encounter(A, B, 10), *encounter(C, A, 100), gap(A, 200, 10, 0.9)])
        write_screening(store, [screening_row(B)] if listed else [])
        res = rows_by_mmsi(vessel_risk(store))
        store.close()
        return res

    listed, unlisted = run(True, "listed"), run(False, "unlisted")
    a_partner = contrib(listed[A], "encounter_partner")
    assert a_partner is not None and a_partner["points"] > 0 and str(B) in a_partner["sentence"]
    b_base = W.list_match_points * 0.95
    assert a_partner["value"] == pytest.approx(b_base / 100, abs=1e-3)
    # C's partner term comes from A's base (its gap) only, never from B through A
    c_l, c_u = contrib(listed[C], "encounter_partner"), contrib(unlisted[C], "encounter_partner")
    assert c_l is not None and c_l["value"] == pytest.approx(c_u["value"])
    a_gap = expected(W.ais_gap_points, 0.9, W.ais_gap_scale)
    assert c_l["value"] == pytest.approx(a_gap / 100, abs=1e-3)
    # B gets a partner term from A's base without A's encounters and partner term (A's gap only)
    assert contrib(listed[B], "encounter_partner")["value"] == pytest.approx(a_gap / 100, abs=1e-3)


def test_partner_without_risk_of_its_own_gives_no_partner_term(tmp_path):
    store = new_store(tmp_path)
    write_events(store, [*encounter(A, B, 10)])
    res = rows_by_mmsi(vessel_risk(store))
    assert set(res) == {A, B}
    assert all(contrib(r, "encounter_partner") is None for r in res.values())
    assert contrib(res[A], "encounter")["points"] == pytest.approx(
        expected(W.encounter_points, 1.0, W.encounter_scale), abs=1e-3)


# --------------------------------------------------------------------------------------- double counting


def test_gap_with_a_dark_port_call_counts_once_and_loitering_in_an_encounter_too(tmp_path):
    store = new_store(tmp_path)
    from risk_helpers import at

    from watchkeeper.detect.events import event_id

    gid = event_id("ais_gap", A, None, at(0), at(30))
    write_events(store, [gap(A, 0, 30, 0.9), gap(A, 100, 10, 0.8),
                         ev("dark_port_call", A, 0, 30, conf=0.7, port="Najin", details={"gap_event_id": gid},
                            extra={"gap": gid}),
                         ev("loitering", B, 10, 14, conf=1.0, details={"duration_h": 4}),
                         *encounter(B, C, 11, hours=2)])
    res = rows_by_mmsi(vessel_risk(store))
    g = contrib(res[A], "ais_gap")
    assert g["event_ids"] and gid not in g["event_ids"] and g["value"] == pytest.approx(0.8)
    assert contrib(res[A], "dark_port_call")["value"] == pytest.approx(0.7)
    assert contrib(res[B], "loitering") is None and contrib(res[B], "encounter") is not None


# ------------------------------------------------------------------------------------------ window, ranking


def test_window_filters_events_by_overlap(tmp_path):
    store = new_store(tmp_path)
    write_events(store, [gap(A, 0, 10, 0.9), gap(B, 100, 10, 0.9), gap(C, 5, 100, 0.9)])
    from risk_helpers import at

    def mmsis(**kw):
        return sorted(vessel_risk(store, **kw).column("mmsi").to_pylist())

    assert mmsis() == sorted([A, B, C])
    assert mmsis(until=at(50)) == sorted([A, C])
    assert mmsis(since=at(50)) == sorted([B, C])  # C's gap overlaps both sides
    assert mmsis(since=at(20), until=at(90)) == [C]
    assert mmsis(since=at(10).isoformat().replace("+00:00", "Z")) == sorted([A, B, C])  # end == since overlaps
    assert mmsis(since="2030-01-01") == []
    with pytest.raises(ConfigError, match="since"):
        vessel_risk(store, since="yesterday")
    with pytest.raises(ConfigError, match="after until"):
        vessel_risk(store, since=at(10), until=at(5))


def test_window_filters_screening_matches_by_when_the_identity_was_seen(tmp_path):
    from risk_helpers import at

    store = new_store(tmp_path)
    write_screening(store, [screening_row(A, first_h=0, last_h=10)])
    assert vessel_risk(store, since=at(5)).num_rows == 1
    assert vessel_risk(store, since=at(11)).num_rows == 0


def test_ranking_is_by_score_then_mmsi_and_deterministic(tmp_path):
    store = new_store(tmp_path)
    write_events(store, [gap(D, 0, 10, 0.9), gap(C, 0, 10, 0.9), gap(B, 0, 10, 0.5), *encounter(A, B, 50)])
    write_screening(store, [screening_row(A, kind="name", score=0.6)])
    first, again = vessel_risk(store), vessel_risk(store)
    assert first.equals(again)
    rows = first.to_pylist()
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    keys = [(-r["score"], r["mmsi"]) for r in rows]
    assert keys == sorted(keys)
    lo_row, hi_row = (next(r for r in rows if r["mmsi"] == m) for m in (min(C, D), max(C, D)))
    assert lo_row["score"] == hi_row["score"] and lo_row["rank"] == hi_row["rank"] - 1  # tie broken by mmsi


def test_a_list_match_outranks_a_handful_of_weak_events(tmp_path):
    store = new_store(tmp_path)
    weak = [gap(B, 0, 4, 0.6), gap(B, 20, 3, 0.55), gap(B, 40, 5, 0.7),
            ev("port_visit", B, 60, 70, conf=0.5, port="Vostochny", details={"port_tier": 3}),
            ev("loitering", B, 80, 83, conf=0.25, details={"near_port": True}),
            ev("identity_change", B, 90, conf=0.6, details={"field": "ship_type", "before": "70", "after": "79"})]
    write_events(store, weak)
    write_screening(store, [screening_row(A, score=0.95)])
    res = rows_by_mmsi(vessel_risk(store))
    assert len(res[B]["contributions"]) == 4
    assert res[A]["score"] > res[B]["score"]
    assert res[A]["rank"] == 1
    # derived: the listed vessel's score is its list points alone
    assert res[A]["score"] == pytest.approx(W.list_match_points * 0.95, abs=1e-3)


def test_identity_fraud_is_strong_and_name_only_matches_weak(tmp_path):
    store = new_store(tmp_path)
    write_screening(store, [screening_row(A, kind="possible_identity_theft", score=0.9),
                            screening_row(B, kind="imo", score=0.95),
                            screening_row(C, kind="name", score=0.6, imo=None)])
    res = rows_by_mmsi(vessel_risk(store))
    pts = {m: contrib(res[m], "sanctions_list")["points"] for m in (A, B, C)}
    assert pts[A] == pytest.approx(W.identity_fraud_points * 0.9, abs=1e-3)
    assert pts[C] == pytest.approx(W.list_match_points * W.weak_match_factor * 0.6, abs=1e-3)
    assert pts[A] > pts[B] > pts[C]
    assert "identity theft" in contrib(res[A], "sanctions_list")["sentence"]
    assert "lead, not a finding" in contrib(res[C], "sanctions_list")["sentence"]


def test_several_list_matches_give_one_contribution_citing_all_match_ids(tmp_path):
    store = new_store(tmp_path)
    write_screening(store, [screening_row(A, list_source="ofac_sdn"), screening_row(A, list_source="canada_sema")])
    (row,) = rows_by_mmsi(vessel_risk(store)).values()
    c = contrib(row, "sanctions_list")
    assert len(c["match_ids"]) == 2 and "canada_sema and ofac_sdn" in c["sentence"]


def test_empty_store_gives_an_empty_table(tmp_path):
    store = new_store(tmp_path)
    table = vessel_risk(store)
    assert table.num_rows == 0 and table.schema.equals(RISK_SCHEMA)
    write_events(store, [])
    assert vessel_risk(store).num_rows == 0


# ------------------------------------------------------------------------------------------------- weights


def test_weight_overrides_change_points(tmp_path):
    store = new_store(tmp_path)
    write_events(store, [gap(A, 0, 10, 0.9)])
    base = contrib(rows_by_mmsi(vessel_risk(store))[A], "ais_gap")["points"]
    doubled = contrib(rows_by_mmsi(vessel_risk(store, weights={"ais_gap_points": 2 * W.ais_gap_points}))[A],
                      "ais_gap")["points"]
    assert doubled == pytest.approx(2 * base, abs=1e-3)
    assert vessel_risk(store, weights=W.replace(ais_gap_min_likely=0.95)).num_rows == 0


def test_toml_risk_table(tmp_path):
    p = tmp_path / "wk.toml"
    p.write_text("[encounter]\nmax_distance_m = 300.0\n\n[risk]\nais_gap_points = 10\nlist_match_points = 50.5\n")
    w = load_risk_weights(p)
    assert w.ais_gap_points == 10.0 and isinstance(w.ais_gap_points, float) and w.list_match_points == 50.5
    assert w.overrides() == {"ais_gap_points": 10.0, "list_match_points": 50.5}
    assert load_risk_weights(None) == DEFAULT_WEIGHTS
    (tmp_path / "none.toml").write_text("[encounter]\nmax_distance_m = 300.0\n")
    assert load_risk_weights(tmp_path / "none.toml") == DEFAULT_WEIGHTS
    for text, msg in (("[risk]\nais_gap_pts = 1\n", "ais_gap_pts"), ('[risk]\nais_gap_points = "5"\n', "number"),
                      ("[risk]\nais_gap_points = 500\n", "out of range"), ("risk = 3\n", "table"),
                      ("[risk\n", "TOML")):
        p.write_text(text)
        with pytest.raises(ConfigError, match=msg) as e:
            load_risk_weights(p)
        assert str(p) in str(e.value)
    with pytest.raises(ConfigError, match="risk.ais_gap_pts"):
        RiskWeights({"ais_gap_pts": 1})


def test_every_weight_is_documented():
    for name, w in WEIGHTS.items():
        assert w.unit and w.rationale.endswith(".") and w.source, name
    for ind in INDICATORS.values():
        assert ind.weights[0].name.endswith("_points") and ind.weights[0].unit == "points"
    doc = (Path(__file__).resolve().parents[2] / "docs" / "risk.md").read_text(encoding="utf-8")
    assert markdown_table() in doc, "docs/risk.md is stale: run python -m watchkeeper.risk_weights"
    for ind in INDICATORS:
        assert f"`{ind}`" in doc
