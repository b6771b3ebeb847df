"""Shared helpers of the sanctions tests: the vendored list files, read independently of the loaders, and a
store with synthetic statics."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from pathlib import Path

import pyarrow as pa

from watchkeeper import schema
from watchkeeper.store import Store

LISTS = Path(__file__).resolve().parents[2] / "src" / "watchkeeper" / "data" / "sanctions"
SDN_CSV = LISTS / "ofac_sdn_2024-05-03.csv.gz"
UN_XML = LISTS / "un_consolidated_2025-04-19.xml.gz"
OFAC_CONS = LISTS / "ofac_consolidated_2025-03-28.xml.gz"
CANADA = LISTS / "canada_sema_2025-03-20.xml.gz"
ALL_LISTS = [SDN_CSV, UN_XML, OFAC_CONS, CANADA]


def sdn_rows() -> list[list[str]]:
    """The SDN CSV's 12-field rows, read with the csv module only."""
    text = gzip.decompress(SDN_CSV.read_bytes()).decode("latin-1")
    return [r for r in csv.reader(io.StringIO(text)) if len(r) == 12]


def add_statics(store: Store, rows: list[dict], *, positions_only: list[int] = ()) -> None:
    """Write statics rows (mmsi, imo, shipname, callsign, ship_type, ts) and position-only MMSIs to ``store``."""
    t0 = dt.datetime(2024, 4, 1, tzinfo=dt.UTC)
    full = []
    for i, r in enumerate(rows):
        row = {f: None for f in schema.STATICS.names}
        row.update(msg_type=5, source_id=1, line=i + 1, line_last=i + 1, ts=t0 + dt.timedelta(minutes=i))
        row.update(r)
        full.append(row)
    pos = []
    for i, m in enumerate(positions_only):
        row = {f: None for f in schema.POSITIONS.names}
        row.update(mmsi=m, msg_type=1, source_id=1, line=1000 + i, line_last=1000 + i, lat=1.0, lon=1.0,
                   ts=t0 + dt.timedelta(minutes=i))
        pos.append(row)
    sid = store.begin_source("0" * 63 + str(len(rows)), 1, "synthetic", "test")
    w = store.writer(sid)
    w.write("statics", pa.Table.from_pylist(full, schema=schema.STATICS))
    if pos:
        w.write("positions", pa.Table.from_pylist(pos, schema=schema.POSITIONS))
    w.publish()
    store.complete_source(sid, {"decoded": len(full) + len(pos)})
