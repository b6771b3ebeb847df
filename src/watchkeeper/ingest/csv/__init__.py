"""Decoded-AIS CSV exports to the canonical tables: Watchkeeper's own CSV, DMA, NOAA MarineCadastre, or mapped.

A CSV export already holds decoded AIS, one row per message (canonical) or one wide row per report carrying
both position and identity columns (DMA, NOAA, user-mapped). This package recognises the format from the
header (:func:`sniff_csv`), then streams the file as :class:`~watchkeeper.ingest.batch.Batch` objects
(:func:`read_csv`), fully vectorised with Arrow compute and NumPy; Python only loops over rejected rows.

Modules
-------
``formats``
    The vocabulary, DMA code tables, header recognition (:func:`sniff_csv`), the ``--columns`` option
    (:func:`parse_mapping`) and the plan binding a header to canonical fields.
``lines``
    Opening (gzip), chunks of whole lines, parsing them into cells (Arrow, or the standard library for
    broken quoting), UTF-8 handling and the rejected rows of a chunk.
``fields``
    Cell conversions: numbers, codes, flags, text, IMO numbers, times, ETAs.
``rows``
    A chunk's canonical fields, the identity history, routing into positions and statics, the output tables.
``reader``
    :func:`read_csv`.

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

from watchkeeper.ingest.csv.formats import (
    CANONICAL_COLUMNS,
    DMA_NAV_STATUS,
    DMA_SHIP_TYPE,
    FORMATS,
    MAPPABLE_FIELDS,
    POSITION_FIELDS,
    POSITION_TYPES,
    STATIC_FIELDS,
    STATIC_TYPES,
    UNSUPPORTED_TYPES,
    parse_mapping,
    sniff_csv,
)
from watchkeeper.ingest.csv.reader import read_csv

__all__ = [
    "CANONICAL_COLUMNS",
    "DMA_NAV_STATUS",
    "DMA_SHIP_TYPE",
    "FORMATS",
    "MAPPABLE_FIELDS",
    "POSITION_FIELDS",
    "POSITION_TYPES",
    "STATIC_FIELDS",
    "STATIC_TYPES",
    "UNSUPPORTED_TYPES",
    "parse_mapping",
    "read_csv",
    "sniff_csv",
]
