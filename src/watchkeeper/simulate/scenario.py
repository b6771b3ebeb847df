"""The corridor scenario end to end: cast the actors, let them sail and report, receive, encode, write files.

:func:`simulate` writes ``ais.nmea``, ``ais.csv``, ``truth.jsonl`` and ``scenario.json`` into a directory; the
same seed and parameters give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from watchkeeper.detect.events import to_jsonl
from watchkeeper.simulate import encode as enc
from watchkeeper.simulate import reporting
from watchkeeper.simulate.actors import DARK_KM, STS_POINTS, Builder, H, Vessel
from watchkeeper.simulate.reception import receive, receivers
from watchkeeper.simulate.routes import sea_graph
from watchkeeper.simulate.truth import build_truth
from watchkeeper.simulate.world import KM_PER_DEG_LAT, default_world

START = dt.datetime(2024, 3, 4, tzinfo=dt.UTC)  # a Monday, so weekly windows align with the data
START_EPOCH = int(START.timestamp())
OUT_OF_ORDER_SHARE = 0.01  # messages written late (delayed relays), up to OUT_OF_ORDER_MAX_S
OUT_OF_ORDER_MAX_S = 120.0
CORRUPT_SHARE = 0.001  # lines with a damaged payload character (checksum then fails)
CHUNK_LINES = 400_000


@dataclass
class Result:
    """What :func:`simulate` wrote and counted."""

    out_dir: Path
    counts: dict
    vessels: list[Vessel]


# Names and IMO numbers of real vessels of the DPRK-Russia shuttle that are on the vendored sanctions lists (OFAC
# SDN 2024-05-03; Canada SEMA), carried by the first simulated shuttles. MMSIs and tracks are simulated.
LISTED_SHUTTLES = (("ANGARA", 9179842), ("LADY R", 9161003), ("MAIA-1", 9358010))


def cast(b: Builder, n_vessels: int) -> None:
    """The actors: corridor shuttles, ship-to-ship transfers, spoofers, a shared MMSI, identity changes, a
    ferry, fishing fleets and background traffic (the rest of ``n_vessels``)."""
    r, T = b.rng, b.T
    full = n_vessels >= 30
    # one shuttle from the start, the rest from the second half: a surge a 1% test can see (about 2 calls at
    # Rajin in the first half, 10-15 in the second)
    n_shuttles = 8 if full else 2
    for i in range(n_shuttles):
        first = r.uniform(1, 8) * H if i == 0 else T / 2 + r.uniform(0, 0.15) * T
        v = b.shuttle(f"shuttle{i + 1}", "Dunai" if i % 2 == 0 else "Vostochny", first)
        if i < len(LISTED_SHUTTLES):  # real listed identities, so that screening has something to find
            v.name, v.imo = LISTED_SHUTTLES[i]
    pts = list(STS_POINTS)
    for i in range(2 if full else 1):
        b.rendezvous((f"sts{i + 1}a", f"sts{i + 1}b"), pts[i], r.uniform(0.2, 0.8) * T, dark_partner=False)
    b.rendezvous(("sts_dark",), pts[2], r.uniform(0.2, 0.8) * T, dark_partner=True)
    b.ferry("ferry")
    # quirks on background ships
    sp = b.background("spoofer_jump", role="spoofer")
    _spoof_jump(b, sp)
    if full:
        sl = b.background("spoofer_land", role="spoofer", ports=("Vladivostok", "Nakhodka", "Vostochny", "Zarubino"))
        _spoof_land(b, sl)
    x = b.background("shared_mmsi_a", role="shared_mmsi", ports=("Busan", "Ulsan", "Pohang", "Hakata"))
    y = b.background("shared_mmsi_b", role="shared_mmsi", ports=("Vladivostok", "Nakhodka", "Vostochny", "Zarubino"))
    b.mmsis.discard(y.mmsi)
    y.mmsi, y.name, y.callsign, y.imo, y.ship_type, y.dims_m = x.mmsi, x.name, x.callsign, x.imo, x.ship_type, x.dims_m
    ic = b.background("renamed", role="identity_change")
    calls = [c for c in ic.calls if 0.3 * T < c[1] < 0.7 * T] or ic.calls[len(ic.calls) // 2:]
    t_change = calls[0][1] + 0.5 * (calls[0][2] - calls[0][1])
    ic.identities.append((t_change, b.name(), b.callsign("PA"), ic.imo))
    b.background("bad_imo", role="invalid_imo", imo_valid=False)
    n_kr = 4 if full else 1
    for i in range(n_kr):
        ground = (38.05 + 0.06 * i, 128.85 + 0.07 * (i % 2) + 0.05 * i)
        b.fishing_day_boat(f"fishing_kr{i + 1}", "KR", "Sokcho", ground)
    if full:
        for i in range(3):
            b.fishing_day_boat(f"fishing_jp{i + 1}", "JP", "Niigata", (38.12 + 0.06 * i, 138.78 + 0.07 * i))
        for i in range(3):
            b.jigger(f"jigger{i + 1}", (39.3 + 0.12 * i, 134.9 + 0.15 * i))
    i = 0
    while len(b.vessels) < n_vessels:
        i += 1
        b.background(f"background{i}")


def _spoof_jump(b: Builder, v: Vessel) -> None:
    """Position jumps that return: one to three stretches of 20-90 min reported 50-150 km away."""
    under = np.nonzero(v.trace["sog_kn"] > 5)[0]
    for _ in range(int(b.rng.integers(1, 4))):
        if under.size == 0:
            return
        t0 = float(v.trace["t_s"][b.rng.choice(under)])
        dur = b.rng.uniform(20, 90) * 60
        if any(s[0] < t0 + dur + 3 * H and s[1] > t0 - 3 * H for s in v.spoof):
            continue
        d, a = b.rng.uniform(50, 150), b.rng.uniform(0, 2 * np.pi)
        lat = float(np.interp(t0, v.trace["t_s"], v.trace["lat"]))
        v.spoof.append((t0, t0 + dur, "jump", d * np.cos(a) / KM_PER_DEG_LAT,
                        d * np.sin(a) / (KM_PER_DEG_LAT * np.cos(np.radians(lat)))))


def _spoof_land(b: Builder, v: Vessel) -> None:
    """A stretch of 1-3 h reported at a fixed point at least 5 km inland, near the real position."""
    under = np.nonzero(v.trace["sog_kn"] > 5)[0]
    if under.size == 0:
        return
    t0 = float(v.trace["t_s"][b.rng.choice(under)])
    lat0 = float(np.interp(t0, v.trace["t_s"], v.trace["lat"]))
    lon0 = float(np.interp(t0, v.trace["t_s"], v.trace["lon"]))
    d = b.rng.uniform(20, 80, 400)
    a = b.rng.uniform(0, 2 * np.pi, 400)
    lat = lat0 + d * np.cos(a) / KM_PER_DEG_LAT
    lon = lon0 + d * np.sin(a) / (KM_PER_DEG_LAT * np.cos(np.radians(lat0)))
    inland = b.world.coast.distance_to_shore_km(lat, lon) < -5.0
    if inland.any():
        i = int(np.argmax(inland))
        v.spoof.append((t0, t0 + b.rng.uniform(1, 3) * H, "land", float(lat[i]), float(lon[i])))


def simulate(out_dir: str | Path, *, days: float = 7.0, vessels: int = 50, seed: int = 1,
             scenario: str = "corridor", write_csv: bool = True) -> Result:
    """Simulate the corridor and write ``ais.nmea``, ``ais.csv``, ``truth.jsonl`` and ``scenario.json``.

    Parameters
    ----------
    out_dir
        Directory to write (created).
    days, vessels, seed
        Duration, number of transmitters (at least the special actors, about 25 for 30 or more), RNG seed.
    scenario
        Only ``"corridor"``.
    write_csv
        Also write ``ais.csv`` (the NMEA decoded by ``watchkeeper decode --format csv``).
    """
    if scenario != "corridor":
        raise ValueError(f"unknown scenario {scenario!r}; valid: corridor")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    world = default_world()
    graph = sea_graph(world)
    T = float(days) * 86400.0
    rng = np.random.default_rng(seed)
    b = Builder(world, graph, rng, T)
    cast(b, vessels)
    vs = b.vessels
    rx = receivers(T, rng)

    # --- reports and their reception
    pos, sta = [], []
    for k, v in enumerate(vs):
        p = reporting.positions(v, rng)
        p["first"], p["second"] = receive(rx, p["true_lat"], p["true_lon"], p["t_s"], rng)
        p["vessel"] = np.full(p["t_s"].size, k)
        pos.append(p)
        s = reporting.statics(v, rng)
        slat = np.interp(s["t_s"], v.trace["t_s"], v.trace["lat"])
        slon = np.interp(s["t_s"], v.trace["t_s"], v.trace["lon"])
        s["first"], s["second"] = receive(rx, slat, slon, s["t_s"], rng)
        s["vessel"] = np.full(s["t_s"].size, k)
        sta.append(s)
    P = {key: np.concatenate([p[key] for p in pos]) for key in pos[0]}
    S = {key: np.concatenate([s[key] for s in sta]) for key in sta[0]}

    lines, recs = _encode_all(vs, P, S, rx, rng)
    n_lines = sum(m.shape[0] for m in lines)
    corrupt_line = np.zeros(n_lines, bool)
    corrupt_line[rng.choice(n_lines, round(CORRUPT_SHARE * n_lines), replace=False)] = True
    _write_nmea(out / "ais.nmea", lines, recs, corrupt_line, rng)

    # --- what survived: a message is decodable when one of its copies has no damaged line
    ok_msg = _surviving(recs, corrupt_line, n_pos=P["t_s"].size, n_sta=S["t_s"].size)
    seen, statics_seen = [], []
    okp, oks = ok_msg[0], ok_msg[1]
    for k in range(len(vs)):
        m = okp & (P["vessel"] == k)
        o = np.argsort(P["t_s"][m], kind="stable")
        seen.append({f: P[f][m][o] for f in ("t_s", "lat", "lon", "true_lat", "true_lon")})
        seen[-1]["t_s"] = np.floor(seen[-1]["t_s"])  # as emitted: whole seconds in the tag blocks
        m = oks & (S["vessel"] == k)
        statics_seen.append({f: S[f][m] for f in ("t_s", "msg_type", "variant")})
        statics_seen[-1]["t_s"] = np.floor(statics_seen[-1]["t_s"])
    data_end = max(float(s["t_s"][-1]) for s in seen if s["t_s"].size)
    truth = build_truth(world, vs, seen, statics_seen, START, data_end, T)
    with open(out / "truth.jsonl", "wb") as f:
        to_jsonl(truth, f)
    if write_csv:
        from watchkeeper.ingest.decode_out import decode_to
        decode_to(str(out / "ais.nmea"), "csv", str(out / "ais.csv"), None)

    counts = {"lines": int(n_lines), "position_reports_sent": int(P["t_s"].size),
              "position_reports_received": int((P["first"] >= 0).sum()),
              "position_reports_decodable": int(okp.sum()),
              "by_satellite": int((P["first"] >= rx.n_terrestrial).sum()),
              "static_reports_sent": int(S["t_s"].size), "duplicate_lines": int(recs["dup_lines"]),
              "corrupt_lines": int(corrupt_line.sum()),
              "truth": {t: int(c) for t, c in zip(*np.unique(truth["type"].to_numpy(zero_copy_only=False),
                                                              return_counts=True))}}
    _write_scenario(out / "scenario.json", seed, days, vessels, scenario, vs, rx, counts, T)
    return Result(out, counts, vs)


# ------------------------------------------------------------------------------------------------ encoding
def _encode_all(vs, P, S, rx, rng):
    """Line matrices of every kind, and per line: sort key, message id, fragment, kind, source message."""
    station_codes = np.array([np.frombuffer(s.encode(), np.uint8) for s in rx.ids])
    mmsi = np.array([v.mmsi for v in vs], np.int64)
    mats, meta = [], []
    uid = 0

    def emit(payload, fill, src_kind, src_idx, t_s, first, second, count=1, seq=None, number=1, frag_of=None):
        nonlocal uid
        for copy, st in ((0, first), (1, second)):
            m = st >= 0
            if not m.any():
                continue
            t = t_s[m] + (rng.uniform(0, 1.5, m.sum()) if copy else 0.0)
            epoch = START_EPOCH + np.floor(t).astype(np.int64)
            ch = np.where(rng.random(m.sum()) < 0.5, 65, 66) if frag_of is None else frag_of[m]
            mats.append(enc.lines(payload[m], fill, station_codes[st[m]], epoch, ch, count, number,
                                  None if seq is None else seq[m]))
            k = int(m.sum())
            meta.append({"key": t, "src_kind": np.full(k, src_kind), "src": src_idx[m], "frag": np.full(k, number),
                         "copy": np.full(k, copy)})

    # positions
    n = P["t_s"].size
    idx = np.arange(n)
    sec = (np.floor(P["t_s"]).astype(np.int64) + START_EPOCH) % 60
    A = np.array([vs[k].cls == "A" for k in range(len(vs))])[P["vessel"]]
    acc = (P["vessel"] % 3 == 0).astype(np.int64)
    mm = mmsi[P["vessel"]]
    a = np.nonzero(A)[0]
    pa_ = enc.position_a(P["msg_type"][a], mm[a], P["nav_status"][a], P["sog_kn"][a], P["lon"][a], P["lat"][a],
                         P["cog_deg"][a], P["heading_deg"][a], sec[a], acc[a], rng.integers(0, 1 << 19, a.size))
    emit(pa_, 0, 0, idx[a], P["t_s"][a], P["first"][a], P["second"][a])
    bb = np.nonzero(~A)[0]
    pb = enc.position_b(mm[bb], P["sog_kn"][bb], P["lon"][bb], P["lat"][bb], P["cog_deg"][bb],
                        P["heading_deg"][bb], sec[bb], acc[bb])
    emit(pb, 0, 0, idx[bb], P["t_s"][bb], P["first"][bb], P["second"][bb])

    # statics: identity table (vessel, variant) -> row
    ident, offset = [], []
    for v in vs:
        offset.append(len(ident))
        ident.append((v.name, v.callsign, v.imo))
        ident += [tuple(x[1:]) for x in v.identities]
    offset = np.array(offset)
    names = enc.text6([i[0] for i in ident], 20)
    calls = enc.text6([i[1] for i in ident], 7)
    imos = np.array([i[2] for i in ident], np.int64)
    dest = enc.text6([v.destination for v in vs], 20)
    dims = np.array([v.dims_m for v in vs], np.int64)
    stype = np.array([v.ship_type for v in vs], np.int64)
    draught = np.array([v.draught_m for v in vs])
    eta = np.array([[3, 4 + int(rng.integers(0, 10)), int(rng.integers(0, 24)), 0] for _ in vs], np.int64)
    ns = S["t_s"].size
    sidx = np.arange(ns)
    vi = S["vessel"]
    row = offset[vi] + S["variant"]
    for mt in (5, 240, 241):
        m = np.nonzero(S["msg_type"] == mt)[0]
        if m.size == 0:
            continue
        if mt == 5:
            pl = enc.static_a(mmsi[vi[m]], imos[row[m]], calls[row[m]], names[row[m]], stype[vi[m]], dims[vi[m]],
                              eta[vi[m]], draught[vi[m]], dest[vi[m]])
            seq = (sidx[m] % 10).astype(np.int64)
            ch = np.where(rng.random(m.size) < 0.5, 65, 66)
            emit(pl[:, :60], 0, 1, sidx[m], S["t_s"][m], S["first"][m], S["second"][m], 2, seq, 1, ch)
            emit(pl[:, 60:], 2, 1, sidx[m], S["t_s"][m], S["first"][m], S["second"][m], 2, seq, 2, ch)
        elif mt == 240:
            emit(enc.static_b_a(mmsi[vi[m]], names[row[m]]), 2, 1, sidx[m], S["t_s"][m], S["first"][m],
                 S["second"][m])
        else:
            emit(enc.static_b_b(mmsi[vi[m]], stype[vi[m]], calls[row[m]], dims[vi[m]]), 0, 1, sidx[m],
                 S["t_s"][m], S["first"][m], S["second"][m])
    recs = {k: np.concatenate([m[k] for m in meta]) for k in ("key", "src_kind", "src", "frag", "copy")}
    recs["mat"] = np.concatenate([np.full(m.shape[0], i) for i, m in enumerate(mats)])
    recs["row"] = np.concatenate([np.arange(m.shape[0]) for m in mats])
    recs["dup_lines"] = int((recs["copy"] == 1).sum())
    return mats, recs


def _write_nmea(path: Path, mats, recs, corrupt_line, rng) -> None:
    key = recs["key"].copy()
    # a few messages reach the merged feed late (relays, satellite downlinks): written out of order
    msg_id = recs["src_kind"] * 10**9 + recs["src"] * 2 + recs["copy"]
    late = rng.random(key.size) < OUT_OF_ORDER_SHARE
    delay = rng.uniform(5, OUT_OF_ORDER_MAX_S, key.size)
    _, inv = np.unique(msg_id, return_inverse=True)
    key = key + np.where(late, delay, 0.0)[inv] * (recs["frag"] >= 1)
    # fragments of one copy share the key of their first fragment
    first_key = np.zeros(inv.max() + 1)
    f1 = recs["frag"] == 1
    first_key[inv[f1]] = key[f1]
    key = first_key[inv]
    order = np.lexsort((recs["frag"], msg_id, key))
    width = max(m.shape[1] for m in mats)
    # damage lines: one payload character replaced by another valid one
    dmg = np.nonzero(corrupt_line)[0]
    for i in dmg:  # ~0.1 % of lines
        mat = mats[recs["mat"][i]]
        line = mat[recs["row"][i]]
        body = int(np.nonzero(line == ord("!"))[0][0])
        commas = np.nonzero(line[body:] == ord(","))[0]
        p0, p1 = body + commas[4] + 1, body + commas[5]
        j = int(rng.integers(p0, p1))
        line[j] = ord("0") if line[j] != ord("0") else ord("1")
    with open(path, "wb") as f:
        for a in range(0, order.size, CHUNK_LINES):
            o = order[a:a + CHUNK_LINES]
            buf = np.zeros((o.size, width), np.uint8)
            for mi, mat in enumerate(mats):
                sel = np.nonzero(recs["mat"][o] == mi)[0]
                if sel.size:
                    buf[sel, :mat.shape[1]] = mat[recs["row"][o[sel]]]
            f.write(buf[buf != 0].tobytes())


def _surviving(recs, corrupt_line, n_pos: int, n_sta: int):
    """Per source message (positions, statics): whether one copy has all its lines intact."""
    out = []
    for kind, n in ((0, n_pos), (1, n_sta)):
        m = recs["src_kind"] == kind
        src, copy = recs["src"][m], recs["copy"][m]
        bad = np.zeros((n, 2), bool)
        has = np.zeros((n, 2), bool)
        has[src, copy] = True
        np.logical_or.at(bad, (src, copy), corrupt_line[m])
        out.append((has & ~bad).any(axis=1))
    return out


def _write_scenario(path, seed, days, n, scenario, vs, rx, counts, T) -> None:
    def r(x):
        return round(float(x), 1)
    actors = []
    for v in vs:
        actors.append({
            "key": v.key, "role": v.role, "mmsi": v.mmsi, "class": v.cls, "ship_type": v.ship_type, "name": v.name,
            "callsign": v.callsign, "imo": v.imo,
            "identity_changes": [{"t_s": r(t), "name": nm, "callsign": cs, "imo": im} for t, nm, cs, im in v.identities],
            "ais_off_s": [[r(a), r(b)] for a, b in v.ais_off],
            "spoofing": [{"t0_s": r(a), "t1_s": r(b), "kind": k} for a, b, k, _x, _y in v.spoof],
            "intents": [{k: (r(x) if isinstance(x, float) else x) for k, x in it.items() if k != "ais_off"}
                        for it in v.intents],
            "port_calls": [[p, r(a), r(b)] for p, a, b in v.calls if b >= 0 and a <= T],
        })
    doc = {"scenario": scenario, "seed": seed, "days": days, "vessels": n, "start": START.isoformat().replace("+00:00", "Z"),
           "parameters": {"dark_km_from_rajin": DARK_KM, "out_of_order_share": OUT_OF_ORDER_SHARE,
                          "corrupt_share": CORRUPT_SHARE},
           "stations": [{"id": i, "lat": float(a), "lon": float(o), "range_km": round(float(g), 1)}
                        for i, a, o, g in zip(rx.ids, rx.lat, rx.lon, rx.range_km)],
           "satellite_passes": int(rx.pass_t0.size), "counts": counts,
           "roles": {role: sum(v.role == role for v in vs) for role in sorted({v.role for v in vs})},
           "actors": actors}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
