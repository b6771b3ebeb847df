"""make_events' fast path for the common row types gives the same table (and errors) as its general path."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pyarrow as pa
import pytest

from watchkeeper.detect import events as ev
from watchkeeper.detect.events import AREA_TYPES, EVENT_TYPES, ROLES, make_events, validate_events

SHA = "ab" * 32
T0 = 1_709_849_400_000_000  # 2024-03-07T22:10Z in microseconds
UTC = dt.UTC


def _reference(rows, **kw):
    """make_events as a straightforward loop: the general path for every row, then from_pydict."""
    defaults = (kw.get("config_sha256"), kw.get("detector_version"))
    values = []
    for i, row in enumerate(rows):
        try:
            values.append(ev._row(row, defaults))
        except KeyError as e:
            raise ValueError(f"event row {i}: missing field {e.args[0]!r}") from None
        except (TypeError, ValueError, AttributeError) as e:
            raise ValueError(f"event row {i}: {e}") from None
    table = ev._table_from_pydict(values)
    validate_events(table, details_are_objects=True)
    return table.sort_by([("mmsi", "ascending"), ("start", "ascending"), ("type", "ascending"),
                          ("event_id", "ascending")])


def _text(rnd: random.Random) -> str:
    return rnd.choice(["RUVVO", "unlocode:DEESS", "a\"b", "back\\slash", "tab\there", "é ü 港", "\u2028", "",
                       "emoji 🚢", "del\x7f", "nul\x00", "201000049-20250101T052148-0|201000049-20250101T055756-0"])


def _value(rnd: random.Random, depth: int = 0):
    kinds = ["float", "int", "bool", "none", "str", "npf"] + (["list", "dict"] if depth < 2 else [])
    k = rnd.choice(kinds)
    if k == "float":
        return rnd.choice([rnd.uniform(-1e3, 1e3), 0.1 + 0.2, 1e-05, 1e22, -0.0, 0.0, 5e-324, round(rnd.random(), 6)])
    if k == "int":
        return rnd.choice([0, -7, 2 ** 70, rnd.randrange(10 ** 9)])
    if k == "bool":
        return rnd.random() < 0.5
    if k == "none":
        return None
    if k == "str":
        return _text(rnd)
    if k == "npf":
        return np.float64(rnd.uniform(0, 100))
    if k == "list":
        return [_value(rnd, depth + 1) for _ in range(rnd.randrange(3))]
    return {_text(rnd) + str(j): _value(rnd, depth + 1) for j in range(rnd.randrange(4))}


def _ref(rnd: random.Random, mmsi: int) -> dict:
    num = rnd.choice([int, int, int, np.int64, np.int32])
    return {"mmsi": num(mmsi), "source_id": num(rnd.randrange(1, 4)), "line": num(rnd.randrange(10 ** 7)),
            "role": rnd.choice(ROLES)}


def _row(rnd: random.Random, k: int) -> dict:
    typ = rnd.choice(EVENT_TYPES)
    mmsi = rnd.randrange(200_000_000, 800_000_000)
    start = T0 + rnd.randrange(10 ** 11)
    end = start + rnd.choice([0, 1, rnd.randrange(10 ** 10)])
    row = {"type": typ, "mmsi": None if typ in AREA_TYPES and rnd.random() < 0.7 else (0 if typ in AREA_TYPES else mmsi),
           "start": start, "end": end, "confidence": rnd.choice([1, 0.5, rnd.random(), np.float64(rnd.random()), 0.123456789123])}
    # other time forms
    form = rnd.randrange(6)
    if form == 1:
        row["start"] = dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=start)
    elif form == 2:
        row["end"] = np.int64(end)
    elif form == 3:
        row["start"] = np.datetime64(start, "us")
    if rnd.random() < 0.3:
        row["other_mmsi"] = rnd.choice([None, rnd.randrange(200_000_000, 800_000_000), np.int64(244_000_000)])
    if rnd.random() < 0.2 and typ not in AREA_TYPES:
        row["mmsi"] = np.int32(mmsi)
    if rnd.random() < 0.8:
        row["lat"], row["lon"] = rnd.uniform(-90, 90), rnd.uniform(-180, 180)
    if rnd.random() < 0.4:
        row.update(port_name=_text(rnd), port_lat=rnd.uniform(-90, 90), port_lon=rnd.uniform(-180, 180),
                   port_locode=rnd.choice([None, "RUVVO"]))
    d = rnd.randrange(5)
    if d == 0:
        row["details"] = None
    elif d == 1:
        row["details"] = '{"b": 1, "a": [1.5, "x\\u00e9"], "c": {"z": null, "y": true}}'
    elif d != 2:
        row["details"] = {_text(rnd) + str(j): _value(rnd) for j in range(rnd.randrange(12))}
    p = rnd.randrange(5)
    refs = [_ref(rnd, mmsi) for _ in range(rnd.randrange(4))]
    if p == 0:
        row["positions"] = refs
    elif p == 1:
        row["positions"] = {"n": rnd.choice([len(refs), 500, np.int64(7)]), "refs": refs}
    elif p == 2:
        row["positions"] = {"refs": tuple(refs)}
    elif p == 3:
        row["positions"] = {"n": 0, "refs": None}
    if rnd.random() < 0.3:
        row["segment_id"] = f"{mmsi}-{k}"
    e = rnd.randrange(4)
    if e == 0:
        row["id_extra"] = {"port": _text(rnd), "n": rnd.randrange(-5, 10 ** 12), "gap": "0123abcd"}
    elif e == 1:
        row["id_extra"] = {"field": rnd.choice(["shipname", "imo"])}
    elif e == 2:
        row["id_extra"] = {"x": _value(rnd)}
    if rnd.random() < 0.1:
        row["event_id"] = f"{k:032x}"
    if rnd.random() < 0.1:
        row["detector_version"] = "x/2"
    return row


def random_rows(seed: int, n: int) -> list[dict]:
    rnd = random.Random(seed)
    return [_row(rnd, k) for k in range(n)]


@pytest.mark.parametrize("seed", range(4))
def test_fast_path_equals_the_reference_on_random_rows(seed):
    rows = random_rows(seed, 400)
    got = make_events(rows, config_sha256=SHA, detector_version="t/1")
    want = _reference(rows, config_sha256=SHA, detector_version="t/1")
    assert got.schema.equals(want.schema, check_metadata=True)
    assert got.equals(want)
    assert got.to_pylist() == want.to_pylist()


def test_rows_given_as_a_table_or_an_iterator():
    rows = [r for r in random_rows(9, 50) if not isinstance(r.get("details"), str)]
    want = _reference(rows, config_sha256=SHA, detector_version="t/1")
    assert make_events(iter(rows), config_sha256=SHA, detector_version="t/1").equals(want)


def _errors(rows):
    out = []
    for f in (make_events, _reference):
        try:
            f(rows, config_sha256=SHA, detector_version="t/1")
            out.append(None)
        except (ValueError, TypeError, pa.ArrowException) as e:  # Arrow's own errors pass through unchanged
            out.append(f"{type(e).__name__}: {e}")
    return out


BAD = [
    {"colour": "red"}, {"start": None}, {"start": "2024-03-07T22:10:00"}, {"start": True}, {"mmsi": True},
    {"mmsi": 1.5}, {"other_mmsi": "7"}, {"mmsi": 0}, {"mmsi": 2 ** 40}, {"type": "rendezvous"}, {"type": None},
    {"confidence": None}, {"confidence": "high"}, {"confidence": float("nan")}, {"confidence": 1.0000001},
    {"details": [1, 2]}, {"details": "{not json"}, {"details": {"x": float("inf")}}, {"details": {"x": object()}},
    {"details": {1: "a", "b": 2}}, {"positions": [{"mmsi": 1, "source_id": 1, "line": 1, "role": "middle"}]},
    {"positions": [{"mmsi": 1.0, "source_id": 1, "line": 1, "role": "key"}]}, {"positions": ["first"]},
    {"positions": {"n": -1, "refs": []}}, {"positions": {"n": True, "refs": []}},
    {"positions": [{"mmsi": 2 ** 40, "source_id": 1, "line": 1, "role": "key"}]}, {"positions": 5},
    {"positions": [{"mmsi": 1, "source_id": 1, "line": 1}]}, {"id_extra": {"x": object()}},
    {"id_extra": {1: "a", "b": 2}}, {"id_extra": {"x": float("nan")}}, {"id_extra": [1]}, {"event_id": "ABC"},
    {"event_id": 5}, {"config_sha256": "0" * 63}, {"lat": 95.0, "lon": 0.0}, {"lat": 1.0, "lon": None},
    {"lat": "north", "lon": 1.0}, {"port_name": "Rajin"}, {"port_locode": "KPRJN"}, {"end": T0 - 1},
]


@pytest.mark.parametrize("change", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_rows_give_the_same_error(change):
    good = {"type": "encounter", "mmsi": 273354260, "other_mmsi": 445114000, "start": T0, "end": T0 + 10,
            "lat": 1.0, "lon": 2.0, "confidence": 0.5, "details": {"a": 1}, "positions": {"n": 3, "refs": []}}
    rows = [dict(good, end=T0 + 5), {**good, **change}]
    got, want = _errors(rows)
    assert got == want


def test_circular_details_and_extra_give_the_same_error():
    d: dict = {}
    d["self"] = d
    base = {"type": "loitering", "mmsi": 273354260, "start": T0, "end": T0, "confidence": 0.5}
    for change in ({"details": d}, {"id_extra": {"x": d}}):
        got, want = _errors([{**base, **change}])
        assert got == want and "Circular reference" in got and "event row 0" in got


def test_duplicate_and_empty():
    row = {"type": "loitering", "mmsi": 273354260, "start": T0, "end": T0, "confidence": 0.5}
    assert _errors([row, dict(row)])[0] == _errors([row, dict(row)])[1]
    empty = make_events([])
    assert empty.equals(_reference([])) and empty.schema.equals(pa.schema(ev.EVENTS), check_metadata=True)


def _columns(seed: int, n: int) -> tuple[dict, list[dict]]:
    """A batch of one type as events_from_columns takes it, and the same events as make_events rows."""
    rnd = random.Random(seed)
    typ = rnd.choice([t for t in EVENT_TYPES if t not in AREA_TYPES])
    keys = [_text(rnd) + "%s" * (j == 0) + str(j) for j in range(rnd.randrange(0, 6))]
    details = {k: [_value(rnd) for _ in range(n)] for k in keys}
    extra = {"port": [_text(rnd) for _ in range(n)], "segment": [rnd.choice([None, _text(rnd)]) for _ in range(n)]} \
        if rnd.random() < 0.7 else None  # a None leaves the key out of that event's id
    mmsi = np.array([rnd.randrange(1, 10 ** 9) for _ in range(n)], np.int64)
    start = np.array([T0 + rnd.randrange(10 ** 12) for _ in range(n)], np.int64)
    end = start + np.array([rnd.randrange(10 ** 10) for _ in range(n)], np.int64)
    other = [rnd.choice([None, rnd.randrange(1, 10 ** 9)]) for _ in range(n)] if rnd.random() < 0.5 else None
    lat = [rnd.uniform(-90, 90) for _ in range(n)]
    lon = [rnd.uniform(-180, 180) for _ in range(n)]
    named = [rnd.random() < 0.6 for _ in range(n)]
    port = {"name": [_text(rnd) if p else None for p in named],
            "locode": [rnd.choice([None, "RUVVO"]) if p else None for p in named],
            "lat": [rnd.uniform(-90, 90) if p else None for p in named],
            "lon": [rnd.uniform(-180, 180) if p else None for p in named]}
    conf = np.array([rnd.random() for _ in range(n)])
    seg = [rnd.choice([None, _text(rnd)]) for _ in range(n)]
    refs = [(role, mmsi, np.array([rnd.randrange(100) for _ in range(n)]),
             np.array([rnd.randrange(1, 10 ** 12) for _ in range(n)]),
             None if j == 0 else np.array([rnd.random() < 0.5 for _ in range(n)]))
            for j, role in enumerate(rnd.sample(ROLES, rnd.randrange(1, 4)))]
    n_pos = np.array([rnd.randrange(0, 1000) for _ in range(n)])
    cols = dict(mmsi=mmsi, start_us=start, end_us=end, confidence=conf, details=details, refs=refs,
                n_positions=n_pos, other_mmsi=other, lat=lat, lon=lon, port=port, segment_id=seg, id_extra=extra,
                config_sha256=SHA, detector_version="x/1")
    rows = []
    for i in range(n):
        row = {"type": typ, "mmsi": int(mmsi[i]), "other_mmsi": None if other is None else other[i],
               "start": int(start[i]), "end": int(end[i]), "lat": lat[i], "lon": lon[i],
               "port_name": port["name"][i], "port_locode": port["locode"][i], "port_lat": port["lat"][i],
               "port_lon": port["lon"][i], "confidence": float(conf[i]),
               "details": {k: details[k][i] for k in keys}, "segment_id": seg[i],
               "positions": {"n": int(n_pos[i]), "refs": [
                   {"role": r, "mmsi": int(m[i]), "source_id": int(s[i]), "line": int(ln[i])}
                   for r, m, s, ln, keep in refs if keep is None or keep[i]]}}
        if extra is not None:
            row["id_extra"] = {k: v[i] for k, v in extra.items() if v[i] is not None}
        rows.append(row)
    return {"type": typ, **cols}, rows


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n", [0, 1, 40])
def test_events_from_columns_equals_make_events(seed, n):
    """Random batches (unicode and quotes in keys and values, '%' in keys, nulls, nested details, optional
    refs): the same table as make_events of the same events as rows, ids included."""
    cols, rows = _columns(seed, n)
    typ = cols.pop("type")
    got = ev.events_from_columns(typ, **cols)
    want = make_events(rows, config_sha256=SHA, detector_version="x/1")
    assert got.equals(want)
    assert got.to_pylist() == want.to_pylist()


def test_events_from_columns_refuses_what_make_events_refuses():
    cols, _ = _columns(1, 5)
    typ = cols.pop("type")
    with pytest.raises(ValueError, match="finite"):
        ev.events_from_columns(typ, **{**cols, "details": {"duration_h": [1.0, float("nan"), 2.0, 3.0, 4.0]}})
    with pytest.raises(ValueError, match="5 values"):
        ev.events_from_columns(typ, **{**cols, "details": {"duration_h": [1.0]}})
    with pytest.raises(ValueError, match="confidence"):
        ev.events_from_columns(typ, **{**cols, "confidence": np.full(5, 1.5)})
    with pytest.raises(ValueError, match="integer"):
        ev.events_from_columns(typ, **{**cols, "mmsi": [1.5] * 5})
