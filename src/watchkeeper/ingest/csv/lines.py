"""Reading a CSV file: opening (gzip), chunks of whole lines, parsing them into cells, rejected rows.

Lines are read in chunks of whole lines into reused buffers; each chunk is parsed by Arrow when it provably
keeps one row per physical line, else by the standard library's ``csv`` module, line by line.
"""

from __future__ import annotations

import csv as _stdcsv
import gzip
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from watchkeeper.errors import InputError

if TYPE_CHECKING:
    from watchkeeper.ingest.csv.formats import _Plan

_READ_BLOCK_BYTES = 8 << 20
_MAX_BUFFER_BYTES = 1 << 30
_PARSE_BLOCK_BYTES = 4 << 20


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
