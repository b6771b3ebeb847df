"""Matching AIS identities against the sanctions identifier index: blocking, features, scores, explanations.

Candidates come only from blocks — the same valid IMO, the same MMSI, the same call sign, or a shared name
token (:func:`watchkeeper.sanctions.names.name_tokens`) — as DuckDB joins over Arrow tables; fuzzy name
similarity (rapidfuzz) is computed for candidate pairs only, never for every identity against every entity.

Evidence and how it combines (documented with its rationale in ``docs/screening.md``):

========================  =======  ========================================================================
feature                   weight   when
========================  =======  ========================================================================
``imo``                   0.95     broadcast IMO (valid check digit) equals a listed IMO of the vessel
``mmsi``                  0.80     broadcast MMSI equals a listed MMSI
``callsign``              0.50     normalised call signs equal
``name``                  0.60·s   name similarity ``s`` ≥ :data:`NAME_MIN_SIMILARITY`
========================  =======  ========================================================================

``score = (1 - Π(1 - weight)) · Π(penalty of each conflict)``; conflicts are features the list gives that the
broadcast contradicts (see :data:`CONFLICT_PENALTY`). A valid IMO that matches while both the name and the
MMSI conflict is ``possible_identity_theft`` (score :data:`IDENTITY_THEFT_SCORE`); broadcasting an identifier
the list names as fraudulently used is ``fraudulent_identifier`` (score :data:`FRAUDULENT_SCORE`).
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa

WEIGHTS = {"imo": 0.95, "mmsi": 0.80, "callsign": 0.50, "name": 0.60}
NAME_MIN_SIMILARITY = 0.85  # below this a name is no evidence (ship names repeat; sister ships differ by a digit)
NAME_CONFLICT_BELOW = 0.60  # a broadcast name this far from every listed name contradicts the list
NUMBER_MISMATCH_CAP = 0.60  # "SPARTA 3" vs "SPARTA 4": different numbers are different ships
CONFLICT_PENALTY = {"imo": 0.40, "mmsi": 0.85, "name": 0.70, "callsign": 0.85}
IDENTITY_THEFT_SCORE = 0.90
FRAUDULENT_SCORE = 0.90
KIND_ORDER = ["fraudulent_identifier", "possible_identity_theft", "imo", "mmsi", "callsign", "name"]
_DIGITS = re.compile(r"\d+")


def imo_valid_array(imo: np.ndarray) -> np.ndarray:
    """Vectorised IMO check digit: ``imo`` an int64 array (0 or negative = none)."""
    imo = np.asarray(imo, dtype=np.int64)
    ok = (imo >= 1_000_000) & (imo <= 9_999_999)
    d = [(imo // 10 ** (6 - i)) % 10 for i in range(7)]
    s = sum(d[i] * (7 - i) for i in range(6))
    return ok & (s % 10 == d[6])


def _name_sig(norm: str) -> str:
    return " ".join(sorted(_DIGITS.findall(norm)))


def name_similarity(a: list[str], b: list[str]) -> np.ndarray:
    """Pairwise similarity in [0, 1] of normalised names ``a[i]`` and ``b[i]`` (spaces ignored; names whose
    numbers differ capped at :data:`NUMBER_MISMATCH_CAP`)."""
    from rapidfuzz import fuzz, process

    if not a:
        return np.zeros(0)
    sa = [x.replace(" ", "") for x in a]
    sb = [x.replace(" ", "") for x in b]
    sim = np.asarray(process.cpdist(sa, sb, scorer=fuzz.ratio, workers=1), dtype=np.float64) / 100.0
    sig_a = np.array([_name_sig(x) for x in a], dtype=object)
    sig_b = np.array([_name_sig(x) for x in b], dtype=object)
    return np.where(sig_a != sig_b, np.minimum(sim, NUMBER_MISMATCH_CAP), sim)


def candidate_pairs(con, ident: pa.Table, names: pa.Table) -> pa.Table:
    """Blocked candidate pairs with their identifier features and the entity's listed identifiers.

    ``ident`` has ``row, imo_s, imo_ok, mmsi_s, cs, name_norm``; ``names`` maps ``name_norm`` to ``token``.
    The index table ``sanctions_identifiers`` is read from ``con``.
    """
    con.register("_ident", ident)
    con.register("_names", names)
    try:
        return con.sql("""
        WITH x AS (SELECT * FROM sanctions_identifiers WHERE kind IN ('imo','mmsi','callsign','name_token')),
        hits AS (
          SELECT i.row, x.entity_id, x.list_source, 'imo' AS f FROM _ident i JOIN x
            ON x.kind = 'imo' AND x.value = i.imo_s AND i.imo_ok AND x.valid AND NOT x.fraudulent
          UNION ALL SELECT i.row, x.entity_id, x.list_source, 'imo_fraud' FROM _ident i JOIN x
            ON x.kind = 'imo' AND x.value = i.imo_s AND x.fraudulent
          UNION ALL SELECT i.row, x.entity_id, x.list_source, CASE WHEN x.fraudulent THEN 'mmsi_fraud' ELSE 'mmsi' END
            FROM _ident i JOIN x ON x.kind = 'mmsi' AND x.value = i.mmsi_s
          UNION ALL SELECT i.row, x.entity_id, x.list_source, 'callsign' FROM _ident i JOIN x
            ON x.kind = 'callsign' AND x.value = i.cs
          UNION ALL SELECT i.row, x.entity_id, x.list_source, 'block' FROM _ident i JOIN _names n USING (name_norm)
            JOIN x ON x.kind = 'name_token' AND x.value = n.token),
        pairs AS (
          SELECT row, entity_id, list_source,
                 bool_or(f = 'imo') AS f_imo, bool_or(f = 'mmsi') AS f_mmsi, bool_or(f = 'callsign') AS f_callsign,
                 bool_or(f = 'imo_fraud') AS f_imo_fraud, bool_or(f = 'mmsi_fraud') AS f_mmsi_fraud
          FROM hits GROUP BY row, entity_id, list_source),
        ent AS (
          SELECT entity_id, list_source,
                 list(DISTINCT value ORDER BY value) FILTER (kind = 'imo' AND valid AND NOT fraudulent) AS l_imo,
                 list(DISTINCT value ORDER BY value) FILTER (kind = 'mmsi' AND NOT fraudulent) AS l_mmsi,
                 list(DISTINCT value ORDER BY value) FILTER (kind = 'callsign') AS l_cs,
                 list(DISTINCT value ORDER BY value) FILTER (kind = 'name_norm') AS l_names
          FROM sanctions_identifiers WHERE entity_id IN (SELECT entity_id FROM pairs)
          GROUP BY entity_id, list_source)
        SELECT p.*, coalesce(e.l_imo, []) AS l_imo, coalesce(e.l_mmsi, []) AS l_mmsi,
               coalesce(e.l_cs, []) AS l_cs, coalesce(e.l_names, []) AS l_names
        FROM pairs p LEFT JOIN ent e USING (entity_id, list_source)
        ORDER BY row, entity_id
        """).to_arrow_table()
    finally:
        con.unregister("_ident")
        con.unregister("_names")


def best_name_similarity(con, pairs: pa.Table, ident_names: list) -> np.ndarray:
    """For each candidate pair, the highest similarity between the identity's name and any listed name."""
    n = pairs.num_rows
    best = np.full(n, np.nan)
    if n == 0:
        return best
    rows = pairs.column("row").to_numpy()
    lists = pairs.column("l_names")
    flat = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
    offsets = flat.offsets.to_numpy()
    values = flat.values.to_pylist()
    counts = np.diff(offsets)
    pair_idx = np.repeat(np.arange(n), counts)
    a = [ident_names[r] for r in rows[pair_idx]]
    keep = np.array([x is not None for x in a], dtype=bool)
    if keep.any():
        sims = name_similarity([x for x, k in zip(a, keep) if k], [v for v, k in zip(values, keep) if k])
        target = pair_idx[keep]
        best_f = np.full(n, -1.0)
        np.maximum.at(best_f, target, sims)
        best = np.where(best_f >= 0, best_f, np.nan)
    return best


def score_pairs(pairs: pa.Table, ident: dict, name_sim: np.ndarray) -> dict[str, list]:
    """Features, conflicts, kind and score of every candidate pair; pairs with no evidence are dropped.

    ``ident`` holds per-row Python lists ``imo_s``, ``imo_ok``, ``mmsi_s``, ``cs``, ``name_norm``.
    Returns column lists: ``pair`` (index into ``pairs``), ``kind``, ``score``, ``features``, ``conflicts``.
    """
    out = {"pair": [], "kind": [], "score": [], "features": [], "conflicts": []}
    cols = pairs.select(["row", "f_imo", "f_mmsi", "f_callsign", "f_imo_fraud", "f_mmsi_fraud",
                         "l_imo", "l_mmsi", "l_cs", "l_names"]).to_pydict()
    # only pairs with some evidence go through the per-pair rules (most name-block pairs have none)
    evidence = np.zeros(pairs.num_rows, dtype=bool)
    for c in ("f_imo", "f_mmsi", "f_callsign", "f_imo_fraud", "f_mmsi_fraud"):
        evidence |= np.asarray(cols[c], dtype=bool)
    evidence |= np.nan_to_num(name_sim, nan=0.0) >= NAME_MIN_SIMILARITY
    for k in np.flatnonzero(evidence).tolist():
        r = cols["row"][k]
        feats = []
        if cols["f_imo"][k]:
            feats.append("imo")
        if cols["f_mmsi"][k]:
            feats.append("mmsi")
        if cols["f_callsign"][k]:
            feats.append("callsign")
        sim = name_sim[k]
        if not np.isnan(sim) and sim >= NAME_MIN_SIMILARITY:
            feats.append("name")
        fraud = [f for f, flag in (("imo_fraudulent", cols["f_imo_fraud"][k]),
                                   ("mmsi_fraudulent", cols["f_mmsi_fraud"][k])) if flag]
        if not feats and not fraud:
            continue
        conflicts = []
        if ident["imo_ok"][r] and cols["l_imo"][k] and ident["imo_s"][r] not in cols["l_imo"][k]:
            conflicts.append("imo")
        if ident["mmsi_s"][r] and cols["l_mmsi"][k] and ident["mmsi_s"][r] not in cols["l_mmsi"][k] \
                and "mmsi_fraudulent" not in fraud:
            conflicts.append("mmsi")
        if ident["cs"][r] and cols["l_cs"][k] and ident["cs"][r] not in cols["l_cs"][k]:
            conflicts.append("callsign")
        if ident["name_norm"][r] and cols["l_names"][k] and not np.isnan(sim) and sim < NAME_CONFLICT_BELOW:
            conflicts.append("name")
        if fraud:
            kind, score = "fraudulent_identifier", FRAUDULENT_SCORE
            feats = fraud + feats
        elif "imo" in feats and "name" in conflicts and "mmsi" in conflicts:
            kind, score = "possible_identity_theft", IDENTITY_THEFT_SCORE
        else:
            kind = next(f for f in ("imo", "mmsi", "callsign", "name") if f in feats)
            keep = 1.0
            for f in feats:
                w = WEIGHTS[f] * (sim if f == "name" else 1.0)
                keep *= 1.0 - w
            score = 1.0 - keep
            for c in conflicts:
                score *= CONFLICT_PENALTY[c]
        out["pair"].append(k)
        out["kind"].append(kind)
        out["score"].append(round(float(score), 4))
        out["features"].append(feats)
        out["conflicts"].append(conflicts)
    return out
