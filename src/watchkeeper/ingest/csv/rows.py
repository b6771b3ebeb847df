"""A parsed chunk to canonical rows: field arrays, identity history, routing, output tables, quarantine."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from watchkeeper import schema
from watchkeeper.ingest.batch import Batch, QuarantineBuilder
from watchkeeper.ingest.csv.fields import (
    _FLOAT_TYPES,
    _bool_field,
    _coded_field,
    _dma_eta,
    _float_field,
    _imo_field,
    _integer_field,
    _single,
    _string_field,
    _text_code,
    _time_field,
    _to_numpy,
)
from watchkeeper.ingest.csv.formats import (
    DMA_NAV_STATUS,
    DMA_SHIP_TYPE,
    POSITION_FIELDS,
    POSITION_TYPES,
    STATIC_FIELDS,
    STATIC_TYPES,
    UNSUPPORTED_TYPES,
    _Plan,
)
from watchkeeper.ingest.csv.lines import _Chunk, _Layout, _Lines, _Parsed, _Rejects

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
