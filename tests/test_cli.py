"""The command line: every command has --help; bad input gives what/where/fix, a non-zero exit, no traceback."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import pytest
from testdata import DATA, NMEA_SAMPLES

from watchkeeper.cli import cli

GOOD = DATA / "aisdb" / "test_data_20211101.nm4"


def wk(*args, cwd=None):
    """Run the real console entry point in a subprocess (what a user sees, tracebacks included)."""
    return subprocess.run([sys.executable, "-m", "watchkeeper.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "COLUMNS": "200"})


@pytest.mark.parametrize("cmd", [[], ["ingest"], ["stats"], ["decode"], ["demo"], ["detect"], ["events"]])
def test_help_on_every_command(runner, cmd):
    r = runner.invoke(cli, [*cmd, "--help"])
    assert r.exit_code == 0 and "Usage:" in r.output


def _assert_clear_error(r, *needles):
    assert r.returncode != 0
    assert "Traceback" not in r.stderr, r.stderr
    assert "error:" in r.stderr and "fix:" in r.stderr, r.stderr
    for n in needles:
        assert n in r.stderr, r.stderr


def _ingest_good_first(tmp_path):
    db = tmp_path / "db"
    r = wk("ingest", GOOD, "--db", db)
    assert r.returncode == 0, r.stderr
    return db


def _positions(db):
    r = wk("stats", "--db", db, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["positions"]


def test_bad_inputs_give_clear_errors_and_lose_nothing(tmp_path):
    db = _ingest_good_first(tmp_path)
    before = _positions(db)
    empty = tmp_path / "empty.nmea"
    empty.write_bytes(b"")
    binary = tmp_path / "garbage.bin"
    binary.write_bytes(bytes(range(256)) * 40)
    trunc = tmp_path / "cut.nmea.gz"
    trunc.write_bytes(gzip.compress(GOOD.read_bytes())[:-200])
    wrong_csv = tmp_path / "wrong.csv"
    wrong_csv.write_text("ship,when,where\n1,2,3\n")
    cases = [
        (tmp_path / "missing.nmea", "no such file"),
        (empty, "empty"),
        (binary, "binary"),
        (trunc, "truncated"),
        (wrong_csv, "--columns"),
    ]
    for path, needle in cases:
        r = wk("ingest", path, "--db", db)
        _assert_clear_error(r, str(path), needle)
    assert _positions(db) == before
    r = wk("stats", "--db", db, "--json")
    assert json.loads(r.stdout)["sources"] == 1


def test_one_bad_file_does_not_stop_the_others(tmp_path):
    r = wk("ingest", tmp_path / "missing.nmea", GOOD, "--db", tmp_path / "db")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "no such file" in r.stderr
    assert _positions(tmp_path / "db") > 0


def test_huge_line_and_invalid_utf8_are_quarantined(tmp_path):
    p = tmp_path / "odd.nmea"
    good = GOOD.read_bytes().splitlines()
    p.write_bytes(b"\n".join(good[:5] + [b"!AIVDM," + b"x" * (10 << 20), b"caf\xc3\x28 \xff\xfe"] + good[5:10]) + b"\n")
    db = tmp_path / "db"
    r = wk("ingest", p, "--db", db)
    assert r.returncode == 0, r.stderr
    r = wk("stats", "--db", db, "--json")
    s = json.loads(r.stdout)
    assert s["lines_in"] == 12
    assert s["quarantine_by_reason"].get("line_too_long") == 1
    assert s["quarantine_by_reason"].get("not_text") == 1
    assert s["lines_in"] == sum(s[k] for k in ("decoded", "rejected", "duplicates", "incomplete", "metadata",
                                               "skipped"))


def test_not_a_store(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "letter.txt").write_text("hello")
    _assert_clear_error(wk("ingest", GOOD, "--db", d), str(d), "not a Watchkeeper store")
    _assert_clear_error(wk("stats", "--db", tmp_path / "nothing"), "no Watchkeeper store")


def test_ingest_twice_says_already(tmp_path):
    db = _ingest_good_first(tmp_path)
    r = wk("ingest", GOOD, "--db", db)
    assert r.returncode == 0 and "already ingested" in r.stdout


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_decode_stream_filter(tmp_path, fmt):
    src = NMEA_SAMPLES[0]
    r = wk("decode", src, "--format", fmt, "--rejects", tmp_path / "rej.jsonl")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    if fmt == "jsonl":
        rows = [json.loads(x) for x in lines]
        assert all("msg_type" in x and "mmsi" in x for x in rows)
    else:
        header, rows = lines[0].split(","), lines[1:]
        assert header[:3] == ["msg_type", "mmsi", "ts"]
    rejects = (tmp_path / "rej.jsonl").read_text().splitlines()
    # accounting line on stderr: lines = decoded + ...
    assert "lines =" in r.stderr
    assert len(rows) > 0 and len(rejects) > 0


def test_decode_reads_standard_input():
    data = GOOD.read_bytes()
    r = subprocess.run([sys.executable, "-m", "watchkeeper.cli", "decode", "-", "-q"], input=data,
                       capture_output=True)
    assert r.returncode == 0
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert rows and rows[0]["ts"].startswith("2021-11-01T")


def test_decode_refuses_binary_and_csv(tmp_path):
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 10)
    _assert_clear_error(wk("decode", binary), "binary")
    _assert_clear_error(wk("decode", DATA / "noaa" / "test_data_noaa_20230101.csv"), "CSV")
