"""Identity detectors over the statics table: ``invalid_identity`` and ``identity_change``.

Rules (see ``docs/detections.md``; thresholds in ``watchkeeper.config`` sections of the same names):

* **MMSI forms** (ITU-R M.585, ``anchors-sanctions.md`` section 4.2). The MMSI is stored as an integer, so
  leading zeros are implicit: a value of 7 significant digits is the ``00MIDXXXX`` form. Recognised forms are
  ship ``MIDXXXXXX`` (first digit 2-7), group ship ``0MIDXXXXX``, coast/base station ``00MIDXXXX``, SAR aircraft
  ``111MIDXXX``, handheld VHF ``8MIDXXXXX``, craft associated with a parent ship ``98MIDXXXX``, aid to navigation
  ``99MIDXXXX`` and AIS-SART / MOB / EPIRB-AIS ``970``/``972``/``974xxyyyy`` (no MID). Anything else is an
  invalid form; a form with a MID whose MID is not in the ITU table is an unallocated MID; the configured
  placeholders are reported whatever their form.
* **IMO numbers** (section 4.1): 7 digits; ship check digit ``(7 d1 + 6 d2 + ... + 2 d6) mod 10 == d7``. With
  ``reject_company_imo`` a number passing only the company checksum (weights 8,6,4,2,9,7) is reported as such;
  without it, it is accepted.
* **Changes**: per MMSI in time order, a new normalised value of ship name, call sign, IMO or ship type
  (category), received at least ``min_observations`` times, that is more than ``typo_max_edits`` edits away
  from the current one. Nulls carry no value, so type-24 part A (name only) and part B (call sign, type) rows
  never look like changes. Plus a valid IMO carried by a new MMSI (a flag change when the MID differs).

The classification of MMSIs and IMO numbers is vectorised with NumPy. The change scan is Python, but only over
the MMSIs that carry more than one distinct normalised value of some field (found with an Arrow group-by), and
per such MMSI over its few static rows; name normalisation runs once per distinct raw string.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from watchkeeper.config import Config
from watchkeeper.detect.events import make_events

INVALID_VERSION = "invalid_identity/1"
CHANGE_VERSION = "identity_change/1"

# MMSI classes (details["form"]); `None` marks an MMSI that matches no form.
SHIP, GROUP, COAST, SAR_AIRCRAFT, HANDHELD, CRAFT, ATON, SART = (
    "ship", "group_ship", "coast_station", "sar_aircraft", "handheld_vhf", "craft_of_parent_ship",
    "aid_to_navigation", "sart_mob_epirb")

# How sure each rule is. An unallocated MID may be a MID allocated after the table's date, hence below 1.
_RULE_CONFIDENCE = {"placeholder_mmsi": 1.0, "mmsi_form": 1.0, "unallocated_mid": 0.9, "imo_length": 1.0,
                    "imo_check_digit": 1.0, "imo_company_number": 0.9}
# A renamed ship or a new call sign is a strong sign; a type change is often a crew's correction.
_FIELD_CONFIDENCE = {"shipname": 0.8, "callsign": 0.8, "imo": 0.9, "ship_type": 0.6}
FIELDS = ("shipname", "callsign", "imo", "ship_type")

_US_NULL = np.iinfo(np.int64).min


# ------------------------------------------------------------------------------------------------ MID table


@lru_cache(maxsize=1)
def mid_table() -> dict[int, str]:
    """The ITU MID table vendored in ``watchkeeper/data/itu_mid.csv``: ``{mid: allocated_to}``.

    A MID with several rows (306: three parts of the Netherlands) maps to their names joined by ``"; "``.
    """
    text = resources.files("watchkeeper").joinpath("data", "itu_mid.csv").read_text(encoding="utf-8")
    out: dict[int, str] = {}
    for row in csv.DictReader(io.StringIO(text)):
        mid = int(row["MID"])
        out[mid] = f"{out[mid]}; {row['Allocated_to']}" if mid in out else row["Allocated_to"]
    return out


def _allocated(mid: np.ndarray) -> np.ndarray:
    table = np.zeros(1000, dtype=bool)
    table[list(mid_table())] = True
    return table[np.clip(mid, 0, 999)] & (mid >= 0)


def flag_of(mmsi: int) -> tuple[int | None, str | None]:
    """``(mid, flag administration)`` of an MMSI of a form that carries a MID; ``(None, None)`` otherwise."""
    _form, mid = classify_mmsi(np.array([mmsi], dtype=np.int64))
    m = int(mid[0])
    return (None, None) if m < 0 else (m, mid_table().get(m))


# ------------------------------------------------------------------------------------------------ kernels


def classify_mmsi(mmsi: Any) -> tuple[np.ndarray, np.ndarray]:
    """Form and MID of each MMSI (vectorised).

    Returns
    -------
    form : numpy.ndarray of object
        One of the form names (:data:`SHIP`, ...), or ``None`` when the value matches no form.
    mid : numpy.ndarray of int64
        The MID the form carries, or -1 (no MID, or no form).
    """
    m = np.asarray(mmsi, dtype=np.int64)
    form = np.full(m.shape, None, dtype=object)
    mid = np.full(m.shape, -1, dtype=np.int64)
    nine = (m >= 100_000_000) & (m <= 999_999_999)
    d1 = np.where(nine, m // 100_000_000, -1)

    def put(mask: np.ndarray, name: str, mid_values: np.ndarray | None) -> None:
        mask = mask & (form == None)
        form[mask] = name
        if mid_values is not None:
            mid[mask] = mid_values[mask]

    put(nine & (d1 >= 2) & (d1 <= 7), SHIP, m // 1_000_000)
    put(nine & (m // 1_000_000 == 111), SAR_AIRCRAFT, (m // 1000) % 1000)
    put(nine & (d1 == 8), HANDHELD, (m // 100_000) % 1000)
    put(nine & np.isin(m // 1_000_000, (970, 972, 974)), SART, None)
    put(nine & (m // 10_000_000 == 98), CRAFT, (m // 10_000) % 1000)
    put(nine & (m // 10_000_000 == 99), ATON, (m // 10_000) % 1000)
    eight = (m >= 10_000_000) & (m <= 99_999_999)  # 0MIDXXXXX
    put(eight & (m // 10_000_000 >= 2) & (m // 10_000_000 <= 7), GROUP, m // 100_000)
    seven = (m >= 1_000_000) & (m <= 9_999_999)  # 00MIDXXXX
    put(seven & (m // 1_000_000 >= 2) & (m // 1_000_000 <= 7), COAST, m // 10_000)
    return form, mid


def mmsi_rule(mmsi: Any, placeholders: Iterable[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rule each MMSI breaks (vectorised): ``(rule, form, mid)``; ``rule`` is ``None`` for a valid MMSI.

    Rules, first match wins: ``placeholder_mmsi``, ``mmsi_form`` (no recognised form, including wrong length),
    ``unallocated_mid`` (the form's MID is not in the ITU table).
    """
    m = np.asarray(mmsi, dtype=np.int64)
    form, mid = classify_mmsi(m)
    rule = np.full(m.shape, None, dtype=object)
    no_form = form == None
    unallocated = (mid >= 0) & ~_allocated(mid)
    rule[unallocated] = "unallocated_mid"
    rule[no_form] = "mmsi_form"
    rule[np.isin(m, np.asarray(list(placeholders), dtype=np.int64))] = "placeholder_mmsi"
    return rule, form, mid


def _weighted(imo: np.ndarray, weights: tuple[int, ...]) -> np.ndarray:
    total = np.zeros(imo.shape, dtype=np.int64)
    for i, w in enumerate(weights):
        total += (imo // 10 ** (6 - i)) % 10 * w
    return total


def imo_rule(imo: Any, reject_company: bool = True) -> np.ndarray:
    """The rule each IMO number breaks (vectorised), ``None`` for a valid ship IMO number.

    Rules: ``imo_length`` (not 7 digits); ``imo_company_number`` (fails the ship check digit but passes the
    company checksum; reported only when ``reject_company`` is set, otherwise valid); ``imo_check_digit``
    (fails both).
    """
    n = np.asarray(imo, dtype=np.int64)
    seven = (n >= 1_000_000) & (n <= 9_999_999)
    ship_ok = _weighted(n, (7, 6, 5, 4, 3, 2)) % 10 == n % 10
    company_ok = (11 - _weighted(n, (8, 6, 4, 2, 9, 7)) % 11) % 10 == n % 10
    rule = np.full(n.shape, None, dtype=object)
    rule[~ship_ok & ~company_ok] = "imo_check_digit"
    if reject_company:
        rule[~ship_ok & company_ok] = "imo_company_number"
    rule[~seven] = "imo_length"
    return rule


def normalise_name(text: str | None) -> str | None:
    """Ship name for comparison: upper case, a leading M/V, MV, M.V., MT, MS, MY, S/Y, SV, SS... dropped,
    punctuation turned into spaces and runs of spaces collapsed; ``None`` when nothing is left."""
    if text is None:
        return None
    t = text.upper()
    stripped = _PREFIX.sub("", t, count=1)
    if stripped.strip(" ./-"):
        t = stripped
    t = " ".join(_PUNCT.sub(" ", t).split())
    return t or None


def normalise_callsign(text: str | None) -> str | None:
    """Call sign for comparison: upper case letters and digits only (``"OVIB 2"`` equals ``"OVIB2"``)."""
    if text is None:
        return None
    t = _NON_ALNUM.sub("", text.upper())
    return t or None


_PREFIX = re.compile(r"^\s*(?:M[ ./]{0,2}[VTSY]|S[ ./]{0,2}[VYS])[.]?(?:\s+|[./]\s*)")
_PUNCT = re.compile(r"[^0-9A-Z ]+")
_NON_ALNUM = re.compile(r"[^0-9A-Z]+")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions), one NumPy row per character of ``a``."""
    if a == b:
        return 0
    if not a or not b:
        return max(len(a), len(b))
    bb = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    prev = np.arange(len(b) + 1, dtype=np.int64)
    for i, ch in enumerate(a, 1):
        cost = (bb != ord(ch)).astype(np.int64)
        cur = np.empty_like(prev)
        cur[0] = i
        sub_del = np.minimum(prev[:-1] + cost, prev[1:] + 1)
        # insertions chain along the row: cur[j] = min(sub_del[j-1], cur[j-1] + 1), a running minimum
        j = np.arange(1, len(b) + 1)
        cur[1:] = np.minimum.accumulate(np.concatenate(([i], sub_del)) - np.arange(len(b) + 1))[1:] + j
        prev = cur
    return int(prev[-1])


# ------------------------------------------------------------------------------------------------ helpers


def _ts_us(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    arr = pc.cast(col, pa.timestamp("us", tz="UTC")).cast(pa.int64())
    return np.asarray(arr.fill_null(_US_NULL).to_numpy(zero_copy_only=False), dtype=np.int64)


def _int_col(table: pa.Table, name: str, null: int = -1) -> np.ndarray:
    return np.asarray(table[name].cast(pa.int64()).fill_null(null).to_numpy(zero_copy_only=False), dtype=np.int64)


def _ref(mmsi: int, source_id: int, line: int, role: str = "static") -> dict:
    return {"mmsi": int(mmsi), "source_id": int(source_id), "line": int(line), "role": role}


def _mmsi_text(m: int) -> str:
    return f"{m:09d}" if 0 <= m <= 999_999_999 else str(m)


# ------------------------------------------------------------------------------------------------ invalid


def invalid_identity(statics: pa.Table, positions: pa.Table | None = None, config: Config | None = None) -> pa.Table:
    """Invalid MMSIs and IMO numbers (``invalid_identity`` events).

    Parameters
    ----------
    statics
        Rows of :data:`~watchkeeper.schema.STATICS` (only ``mmsi``, ``ts``, ``imo``, ``source_id`` and ``line``
        are read).
    positions
        Rows of :data:`~watchkeeper.schema.POSITIONS` (``mmsi``, ``ts``, ``lat``, ``lon``, ``source_id``,
        ``line`` are read), so that MMSIs that only send positions are judged too; or ``None``. A table rather
        than a bare list of MMSIs because an event needs the times (and the first position) of the MMSI.
    config
        Thresholds (section ``invalid_identity``); the defaults when ``None``.

    Returns
    -------
    pyarrow.Table
        :data:`~watchkeeper.schema.EVENTS`: one event per invalid MMSI (``start``/``end`` its first and last
        row, ``lat``/``lon`` its first position) and one per (MMSI, invalid IMO number) (``start``/``end`` the
        first and last statics row carrying it). ``details`` name the rule, the field and the value. Rows
        without a time cannot date an event and are not used.
    """
    config = config or Config()
    cfg = config.invalid_identity
    parts = [_rows(statics, "static")]
    # only the rows of invalid MMSIs and the statics with an IMO matter: judge each distinct MMSI once (an MMSI
    # whose rows all lack a time is judged too, but those rows are dropped below), then gather and sort just those
    mmsis = [np.unique(parts[0]["mmsi"])]
    if positions is not None and positions.num_rows:
        # distinct MMSIs (read as _int_col reads them) and the index of each row's one, in one hash pass
        pos_mmsi = pc.dictionary_encode(positions["mmsi"].cast(pa.int64()).fill_null(-1).combine_chunks())
        mmsis.append(np.asarray(pos_mmsi.dictionary.to_numpy(zero_copy_only=False), dtype=np.int64))
    all_mmsis = np.unique(np.concatenate(mmsis))
    bad_mmsis = all_mmsis[mmsi_rule(all_mmsis, cfg.placeholder_mmsi)[0] != None]
    pos_bad = np.isin(mmsis[1], bad_mmsis) if len(mmsis) > 1 else np.zeros(0, bool)  # per distinct MMSI
    if pos_bad.any():
        pos_rows = np.flatnonzero(pos_bad[pos_mmsi.indices.to_numpy(zero_copy_only=False)])
        used = [n for n in ("mmsi", "ts", "source_id", "line", "imo", "lat", "lon") if n in positions.column_names]
        parts.append(_rows(positions.select(used).take(pa.array(pos_rows, pa.int64())), "position"))
    rows = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    keep = (rows["ts"] != _US_NULL) & (np.isin(rows["mmsi"], bad_mmsis) | ((rows["kind"] == 0) & (rows["imo"] >= 0)))
    rows = {k: v[keep] for k, v in rows.items()}
    # time order, then input order, so "first" and "last" are deterministic
    order = np.lexsort((rows["line"], rows["source_id"], rows["ts"], rows["mmsi"]))
    rows = {k: v[order] for k, v in rows.items()}
    out: list[dict] = []

    mmsis, first = np.unique(rows["mmsi"], return_index=True)
    last = np.r_[first[1:], len(rows["mmsi"])] - 1
    rule, form, mid = mmsi_rule(mmsis, cfg.placeholder_mmsi)
    for k in np.flatnonzero(rule != None):
        lo, hi = first[k], last[k]
        m = int(mmsis[k])
        sl = slice(lo, hi + 1)
        is_pos = rows["kind"][sl] == 1
        lat = lon = None
        pos_ok = np.flatnonzero(is_pos & ~np.isnan(rows["lat"][sl]) & ~np.isnan(rows["lon"][sl]))
        if len(pos_ok):
            lat, lon = float(rows["lat"][lo + pos_ok[0]]), float(rows["lon"][lo + pos_ok[0]])
        refs = _first_last_refs(m, rows, lo, hi)
        details = {"rule": str(rule[k]), "field": "mmsi", "value": _mmsi_text(m), "form": form[k],
                   "mid": int(mid[k]) if mid[k] >= 0 else None,
                   "n_statics": int((~is_pos).sum()), "n_positions": int(is_pos.sum())}
        out.append({"type": "invalid_identity", "mmsi": m, "start": int(rows["ts"][lo]),
                    "end": int(rows["ts"][hi]), "lat": lat, "lon": lon, "confidence": _RULE_CONFIDENCE[rule[k]],
                    "details": details, "positions": {"n": int(hi - lo + 1), "refs": refs},
                    "id_extra": {"field": "mmsi"}})

    st = (rows["kind"] == 0) & (rows["imo"] >= 0)
    if st.any():
        idx = np.flatnonzero(st)
        irule = imo_rule(rows["imo"][idx], cfg.reject_company_imo)
        bad = idx[irule != None]
        bad_rule = irule[irule != None]
        # one group per (mmsi, imo); rows are in (mmsi, time) order, so a stable sort keeps time order inside
        grp = np.lexsort((rows["imo"][bad], rows["mmsi"][bad]))
        bad, bad_rule = bad[grp], bad_rule[grp]
        key_m, key_i = rows["mmsi"][bad], rows["imo"][bad]
        cuts = np.flatnonzero((key_m[1:] != key_m[:-1]) | (key_i[1:] != key_i[:-1])) + 1
        for members, member_rules in zip(np.split(bad, cuts), np.split(bad_rule, cuts)):
            if not len(members):
                continue
            lo, hi = members[0], members[-1]
            m, imo = int(rows["mmsi"][lo]), int(rows["imo"][lo])
            r = str(member_rules[0])
            refs = [_ref(m, rows["source_id"][lo], rows["line"][lo])]
            if hi != lo:
                refs.append(_ref(m, rows["source_id"][hi], rows["line"][hi]))
            out.append({"type": "invalid_identity", "mmsi": m, "start": int(rows["ts"][lo]),
                        "end": int(rows["ts"][hi]), "confidence": _RULE_CONFIDENCE[r],
                        "details": {"rule": r, "field": "imo", "value": str(imo), "n_statics": len(members)},
                        "positions": {"n": len(members), "refs": refs},
                        "id_extra": {"field": "imo", "value": str(imo)}})
    return make_events(out, config_sha256=config.sha256(), detector_version=INVALID_VERSION)


def _rows(table: pa.Table, kind: str) -> dict[str, np.ndarray]:
    n = table.num_rows
    has = set(table.column_names)

    def floats(name: str) -> np.ndarray:
        if name not in has:
            return np.full(n, np.nan)
        return np.asarray(table[name].cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False))

    return {"mmsi": _int_col(table, "mmsi"), "ts": _ts_us(table["ts"]),
            "source_id": _int_col(table, "source_id"), "line": _int_col(table, "line"),
            "imo": _int_col(table, "imo") if "imo" in has else np.full(n, -1, dtype=np.int64),
            "lat": floats("lat"), "lon": floats("lon"),
            "kind": np.full(n, 0 if kind == "static" else 1, dtype=np.int8)}


def _first_last_refs(m: int, rows: dict[str, np.ndarray], lo: int, hi: int) -> list[dict]:
    """The first and last row of the MMSI of each kind: statics rows with role ``static``, positions with
    ``first``/``last``."""
    refs = []
    for kind in (0, 1):
        sel = lo + np.flatnonzero(rows["kind"][lo:hi + 1] == kind)
        if not len(sel):
            continue
        ends = [(sel[0], "first"), (sel[-1], "last")] if sel[-1] != sel[0] else [(sel[0], "first")]
        for i, role in ends:
            refs.append(_ref(m, rows["source_id"][i], rows["line"][i], "static" if kind == 0 else role))
    return refs


# ------------------------------------------------------------------------------------------------ changes


def identity_change(statics: pa.Table, config: Config | None = None) -> pa.Table:
    """Changes of ship name, call sign, IMO number or ship type per MMSI, and IMO numbers under a new MMSI.

    Parameters
    ----------
    statics
        Rows of :data:`~watchkeeper.schema.STATICS`; rows without a time are not used (no time order).
    config
        Thresholds (section ``identity_change``; ``invalid_identity.reject_company_imo`` decides which IMO
        numbers are valid enough to follow across MMSIs); the defaults when ``None``.

    Returns
    -------
    pyarrow.Table
        :data:`~watchkeeper.schema.EVENTS` of type ``identity_change``. A field change has ``start`` = ``end`` =
        the time the new value was first received, details ``{field, before, after, ...}`` (values as
        received, and their normalised forms) and refs to the last statics row of the old value and the rows of
        the new one. An IMO number under a new MMSI has ``mmsi`` the new MMSI, ``other_mmsi`` the earlier one,
        ``start`` = ``end`` = the first row of the new MMSI with that IMO, and details with both MIDs and flags;
        ``flag_change`` is true when the MIDs differ.
    """
    config = config or Config()
    cfg = config.identity_change
    ts = _ts_us(statics["ts"])
    keep = np.flatnonzero(ts != _US_NULL)
    st = statics.take(pa.array(keep, type=pa.int64()))
    ts = ts[keep]
    mmsi = _int_col(st, "mmsi")
    order = np.lexsort((_int_col(st, "line"), _int_col(st, "source_id"), ts, mmsi))
    st = st.take(pa.array(order, type=pa.int64()))
    cols = {"mmsi": mmsi[order], "ts": ts[order], "source_id": _int_col(st, "source_id"),
            "line": _int_col(st, "line"), "imo": _int_col(st, "imo")}
    stype = st["ship_type"].combine_chunks().cast(pa.int64())
    # the values compared (normalised; ship type by category) and the values shown, as Arrow columns
    cmp_cols = {"shipname": _map_distinct(st["shipname"], normalise_name),
                "callsign": _map_distinct(st["callsign"], normalise_callsign),
                "imo": st["imo"].combine_chunks().cast(pa.int64()),
                "ship_type": pc.divide(stype, 10) if cfg.ship_type_by_category else stype}
    shown_cols = {"shipname": st["shipname"], "callsign": st["callsign"], "imo": cmp_cols["imo"], "ship_type": stype}

    # Only MMSIs with more than one distinct comparison value in some field need the sequential scan.
    probe = pa.table({"mmsi": cols["mmsi"], **cmp_cols})
    counts = probe.group_by("mmsi").aggregate([(f, "count_distinct") for f in FIELDS])
    multi = np.zeros(counts.num_rows, dtype=bool)
    for f in FIELDS:
        multi |= np.asarray(counts[f"{f}_count_distinct"].to_numpy()) > 1
    candidates = set(np.asarray(counts["mmsi"].to_numpy())[multi].tolist())

    out: list[dict] = []
    starts = np.flatnonzero(np.r_[True, cols["mmsi"][1:] != cols["mmsi"][:-1]]) if len(cols["mmsi"]) else []
    bounds = list(zip(starts, [*starts[1:], len(cols["mmsi"])]))
    for lo, hi in bounds:
        m = int(cols["mmsi"][lo])
        if m not in candidates:
            continue
        for f in FIELDS:
            typo = cfg.typo_max_edits if f in ("shipname", "callsign") else 0
            values = cmp_cols[f].slice(lo, hi - lo).to_pylist()
            shown = shown_cols[f].slice(lo, hi - lo).to_pylist()
            for ch in _scan(values, typo, cfg.min_observations):
                before, after = ch[0], ch[1]
                before_i, after_rows = lo + before, [lo + i for i in after]
                a0 = after_rows[0]
                details = {"field": f, "before": shown[before], "after": shown[after[0]],
                           "before_normalised": values[before], "after_normalised": values[after[0]],
                           "before_last_seen_us": int(cols["ts"][before_i])}
                refs = [_ref(m, cols["source_id"][i], cols["line"][i]) for i in (before_i, *after_rows)]
                out.append({"type": "identity_change", "mmsi": m, "start": int(cols["ts"][a0]),
                            "end": int(cols["ts"][a0]), "confidence": _FIELD_CONFIDENCE[f], "details": details,
                            "positions": {"n": len(refs), "refs": refs},
                            "id_extra": {"field": f, "value": str(values[after[0]])}})
    out.extend(_imo_moves(cols, config))
    return make_events(out, config_sha256=config.sha256(), detector_version=CHANGE_VERSION)


def _map_distinct(col: pa.ChunkedArray, fn) -> pa.Array:
    """``fn`` applied once per distinct value of a string column, spread back to every row."""
    col = col.combine_chunks()
    distinct = pc.unique(col)
    mapped = pa.array([fn(v) for v in distinct.to_pylist()], type=pa.string())
    return pc.take(mapped, pc.index_in(col, value_set=distinct))


def _scan(values: list, typo_max_edits: int, min_observations: int) -> list[tuple[int, list[int]]]:
    """Changes in one MMSI's time-ordered values of one field.

    Nulls carry nothing. The first value received ``min_observations`` times (typo variants counting as the
    same value) becomes the current one; after that, another value received ``min_observations`` times, more than
    ``typo_max_edits`` edits from the current one, is a change. Returns ``(index of the last row of the old
    value, indices of the new value's rows up to its confirmation)`` per change.
    """
    current = None
    current_last = -1
    pending: dict[Any, list[int]] = {}  # candidate value -> rows that carried it (or a typo of it)
    changes = []

    def close(a, b) -> bool:
        if a == b:
            return True
        if typo_max_edits <= 0 or not isinstance(a, str) or not isinstance(b, str):
            return False
        return abs(len(a) - len(b)) <= typo_max_edits and edit_distance(a, b) <= typo_max_edits

    for i, v in enumerate(values):
        if v is None:
            continue
        if current is not None and close(v, current):
            current_last = i
            continue
        key = next((k for k in pending if close(v, k)), v)
        rows = pending.setdefault(key, [])
        rows.append(i)
        if len(rows) >= min_observations:
            if current is not None:
                changes.append((current_last, rows))
            current, current_last = key, i
            pending = {}
    return changes


def _imo_moves(cols: dict[str, np.ndarray], config: Config) -> list[dict]:
    """A valid ship IMO number received (``min_observations`` times) under a new MMSI."""
    cfg = config.identity_change
    has = np.flatnonzero(cols["imo"] >= 0)
    if not len(has):
        return []
    valid = has[imo_rule(cols["imo"][has], config.invalid_identity.reject_company_imo) == None]
    # one group per (imo, mmsi), ordered by the group's first time
    key_imo, key_mmsi = cols["imo"][valid], cols["mmsi"][valid]
    groups: dict[tuple[int, int], list[int]] = {}
    for i, k_imo, k_m in zip(valid.tolist(), key_imo.tolist(), key_mmsi.tolist()):
        groups.setdefault((k_imo, k_m), []).append(i)
    per_imo: dict[int, list[tuple[int, list[int]]]] = {}
    for (k_imo, k_m), rows in groups.items():
        if len(rows) >= cfg.min_observations:
            per_imo.setdefault(k_imo, []).append((k_m, sorted(rows, key=lambda i: cols["ts"][i])))
    out = []
    for k_imo, seen in per_imo.items():
        if len(seen) < 2:
            continue
        seen.sort(key=lambda s: (cols["ts"][s[1][0]], s[0]))
        for (old, old_rows), (new, new_rows) in itertools.pairwise(seen):
            (old_mid, old_flag), (new_mid, new_flag) = flag_of(old), flag_of(new)
            flag_change = old_mid != new_mid
            t = int(cols["ts"][new_rows[0]])
            overlap = bool(cols["ts"][old_rows[-1]] > t)
            refs = [_ref(old, cols["source_id"][old_rows[-1]], cols["line"][old_rows[-1]]),
                    *[_ref(new, cols["source_id"][i], cols["line"][i]) for i in new_rows[:cfg.min_observations]]]
            details = {"field": "mmsi", "imo": k_imo, "before": _mmsi_text(old), "after": _mmsi_text(new),
                       "old_mmsi": old, "new_mmsi": new, "old_mid": old_mid, "new_mid": new_mid,
                       "old_flag": old_flag, "new_flag": new_flag, "flag_change": flag_change,
                       "old_last_seen_us": int(cols["ts"][old_rows[-1]]), "overlap": overlap}
            # still sent by the old MMSI after the new one appeared: a clone rather than a reflag, less clear-cut
            conf = 0.6 if overlap else (0.9 if flag_change else 0.8)
            out.append({"type": "identity_change", "mmsi": new, "other_mmsi": old, "start": t, "end": t,
                        "confidence": conf, "details": details, "positions": {"n": len(refs), "refs": refs},
                        "id_extra": {"field": "mmsi", "imo": k_imo}})
    return out
