"""Build Watchkeeper's vendored port and anchorage gazetteer, ``src/watchkeeper/data/ports.csv.gz``.

Run by hand when a source changes (it is not part of the package or of the tests)::

    .venv/bin/python tools/build_gazetteer.py                 # reads ../shared/data next to the repository
    .venv/bin/python tools/build_gazetteer.py --data DIR --out FILE

Sources (see each folder's PROVENANCE.md and ``src/watchkeeper/data/PROVENANCE-ports.md``):

* ``world-port-index/UpdatedPub150.csv.gz`` -- NGA World Port Index: every port, kind ``port``.
* ``un-locode/un-locode-geoapify.csv.gz`` -- UN/LOCODE: gives WPI ports their LOCODE (from WPI itself, or matched
  by name + country + distance), and adds entries with the port function (``1``) and coordinates that are not a
  WPI port (same LOCODE, or any WPI port within ``UNLOCODE_DEDUP_KM``).
* ``gfw-anchorages/anchorage_overrides.csv.gz`` -- Global Fishing Watch named anchorage cells (S2 level 14),
  clustered per (country, label): every cell lies within ``GFW_CLUSTER_KM`` of its cluster's first cell, the
  point is the centroid of the cells and ``extent_km`` the distance to the farthest; kind ``anchorage``.
* ``MANUAL`` below -- places missing from all three (Dunai), with the public source of their coordinates.

The output is deterministic (sorted rows, gzip without a timestamp), so a rebuild from the same inputs gives
the same bytes. The script prints a summary and fails if a corridor port is missing or misplaced.
"""

from __future__ import annotations

import argparse
import collections
import csv
import gzip
import io
import math
import re
import sys
from pathlib import Path

import numpy as np

from watchkeeper.geo.names import normalize_locode, normalize_name
from watchkeeper.geo.sphere import EARTH_RADIUS_KM, SphereIndex, haversine_km, to_unit_xyz

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_OUT = REPO / "src" / "watchkeeper" / "data" / "ports.csv.gz"

UNLOCODE_DEDUP_KM = 5.0  # a UN/LOCODE port this close to a WPI port is taken to be that port
LOCODE_MATCH_KM = 30.0  # a WPI port takes the LOCODE of a same-named entry of its country at most this far
SHARED_LOCODE_KM = 50.0  # WPI ports sharing a LOCODE keep it if this close to the one nearest UN/LOCODE's position
GFW_CLUSTER_KM = 2.0  # every GFW cell lies within this distance of its cluster's first cell
COLUMNS = ["port_id", "name", "alt_names", "country_iso2", "locode", "lat", "lon", "kind", "source",
           "source_ref", "extent_km", "detail"]

# WPI country names with no LOCODE in the WPI to vote on (ISO 3166-1 alpha-2; UM = US minor outlying islands)
WPI_COUNTRY_EXTRA = {"Gibraltar": "GI", "Johnson Atoll": "UM", "Midway Islands": "UM", "Norfolk Island": "NF",
                     "Palau": "PW", "Wake Island": "UM"}

# ISO 3166-1 alpha-3 -> alpha-2, fixed: where the vote of nearby ports (see iso3_to_iso2) picks a neighbour
# (first six), and codes whose two forms start with different letters (checked by hand)
ISO3_FIXED = {"ALA": "AX", "BLM": "BL", "BOL": "BO", "COD": "CD", "KWT": "KW", "PRY": "PY",
              "COM": "KM", "CYM": "KY", "MYT": "YT", "SGS": "GS", "SRB": "RS"}

# Alternative names the sources lack, keyed by port_id: (names, why)
ALIASES = {
    "wpi:60510": (["Rajin", "Rason"], "Rajin is the Korean (RR) name of Najin, Rason the special economic zone"),
    "wpi:60725": (["Vostochny"], "common English spelling of Vostochnyy (sanctions and press reporting)"),
    "wpi:60290": (["Songrim"], "RR romanisation of Songnim"),
    "wpi:60520": (["Sonbong", "Unggi"], "Sonbong (Senbong, formerly Unggi) oil port in Rason"),
    "wpi:60470": (["Chaho"], "Ch'aho naval base"),
}

# Places in none of the sources. Coordinates: public sources, stated per entry.
MANUAL = [
    {
        "port_id": "manual:dunai",
        "name": "Dunai",
        "alt_names": ["Dunay", "Дунай"],
        "country_iso2": "RU",
        "locode": "",
        "lat": 42.8741,
        "lon": 132.3549,
        "kind": "port",
        "source_ref": (
            "Dunay settlement 42.88028 N 132.33750 E (en.wikipedia.org/wiki/Dunay,_Primorsky_Krai), moved 1.5 km to "
            "the nearest Natural Earth 1:10m coastline point on Strelok Bay; RUSI (Oct 2023): naval port about "
            "9 km south of Fokino"
        ),
    },
]

# Corridor ports that must be present: (name to look up, country, lat, lon, tolerance_km). The reference positions
# are stated independently of the WPI, which the gazetteer uses for these ports: the issue text (Rajin,
# Vostochny), UN/LOCODE (Chongjin, Vladivostok, Nakhodka, Posyet, Zarubino, Slavyanka) and Wikipedia (Nampo,
# Dunay). tests/geo/test_gazetteer.py checks the same list.
CORRIDOR = [
    ("Rajin", "KP", 42.24, 130.30, 3.0),
    ("Chongjin", "KP", 41.783, 129.821, 5.0),
    ("Nampo", "KP", 38.733, 125.400, 5.0),
    ("Vladivostok", "RU", 43.115, 131.886, 5.0),
    ("Vostochny", "RU", 42.74, 133.05, 5.0),
    ("Nakhodka", "RU", 42.825, 132.893, 5.0),
    ("Posyet", "RU", 42.651, 130.805, 5.0),
    ("Zarubino", "RU", 42.617, 131.083, 5.0),
    ("Slavyanka", "RU", 42.861, 131.392, 5.0),
    ("Dunai", "RU", 42.8803, 132.3375, 3.0),
]


def read_csv_gz(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def title_case(label: str) -> str:
    """``"ST. JOHN'S"`` -> ``"St. John's"`` (GFW labels are upper case)."""
    return re.sub(r"[A-Za-z]+(?:'[A-Za-z]+)?", lambda m: m.group(0).capitalize(), label.strip().lower())


def name_parts(name: str) -> list[str]:
    """A name and the names inside it: ``"Rajin (Najin)"`` -> ``["Rajin (Najin)", "Rajin", "Najin"]``."""
    out = [name.strip()]
    m = re.fullmatch(r"\s*(.+?)\s*\((.+)\)\s*", name)
    if m:
        out += [m.group(1), m.group(2)]
    return [n for n in out if n]


def join_names(main: str, names) -> str:
    seen, out = {normalize_name(main)}, []
    for n in names:
        k = normalize_name(n)
        if k and k not in seen:
            seen.add(k)
            out.append(n.strip())
    return "|".join(out)


# ---------------------------------------------------------------------------------------------------- sources
def load_wpi(data: Path) -> list[dict]:
    rows = read_csv_gz(data / "world-port-index" / "UpdatedPub150.csv.gz")
    votes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in rows:
        code = normalize_locode(r["UN/LOCODE"])
        if code:
            votes[r["Country Code"]][code[:2]] += 1
    country = {name: c.most_common(1)[0][0] for name, c in votes.items()} | WPI_COUNTRY_EXTRA
    ports: dict[str, dict] = {}
    for r in rows:
        alt = [a.strip() for a in r["Alternate Port Name"].split(";") if a.strip()]
        pid = f"wpi:{r['World Port Index Number'].strip()}"
        if pid in ports:  # two ports appear twice (Machilipatnam, Seydisfjordur): first row, names of both
            ports[pid]["alt"] += [r["Main Port Name"].strip(), *alt]
            ports[pid]["locode"] = ports[pid]["locode"] or normalize_locode(r["UN/LOCODE"])
            continue
        ports[pid] = {
            "port_id": pid,
            "name": r["Main Port Name"].strip(),
            "alt": alt,
            "country_iso2": country[r["Country Code"]],
            "locode": normalize_locode(r["UN/LOCODE"]),
            "lat": float(r["Latitude"]),
            "lon": float(r["Longitude"]),
            "kind": "port",
            "source": "wpi",
            "source_ref": r["World Port Index Number"].strip(),
        }
    return list(ports.values())


def load_unlocode(data: Path) -> list[dict]:
    out: dict[str, dict] = {}
    for r in read_csv_gz(data / "un-locode" / "un-locode-geoapify.csv.gz"):
        name = r["name"].replace('"', "").strip()
        if "\ufffd" in name:  # ~12,600 names lost their accented letters upstream; the ASCII form is intact
            name = r["nameWoDiacritics"].replace('"', "").strip()
        code = r["country"] + r["location"]
        if code in out:  # one LOCODE, one row per language (Belgium, Finland): one place with both names
            out[code]["alt"] += name_parts(name)
            continue
        lat = float(r["lat"]) if r["lat"] else math.nan
        lon = float(r["lon"]) if r["lon"] else math.nan
        out[code] = {"locode": code, "country_iso2": r["country"], "name": name, "alt": [],
                     "function": r["function"], "lat": lat, "lon": lon, "geocoded": r["geocoded"] == "true"}
    return list(out.values())


def resolve_shared_locodes(wpi: list[dict], unl: dict[str, dict]) -> None:
    """Where the WPI gives one LOCODE to several ports, keep it on the port nearest the UN/LOCODE position and
    on the others within ``SHARED_LOCODE_KM`` of that one (terminals of one port); drop it elsewhere (WPI
    errors, e.g. Cockburn, Ontario, carrying the LOCODE of Cockburn Town, Bahamas)."""
    holders: dict[str, list[dict]] = collections.defaultdict(list)
    for p in wpi:
        if p["locode"]:
            holders[p["locode"]].append(p)
    for code, ports in holders.items():
        e = unl.get(code)
        if len(ports) < 2 or e is None or not np.isfinite(e["lat"]):
            continue
        main = min(ports, key=lambda p: float(haversine_km(p["lat"], p["lon"], e["lat"], e["lon"])))
        for p in ports:
            if float(haversine_km(p["lat"], p["lon"], main["lat"], main["lon"])) > SHARED_LOCODE_KM:
                p["locode"] = ""


def match_locodes(wpi: list[dict], unl: list[dict]) -> dict[str, int]:
    """Give WPI ports without a LOCODE the LOCODE of a same-named, same-country entry nearby.

    Returns ``{locode: index into wpi}`` for every LOCODE now held by a WPI port.
    """
    resolve_shared_locodes(wpi, {e["locode"]: e for e in unl})
    held = {p["locode"]: i for i, p in enumerate(wpi) if p["locode"]}
    by_key: dict[tuple[str, str], list[dict]] = collections.defaultdict(list)
    for e in unl:
        for n in name_parts(e["name"]) + e["alt"]:
            by_key[(e["country_iso2"], normalize_name(n))].append(e)
    for i, p in enumerate(wpi):
        if p["locode"]:
            continue
        best, best_km = None, LOCODE_MATCH_KM
        for n in [p["name"], *p["alt"]]:
            for e in by_key.get((p["country_iso2"], normalize_name(n)), []):
                if e["locode"] in held or not np.isfinite(e["lat"]):
                    continue
                km = float(haversine_km(p["lat"], p["lon"], e["lat"], e["lon"]))
                if km <= best_km:
                    best, best_km = e, km
        if best is not None:
            p["locode"] = best["locode"]
            held[best["locode"]] = i
    return held


def unlocode_ports(wpi: list[dict], unl: list[dict], held: dict[str, int]) -> tuple[list[dict], collections.Counter]:
    """UN/LOCODE entries with the port function and coordinates that are not already a WPI port."""
    stats: collections.Counter = collections.Counter()
    cands = [e for e in unl if e["function"][:1] == "1"]
    stats["port function"] = len(cands)
    cands = [e for e in cands if np.isfinite(e["lat"]) and np.isfinite(e["lon"]) and abs(e["lat"]) <= 90]
    stats["with coordinates"] = len(cands)
    for e in cands:
        if e["locode"] in held:  # the WPI port of that LOCODE takes the UN/LOCODE names
            wpi[held[e["locode"]]]["alt"] += name_parts(e["name"]) + e["alt"]
    cands = [e for e in cands if e["locode"] not in held]
    stats["LOCODE not held by a WPI port"] = len(cands)
    index = SphereIndex([p["lat"] for p in wpi], [p["lon"] for p in wpi])
    near, _ = index.nearest([e["lat"] for e in cands], [e["lon"] for e in cands], UNLOCODE_DEDUP_KM)
    out = []
    for e, w in zip(cands, near):
        if w >= 0:
            continue
        out.append({
            "port_id": f"unlocode:{e['locode']}",
            "name": name_parts(e["name"])[0],
            "alt": name_parts(e["name"])[1:] + e["alt"],
            "country_iso2": e["country_iso2"],
            "locode": e["locode"],
            "lat": e["lat"],
            "lon": e["lon"],
            "kind": "port",
            "source": "unlocode",
            "source_ref": e["locode"] + (" (coordinates geocoded by Geoapify)" if e["geocoded"] else ""),
        })
    stats[f"not within {UNLOCODE_DEDUP_KM:g} km of a WPI port (added)"] = len(out)
    return out, stats


def iso3_to_iso2(cells_lat, cells_lon, cells_iso3, ports: list[dict]) -> dict[str, str]:
    """ISO alpha-3 -> alpha-2 by majority of the nearest port's country (ports within 50 km of the cells)."""
    index = SphereIndex([p["lat"] for p in ports], [p["lon"] for p in ports])
    near, _ = index.nearest(cells_lat, cells_lon, 50.0)
    votes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for iso3, j in zip(cells_iso3, near):
        if j >= 0:
            votes[iso3][ports[j]["country_iso2"]] += 1
    out = {}
    for iso3 in sorted(set(cells_iso3)):
        c = votes.get(iso3)
        if iso3 in ISO3_FIXED:
            out[iso3] = ISO3_FIXED[iso3]
        elif not c:
            raise SystemExit(f"no port within 50 km of any GFW cell of {iso3}: add it to ISO3_FIXED")
        else:
            out[iso3] = c.most_common(1)[0][0]
            # other alpha-2 codes share the first letter of their alpha-3 code: a mismatch means the vote went to
            # a neighbour
            if out[iso3][0] != iso3[0]:
                raise SystemExit(f"GFW {iso3} voted {out[iso3]}: check and add it to ISO3_FIXED")
    return out


def gfw_anchorages(data: Path, ports: list[dict]) -> tuple[list[dict], collections.Counter]:
    rows = read_csv_gz(data / "gfw-anchorages" / "anchorage_overrides.csv.gz")
    n_all = len(rows)
    for r in rows:
        r["iso3"] = r["iso3"].strip()  # a few have spaces (" USA ")
    # three rows are placeholders, not anchorages: no country or "NA", at the North Pole, at 0/0 ("REMOVE")
    # or with the latitude repeated as longitude
    rows = [r for r in rows if re.fullmatch(r"[A-Z]{3}", r["iso3"]) and r["label"].strip()]
    n_valid = len(rows)
    # about 4,500 cells appear more than once, under different labels (AJMAN / SHARJAH ...); GFW's namer takes
    # the nearest entry, which for one cell is ambiguous: keep the first row in file order
    first: dict[str, dict] = {}
    for r in rows:
        first.setdefault(r["s2id"], r)
    rows = list(first.values())
    rows.sort(key=lambda r: r["s2id"])
    lat = np.array([float(r["latitude"]) for r in rows])
    lon = np.array([float(r["longitude"]) for r in rows])
    iso3 = [r["iso3"] for r in rows]
    iso2 = iso3_to_iso2(lat, lon, iso3, ports)
    xyz = to_unit_xyz(lat, lon)
    limit = 2 * math.sin(GFW_CLUSTER_KM / EARTH_RADIUS_KM / 2)
    groups: dict[tuple[str, str], list[int]] = collections.defaultdict(list)
    for i, r in enumerate(rows):
        groups[(r["iso3"], r["label"].strip())].append(i)
    out = []
    for (g_iso3, label), members in sorted(groups.items()):
        left = np.array(members)
        while left.size:  # leader clustering: deterministic (cells in s2id order), radius bounded
            lead = left[0]
            inside = np.linalg.norm(xyz[left] - xyz[lead], axis=1) <= limit
            cl, left = left[inside], left[~inside]
            c = xyz[cl].mean(axis=0)
            c /= np.linalg.norm(c)
            c_lat, c_lon = math.degrees(math.asin(c[2])), math.degrees(math.atan2(c[1], c[0]))
            extent = float(haversine_km(c_lat, c_lon, lat[cl], lon[cl]).max())
            subs = collections.Counter(rows[i]["sublabel"].strip() for i in cl if rows[i]["sublabel"].strip())
            sub = min(subs.items(), key=lambda kv: (-kv[1], kv[0]))[0] if subs else ""
            coded = re.fullmatch(r"[A-Z]{3}-(\d+|NA)", label) is not None  # GFW id of an unnamed port
            name = title_case(sub if coded and sub else label)
            out.append({
                "port_id": f"gfw:{rows[lead]['s2id']}",
                "name": name,
                "alt": [label] if coded else [],
                "country_iso2": iso2[g_iso3],
                "locode": "",
                "lat": c_lat,
                "lon": c_lon,
                "kind": "anchorage",
                "source": "gfw",
                "source_ref": f"{g_iso3}:{label}:{rows[lead]['s2id']}:{len(cl)} cells",
                "extent_km": extent,
                "detail": title_case(sub) if sub and not coded else "",
            })
    stats = collections.Counter({"cells": n_all, "placeholder cells without a country (dropped)": n_all - n_valid,
                                 "repeated cells (later rows dropped)": n_valid - len(rows),
                                 "labels (country, label)": len(groups),
                                 "anchorage points": len(out)})
    return out, stats


# --------------------------------------------------------------------------------------------------- assembly
def build(data: Path) -> tuple[list[dict], dict]:
    wpi = load_wpi(data)
    unl = load_unlocode(data)
    held = match_locodes(wpi, unl)
    unl_ports, unl_stats = unlocode_ports(wpi, unl, held)
    gfw, gfw_stats = gfw_anchorages(data, wpi + unl_ports)
    manual = [dict(m, alt=m["alt_names"], source="manual") for m in MANUAL]
    rows = wpi + unl_ports + gfw + manual
    by_id = {r["port_id"]: r for r in rows}
    for pid, (names, _why) in ALIASES.items():
        by_id[pid]["alt"] = by_id[pid]["alt"] + names
    if len(by_id) != len(rows):
        raise SystemExit("duplicate port_id")
    out = []
    for r in rows:
        out.append({
            "port_id": r["port_id"],
            "name": r["name"],
            "alt_names": join_names(r["name"], r["alt"]),
            "country_iso2": r["country_iso2"],
            "locode": r["locode"],
            "lat": f"{r['lat']:.5f}",
            "lon": f"{((r['lon'] + 180) % 360) - 180:.5f}",
            "kind": r["kind"],
            "source": r["source"],
            "source_ref": r["source_ref"],
            "extent_km": f"{r.get('extent_km', 0.0):.2f}",
            "detail": r.get("detail", ""),
        })
    order = {"wpi": 0, "unlocode": 1, "gfw": 2, "manual": 3}
    out.sort(key=lambda r: (order[r["source"]], r["port_id"]))
    stats = {
        "WPI ports": len(wpi),
        "WPI ports with a LOCODE (from WPI or matched)": sum(1 for p in wpi if p["locode"]),
        **{f"UN/LOCODE {k}": v for k, v in unl_stats.items()},
        **{f"GFW {k}": v for k, v in gfw_stats.items()},
        "manual entries": len(manual),
        "rows": len(out),
    }
    return out, stats


def check_corridor(rows: list[dict]) -> list[str]:
    """One line per corridor port: where the gazetteer puts it and how far that is from the reference."""
    lines, errors = [], []
    for name, cc, lat, lon, tol_km in CORRIDOR:
        key = normalize_name(name)
        hits = [r for r in rows if r["country_iso2"] == cc and r["kind"] == "port"
                and key in {normalize_name(n) for n in [r["name"], *r["alt_names"].split("|")]}]
        if not hits:
            errors.append(f"corridor port {name} ({cc}) is missing")
            continue
        r = hits[0]
        km = float(haversine_km(lat, lon, float(r["lat"]), float(r["lon"])))
        lines.append(f"  {name:<12} {r['port_id']:<16} {r['name']:<14} {float(r['lat']):9.4f} "
                     f"{float(r['lon']):9.4f}  {km:4.1f} km from reference")
        if km > tol_km:
            errors.append(f"corridor port {name} is {km:.1f} km from its reference position")
    if errors:
        raise SystemExit("\n".join(errors))
    return lines


def write_csv_gz(rows: list[dict], out: Path) -> None:
    text = io.StringIO()
    w = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0, filename="") as gz:
        gz.write(text.getvalue().encode("utf-8"))
    tmp.replace(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output file (default: %(default)s)")
    args = ap.parse_args(argv)
    rows, stats = build(args.data)
    corridor = check_corridor(rows)
    write_csv_gz(rows, args.out)
    kinds = collections.Counter((r["kind"], r["source"]) for r in rows)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    for k, v in stats.items():
        print(f"  {k}: {v:,}")
    for (kind, source), v in sorted(kinds.items()):
        print(f"  kind={kind} source={source}: {v:,}")
    print("corridor ports:")
    print("\n".join(corridor))
    return 0


if __name__ == "__main__":
    sys.exit(main())
