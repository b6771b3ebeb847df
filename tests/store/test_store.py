"""The store: accounting on every sample, idempotent re-ingest, recovery after a kill, readers, errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import duckdb
import polars as pl
import pytest
from testdata import CSV_SAMPLES, DATA, NMEA_SAMPLES

from watchkeeper import schema
from watchkeeper.errors import StoreError
from watchkeeper.ingest.pipeline import ingest_paths
from watchkeeper.store import Store

ALL_SAMPLES = NMEA_SAMPLES
EVERY_SAMPLE = [*NMEA_SAMPLES, *CSV_SAMPLES, DATA / "dma" / "dma_sample.csv"]


def _snapshot(db):
    """Everything a store holds, in a comparable form (ordering and ingest times removed)."""
    with Store.open(db) as s:
        pos = s.relation("positions").order("source_id, line, msg_type").fetchall()
        st = s.relation("statics").order("source_id, line, msg_type").fetchall()
        q = s.con.execute("SELECT source_id, line, reason, raw FROM quarantine ORDER BY ALL").fetchall()
        led = s.con.execute("SELECT * EXCLUDE (ingested_at) FROM ledger ORDER BY source_id").fetchall()
    return pos, st, q, led


@pytest.mark.parametrize("sample", EVERY_SAMPLE, ids=lambda p: p.name)
def test_accounting_invariant_and_quarantine_on_every_sample(tmp_path, sample):
    with Store.open(tmp_path / "db", create=True) as store:
        (res,) = ingest_paths(store, [str(sample)])
        assert res.status == "ingested"
        c = res.counts
        n_lines = len(sample.read_bytes().splitlines())
        assert c["lines_in"] == n_lines
        assert c["lines_in"] == sum(c[k] for k in schema.ACCOUNT_FIELDS)
        q_lines = store.con.execute("SELECT coalesce(sum(n_lines), 0) FROM quarantine").fetchall()[0][0]
        assert q_lines == c["rejected"] + c["incomplete"]
        led = store.ledger().to_pylist()[0]
        assert led["status"] == "complete" and led["lines_in"] == n_lines
        assert led["positions"] == store.relation("positions").count("*").fetchall()[0][0]
        import hashlib
        assert led["sha256"] == hashlib.sha256(sample.read_bytes()).hexdigest()
        assert led["size_bytes"] == sample.stat().st_size


@pytest.mark.parametrize("sample", EVERY_SAMPLE, ids=lambda p: p.name)
def test_reingest_is_a_no_op(tmp_path, sample):
    db = tmp_path / "db"
    with Store.open(db, create=True) as store:
        ingest_paths(store, [str(sample)])
    before = _snapshot(db)
    with Store.open(db) as store:
        (res,) = ingest_paths(store, [str(sample)])
    assert res.status == "already"
    assert _snapshot(db) == before


def test_parquet_is_readable_by_duckdb_and_polars(tmp_path):
    db = tmp_path / "db"
    with Store.open(db, create=True) as store:
        ingest_paths(store, [str(p) for p in ALL_SAMPLES])
        n = store.relation("positions").count("*").fetchall()[0][0]
    assert n > 0
    d = duckdb.sql(f"SELECT count(*), count(DISTINCT day) FROM read_parquet('{db}/positions/*/*.parquet', "
                   "hive_partitioning=true)").fetchall()[0]
    assert d[0] == n
    df = pl.scan_parquet(f"{db}/positions/**/*.parquet", hive_partitioning=True).collect()
    assert df.height == n
    assert dict(zip(df.columns, df.dtypes))["mmsi"] == pl.Int32
    days = set(df["day"].cast(pl.Utf8).to_list())
    assert "unknown" in days and "2021-11-01" in days


CRASH = textwrap.dedent("""
    import os, sys
    from watchkeeper.store import parquet, catalogue
    point = sys.argv[1]
    if point == "write":
        orig = parquet.SourceWriter.write
        calls = []
        def write(self, name, table):
            orig(self, name, table)
            calls.append(name)
            if len(calls) == 3:
                os._exit(9)  # like SIGKILL: no cleanup runs
        parquet.SourceWriter.write = write
    elif point == "publish":
        def complete(self, source_id, counts):
            os._exit(9)  # files already moved into place, ledger not yet complete
        catalogue.Store.complete_source = complete
    from watchkeeper.store import Store
    from watchkeeper.ingest.pipeline import ingest_paths
    with Store.open(sys.argv[2], create=True) as s:
        ingest_paths(s, sys.argv[3:])
""")


@pytest.mark.parametrize("point", ["write", "publish"])
def test_killed_ingest_is_completed_by_the_next_run(tmp_path, point):
    files = [str(p) for p in ALL_SAMPLES[:3]]
    clean = tmp_path / "clean"
    with Store.open(clean, create=True) as s:
        ingest_paths(s, files)
    crashed = tmp_path / "crashed"
    r = subprocess.run([sys.executable, "-c", CRASH, point, str(crashed), *files], capture_output=True)
    assert r.returncode == 9, r.stderr.decode()
    with Store.open(crashed) as s:  # opening recovers
        assert s.recovered, "the killed ingest should have been found and rolled back"
        assert s.con.execute("SELECT count(*) FROM ledger WHERE status <> 'complete'").fetchall()[0][0] == 0
        ingest_paths(s, files)
    a, b = _snapshot(clean), _snapshot(crashed)
    assert a[0] == b[0] and a[1] == b[1] and a[2] == b[2]
    assert [row[1:] for row in a[3]] == [row[1:] for row in b[3]]  # same sources, counts and hashes
    assert not list((crashed / "_staging").glob("*"))


def test_not_a_store(tmp_path):
    d = tmp_path / "notes"
    d.mkdir()
    (d / "x.txt").write_text("mine")
    with pytest.raises(StoreError, match="not empty"):
        Store.open(d, create=True)
    with pytest.raises(StoreError, match="no Watchkeeper store"):
        Store.open(tmp_path / "nowhere")
    bogus = tmp_path / "bogus"
    bogus.mkdir()
    (bogus / "watchkeeper.duckdb").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        Store.open(bogus)
    other = tmp_path / "other"
    other.mkdir()
    con = duckdb.connect(str(other / "watchkeeper.duckdb"))
    con.execute("CREATE TABLE foo (x INT)")
    con.close()
    with pytest.raises(StoreError, match="not a Watchkeeper catalogue"):
        Store.open(other)
