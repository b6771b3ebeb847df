"""Benchmark: screen 100,000 AIS identities against the four vendored sanctions lists.

Usage: ``.venv/bin/python bench/screen.py [--n 100000] [--seed 7]``

1% of the identities are listed vessels (IMO, MMSI or name taken from the loaded lists, with noise: "M/V "
prefixes, a dropped letter, a wrong MMSI); the rest are random plausible names, MMSIs and IMO numbers. The
identities go into a temporary store's ``statics`` table, then :func:`screen_store` runs on the whole store.
Reports identities/s, seconds and peak RSS (``resource.getrusage``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from watchkeeper import schema
from watchkeeper.sanctions.screen import screen_store
from watchkeeper.sanctions.store import load_files
from watchkeeper.store import Store

LISTS = sorted((ROOT / "src" / "watchkeeper" / "data" / "sanctions").glob("*.gz"))
WORDS = ["ATLANTIC", "PACIFIC", "NORTH", "SOUTH", "STAR", "SEA", "OCEAN", "GOLDEN", "SILVER", "EAGLE", "FALCON", "HAWK", "WIND", "WAVE", "PRIDE", "SPIRIT", "GLORY", "VICTORY", "FORTUNE", "HARMONY", "LIBERTY", "ISLAND", "CAPE", "BAY", "RIVER", "MOUNT", "PEARL", "CORAL", "JADE", "RUBY", "EMERALD", "ARCTIC", "BALTIC", "NORDIC", "POLAR", "ORIENT", "EXPRESS", "TRADER", "CARRIER", "NAVIGATOR", "VOYAGER", "EXPLORER", "PIONEER", "MARIA", "ANNA", "ELENA", "SOFIA", "LADY", "KING", "QUEEN", "PRINCE", "PRINCESS", "GRACE", "HOPE", "FAITH", "UNITY", "ZHONG", "HAI", "YUAN", "XIN", "KOTA", "MAERSK", "NORD", "SVEN", "HANSA", "ALPHA", "BETA", "DELTA", "OMEGA", "SIRIUS", "VEGA", "ORION", "LYRA", "NOVA"]


def _noise(rng: random.Random, name: str) -> str:
    r = rng.random()
    if r < 0.3:
        return "M/V " + name
    if r < 0.5 and len(name) > 5:
        i = rng.randrange(1, len(name) - 1)
        return name[:i] + name[i + 1:]
    return name.replace(" ", "-") if r < 0.7 else name


def _imo(rng: random.Random) -> int:
    d = [rng.randrange(10) for _ in range(6)]
    d[0] = rng.choice([7, 8, 9])
    return int("".join(map(str, d)) + str(sum(x * w for x, w in zip(d, (7, 6, 5, 4, 3, 2))) % 10))


def make_identities(store: Store, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    listed = store.con.sql("""
        SELECT entity_id, list(value) FILTER (kind = 'imo' AND valid) AS imo,
               list(value) FILTER (kind = 'mmsi') AS mmsi, list(value) FILTER (kind = 'name_norm') AS names
        FROM sanctions_identifiers GROUP BY entity_id HAVING len(names) > 0 ORDER BY entity_id""").fetchall()
    rows = []
    n_listed = n // 100
    for i in range(n):
        mmsi = rng.randrange(200_000_000, 780_000_000)
        if i < n_listed:
            _eid, imos, mmsis, names = rng.choice(listed)
            row = {"mmsi": int(mmsis[0]) if mmsis and rng.random() < 0.5 else mmsi,
                   "imo": int(imos[0]) if imos and rng.random() < 0.7 else None,
                   "shipname": _noise(rng, rng.choice(names))}
        else:
            name = " ".join(rng.choice(WORDS) for _ in range(rng.choice([1, 2, 2, 3])))
            if rng.random() < 0.4:
                name += f" {rng.randrange(1, 30)}"
            row = {"mmsi": mmsi, "imo": _imo(rng) if rng.random() < 0.7 else None, "shipname": name,
                   "callsign": "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(5))}
        rows.append(row)
    return rows


def write_statics(store: Store, rows: list[dict]) -> None:
    t0 = dt.datetime(2024, 4, 1, tzinfo=dt.UTC)
    cols = {f: [None] * len(rows) for f in schema.STATICS.names}
    for i, r in enumerate(rows):
        for k, v in r.items():
            cols[k][i] = v
        cols["ts"][i] = t0 + dt.timedelta(seconds=i)
        cols["msg_type"][i] = 5
        cols["source_id"][i] = 1
        cols["line"][i] = cols["line_last"][i] = i + 1
    sid = store.begin_source("b" * 64, 1, "bench-identities", "bench")
    w = store.writer(sid)
    w.write("statics", pa.table(cols, schema=schema.STATICS))
    w.publish()
    store.complete_source(sid, {"decoded": len(rows)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "db", create=True)
        t = time.perf_counter()
        load_files(store, LISTS)
        load_s = time.perf_counter() - t
        rows = make_identities(store, args.n, args.seed)
        write_statics(store, rows)
        t = time.perf_counter()
        result = screen_store(store)
        screen_s = time.perf_counter() - t
        kinds = result.group_by("match_kind").aggregate([("score", "count")]).to_pylist()
        store.close()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"lists loaded (4 files):   {load_s:8.2f} s")
    print(f"identities screened:      {args.n:8,d}")
    print(f"screening time:           {screen_s:8.2f} s  ({args.n / screen_s:,.0f} identities/s)")
    print(f"matches:                  {result.num_rows:8,d}  " +
          ", ".join(f"{k['match_kind']} {k['score_count']}" for k in sorted(kinds, key=lambda k: k['match_kind'])))
    print(f"peak RSS:                 {peak_mib:8.0f} MiB")


if __name__ == "__main__":
    main()
