"""`watchkeeper risk`: the ranked table and JSON Lines."""

from __future__ import annotations

import json

from risk_helpers import (
    encounter,
    gap,
    new_store,
    screening_row,
    write_events,
    write_screening,
    write_statics,
)

from watchkeeper.cli import cli

A, B, C = 273354260, 445114000, 636012345


def make_db(tmp_path):
    store = new_store(tmp_path)
    write_events(store, [gap(C, 0, 10, 0.9), *encounter(A, B, 200)])
    write_screening(store, [screening_row(B)])
    write_statics(store, [{"mmsi": B, "shipname": "ANGARA", "imo": 9179842}])
    store.close()
    return str(tmp_path / "store")


def test_table(tmp_path, runner):
    db = make_db(tmp_path)
    res = runner.invoke(cli, ["risk", "--db", db])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    row_b = next(i for i, ln in enumerate(lines) if str(B) in ln)
    row_a = next(i for i, ln in enumerate(lines) if str(A) in ln)
    assert row_b < row_a
    assert "ANGARA" in lines[row_b] and "9179842" in lines[row_b] and "sanctions_list" in lines[row_b]


def test_json_top_and_window(tmp_path, runner):
    db = make_db(tmp_path)
    res = runner.invoke(cli, ["risk", "--db", db, "--json"])
    assert res.exit_code == 0, res.output
    objs = [json.loads(ln) for ln in res.output.splitlines()]
    assert [o["rank"] for o in objs] == [1, 2, 3] and objs[0]["mmsi"] == B
    assert set(objs[0]) == {"rank", "mmsi", "name", "imo", "flag", "score", "contributions", "n_events"}
    assert objs[0]["contributions"][0]["indicator"] == "sanctions_list"
    top = runner.invoke(cli, ["risk", "--db", db, "--json", "--top", "1"])
    assert [json.loads(ln)["mmsi"] for ln in top.output.splitlines()] == [B]
    late = runner.invoke(cli, ["risk", "--db", db, "--json", "--since", "2024-03-05T00:00:00Z"])
    assert C not in [json.loads(ln)["mmsi"] for ln in late.output.splitlines()]


def test_errors_are_readable(tmp_path, runner):
    db = make_db(tmp_path)
    res = runner.invoke(cli, ["risk", "--db", db, "--since", "soon"])
    assert res.exit_code != 0 and "error:" in res.output and "--since" in res.output
    cfg = tmp_path / "w.toml"
    cfg.write_text("[risk]\nnot_a_weight = 1\n")
    res = runner.invoke(cli, ["risk", "--db", db, "--config", str(cfg)])
    assert res.exit_code != 0 and "not_a_weight" in res.output and str(cfg) in res.output
    res = runner.invoke(cli, ["risk", "--db", str(tmp_path / "nothing")])
    assert res.exit_code != 0 and "error:" in res.output
