"""Ingest input files into a store: check, hash, detect the format, decode, write, account.

The library function behind ``watchkeeper ingest``. It prints nothing; progress goes to an optional callback and
the results come back as :class:`FileResult` objects.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from watchkeeper import schema
from watchkeeper.errors import InputError, WatchkeeperError
from watchkeeper.ingest import csv as csv_reader
from watchkeeper.ingest import nmea
from watchkeeper.ingest.batch import Batch
from watchkeeper.ingest.multipart import DedupState
from watchkeeper.store import Store

SNIFF_BYTES = 64 << 10
Progress = Callable[[str, int, int], None]


@dataclass
class FileResult:
    """What happened to one input."""

    path: str
    status: str  # "ingested", "already", "error"
    source_id: int | None = None
    fmt: str | None = None
    counts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    error: WatchkeeperError | None = None
    previous: dict | None = None

    @property
    def balanced(self) -> bool:
        c = self.counts
        return c["lines_in"] == sum(c[k] for k in schema.ACCOUNT_FIELDS)


def sha256_file(path: str, chunk: int = 8 << 20) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def check_readable(path: str) -> int:
    """Raise a clear :class:`InputError` for a missing, unreadable, non-regular or empty input; return its size."""
    if not os.path.exists(path):
        raise InputError("no such file", where=path, fix="check the path (and the current directory)")
    if os.path.isdir(path):
        raise InputError("is a directory", where=path, fix="give the files inside it, e.g. DIR/*.nmea")
    if not os.access(path, os.R_OK):
        raise InputError("cannot be read (permission denied)", where=path, fix="check the file's permissions")
    size = os.path.getsize(path)
    if size == 0:
        raise InputError("is empty (0 bytes): nothing to ingest", where=path,
                         fix="check that the download or export finished")
    return size


def head_bytes(path: str) -> bytes:
    """The first decompressed bytes of a file, for format detection."""
    with nmea.open_input(path) as f:
        try:
            return f.read(SNIFF_BYTES)
        except (EOFError, OSError) as exc:
            raise InputError(f"compressed data is truncated or corrupt ({exc})", where=path,
                             fix="check it with `gzip -t` and re-download it") from None


def detect_format(path: str, head: bytes, *, mapping: dict[str, str] | None) -> str:
    """Name the input format from its first bytes: ``nmea`` or one of the CSV formats; else raise InputError."""
    if not head.strip():
        raise InputError("holds only whitespace: nothing to ingest", where=path,
                         fix="check that the download or export finished")
    nul = head.find(b"\x00")
    sample = head[:4096]
    bad = sum(1 for b in sample if b < 9 or 13 < b < 32 or b == 127)
    if nul >= 0 or bad > len(sample) // 20:
        at = nul if nul >= 0 else next(i for i, b in enumerate(sample) if b < 9 or 13 < b < 32 or b == 127)
        raise InputError(f"binary data (byte 0x{head[at]:02x} at offset {at}), not NMEA text or CSV", where=path,
                         fix="give raw NMEA (.nmea/.txt/.nm4, optionally .gz) or a CSV export; "
                             "decompress other archive formats first")
    if mapping:
        return "csv-mapped"
    first = next((ln for ln in head.splitlines() if ln.strip()), b"")
    fmt = csv_reader.sniff_csv(head)
    if fmt:
        return fmt
    text_lines = [ln for ln in head.splitlines()[:200] if ln.strip() and not ln.lstrip().startswith(b"#")]
    if any(b"VDM," in ln or b"VDO," in ln or ln.startswith(b"$PGHP") for ln in text_lines):
        return "nmea"
    if first.count(b",") >= 2 or first.count(b";") >= 2 or first.count(b"\t") >= 2:
        cols = first.decode("utf-8", "replace").strip()[:300]
        raise InputError(
            f"a CSV whose columns Watchkeeper does not recognise: {cols}", where=f"{path}:1",
            fix="map its columns to Watchkeeper's with --columns, e.g. "
                "--columns mmsi=MMSI,ts=Time,lat=Latitude,lon=Longitude (see docs/csv-formats.md)")
    raise InputError("neither NMEA AIS sentences (!AIVDM/!AIVDO) nor a known CSV in its first lines",
                     where=f"{path}:1", fix="check the file; for CSV with other column names use --columns")


def read_any(path: str, source_id: int, fmt: str, *, dedup: DedupState, mapping: dict[str, str] | None,
             ts_format: str | None, progress: Callable[[int], None] | None = None) -> Iterator[Batch]:
    if fmt == "nmea":
        return nmea.read_nmea(path, source_id, dedup=dedup, progress=progress)
    return csv_reader.read_csv(path, source_id, fmt=fmt, mapping=mapping, ts_format=ts_format)


def ingest_paths(store: Store, paths: list[str], *, mapping: dict[str, str] | None = None,
                 ts_format: str | None = None, progress: Progress | None = None,
                 dedup_window_s: float = 60.0) -> list[FileResult]:
    """Ingest each path into the store; a failing file is reported and does not stop the others.

    A file whose SHA-256 is already in the ledger is not read again. A file that fails part-way leaves
    nothing in the store (its staged rows are discarded).
    """
    dedup = DedupState(window_s=dedup_window_s)
    results = []
    for path in paths:
        try:
            results.append(_ingest_one(store, path, dedup=dedup, mapping=mapping, ts_format=ts_format,
                                       progress=progress))
        except WatchkeeperError as exc:
            results.append(FileResult(path, "error", error=exc))
    return results


def _ingest_one(store: Store, path: str, *, dedup: DedupState, mapping, ts_format, progress) -> FileResult:
    size = check_readable(path)
    digest, size = sha256_file(path)
    prev = store.find_source(digest)
    if prev is not None:
        return FileResult(path, "already", source_id=prev["source_id"], fmt=prev["format"], previous=prev)
    fmt = detect_format(path, head_bytes(path), mapping=mapping)
    source_id = store.begin_source(digest, size, path, fmt)
    writer = store.writer(source_id)
    res = FileResult(path, "ingested", source_id=source_id, fmt=fmt)
    cb = (lambda done: progress(path, done, size)) if progress else None
    try:
        for batch in read_any(path, source_id, fmt, dedup=dedup, mapping=mapping, ts_format=ts_format,
                              progress=cb):
            writer.write("positions", batch.positions)
            writer.write("statics", batch.statics)
            store.add_quarantine(batch.quarantine)
            res.counts.update(batch.counts)
            res.reasons.update(batch.reasons)
        writer.publish()
    except BaseException:
        writer.abort()
        store.abort_source(source_id)
        raise
    counts = {k: res.counts[k] for k in ("lines_in", *schema.ACCOUNT_FIELDS, "messages", "positions", "statics")}
    store.complete_source(source_id, counts)
    if progress:
        progress(path, size, size)
    return res
