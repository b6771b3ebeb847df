"""Decoded-AIS CSV exports to the canonical tables: Watchkeeper's own CSV, DMA, NOAA MarineCadastre, or mapped.

A CSV export already holds decoded AIS, one row per message (canonical) or one wide row per report carrying
both position and identity columns (DMA, NOAA, user-mapped). This module recognises the format from the
header (:func:`sniff_csv`), then streams the file as :class:`~watchkeeper.ingest.batch.Batch` objects
(:func:`read_csv`), fully vectorised with Arrow compute and NumPy; Python only loops over rejected rows.

Lineage and accounting
----------------------
Every row keeps its own physical line number in the CSV (the header is line 1, the first data row line 2);
``line`` and ``line_last`` columns of a canonical CSV (which point into the file it was decoded from) are
ignored. Every line ends in exactly one bucket: the header, blank lines and ``#`` comment lines are
``skipped``; rows with the wrong number of columns, a time that cannot be parsed, or a value that is not a
number or out of its valid range are ``rejected`` and kept verbatim in the quarantine; the rest are
``decoded``. Summed over a file's batches: ``lines_in == decoded + rejected + skipped`` where ``lines_in``
counts the header too. ``docs/csv-formats.md`` documents the formats, conversions and rules in full.
"""

from __future__ import annotations

import csv as _stdcsv
import gzip
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from watchkeeper import schema
from watchkeeper.errors import ConfigError, InputError
from watchkeeper.ingest.batch import Batch, QuarantineBuilder

# --------------------------------------------------------------------------------------------- vocabulary

#: The union column order that ``watchkeeper decode --format csv`` writes.
CANONICAL_COLUMNS: tuple[str, ...] = (
    "msg_type", "mmsi", "ts", "lat", "lon", "sog_kn", "cog_deg", "heading_deg", "nav_status", "rot",
    "pos_accuracy", "imo", "callsign", "shipname", "ship_type", "to_bow_m", "to_stern_m", "to_port_m",
    "to_starboard_m", "length_m", "beam_m", "draught_m", "destination", "eta", "line", "line_last",
)
FORMATS: tuple[str, ...] = ("csv-canonical", "csv-dma", "csv-noaa", "csv-mapped")

POSITION_FIELDS = ("lat", "lon", "sog_kn", "cog_deg", "heading_deg", "nav_status", "rot", "pos_accuracy")
#: The identity tuple of a vessel: the statics fields other than the key, time and lineage.
STATIC_FIELDS = ("imo", "callsign", "shipname", "ship_type", "to_bow_m", "to_stern_m", "to_port_m",
                 "to_starboard_m", "length_m", "beam_m", "draught_m", "destination", "eta")
#: Canonical names a ``--columns`` mapping may bind (lineage and message type cannot be mapped).
MAPPABLE_FIELDS = tuple(c for c in CANONICAL_COLUMNS if c not in ("msg_type", "line", "line_last"))

POSITION_TYPES = frozenset({1, 2, 3, 4, 18, 19, 21, 27})
STATIC_TYPES = frozenset({5, 19, 21, 24})
UNSUPPORTED_TYPES = frozenset({6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 20, 22, 23, 25, 26})

#: DMA "Navigational status" text (compared lower-case, letters and digits only) -> ITU-R M.1371 code.
DMA_NAV_STATUS: dict[str, int | None] = {
    "Under way using engine": 0, "At anchor": 1, "Not under command": 2,
    "Restricted maneuverability": 3, "Restricted manoeuvrability": 3, "Restricted manoeuverability": 3,
    "Constrained by her draught": 4, "Moored": 5, "Aground": 6, "Engaged in fishing": 7,
    "Under way sailing": 8, "Reserved for future amendment [HSC]": 9, "Reserved for future amendment [WIG]": 10,
    "Power-driven vessel towing astern": 11, "Power-driven vessel pushing ahead or towing alongside": 12,
    "Reserved for future use": 13, "AIS-SART": 14, "Unknown value": None,
}
#: DMA "Ship type" text -> a representative ITU-R M.1371 ship-and-cargo type code.
DMA_SHIP_TYPE: dict[str, int | None] = {
    "WIG": 20, "Fishing": 30, "Towing": 31, "Towing long/wide": 32, "Dredging": 33, "Diving": 34,
    "Military": 35, "Sailing": 36, "Pleasure": 37, "HSC": 40, "Pilot": 50, "SAR": 51, "Tug": 52,
    "Port tender": 53, "Anti-pollution": 54, "Law enforcement": 55, "Spare 1": 56, "Spare 2": 57,
    "Medical": 58, "Not party to conflict": 59, "Passenger": 60, "Cargo": 70, "Tanker": 80, "Other": 90,
    "Reserved": None, "Undefined": None,
}

# Header keys (lower case, letters and digits only) of the two public exports: canonical field -> key(s).
_DMA_COLUMNS: dict[str, tuple[str, ...]] = {
    "ts": ("timestamp",), "mmsi": ("mmsi",), "lat": ("latitude",), "lon": ("longitude",),
    "nav_status": ("navigationalstatus",), "rot": ("rot",), "sog_kn": ("sog",), "cog_deg": ("cog",),
    "heading_deg": ("heading",), "imo": ("imo",), "callsign": ("callsign",), "shipname": ("name",),
    "ship_type": ("shiptype",), "beam_m": ("width",), "length_m": ("length",), "draught_m": ("draught",),
    "destination": ("destination",), "eta": ("eta",), "to_bow_m": ("a",), "to_stern_m": ("b",),
    "to_port_m": ("c",), "to_starboard_m": ("d",),
}
_NOAA_COLUMNS: dict[str, tuple[str, ...]] = {
    "mmsi": ("mmsi",), "ts": ("basedatetime",), "lat": ("lat", "latitude"), "lon": ("lon", "longitude"),
    "sog_kn": ("sog",), "cog_deg": ("cog",), "heading_deg": ("heading",), "shipname": ("vesselname",),
    "imo": ("imo",), "callsign": ("callsign",), "ship_type": ("vesseltype",), "nav_status": ("status",),
    "length_m": ("length",), "beam_m": ("width",), "draught_m": ("draft",),
}
_REQUIRED = {
    "csv-canonical": ("mmsi", "ts"),
    "csv-dma": ("ts", "mmsi", "lat", "lon"),
    "csv-noaa": ("mmsi", "ts", "lat", "lon"),
}

_NULL_VALUES = {"csv-dma": ("", "Unknown", "Undefined")}
_READ_BLOCK_BYTES = 8 << 20
_MAX_BUFFER_BYTES = 1 << 30
_PARSE_BLOCK_BYTES = 4 << 20
_INT_TYPES = {"mmsi": pa.int32(), "heading_deg": pa.int16(), "nav_status": pa.int8(), "msg_type": pa.int8(),
              "imo": pa.int32(), "ship_type": pa.int16(), "to_bow_m": pa.int16(), "to_stern_m": pa.int16(),
              "to_port_m": pa.int16(), "to_starboard_m": pa.int16(), "length_m": pa.int16(),
              "beam_m": pa.int16()}
_FLOAT_TYPES = {"lat": pa.float64(), "lon": pa.float64(), "sog_kn": pa.float32(), "cog_deg": pa.float32(),
                "rot": pa.float32(), "draught_m": pa.float32()}

# A number as Arrow's string -> double cast accepts it (used to find the offending cells of a failed cast).
_NUMBER_RE = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^(?i:[+-]?(?:nan|inf|infinity))$"
# The shape of an ISO 8601 time as Arrow's cast reads it: date, optional [T ]hh[:mm[:ss[.f]]], optional zone.
_ISO_RE = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}(?::\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$"
_ZONE_RE = r"[T ]\d{2}(?::\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$"
_DMA_TIME_RE = r"^(\d{2})/(\d{2})/(\d{4}) (\d{2}:\d{2}:\d{2})$"
# DMA ETA: day 00-31, month 00-12 (00 = not available), hour 00-24, minute 00-60 (24 / 60 = no time).
_DMA_ETA_RE = r"^(?:[0-2]\d|3[01])/(?:0\d|1[0-2])/\d{4} (?:[01]\d|2[0-4]):(?:[0-5]\d|60)(?::\d{2})?$"
_SIMPLE_STRPTIME = re.compile(r"^(?:[^%]|%[YmdHMSyj%])*$")


def _key(name: str) -> str:
    """Header key used to recognise DMA and NOAA columns: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


# --------------------------------------------------------------------------------------------- sniffing


def _first_line(head: bytes) -> bytes:
    """The first line of ``head``, decompressing a gzip prefix when ``head`` starts with the gzip magic."""
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head)
        except zlib.error:
            return b""
    return head.split(b"\n", 1)[0].rstrip(b"\r")


def _header_names(line: bytes) -> list[str]:
    """Column names of a header line (CSV quoting honoured, BOM and surrounding blanks removed)."""
    text = line.decode("utf-8-sig", errors="backslashreplace")
    try:
        names = next(_stdcsv.reader([text]), [])
    except _stdcsv.Error:
        return []
    return [n.strip() for n in names]


def _classify(names: list[str]) -> str | None:
    """The format a list of header names belongs to, or None."""
    if len(names) < 2:
        return None
    lower = {n.lower() for n in names}
    if lower <= set(CANONICAL_COLUMNS) | {"source_id"} and {"mmsi", "ts"} <= lower:
        return "csv-canonical"
    keys = {_key(n) for n in names}
    if {"mmsi", "basedatetime"} <= keys and keys & {"lat", "latitude"} and keys & {"lon", "longitude"}:
        return "csv-noaa"
    if {"timestamp", "typeofmobile", "mmsi", "latitude", "longitude"} <= keys:
        return "csv-dma"
    return None


def sniff_csv(head: bytes) -> str | None:
    """Recognise a CSV export from its header line.

    Parameters
    ----------
    head : bytes
        The first bytes of the file, at least its whole first line (a gzip-compressed prefix is accepted).

    Returns
    -------
    str or None
        ``'csv-canonical'`` (header columns all from :data:`CANONICAL_COLUMNS`, plus optionally
        ``source_id``, including ``mmsi`` and ``ts``), ``'csv-noaa'`` (MarineCadastre: ``MMSI``,
        ``BaseDateTime``, ``LAT``, ``LON`` in any case), ``'csv-dma'`` (``# Timestamp``, ``Type of mobile``,
        ``MMSI``, ``Latitude``, ``Longitude``) or None when the header is none of these.
    """
    return _classify(_header_names(_first_line(head)))


# --------------------------------------------------------------------------------------------- mapping option


def parse_mapping(spec: str) -> dict[str, str]:
    """Parse a ``--columns`` value such as ``'mmsi=ShipId,ts=Time,lat=Lat,lon=Lon'``.

    Parameters
    ----------
    spec : str
        Comma-separated ``canonical=source`` pairs. The source column name is taken verbatim (surrounding
        blanks removed); it cannot contain ``,``.

    Returns
    -------
    dict of str to str
        Canonical field name -> source column name.

    Raises
    ------
    ConfigError
        On an empty spec, a pair without ``=``, an empty name, a canonical name given twice, or a name that is
        not one of :data:`MAPPABLE_FIELDS` (the message lists them).
    """
    valid = ", ".join(MAPPABLE_FIELDS)
    example = "--columns mmsi=ShipId,ts=Time,lat=Lat,lon=Lon"
    mapping: dict[str, str] = {}
    pairs = [p.strip() for p in spec.split(",")] if spec and spec.strip() else []
    if not pairs:
        raise ConfigError("the column mapping is empty", where="--columns", fix=f"give pairs like {example}")
    for pair in pairs:
        name, eq, column = (s.strip() for s in pair.partition("="))
        if not eq or not name or not column:
            raise ConfigError(f"bad column mapping item {pair!r}: expected canonical=source", where="--columns",
                              fix=f"write comma-separated name=column pairs, e.g. {example}")
        if name not in MAPPABLE_FIELDS:
            raise ConfigError(f"unknown canonical field {name!r} in the column mapping", where="--columns",
                              fix=f"use one of: {valid}")
        if name in mapping:
            raise ConfigError(f"canonical field {name!r} is mapped twice", where="--columns",
                              fix="map each canonical field to one source column")
        mapping[name] = column
    return mapping


# --------------------------------------------------------------------------------------------- format plans


@dataclass
class _Plan:
    """How one file's columns become canonical fields."""

    fmt: str
    header: list[str]
    columns: dict[str, int]  # canonical field -> 0-based column index in the file
    null_values: tuple[str, ...]
    time_parser: Callable[[pa.ChunkedArray], tuple[pa.Array, np.ndarray, str]]
    empty_ts_ok: bool = False

    @property
    def wide(self) -> bool:
        """True for formats whose rows carry a position and an identity at once (DMA, NOAA, mapped)."""
        return self.fmt != "csv-canonical"


def _first_match(index: dict[str, int], wanted: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Column index of each canonical field found under the first of its header keys that the file has."""
    out: dict[str, int] = {}
    for fld, keys in wanted.items():
        for k in keys:
            if k in index:
                out[fld] = index[k]
                break
    return out


def _missing_error(path: str, fmt: str, header: list[str], missing: list[str], what: str) -> InputError:
    """The error for required or mapped columns absent from the header: what, where, and a mapping to try."""
    found = ", ".join(repr(h) for h in header) or "(none)"
    example = _example_mapping(header)
    if fmt == "csv-mapped":
        fix = f"map columns that exist, e.g. {example}"
    else:
        fix = f"check that this is a complete {fmt} export, or map its columns, e.g. {example}"
    return InputError(f"{what}: {', '.join(missing)} (columns found: {found})", where=path, fix=fix)


def _example_mapping(header: list[str]) -> str:
    """An example ``--columns`` option built from guesses at the header (placeholders where none fits)."""
    hints = {"mmsi": (("mmsi", "shipid", "userid"), ()), "ts": (("time", "date"), ("ts", "t")),
             "lat": (("lat",), ()), "lon": (("lon", "lng"), ())}
    parts = []
    for fld, (parts_of, whole) in hints.items():
        guess = next((h for h in header if any(p in _key(h) for p in parts_of) or _key(h) in whole), None)
        parts.append(f"{fld}={guess if guess and ',' not in guess else '<column>'}")
    return "--columns " + ",".join(parts)


def _plan(path: str, header: list[str], fmt: str, mapping: dict[str, str] | None,
          ts_format: str | None) -> _Plan:
    """Bind the header of ``path`` to canonical fields for ``fmt``; raise when required columns are missing."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown CSV format {fmt!r}", fix=f"use one of: {', '.join(FORMATS)}")
    if fmt != "csv-mapped" and (mapping or ts_format):
        raise ConfigError(f"a column mapping and a time format apply only to mapped CSV files, not {fmt}",
                          fix="drop --columns and --time-format for this file")
    if fmt == "csv-mapped":
        return _mapped_plan(path, header, mapping, ts_format)
    if fmt == "csv-canonical":
        index: dict[str, int] = {}
        for i, name in enumerate(header):
            index.setdefault(name.lower(), i)
        columns = {f: index[f] for f in CANONICAL_COLUMNS if f in index and f not in ("line", "line_last")}
        parser, empty_ok = _iso_times, True
    else:
        index = {}
        for i, name in enumerate(header):
            index.setdefault(_key(name), i)
        columns = _first_match(index, _DMA_COLUMNS if fmt == "csv-dma" else _NOAA_COLUMNS)
        parser, empty_ok = (_dma_times if fmt == "csv-dma" else _iso_times), False
    missing = [f for f in _REQUIRED[fmt] if f not in columns]
    if missing:
        wanted = _DMA_COLUMNS if fmt == "csv-dma" else _NOAA_COLUMNS if fmt == "csv-noaa" else {}
        names = [f if fmt == "csv-canonical" else "/".join(wanted[f]) for f in missing]
        raise _missing_error(path, fmt, header, names, f"{fmt} file lacks required column(s)")
    return _Plan(fmt, header, columns, _NULL_VALUES.get(fmt, ("",)), parser, empty_ok)


def _mapped_plan(path: str, header: list[str], mapping: dict[str, str] | None,
                 ts_format: str | None) -> _Plan:
    """Plan for a user mapping: validate it, then find each mapped column (exact name, else any case)."""
    if not mapping:
        raise ConfigError("a mapped CSV file needs a column mapping", where="--columns",
                          fix=f"give one, e.g. {_example_mapping(header)}")
    unknown = [k for k in mapping if k not in MAPPABLE_FIELDS]
    if unknown:
        raise ConfigError(f"unknown canonical field(s) in the column mapping: {', '.join(unknown)}",
                          where="--columns", fix=f"use one of: {', '.join(MAPPABLE_FIELDS)}")
    has_pos = "lat" in mapping and "lon" in mapping
    if not {"mmsi", "ts"} <= mapping.keys() or not (has_pos or set(STATIC_FIELDS) & mapping.keys()) \
            or ("lat" in mapping) != ("lon" in mapping):
        raise ConfigError("the column mapping must bind mmsi, ts, and lat and lon (positions) or at least one "
                          "static field (statics)", where="--columns",
                          fix=f"e.g. {_example_mapping(header)}")
    exact = {h: i for i, h in reversed(list(enumerate(header)))}
    folded = {h.strip().lower(): i for i, h in reversed(list(enumerate(header)))}
    columns: dict[str, int] = {}
    missing = []
    for fld, col in mapping.items():
        i = exact.get(col, folded.get(col.strip().lower()))
        if i is None:
            missing.append(f"{col!r} (for {fld})")
        else:
            columns[fld] = i
    if missing:
        raise _missing_error(path, "csv-mapped", header, missing, "mapped column(s) not in the header")
    parser = _mapped_times(ts_format)
    return _Plan("csv-mapped", header, columns, ("",), parser, False)


# --------------------------------------------------------------------------------------------- reading bytes


def _open(path: str) -> tuple[BinaryIO, BinaryIO]:
    """Open ``path``: the file and the stream to read, through gzip when it starts with the gzip magic."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except FileNotFoundError:
        raise InputError("file not found", where=path, fix="check the path") from None
    except IsADirectoryError:
        raise InputError("is a directory, not a CSV file", where=path, fix="give a file") from None
    except PermissionError:
        raise InputError("permission denied", where=path, fix="check the file's permissions") from None
    if raw.peek(2)[:2] == b"\x1f\x8b":
        return raw, gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw, raw


@dataclass
class _Chunk:
    """Whole lines of a file, as a view into one of the reader's two buffers.

    A view stays valid while the next chunk is produced, and is overwritten by the one after.
    """

    view: memoryview
    n_lines: int
    bare_cr: bool  # a CR not followed by LF: Arrow would end a row there, so lines must be split exactly


def _line_chunks(f: BinaryIO, chunk_rows: int) -> Iterator[_Chunk]:
    """Yield the rest of ``f`` in chunks of ``chunk_rows`` whole lines (the last one fewer).

    Bytes are read straight into a buffer (no joins); the partial line after a chunk moves to the other of two
    buffers, which are reused, so the chunk just yielded stays intact while the next is read. The first growth
    sizes the buffer from the line length seen so that a chunk fits.
    """
    buf, spare = bytearray(_READ_BLOCK_BYTES), bytearray(0)
    filled = lines = 0  # bytes in buf, and line breaks among them
    while True:
        if filled == len(buf):  # grow into new memory (a view of the old buffer may still be in use)
            estimate = filled // lines * chunk_rows * 9 // 8 + _READ_BLOCK_BYTES if lines else 0
            bigger = bytearray(max(2 * len(buf), min(estimate, _MAX_BUFFER_BYTES)))
            bigger[:filled] = buf
            buf = bigger
        n = f.readinto(memoryview(buf)[filled:filled + _READ_BLOCK_BYTES])  # small blocks: temporaries reuse memory
        if not n:
            break
        block = np.frombuffer(buf, np.uint8, count=n, offset=filled)
        count = int(np.count_nonzero(block == 10))
        if lines + count < chunk_rows:
            filled, lines = filled + n, lines + count
            continue
        newlines = np.flatnonzero(block == 10) + filled
        del block
        start, k = 0, chunk_rows - lines - 1  # k: index in newlines of the break that ends the next chunk
        while k < len(newlines):
            end = int(newlines[k]) + 1
            yield _Chunk(memoryview(buf)[start:end], chunk_rows, _bare_cr(buf, start, end))
            start, k = end, k + chunk_rows
        filled, lines = filled + n - start, len(newlines) - (k - chunk_rows + 1)
        if len(spare) < len(buf):
            spare = bytearray(len(buf))
        spare[:filled] = memoryview(buf)[start:start + filled]
        buf, spare = spare, buf
    if filled:
        n_lines = lines + (0 if buf[filled - 1] == 10 else 1)
        yield _Chunk(memoryview(buf)[:filled], n_lines, _bare_cr(buf, 0, filled))


def _parsed_chunks(f: BinaryIO, chunk_rows: int, layout: _Layout) -> Iterator[tuple[_Chunk, _Parsed]]:
    """Chunks with their cells; the next chunk is read and parsed in a worker thread while one is decoded.

    Arrow's parser and most of the decoding release the GIL, so on two cores the two overlap.
    """
    chunks = _line_chunks(f, chunk_rows)

    def produce() -> tuple[_Chunk, _Parsed] | None:
        chunk = next(chunks, None)
        return None if chunk is None else (chunk, _parse_chunk(chunk, layout))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="watchkeeper-csv") as pool:
        pending = pool.submit(produce)
        while (item := pending.result()) is not None:
            pending = pool.submit(produce)  # only after the previous chunk was handed back: see _Chunk
            yield item


def _bare_cr(buf: bytearray, start: int, end: int) -> bool:
    """Whether ``buf[start:end]`` holds a CR that does not end a CRLF pair."""
    if buf.find(b"\r", start, end) < 0:
        return False
    return buf.count(b"\r", start, end) != buf.count(b"\r\n", start, end)


class _Lines:
    """Lazy line index of one chunk: the raw bytes of line ``i`` (0-based), without its line break."""

    def __init__(self, chunk: memoryview | bytes):
        self.chunk = chunk
        self._starts: np.ndarray | None = None

    def raw(self, i: int) -> bytes:
        if self._starts is None:
            nl = np.flatnonzero(np.frombuffer(self.chunk, np.uint8) == 10)
            self._starts = np.concatenate(([0], nl + 1))
            self._ends = np.concatenate((nl, [len(self.chunk)]))
        line = bytes(self.chunk[self._starts[i]:self._ends[i]])
        return line[:-1] if line.endswith(b"\r") else line


# --------------------------------------------------------------------------------------------- parsing a chunk


@dataclass(frozen=True)
class _Layout:
    """Which columns of a file are read, and how."""

    n_cols: int
    used: tuple[int, ...]  # 0-based file columns read (column 0 always, for comment lines)
    numeric: frozenset[int]  # columns only bound to numeric fields: parsed as float64 when they all are
    nulls: tuple[str, ...]  # cell texts read as null


@dataclass
class _Parsed:
    """The cells of one chunk's well-formed rows and where the other lines went."""

    table: pa.Table  # one column "c<i>" per used file column (string, or float64 for numeric columns)
    line_index: np.ndarray  # 0-based line (within the chunk) of each table row
    invalid: list[tuple[int, str, int]] = field(default_factory=list)  # (line index, text, columns found)


def _arrow_parse(chunk: bytes, layout: _Layout, typed: bool, threads: bool) -> tuple[pa.Table, list]:
    """Parse with Arrow; malformed rows are skipped and collected (with line numbers when not threaded)."""
    bad: list = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad.append(row)
        return "skip"

    types = {f"c{i}": pa.float64() if typed and i in layout.numeric else pa.string() for i in layout.used}
    table = pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(chunk)),
        read_options=pacsv.ReadOptions(column_names=[f"c{i}" for i in range(layout.n_cols)],
                                       use_threads=threads, block_size=_PARSE_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types=types, include_columns=list(types), null_values=list(layout.nulls),
            strings_can_be_null=True, quoted_strings_can_be_null=True),
    )
    return table, bad


def _stdlib_parse(text_chunk: memoryview | bytes, layout: _Layout) -> _Parsed:
    """Slow exact path: one physical line = one row, parsed with the standard library (broken quoting)."""
    text_chunk = bytes(text_chunk)
    lines = text_chunk.split(b"\n")
    if text_chunk.endswith(b"\n"):
        lines.pop()
    cols: list[list[str | None]] = [[] for _ in layout.used]
    kept, invalid = [], []
    null_set = set(layout.nulls)
    for i, raw in enumerate(lines):
        text = raw.decode("utf-8").removesuffix("\r")
        try:
            cells = next(_stdcsv.reader([text], strict=True), [])
        except _stdcsv.Error:
            invalid.append((i, text, -1))
            continue
        if not cells:
            cells = [""] * layout.n_cols
        if len(cells) != layout.n_cols:
            invalid.append((i, text, len(cells)))
            continue
        kept.append(i)
        for out, j in zip(cols, layout.used):
            out.append(None if cells[j] in null_set else cells[j])
    table = pa.table({f"c{j}": pa.array(c, pa.string()) for j, c in zip(layout.used, cols)})
    return _Parsed(table, np.asarray(kept, dtype=np.int64), invalid)


def _arrow_rows(text: memoryview | bytes, layout: _Layout, n_lines: int, bare_cr: bool) -> _Parsed | None:
    """Arrow parse that provably kept one row per physical line, or None (then use the exact slow path).

    A quoted field spanning lines, or a bare CR, breaks the one-row-per-line rule; Arrow's threaded parse
    does not number malformed rows, so a chunk with any is parsed again serially.
    """
    if bare_cr:
        return None
    try:
        table, bad = _arrow_parse(text, layout, typed=True, threads=True)
        typed = True
    except pa.ArrowInvalid:  # a numeric column holds text: read it all as strings, find the cells later
        typed = False
        try:
            table, bad = _arrow_parse(text, layout, typed=False, threads=True)
        except pa.ArrowInvalid:  # e.g. a line longer than Arrow's block: the exact path handles it
            return None
    if table.num_rows + len(bad) != n_lines or any("\n" in r.text for r in bad):
        return None
    if not bad:
        return _Parsed(table, np.arange(n_lines, dtype=np.int64))
    table, bad = _arrow_parse(text, layout, typed=typed, threads=False)
    if any(r.number is None for r in bad) or table.num_rows + len(bad) != n_lines:
        return None
    return _Parsed(table, np.delete(np.arange(n_lines, dtype=np.int64), [r.number - 1 for r in bad]),
                   [(r.number - 1, r.text, r.actual_columns) for r in bad])


def _parse_chunk(chunk: _Chunk, layout: _Layout) -> _Parsed:
    """Split a chunk into cells, one row per physical line, and its malformed lines.

    Bytes that are not UTF-8 are read as ``\\xNN`` escapes (the quarantine keeps the original bytes).
    """
    text = chunk.view
    if not _is_utf8(text):
        text = bytes(text).decode("utf-8", errors="backslashreplace").encode("utf-8")
    parsed = _arrow_rows(text, layout, chunk.n_lines, chunk.bare_cr)
    return parsed if parsed is not None else _stdlib_parse(text, layout)


def _is_utf8(data: memoryview | bytes) -> bool:
    if len(data) == 0 or np.frombuffer(data, np.uint8).max() < 0x80:  # ASCII
        return True
    try:
        bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --------------------------------------------------------------------------------------------- rejections


class _Rejects:
    """First reason each row of a chunk is rejected for, with enough to write a helpful detail."""

    def __init__(self, n: int):
        self.code = np.zeros(n, dtype=np.int16)  # 0 = fine, k = self.kinds[k]
        self.kinds: list[tuple[str, str, str | None]] = [("", "", None)]  # (reason, why, field)

    def add(self, mask: np.ndarray | None, reason: str, why: str, fld: str | None = None) -> None:
        """Reject the rows of ``mask`` not already rejected, for ``reason`` (detail ``why`` about ``fld``)."""
        if mask is None or not mask.any():
            return
        self.kinds.append((reason, why, fld))
        self.code[(self.code == 0) & mask] = len(self.kinds) - 1

    def detail(self, row: int, plan: _Plan, cells: pa.Table) -> tuple[str, str]:
        """Reason name and human-readable detail of rejected table row ``row``."""
        reason, why, fld = self.kinds[self.code[row]]
        if fld is None or fld not in plan.columns:
            return reason, why
        col = plan.columns[fld]
        value = cells.column(f"c{col}")[row].as_py()
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        shown = "empty" if value is None else repr(value)
        return reason, f"{why}: column {plan.header[col]!r} is {shown}"


# --------------------------------------------------------------------------------------------- cell conversion


def _numbers(cells: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray | None]:
    """Cells as float64 (NaN for empty) and the mask of present cells that are not numbers (None if none)."""
    if pa.types.is_floating(cells.type):
        return _to_numpy(cells), None
    try:
        return _to_numpy(pc.cast(cells, pa.float64())), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    trimmed = pc.utf8_trim_whitespace(cells)
    good = pc.fill_null(pc.match_substring_regex(trimmed, _NUMBER_RE), True)
    try:
        values = _to_numpy(pc.cast(pc.if_else(good, trimmed, pa.scalar(None, pa.string())), pa.float64()))
    except pa.ArrowInvalid:  # the pattern let through a text Arrow does not read: one by one (never seen)
        values = np.array([_float_or_nan(v) for v in _single(trimmed).to_pylist()])
        return values, _to_numpy(pc.is_valid(trimmed)) & np.isnan(values)
    return values, ~_to_numpy(good)


def _float_or_nan(text: str | None) -> float:
    try:
        return float(text) if text is not None else np.nan
    except ValueError:
        return np.nan


def _to_numpy(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_boolean(arr.type):
        return np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    return arr.to_numpy(zero_copy_only=False)


def _masked(x: np.ndarray, null: np.ndarray, type_: pa.DataType) -> pa.Array:
    """Float values as an Arrow array of ``type_``, null where ``null``."""
    with np.errstate(invalid="ignore"):  # NaN and out-of-range values sit under the mask
        values = x.astype(type_.to_pandas_dtype())
    return pa.array(values, type=type_, mask=null if null.any() else None)


def _integer_field(name: str, cells, rejects: _Rejects, lo: int, hi: int, zero_null: bool) -> pa.Array:
    """An integer field: must be a whole number in ``lo..hi`` (else the row is rejected); 0 -> null if asked."""
    x, bad = _numbers(cells)
    rejects.add(bad, "bad_field_values", "not a number", name)
    return _whole_numbers(name, x, rejects, lo, hi, zero_null)


def _whole_numbers(name: str, x: np.ndarray, rejects: _Rejects, lo: int, hi: int, zero_null: bool) -> pa.Array:
    """Float values (NaN = null) to integer field ``name``; rows with fractions or out of range rejected."""
    present = ~np.isnan(x)
    with np.errstate(invalid="ignore"):
        wrong = present & ~((x == np.floor(x)) & (x >= lo) & (x <= hi))
    rejects.add(wrong, "bad_field_values", f"not a whole number in {lo}..{hi}", name)
    null = ~present | wrong | (zero_null & (x == 0))
    return _masked(x, null, _INT_TYPES[name])


def _coded_field(name: str, cells, rejects: _Rejects, valid_hi: int) -> pa.Array:
    """A code or angle whose out-of-range values mean "not available": whole numbers ``0..valid_hi`` kept."""
    x, bad = _numbers(cells)
    rejects.add(bad, "bad_field_values", "not a number", name)
    with np.errstate(invalid="ignore"):
        keep = (x == np.floor(x)) & (x >= 0) & (x <= valid_hi)
    return _masked(x, ~keep, _INT_TYPES[name])


def _float_field(name: str, cells, rejects: _Rejects) -> pa.Array:
    """A float field with the schema's "not available" and range rules applied."""
    x, bad = _numbers(cells)
    rejects.add(bad, "bad_field_values", "not a number", name)
    null = ~np.isfinite(x)
    with np.errstate(invalid="ignore"):
        if name == "lat":
            null |= x == 91
            wrong = ~null & (np.abs(x) > 90)
            rejects.add(wrong, "bad_field_values", "latitude outside -90..90", name)
            null |= wrong
        elif name == "lon":
            null |= x == 181
            wrong = ~null & (np.abs(x) > 180)
            rejects.add(wrong, "bad_field_values", "longitude outside -180..180", name)
            null |= wrong
        elif name == "sog_kn":
            null |= (x < 0) | (x > 102.25)
        elif name == "cog_deg":
            null |= (x < 0) | (x >= 360)
        elif name == "draught_m":
            wrong = ~null & (x < 0)
            rejects.add(wrong, "bad_field_values", "negative draught", name)
            null |= wrong | (x == 0)
    return _masked(x, null, _FLOAT_TYPES[name])


def _string_field(cells) -> pa.Array:
    """Text trimmed of surrounding blanks; empty -> null."""
    arr = _single(pc.utf8_trim_whitespace(cells))
    empty = pc.equal(arr, "")
    if not pc.any(empty).as_py():
        return arr
    if arr.offset == 0:  # clear the validity bits of empty strings without copying the text
        valid = pc.and_(pc.is_valid(arr), pc.invert(pc.fill_null(empty, False)))
        return pa.Array.from_buffers(arr.type, len(arr), [valid.buffers()[1], *arr.buffers()[1:]])
    return _single(pc.if_else(empty, pa.scalar(None, pa.string()), arr))


def _single(arr: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        return arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    return arr


def _bool_field(name: str, cells, rejects: _Rejects) -> pa.Array:
    """A flag written as true/false/1/0 (any case)."""
    low = pc.utf8_lower(pc.utf8_trim_whitespace(cells))
    true = pc.is_in(low, pa.array(["true", "1", "t", "yes", "y"]))
    false = pc.is_in(low, pa.array(["false", "0", "f", "no", "n"]))
    present = _to_numpy(pc.is_valid(low))
    t, f = _to_numpy(true), _to_numpy(false)
    rejects.add(present & ~t & ~f, "bad_field_values", "not a flag (true/false/1/0)", name)
    return pa.array(t, type=pa.bool_(), mask=~(t | f))


def _imo_field(cells, rejects: _Rejects) -> pa.Array:
    """IMO number, with an optional ``IMO`` prefix (NOAA writes ``IMO9307839``); 0 -> null.

    Converted once per distinct text (a file has about one per vessel), then spread back to the rows.
    """
    if not pa.types.is_string(cells.type):
        return _integer_field("imo", cells, rejects, 0, 2**31 - 1, zero_null=True)
    encoded = _single(pc.dictionary_encode(cells))
    texts = encoded.dictionary
    prefixed = pc.starts_with(texts, "IMO", ignore_case=True)
    texts = pc.if_else(prefixed, pc.utf8_slice_codeunits(texts, 3), texts)
    values, bad = _numbers(texts)
    index = _to_numpy(pc.fill_null(encoded.indices, -1)).astype(np.int64)
    x = np.append(values, np.nan)[index]  # index -1 (empty cell) -> NaN
    if bad is not None:
        rejects.add(np.append(bad, False)[index], "bad_field_values", "not a number", "imo")
    return _whole_numbers("imo", x, rejects, 0, 2**31 - 1, zero_null=True)


def _text_code(name: str, cells, table: dict[str, int | None], hi: int) -> pa.Array:
    """Map text values through ``table`` (compared by :func:`_key`); digits are taken as the code itself.

    Text not in the table, codes outside ``0..hi`` and ship type 0 become null.
    """
    encoded = _single(pc.dictionary_encode(cells))
    lookup = {_key(k): v for k, v in table.items()}
    codes = []
    for value in encoded.dictionary.to_pylist():  # the distinct texts: a handful
        k = _key(value)
        code = int(k) if k.isdigit() and int(k) <= hi else lookup.get(k)
        codes.append(None if code == 0 and name == "ship_type" else code)  # ship type 0: not available
    mapped = pa.array(codes, type=_INT_TYPES[name]).take(encoded.indices)
    return _single(mapped)


# --------------------------------------------------------------------------------------------- times


def _to_utc(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A timestamp array as ``timestamp[us, tz=UTC]``; naive values are taken as UTC."""
    return _single(pc.cast(pc.cast(arr, pa.timestamp("us", tz=arr.type.tz)), schema.TS_TYPE))


def _iso_times(cells) -> tuple[pa.Array, np.ndarray | None, str]:
    """ISO 8601 times: ``YYYY-MM-DD[T ]hh:mm:ss[.f][Z|+hh:mm]``, naive meaning UTC."""
    desc = "not an ISO 8601 time"
    targets = (schema.TS_TYPE, pa.timestamp("us"))
    at = pc.index(pc.is_valid(cells), True).as_py()
    if at >= 0 and not re.search(r"(Z|[+-]\d\d(:?\d\d)?)\s*$", cells[at].as_py()[10:]):
        targets = targets[::-1]  # naive times first: a failing cast costs as much as a good one
    for target in targets:
        try:
            return _to_utc(pc.cast(cells, target)), None, desc
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    ts, bad = _iso_times_slow(cells)
    return ts, bad, desc


def _iso_times_slow(cells) -> tuple[pa.Array, np.ndarray]:
    """ISO 8601 times of a column that does not cast as a whole, and the mask of the bad cells.

    Cells of the right shape are cast in two groups (with and without a zone); a group that still fails (a
    31 February, an hour 24) is halved until the bad cells are found, so a few bad cells cost a few casts.
    """
    trimmed = _single(pc.utf8_trim_whitespace(cells))
    shaped = pc.fill_null(pc.match_substring_regex(trimmed, _ISO_RE), False)
    zoned = pc.fill_null(pc.match_substring_regex(trimmed, _ZONE_RE), False)
    none = pa.scalar(None, pa.string())
    naive = _cast_each(_single(pc.if_else(pc.and_(shaped, pc.invert(zoned)), trimmed, none)), pa.timestamp("us"))
    aware = _cast_each(_single(pc.if_else(pc.and_(shaped, zoned), trimmed, none)), schema.TS_TYPE)
    ts = _single(pc.coalesce(pc.cast(naive, schema.TS_TYPE), aware))
    return ts, _to_numpy(pc.is_valid(trimmed)) & ~_to_numpy(pc.is_valid(ts))


def _cast_each(arr: pa.Array, target: pa.DataType) -> pa.Array:
    """Cast ``arr``, with null for each value that does not cast (found by halving the failing part)."""
    try:
        return pc.cast(arr, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    if len(arr) == 1:
        return pa.nulls(1, target)
    half = len(arr) // 2
    return pa.concat_arrays([_cast_each(arr.slice(0, half), target), _cast_each(arr.slice(half), target)])


def _dma_times(cells) -> tuple[pa.Array, np.ndarray | None, str]:
    """DMA times ``dd/mm/YYYY HH:MM:SS`` (UTC), rearranged to ISO 8601 and parsed strictly."""
    iso = pc.replace_substring_regex(pc.utf8_trim_whitespace(cells), _DMA_TIME_RE, r"\3-\2-\1T\4")
    ts, bad, _ = _iso_times(iso)
    return ts, bad, "not a time dd/mm/YYYY HH:MM:SS"


def _mapped_times(ts_format: str | None) -> Callable:
    """Time parser for a mapped file: ``ts_format`` (strptime) if given, else epoch seconds or ISO 8601."""
    if ts_format:
        return lambda cells: _strptime_times(cells, ts_format)
    return _epoch_or_iso_times


def _epoch_or_iso_times(cells) -> tuple[pa.Array, np.ndarray | None, str]:
    """Each cell either a number of seconds since 1970-01-01 UTC or an ISO 8601 time."""
    desc = "not epoch seconds nor an ISO 8601 time"
    trimmed = pc.utf8_trim_whitespace(cells)
    numeric = _to_numpy(pc.fill_null(pc.match_substring_regex(trimmed, _NUMBER_RE), False))
    if not numeric.any():
        ts, bad, _ = _iso_times(trimmed)
        return ts, bad, desc
    x, _ = _numbers(pc.if_else(pa.array(numeric), trimmed, pa.scalar(None, pa.string())))
    with np.errstate(invalid="ignore"):
        ok_epoch = np.isfinite(x) & (np.abs(x) < 1e11)
    iso, iso_bad, _ = _iso_times(pc.if_else(pa.array(numeric), pa.scalar(None, pa.string()), trimmed))
    us = np.where(ok_epoch, np.rint(np.where(ok_epoch, x, 0) * 1e6), 0).astype(np.int64)
    iso_us = _to_numpy(pc.fill_null(iso.view(pa.int64()), 0)).astype(np.int64)
    iso_ok = _to_numpy(pc.is_valid(iso))
    values = np.where(numeric, us, iso_us)
    valid = np.where(numeric, ok_epoch, iso_ok)
    ts = pa.array(values, type=pa.int64(), mask=~valid).view(schema.TS_TYPE)
    bad = (numeric & ~ok_epoch) | (iso_bad if iso_bad is not None else False)
    return ts, bad, desc


def _strptime_times(cells, fmt: str) -> tuple[pa.Array, np.ndarray | None, str]:
    """Times in a user strptime format (naive = UTC).

    Arrow's strptime rolls impossible dates over (31/02 -> 03/03); for formats made only of
    ``%Y %m %d %H %M %S %y %j`` and literals each value is also checked to format back to itself.
    """
    trimmed = pc.utf8_trim_whitespace(cells)
    parsed = _single(pc.strptime(trimmed, format=fmt, unit="us", error_is_null=True))
    present = _to_numpy(pc.is_valid(trimmed))
    ok = _to_numpy(pc.is_valid(parsed))
    if _SIMPLE_STRPTIME.match(fmt) and ok.any():
        seconds = pc.cast(parsed, pa.timestamp("s", tz=parsed.type.tz), safe=False)
        back = pc.strftime(seconds, format=fmt)
        same = pc.equal(_unpad(back), _unpad(trimmed))
        ok &= _to_numpy(pc.fill_null(same, False))
    ts = _to_utc(parsed)
    ts = pc.if_else(pa.array(ok), ts, pa.scalar(None, schema.TS_TYPE))
    return _single(ts), present & ~ok, f"not a time in the format {fmt!r}"


def _unpad(arr):
    """Drop leading zeros of every digit run, so that '1/2/2023' and '01/02/2023' compare equal."""
    return pc.replace_substring_regex(arr, r"(^|\D)0+(\d)", r"\1\2")


def _time_field(plan: _Plan, cells, rejects: _Rejects) -> pa.Array:
    ts, bad, desc = plan.time_parser(cells)
    present = _to_numpy(pc.is_valid(cells))
    if not plan.empty_ts_ok:
        rejects.add(~present, "bad_timestamp", "time missing", "ts")
    rejects.add(bad, "bad_timestamp", desc, "ts")
    return _single(ts)


def _dma_eta(cells, rejects: _Rejects) -> pa.Array:
    """DMA ETA ``dd/mm/YYYY HH:MM:SS`` -> ``'--MM-DDTHH:MM'`` (the AIS ETA has no year).

    Day or month 00 (not available) -> null; hour 24 or minute 60 (no time) -> ``'--MM-DD'``.
    """
    trimmed = pc.utf8_trim_whitespace(cells)
    valid = _to_numpy(pc.fill_null(pc.match_substring_regex(trimmed, _DMA_ETA_RE), True))
    rejects.add(~valid, "bad_field_values", "not an ETA dd/mm/YYYY HH:MM:SS", "eta")
    day = pc.replace_substring_regex(trimmed, r"^(\d\d)/(\d\d)/.*$", r"--\2-\1")
    clock = pc.replace_substring_regex(trimmed, r"^(\d\d)/(\d\d)/\d{4} (\d\d):(\d\d).*$", r"--\2-\1T\3:\4")
    no_time = pc.fill_null(pc.match_substring_regex(trimmed, r" (?:24:\d\d|\d\d:60)"), False)
    no_date = _to_numpy(pc.fill_null(pc.match_substring_regex(trimmed, r"^(?:00/|\d\d/00/)"), False))
    eta = pc.if_else(no_time, day, clock)
    return _single(pc.if_else(pa.array(valid & ~no_date), eta, pa.scalar(None, pa.string())))


# --------------------------------------------------------------------------------------------- a chunk's fields


_INT_RANGES = {"imo": (0, 2**31 - 1), "ship_type": (0, 32767), "to_bow_m": (0, 32767),
               "to_stern_m": (0, 32767), "to_port_m": (0, 32767), "to_starboard_m": (0, 32767),
               "length_m": (0, 32767), "beam_m": (0, 32767)}


def _field_array(plan: _Plan, name: str, cells, rejects: _Rejects) -> pa.Array:
    """Convert the cells of canonical field ``name`` to its output type, rejecting rows as the rules say."""
    dma = plan.fmt == "csv-dma"
    if name == "mmsi":
        rejects.add(_to_numpy(pc.is_null(cells)), "bad_field_values", "MMSI missing", name)
        return _integer_field(name, cells, rejects, 1, 999_999_999, zero_null=False)
    if name == "ts":
        return _time_field(plan, cells, rejects)
    if name == "msg_type":
        return _integer_field(name, cells, rejects, 0, 127, zero_null=False)
    if name == "nav_status":
        return _text_code(name, cells, DMA_NAV_STATUS, 14) if dma else _coded_field(name, cells, rejects, 14)
    if name == "ship_type" and dma:
        return _text_code(name, cells, DMA_SHIP_TYPE, 255)
    if name == "heading_deg":
        return _coded_field(name, cells, rejects, 359)
    if name == "imo":
        return _imo_field(cells, rejects)
    if name in _INT_RANGES:
        lo, hi = _INT_RANGES[name]
        return _integer_field(name, cells, rejects, lo, hi, zero_null=True)
    if name in _FLOAT_TYPES:
        return _float_field(name, cells, rejects)
    if name == "pos_accuracy":
        return _bool_field(name, cells, rejects)
    if name == "eta" and dma:
        return _dma_eta(cells, rejects)
    return _string_field(cells)


_ORDER = ("mmsi", "ts", "msg_type", *POSITION_FIELDS, *STATIC_FIELDS)
_OUT_TYPES = {f.name: f.type for f in list(schema.POSITIONS) + list(schema.STATICS)}


def _fields(plan: _Plan, cells: pa.Table, rejects: _Rejects) -> dict[str, pa.Array]:
    """All canonical fields of a chunk (null arrays for those the file lacks), mmsi and ts first."""
    n = cells.num_rows
    out: dict[str, pa.Array] = {}
    for name in _ORDER:
        if name in plan.columns:
            out[name] = _field_array(plan, name, cells.column(f"c{plan.columns[name]}"), rejects)
        else:
            out[name] = pa.nulls(n, _OUT_TYPES[name])
    _fill_overall(out, "length_m", "to_bow_m", "to_stern_m")
    _fill_overall(out, "beam_m", "to_port_m", "to_starboard_m")
    if "msg_type" not in plan.columns:
        out["msg_type"] = pa.array(np.zeros(n, np.int8))
    else:
        out["msg_type"] = pc.fill_null(out["msg_type"], 0)
    return out


def _fill_overall(out: dict[str, pa.Array], total: str, a: str, b: str) -> None:
    """Where the overall ``total`` is null but both parts are given, use their sum (AIS dimensions)."""
    if out[a].null_count == len(out[a]) or out[b].null_count == len(out[b]):
        return
    summed = pc.add(pc.cast(out[a], pa.int32()), pc.cast(out[b], pa.int32()))
    summed = pc.if_else(pc.less_equal(summed, 32767), summed, pa.scalar(None, pa.int32()))
    out[total] = _single(pc.coalesce(out[total], pc.cast(summed, pa.int16())))


# --------------------------------------------------------------------------------------------- statics history


class _IdentityHistory:
    """The last identity tuple seen per MMSI in one file, to emit a statics row only when it changes.

    Rows are stably sorted by MMSI (the state from earlier chunks first), each identity column is turned
    into integer codes (dictionary indices for text, the values for numbers, -1 for null), and a row is
    emitted when any code differs from the previous row of the same MMSI.
    """

    def __init__(self) -> None:
        self.mmsi = np.empty(0, dtype=np.int64)
        self.identity: pa.Table | None = None

    def changed(self, mmsi: np.ndarray, identity: pa.Table) -> np.ndarray:
        """Mask of rows (in file order) whose identity differs from the previous one of the same MMSI."""
        n_old = len(self.mmsi)
        both = identity if self.identity is None else pa.concat_tables([self.identity, identity])
        keys = np.concatenate([self.mmsi, mmsi.astype(np.int64)])
        # MMSI (< 2**30) then position: unique keys, so a quicksort gives the stable order (state first)
        order = np.argsort((keys << 33) | np.arange(len(keys), dtype=np.int64))
        sorted_keys = keys[order]
        same = np.zeros(len(keys), dtype=bool)
        same[1:] = sorted_keys[1:] == sorted_keys[:-1]
        for col in both.columns:
            if not same.any():
                break
            codes = _codes(col)[order]
            same[1:] &= codes[1:] == codes[:-1]
        emit = np.zeros(len(mmsi), dtype=bool)
        emit[order[(order >= n_old) & ~same] - n_old] = True
        last = np.ones(len(keys), dtype=bool)
        last[:-1] = sorted_keys[1:] != sorted_keys[:-1]
        self.mmsi = sorted_keys[last]
        self.identity = both.take(pa.array(order[last]))
        return emit


def _codes(col: pa.ChunkedArray) -> np.ndarray:
    """Integer codes of a column such that equal values (null included) get equal codes."""
    arr = _single(col)
    if pa.types.is_string(arr.type):
        arr = pc.dictionary_encode(arr).indices
    return _to_numpy(pc.fill_null(arr, -1))


# --------------------------------------------------------------------------------------------- one chunk


@dataclass
class _Context:
    """State kept across the chunks of one file."""

    path: str
    source_id: int
    plan: _Plan
    layout: _Layout
    history: _IdentityHistory = field(default_factory=_IdentityHistory)


def _route(ctx: _Context, f: dict[str, pa.Array], ok: np.ndarray, rejects: _Rejects) -> tuple[np.ndarray, ...]:
    """Row masks of the chunk that go to positions and to statics."""
    identity_any = np.zeros(len(ok), dtype=bool)
    for name in STATIC_FIELDS:
        if f[name].null_count < len(f[name]):
            identity_any |= _to_numpy(pc.is_valid(f[name]))
    lat_lon = _to_numpy(pc.and_(pc.is_valid(f["lat"]), pc.is_valid(f["lon"])))
    if ctx.plan.wide:
        to_pos = ok & lat_lon
        to_stat = ok & identity_any
        if to_stat.all():
            ident = pa.table({n: f[n] for n in STATIC_FIELDS})
            to_stat = ctx.history.changed(_to_numpy(f["mmsi"]), ident)
        elif to_stat.any():
            idx = np.flatnonzero(to_stat)
            ident = pa.table({n: f[n].take(idx) for n in STATIC_FIELDS})
            to_stat[idx] = ctx.history.changed(_to_numpy(f["mmsi"].take(idx)), ident)
        return to_pos, to_stat
    cols = ctx.plan.columns
    has_pos_cols = "lat" in cols and "lon" in cols
    has_stat_cols = any(n in cols for n in STATIC_FIELDS)
    mt = _to_numpy(f["msg_type"]).astype(np.int64)
    unsupported = ok & np.isin(mt, list(UNSUPPORTED_TYPES))
    rejects.add(unsupported, "unsupported_type", "message type Watchkeeper does not store", "msg_type")
    unknown = ok & ~unsupported & (mt != 0) & ~np.isin(mt, list(POSITION_TYPES | STATIC_TYPES))
    rejects.add(unknown, "bad_field_values", "not an AIS message type 1..27", "msg_type")
    ok = ok & ~unsupported & ~unknown
    to_pos = ok & has_pos_cols & (np.isin(mt, list(POSITION_TYPES)) | ((mt == 0) & lat_lon))
    to_stat = ok & has_stat_cols & (np.isin(mt, list(STATIC_TYPES)) | ((mt == 0) & identity_any))
    return to_pos, to_stat


def _table(out_schema: pa.Schema, f: dict[str, pa.Array], idx: np.ndarray, ctx: _Context,
           lines: np.ndarray) -> pa.Table:
    n = len(idx)
    taken = None if n == len(lines) else pa.array(idx)
    arrays = []
    for fld in out_schema:
        if fld.name == "source_id":
            arrays.append(pa.array(np.full(n, ctx.source_id, dtype=np.int32)))
        elif fld.name in ("line", "line_last"):
            arrays.append(pa.array(lines[idx]))
        else:
            col = f[fld.name] if taken is None else f[fld.name].take(taken)
            arrays.append(col if col.type == fld.type else pc.cast(col, fld.type))
    return pa.Table.from_arrays(arrays, schema=out_schema)


def _skipped_rows(cells: pa.Table, used: tuple[int, ...], mmsi_null: np.ndarray, lines: _Lines,
                  line_index: np.ndarray) -> np.ndarray:
    """Rows that are comment lines ('#' first) or blank lines (checked on the raw bytes)."""
    first = cells.column(f"c{used[0]}")
    if pa.types.is_string(first.type):
        skipped = _to_numpy(pc.fill_null(pc.starts_with(first, "#"), False))
    else:  # parsed as numbers: no cell starts with '#'
        skipped = np.zeros(cells.num_rows, dtype=bool)
    for i in np.flatnonzero(mmsi_null & ~skipped):
        raw = lines.raw(int(line_index[i])).strip()
        skipped[i] = not raw or raw.startswith(b"#")
    return skipped


def _decode_chunk(ctx: _Context, chunk: _Chunk, parsed: _Parsed, first_line: int) -> Batch:
    """Decode one parsed chunk of whole lines starting at 1-based line ``first_line`` of the file."""
    plan = ctx.plan
    cells, raw_lines = parsed.table, _Lines(chunk.view)
    file_line = parsed.line_index + first_line
    rejects = _Rejects(cells.num_rows)
    f = _fields(plan, cells, rejects)
    skipped = _skipped_rows(cells, ctx.layout.used, _to_numpy(pc.is_null(f["mmsi"])), raw_lines, parsed.line_index)
    rejects.code[skipped] = 0
    to_pos, to_stat = _route(ctx, f, (rejects.code == 0) & ~skipped, rejects)
    quarantine = QuarantineBuilder(ctx.source_id)
    entries = _invalid_entries(parsed, raw_lines, first_line, len(plan.header))
    n_skipped_invalid = sum(1 for e in entries if e[1] is None)
    for row in np.flatnonzero(rejects.code):
        reason, detail = rejects.detail(int(row), plan, cells)
        entries.append((int(file_line[row]), reason, raw_lines.raw(int(parsed.line_index[row])), detail))
    for line, reason, raw, detail in sorted(entries, key=lambda e: e[0]):
        if reason is not None:
            quarantine.add(line, reason, raw, detail=detail)
    pos_idx, stat_idx = np.flatnonzero(to_pos), np.flatnonzero(to_stat)
    decoded = int(((rejects.code == 0) & ~skipped).sum())
    counts = Counter(lines_in=chunk.n_lines, decoded=decoded, rejected=quarantine.buckets["rejected"],
                     skipped=int(skipped.sum()) + n_skipped_invalid, messages=decoded,
                     positions=len(pos_idx), statics=len(stat_idx))
    return Batch(positions=_table(schema.POSITIONS, f, pos_idx, ctx, file_line),
                 statics=_table(schema.STATICS, f, stat_idx, ctx, file_line),
                 quarantine=quarantine.table(), counts=counts, reasons=Counter(quarantine.reasons))


def _invalid_entries(parsed: _Parsed, lines: _Lines, first_line: int, n_cols: int) -> list[tuple]:
    """Quarantine entries ``(line, reason, raw, detail)`` of malformed lines; reason None = skipped line."""
    entries = []
    for i, text, found in parsed.invalid:
        raw = lines.raw(i)
        if not raw.strip() or raw.lstrip().startswith(b"#"):
            entries.append((first_line + i, None, raw, None))
            continue
        detail = (f"expected {n_cols} columns, found {found}" if found >= 0
                  else "unbalanced quotes or stray line break")
        entries.append((first_line + i, "bad_csv_row", raw, detail))
    return entries


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
