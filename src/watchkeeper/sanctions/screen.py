"""Screening the store's AIS identities against the loaded sanctions lists.

:func:`screen_store` is what the risk score and the dossiers call. It returns (and, by default, writes to the
store's ``screening`` table) one row per (AIS identity, listed entity) match, in a deterministic order
(``score`` descending, then ``mmsi``, ``imo``, ``shipname``, ``callsign``, ``entity_id``).

An *AIS identity* is one distinct combination ``(mmsi, imo, shipname, callsign)`` seen in ``statics``, plus
every MMSI seen only in ``positions`` (identity of MMSI alone).

Columns of the screening table
------------------------------
match_id : str
    16 hex digits, SHA-1 of the identity and the entity id: stable across reruns.
mmsi : int32, imo : int32, shipname : str, callsign : str
    The identity as broadcast (imo null when not sent).
ship_type : int16
    Most frequent AIS ship type code of that identity.
first_seen, last_seen : timestamp (UTC); n_reports : int64
    When and how often the identity was received.
flag_mid : str
    Flag administration of the MMSI's MID (ITU table), null when the MMSI carries no MID.
entity_id, entity_schema, entity_caption, list_source : str
    The listed entity (``sanctions_entities``) and its list (``un``, ``ofac_sdn``, ``ofac_consolidated``,
    ``canada_sema``, ``opensanctions``).
match_kind : str
    ``fraudulent_identifier`` | ``possible_identity_theft`` | ``imo`` | ``mmsi`` | ``callsign`` | ``name``.
score : float64
    0-1, see :mod:`watchkeeper.sanctions.match`.
features : list<str>
    Features that matched (``imo``, ``mmsi``, ``callsign``, ``name``, ``imo_fraudulent``, ``mmsi_fraudulent``).
conflicts : list<str>
    Features the list gives that the broadcast contradicts (``imo``, ``mmsi``, ``callsign``, ``name``).
name_similarity : float64
    Best similarity of the broadcast name to the listed names (null without a name on either side).
listed_imo, listed_mmsi, listed_callsign, listed_names : list<str>
    The entity's own identifiers as listed.
programs : list<str>; authority, listing_date, source_url : str
    From the entity's Sanction record(s) (several joined by "; ").
explanation : str
    One readable sentence of all the above.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow as pa

from watchkeeper.sanctions import match
from watchkeeper.sanctions.identifiers import callsign_norm
from watchkeeper.sanctions.names import name_tokens, normalise_name
from watchkeeper.sanctions.store import ENTITIES, ensure_tables

SCREENING = "screening"
IDENTITY_COLUMNS = ["mmsi", "imo", "shipname", "callsign", "ship_type", "first_seen", "last_seen", "n_reports"]
SCREENING_SCHEMA = pa.schema([
    ("match_id", pa.string()), ("mmsi", pa.int32()), ("imo", pa.int32()), ("shipname", pa.string()),
    ("callsign", pa.string()), ("ship_type", pa.int16()), ("first_seen", pa.timestamp("us", tz="UTC")),
    ("last_seen", pa.timestamp("us", tz="UTC")), ("n_reports", pa.int64()), ("flag_mid", pa.string()),
    ("entity_id", pa.string()), ("entity_schema", pa.string()), ("entity_caption", pa.string()),
    ("list_source", pa.string()), ("match_kind", pa.string()), ("score", pa.float64()),
    ("features", pa.list_(pa.string())), ("conflicts", pa.list_(pa.string())), ("name_similarity", pa.float64()),
    ("listed_imo", pa.list_(pa.string())), ("listed_mmsi", pa.list_(pa.string())),
    ("listed_callsign", pa.list_(pa.string())), ("listed_names", pa.list_(pa.string())),
    ("programs", pa.list_(pa.string())), ("authority", pa.string()), ("listing_date", pa.string()),
    ("source_url", pa.string()), ("explanation", pa.string()),
])


def store_identities(store, mmsis: list[int] | None = None) -> pa.Table:
    """AIS identities of the store (see the module docstring), optionally only of ``mmsis``."""
    st = store.relation("statics")  # noqa: F841 - read by DuckDB
    pos = store.relation("positions")  # noqa: F841
    want = pa.table({"mmsi": pa.array(mmsis or [], pa.int32())})  # noqa: F841
    flt = "WHERE mmsi IN (SELECT mmsi FROM want)" if mmsis is not None else ""
    sql = f"""
      WITH s AS (SELECT mmsi, imo, shipname, callsign, ship_type, ts FROM st {flt}),
      g AS (SELECT mmsi, imo, shipname, callsign, mode(ship_type) AS ship_type, min(ts) AS first_seen,
                   max(ts) AS last_seen, count(*) AS n_reports FROM s GROUP BY mmsi, imo, shipname, callsign),
      p AS (SELECT mmsi, NULL::INTEGER AS imo, NULL::VARCHAR AS shipname, NULL::VARCHAR AS callsign,
                   NULL::SMALLINT AS ship_type, min(ts) AS first_seen, max(ts) AS last_seen, count(*) AS n_reports
            FROM pos {flt} GROUP BY mmsi HAVING mmsi NOT IN (SELECT DISTINCT mmsi FROM s))
      SELECT * FROM g UNION ALL SELECT * FROM p
      ORDER BY mmsi, imo NULLS FIRST, shipname NULLS FIRST, callsign NULLS FIRST"""
    tbl = store.con.sql(sql).to_arrow_table()
    return _identity_table(tbl)


def _identity_table(tbl: pa.Table) -> pa.Table:
    cols = {}
    types = dict(zip(IDENTITY_COLUMNS, [pa.int32(), pa.int32(), pa.string(), pa.string(), pa.int16(),
                                        pa.timestamp("us", tz="UTC"), pa.timestamp("us", tz="UTC"), pa.int64()]))
    for c, t in types.items():
        if c in tbl.column_names:
            cols[c] = tbl.column(c).cast(t)
        else:
            cols[c] = pa.nulls(tbl.num_rows, t)
    return pa.table(cols)


def screen_identities(store, identities: pa.Table, *, min_score: float = 0.0) -> pa.Table:
    """Screen given AIS identities (columns :data:`IDENTITY_COLUMNS`; missing ones are null) against the lists
    loaded in ``store``. Returns the screening table (module docstring), not written anywhere."""
    ensure_tables(store)
    ident_tbl = _identity_table(identities)
    n = ident_tbl.num_rows
    mmsi = ident_tbl.column("mmsi").to_numpy(zero_copy_only=False).astype("float64")
    imo = ident_tbl.column("imo").fill_null(0).to_numpy().astype(np.int64)
    imo_ok = match.imo_valid_array(imo)
    imo_s = [f"{v:07d}" if 1_000_000 <= v <= 9_999_999 else None for v in imo.tolist()]
    mmsi_s = [f"{int(v):09d}" if not np.isnan(v) and 100_000_000 <= v <= 999_999_999 else None for v in mmsi]
    cs_cache: dict = {}
    cs = [cs_cache.setdefault(v, callsign_norm(v)) if v is not None else None
          for v in ident_tbl.column("callsign").to_pylist()]
    names = ident_tbl.column("shipname").to_pylist()
    norm = [normalise_name(v) if v else None for v in names]
    distinct = sorted({x for x in norm if x})
    tok_name, tok = [], []
    for x in distinct:
        for t in name_tokens(x):
            tok_name.append(x)
            tok.append(t)
    ident = pa.table({"row": pa.array(np.arange(n), pa.int64()), "imo_s": pa.array(imo_s, pa.string()),
                      "imo_ok": pa.array(imo_ok), "mmsi_s": pa.array(mmsi_s, pa.string()),
                      "cs": pa.array(cs, pa.string()), "name_norm": pa.array(norm, pa.string())})
    name_tbl = pa.table({"name_norm": pa.array(tok_name, pa.string()), "token": pa.array(tok, pa.string())})
    pairs = match.candidate_pairs(store.con, ident, name_tbl)
    sim = match.best_name_similarity(store.con, pairs, norm)
    scored = match.score_pairs(pairs, {"imo_s": imo_s, "imo_ok": imo_ok.tolist(), "mmsi_s": mmsi_s, "cs": cs,
                                       "name_norm": norm}, sim)
    keep = [i for i, s in enumerate(scored["score"]) if s >= min_score]
    return _build_output(store, ident_tbl, pairs, sim, scored, keep)


def _sanction_info(store, entity_ids: list[str]) -> dict[str, dict]:
    if not entity_ids:
        return {}
    want = pa.table({"entity_id": sorted(set(entity_ids))})  # noqa: F841 - read by DuckDB
    rows = store.con.execute(f"""
        WITH s AS (SELECT json_extract_string(properties, '$.entity[0]') AS entity_id, properties
                   FROM {ENTITIES} WHERE schema = 'Sanction')
        SELECT s.entity_id, s.properties FROM s JOIN want USING (entity_id) ORDER BY s.entity_id, s.properties
    """).fetchall()
    ents = store.con.execute(f"SELECT entity_id, schema, caption FROM {ENTITIES} JOIN want USING (entity_id)"
                             ).fetchall()
    info = {e: {"schema": s, "caption": c, "programs": [], "authority": [], "listing_date": [], "source_url": []}
            for e, s, c in ents}
    for eid, props in rows:
        p = json.loads(props)
        d = info.setdefault(eid, {"schema": None, "caption": None, "programs": [], "authority": [],
                                  "listing_date": [], "source_url": []})
        for key, prop in (("programs", "program"), ("authority", "authority"), ("listing_date", "listingDate"),
                          ("source_url", "sourceUrl")):
            for v in p.get(prop, []):
                if v not in d[key]:
                    d[key].append(v)
    return info


def _explain(row: dict) -> str:
    bits = []
    f, c = row["features"], row["conflicts"]
    if row["match_kind"] == "possible_identity_theft":
        bits.append(f"POSSIBLE IDENTITY THEFT: IMO {row['imo']:07d} is that of listed {row['entity_caption']}, "
                    f"but the name and MMSI broadcast with it differ from the list")
    if "imo_fraudulent" in f or "mmsi_fraudulent" in f:
        which = " and ".join(x.split("_")[0].upper() for x in f if x.endswith("_fraudulent"))
        bits.append(f"broadcasts the {which} that the list says {row['entity_caption']} uses fraudulently")
    if "imo" in f:
        bits.append(f"IMO {row['imo']:07d} equals the listed IMO")
    if "mmsi" in f:
        bits.append(f"MMSI {row['mmsi']} equals the listed MMSI")
    if "callsign" in f:
        bits.append(f"call sign {row['callsign']} equals the listed call sign")
    sim = row["name_similarity"]
    if sim is not None and row["shipname"]:
        bits.append(f"name '{row['shipname']}' vs listed {', '.join(repr(n) for n in row['listed_names'][:3])} "
                    f"(similarity {sim:.2f})")
    if c:
        detail = {"imo": f"listed IMO {', '.join(row['listed_imo'])}",
                  "mmsi": f"listed MMSI {', '.join(row['listed_mmsi'])}",
                  "callsign": f"listed call sign {', '.join(row['listed_callsign'])}",
                  "name": "listed names differ"}
        bits.append("conflicts: " + "; ".join(detail[x] for x in c))
    listing = f"listed by {row['authority'] or row['list_source']}"
    if row["programs"]:
        listing += f", program {', '.join(row['programs'])}"
    if row["listing_date"]:
        listing += f", since {row['listing_date']}"
    bits.append(listing + f" [{row['list_source']} {row['entity_id']}]")
    return "; ".join(bits) + "."


def _build_output(store, ident_tbl: pa.Table, pairs: pa.Table, sim: np.ndarray, scored: dict,
                  keep: list[int]) -> pa.Table:
    from watchkeeper.detect.identity import classify_mmsi, mid_table

    if not keep:
        return SCREENING_SCHEMA.empty_table()
    pidx = np.array([scored["pair"][i] for i in keep], dtype=np.int64)
    sel = pairs.take(pa.array(pidx))
    rows = sel.column("row").to_numpy()
    idn = ident_tbl.take(pa.array(rows)).to_pydict()
    mmsi_arr = np.array([m if m is not None else -1 for m in idn["mmsi"]], dtype=np.int64)
    _form, mids = classify_mmsi(mmsi_arr)
    mids_table = mid_table()
    flags = [mids_table.get(int(m)) if m >= 0 else None for m in mids]
    eids = sel.column("entity_id").to_pylist()
    info = _sanction_info(store, eids)
    d = sel.to_pydict()
    out_rows = []
    for j, i in enumerate(keep):
        eid = eids[j]
        inf = info.get(eid, {})
        s = sim[pidx[j]]
        row = {k: idn[k][j] for k in IDENTITY_COLUMNS}
        row.update(
            flag_mid=flags[j], entity_id=eid, entity_schema=inf.get("schema"), entity_caption=inf.get("caption"),
            list_source=d["list_source"][j], match_kind=scored["kind"][i], score=scored["score"][i],
            features=scored["features"][i], conflicts=scored["conflicts"][i],
            name_similarity=None if np.isnan(s) else round(float(s), 4),
            listed_imo=d["l_imo"][j], listed_mmsi=d["l_mmsi"][j], listed_callsign=d["l_cs"][j],
            listed_names=d["l_names"][j], programs=inf.get("programs", []),
            authority="; ".join(inf.get("authority", [])) or None,
            listing_date="; ".join(inf.get("listing_date", [])) or None,
            source_url="; ".join(inf.get("source_url", [])) or None)
        key = "\x1f".join(str(row[k]) for k in ("mmsi", "imo", "shipname", "callsign")) + "\x1f" + eid
        row["match_id"] = hashlib.sha1(key.encode()).hexdigest()[:16]
        row["explanation"] = _explain(row)
        out_rows.append(row)
    out_rows.sort(key=lambda r: (-r["score"], r["mmsi"] if r["mmsi"] is not None else -1, r["imo"] or 0,
                                 r["shipname"] or "", r["callsign"] or "", r["entity_id"]))
    return pa.Table.from_pylist(out_rows, schema=SCREENING_SCHEMA)


def screen_store(store, *, min_score: float = 0.0, write: bool = True) -> pa.Table:
    """Screen every AIS identity of ``store`` against the sanctions lists loaded in it.

    Parameters
    ----------
    store : watchkeeper.store.Store
    min_score : float
        Matches scoring below this are left out (0-1).
    write : bool
        Replace the store's ``screening`` table with the result (in one transaction).

    Returns
    -------
    pyarrow.Table
        The screening table; columns in the module docstring, order deterministic.
    """
    ensure_tables(store)
    result = screen_identities(store, store_identities(store), min_score=min_score)
    if write:
        con = store.con
        con.execute("BEGIN")
        try:
            con.execute(f"DROP TABLE IF EXISTS {SCREENING}")
            con.execute(f"CREATE TABLE {SCREENING} AS SELECT * FROM result")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return result


def identity_history(store, *, mmsi: int | None = None, imo: int | None = None) -> pa.Table:
    """Identity history of one vessel: the distinct (name, call sign, IMO, ship type) broadcast by ``mmsi``
    (or by every MMSI that broadcast ``imo``) with first/last seen, report count and the MID flag."""
    from watchkeeper.detect.identity import flag_of

    st = store.relation("statics")  # noqa: F841 - read by DuckDB
    if mmsi is not None:
        mmsis = [mmsi]
    else:
        mmsis = [r[0] for r in store.con.sql("SELECT DISTINCT mmsi FROM st WHERE imo = $imo ORDER BY mmsi",
                                             params={"imo": imo}).fetchall()]
    ids = store_identities(store, mmsis)
    flags = [flag_of(int(m))[1] if m is not None else None for m in ids.column("mmsi").to_pylist()]
    return ids.append_column("flag_mid", pa.array(flags, pa.string()))


def vessel_report(store, query: str) -> dict:
    """Everything known of one vessel, for ``watchkeeper vessel``: ``{"mmsis", "history", "matches", "events"}``.

    ``query`` is an MMSI (9 digits) or an IMO number (7 digits, optionally "IMO ..."); a listed IMO that no
    MMSI broadcast still gives the list matches of that IMO.
    """
    from watchkeeper.errors import InputError
    from watchkeeper.sanctions.identifiers import imo_digits

    q = query.strip()
    digits = imo_digits(q)
    if q.isdigit() and len(q) == 9:
        history = identity_history(store, mmsi=int(q))
        probe = history if history.num_rows else _identity_table(pa.table({"mmsi": pa.array([int(q)], pa.int32())}))
    elif digits is not None and len(q.upper().removeprefix("IMO").strip()) == 7:
        history = identity_history(store, imo=int(digits))
        probe = history if history.num_rows else _identity_table(pa.table({"imo": pa.array([int(digits)], pa.int32())}))
    else:
        raise InputError(f"{query!r} is neither an MMSI (9 digits) nor an IMO number (7 digits)", where="VESSEL",
                         fix="give e.g. 273382620 or 9179842")
    matches = screen_identities(store, probe.select(IDENTITY_COLUMNS))
    mmsis = sorted({m for m in history.column("mmsi").to_pylist() if m is not None})
    events = None
    if store.has_table("events") and mmsis:
        events = store.events_table(f"mmsi IN ({', '.join(str(int(m)) for m in mmsis)})")
    return {"mmsis": mmsis, "history": history, "matches": matches, "events": events}
