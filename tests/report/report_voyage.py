"""A small store built from a synthetic voyage in the canonical CSV format, ingested and detected for real.

The voyage off Primorye and the DPRK (March 2024): vessel A (273354260, "ANGARA", IMO 9179842) lies at
Vladivostok, sails south-west, goes silent for 36 h within reach of Rajin (an ais_gap and a dark_port_call),
reappears, meets vessel B (352001234) far offshore for four hours at walking pace (an encounter) and sails back
under a new name. Positions every 5 minutes.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from watchkeeper.engines.local import run_detection
from watchkeeper.ingest.pipeline import ingest_paths
from watchkeeper.store.catalogue import Store

A, B = 273354260, 352001234
IMO_A = 9179842
T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
STEP = dt.timedelta(minutes=5)
VLADIVOSTOK = (43.095, 131.875)
DARK_POINT = (42.05, 131.05)
MEETING = (41.40, 133.60)
COLUMNS = "msg_type,mmsi,ts,lat,lon,sog_kn,cog_deg,nav_status,imo,callsign,shipname,ship_type"


def _km(a, b):
    dlat = math.radians(b[0] - a[0])
    dlon = math.radians(b[1] - a[1]) * math.cos(math.radians((a[0] + b[0]) / 2))
    return 6371.0 * math.hypot(dlat, dlon)


def _course(a, b):
    dlat = b[0] - a[0]
    dlon = (b[1] - a[1]) * math.cos(math.radians((a[0] + b[0]) / 2))
    return math.degrees(math.atan2(dlon, dlat)) % 360


def _leg(t, a, b, speed_kn):
    """Positions from a to b at speed_kn, one per STEP; returns (rows, arrival time)."""
    hours = _km(a, b) / (speed_kn * 1.852)
    n = max(1, round(hours * 3600 / STEP.total_seconds()))
    cog = _course(a, b)
    rows = [(t + i * STEP, a[0] + (b[0] - a[0]) * i / n, a[1] + (b[1] - a[1]) * i / n, speed_kn, cog, 0)
            for i in range(n)]
    return rows, t + n * STEP


def _stay(t, p, hours, status=5, jitter=0.0):
    n = round(hours * 3600 / STEP.total_seconds())
    rows = [(t + i * STEP, p[0] + jitter * math.sin(i), p[1] + jitter * math.cos(i), 0.3 if jitter else 0.0, 0.0,
             status) for i in range(n)]
    return rows, t + n * STEP


def voyage_rows():
    """(mmsi, ts, lat, lon, sog, cog, status, identity) rows of both vessels, in time order per vessel."""
    ident_a = (IMO_A, "UBCI5", "ANGARA", 70)
    ident_a2 = (IMO_A, "UBCI5", "SPARTA IV", 70)
    ident_b = (9261499, "3EXY7", "OCEAN STAR", 80)
    out = []
    t = T0
    rows, t = _stay(t, VLADIVOSTOK, 8)
    out += [(A, *r, ident_a) for r in rows]
    rows, t = _leg(t, VLADIVOSTOK, DARK_POINT, 10.0)
    out += [(A, *r, ident_a) for r in rows]
    t += dt.timedelta(hours=36)  # silent: time enough for Rajin and back
    rows, t = _leg(t, DARK_POINT, MEETING, 10.0)
    out += [(A, *r, ident_a) for r in rows]
    meet_start = t
    rows, t = _stay(t, MEETING, 4, status=0, jitter=0.0005)
    out += [(A, *r, ident_a) for r in rows]
    half = len(rows) // 2
    rows_back, t = _leg(t, MEETING, VLADIVOSTOK, 11.0)
    out += [(A, *r, ident_a if i < half else ident_a2) for i, r in enumerate(rows_back)]
    rows, t = _stay(t, VLADIVOSTOK, 6)
    out += [(A, *r, ident_a2) for r in rows]
    # vessel B: comes from the south-east, waits at the meeting point, leaves
    tb = meet_start - dt.timedelta(hours=6)
    start_b = (40.90, 134.60)
    rows, tb2 = _leg(tb, start_b, MEETING, 9.0)
    shift = meet_start - tb2
    out += [(B, r[0] + shift, *r[1:], ident_b) for r in rows]
    rows, tb = _stay(meet_start, (MEETING[0] + 0.001, MEETING[1] + 0.001), 4, status=0, jitter=0.0005)
    out += [(B, *r, ident_b) for r in rows]
    rows, tb = _leg(tb, MEETING, start_b, 9.0)
    out += [(B, *r, ident_b) for r in rows]
    return out


def write_voyage_csv(path: Path) -> Path:
    lines = [COLUMNS]
    for mmsi, ts, lat, lon, sog, cog, status, (imo, cs, name, stype) in voyage_rows():
        lines.append(f"0,{mmsi},{ts.strftime('%Y-%m-%dT%H:%M:%SZ')},{lat:.6f},{lon:.6f},{sog:.1f},{cog:.1f},"
                     f"{status},{imo},{cs},{name},{stype}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def voyage_store(tmp_path_factory) -> Path:
    """A store directory holding the synthetic voyage, ingested and detected (read-only for the tests)."""
    root = tmp_path_factory.mktemp("voyage")
    csv_path = write_voyage_csv(root / "voyage.csv")
    db = root / "store"
    with Store.open(db, create=True) as store:
        ingest_paths(store, [str(csv_path)])
        run_detection(store)
    return db
