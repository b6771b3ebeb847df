"""CSV formats: the canonical vocabulary, DMA code tables, header recognition and column plans.

:func:`sniff_csv` names a file's format from its header line, :func:`parse_mapping` reads a ``--columns``
option, and :func:`_plan` binds a header to canonical fields (raising, with a ``--columns`` example, when a
required column is missing).
"""

from __future__ import annotations

import csv as _stdcsv
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from watchkeeper.errors import ConfigError, InputError
from watchkeeper.ingest.csv.fields import _dma_times, _iso_times, _key, _mapped_times

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
