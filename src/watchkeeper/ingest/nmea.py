"""NMEA AIS files to canonical tables: the pipeline around the compiled kernels.

``read_nmea(path, source_id)`` streams a file (plain or ``.gz``) in chunks of whole lines and yields
:class:`~watchkeeper.ingest.batch.Batch` objects. Per chunk: :func:`framing.frame_lines` classifies lines,
:func:`multipart.assemble` builds messages, :func:`multipart.dedup` marks duplicates and
:func:`sixbit.decode_messages` writes columns. Memory is bounded by the chunk size and the fixed pools of open
multi-sentence groups and recent hashes, whatever the input size.
"""

from __future__ import annotations

import gzip
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import BinaryIO

import numba
import numpy as np
import pyarrow as pa

from watchkeeper import schema
from watchkeeper.errors import InputError
from watchkeeper.ingest import framing, multipart, sixbit
from watchkeeper.ingest.batch import RAW_MAX_CHARS, Batch, QuarantineBuilder
from watchkeeper.ingest.reasons import NAME

CHUNK_BYTES = 8 << 20
LONG_LINE_BYTES = 1 << 20  # past this without a newline, a line is skipped over rather than buffered


class Decoder:
    """Stateful NMEA decoder for one input stream (chunks must be fed in order)."""

    def __init__(self, source_id: int, dedup: multipart.DedupState | None = None, window_lines: int = 2000):
        self.source_id = source_id
        self.asm = multipart.AssemblyState()
        self.dedup = dedup if dedup is not None else multipart.DedupState()
        self.window_lines = window_lines
        self.pghp = np.array([framing.NO_TS, 0], np.int64)
        self.lines_done = 0  # lines of this file already handed to the kernels

    # -- one chunk of whole lines ------------------------------------------------------------------
    def feed(self, chunk: bytes, final: bool = False) -> Batch:
        buf = np.frombuffer(chunk, np.uint8)
        nl = np.flatnonzero(buf == 10)
        starts = np.empty(nl.size + 1, np.int64)
        starts[0] = 0
        starts[1:] = nl + 1
        ends = np.empty(nl.size + 1, np.int64)
        ends[:-1] = nl
        ends[-1] = buf.size
        if starts[-1] == buf.size:  # the chunk ends with a newline: no line after it
            starts, ends = starts[:-1], ends[:-1]
        n = starts.size
        status = np.empty(n, np.int8)
        pstart = np.empty(n, np.int64)
        pend = np.empty(n, np.int64)
        fill = np.empty(n, np.int64)
        fcount = np.empty(n, np.int64)
        fnum = np.empty(n, np.int64)
        seq = np.empty(n, np.int64)
        chan = np.empty(n, np.int64)
        ts = np.empty(n, np.int64)
        station = np.empty(n, np.int64)
        phash = np.empty(n, np.uint64)
        detail = np.empty(n, np.int64)
        if n:
            framing.frame_lines(buf, starts, ends, self.pghp, status, pstart, pend, fill, fcount,
                                fnum, seq, chan, ts, station, phash, detail)
        asm = self.asm
        multi = (status == framing.ST_SENTENCE) & (fcount > 1)
        open_pay = int(asm.f_plen[asm.f_used].sum())
        open_raw = int(asm.f_rlen[asm.f_used].sum())
        m_buf = np.empty(open_pay + int((pend[multi] - pstart[multi]).sum()) + 1, np.uint8)
        multi_raw = int((ends[multi] - starts[multi]).sum()) + open_raw
        mr_buf = np.empty(multi_raw + n + 9 * multipart.N_GROUPS + 1, np.uint8)
        inc_raw = np.empty(multi_raw + 1, np.uint8)
        cap = n + multipart.N_FRAGS
        m_start = np.empty(cap, np.int64)
        m_end = np.empty(cap, np.int64)
        m_fill = np.empty(cap, np.int64)
        m_ts = np.empty(cap, np.int64)
        m_line = np.empty(cap, np.int64)
        m_line_last = np.empty(cap, np.int64)
        m_nlines = np.empty(cap, np.int64)
        m_hash = np.empty(cap, np.uint64)
        m_rkind = np.empty(cap, np.int8)
        m_rs = np.empty(cap, np.int64)
        m_re = np.empty(cap, np.int64)
        inc_line = np.empty(cap, np.int64)
        inc_rs = np.empty(cap, np.int64)
        inc_re = np.empty(cap, np.int64)
        nm, n_inc, _, _ = multipart.assemble(
            buf, starts, ends, status, pstart, pend, fill, fcount, fnum, seq, chan, ts, station, phash,
            self.lines_done, self.window_lines, final, *asm.args(),
            m_buf, m_start, m_end, m_fill, m_ts, m_line, m_line_last, m_nlines, m_hash, m_rkind, m_rs, m_re,
            mr_buf, inc_line, inc_rs, inc_re, inc_raw)
        dd = self.dedup
        dup = np.zeros(nm, np.bool_)
        dd.mark(m_hash, m_ts, m_line, nm, dup)
        positions, statics, mstat, mtype = _decode(buf, m_buf, m_rkind, m_start, m_end, m_fill, m_ts, m_line,
                                                   m_line_last, dup, nm, self.source_id)

        # --- accounting and quarantine ---
        q = QuarantineBuilder(self.source_id)
        counts: Counter = Counter()
        counts["lines_in"] = n
        counts["skipped"] = int(np.count_nonzero(status == framing.ST_SKIP))
        counts["metadata"] = int(np.count_nonzero(status == framing.ST_META))
        rej = np.flatnonzero(status >= 10)
        if rej.size:
            codes = status[rej].tolist()
            q.add_many((rej + (self.lines_done + 1)).tolist(), [NAME[c] for c in codes],
                       [chunk[a:b] for a, b in zip(starts[rej].tolist(), ends[rej].tolist())],
                       [_framing_detail(c, d) for c, d in zip(codes, detail[rej].tolist())])
        for k in range(n_inc):
            q.add(int(inc_line[k]), "incomplete_multipart", inc_raw[inc_rs[k]:inc_re[k]].tobytes(),
                  detail="the other fragments of this message never arrived")
        nl_m = m_nlines[:nm]
        counts["duplicates"] = int(nl_m[dup].sum())
        ok = (~dup) & (mstat == sixbit.OK)
        counts["decoded"] = int(nl_m[ok].sum())
        counts["messages"] = int(np.count_nonzero(ok))
        for k in np.flatnonzero(mstat != sixbit.OK):
            raw = (chunk[m_rs[k]:m_re[k]] if m_rkind[k] == 0 else mr_buf[m_rs[k]:m_re[k]].tobytes())
            code = int(mstat[k])
            q.add(int(m_line[k]), NAME[code], raw, n_lines=int(m_nlines[k]),
                  detail=_decode_detail(code, int(mtype[k]), m_start[k], m_end[k], m_fill[k]))
        counts["rejected"] = q.buckets["rejected"]
        counts["incomplete"] = q.buckets["incomplete"]
        counts["positions"] = positions.num_rows
        counts["statics"] = statics.num_rows
        self.lines_done += n
        if final:
            self.dedup.line_offset += self.lines_done
        return Batch(positions, statics, q.table(), counts, q.reasons)

    def long_line(self, head: bytes, nbytes: int) -> Batch:
        """Account for one line too long to buffer (only its head is kept)."""
        self.lines_done += 1
        self.pghp[0] = framing.NO_TS
        q = QuarantineBuilder(self.source_id)
        q.add(self.lines_done, "line_too_long", head, raw_bytes=nbytes,
              detail=f"{nbytes:,} bytes; an AIS line is at most {framing.MAX_LINE_BYTES:,}")
        counts = Counter(lines_in=1, rejected=1)
        return Batch(schema.POSITIONS.empty_table(), schema.STATICS.empty_table(), q.table(), counts, q.reasons)


def _framing_detail(code: int, d: int) -> str | None:
    if code in (framing.R_BAD_CHECKSUM, framing.R_BAD_TAG_BLOCK) and d >= 0:
        return f"checksum says {d >> 8:02X}, computed {d & 255:02X}"
    if code == framing.R_MALFORMED:
        return framing.MALFORMED_DETAIL.get(d)
    return None


def _decode_detail(code: int, mtype: int, s: int, e: int, fill: int) -> str | None:
    if code == sixbit.R_UNSUPPORTED:
        return f"message type {mtype}"
    if code == sixbit.R_BAD_LENGTH:
        bits = 6 * (e - s) - fill
        need = int(sixbit.MIN_BITS[mtype]) if 0 <= mtype < 64 else 38
        return f"message type {mtype}: {bits} bits, needs at least {need}"
    if code == sixbit.R_BAD_VALUES:
        return f"message type {mtype}: MMSI 0, latitude/longitude out of range, or invalid part number"
    return None


# -- column building ---------------------------------------------------------------------------------

def _strings(fixed: np.ndarray, lens: np.ndarray) -> pa.Array:
    """A string array from a fixed-width byte matrix and lengths (-1 = null)."""
    n = lens.size
    ln = np.clip(lens, 0, None)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(ln, out=offsets[1:])
    if n:
        mask = np.arange(fixed.shape[1])[None, :] < ln[:, None]
        data = fixed[:n][mask]
    else:
        data = np.zeros(0, np.uint8)
    valid = lens >= 0
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if not valid.all() else None
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data.tobytes()), bitmap)


def _col(values: np.ndarray, valid: np.ndarray | None, type_: pa.DataType) -> pa.Array:
    if valid is None or valid.all():
        return pa.array(values, type=type_)
    return pa.array(values, type=type_, mask=~valid)


def _decode(buf, m_buf, m_kind, m_start, m_end, m_fill, m_ts, m_line, m_line_last, skip, nm, source_id):
    cap = max(nm, 1)
    mstat = np.zeros(nm, np.int8)
    mtype = np.zeros(nm, np.int64)
    p = {k: np.empty(cap, dt) for k, dt in (
        ("mmsi", np.int32), ("ts", np.int64), ("lat", np.float64), ("lon", np.float64), ("sog", np.float32),
        ("cog", np.float32), ("hdg", np.int16), ("nav", np.int8), ("rot", np.float32), ("acc", np.bool_),
        ("type", np.int8), ("line", np.int64), ("line_last", np.int64))}
    pv = np.zeros((cap, 8), np.bool_)
    s = {k: np.empty(cap, dt) for k, dt in (
        ("mmsi", np.int32), ("ts", np.int64), ("imo", np.int32), ("stype", np.int16), ("bow", np.int16),
        ("stern", np.int16), ("port", np.int16), ("star", np.int16), ("draught", np.float32), ("type", np.int8),
        ("line", np.int64), ("line_last", np.int64), ("call_len", np.int64), ("name_len", np.int64),
        ("dest_len", np.int64), ("eta_len", np.int64))}
    sv = np.zeros((cap, 8), np.bool_)
    call = np.empty((cap, sixbit.W_CALLSIGN), np.uint8)
    name = np.empty((cap, sixbit.W_NAME), np.uint8)
    dest = np.empty((cap, sixbit.W_DEST), np.uint8)
    eta = np.empty((cap, sixbit.W_ETA), np.uint8)
    nblocks = max(1, min(2 * numba.get_num_threads(), nm // 8192))
    bounds = (np.arange(nblocks + 1, dtype=np.int64) * nm) // nblocks
    counts = np.zeros((nblocks, 2), np.int64)
    sixbit.decode_blocks(
        bounds, counts, buf, m_buf, m_kind, m_start, m_end, m_fill, m_ts, m_line, m_line_last, skip, mstat, mtype,
        p["mmsi"], p["ts"], p["lat"], p["lon"], p["sog"], p["cog"], p["hdg"], p["nav"], p["rot"], p["acc"],
        p["type"], p["line"], p["line_last"], pv,
        s["mmsi"], s["ts"], s["imo"], call, s["call_len"], name, s["name_len"], s["stype"], s["bow"], s["stern"],
        s["port"], s["star"], s["draught"], dest, s["dest_len"], eta, s["eta_len"], s["type"], s["line"],
        s["line_last"], sv)
    # each block's rows are contiguous from its first message index: the columns are chunked arrays of those
    # runs, built without copying
    p_runs = [(int(lo), int(lo + c)) for lo, c in zip(bounds[:-1], counts[:, 0]) if c]
    s_runs = [(int(lo), int(lo + c)) for lo, c in zip(bounds[:-1], counts[:, 1]) if c]
    src = np.full(cap, source_id, np.int32)

    def pcol(arr, k, type_):
        return pa.chunked_array([_col(arr[a:b], None if k is None else pv[a:b, k], type_) for a, b in p_runs],
                                type=type_)

    def scol(arr, k, type_):
        if k == "positive":
            return pa.chunked_array([_col(arr[a:b], arr[a:b] > 0, type_) for a, b in s_runs], type=type_)
        return pa.chunked_array([_col(arr[a:b], None if k is None else sv[a:b, k], type_) for a, b in s_runs],
                                type=type_)

    def stext(fixed, lens):
        return pa.chunked_array([_strings(fixed[a:b], lens[a:b]) for a, b in s_runs], type=pa.string())

    positions = pa.Table.from_arrays([
        pcol(p["mmsi"], None, pa.int32()),
        pcol(p["ts"], 0, schema.TS_TYPE),
        pcol(p["lat"], 1, pa.float64()),
        pcol(p["lon"], 2, pa.float64()),
        pcol(p["sog"], 3, pa.float32()),
        pcol(p["cog"], 4, pa.float32()),
        pcol(p["hdg"], 5, pa.int16()),
        pcol(p["nav"], 6, pa.int8()),
        pcol(p["rot"], 7, pa.float32()),
        pcol(p["acc"], None, pa.bool_()),
        pcol(p["type"], None, pa.int8()),
        pcol(src, None, pa.int32()),
        pcol(p["line"], None, pa.int64()),
        pcol(p["line_last"], None, pa.int64()),
    ], schema=schema.POSITIONS)
    length = (s["bow"] + s["stern"]).astype(np.int16)
    beam = (s["port"] + s["star"]).astype(np.int16)
    statics = pa.Table.from_arrays([
        scol(s["mmsi"], None, pa.int32()),
        scol(s["ts"], 0, schema.TS_TYPE),
        scol(s["imo"], 1, pa.int32()),
        stext(call, s["call_len"]),
        stext(name, s["name_len"]),
        scol(s["stype"], 2, pa.int16()),
        scol(s["bow"], 3, pa.int16()),
        scol(s["stern"], 4, pa.int16()),
        scol(s["port"], 5, pa.int16()),
        scol(s["star"], 6, pa.int16()),
        scol(length, "positive", pa.int16()),
        scol(beam, "positive", pa.int16()),
        scol(s["draught"], 7, pa.float32()),
        stext(dest, s["dest_len"]),
        stext(eta, s["eta_len"]),
        scol(s["type"], None, pa.int8()),
        scol(src, None, pa.int32()),
        scol(s["line"], None, pa.int64()),
        scol(s["line_last"], None, pa.int64()),
    ], schema=schema.STATICS)
    return positions, statics, mstat, mtype


# -- files ---------------------------------------------------------------------------------------------

def open_input(path: str) -> BinaryIO:
    """Open a file for reading, transparently gunzipping ``.gz`` (by magic bytes, not only by name)."""
    f = open(path, "rb")
    magic = f.read(2)
    f.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[return-value]
    return f


def iter_blocks(f: BinaryIO, path: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[tuple[str, bytes, int]]:
    """Yield ``("lines", block, 0)`` for blocks of whole lines and ``("long", head, nbytes)`` for huge lines.

    The last block may lack its final newline. Raises :class:`InputError` for a truncated or corrupt gzip stream.
    """
    carry = b""
    while True:
        try:
            data = f.read(chunk_bytes)
        except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
            raise InputError(
                f"compressed data is truncated or corrupt ({exc})", where=path,
                fix="check it with `gzip -t`; re-download it, or ingest the readable part with "
                    "`zcat FILE > part.nmea` (nothing from this file was stored)") from None
        if not data:
            if carry:
                yield "lines", carry, 0
            return
        data = carry + data
        cut = data.rfind(b"\n")
        if cut < 0:
            if len(data) <= LONG_LINE_BYTES:
                carry = data
                continue
            # a line longer than any AIS line: keep its head, skip to its end
            head = data[: RAW_MAX_CHARS]
            nbytes = len(data)
            while True:
                try:
                    more = f.read(chunk_bytes)
                except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
                    raise InputError(f"compressed data is truncated or corrupt ({exc})", where=path,
                                     fix="check it with `gzip -t` and re-download it") from None
                if not more:
                    yield "long", head, nbytes
                    return
                k = more.find(b"\n")
                if k < 0:
                    nbytes += len(more)
                    continue
                nbytes += k
                yield "long", head, nbytes
                data = more[k + 1:]
                break
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
        yield "lines", data[: cut + 1], 0
        carry = data[cut + 1:]


def read_nmea(path: str, source_id: int, *, dedup: multipart.DedupState | None = None,
              chunk_bytes: int = CHUNK_BYTES, progress=None) -> Iterator[Batch]:
    """Decode an NMEA file (plain or gzip) into batches of canonical rows; see the module docstring.

    ``progress``, if given, is called with the number of (compressed) bytes of the file read so far.
    """
    with open_input(path) as f:
        yield from read_stream(f, path, source_id, dedup=dedup, chunk_bytes=chunk_bytes, progress=progress)


def read_stream(f: BinaryIO, name: str, source_id: int, *, dedup: multipart.DedupState | None = None,
                chunk_bytes: int = CHUNK_BYTES, progress=None) -> Iterator[Batch]:
    """Decode an open binary stream (a file, a pipe, standard input) into batches; ``name`` is for messages."""
    dec = Decoder(source_id, dedup)
    raw = getattr(f, "fileobj", None) or f
    pending: tuple[str, bytes, int] | None = None
    for block in iter_blocks(f, name, chunk_bytes):
        if pending is not None:
            yield _feed(dec, pending, final=False)
            if progress is not None:
                progress(raw.tell())
        pending = block
    if pending is None:
        pending = ("lines", b"", 0)
    yield _feed(dec, pending, final=True)
    if pending[0] == "long":
        yield dec.feed(b"", final=True)


def _feed(dec: Decoder, block: tuple[str, bytes, int], final: bool) -> Batch:
    kind, data, nbytes = block
    if kind == "long":
        return dec.long_line(data, nbytes)
    return dec.feed(data, final=final)
