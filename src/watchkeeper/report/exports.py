"""``watchkeeper export``: tracks and events for other tools.

==========  ====================================================================================================
format      what is written
==========  ====================================================================================================
geojson     one FeatureCollection (RFC 7946): a LineString per track segment (a MultiLineString when it crosses
            the antimeridian, split there as RFC 7946 asks; a Point for a one-position segment) and a Point per
            event (null geometry without a position), properties as in the events JSON Lines contract
kml         KML 2.2 for Google Earth: Folders "Tracks", "Events" (with TimeSpan) and "Ports"
ftm         FollowTheMoney entities as JSON Lines for Aleph: a ``Vessel`` per MMSI, an ``Event`` per event, and an
            ``UnknownLink`` from each vessel involved to its event
geoparquet  GeoParquet 1.0: WKB ``geometry`` column and ``geo`` metadata (CRS84); ``tracks`` and ``events`` each a
            file (``--what all``: PATH is a directory holding ``tracks.parquet`` and ``events.parquet``)
csv         ``tracks``: one row per position with its segment; ``events``: the events CSV export
            (``--what all``: PATH is a directory holding ``positions.csv`` and ``events.csv``)
==========  ====================================================================================================
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from watchkeeper.config import Config
from watchkeeper.detect import events as ev
from watchkeeper.errors import InputError

FORMATS = ("geojson", "kml", "ftm", "geoparquet", "csv")
WHATS = ("tracks", "events", "all")
KML_NS = "http://www.opengis.net/kml/2.2"
GEOPARQUET_VERSION = "1.0.0"


def export(store, fmt: str, path: str | Path, *, what: str = "all", config: Config | None = None,
           gazetteer=None) -> dict[str, int]:
    """Write the store's tracks and/or events to ``path`` in ``fmt``; return counts of what was written."""
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}", where="--format", fix=f"use one of: {', '.join(FORMATS)}")
    if what not in WHATS:
        raise InputError(f"unknown --what {what!r}", where="--what", fix=f"use one of: {', '.join(WHATS)}")
    config = config or Config()
    path = Path(path)
    tracks = track_segments(store, config) if what in ("tracks", "all") else None
    events = _events(store) if what in ("events", "all") else None
    if fmt in ("geoparquet", "csv") and what == "all":
        path.mkdir(parents=True, exist_ok=True)
        ext = "parquet" if fmt == "geoparquet" else "csv"
        first = "tracks" if fmt == "geoparquet" else "positions"
        a = _write_one(store, fmt, path / f"{first}.{ext}", tracks, None, config, gazetteer)
        b = _write_one(store, fmt, path / f"events.{ext}", None, events, config, gazetteer)
        return {**a, **b}
    return _write_one(store, fmt, path, tracks, events, config, gazetteer)


def _write_one(store, fmt, path, tracks, events, config, gazetteer) -> dict[str, int]:
    if fmt == "geojson":
        return write_geojson(path, tracks, events)
    if fmt == "kml":
        return write_kml(path, tracks, events, _ports(events, tracks, gazetteer))
    if fmt == "ftm":
        return write_ftm(path, store, tracks, events)
    if fmt == "geoparquet":
        return write_geoparquet(path, tracks if tracks is not None else None, events)
    return write_csv(path, tracks, events)


def _events(store) -> pa.Table:
    return store.events_table() if store.has_table("events") else ev.EVENTS.empty_table()


# ------------------------------------------------------------------------------------------------- tracks

def track_segments(store, config: Config) -> list[dict]:
    """One dict per segment: ``segment_id``, ``mmsi``, ``name`` (last name broadcast), ``t_us``, ``lat``,
    ``lon``, ``sog_kn`` (numpy arrays in time order), as segmented by :func:`watchkeeper.tracks.segment.segment`."""
    from watchkeeper.engines.local import read_table
    from watchkeeper.schema import POSITIONS
    from watchkeeper.tracks.segment import segment

    seg = segment(read_table(store, "positions", POSITIONS), config)
    seg = seg.sort_by([("segment_id", "ascending"), ("ts", "ascending"), ("line", "ascending")])
    ids = seg.column("segment_id").to_numpy(zero_copy_only=False)
    if not len(ids):
        return []
    cols = {"t_us": seg.column("ts").cast(pa.int64()).to_numpy(), "lat": seg.column("lat").to_numpy(),
            "lon": seg.column("lon").to_numpy(),
            "sog_kn": seg.column("sog_kn").to_numpy(zero_copy_only=False).astype(float),
            "mmsi": seg.column("mmsi").to_numpy(), "source_id": seg.column("source_id").to_numpy(),
            "line": seg.column("line").to_numpy()}
    cuts = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    names = _names(store)
    out = []
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(ids)]):
        mmsi = int(cols["mmsi"][lo])
        out.append({"segment_id": str(ids[lo]), "mmsi": mmsi, "name": names.get(mmsi),
                    **{k: v[lo:hi] for k, v in cols.items() if k != "mmsi"}})
    return out


def _names(store) -> dict[int, str]:
    st = store.relation("statics")  # noqa: F841 - read by DuckDB
    rows = store.con.sql("SELECT mmsi, arg_max(shipname, ts) FROM st WHERE shipname IS NOT NULL AND ts IS NOT NULL "
                         "GROUP BY mmsi").fetchall()
    return {int(m): n for m, n in rows}


def split_antimeridian(lon: np.ndarray, lat: np.ndarray) -> list[list[tuple[float, float]]]:
    """A track's ``(lon, lat)`` parts, split where it crosses the antimeridian (each part within ±180°)."""
    parts, cur = [], []
    for i in range(len(lon)):
        if cur and abs(lon[i] - lon[i - 1]) > 180.0:
            a, b = float(lon[i - 1]), float(lon[i])
            b_un = b + 360.0 if a > b else b - 360.0  # b continued past the line
            edge = 180.0 if a > 0 else -180.0
            f = (edge - a) / (b_un - a)
            y = float(lat[i - 1] + f * (lat[i] - lat[i - 1]))
            cur.append((edge, y))
            parts.append(cur)
            cur = [(-edge, y)]
        cur.append((float(lon[i]), float(lat[i])))
    if cur:
        parts.append(cur)
    return parts


def track_geometry(seg: dict):
    """The shapely geometry of a segment: Point, LineString, or MultiLineString across the antimeridian."""
    if len(seg["lon"]) == 1:
        return shapely.Point(float(seg["lon"][0]), float(seg["lat"][0]))
    parts = [p for p in split_antimeridian(seg["lon"], seg["lat"]) if len(p) >= 2]
    return shapely.LineString(parts[0]) if len(parts) == 1 else shapely.MultiLineString(parts)


def _iso(t_us: int) -> str:
    when = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(t_us))
    text = when.isoformat().replace("+00:00", "Z")
    return text.replace(".000000", "")


def _track_props(seg: dict) -> dict:
    return {"kind": "track", "segment_id": seg["segment_id"], "mmsi": seg["mmsi"], "name": seg["name"],
            "start": _iso(seg["t_us"][0]), "end": _iso(seg["t_us"][-1]), "n_positions": len(seg["t_us"])}


# ------------------------------------------------------------------------------------------------ GeoJSON

def write_geojson(path: Path, tracks, events) -> dict[str, int]:
    counts = {"tracks": 0, "events": 0}
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"type":"FeatureCollection","features":[')
        sep = "\n"
        for seg in tracks or []:
            geom = json.loads(shapely.to_geojson(track_geometry(seg)))
            f.write(sep + json.dumps({"type": "Feature", "id": seg["segment_id"], "geometry": geom,
                                      "properties": _track_props(seg)}, separators=(",", ":")))
            sep = ",\n"
            counts["tracks"] += 1
        for rec in ev.to_records(events) if events is not None else []:
            geom = None if rec["lat"] is None else {"type": "Point", "coordinates": [rec["lon"], rec["lat"]]}
            f.write(sep + json.dumps({"type": "Feature", "id": rec["event_id"], "geometry": geom,
                                      "properties": {"kind": "event", **rec}}, separators=(",", ":")))
            sep = ",\n"
            counts["events"] += 1
        f.write("\n]}\n")
    return counts


# ---------------------------------------------------------------------------------------------------- KML

def _ports(events, tracks, gazetteer) -> list[dict]:
    """Ports named by events, and ports of interest within the area of the data."""
    out: dict[str, dict] = {}
    for rec in ev.to_records(events) if events is not None else []:
        if rec["port"]:
            p = rec["port"]
            out[p["name"]] = {"name": p["name"], "lat": p["lat"], "lon": p["lon"], "locode": p["locode"], "tier": None}
    lats = [s["lat"] for s in tracks or []] + ([events.column("lat").drop_null().to_numpy()] if events is not None
                                                 else [])
    lons = [s["lon"] for s in tracks or []] + ([events.column("lon").drop_null().to_numpy()] if events is not None
                                                 else [])
    lat = np.concatenate(lats) if lats else np.array([])
    lon = np.concatenate(lons) if lons else np.array([])
    if len(lat):
        from watchkeeper.geo.gazetteer import load_gazetteer

        gaz = gazetteer if gazetteer is not None else load_gazetteer()
        poi = gaz.ports_of_interest().to_pylist()
        for p in poi:
            if lat.min() - 1 <= p["lat"] <= lat.max() + 1 and lon.min() - 1 <= p["lon"] <= lon.max() + 1:
                out.setdefault(p["name"], {"name": p["name"], "lat": p["lat"], "lon": p["lon"], "locode": None,
                                           "tier": p["tier"]})
    return sorted(out.values(), key=lambda p: p["name"])


def _sub(parent, tag, text=None, **attrs):
    el = ET.SubElement(parent, f"{{{KML_NS}}}{tag}", attrs)
    if text is not None:
        el.text = str(text)
    return el


def _timespan(parent, start: str, end: str) -> None:
    ts = _sub(parent, "TimeSpan")
    _sub(ts, "begin", start)
    _sub(ts, "end", end)


def write_kml(path: Path, tracks, events, ports) -> dict[str, int]:
    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = _sub(root, "Document")
    _sub(doc, "name", "Watchkeeper export")
    for sid, colour, width in (("track", "ffb4641e", 2), ("event", "ff2b39c0", 1), ("port", "ff3a3ab0", 1)):
        style = _sub(doc, "Style", id=sid)
        if sid == "track":
            ls = _sub(style, "LineStyle")
            _sub(ls, "color", colour)
            _sub(ls, "width", width)
        else:
            icon = _sub(style, "IconStyle")
            _sub(icon, "color", colour)
    counts = {"tracks": 0, "events": 0, "ports": 0}
    if tracks is not None:
        folder = _sub(doc, "Folder")
        _sub(folder, "name", "Tracks")
        for seg in tracks:
            pm = _sub(folder, "Placemark", id=f"track-{seg['segment_id']}")
            props = _track_props(seg)
            _sub(pm, "name", f"{seg['name'] or seg['mmsi']} ({seg['segment_id']})")
            _sub(pm, "description", f"MMSI {seg['mmsi']}, {props['n_positions']} positions")
            _timespan(pm, props["start"], props["end"])
            _sub(pm, "styleUrl", "#track")
            _kml_geometry(pm, track_geometry(seg))
            counts["tracks"] += 1
    if events is not None:
        folder = _sub(doc, "Folder")
        _sub(folder, "name", "Events")
        for rec in ev.to_records(events):
            pm = _sub(folder, "Placemark", id=f"event-{rec['event_id']}")
            _sub(pm, "name", f"{rec['type']} {rec['mmsi']}")
            _sub(pm, "description", json.dumps({k: rec[k] for k in ("event_id", "confidence", "details", "port",
                                                                    "other_mmsi")}, sort_keys=True))
            _timespan(pm, rec["start"], rec["end"])
            _sub(pm, "styleUrl", "#event")
            if rec["lat"] is not None:
                pt = _sub(pm, "Point")
                _sub(pt, "coordinates", f"{rec['lon']},{rec['lat']}")
            counts["events"] += 1
        folder = _sub(doc, "Folder")
        _sub(folder, "name", "Ports")
        for p in ports:
            pm = _sub(folder, "Placemark")
            _sub(pm, "name", p["name"])
            if p.get("tier"):
                _sub(pm, "description", f"port of interest, tier {p['tier']}")
            _sub(pm, "styleUrl", "#port")
            pt = _sub(pm, "Point")
            _sub(pt, "coordinates", f"{p['lon']},{p['lat']}")
            counts["ports"] += 1
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)
    return counts


def _kml_geometry(parent, geom) -> None:
    def line(p, coords):
        ls = _sub(p, "LineString")
        _sub(ls, "tessellate", 1)
        _sub(ls, "coordinates", " ".join(f"{x:.6f},{y:.6f}" for x, y in coords))

    kind = shapely.get_type_id(geom)
    if kind == shapely.GeometryType.POINT:
        pt = _sub(parent, "Point")
        _sub(pt, "coordinates", f"{geom.x:.6f},{geom.y:.6f}")
    elif kind == shapely.GeometryType.LINESTRING:
        line(parent, geom.coords)
    else:
        multi = _sub(parent, "MultiGeometry")
        for part in geom.geoms:
            line(multi, part.coords)


# ----------------------------------------------------------------------------------------- FollowTheMoney

def write_ftm(path: Path, store, tracks, events) -> dict[str, int]:
    """FollowTheMoney entities as JSON Lines (``ftm`` / Aleph ``alephclient write-entities`` input)."""
    from followthemoney import model
    from followthemoney.types import registry

    from watchkeeper.detect.identity import flag_of
    from watchkeeper.sanctions.screen import store_identities

    records = list(ev.to_records(events)) if events is not None else []
    mmsis = sorted({s["mmsi"] for s in tracks or []} | {r["mmsi"] for r in records if r["mmsi"]}
                   | {r["other_mmsi"] for r in records if r["other_mmsi"]})
    ident = store_identities(store, mmsis).to_pylist() if mmsis else []
    counts = {"vessels": 0, "events": 0, "links": 0}
    vessel_ids = {}
    with open(path, "w", encoding="utf-8") as f:
        def emit(proxy):
            f.write(json.dumps(proxy.to_dict(), sort_keys=True, ensure_ascii=False) + "\n")

        for mmsi in mmsis:
            v = model.make_entity("Vessel")
            v.make_id("watchkeeper", "vessel", str(mmsi))
            v.add("mmsi", f"{mmsi:09d}")
            rows = sorted((r for r in ident if r["mmsi"] == mmsi),
                          key=lambda r: r["last_seen"] or dt.datetime.min.replace(tzinfo=dt.UTC))
            names = [r["shipname"] for r in rows if r["shipname"]]
            v.add("name", names[-1] if names else f"MMSI {mmsi:09d}")
            v.add("previousName", sorted(set(names[:-1]) - {names[-1]}) if names else [])
            v.add("imoNumber", sorted({f"IMO{r['imo']}" for r in rows if r["imo"]}))
            v.add("callSign", sorted({r["callsign"] for r in rows if r["callsign"]}))
            _mid, admin = flag_of(mmsi)
            if admin:
                code = registry.country.clean(re.sub(r"\s*\(.*?\)", "", admin.split(";")[0]).split(" - ")[0])
                if code:
                    v.add("flag", code)
            v.add("publisher", "Watchkeeper (AIS)")
            vessel_ids[mmsi] = v.id
            emit(v)
            counts["vessels"] += 1
        for rec in records:
            e = model.make_entity("Event")
            e.make_id("watchkeeper", "event", rec["event_id"])
            e.add("name", f"{rec['type'].replace('_', ' ')}: MMSI {rec['mmsi']}")
            e.add("startDate", rec["start"][:19])
            e.add("endDate", rec["end"][:19])
            e.add("date", rec["start"][:10])
            e.add("recordId", rec["event_id"])
            e.add("summary", f"{rec['type']} detected by {rec['detector_version']}, confidence "
                             f"{rec['confidence']:.2f}" + (f", at {rec['port']['name']}" if rec["port"] else ""))
            e.add("description", json.dumps({"details": rec["details"], "positions": rec["positions"],
                                             "config_sha256": rec["config_sha256"]}, sort_keys=True))
            if rec["lat"] is not None:
                e.add("location", f"{rec['lat']:.5f}, {rec['lon']:.5f}")
            if rec["port"]:
                e.add("location", rec["port"]["name"])
            emit(e)
            counts["events"] += 1
            for role, m in (("subject", rec["mmsi"]), ("other vessel", rec["other_mmsi"])):
                if not m or m not in vessel_ids:
                    continue
                link = model.make_entity("UnknownLink")
                link.make_id("watchkeeper", "link", rec["event_id"], str(m))
                link.add("subject", vessel_ids[m])
                link.add("object", e.id)
                link.add("role", f"{rec['type']} ({role})")
                emit(link)
                counts["links"] += 1
    return counts


# -------------------------------------------------------------------------------------------- GeoParquet

def write_geoparquet(path: Path, tracks, events) -> dict[str, int]:
    """A GeoParquet 1.0 file: tracks (when given) or events, with a WKB ``geometry`` column."""
    if tracks is not None:
        geoms = [track_geometry(s) for s in tracks]
        table = pa.table({
            "segment_id": pa.array([s["segment_id"] for s in tracks], pa.string()),
            "mmsi": pa.array([s["mmsi"] for s in tracks], pa.int32()),
            "name": pa.array([s["name"] for s in tracks], pa.string()),
            "start": pa.array([int(s["t_us"][0]) for s in tracks], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "end": pa.array([int(s["t_us"][-1]) for s in tracks], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "n_positions": pa.array([len(s["t_us"]) for s in tracks], pa.int64()),
        })
        kind = "tracks"
    else:
        table = events.drop_columns(["positions"]).append_column(
            "positions", pa.array([json.dumps(p, sort_keys=True) for p in events.column("positions").to_pylist()],
                                  pa.string()))
        lat, lon = events.column("lat").to_pylist(), events.column("lon").to_pylist()
        geoms = [None if a is None else shapely.Point(b, a) for a, b in zip(lat, lon)]
        kind = "events"
    wkb = [None if g is None else shapely.to_wkb(g, output_dimension=2, byte_order=1) for g in geoms]
    table = table.append_column("geometry", pa.array(wkb, pa.binary()))
    present = [g for g in geoms if g is not None]
    types = sorted({g.geom_type for g in present})
    column = {"encoding": "WKB", "geometry_types": types}
    if present:
        b = shapely.total_bounds(np.array(present, dtype=object))
        column["bbox"] = [float(v) for v in b]
    geo = {"version": GEOPARQUET_VERSION, "primary_column": "geometry", "columns": {"geometry": column}}
    meta = dict(table.schema.metadata or {})
    meta[b"geo"] = json.dumps(geo, separators=(",", ":")).encode("utf-8")
    pq.write_table(table.replace_schema_metadata(meta), path, compression="zstd")
    return {kind: table.num_rows}


# ---------------------------------------------------------------------------------------------------- CSV

POSITION_COLUMNS = ("mmsi", "segment_id", "ts", "lat", "lon", "sog_kn", "source_id", "line")


def write_csv(path: Path, tracks, events) -> dict[str, int]:
    with open(path, "w", encoding="utf-8", newline="") as f:
        if tracks is not None:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(POSITION_COLUMNS)
            n = 0
            for s in tracks:
                for i in range(len(s["t_us"])):
                    sog = s["sog_kn"][i]
                    w.writerow([s["mmsi"], s["segment_id"], _iso(s["t_us"][i]), repr(float(s["lat"][i])),
                                repr(float(s["lon"][i])), "" if np.isnan(sog) else f"{sog:g}", int(s["source_id"][i]),
                                int(s["line"][i])])
                    n += 1
            return {"positions": n}
        return {"events": ev.to_csv(events, f)}
