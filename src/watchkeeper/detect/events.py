"""The shared event table: deterministic ids, building and validating a batch, and the public exports.

Every detector returns rows of :data:`watchkeeper.schema.EVENTS`, built with :func:`make_events`. The JSON Lines
export (:func:`to_jsonl`) is a public contract that other tools and Watchkeeper's evaluation read back
(:func:`read_jsonl`); each line is one object with, in this order:

``event_id`` (string), ``type`` (string), ``mmsi`` (int; 0 for ``activity_surge``, which is about a port or area), ``other_mmsi``
(int or null), ``start`` and ``end`` (ISO 8601 UTC ending in ``Z``, microseconds only when not zero), ``lat`` and
``lon`` (numbers or null), ``port`` (null, or ``{"name", "lat", "lon", "locode"}`` with ``locode`` null when
unknown), ``confidence`` (number 0-1), ``details`` (object, units in key names), ``positions``
(``{"n": int, "refs": [{"mmsi", "source_id", "line", "role"}, ...]}``), ``segment_id`` (string or null),
``config_sha256`` and ``detector_version`` (strings).

CSV (:func:`to_csv`) flattens the port into ``port_*`` columns and writes ``details`` and ``positions`` as JSON
text; GeoJSON (:func:`to_geojson`) is a FeatureCollection of Point features (``[lon, lat]``, or a null geometry
for events without a position) whose properties are the JSON Lines object.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
import operator
from collections.abc import Iterable, Iterator, Mapping
from json.encoder import c_make_encoder
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from watchkeeper.errors import InputError
from watchkeeper.schema import EVENTS

EVENT_TYPES = ("port_visit", "ais_gap", "dark_port_call", "encounter", "loitering", "position_jump",
               "mmsi_conflict", "identity_change", "invalid_identity", "activity_surge")
# first/last: the first and last supporting position of that vessel; key: another position the rule hinges on
# (closest approach, the impossible position of a jump); static: a statics row (identity events).
ROLES = ("first", "last", "key", "static")
# Event types that concern a port or area rather than one transmitter: their `mmsi` is 0 (the public contract
# gives every event an integer mmsi; 0 is never a ship's MMSI). make_events turns a null mmsi of these into 0.
AREA_TYPES = ("activity_surge",)
CONFIDENCE_DECIMALS = 9  # event confidences are rounded to this many decimals

CONTRACT_KEYS = ("event_id", "type", "mmsi", "other_mmsi", "start", "end", "lat", "lon", "port", "confidence",
                 "details", "positions", "segment_id", "config_sha256", "detector_version")
CSV_COLUMNS = ("event_id", "type", "mmsi", "other_mmsi", "start", "end", "lat", "lon", "port_name", "port_locode",
               "port_lat", "port_lon", "confidence", "details", "positions", "segment_id", "config_sha256",
               "detector_version")

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
_ROW_KEYS = frozenset(EVENTS.names) | {"id_extra"}


def event_id(type: str, mmsi: int | None, other_mmsi: int | None, start: Any, end: Any,
             extra: Mapping[str, Any] | None = None) -> str:
    """Deterministic id of an event from its defining fields.

    The id is the first 32 hex digits of the SHA-256 of the compact JSON text (keys sorted, ASCII)
    ``[type, mmsi, other_mmsi, start_us, end_us, extra]``, where ``start_us``/``end_us`` are microseconds since
    1970-01-01 UTC and ``extra`` is ``{}`` when not given. It depends only on these values, never on the engine,
    the run or the order of rows, so a rerun gives the same ids.

    Parameters
    ----------
    type
        Event type, one of :data:`EVENT_TYPES`.
    mmsi, other_mmsi
        The vessels, in the event's own order (an encounter's two mirrored rows get different ids).
    start, end
        Timezone-aware ``datetime``, ``numpy.datetime64`` (UTC), Arrow timestamp scalar, ISO 8601 text with a zone,
        or integer microseconds since the epoch.
    extra
        Further defining fields when the above do not make an event unique (e.g. ``{"port": "RUVVO"}`` for a dark
        port call candidate, ``{"field": "shipname"}`` for an identity change). Use strings and integers.

    Returns
    -------
    str
        32 lowercase hex digits.
    """
    payload = [type, _opt_int(mmsi), _opt_int(other_mmsi), to_us(start), to_us(end), dict(extra or {})]
    return hashlib.sha256(_ID_JSON.encode(payload).encode("ascii")).hexdigest()[:32]


# one encoder each, built once (json.dumps with options builds a new encoder per call); same text as json.dumps
_ID_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False)
_DETAILS_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def to_us(value: Any) -> int:
    """Microseconds since 1970-01-01 UTC of a time given in any of the forms :func:`event_id` accepts."""
    if type(value) is int:  # the common case first
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"time {value.isoformat()} has no time zone; give UTC times (tzinfo=datetime.timezone.utc)")
        return (value - _EPOCH) // _US
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise ValueError("time is NaT")
        return int(value.astype("datetime64[us]").astype(np.int64))
    if isinstance(value, pa.TimestampScalar):
        if not value.is_valid or value.type.tz is None:
            raise ValueError(f"time {value} is null or has no time zone")
        return value.cast(pa.timestamp("us", tz="UTC")).value
    raise ValueError(f"not a time: {value!r}")


def make_events(rows: Iterable[Mapping[str, Any]] | pa.Table, *, config_sha256: str | None = None,
                detector_version: str | None = None) -> pa.Table:
    """Build a validated table of :data:`~watchkeeper.schema.EVENTS` from rows.

    Parameters
    ----------
    rows
        Mappings (or a table) with the fields of ``EVENTS``. ``event_id`` may be left out: it is then computed by
        :func:`event_id` from the row's fields and its optional ``id_extra`` mapping (not stored). ``details`` may
        be a mapping or JSON text (stored as canonical JSON text); ``positions`` may be a list of refs (``n`` is
        then their number) or ``{"n", "refs"}``; optional fields may be left out.
    config_sha256, detector_version
        Values for rows that do not carry them.

    Returns
    -------
    pyarrow.Table
        Sorted by mmsi, start, type and event_id, so any engine gives the same table.

    Raises
    ------
    ValueError
        When a row is incomplete or breaks a rule of :func:`validate_events`; the message names the row.
    """
    if isinstance(rows, pa.Table):
        rows = rows.to_pylist()
    defaults = (config_sha256, detector_version)
    values = []  # one tuple per row, in EVENTS order (see _row)
    own_ids = True  # every event_id was computed here (so is 32 hex digits)
    for i, row in enumerate(rows):
        try:
            v = _fast_row(row, defaults)
        except Exception:  # anything unusual: the general path below gives the result or the error
            v = None
        try:
            if v is None:
                v = _row(row, defaults)
        except KeyError as e:
            raise ValueError(f"event row {i}: missing field {e.args[0]!r}") from None
        except (TypeError, ValueError, AttributeError) as e:
            raise ValueError(f"event row {i}: {e}") from None
        if own_ids and row.get("event_id"):
            own_ids = False
        values.append(v)
    try:
        table = _table(values)
    except Exception:  # a value Arrow refuses (e.g. an mmsi beyond int32): let from_pydict raise as it always has
        table = _table_from_pydict(values)
    if not values:
        return table
    return _checked_and_sorted(table, own_ids=own_ids)


def events_from_columns(type: str, *, mmsi, start_us, end_us, confidence, details: Mapping[str, Any],
                        refs: list[tuple[str, Any, Any, Any, Any]], n_positions, other_mmsi=None, lat=None, lon=None,
                        port: Mapping[str, Any] | None = None, segment_id=None,
                        id_extra: Mapping[str, Any] | None = None, config_sha256: str,
                        detector_version: str) -> pa.Table:
    """:func:`make_events` for a batch of events of one ``type`` given column by column: the same table (ids,
    details text and rounding alike) without a mapping per event, for the detectors that emit many events.

    ``mmsi``, ``start_us``, ``end_us`` (integer microseconds), ``confidence``, ``n_positions`` and the optional
    ``other_mmsi``, ``lat``, ``lon``, ``segment_id`` are sequences of one value per event (NumPy arrays or lists;
    ``None`` for a column of nulls); ``port`` maps ``name``, ``locode``, ``lat`` and ``lon`` to such sequences;
    ``details`` and ``id_extra`` map each key to one value per event (``None`` is JSON null in details, and leaves
    the key out of that event's ``id_extra``). ``refs`` lists the position references of every event in order,
    each ``(role, mmsi, source_id, line, present)``, ``present`` a boolean sequence saying which events have that
    reference (``None``: all).
    """
    n = len(start_us)
    mmsi_l, start_l, end_l = _ints(mmsi), _ints(start_us), _ints(end_us)
    other_l = [None] * n if other_mmsi is None else _opt_ints(other_mmsi)
    extra_texts = _json_objects(id_extra or {}, n, ascii=True, drop_null=True)
    head = "[" + "".join(_ID_C([type], 0))[1:-1] + ","
    ids = [hashlib.sha256(f"{head}{m},{'null' if o is None else o},{a},{b},{x}]".encode("ascii")).hexdigest()[:32]
           for m, o, a, b, x in zip(mmsi_l, other_l, start_l, end_l, extra_texts)]
    conf = [None if c is None else round(float(c), CONFIDENCE_DECIMALS) for c in _pylist(confidence)]
    k = len(refs)
    present = np.ones((n, k), bool)
    ref_cols = [np.empty((n, k), np.int64) for _ in range(3)]
    for j, (_, m, src, line, mask) in enumerate(refs):
        if mask is not None:
            present[:, j] = np.asarray(mask, bool)
        for col, v in zip(ref_cols, (m, src, line)):
            col[:, j] = np.asarray(v, np.int64)
    keep = present.ravel()
    roles = np.array([r[0] for r in refs], object)
    flat = pa.StructArray.from_arrays(
        [pa.array(c.ravel()[keep], f.type) for c, f in zip(ref_cols, _REF_FIELDS[:3])]
        + [pa.array(np.broadcast_to(roles, (n, k)).ravel()[keep], _REF_FIELDS[3].type)], fields=_REF_FIELDS)
    offsets = np.r_[0, np.cumsum(present.sum(axis=1))].astype(np.int32)
    support = pa.StructArray.from_arrays(
        [pa.array(np.asarray(n_positions, np.int64), pa.int32()),
         pa.ListArray.from_arrays(pa.array(offsets), flat, type=_SUPPORT_FIELDS[1].type)], fields=_SUPPORT_FIELDS)
    port = port or {}
    values = {"event_id": ids, "type": [type] * n, "mmsi": mmsi_l, "other_mmsi": other_l, "start": start_l,
              "end": end_l, "lat": lat, "lon": lon, "port_name": port.get("name"), "port_locode": port.get("locode"),
              "port_lat": port.get("lat"), "port_lon": port.get("lon"), "confidence": conf,
              "details": _json_objects(details, n, ascii=False), "segment_id": segment_id,
              "config_sha256": [config_sha256] * n, "detector_version": [detector_version] * n}
    arrays = [support if f.name == "positions" else
              pa.nulls(n, f.type) if values[f.name] is None else pa.array(_pylist(values[f.name]), f.type)
              for f in EVENTS]
    table = pa.Table.from_arrays(arrays, schema=EVENTS)
    if not n:
        return table
    return _checked_and_sorted(table, own_ids=True)


def _checked_and_sorted(table: pa.Table, *, own_ids: bool) -> pa.Table:
    """A batch built here, checked (every details text was encoded from a mapping) and in the canonical order."""
    _check_rows(table, details_are_objects=True, own_ids=own_ids)
    return table.sort_by([("mmsi", "ascending"), ("start", "ascending"), ("type", "ascending"),
                          ("event_id", "ascending")])


def rounded(values, decimals: int = 6) -> list:
    """Each value as Python's ``round(value, decimals)`` (not NumPy's, which can differ in the last digit), ``None``
    for NaN and infinities: the form of the numbers in events' details."""
    return [round(v, decimals) if math.isfinite(v) else None for v in np.asarray(values, np.float64).tolist()]


def _pylist(values) -> list:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def _ints(values) -> list[int]:
    out = _pylist(values)
    for v in out:
        if type(v) is not int:
            _int(v)  # raises for a value that is not an integer
    return out


def _opt_ints(values) -> list[int | None]:
    return [None if v is None else _int(v) for v in _pylist(values)]


def _json_objects(columns: Mapping[str, Any], n: int, *, ascii: bool, drop_null: bool = False) -> list[str]:
    """The canonical JSON text (keys sorted, compact: what :func:`make_events` stores) of the ``n`` objects whose
    values ``columns`` gives key by key; ``drop_null``: a ``None`` value leaves its key out of that object."""
    if not columns:
        return ["{}"] * n
    text = json.encoder.encode_basestring_ascii if ascii else json.encoder.encode_basestring
    keys = sorted(columns)
    template = "{" + ",".join(f"{text(k).replace('%', '%%')}:%s" for k in keys) + "}"
    cols = [_json_values(_pylist(columns[k]), ascii) for k in keys]
    if any(len(c) != n for c in cols):
        raise ValueError(f"details columns must have {n} values each")
    if not drop_null:
        return [template % values for values in zip(*cols)]
    names = [text(k) for k in keys]
    return [template % values if "null" not in values else
            "{" + ",".join(f"{k}:{v}" for k, v in zip(names, values) if v != "null") + "}" for values in zip(*cols)]


def _json_values(values: list, ascii: bool) -> list[str]:
    """Each value as the JSON text the event encoders write (``allow_nan=False``: a NaN or infinity raises)."""
    encode = _VALUE_ASCII if ascii else _VALUE_TEXT
    out = [encode[type(v)](v) if type(v) in encode else "".join((_ID_C if ascii else _DETAILS_C)(v, 0))
           for v in values]
    if _NON_FINITE.intersection(out):
        raise ValueError("details hold a value that is not a finite number")
    return out


_NON_FINITE = frozenset(("nan", "inf", "-inf"))
_VALUE_TEXT = {float: float.__repr__, int: int.__repr__, bool: lambda v: "true" if v else "false",
               type(None): lambda v: "null", str: json.encoder.encode_basestring}
_VALUE_ASCII = {**_VALUE_TEXT, str: json.encoder.encode_basestring_ascii}


# A row's values, in EVENTS order: event_id, type, mmsi, other_mmsi, start, end (microseconds), lat, lon,
# port_name, port_locode, port_lat, port_lon, confidence, details (text), positions ((n, [(mmsi, source_id, line,
# role), ...])), segment_id, config_sha256, detector_version. _row is the general path, with the rules and error
# messages; _fast_row gives the same values for the common types faster, or None to leave the row to _row.

def _row(row: Mapping[str, Any], defaults: tuple[str | None, str | None]) -> tuple:
    if not _ROW_KEYS.issuperset(row):
        unknown = sorted(set(row) - _ROW_KEYS)
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; valid: {', '.join(sorted(_ROW_KEYS))}")
    get = row.get
    start, end = to_us(row["start"]), to_us(row["end"])
    mmsi, other = _opt_int(get("mmsi")), _opt_int(get("other_mmsi"))
    if mmsi is None and get("type") in AREA_TYPES:
        mmsi = 0
    eid = get("event_id") or event_id(row["type"], mmsi, other, start, end, get("id_extra"))
    details = _canonical_details(get("details"))
    support = _support(get("positions"))
    confidence = get("confidence")
    # 9 decimals: far finer than any rule's meaning, and the same whatever batch of events the value was
    # computed in (vectorised math can differ in the last bit with an element's place in the array)
    confidence = None if confidence is None else round(float(confidence), CONFIDENCE_DECIMALS)
    sha, version = get("config_sha256"), get("detector_version")
    return (eid, get("type"), mmsi, other, start, end, get("lat"), get("lon"), get("port_name"),
            get("port_locode"), get("port_lat"), get("port_lon"), confidence, details, support, get("segment_id"),
            defaults[0] if sha is None else sha, defaults[1] if version is None else version)


def _fast_row(row: Any, defaults: tuple[str | None, str | None]) -> tuple | None:
    # The common types (a dict row of Python ints, floats and strings, details a dict, positions {"n", "refs"}),
    # with the same rules and result as _row. On anything else it returns None or raises, and the caller runs
    # _row for the error message; it has no side effects (it never consumes an iterator), so that is safe.
    if type(row) is not dict or not _ROW_KEYS.issuperset(row):
        return None
    get = row.get
    start, end = row["start"], row["end"]
    if type(start) is not int:
        start = to_us(start)
    if type(end) is not int:
        end = to_us(end)
    mmsi, other = get("mmsi"), get("other_mmsi")
    if type(mmsi) is not int:
        mmsi = _opt_int(mmsi)
        if mmsi is None and get("type") in AREA_TYPES:
            mmsi = 0
    if other is not None and type(other) is not int:
        other = _int(other)
    eid = get("event_id")
    if not eid:  # event_id(), with the values already converted and the encoder built once
        extra = get("id_extra")
        payload = [row["type"], mmsi, other, start, end, extra if type(extra) is dict else dict(extra or {})]
        eid = hashlib.sha256("".join(_ID_C(payload, 0)).encode("ascii")).hexdigest()[:32]
    details = get("details")
    if type(details) is dict:
        details = "".join(_DETAILS_C(details, 0))  # = _DETAILS_JSON.encode(details)
    elif details is None or type(details) is str:
        details = _canonical_details(details)
    else:
        return None
    support = _fast_support(get("positions"))
    if support is None:
        return None
    confidence = get("confidence")
    if confidence is not None:
        confidence = round(float(confidence), CONFIDENCE_DECIMALS)
    sha, version = get("config_sha256"), get("detector_version")
    return (eid, get("type"), mmsi, other, start, end, get("lat"), get("lon"), get("port_name"),
            get("port_locode"), get("port_lat"), get("port_lon"), confidence, details, support, get("segment_id"),
            defaults[0] if sha is None else sha, defaults[1] if version is None else version)


def _fast_support(value: Any) -> tuple[int, list] | None:
    # _support for {"n": int, "refs": [dict, ...]} of Python ints; _support itself for the other shapes it reads
    # without consuming them (None, list, tuple); None (leave the row to _row) for the rest
    refs = value.get("refs") if type(value) is dict else None
    if type(refs) is not list:
        if value is None or type(value) in (list, tuple) or (
                type(value) is dict and (refs is None or type(refs) is tuple)):
            return _support(value)
        return None
    out = []
    for r in refs:
        if type(r) is not dict:
            return _support(value)
        ref = m, s, line, role = _REF_GET(r)
        if type(m) is not int or type(s) is not int or type(line) is not int or type(role) is not str \
                or role not in _ROLE_SET:
            return _support(value)
        out.append(ref)
    n = value.get("n")
    if n is None:
        n = len(out)
    elif type(n) is not int or n < 0:
        return _support(value)
    return n, out


_ROLE_SET = frozenset(ROLES)
_REF_GET = operator.itemgetter("mmsi", "source_id", "line", "role")
# The C encoders behind _ID_JSON.encode and _DETAILS_JSON.encode (same options), built once instead of per call.
# Without circular-reference markers, so they can be shared: circular data fails here with RecursionError and
# the general path then gives the usual error.
_ID_C = (c_make_encoder(None, _ID_JSON.default, json.encoder.encode_basestring_ascii, None, ":", ",", True, False,
                        False) if c_make_encoder is not None else lambda o, _: (_ID_JSON.encode(o),))
_DETAILS_C = (c_make_encoder(None, _DETAILS_JSON.default, json.encoder.encode_basestring, None, ":", ",", True,
                             False, False) if c_make_encoder is not None else lambda o, _: (_DETAILS_JSON.encode(o),))


def _table(values: list[tuple]) -> pa.Table:
    # column-wise: the flat columns as Arrow arrays of the schema's types, positions from flat lists of refs
    cols = list(zip(*values)) if values else [()] * len(EVENTS)
    ns, offsets, flat = [], [0], []
    for n, refs in cols[_POS]:
        ns.append(n)
        flat += refs
        offsets.append(len(flat))
    ref_cols = list(zip(*flat)) if flat else [()] * 4
    refs = pa.StructArray.from_arrays([pa.array(c, f.type) for c, f in zip(ref_cols, _REF_FIELDS)],
                                      fields=_REF_FIELDS)
    lists = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), refs, type=_SUPPORT_FIELDS[1].type)
    positions = pa.StructArray.from_arrays([pa.array(ns, pa.int32()), lists], fields=_SUPPORT_FIELDS)
    arrays = [positions if j == _POS else pa.array(c, f.type) for j, (c, f) in enumerate(zip(cols, EVENTS))]
    return pa.Table.from_arrays(arrays, schema=EVENTS)


def _table_from_pydict(values: list[tuple]) -> pa.Table:
    # the plain way, positions as dicts: slower, used to raise Arrow's own error about a value
    cols = {n: [] for n in EVENTS.names}
    for v in values:
        for n, x in zip(EVENTS.names, v):
            cols[n].append(x)
    cols["positions"] = [{"n": n, "refs": [dict(zip(("mmsi", "source_id", "line", "role"), r)) for r in refs]}
                         for n, refs in cols["positions"]]
    return pa.Table.from_pydict(cols, schema=EVENTS)


_POS = EVENTS.names.index("positions")
_SUPPORT_FIELDS = list(EVENTS.field("positions").type)
_REF_FIELDS = list(_SUPPORT_FIELDS[1].type.value_type)


def _canonical_details(details: Any) -> str:
    if details is None:
        return "{}"
    obj = json.loads(details) if isinstance(details, str) else details
    if not isinstance(obj, Mapping):
        raise ValueError(f"details must be a JSON object, not {details!r}")
    return _DETAILS_JSON.encode(obj)


def _support(value: Any) -> tuple[int, list]:
    if value is None:
        return 0, []
    if isinstance(value, Mapping):
        refs, n = list(value.get("refs") or []), value.get("n")
    else:
        refs, n = list(value), None
    out = []
    for r in refs:
        if not isinstance(r, Mapping):
            raise ValueError(f"a position ref must be a mapping with mmsi, source_id, line, role, not {r!r}")
        if r.get("role") not in ROLES:
            raise ValueError(f"position ref role {r.get('role')!r} is not one of {', '.join(ROLES)}")
        out.append((_int(r["mmsi"]), _int(r["source_id"]), _int(r["line"]), r["role"]))
    n = len(out) if n is None else _int(n)
    if n < 0:
        raise ValueError(f"positions.n must be >= 0, not {n}")
    return n, out


def _int(v: Any) -> int:
    if type(v) is int:
        return v
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ValueError(f"expected an integer, not {v!r}")
    return int(v)


def _opt_int(v: Any) -> int | None:
    return None if v is None else _int(v)


def validate_events(table: pa.Table, *, details_are_objects: bool = False) -> None:
    """Check that ``table`` is a valid batch of events; raise ``ValueError`` naming the first offending row.

    Rules: the schema is ``EVENTS``; required fields are set; ``type`` is known; ``mmsi`` is never null, is
    0 for area events and 1-999999999 otherwise (``other_mmsi`` null or 1-999999999); ``start <= end``; ``confidence`` is 0-1; coordinates are in range and
    ``lat``/``lon`` are null together; a port has a name, lat and lon (and no port fields without a name);
    ``details`` is a JSON object; position ref roles are known; ids are 32 hex digits and unique;
    ``config_sha256`` is 64 hex digits. ``details_are_objects`` skips parsing ``details`` when the caller made
    each one from a mapping.
    """
    if not table.schema.equals(EVENTS, check_metadata=False):
        got = {f.name: (str(f.type), f.nullable) for f in table.schema}
        want = {f.name: (str(f.type), f.nullable) for f in EVENTS}
        diff = [n for n in dict.fromkeys([*want, *got]) if got.get(n) != want.get(n)]
        raise ValueError(f"not the EVENTS schema; fields that differ: {', '.join(diff)}")
    _check_rows(table, details_are_objects=details_are_objects)


def _check_rows(table: pa.Table, *, details_are_objects: bool, own_ids: bool = False) -> None:
    # the rules of validate_events on the values of a table of the EVENTS schema; own_ids: every event_id was
    # computed by event_id(), so is 32 hex digits. Constants are prebuilt Arrow scalars and arrays of the column
    # types: converting a Python value for each call costs far more than the check itself on small tables.
    for f in EVENTS:
        if not f.nullable and table[f.name].null_count:
            _check(table, pc.is_null(table[f.name]), f"{f.name} is null")
    _check(table, pc.invert(pc.is_in(table["type"], _C["types"])), f"type is not one of {', '.join(EVENT_TYPES)}")
    mmsi = table["mmsi"]
    if mmsi.null_count:
        _check(table, pc.is_null(mmsi), "mmsi is null")
    area = pc.is_in(table["type"], _C["area_types"])
    _check(table, pc.and_(area, pc.not_equal(mmsi, _C["i0"])), f"mmsi is not 0 for {', '.join(AREA_TYPES)}")
    _check(table, pc.and_(pc.invert(area), pc.or_(pc.less(mmsi, _C["i1"]), pc.greater(mmsi, _C["imax"]))),
           "mmsi is not between 1 and 999999999")
    _check(table, pc.or_(pc.less(table["other_mmsi"], _C["i1"]), pc.greater(table["other_mmsi"], _C["imax"])),
           "other_mmsi is not between 1 and 999999999")
    _check(table, pc.greater(table["start"], table["end"]), "start is after end")
    conf = table["confidence"]
    _check(table, pc.or_(pc.invert(pc.is_finite(conf)), pc.or_(pc.less(conf, _C["f0"]), pc.greater(conf, _C["f1"]))),
           "confidence is not between 0 and 1")
    for lat, lon in (("lat", "lon"), ("port_lat", "port_lon")):
        _check(table, pc.or_(pc.invert(pc.is_finite(table[lat])), pc.greater(pc.abs(table[lat]), _C["f90"])),
               f"{lat} is not between -90 and 90")
        _check(table, pc.or_(pc.invert(pc.is_finite(table[lon])), pc.greater(pc.abs(table[lon]), _C["f180"])),
               f"{lon} is not between -180 and 180")
        if table[lat].null_count or table[lon].null_count:
            _check(table, pc.not_equal(pc.is_null(table[lat]), pc.is_null(table[lon])),
                   f"only one of {lat}, {lon} is set")
    no_name = pc.is_null(table["port_name"])
    _check(table, pc.and_(pc.invert(no_name), pc.is_null(table["port_lat"])), "port_name without port_lat, port_lon")
    _check(table, pc.and_(no_name, pc.or_(pc.is_valid(table["port_lat"]), pc.is_valid(table["port_locode"]))),
           "port fields without port_name")
    if not own_ids:
        _check(table, pc.invert(pc.match_substring_regex(table["event_id"], "^[0-9a-f]{32}$")),
               "event_id is not 32 lowercase hex digits")
    _check(table, pc.invert(pc.match_substring_regex(table["config_sha256"], "^[0-9a-f]{64}$")),
           "config_sha256 is not 64 lowercase hex digits")
    if pc.count_distinct(table["event_id"]).as_py() != table.num_rows:
        ids = table["event_id"].to_pylist()
        dup = next(i for i, e in enumerate(ids) if ids.index(e) != i)
        raise ValueError(f"event row {dup}: event_id {ids[dup]} is not unique")
    for i, text in enumerate([] if details_are_objects else table["details"].to_pylist()):
        try:
            ok = isinstance(json.loads(text), dict)
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"event row {i} ({table['event_id'][i]}): details is not the text of a JSON object")
    refs = pc.list_flatten(pc.struct_field(table["positions"], "refs"))
    bad = pc.invert(pc.is_in(pc.struct_field(refs, "role"), _C["roles"]))
    if pc.any(bad).as_py():
        raise ValueError(f"a position ref role is not one of {', '.join(ROLES)}")


def _check(table: pa.Table, bad: pa.ChunkedArray | pa.Array, message: str) -> None:
    if pc.any(bad).as_py():  # nulls are skipped: a rule on a null value does not fail
        i = pc.index(pc.fill_null(bad, _C["false"]), True).as_py()
        raise ValueError(f"event row {i} ({table['event_id'][i]}): {message}")


_C = {"types": pa.array(EVENT_TYPES), "area_types": pa.array(AREA_TYPES), "roles": pa.array(ROLES),
      "i0": pa.scalar(0, pa.int32()), "i1": pa.scalar(1, pa.int32()), "imax": pa.scalar(999_999_999, pa.int32()),
      "f0": pa.scalar(0.0), "f1": pa.scalar(1.0), "f90": pa.scalar(90.0), "f180": pa.scalar(180.0),
      "false": pa.scalar(False)}


# ---------------------------------------------------------------------------------------------------- exports


def to_records(table: pa.Table) -> Iterator[dict[str, Any]]:
    """The JSON Lines objects of the public contract, one per event, in table order."""
    if not table.schema.equals(EVENTS, check_metadata=False):
        validate_events(table)  # raises with the fields that differ
    for r in table.to_pylist():
        port = None
        if r["port_name"] is not None:
            port = {"name": r["port_name"], "lat": r["port_lat"], "lon": r["port_lon"], "locode": r["port_locode"]}
        yield {"event_id": r["event_id"], "type": r["type"], "mmsi": r["mmsi"], "other_mmsi": r["other_mmsi"],
               "start": iso_utc(r["start"]), "end": iso_utc(r["end"]), "lat": r["lat"], "lon": r["lon"],
               "port": port, "confidence": r["confidence"], "details": json.loads(r["details"]),
               "positions": r["positions"], "segment_id": r["segment_id"], "config_sha256": r["config_sha256"],
               "detector_version": r["detector_version"]}


def iso_utc(t: dt.datetime) -> str:
    """ISO 8601 UTC text ending in ``Z``: ``2024-03-07T12:00:00Z``, with ``.ffffff`` only when not zero."""
    t = t.astimezone(dt.UTC)
    frac = f".{t.microsecond:06d}" if t.microsecond else ""
    return f"{t:%Y-%m-%dT%H:%M:%S}{frac}Z"


def _json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _writer(fileobj: IO) -> Any:
    binary = isinstance(fileobj, (io.RawIOBase, io.BufferedIOBase)) or "b" in getattr(fileobj, "mode", "")
    return (lambda s: fileobj.write(s.encode("utf-8"))) if binary else fileobj.write


def to_jsonl(table: pa.Table, fileobj: IO) -> int:
    """Write the events as JSON Lines (the public contract); return the number of lines written.

    ``fileobj`` is a text or binary file object (UTF-8 is written to a binary one).
    """
    write, n = _writer(fileobj), 0
    for rec in to_records(table):
        write(_json(rec) + "\n")
        n += 1
    return n


def to_csv(table: pa.Table, fileobj: IO) -> int:
    """Write the events as CSV with a header (:data:`CSV_COLUMNS`); return the number of data rows.

    The port is flattened into ``port_name``, ``port_locode``, ``port_lat``, ``port_lon``; ``details`` and
    ``positions`` are JSON text; times are ISO 8601 UTC; nulls are empty cells.
    """
    write, n = _writer(fileobj), 0
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(CSV_COLUMNS)
    for rec in to_records(table):
        port = rec["port"] or {}
        flat = {**rec, "port_name": port.get("name"), "port_locode": port.get("locode"),
                "port_lat": port.get("lat"), "port_lon": port.get("lon"), "details": _json(rec["details"]),
                "positions": _json(rec["positions"])}
        out.writerow(["" if flat[c] is None else flat[c] for c in CSV_COLUMNS])
        n += 1
        if buf.tell() > 1 << 20:
            write(buf.getvalue())
            buf.seek(0)
            buf.truncate()
    write(buf.getvalue())
    return n


def to_geojson(table: pa.Table, fileobj: IO) -> int:
    """Write the events as a GeoJSON FeatureCollection (RFC 7946); return the number of features.

    Each feature has ``id`` = event_id, a Point geometry ``[lon, lat]`` (null for events without a position) and
    the JSON Lines object as its properties.
    """
    write, n = _writer(fileobj), 0
    write('{"type":"FeatureCollection","features":[')
    for rec in to_records(table):
        geom = None if rec["lat"] is None else {"type": "Point", "coordinates": [rec["lon"], rec["lat"]]}
        feature = {"type": "Feature", "id": rec["event_id"], "geometry": geom, "properties": rec}
        write(("\n" if n == 0 else ",\n") + _json(feature))
        n += 1
    write("\n]}\n")
    return n


def read_jsonl(fileobj: IO, *, name: str = "<events>") -> pa.Table:
    """Read a JSON Lines export back into a validated events table (the inverse of :func:`to_jsonl`).

    Raises
    ------
    InputError
        When a line is not a JSON object of the contract or the events break a rule of :func:`validate_events`;
        the message names ``name`` and the line.
    """
    rows = []
    for lineno, line in enumerate(fileobj, 1):
        line = line.decode("utf-8") if isinstance(line, bytes) else line
        if not line.strip():
            continue
        where = f"{name}:{lineno}"
        try:
            rows.append(_row_from_record(json.loads(line)))
        except (ValueError, TypeError, KeyError) as e:
            raise InputError(f"not an event of the JSON Lines contract: {e}", where=where,
                             fix=f"each line must be one JSON object with keys {', '.join(CONTRACT_KEYS)}") from None
    try:
        return make_events(rows)
    except ValueError as e:
        raise InputError(f"invalid events: {e} (rows counted from 0 over non-blank lines)", where=name,
                         fix="check the file was written by watchkeeper.detect.events.to_jsonl") from None


def _row_from_record(rec: Any) -> dict[str, Any]:
    if not isinstance(rec, dict):
        raise ValueError("the line is not a JSON object")
    missing = [k for k in CONTRACT_KEYS if k not in rec]
    if missing:
        raise ValueError(f"missing key(s) {', '.join(missing)}")
    for k in ("start", "end"):
        if not isinstance(rec[k], str) or not rec[k].endswith("Z"):
            raise ValueError(f"{k} must be ISO 8601 UTC text ending in Z, not {rec[k]!r}")
    for k in ("lat", "lon", "confidence"):
        if rec[k] is not None and (isinstance(rec[k], bool) or not isinstance(rec[k], (int, float))):
            raise ValueError(f"{k} must be a number, not {rec[k]!r}")
    port = rec["port"]
    if port is not None and not (isinstance(port, dict) and {"name", "lat", "lon"} <= port.keys()):
        raise ValueError(f"port must be null or an object with name, lat, lon (and locode), not {port!r}")
    if not isinstance(rec["details"], dict):
        raise ValueError("details must be an object")
    port = port or {}
    return {"event_id": rec["event_id"], "type": rec["type"], "mmsi": rec["mmsi"], "other_mmsi": rec["other_mmsi"],
            "start": rec["start"], "end": rec["end"], "lat": rec["lat"], "lon": rec["lon"],
            "port_name": port.get("name"), "port_locode": port.get("locode"), "port_lat": port.get("lat"),
            "port_lon": port.get("lon"), "confidence": rec["confidence"], "details": rec["details"],
            "positions": rec["positions"], "segment_id": rec["segment_id"], "config_sha256": rec["config_sha256"],
            "detector_version": rec["detector_version"]}
