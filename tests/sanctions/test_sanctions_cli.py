"""``watchkeeper lists load|show``, ``screen`` and ``vessel`` through click's runner on temporary stores."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from sanctions_helpers import CANADA, SDN_CSV, add_statics

from watchkeeper.cli import cli
from watchkeeper.store import Store


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli") / "db"
    r = CliRunner().invoke(cli, ["lists", "load", str(CANADA), "--db", str(root)])
    assert r.exit_code == 0, r.output
    with Store.open(root) as st:
        add_statics(st, [{"mmsi": 273000001, "imo": 9179842, "shipname": "ANGARA", "callsign": "UBCZ3",
                          "ship_type": 70},
                         {"mmsi": 273000001, "imo": 9179842, "shipname": "ANGARA", "callsign": "UBCZ3",
                          "ship_type": 70},
                         {"mmsi": 273000001, "imo": 9179842, "shipname": "HAM 1", "ship_type": 70}])
    return root


def test_load_prints_counts_per_file(db):
    r = CliRunner().invoke(cli, ["lists", "load", str(CANADA), "--db", str(db)])
    assert r.exit_code == 0, r.output
    assert "canada_xml" in r.output and "already loaded" in r.output and "109" in r.output


def test_show(db):
    r = CliRunner().invoke(cli, ["lists", "show", "--db", str(db)])
    assert r.exit_code == 0 and "canada_sema" in r.output and CANADA.name[:20] in r.output


def test_screen_jsonl(db):
    r = CliRunner().invoke(cli, ["screen", "--db", str(db), "--format", "jsonl"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in r.output.splitlines()]
    assert {(x["mmsi"], x["match_kind"]) for x in rows} >= {(273000001, "imo")}
    assert all(x["score"] >= 0.5 for x in rows)
    r = CliRunner().invoke(cli, ["screen", "--db", str(db)])
    assert r.exit_code == 0 and "ANGARA" in r.output.upper()


def test_vessel_by_mmsi_and_imo(db):
    r = CliRunner().invoke(cli, ["vessel", "273000001", "--db", str(db)])
    assert r.exit_code == 0, r.output
    assert "HAM 1" in r.output and "Russian Federation" in r.output and "SEMA Russia" in r.output
    assert "events: none stored" in r.output
    r = CliRunner().invoke(cli, ["vessel", "9179842", "--db", str(db), "--format", "json"])
    doc = json.loads(r.output)
    assert doc["mmsis"] == [273000001] and {h["shipname"] for h in doc["history"]} == {"ANGARA", "HAM 1"}
    assert doc["matches"] and doc["events"] is None


def test_vessel_bad_query_is_a_clear_error(db):
    r = CliRunner().invoke(cli, ["vessel", "12ab", "--db", str(db)])
    assert r.exit_code == 2 and "neither an MMSI" in r.output and "fix:" in r.output


def test_screen_without_lists(tmp_path):
    with Store.open(tmp_path / "empty", create=True):
        pass
    r = CliRunner().invoke(cli, ["screen", "--db", str(tmp_path / "empty")])
    assert r.exit_code == 2 and "no sanctions lists loaded" in r.output


def test_unknown_file_is_an_input_error_and_changes_nothing(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    r = CliRunner().invoke(cli, ["lists", "load", str(bad), "--db", str(tmp_path / "db")])
    assert r.exit_code == 2 and "not a sanctions list" in r.output and "fix:" in r.output


def test_fetch_without_network_fails_cleanly(tmp_path, monkeypatch):
    from watchkeeper.sanctions import store as sstore

    monkeypatch.setitem(sstore.FETCH_URLS, "un", "http://127.0.0.1:9/consolidated.xml")
    db = tmp_path / "db"
    r = CliRunner().invoke(cli, ["lists", "load", "--fetch", "un", "--fetch-timeout-s", "2", "--db", str(db)])
    assert r.exit_code == 2 and "cannot download the un list" in r.output and "fix:" in r.output
    assert not db.exists()


def test_fetch_timeout_leaves_no_partial_file(tmp_path):
    from watchkeeper.errors import InputError
    from watchkeeper.sanctions.store import fetch

    with pytest.raises(InputError):
        fetch("ofac", tmp_path, timeout_s=0.5, url="http://10.255.255.1/sdn.csv")
    assert list(tmp_path.iterdir()) == []


def test_help_does_not_import_followthemoney():
    code = ("import sys; from watchkeeper.cli import cli; "
            "assert 'followthemoney' not in sys.modules and 'rapidfuzz' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.parametrize("cmd", [["lists"], ["lists", "load"], ["lists", "show"], ["screen"], ["vessel"]])
def test_help(cmd):
    r = CliRunner().invoke(cli, [*cmd, "--help"])
    assert r.exit_code == 0 and "Usage:" in r.output


def test_sdn_load_via_cli(tmp_path):
    r = CliRunner().invoke(cli, ["lists", "load", str(SDN_CSV), "--db", str(tmp_path / "db")])
    assert r.exit_code == 0 and "ofac_sdn_csv" in r.output
