"""Shared helpers of the risk tests: hand-made events, statics and screening rows written into a temp store."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from watchkeeper import schema
from watchkeeper.detect.events import make_events
from watchkeeper.sanctions.screen import SCREENING_SCHEMA
from watchkeeper.store import Store

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
SHA = "0" * 64


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def ev(type: str, mmsi: int, start_h: float, end_h: float | None = None, *, conf: float = 1.0,
       details: dict | None = None, other: int | None = None, port: str | None = None, extra: dict | None = None
       ) -> dict:
    """One event row for make_events; times in hours after T0."""
    row = {"type": type, "mmsi": mmsi, "other_mmsi": other, "start": at(start_h),
           "end": at(start_h if end_h is None else end_h), "confidence": conf, "details": details or {},
           "id_extra": extra}
    if port:
        row.update(port_name=port, port_lat=42.2, port_lon=130.3)
    return row


def gap(mmsi: int, start_h: float, hours: float, li: float, **kw) -> dict:
    return ev("ais_gap", mmsi, start_h, start_h + hours, conf=li,
              details={"duration_h": hours, "likely_intentional": li, "open": False}, **kw)


def encounter(a: int, b: int, start_h: float, hours: float = 4.0, conf: float = 1.0) -> list[dict]:
    """The two mirrored rows of an encounter."""
    d = {"duration_h": hours}
    return [ev("encounter", a, start_h, start_h + hours, conf=conf, details=d, other=b),
            ev("encounter", b, start_h, start_h + hours, conf=conf, details=d, other=a)]


def new_store(tmp_path, name: str = "store") -> Store:
    return Store.open(tmp_path / name, create=True)


def write_events(store: Store, rows: list[dict]) -> pa.Table:
    table = make_events(rows, config_sha256=SHA, detector_version="test/1")
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    store.replace_events(table, {"started_at": now, "finished_at": now, "config_sha256": SHA,
                                 "software_version": "test", "positions": 0, "events": table.num_rows,
                                 "counts": "{}"})
    return table


def write_statics(store: Store, rows: list[dict]) -> None:
    """Statics rows (mmsi, shipname, imo, ts ...); other fields null."""
    full = []
    for i, r in enumerate(rows):
        row = dict.fromkeys(schema.STATICS.names)
        row.update(msg_type=5, source_id=1, line=i + 1, line_last=i + 1, ts=at(i / 60))
        row.update(r)
        full.append(row)
    sid = store.begin_source(f"{len(rows):064d}", 1, "synthetic", "test")
    w = store.writer(sid)
    w.write("statics", pa.Table.from_pylist(full, schema=schema.STATICS))
    w.publish()
    store.complete_source(sid, {"decoded": len(full)})


def screening_row(mmsi: int, *, kind: str = "imo", score: float = 0.95, imo: int | None = 9179842,
                  caption: str = "ANGARA", list_source: str = "ofac_sdn", match_id: str | None = None,
                  first_h: float = 0.0, last_h: float = 1000.0) -> dict:
    row = dict.fromkeys(SCREENING_SCHEMA.names)
    row.update(match_id=match_id or f"{mmsi:09d}{list_source[:7]:>7}", mmsi=mmsi, imo=imo, shipname=caption,
               first_seen=at(first_h), last_seen=at(last_h), n_reports=10, entity_id=f"{list_source}-{caption}",
               entity_schema="Vessel", entity_caption=caption, list_source=list_source, match_kind=kind,
               score=score, features=[kind], conflicts=[], listed_imo=[], listed_mmsi=[], listed_callsign=[],
               listed_names=[caption], programs=[], explanation="test")
    return row


def write_screening(store: Store, rows: list[dict]) -> None:
    tbl = pa.Table.from_pylist(rows, schema=SCREENING_SCHEMA)  # noqa: F841 - read by DuckDB
    store.con.execute("DROP TABLE IF EXISTS screening")
    store.con.execute("CREATE TABLE screening AS SELECT * FROM tbl")
