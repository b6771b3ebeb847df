"""The DuckDB catalogue of a store: format marker, provenance ledger and quarantine; opening and recovery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import duckdb
import pyarrow as pa

from watchkeeper import __version__, schema
from watchkeeper.errors import StoreError
from watchkeeper.store import parquet

CATALOGUE = "watchkeeper.duckdb"
STORE_FORMAT = 1
PARTITIONED = ["positions", "statics"]
# Tables written by detection, created on first use (stores from before detection have none).
DERIVED = ["events", "detect_runs"]


class Store:
    """A Watchkeeper store directory. Open with :meth:`open`; use as a context manager to close it.

    Opening a store finishes what a killed ingest left: every source still marked ``in_progress`` has its
    files, quarantine rows and ledger row removed, so that ingesting the file again completes it exactly once.
    """

    def __init__(self, root: Path, con: duckdb.DuckDBPyConnection):
        self.root = root
        self.con = con
        self.recovered: list[tuple[int, str]] = []

    # -- opening ----------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, create: bool = False) -> "Store":
        root = Path(path)
        cat = root / CATALOGUE
        if root.exists() and not root.is_dir():
            raise StoreError("is a file, not a store directory", where=str(root),
                             fix="give --db a directory (a new one is created on first ingest)")
        if not cat.exists():
            if not create:
                raise StoreError("no Watchkeeper store here (no watchkeeper.duckdb)", where=str(root),
                                 fix="ingest something first: `watchkeeper ingest FILE --db DIR`")
            if root.exists() and any(p.name != ".DS_Store" for p in root.iterdir()):
                raise StoreError("directory is not empty and is not a Watchkeeper store", where=str(root),
                                 fix="choose a new or empty directory for --db, so nothing of yours is mixed in")
            root.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(cat))
        except duckdb.IOException as exc:
            msg = str(exc)
            if "lock" in msg.lower():
                raise StoreError("the store is in use by another Watchkeeper process", where=str(cat),
                                 fix="wait for the other process to finish, then run this again") from None
            raise StoreError(f"cannot open the catalogue ({msg.splitlines()[0]})", where=str(cat),
                             fix="check that this is a Watchkeeper store and that you may write to it") from None
        except duckdb.Error as exc:
            raise StoreError(f"not a Watchkeeper catalogue ({str(exc).splitlines()[0]})", where=str(cat),
                             fix="point --db at a Watchkeeper store, or at a new directory") from None
        store = cls(root, con)
        store._init_or_check()
        store._recover()
        return store

    def _init_or_check(self) -> None:
        tables = {r[0] for r in self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "meta" not in tables:
            if tables:
                raise StoreError("this DuckDB file is not a Watchkeeper catalogue (no meta table)",
                                 where=str(self.root / CATALOGUE), fix="point --db at a Watchkeeper store")
            self.con.execute("BEGIN")
            self.con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
            self.con.execute("INSERT INTO meta VALUES ('format', ?), ('created_by', ?), ('created_at', ?)",
                             [str(STORE_FORMAT), f"watchkeeper {__version__}", _now().isoformat()])
            for name in ("ledger", "quarantine"):
                empty = getattr(schema, name.upper()).empty_table()  # noqa: F841 - read by DuckDB
                self.con.execute(f"CREATE TABLE {name} AS SELECT * FROM empty")
            self.con.execute("COMMIT")
            return
        rows = self.con.execute("SELECT value FROM meta WHERE key = 'format'").fetchall()
        fmt = rows[0] if rows else None
        if fmt is None or int(fmt[0]) > STORE_FORMAT:
            raise StoreError(f"store format {fmt and fmt[0]} is newer than this Watchkeeper understands",
                             where=str(self.root), fix="upgrade Watchkeeper")

    def _recover(self) -> None:
        rows = self.con.execute(
            "SELECT source_id, name FROM ledger WHERE status <> 'complete' ORDER BY source_id").fetchall()
        for source_id, name in rows:
            parquet.remove_source_files(self.root, source_id, PARTITIONED)
            self.con.execute("BEGIN")
            self.con.execute("DELETE FROM quarantine WHERE source_id = ?", [source_id])
            self.con.execute("DELETE FROM ledger WHERE source_id = ?", [source_id])
            self.con.execute("COMMIT")
            self.recovered.append((source_id, name))

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- ledger -----------------------------------------------------------------------------------
    def find_source(self, sha256: str) -> dict | None:
        cur = self.con.execute("SELECT * FROM ledger WHERE sha256 = ? AND status = 'complete'", [sha256])
        rows = cur.fetchall()
        if not rows:
            return None
        row = rows[0]
        return dict(zip([d[0] for d in cur.description], row))

    def begin_source(self, sha256: str, size_bytes: int, name: str, fmt: str) -> int:
        """Register an input as ``in_progress`` and return its new ``source_id``."""
        self.con.execute("BEGIN")
        nxt = self.con.execute("SELECT coalesce(max(source_id), 0) + 1 FROM ledger").fetchall()[0][0]
        row = {f: 0 for f in schema.LEDGER.names}
        row.update(source_id=nxt, sha256=sha256, size_bytes=size_bytes, name=name, format=fmt,
                   ingested_at=_now(), software_version=__version__, status="in_progress")
        self._insert("ledger", pa.Table.from_pylist([row], schema=schema.LEDGER))
        self.con.execute("COMMIT")
        return int(nxt)

    def complete_source(self, source_id: int, counts: Mapping[str, int]) -> None:
        sets = ", ".join(f"{k} = ?" for k in counts)
        self.con.execute(
            f"UPDATE ledger SET {sets}, status = 'complete', ingested_at = ? WHERE source_id = ?",
            [int(v) for v in counts.values()] + [_now(), source_id])

    def abort_source(self, source_id: int) -> None:
        """Remove everything of a source whose ingest failed (its files, quarantine rows, ledger row)."""
        parquet.remove_source_files(self.root, source_id, PARTITIONED)
        self.con.execute("DELETE FROM quarantine WHERE source_id = ?", [source_id])
        self.con.execute("DELETE FROM ledger WHERE source_id = ?", [source_id])

    def add_quarantine(self, table: pa.Table) -> None:
        if table.num_rows:
            self._insert("quarantine", table)

    def _insert(self, name: str, table: pa.Table) -> None:
        self.con.register("_incoming", table)
        try:
            self.con.execute(f"INSERT INTO {name} SELECT * FROM _incoming")
        finally:
            self.con.unregister("_incoming")

    def writer(self, source_id: int) -> parquet.SourceWriter:
        return parquet.SourceWriter(self.root, source_id, {"positions": schema.POSITIONS,
                                                           "statics": schema.STATICS})

    # -- reading ----------------------------------------------------------------------------------
    def parquet_glob(self, table: str) -> str:
        return str(self.root / table / "*" / "*.parquet")

    def has_rows(self, table: str) -> bool:
        return any((self.root / table).glob("*/*.parquet"))

    def relation(self, table: str) -> duckdb.DuckDBPyRelation:
        """A DuckDB relation over a partitioned table (empty, with the right columns, when there is none)."""
        if table in PARTITIONED:
            if not self.has_rows(table):
                empty = getattr(schema, table.upper()).empty_table()  # noqa: F841 - read by DuckDB
                return self.con.sql("SELECT *, NULL::VARCHAR AS day FROM empty")
            return self.con.sql(
                f"SELECT * FROM read_parquet('{self.parquet_glob(table)}', hive_partitioning = true, "
                f"hive_types = {{'day': VARCHAR}})")
        return self.con.table(table)

    # -- events ------------------------------------------------------------------------------------
    def has_table(self, name: str) -> bool:
        return bool(self.con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = ?",
                                     [name]).fetchall())

    def replace_events(self, events: pa.Table, run: Mapping[str, object]) -> int:
        """Replace all events with ``events`` and record ``run`` in ``detect_runs``, in one transaction.

        The ``events`` and ``detect_runs`` tables are created on first use, so stores written before detection
        existed keep working. ``run`` holds the fields of :data:`~watchkeeper.schema.DETECT_RUNS` except
        ``run_id``; the new ``run_id`` is returned. On any error nothing changes.
        """
        events = events.select(schema.EVENTS.names).cast(schema.EVENTS)
        self.con.execute("BEGIN")
        try:
            for name in DERIVED:
                if not self.has_table(name):
                    empty = getattr(schema, name.upper()).empty_table()  # noqa: F841 - read by DuckDB
                    self.con.execute(f"CREATE TABLE {name} AS SELECT * FROM empty")
            self.con.execute("DELETE FROM events")
            if events.num_rows:
                self._insert("events", events)
            run_id = self.con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM detect_runs").fetchall()[0][0]
            row = {**run, "run_id": run_id}
            self._insert("detect_runs", pa.Table.from_pylist([row], schema=schema.DETECT_RUNS))
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return int(run_id)

    def events_table(self, where: str = "", params: list | None = None) -> pa.Table:
        """Stored events (optionally ``WHERE`` ``where`` with ``params``), in the order of ``make_events``."""
        if not self.has_table("events"):
            raise StoreError("this store has no events yet", where=str(self.root),
                             fix=f"run `watchkeeper detect --db {self.root}` first")
        sql = "SELECT * FROM events" + (f" WHERE {where}" if where else "")
        sql += ' ORDER BY mmsi ASC NULLS LAST, start, type, event_id'
        tbl = self.con.sql(sql, params=params or None).to_arrow_table()
        return tbl.select(schema.EVENTS.names).cast(schema.EVENTS)

    def detect_runs(self) -> pa.Table:
        if not self.has_table("detect_runs"):
            return schema.DETECT_RUNS.empty_table()
        return self.con.sql("SELECT * FROM detect_runs ORDER BY run_id").to_arrow_table()

    def ledger(self) -> pa.Table:
        return self.con.sql("SELECT * FROM ledger ORDER BY source_id").to_arrow_table()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
