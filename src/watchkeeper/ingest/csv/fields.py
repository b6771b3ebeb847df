"""Cell conversions of CSV columns: numbers, codes, flags, text, IMO numbers, times and ETAs.

Each conversion takes a column of cells (strings, or float64 for columns parsed as numbers) and returns the
Arrow array of the output type, recording rejected rows in a :class:`~watchkeeper.ingest.csv.lines._Rejects`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from watchkeeper import schema
from watchkeeper.ingest.csv.lines import _Rejects

if TYPE_CHECKING:
    from watchkeeper.ingest.csv.formats import _Plan

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


# Also the key that DMA code texts are compared by (:func:`_text_code`); :mod:`.formats` imports it from here.
def _key(name: str) -> str:
    """Header key used to recognise DMA and NOAA columns: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


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
