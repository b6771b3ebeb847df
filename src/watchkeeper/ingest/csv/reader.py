"""The public reader: :func:`read_csv` streams one CSV file as batches."""

from __future__ import annotations

import gzip
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import BinaryIO

from watchkeeper import schema
from watchkeeper.errors import ConfigError, InputError
from watchkeeper.ingest.batch import Batch
from watchkeeper.ingest.csv.formats import _header_names, _Plan, _plan
from watchkeeper.ingest.csv.lines import _Layout, _open, _parsed_chunks
from watchkeeper.ingest.csv.rows import _Context, _decode_chunk

# --------------------------------------------------------------------------------------------- public reader


def _empty_batch() -> Batch:
    return Batch(positions=schema.POSITIONS.empty_table(), statics=schema.STATICS.empty_table(),
                 quarantine=schema.QUARANTINE.empty_table(),
                 counts=Counter(lines_in=0, decoded=0, rejected=0, skipped=0, messages=0, positions=0,
                                statics=0))


def read_csv(path: str, source_id: int, *, fmt: str, mapping: dict[str, str] | None = None,
             ts_format: str | None = None, chunk_rows: int = 500_000) -> Iterator[Batch]:
    """Stream a decoded-AIS CSV file as batches of canonical rows.

    Parameters
    ----------
    path : str
        The CSV file; gzip-compressed files (``.gz``, recognised by their magic bytes) are read through gzip.
    source_id : int
        The ledger id of the file, written to every row.
    fmt : str
        ``'csv-canonical'``, ``'csv-dma'``, ``'csv-noaa'`` (as :func:`sniff_csv` names them) or
        ``'csv-mapped'``.
    mapping : dict of str to str, optional
        Only with ``'csv-mapped'`` (then required): canonical field name -> source column name, e.g. from
        :func:`parse_mapping`. Must bind ``mmsi``, ``ts`` and ``lat``/``lon`` or at least one static field.
    ts_format : str, optional
        Only with ``'csv-mapped'``: a strptime format of the time column (UTC unless it has ``%z``); without
        it each time is epoch seconds or ISO 8601.
    chunk_rows : int, optional
        Lines per batch (default 500,000).

    Yields
    ------
    Batch
        One per ``chunk_rows`` lines; the first also counts the header line (``lines_in`` and ``skipped``).
        Over the file ``lines_in == decoded + rejected + skipped``.

    Raises
    ------
    InputError
        When the file is missing, empty, an unreadable gzip stream, or lacks a column the format needs (the
        message lists the columns found and an example ``--columns`` mapping).
    ConfigError
        On an unknown ``fmt``, a bad ``mapping``, or ``mapping``/``ts_format`` with a fixed format.
    """
    if chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be at least 1, not {chunk_rows}")
    raw, f = _open(path)
    with raw, f:
        try:
            yield from _read_open(f, path, source_id, fmt, mapping, ts_format, chunk_rows)
        except (EOFError, gzip.BadGzipFile, zlib.error) as e:
            raise InputError(f"corrupt or truncated gzip stream ({e})", where=path,
                             fix="re-download or re-compress the file") from None


_NUMERIC_FIELDS = frozenset({"mmsi", "lat", "lon", "sog_kn", "cog_deg", "heading_deg", "nav_status", "rot",
                            "msg_type", "ship_type", "to_bow_m", "to_stern_m", "to_port_m", "to_starboard_m",
                            "length_m", "beam_m", "draught_m"})


def _layout(plan: _Plan) -> _Layout:
    """Columns to read for ``plan``; those bound only to numeric fields are parsed as numbers."""
    numeric_fields = _NUMERIC_FIELDS - ({"nav_status", "ship_type"} if plan.fmt == "csv-dma" else set())
    kinds: dict[int, set[bool]] = {}
    for name, col in plan.columns.items():
        kinds.setdefault(col, set()).add(name in numeric_fields)
    numeric = frozenset(c for c, k in kinds.items() if k == {True})
    return _Layout(len(plan.header), tuple(sorted({0, *plan.columns.values()})), numeric, plan.null_values)


def _read_open(f: BinaryIO, path: str, source_id: int, fmt: str, mapping: dict[str, str] | None,
               ts_format: str | None, chunk_rows: int) -> Iterator[Batch]:
    header_line = f.readline()
    if not header_line:
        raise InputError("empty file: no header line", where=path, fix="check that the export completed")
    header = _header_names(header_line.rstrip(b"\r\n"))
    plan = _plan(path, header, fmt, mapping, ts_format)
    ctx = _Context(path, source_id, plan, _layout(plan))
    first_line = 2
    pending_header = True
    for chunk, parsed in _parsed_chunks(f, chunk_rows, ctx.layout):
        batch = _decode_chunk(ctx, chunk, parsed, first_line)
        first_line += batch.counts["lines_in"]
        if pending_header:
            batch.counts.update(lines_in=1, skipped=1)
            pending_header = False
        yield batch
    if pending_header:
        batch = _empty_batch()
        batch.counts.update(lines_in=1, skipped=1)
        yield batch
