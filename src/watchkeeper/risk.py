"""Per-vessel risk score over a time window, from documented indicators, each explained in one sentence.

:func:`vessel_risk` reads the store's ``events`` (those overlapping the window) and ``screening`` tables and
returns one row per vessel with any contribution, ranked. Each indicator of
:data:`watchkeeper.risk_weights.INDICATORS` turns its evidence into ``value`` (a count or a summed confidence,
in the indicator's unit) and then into points with diminishing returns::

    points = weight x (1 - exp(-value / scale))      (sanctions_list: points = weight x match score)

and the indicators combine as independent evidence (a probabilistic sum, close to the plain sum while small)::

    score = 100 x (1 - prod(1 - points_i / 100))

so the score stays within 0-100, every indicator raises it, and no indicator can exceed its weight however many
events it has. Encounters propagate risk **one hop**: base scores are computed first (every indicator except
the partner term); a vessel then gains ``encounter_partner`` points from the base scores of the vessels it met,
each partner's base taken without its own encounter indicators (so an encounter does not count twice, once on
each side). Partner terms are never propagated further.

Double counting of correlated events is avoided: a gap that carries a dark port call counts once, under the dark
port call; loitering that overlaps an encounter of the same vessel counts once, under the encounter; an
``identity_change`` that moves an IMO to an MMSI of another flag counts under ``flag_hop`` only.

Columns of the result (:data:`RISK_SCHEMA`)
-------------------------------------------
rank : int32
    1 for the highest score; ties are ordered by MMSI.
mmsi : int32; name : str; imo : int32; flag : str
    The vessel; latest broadcast name and IMO number (up to ``until``), flag administration of the MID.
score : float64
    0-100.
contributions : str
    JSON list, in points order, of ``{"indicator", "points", "weight", "unit", "value", "sentence",
    "event_ids", "match_ids", "source"}``.
n_events : int32
    Distinct events supporting the contributions.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from watchkeeper.errors import ConfigError
from watchkeeper.risk_weights import DEFAULT_WEIGHTS, WEIGHTS, RiskWeights

RISK_SCHEMA = pa.schema([
    ("rank", pa.int32()), ("mmsi", pa.int32()), ("name", pa.string()), ("imo", pa.int32()), ("flag", pa.string()),
    ("score", pa.float64()), ("contributions", pa.string()), ("n_events", pa.int32()),
])

# The unit of each indicator's ``value``.
VALUE_UNITS = {
    "sanctions_list": "match score", "port_of_interest_visit": "tier-weighted visits",
    "dark_port_call": "summed confidence", "ais_gap": "summed likely_intentional", "encounter": "summed confidence",
    "encounter_partner": "summed partner risk", "loitering": "summed confidence",
    "position_jump": "summed rule-weighted confidence", "mmsi_conflict": "summed confidence",
    "identity_change": "summed confidence", "flag_hop": "summed confidence", "invalid_identity": "summed confidence",
}
# Indicators whose weights are named by a shorter prefix (``port_visit_points``).
_WEIGHT_PREFIX = {"port_of_interest_visit": "port_visit"}
_FRAUD_KINDS = ("possible_identity_theft", "fraudulent_identifier")
_STRONG_KINDS = ("imo", "mmsi")
_KIND_RANK = {"fraudulent_identifier": 0, "possible_identity_theft": 1, "imo": 2, "mmsi": 3, "callsign": 4, "name": 5}


# ------------------------------------------------------------------------------------------------ public API


def vessel_risk(store, *, since: Any = None, until: Any = None,
                weights: RiskWeights | Mapping[str, Any] | None = None) -> pa.Table:
    """Risk score of every vessel with evidence in the window, ranked.

    Parameters
    ----------
    store : watchkeeper.store.Store
        Its ``events`` table (may be missing or empty) and ``screening`` table are read. Without a screening
        table, the identities are screened on the fly (nothing written) when sanctions lists are loaded; without
        lists there is no list indicator.
    since, until
        Window (timezone-aware datetime, ISO 8601 text, or None for open): events count when they overlap it
        (``end >= since`` and ``start <= until``), screening matches when the identity was seen in it.
    weights
        :class:`~watchkeeper.risk_weights.RiskWeights`, or a mapping of overrides; defaults when None.

    Returns
    -------
    pyarrow.Table
        :data:`RISK_SCHEMA`, sorted by score descending, then mmsi.
    """
    w = _weights(weights)
    lo, hi = parse_time(since, "since"), parse_time(until, "until")
    if lo is not None and hi is not None and lo > hi:
        raise ConfigError(f"since ({lo.isoformat()}) is after until ({hi.isoformat()})", where="risk window",
                          fix="give since <= until")
    contrib: dict[int, list[dict]] = defaultdict(list)
    for mmsi, c in _list_contributions(store, w, lo, hi):
        contrib[mmsi].append(c)
    pairs: list[dict] = []
    if store.has_table("events"):
        for mmsi, c in _event_contributions(store, w, lo, hi):
            contrib[mmsi].append(c)
        pairs = _encounter_pairs(store, lo, hi)
    # one hop: partner terms from base scores without the partner's own encounter indicator
    base_wo_enc = {m: _combine([c["points"] for c in cs if c["indicator"] != "encounter"]) for m, cs in contrib.items()}
    names = _identities(store, sorted({p["other_mmsi"] for p in pairs} | set(contrib)), hi)
    partner_terms = _partner_contributions(pairs, base_wo_enc, names, w)
    for mmsi, c in partner_terms.items():
        contrib[mmsi].append(c)
    rows = []
    for mmsi, cs in contrib.items():
        cs = [c for c in cs if c["points"] > 0]
        if not cs:
            continue
        cs.sort(key=lambda c: (-c["points"], c["indicator"]))
        score = _combine([c["points"] for c in cs])
        for c in cs:
            c["points"] = round(c["points"], 3)
            c["value"] = round(c["value"], 4)
        ev = {e for c in cs for e in c["event_ids"]}
        name, imo = names.get(mmsi, (None, None))
        rows.append({"mmsi": mmsi, "name": name, "imo": imo, "flag": _flag(mmsi), "score": round(score, 3),
                     "contributions": json.dumps(cs, ensure_ascii=False, separators=(",", ":")),
                     "n_events": len(ev)})
    rows.sort(key=lambda r: (-r["score"], r["mmsi"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return pa.Table.from_pylist(rows, schema=RISK_SCHEMA)


def explain(row: Mapping[str, Any]) -> list[str]:
    """The sentences of a result row's contributions, in points order (highest first)."""
    cs = row["contributions"]
    if isinstance(cs, str):
        cs = json.loads(cs)
    return [c["sentence"] for c in sorted(cs, key=lambda c: (-c["points"], c["indicator"]))]


def parse_time(value: Any, name: str = "time") -> dt.datetime | None:
    """A window bound as an aware UTC datetime: from a datetime (naive means UTC), a date, or ISO 8601 text
    (``2024-03-01``, ``2024-03-01T12:00:00Z``); None stays None.

    Raises
    ------
    ConfigError
        For text that is not ISO 8601, naming the bound.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            raise ConfigError(f"{value!r} is not an ISO 8601 date or time", where=f"--{name}",
                              fix="give e.g. 2024-03-01 or 2024-03-01T12:00:00Z") from None
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        raise ConfigError(f"{value!r} is not a date or time", where=f"--{name}",
                          fix="give a datetime or ISO 8601 text")
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# ------------------------------------------------------------------------------------------------- helpers


def _weights(weights) -> RiskWeights:
    if weights is None:
        return DEFAULT_WEIGHTS
    if isinstance(weights, RiskWeights):
        return weights
    return RiskWeights(weights, where="weights=")


def _saturate(weight: float, value: float, scale: float) -> float:
    return weight * (1.0 - math.exp(-value / scale)) if value > 0 else 0.0


def _combine(points: list[float]) -> float:
    rest = 1.0
    for p in sorted(points):  # fixed order: the same float result whatever the input order
        rest *= 1.0 - min(max(p, 0.0), 100.0) / 100.0
    return 100.0 * (1.0 - rest)


def _contribution(indicator: str, points: float, weight_name: str, weight: float, value: float, sentence: str,
                  event_ids=(), match_ids=()) -> dict:
    return {"indicator": indicator, "points": float(points), "weight": float(weight), "unit": VALUE_UNITS[indicator],
            "value": float(value), "sentence": sentence, "event_ids": list(event_ids), "match_ids": list(match_ids),
            "source": WEIGHTS[weight_name].source}


def _flag(mmsi: int) -> str | None:
    from watchkeeper.detect.identity import flag_of

    return flag_of(int(mmsi))[1]


def _num(x: float, digits: int = 1) -> str:
    """A number for a sentence: ``31``, ``2.5``."""
    text = f"{float(x):.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _scores(values: list[float], n: int) -> str:
    shown = [_num(v, 2) for v in values[:3]]
    text = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    return text + (f" among {n}" if n > len(shown) else "")


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _window_sql(lo, hi, start="start", end='"end"') -> tuple[str, dict]:
    cond, params = [], {}
    if lo is not None:
        cond.append(f"{end} >= $lo")
        params["lo"] = lo
    if hi is not None:
        cond.append(f"{start} <= $hi")
        params["hi"] = hi
    return (" AND " + " AND ".join(cond)) if cond else "", params


# -------------------------------------------------------------------------------------- sanctions indicator


def _screening(store) -> pa.Table | None:
    from watchkeeper.sanctions.screen import SCREENING

    if store.has_table(SCREENING):
        return store.con.table(SCREENING).to_arrow_table()
    from watchkeeper.sanctions.store import has_lists

    if has_lists(store):
        from watchkeeper.sanctions.screen import screen_store

        return screen_store(store, write=False)
    return None


def _list_contributions(store, w: RiskWeights, lo, hi):
    tbl = _screening(store)
    if tbl is None or tbl.num_rows == 0:
        return
    by_mmsi: dict[int, list[dict]] = defaultdict(list)
    for r in tbl.to_pylist():
        if r["mmsi"] is None:
            continue
        if lo is not None and r.get("last_seen") is not None and r["last_seen"] < lo:
            continue
        if hi is not None and r.get("first_seen") is not None and r["first_seen"] > hi:
            continue
        by_mmsi[int(r["mmsi"])].append(r)
    for mmsi in sorted(by_mmsi):
        rows = by_mmsi[mmsi]

        def strength(r):
            kind = r["match_kind"]
            if kind in _FRAUD_KINDS:
                return w.identity_fraud_points, "identity_fraud_points"
            if kind in _STRONG_KINDS:
                return w.list_match_points, "list_match_points"
            return w.list_match_points * w.weak_match_factor, "list_match_points"

        rows.sort(key=lambda r: (-strength(r)[0] * float(r["score"]), _KIND_RANK.get(r["match_kind"], 9),
                                 r["entity_id"] or "", r["match_id"]))
        best = rows[0]
        weight, wname = strength(best)
        score = float(best["score"])
        same = [r for r in rows if r["entity_id"] == best["entity_id"] or
                (r["entity_caption"] == best["entity_caption"] and r["match_kind"] == best["match_kind"])]
        lists = sorted({r["list_source"] for r in same if r["list_source"]})
        others = len(rows) - len(same)
        yield mmsi, _contribution("sanctions_list", weight * score, wname, weight, score,
                                  _list_sentence(best, lists, others), match_ids=[r["match_id"] for r in rows])


def _list_sentence(r: dict, lists: list[str], others: int) -> str:
    caption = r["entity_caption"] or r["entity_id"]
    on = " and ".join(lists) or "a sanctions list"
    kind, score = r["match_kind"], f"match score {float(r['score']):.2f}"
    imo = f"IMO {r['imo']:07d}" if r["imo"] else "an IMO number"
    if kind == "possible_identity_theft":
        s = f"Possible identity theft: broadcasts {imo} of {caption}, listed on {on}, under another name and MMSI"
    elif kind == "fraudulent_identifier":
        s = f"Broadcasts an identifier that {on} says {caption} uses fraudulently"
    elif kind == "imo":
        s = f"{imo} matches {caption}, listed on {on}"
    elif kind == "mmsi":
        s = f"MMSI {r['mmsi']} matches {caption}, listed on {on}"
    elif kind == "callsign":
        s = f"Call sign {r['callsign']} matches {caption}, listed on {on} (call sign only: a lead, not a finding)"
    else:
        s = f"Name {r['shipname']!r} resembles {caption}, listed on {on} (name only: a lead, not a finding)"
    more = f"; {_plural(others, 'weaker list match', 'weaker list matches')}" if others else ""
    return f"{s} ({score}){more}."


# ------------------------------------------------------------------------------------------ event indicators

_EVENT_SQL = """
WITH ev AS (
  SELECT event_id, type, mmsi, other_mmsi, start, "end", confidence, details, port_name
  FROM events WHERE mmsi > 0 AND type <> 'activity_surge' {window}),
dpc_gap AS (SELECT DISTINCT json_extract_string(details, '$.gap_event_id') AS gid FROM ev
            WHERE type = 'dark_port_call'),
enc AS (SELECT mmsi, start, "end" FROM ev WHERE type = 'encounter'),
x AS (
  SELECT ev.*,
    coalesce(TRY_CAST(json_extract(details, '$.duration_h') AS DOUBLE),
             (epoch_us("end") - epoch_us(start)) / 3.6e9) AS hours,
    coalesce(TRY_CAST(json_extract(details, '$.port_tier') AS INTEGER), 0) AS tier,
    coalesce(TRY_CAST(json_extract(details, '$.likely_intentional') AS DOUBLE), 0.0) AS li,
    json_extract_string(details, '$.rule') AS rule,
    json_extract_string(details, '$.field') AS field,
    json_extract_string(details, '$.value') AS dvalue,
    json_extract_string(details, '$.before') AS before,
    json_extract_string(details, '$.after') AS after,
    json_extract_string(details, '$.old_flag') AS old_flag,
    json_extract_string(details, '$.new_flag') AS new_flag,
    TRY_CAST(json_extract(details, '$.imo') AS BIGINT) AS imo,
    TRY_CAST(json_extract(details, '$.overlap_h') AS DOUBLE) AS overlap_h,
    coalesce(TRY_CAST(json_extract(details, '$.flag_change') AS BOOLEAN), false) AS flag_change,
    coalesce(TRY_CAST(json_extract(details, '$.near_port') AS BOOLEAN), false) AS near_port,
    event_id IN (SELECT gid FROM dpc_gap) AS has_dpc,
    EXISTS (SELECT 1 FROM enc WHERE enc.mmsi = ev.mmsi AND enc.start <= ev."end" AND enc."end" >= ev.start)
      AS in_encounter
  FROM ev),
y AS (
  SELECT *,
    CASE
      WHEN type = 'port_visit' AND tier > 0 THEN 'port_of_interest_visit'
      WHEN type = 'dark_port_call' THEN 'dark_port_call'
      WHEN type = 'ais_gap' AND li >= $min_li AND li > 0 AND NOT has_dpc THEN 'ais_gap'
      WHEN type = 'encounter' THEN 'encounter'
      WHEN type = 'loitering' AND NOT in_encounter THEN 'loitering'
      WHEN type = 'position_jump' THEN 'position_jump'
      WHEN type = 'mmsi_conflict' THEN 'mmsi_conflict'
      WHEN type = 'identity_change' AND field = 'mmsi' AND flag_change THEN 'flag_hop'
      WHEN type = 'identity_change' THEN 'identity_change'
      WHEN type = 'invalid_identity' THEN 'invalid_identity'
    END AS indicator,
    CASE
      WHEN type = 'port_visit' THEN confidence * (CASE WHEN tier = 1 THEN 1.0 WHEN tier = 2 THEN $tier2
                                                         ELSE $tier3 END)
      WHEN type = 'ais_gap' THEN li
      WHEN type = 'position_jump' THEN confidence * (CASE rule WHEN 'speed' THEN $f_speed WHEN 'on_land' THEN $f_land
                                                     WHEN 'frozen_position' THEN $f_frozen
                                                     WHEN 'null_island' THEN $f_null ELSE 1.0 END)
      ELSE confidence
    END AS value
  FROM x)
SELECT mmsi, indicator, sum(value) AS value, count(*) AS n, sum(hours) AS hours,
  count(DISTINCT other_mmsi) AS n_partners, count_if(near_port) AS n_near_port, sum(overlap_h) AS overlap_h,
  list(event_id ORDER BY start, event_id) AS event_ids,
  list({{'v': value, 'c': confidence, 'h': hours, 'port': port_name, 'tier': tier, 'rule': rule, 'field': field,
         'dvalue': dvalue, 'before': before, 'after': after, 'old_flag': old_flag, 'new_flag': new_flag,
         'imo': imo, 'other': other_mmsi}}
       ORDER BY value DESC, start, event_id)[1:3] AS top,
  histogram(coalesce(port_name, '?') || ' (tier ' || tier || ')') FILTER (WHERE type = 'port_visit') AS ports,
  histogram(rule) FILTER (WHERE rule IS NOT NULL) AS rules,
  histogram(field) FILTER (WHERE field IS NOT NULL) AS fields
FROM y WHERE indicator IS NOT NULL AND value > 0
GROUP BY mmsi, indicator ORDER BY mmsi, indicator
"""


def _event_contributions(store, w: RiskWeights, lo, hi):
    window, params = _window_sql(lo, hi)
    params.update(min_li=float(w.ais_gap_min_likely), tier2=float(w.port_tier2_factor),
                  tier3=float(w.port_tier3_factor), f_speed=float(w.jump_speed_factor),
                  f_land=float(w.jump_on_land_factor), f_frozen=float(w.jump_frozen_factor),
                  f_null=float(w.jump_null_island_factor))
    agg = store.con.sql(_EVENT_SQL.format(window=window), params=params).to_arrow_table().to_pylist()
    for g in agg:
        ind = g["indicator"]
        prefix = _WEIGHT_PREFIX.get(ind, ind)
        weight, scale = float(w[f"{prefix}_points"]), float(w[f"{prefix}_scale"])
        value = float(g["value"])
        points = _saturate(weight, value, scale)
        yield int(g["mmsi"]), _contribution(ind, points, f"{prefix}_points", weight, value, _SENTENCES[ind](g),
                                            event_ids=g["event_ids"])


def _hist(h) -> dict:
    if h is None:
        return {}
    return dict(h) if not isinstance(h, list) else {k: v for k, v in h}


def _counted(h, names: Mapping[str, str] | None = None) -> str:
    items = sorted(_hist(h).items(), key=lambda kv: (-kv[1], kv[0]))
    parts = [f"{(names or {}).get(k, k)}" + (f" x{v}" if v > 1 else "") for k, v in items]
    return ", ".join(parts)


def _s_port(g) -> str:
    return (f"{_plural(g['n'], 'observed port call')} at ports of interest: {_counted(g['ports'])}; "
            f"{_num(g['hours'])} h in port in total.")


def _s_dark(g) -> str:
    top = "; ".join(f"{t['port']} (confidence {_num(t['c'], 2)})" for t in g["top"])
    more = f" and {g['n'] - len(g['top'])} more" if g["n"] > len(g["top"]) else ""
    total = "lasting" if g["n"] == 1 else "totalling"
    return (f"{_plural(g['n'], 'AIS silence')} {total} {_num(g['hours'])} h long enough to call unseen at a "
            f"port of interest: {top}{more}.")


def _s_gap(g) -> str:
    lis = [t["v"] for t in g["top"]]
    word = "score" if g["n"] == 1 else "scores"
    return (f"{_plural(g['n'], 'likely-intentional AIS gap')} totalling {_num(g['hours'])} h "
            f"({word} {_scores(lis, g['n'])}).")


def _s_encounter(g) -> str:
    confs = [t["c"] for t in g["top"]]
    sts = "transfer" if g["n"] == 1 else "transfers"
    return (f"{_plural(g['n'], 'encounter')} at sea (possible ship-to-ship {sts}) with "
            f"{_plural(g['n_partners'], 'vessel')}, {_num(g['hours'])} h alongside in total "
            f"(confidence {_scores(confs, g['n'])}).")


def _s_loiter(g) -> str:
    near = f", {g['n_near_port']} of them near a port" if g["n_near_port"] else ""
    confs = [t["c"] for t in g["top"]]
    return (f"{_plural(g['n'], 'loitering episode')} at sea totalling {_num(g['hours'])} h{near} "
            f"(confidence {_scores(confs, g['n'])}).")


_RULES = {"speed": "impossible speed jump", "on_land": "position on land", "null_island": "position at 0N 0E",
          "frozen_position": "frozen position while under way"}


def _s_jump(g) -> str:
    return f"{_plural(g['n'], 'manipulated or impossible position stretch', 'manipulated or impossible position stretches')}: {_counted(g['rules'], _RULES)}."


def _s_conflict(g) -> str:
    ov = g["overlap_h"] if g["overlap_h"] is not None else g["hours"]
    return (f"MMSI transmitted by two incompatible tracks at once in {_plural(g['n'], 'conflict')} "
            f"({_num(ov)} h of overlap in total): a possible cloned identity.")


_FIELDS = {"shipname": "name", "callsign": "call sign", "imo": "IMO number", "ship_type": "ship type",
           "mmsi": "MMSI for the same IMO"}


def _s_identity(g) -> str:
    t = g["top"][0]
    example = f"e.g. {_FIELDS.get(t['field'], t['field'])} {t['before']!r} to {t['after']!r}" if t["before"] else ""
    return f"{_plural(g['n'], 'identity change')} ({_counted(g['fields'], _FIELDS)}){'; ' + example if example else ''}."


def _s_flag(g) -> str:
    t = g["top"][0]
    imo = f"IMO {t['imo']:07d}" if t["imo"] else "its IMO number"
    more = f" ({_plural(g['n'], 'flag change')} in all)" if g["n"] > 1 else ""
    return (f"Flag change: {imo} moved from MMSI {t['before']} ({t['old_flag'] or 'unknown flag'}) to "
            f"MMSI {t['after']} ({t['new_flag'] or 'unknown flag'}){more}.")


_INVALID = {"placeholder_mmsi": "placeholder MMSI", "mmsi_form": "MMSI of no valid form",
            "unallocated_mid": "MMSI with an unallocated MID", "imo_length": "IMO number not of 7 digits",
            "imo_check_digit": "IMO number failing its check digit",
            "imo_company_number": "IMO company number used as a ship's"}


def _s_invalid(g) -> str:
    t = g["top"][0]
    ex = f"; e.g. {t['field'].upper()} {t['dvalue']}" if t["field"] and t["dvalue"] else ""
    return f"Invalid identity: {_counted(g['rules'], _INVALID)}{ex}."


_SENTENCES = {"port_of_interest_visit": _s_port, "dark_port_call": _s_dark, "ais_gap": _s_gap,
              "encounter": _s_encounter, "loitering": _s_loiter, "position_jump": _s_jump,
              "mmsi_conflict": _s_conflict, "identity_change": _s_identity, "flag_hop": _s_flag,
              "invalid_identity": _s_invalid}


# -------------------------------------------------------------------------------------- one-hop propagation


def _encounter_pairs(store, lo, hi) -> list[dict]:
    window, params = _window_sql(lo, hi)
    sql = f"""
      SELECT mmsi, other_mmsi, max(confidence) AS conf,
             sum(coalesce(TRY_CAST(json_extract(details, '$.duration_h') AS DOUBLE),
                          (epoch_us("end") - epoch_us(start)) / 3.6e9)) AS hours,
             list(event_id ORDER BY start, event_id) AS event_ids
      FROM events WHERE type = 'encounter' AND mmsi > 0 AND other_mmsi IS NOT NULL {window}
      GROUP BY mmsi, other_mmsi ORDER BY mmsi, other_mmsi"""
    return store.con.sql(sql, params=params or None).to_arrow_table().to_pylist()


def _partner_contributions(pairs: list[dict], base: Mapping[int, float], names: Mapping[int, tuple],
                           w: RiskWeights) -> dict[int, dict]:
    by_mmsi: dict[int, list[tuple[float, dict, float]]] = defaultdict(list)
    for p in pairs:
        partner_base = base.get(int(p["other_mmsi"]), 0.0)
        risk = partner_base / 100.0 * float(p["conf"])
        if risk > 0:
            by_mmsi[int(p["mmsi"])].append((risk, p, partner_base))
    out = {}
    weight, scale = float(w.encounter_partner_points), float(w.encounter_partner_scale)
    for mmsi, items in by_mmsi.items():
        items.sort(key=lambda t: (-t[0], t[1]["other_mmsi"]))
        value = sum(t[0] for t in items)
        shown = []
        for _risk, p, b in items[:3]:
            nm = names.get(int(p["other_mmsi"]), (None, None))[0]
            label = f"{p['other_mmsi']}" + (f" ({nm})" if nm else "")
            shown.append(f"{label}, own score {_num(b, 0)}/100, for {_num(p['hours'])} h")
        more = f" and {len(items) - 3} more" if len(items) > 3 else ""
        sentence = (f"Met {_plural(len(items), 'vessel')} with risk of {'its' if len(items) == 1 else 'their'} own: "
                    f"{'; '.join(shown)}{more} (propagated one hop).")
        ev = sorted({e for t in items for e in t[1]["event_ids"]})
        out[mmsi] = _contribution("encounter_partner", _saturate(weight, value, scale), "encounter_partner_points",
                                  weight, value, sentence, event_ids=ev)
    return out


# ------------------------------------------------------------------------------------------------ identity


def _identities(store, mmsis: list[int], until) -> dict[int, tuple[str | None, int | None]]:
    """Latest broadcast name and IMO number of each MMSI (up to ``until``), from ``statics``."""
    if not mmsis:
        return {}
    st = store.relation("statics")  # noqa: F841 - read by DuckDB
    want = pa.table({"mmsi": pa.array(np.asarray(mmsis, dtype=np.int64), pa.int64())})  # noqa: F841
    cond, params = ("AND ts <= $hi", {"hi": until}) if until is not None else ("", {})
    sql = f"""
      SELECT mmsi, arg_max(shipname, ts) FILTER (WHERE shipname IS NOT NULL) AS name,
             arg_max(imo, ts) FILTER (WHERE imo IS NOT NULL AND imo > 0) AS imo
      FROM st WHERE mmsi IN (SELECT mmsi FROM want) {cond} GROUP BY mmsi"""
    rows = store.con.sql(sql, params=params or None).fetchall()
    return {int(m): (n, int(i) if i is not None else None) for m, n, i in rows}
