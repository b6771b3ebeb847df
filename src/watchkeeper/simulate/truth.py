"""Ground truth: the events a perfect detector should find in the emitted data (rules in docs/simulation.md).

Truth is derived from what actually happened (the actors' traces and intents) *and* what the receivers made of
it: a behaviour is truth only where the emitted, decodable data shows it, with ``start``/``end`` the first and
last supporting position (as the event contract defines them).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from watchkeeper.detect.events import make_events
from watchkeeper.simulate import motion as mo
from watchkeeper.simulate.actors import H, Vessel
from watchkeeper.simulate.world import World, km_between

VERSION = "simulate-truth/1"
CONFIG_SHA = "0" * 64  # truth is not produced under a detection configuration
MIN_GAP_H = 2.0  # ais_gap.min_gap_h
MIN_LOITER_H = 2.0  # loitering.min_duration_h, encounter.min_duration_h
MAX_SILENCE_H = 1.0  # encounter.max_interpolation_gap_h: a behaviour is seen only without longer silences
PORT_DISTANCE_KM = 10.0  # loitering/encounter.min_port_distance_km
VISIT_RADIUS_KM = 4.0  # port_visit.exit_radius_km
MIN_VISIT_H = 1.0  # port_visit.min_duration_h
MIN_DWELL_H = 6.0  # dark_port_call.min_dwell_h
MIN_OBS = 2  # identity_change.min_observations


def _pieces(t: np.ndarray, max_silence_s: float) -> list[tuple[int, int]]:
    """Index ranges [a, b] of runs without a silence longer than ``max_silence_s``."""
    if t.size == 0:
        return []
    cut = np.nonzero(np.diff(t) > max_silence_s)[0]
    starts = np.concatenate([[0], cut + 1])
    ends = np.concatenate([cut, [t.size - 1]])
    return list(zip(starts.tolist(), ends.tolist()))


class TruthBuilder:
    """Collects truth rows; ``seen[k]`` holds the decodable positions of vessel ``k`` (time-sorted arrays)."""

    def __init__(self, world: World, vessels: list[Vessel], seen: list[dict], statics_seen: list[dict],
                 start: dt.datetime, data_end_s: float, duration_s: float):
        self.world, self.vessels, self.seen, self.statics = world, vessels, seen, statics_seen
        self.start, self.data_end, self.T = start, data_end_s, duration_s
        self.rows: list[dict] = []
        self.gaps: dict[int, list[tuple[float, float, bool]]] = {}

    def at(self, t_s: float) -> dt.datetime:
        # the emitted time: tag blocks carry whole seconds
        return self.start + dt.timedelta(seconds=int(np.floor(t_s)))

    def add(self, type_: str, v: Vessel | None, t0: float, t1: float, lat=None, lon=None, port=None,
            other: int | None = None, details=None, extra=None, confidence=1.0):
        row = {"type": type_, "mmsi": None if v is None else v.mmsi, "other_mmsi": other, "start": self.at(t0),
               "end": self.at(t1), "lat": None if lat is None else round(float(lat), 6),
               "lon": None if lon is None else round(float(lon), 6), "confidence": confidence,
               "details": {**(details or {}), **({"actor": v.key, "role": v.role} if v is not None else {})},
               "segment_id": None if v is None else v.key, "id_extra": {"actor": v.key if v else "", **(extra or {})}}
        if port is not None:
            p = self.world.ports[port]
            row.update(port_name=p.name, port_locode=p.locode, port_lat=p.lat, port_lon=p.lon)
        self.rows.append(row)

    # ---------------------------------------------------------------------------------------- rules
    def ais_gaps(self):
        for k, v in enumerate(self.vessels):
            t = self.seen[k]["t_s"]
            out = []
            if t.size == 0:
                continue
            bounds = [(float(t[i]), float(t[i + 1]), i) for i in np.nonzero(np.diff(t) >= MIN_GAP_H * H)[0]]
            if self.data_end - t[-1] >= MIN_GAP_H * H:
                bounds.append((float(t[-1]), self.data_end, t.size - 1))
            for a, b, i in bounds:
                is_open = b == self.data_end and i == t.size - 1
                off = any(o0 < b and o1 > a for o0, o1 in v.ais_off)
                out.append((a, b, off))
                self.add("ais_gap", v, a, b, self.seen[k]["lat"][i], self.seen[k]["lon"][i],
                         details={"duration_h": round((b - a) / H, 3), "open": bool(is_open),
                                  "likely_intentional": bool(off),
                                  "cause": "transmitter_off" if off else "reception"})
            self.gaps[k] = out

    def dark_port_calls(self):
        for k, v in enumerate(self.vessels):
            for it in v.intents:
                if it["kind"] != "dark_port_call":
                    continue
                t_in, t_out = it["t0_s"], min(it["t1_s"], self.data_end)
                if t_out - t_in < MIN_DWELL_H * H:
                    continue
                for a, b, off in self.gaps.get(k, []):
                    if off and a <= t_in and b >= t_out:
                        p = self.world.ports[it["port"]]
                        self.add("dark_port_call", v, a, b, p.lat, p.lon, port=it["port"],
                                 details={"dwell_h": round((t_out - t_in) / H, 3)}, extra={"port": it["port"]})

    def port_visits(self):
        for k, v in enumerate(self.vessels):
            s = self.seen[k]
            for port, t_in, t_out in v.calls:
                if port == "Rajin" or min(t_out, self.T) - max(t_in, 0) < MIN_VISIT_H * H or t_out < 0 \
                        or t_in > self.T:
                    continue
                p = self.world.ports[port]
                m = (s["t_s"] >= t_in - 3 * H) & (s["t_s"] <= t_out + 3 * H)
                m &= km_between(s["true_lat"], s["true_lon"], p.berth_lat, p.berth_lon) < VISIT_RADIUS_KM - 0.5
                if m.sum() < 2:
                    continue
                tt = s["t_s"][m]
                self.add("port_visit", v, tt[0], tt[-1], np.median(s["lat"][m]), np.median(s["lon"][m]), port=port,
                         details={"duration_h": round((tt[-1] - tt[0]) / H, 3)}, extra={"port": port})

    def _seen_run(self, k: int, t0: float, t1: float, min_h: float) -> list[tuple[float, float, np.ndarray]]:
        s = self.seen[k]
        m = (s["t_s"] >= t0) & (s["t_s"] <= t1)
        t = s["t_s"][m]
        idx = np.nonzero(m)[0]
        return [(float(t[a]), float(t[b]), idx[a:b + 1]) for a, b in _pieces(t, MAX_SILENCE_H * H)
                if t[b] - t[a] >= min_h * H]

    def loitering_and_encounters(self):
        by_key = {v.key: k for k, v in enumerate(self.vessels)}
        for k, v in enumerate(self.vessels):
            tr = v.trace
            drifting = tr["mode"] == mo.DRIFTING
            cut = np.nonzero(np.diff(drifting.astype(np.int8)) != 0)[0] + 1
            for a, b in zip(np.concatenate([[0], cut]), np.concatenate([cut, [drifting.size]])):
                if not drifting[a]:
                    continue
                t0, t1 = tr["t_s"][a], tr["t_s"][b - 1]
                mid = (a + b) // 2
                if self.world.port_distance_km(tr["lat"][mid:mid + 1], tr["lon"][mid:mid + 1])[0] < PORT_DISTANCE_KM:
                    continue
                s = self.seen[k]
                idx = np.nonzero((s["t_s"] >= t0) & (s["t_s"] <= t1))[0]
                # seen when decodable positions span the minimum duration (no limit on silences: the loitering
                # rule averages implied speed and needs no dense track)
                if idx.size >= 3 and s["t_s"][idx[-1]] - s["t_s"][idx[0]] >= MIN_LOITER_H * H:
                    s0, s1 = float(s["t_s"][idx[0]]), float(s["t_s"][idx[-1]])
                    self.add("loitering", v, s0, s1, np.median(s["lat"][idx]), np.median(s["lon"][idx]),
                             details={"duration_h": round((s1 - s0) / H, 3),
                                      "why": "fishing" if v.role == "fishing" else "ship_to_ship"})
            for it in v.intents:
                if it["kind"] != "sts" or it["partner"] is None:
                    continue
                j = by_key[it["partner"]]
                t0 = max(it["t0_s"], next(i["t0_s"] for i in self.vessels[j].intents if i["kind"] == "sts"))
                for s0, s1, idx in self._seen_run(k, t0, it["t1_s"], MIN_LOITER_H):
                    for r0, r1, _ in self._seen_run(j, s0, s1, 0.0):
                        a, b = max(s0, r0), min(s1, r1)
                        if b - a >= MIN_LOITER_H * H:
                            s = self.seen[k]
                            m = (s["t_s"] >= a) & (s["t_s"] <= b)
                            self.add("encounter", v, a, b, np.median(s["lat"][m]), np.median(s["lon"][m]),
                                     other=self.vessels[j].mmsi, details={"duration_h": round((b - a) / H, 3)})

    def position_jumps(self, max_speed_kn: float = 50.0):
        """Spoofed stretches that the emitted data shows: on land, or a jump whose way in or out from the nearest
        emitted real position needs more than ``max_speed_kn`` (the class maximum of ITU/AISdb practice); a jump
        hidden by silences on both sides (the real positions hours away) is indistinguishable from a voyage."""
        for k, v in enumerate(self.vessels):
            s = self.seen[k]
            for t0, t1, kind, _a, _b in v.spoof:
                m = (s["t_s"] >= t0) & (s["t_s"] <= t1)
                if m.any():
                    i = np.nonzero(m)[0]
                    if kind != "land":
                        speeds = []
                        for a, b in ((i[0] - 1, i[0]), (i[-1], i[-1] + 1)):
                            if 0 <= a and b < s["t_s"].size:
                                dt_h = max(float(s["t_s"][b] - s["t_s"][a]) / H, 1e-9)
                                d_km = float(km_between(s["lat"][a], s["lon"][a], s["lat"][b], s["lon"][b]))
                                speeds.append(d_km / 1.852 / dt_h)
                        if not any(x > max_speed_kn for x in speeds):
                            continue
                    self.add("position_jump", v, s["t_s"][i[0]], s["t_s"][i[-1]], s["lat"][i[0]], s["lon"][i[0]],
                             details={"kind": "on_land" if kind == "land" else "jump", "positions": int(m.sum())})

    def mmsi_conflicts(self):
        seen_pairs = set()
        for k, v in enumerate(self.vessels):
            for j, w in enumerate(self.vessels):
                if j <= k or v.mmsi != w.mmsi or (k, j) in seen_pairs:
                    continue
                seen_pairs.add((k, j))
                tk, tj = self.seen[k]["t_s"], self.seen[j]["t_s"]
                if tk.size < 10 or tj.size < 10:
                    continue
                a, b = max(tk[0], tj[0]), min(tk[-1], tj[-1])
                if b - a >= 1.0 * H:
                    i = int(np.searchsorted(tk, a))
                    self.add("mmsi_conflict", v, a, b, self.seen[k]["lat"][i], self.seen[k]["lon"][i],
                             details={"transmitters": [v.key, w.key]})

    def identity(self):
        for k, v in enumerate(self.vessels):
            st = self.statics[k]
            if v.identities:
                ident = [(v.name, v.callsign, v.imo)] + [tuple(x[1:]) for x in v.identities]
                for var in range(1, len(ident)):
                    for f, field_name in enumerate(("shipname", "callsign", "imo")):
                        if ident[var][f] == ident[var - 1][f]:
                            continue
                        carries = {0: (5, 240), 1: (5, 241), 2: (5,)}[f]
                        m = (st["variant"] == var) & np.isin(st["msg_type"], carries)
                        if m.sum() >= MIN_OBS:
                            t = float(st["t_s"][m][0])
                            self.add("identity_change", v, t, t, details={
                                "field": field_name, "old": ident[var - 1][f], "new": ident[var][f]},
                                extra={"field": field_name})
            if v.role == "invalid_imo":
                m = st["msg_type"] == 5
                if m.any():
                    self.add("invalid_identity", v, st["t_s"][m][0], st["t_s"][m][-1],
                             details={"rule": "imo_check_digit", "value": v.imo}, extra={"imo": v.imo})

    def surge(self, port: str = "Rajin", min_count: int = 3, min_ratio: float = 2.0, significance: float = 0.01):
        """A surge at ``port`` when its calls in the second half of the scenario exceed those of the first by a
        one-sided exact test of two Poisson rates at ``significance`` (a rise no test could confirm is not one),
        and by ``min_ratio``, with at least ``min_count`` calls."""
        from watchkeeper.detect.surges import poisson_rate_test

        calls = [c for v in self.vessels for c in v.calls if c[0] == port and 0 <= c[1] < self.T]
        half = self.T / 2
        first = sum(c[1] < half for c in calls)
        second = sum(c[1] >= half for c in calls)
        if (second >= min_count and second >= min_ratio * max(first, 1)
                and poisson_rate_test(second, first, 1) < significance):
            p = self.world.ports[port]
            self.add("activity_surge", None, half, self.T, p.lat, p.lon, port=port,
                     details={"count": second, "baseline_count": first}, extra={"port": port})

    def table(self) -> pa.Table:
        return make_events(self.rows, config_sha256=CONFIG_SHA, detector_version=VERSION)


def build_truth(world, vessels, seen, statics_seen, start, data_end_s, duration_s) -> pa.Table:
    """All truth events, as a table of :data:`watchkeeper.schema.EVENTS`."""
    tb = TruthBuilder(world, vessels, seen, statics_seen, start, data_end_s, duration_s)
    tb.ais_gaps()
    tb.dark_port_calls()
    tb.port_visits()
    tb.loitering_and_encounters()
    tb.position_jumps()
    tb.mmsi_conflicts()
    tb.identity()
    tb.surge()
    return tb.table()
