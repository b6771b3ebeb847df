"""What a dossier says about one vessel, collected from a store into plain data (no formatting here).

:func:`collect` gathers the identity history, sanctions matches, risk score, track, events with the input
lines that support them, ports in view and the provenance of every input file. :func:`select_vessels` turns
``--vessel`` / ``--top`` into lists of MMSIs.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from watchkeeper import __version__
from watchkeeper.config import DETECTORS, Config
from watchkeeper.detect.events import to_records
from watchkeeper.errors import InputError, StoreError
from watchkeeper.report import riskscore, texts

MAX_TRACK_POINTS = 6000  # the map draws at most this many positions (evenly thinned; gap ends always kept)
CHART_TYPES = ("ais_gap", "dark_port_call", "loitering", "encounter")


@dataclass
class EventEvidence:
    """One event of the timeline, with what supports it."""

    number: int
    record: dict  # the JSON Lines object of the public contract (details and positions as objects)
    title: str
    rule: str
    thresholds: list[dict]  # {section, name, value, unit}
    config_matches: bool  # the event's config_sha256 is the configuration shown in the dossier
    support: list[dict]  # the referenced input lines joined to positions/statics and the ledger
    chart: list[dict] = field(default_factory=list)  # series for a speed/time chart: {label, t_us, sog_kn}


@dataclass
class Dossier:
    """Everything one dossier shows (see :func:`collect`)."""

    key: str  # file name stem, e.g. "vessel-273354260"
    mmsis: list[int]
    name: str | None
    imo: int | None
    callsign: str | None
    flag: str | None
    identity: list[dict]
    matches: list[dict] | None  # None: no screening table in the store
    risk: dict | None  # None: no risk stage or the vessel has no score
    risk_sentences: list[str]
    events: list[EventEvidence]
    track: dict  # numpy arrays t_us, lat, lon, sog_kn (time order, thinned for drawing), n_positions (all)
    ports: list[dict]  # name, lat, lon, tier, locode
    ledger: list[dict]
    config: Config
    software_version: str
    generated_at: str
    detect_runs: list[dict]

    @property
    def label(self) -> str:
        ident = f"MMSI {', '.join(str(m) for m in self.mmsis)}"
        return f"{self.name} ({ident})" if self.name else ident


def parse_generated_at(text: str | None) -> str:
    """``--generated-at`` as ISO 8601 UTC text ending in ``Z`` (now, to the second, when ``None``)."""
    if text is None:
        when = dt.datetime.now(dt.UTC).replace(microsecond=0)
    else:
        try:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"not an ISO 8601 time: {text!r}", where="--generated-at",
                             fix="give e.g. 2024-05-01T12:00:00Z") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def select_vessels(store, *, vessel: str | None = None, top: int | None = None) -> list[list[int]]:
    """The dossiers to make, each a list of MMSIs: one for ``vessel`` (an MMSI, or an IMO number and every MMSI
    that broadcast it), or the ``top`` vessels of the risk score (by number of non-port events when the store
    has no risk stage)."""
    if vessel is not None:
        q = vessel.strip().upper().removeprefix("IMO").strip()
        if not q.isdigit() or len(q) not in (7, 9):
            raise InputError(f"{vessel!r} is neither an MMSI (9 digits) nor an IMO number (7 digits)",
                             where="--vessel", fix="give e.g. 273354260 or 9179842")
        if len(q) == 9:
            return [[int(q)]]
        st = store.relation("statics")  # noqa: F841 - read by DuckDB
        rows = store.con.sql("SELECT DISTINCT mmsi FROM st WHERE imo = $imo ORDER BY mmsi",
                             params={"imo": int(q)}).fetchall()
        if not rows:
            raise InputError(f"no MMSI of this store broadcast IMO {q}", where="--vessel",
                             fix="check the number, or give the MMSI")
        return [[int(r[0]) for r in rows]]
    if top is None or top < 1:
        raise InputError("give --vessel MMSI|IMO or --top N (N >= 1)", where="report", fix="e.g. --top 10")
    try:
        risk = riskscore.risk_table(store)
    except riskscore.RiskUnavailable as e:
        raise StoreError(f"the risk score failed, so --top cannot rank vessels ({e})", where=str(store.root),
                         fix="give --vessel MMSI|IMO instead") from None
    if risk is not None:
        return [[int(m)] for m in risk.column("mmsi").to_pylist()[:top]]
    if not store.has_table("events"):
        raise StoreError("this store has no events to rank vessels by", where=str(store.root),
                         fix=f"run `watchkeeper detect --db {store.root}` first, or give --vessel")
    rows = store.con.sql("SELECT mmsi, count(*) AS n FROM events WHERE type NOT IN ('port_visit', 'activity_surge') "
                         "GROUP BY mmsi ORDER BY n DESC, mmsi LIMIT $top", params={"top": top}).fetchall()
    return [[int(r[0])] for r in rows]


def collect(store, mmsis: list[int], config: Config, generated_at: str, *, gazetteer=None) -> Dossier:
    """Collect the dossier of the vessel transmitting ``mmsis`` (usually one MMSI).

    Parameters
    ----------
    store
        An open :class:`watchkeeper.store.Store` with positions, and events from ``watchkeeper detect``.
    mmsis
        The vessel's MMSIs (several when ``--vessel`` named an IMO number broadcast under more than one).
    config
        The configuration whose thresholds the dossier cites (compared with each event's ``config_sha256``).
    generated_at
        ISO 8601 UTC text, the one value that differs between two runs on the same data.
    gazetteer
        Ports to show; the vendored gazetteer with its ports of interest when ``None``.
    """
    from watchkeeper.geo.gazetteer import load_gazetteer
    from watchkeeper.sanctions.screen import identity_history

    gaz = gazetteer if gazetteer is not None else load_gazetteer()
    mmsis = sorted(set(int(m) for m in mmsis))
    identity = []
    for m in mmsis:
        identity += identity_history(store, mmsi=m).to_pylist()
    identity.sort(key=lambda r: (r["first_seen"] or dt.datetime.max.replace(tzinfo=dt.UTC), r["mmsi"],
                                 r["shipname"] or "", r["callsign"] or ""))
    latest = _latest_identity(identity)
    ledger = [_ledger_row(r) for r in store.ledger().to_pylist()]
    names = {r["source_id"]: r["name"] for r in ledger}
    track = _track(store, mmsis)
    events = _events(store, mmsis, config, names, track)
    risk, sentences = _risk(store, mmsis)
    return Dossier(
        key=f"vessel-{mmsis[0]}", mmsis=mmsis, name=latest.get("shipname"), imo=latest.get("imo"),
        callsign=latest.get("callsign"), flag=latest.get("flag_mid"), identity=identity,
        matches=_matches(store, mmsis, [r["imo"] for r in identity if r["imo"] is not None]),
        risk=risk, risk_sentences=sentences, events=events, track=_thin(track, events),
        ports=_ports_in_view(gaz, track, events), ledger=ledger, config=config, software_version=__version__,
        generated_at=generated_at, detect_runs=store.detect_runs().to_pylist()[-1:])


def _latest_identity(identity: list[dict]) -> dict:
    """The most recent value of each identity field (name, call sign, IMO, flag, ship type)."""
    out: dict = {}
    for row in sorted(identity, key=lambda r: r["last_seen"] or dt.datetime.min.replace(tzinfo=dt.UTC)):
        for k in ("shipname", "callsign", "imo", "flag_mid", "ship_type"):
            if row.get(k) is not None:
                out[k] = row[k]
    return out


def _ledger_row(r: dict) -> dict:
    return {"source_id": r["source_id"], "name": r["name"], "sha256": r["sha256"], "size_bytes": r["size_bytes"],
            "format": r["format"], "ingested_at": _iso(r["ingested_at"]), "status": r["status"],
            "software_version": r["software_version"]}


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _track(store, mmsis: list[int]) -> dict:
    pos = store.relation("positions")  # noqa: F841 - read by DuckDB
    want = pa.table({"mmsi": pa.array(mmsis, pa.int32())})  # noqa: F841
    tbl = store.con.sql(
        "SELECT mmsi, epoch_us(ts) AS t_us, lat, lon, sog_kn, source_id, line FROM pos "
        "WHERE mmsi IN (SELECT mmsi FROM want) AND ts IS NOT NULL AND lat IS NOT NULL AND lon IS NOT NULL "
        "ORDER BY t_us, mmsi, source_id, line").to_arrow_table()
    return {k: tbl.column(k).to_numpy(zero_copy_only=False) for k in ("mmsi", "t_us", "lat", "lon", "sog_kn")}


def _thin(track: dict, events: list[EventEvidence]) -> dict:
    n = len(track["t_us"])
    out = dict(track, n_positions=n)
    if n <= MAX_TRACK_POINTS:
        return out
    keep = np.zeros(n, bool)
    keep[:: int(np.ceil(n / MAX_TRACK_POINTS))] = True
    keep[-1] = True
    for ev in events:  # the positions that bound a gap stay, so the dashed line meets the track
        for key in ("start", "end"):
            t = _us(ev.record[key])
            i = np.searchsorted(track["t_us"], t)
            keep[max(0, min(n - 1, i))] = True
    return {k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in out.items()}


def _us(iso: str) -> int:
    when = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def _events(store, mmsis: list[int], config: Config, names: dict, track: dict) -> list[EventEvidence]:
    if not store.has_table("events"):
        return []
    table = store.events_table(f"mmsi IN ({', '.join(str(m) for m in mmsis)})")
    records = sorted(to_records(table), key=lambda r: (r["start"], r["end"], r["type"], r["event_id"]))
    support = _support(store, records, names)
    sha = config.sha256()
    out = []
    for i, rec in enumerate(records, 1):
        out.append(EventEvidence(
            number=i, record=rec, title=texts.TITLES.get(rec["type"], rec["type"]),
            rule=texts.RULES.get(rec["type"], ""), thresholds=_thresholds(rec["type"], config),
            config_matches=rec["config_sha256"] == sha, support=support.get(rec["event_id"], []),
            chart=_chart(store, rec, track) if rec["type"] in CHART_TYPES else []))
    return out


def _thresholds(event_type: str, config: Config) -> list[dict]:
    out = []
    for section in texts.SECTIONS.get(event_type, ()):
        if section not in DETECTORS:
            continue
        values = getattr(config, section)
        for t in DETECTORS[section].thresholds:
            value = values[t.name]
            out.append({"section": section, "name": t.name, "value": list(value) if isinstance(value, tuple) else value,
                        "unit": t.unit, "default": value == t.default})
    return out


def _support(store, records: list[dict], names: dict) -> dict[str, list[dict]]:
    """Each event's referenced input lines, joined to their positions (or statics) row and file name."""
    rows = [(r["event_id"], i, ref["mmsi"], ref["source_id"], ref["line"], ref["role"])
            for r in records for i, ref in enumerate(r["positions"]["refs"])]
    if not rows:
        return {}
    refs = pa.table({k: pa.array([row[j] for row in rows], t) for j, (k, t) in enumerate(  # noqa: F841
        [("event_id", pa.string()), ("k", pa.int32()), ("mmsi", pa.int32()), ("source_id", pa.int32()),
         ("line", pa.int64()), ("role", pa.string())])})
    pos = store.relation("positions")  # noqa: F841 - read by DuckDB
    st = store.relation("statics")  # noqa: F841
    got = store.con.sql("""
        SELECT r.event_id, r.k, r.mmsi, r.source_id, r.line, r.role,
               coalesce(p.ts, s.ts) AS ts, p.lat, p.lon, p.sog_kn,
               s.shipname, s.callsign, s.imo, s.ship_type
        FROM refs r
        LEFT JOIN pos p ON r.role <> 'static' AND p.source_id = r.source_id AND p.line = r.line AND p.mmsi = r.mmsi
        LEFT JOIN st s ON r.role = 'static' AND s.source_id = r.source_id AND s.line = r.line AND s.mmsi = r.mmsi
        ORDER BY r.event_id, r.k""").to_arrow_table().to_pylist()
    out: dict[str, list[dict]] = {}
    seen: set = set()
    for g in got:
        key = (g["event_id"], g["k"])
        if key in seen:  # one line may hold several rows (a CSV row with a position and an identity)
            continue
        seen.add(key)
        g["file"] = names.get(g["source_id"], f"source {g['source_id']}")
        g["ts"] = _iso(g["ts"])
        out.setdefault(g.pop("event_id"), []).append(g)
    return out


def _chart(store, rec: dict, track: dict) -> list[dict]:
    """Speed over ground around the event: the vessel, and the partner of an encounter."""
    t0, t1 = _us(rec["start"]), _us(rec["end"])
    pad = max(2 * 3600 * 10**6, (t1 - t0) // 4)
    lo, hi = t0 - pad, t1 + pad
    series = []
    sel = (track["t_us"] >= lo) & (track["t_us"] <= hi) & (track["mmsi"] == rec["mmsi"])
    series.append({"label": f"{rec['mmsi']}", "t_us": track["t_us"][sel], "sog_kn": track["sog_kn"][sel]})
    if rec["type"] == "encounter" and rec["other_mmsi"] is not None:
        pos = store.relation("positions")  # noqa: F841 - read by DuckDB
        tbl = store.con.sql("SELECT epoch_us(ts) AS t_us, sog_kn FROM pos WHERE mmsi = $m AND ts IS NOT NULL "
                            "AND epoch_us(ts) BETWEEN $lo AND $hi ORDER BY t_us",
                            params={"m": rec["other_mmsi"], "lo": lo, "hi": hi}).to_arrow_table()
        series.append({"label": f"{rec['other_mmsi']}", "t_us": tbl.column("t_us").to_numpy(),
                       "sog_kn": tbl.column("sog_kn").to_numpy(zero_copy_only=False)})
    for s in series:
        s["sog_kn"] = np.asarray(s["sog_kn"], dtype=np.float64)
    return series if any(len(s["t_us"]) for s in series) else []


def _ports_in_view(gaz, track: dict, events: list[EventEvidence]) -> list[dict]:
    """Gazetteer places (ports, not anchorages) within the area of the track and events, plus every port an
    event names; ports of interest first. The map decides which of them it can label."""
    lat = np.concatenate([track["lat"], [e.record["lat"] for e in events if e.record["lat"] is not None]])
    lon = np.concatenate([track["lon"], [e.record["lon"] for e in events if e.record["lon"] is not None]])
    out: dict[str, dict] = {}
    named = set()
    for e in events:
        for cand in [e.record["port"], *(e.record["details"].get("candidates") or [])]:
            if cand and cand.get("name"):
                named.add(cand["name"])
    if len(lat):
        lat0, lat1 = float(lat.min()) - 1.0, float(lat.max()) + 1.0
        lonc = float(np.degrees(np.arctan2(np.sin(np.radians(lon)).mean(), np.cos(np.radians(lon)).mean())))
        half = float(np.max(np.abs((lon - lonc + 180.0) % 360.0 - 180.0))) + 1.0
        dlon = (gaz.lon - lonc + 180.0) % 360.0 - 180.0
        inside = (gaz.lat >= lat0) & (gaz.lat <= lat1) & (np.abs(dlon) <= half)
        kind = np.asarray(gaz.table.column("kind").to_pylist(), dtype=object)
        name_col = gaz.table.column("name").to_pylist()
        rows = np.flatnonzero(inside & ((kind == "port") | (gaz.tier > 0)))
        rows = [int(i) for i in rows if kind[i] == "port" or name_col[i] in named]
        for i in rows:
            r = gaz.row(i)
            key = r["name"]
            if key in out and out[key]["tier"] >= (r["tier"] or 0) and out[key]["kind"] == "port":
                continue
            out[key] = {"name": r["name"], "lat": r["lat"], "lon": r["lon"], "tier": int(r["tier"] or 0),
                        "locode": r["locode"], "kind": r["kind"], "named": r["name"] in named}
    ports = sorted(out.values(), key=lambda p: (-(p["tier"] > 0) - p["named"], p["name"], p["lat"]))
    return ports


def _matches(store, mmsis: list[int], imos: list[int]) -> list[dict] | None:
    from watchkeeper.sanctions.screen import SCREENING

    if not store.has_table(SCREENING):
        return None
    want_m = pa.table({"mmsi": pa.array(mmsis, pa.int32())})  # noqa: F841 - read by DuckDB
    want_i = pa.table({"imo": pa.array(sorted(set(imos)), pa.int32())})  # noqa: F841
    rows = store.con.sql(
        f"SELECT * FROM {SCREENING} WHERE mmsi IN (SELECT mmsi FROM want_m) OR imo IN (SELECT imo FROM want_i) "
        "ORDER BY score DESC, mmsi, imo, shipname, callsign, entity_id").to_arrow_table().to_pylist()
    for r in rows:
        for k in ("first_seen", "last_seen"):
            r[k] = _iso(r.get(k))
    return rows


def _risk(store, mmsis: list[int]) -> tuple[dict | None, list[str]]:
    try:
        table = riskscore.risk_table(store)
    except riskscore.RiskUnavailable as e:
        return None, [f"The risk score could not be computed: {e}"]
    if table is None:
        return None, []
    rows = [r for r in table.to_pylist() if r["mmsi"] in mmsis]
    if not rows:
        return None, []
    row = max(rows, key=lambda r: (r["score"], -r["mmsi"]))
    row = dict(row, contributions=riskscore.contributions(row))
    return row, riskscore.risk_sentences(dict(row, contributions=json.dumps(row["contributions"])))
