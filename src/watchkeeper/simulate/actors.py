"""Who sails where: the actors of the corridor scenario and their itineraries (traces plus planned intents).

Every actor is a :class:`Vessel` (one transmitter; two transmitters may share an MMSI). Its ``intents`` record
what it was told to do (switch AIS off, call at Rajin in the dark, drift alongside a partner, report false
positions, change its name); :mod:`watchkeeper.simulate.truth` turns them and the emitted data into truth events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from watchkeeper.simulate import motion as mo
from watchkeeper.simulate.routes import SeaGraph, check_route
from watchkeeper.simulate.world import KM_PER_DEG_LAT, World, km_between

H = 3600.0
DARK_KM = 75.0  # shuttles switch AIS off this far from Rajin on the way in, on again this far out
BACKGROUND_PORTS = ("Busan", "Ulsan", "Pohang", "Donghae", "Hakata", "Sakaiminato", "Maizuru", "Niigata",
                    "Vladivostok", "Nakhodka", "Vostochny", "Zarubino")
SOUTH_PORTS = ("Busan", "Ulsan", "Pohang", "Hakata")
NORTH_PORTS = ("Vladivostok", "Nakhodka", "Vostochny", "Zarubino")
# rendezvous points at sea, >= 15 km from ports and inside terrestrial coverage (checked in tests)
STS_POINTS = ((42.52, 132.62), (37.95, 129.40), (42.45, 133.35))
FLAGS = {"RU": 273, "KR": 440, "JP": 431, "CN": 412, "KP": 445, "PA": 352, "SL": 667, "TG": 671, "MN": 457,
         "PW": 511, "LR": 636, "MH": 538}
WORDS = ("OCEAN", "STAR", "PACIFIC", "GRACE", "HOPE", "NORTH", "EAST", "SUN", "GOLDEN", "HARMONY", "VICTORY",
         "PIONEER", "NAVIGATOR", "SPIRIT", "GLORY", "PEARL", "DRAGON", "PHOENIX", "ORIENT", "FORTUNE", "LUCKY",
         "BRIGHT", "ANGARA", "MARIA", "SEA", "WIND", "BAY", "CAPE", "LADY", "CROWN", "UNITY", "PRIDE")


@dataclass
class Vessel:
    """One transmitter: identity, class, trace and intents."""

    key: str
    role: str
    mmsi: int
    cls: str  # "A" or "B"
    ship_type: int
    name: str
    callsign: str
    imo: int
    dims_m: tuple[int, int, int, int]  # to bow, stern, port, starboard
    draught_m: float
    destination: str
    trace: dict = field(repr=False, default_factory=dict)
    ais_off: list = field(default_factory=list)  # [(t0_s, t1_s)] transmitter switched off
    identities: list = field(default_factory=list)  # [(t_from_s, name, callsign, imo)] after the first
    spoof: list = field(default_factory=list)  # [(t0_s, t1_s, kind, dlat, dlon)] reported = true + offset
    intents: list = field(default_factory=list)  # planned behaviour for truth and scenario.json
    calls: list = field(default_factory=list)  # [(port, t_in_s, t_out_s)] planned port stays
    heading_available: bool = True


class Builder:
    """Builds the actors of one scenario from a seeded generator."""

    def __init__(self, world: World, graph: SeaGraph, rng: np.random.Generator, duration_s: float):
        self.world, self.graph, self.rng, self.T = world, graph, rng, duration_s
        self.mmsis: set[int] = set()
        self.imos: set[int] = set()
        self.vessels: list[Vessel] = []

    # -------------------------------------------------------------------------------------- identity
    def mmsi(self, flag: str) -> int:
        while True:
            m = FLAGS[flag] * 1_000_000 + int(self.rng.integers(100_000, 999_999))
            if m not in self.mmsis:
                self.mmsis.add(m)
                return m

    def imo(self, valid: bool = True) -> int:
        while True:
            d = self.rng.integers(0, 10, 6)
            d[0] = self.rng.integers(7, 10)
            check = int(np.dot(d, np.arange(7, 1, -1)) % 10)
            if not valid:
                check = (check + int(self.rng.integers(1, 10))) % 10
            imo = int("".join(map(str, d)) + str(check))
            if imo not in self.imos:
                self.imos.add(imo)
                return imo

    def name(self) -> str:
        w = self.rng.choice(WORDS, 2, replace=False)
        return f"{w[0]} {w[1]}" if self.rng.random() < 0.7 else f"{w[0]} {int(self.rng.integers(1, 30))}"

    def callsign(self, flag: str) -> str:
        prefix = {"RU": "UB", "KR": "DS", "JP": "JD", "CN": "BV", "KP": "HM", "PA": "3E", "SL": "9L", "TG": "5V",
                  "MN": "JV", "PW": "T8", "LR": "5L", "MH": "V7"}[flag]
        letters = "".join(self.rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), 2))
        return f"{prefix}{letters}{int(self.rng.integers(2, 9))}"

    def vessel(self, key: str, role: str, flag: str, cls: str, ship_type: int, length_m: float,
               imo_valid: bool = True) -> Vessel:
        r = self.rng
        length = int(length_m * r.uniform(0.85, 1.15))
        beam = max(4, int(length / r.uniform(5.5, 7.5)))
        bow = int(length * r.uniform(0.6, 0.9))
        port = int(beam * r.uniform(0.3, 0.7))
        v = Vessel(key=key, role=role, mmsi=self.mmsi(flag), cls=cls, ship_type=ship_type, name=self.name(),
                   callsign=self.callsign(flag), imo=self.imo(imo_valid) if cls == "A" else 0,
                   dims_m=(bow, length - bow, port, beam - port), draught_m=round(length / r.uniform(17, 24), 1),
                   destination="", heading_available=cls == "A" or r.random() < 0.3)
        self.vessels.append(v)
        return v

    # -------------------------------------------------------------------------------------- movement
    def _route(self, lat0, lon0, lat1, lon1, wobble_km: float = 1.5, ports=None):
        if ports is not None:  # berth to berth: the cached route, ending at this ship's own berth positions
            lat, lon = self.graph.route(*ports)
            lat[0], lon[0], lat[-1], lon[-1] = lat0, lon0, lat1, lon1
        else:
            lat, lon = self.graph.between(lat0, lon0, lat1, lon1)
        if lat.size > 2:  # each ship steers its own line: move the interior waypoints a little
            k = KM_PER_DEG_LAT
            jl = lat.copy()
            jo = lon.copy()
            jl[1:-1] += self.rng.normal(0, wobble_km, lat.size - 2) / k
            jo[1:-1] += self.rng.normal(0, wobble_km, lat.size - 2) / (k * np.cos(np.radians(lat[1:-1])))
            if not check_route(self.world, jl, jo).any():
                return jl, jo
        return lat, lon

    def berth(self, port: str) -> tuple[float, float]:
        p = self.world.ports[port]
        d = self.rng.uniform(0.03, 0.25) / KM_PER_DEG_LAT
        a = self.rng.uniform(0, 2 * np.pi)
        return p.berth_lat + d * np.cos(a), p.berth_lon + d * np.sin(a) / np.cos(np.radians(p.berth_lat))

    def go(self, lat0, lon0, lat1, lon1, t0, speed_kn, ports=None):
        lat, lon = self._route(lat0, lon0, lat1, lon1, ports=ports)
        return mo.transit(lat, lon, t0, speed_kn, self.rng)

    def cycle(self, v: Vessel, parts: list, t: float, at: tuple[float, float], port: str | None, ports,
              speed_kn: float, stay_h=(8.0, 36.0), until: float | None = None) -> tuple[float, tuple, str | None]:
        """Port to port among ``ports`` from ``at`` (a berth of ``port`` or a point at sea) until ``until``."""
        until = self.T if until is None else until
        while t < until:
            choices = [p for p in ports if p != port]
            nxt = str(self.rng.choice(choices))
            b = self.berth(nxt)
            tr = self.go(at[0], at[1], b[0], b[1], t, speed_kn * self.rng.uniform(0.93, 1.05),
                         ports=None if port is None else (port, nxt))
            parts.append(tr)
            t = float(tr["t_s"][-1])
            dur = self.rng.uniform(*stay_h) * H
            mode = mo.MOORED if self.rng.random() < 0.75 else mo.ANCHORED
            parts.append(mo.stay(b[0], b[1], t, t + dur, mode))
            v.calls.append((nxt, t, t + dur))
            t, at, port = t + dur, b, nxt
        return t, at, port

    def start_in_port(self, v: Vessel, ports, parts: list) -> tuple[float, tuple, str]:
        port = str(self.rng.choice(ports))
        b = self.berth(port)
        t0 = -self.rng.uniform(0, 30) * H
        t1 = self.rng.uniform(0.5, 30) * H
        parts.append(mo.stay(b[0], b[1], t0, t1, mo.MOORED))
        v.calls.append((port, t0, t1))
        return t1, b, port

    def finish(self, v: Vessel, parts: list) -> None:
        v.trace = mo.clip(mo.concat(parts), 0.0, self.T)
        v.destination = (v.calls[-1][0] if v.calls else "").upper()[:20]

    # ------------------------------------------------------------------------------------------ roles
    def background(self, key: str, role: str = "background", ports=BACKGROUND_PORTS, flag=None, **kw) -> Vessel:
        r = self.rng
        kind = r.choice(["container", "bulk", "tanker", "general"], p=[0.3, 0.3, 0.2, 0.2])
        st, length, speed = {"container": (71, 180, 16.5), "bulk": (70, 190, 12.5), "tanker": (80, 150, 12.0),
                             "general": (79, 110, 11.0)}[kind]
        flag = flag or str(r.choice(["KR", "JP", "CN", "RU", "PA", "LR", "MH", "SL", "TG", "MN"]))
        v = self.vessel(key, role, flag, "A", st + int(r.integers(0, 4)) * (st in (70, 80)), length, **kw)
        parts: list = []
        t, at, port = self.start_in_port(v, ports, parts)
        self.cycle(v, parts, t, at, port, ports, speed * r.uniform(0.85, 1.15))
        self.finish(v, parts)
        return v

    def ferry(self, key: str) -> Vessel:
        v = self.vessel(key, "ferry", "KR", "A", 60, 160)
        parts, t = [], 0.0
        home, away = self.berth("Busan"), self.berth("Hakata")
        day = 0
        dep = 1.0 * H
        parts.append(mo.stay(home[0], home[1], -2 * H, dep))
        v.calls.append(("Busan", -2 * H, dep))
        while dep < self.T:
            out = self.go(home[0], home[1], away[0], away[1], dep, 18.0 * self.rng.uniform(0.97, 1.03),
                          ports=("Busan", "Hakata"))
            t = float(out["t_s"][-1])
            back_dep = t + self.rng.uniform(2.5, 3.5) * H
            back = self.go(away[0], away[1], home[0], home[1], back_dep, 18.0 * self.rng.uniform(0.97, 1.03),
                           ports=("Hakata", "Busan"))
            t2 = float(back["t_s"][-1])
            day += 1
            nxt = day * 24 * H + self.rng.uniform(0.8, 1.3) * H
            parts += [out, mo.stay(away[0], away[1], t, back_dep), back, mo.stay(home[0], home[1], t2, nxt)]
            v.calls += [("Hakata", t, back_dep), ("Busan", t2, nxt)]
            dep = nxt
        self.finish(v, parts)
        return v

    def shuttle(self, key: str, home: str, first_trip_s: float) -> Vessel:
        r = self.rng
        flag = str(r.choice(["RU", "KP", "SL"]))
        v = self.vessel(key, "corridor_shuttle", flag, "A", 70 + int(r.integers(0, 5)), 120)
        raj = self.world.ports["Rajin"]
        parts: list = []
        b = self.berth(home)
        parts.append(mo.stay(b[0], b[1], -10 * H, first_trip_s))
        v.calls.append((home, -10 * H, first_trip_s))
        t, at, port = first_trip_s, b, home
        speed = r.uniform(9.5, 12.0)
        while t < self.T:
            rb = self.berth("Rajin")
            inbound = self.go(at[0], at[1], rb[0], rb[1], t, speed * r.uniform(0.95, 1.05), ports=(port, "Rajin"))
            d_in = km_between(inbound["lat"], inbound["lon"], raj.lat, raj.lon)
            off0 = float(inbound["t_s"][np.argmax(d_in < DARK_KM)])
            t_arr = float(inbound["t_s"][-1])
            t_dep = t_arr + r.uniform(10, 30) * H
            back = str(r.choice(["Dunai", "Vostochny"])) if r.random() < 0.3 else home
            bb = self.berth(back)
            outbound = self.go(rb[0], rb[1], bb[0], bb[1], t_dep, speed * r.uniform(0.95, 1.05),
                               ports=("Rajin", back))
            d_out = km_between(outbound["lat"], outbound["lon"], raj.lat, raj.lon)
            off1 = float(outbound["t_s"][np.argmax(d_out > DARK_KM)])
            t_home = float(outbound["t_s"][-1])
            stay_s = r.uniform(10, 24) * H
            parts += [inbound, mo.stay(rb[0], rb[1], t_arr, t_dep), outbound,
                      mo.stay(bb[0], bb[1], t_home, t_home + stay_s)]
            v.ais_off.append((off0, off1))
            v.intents.append({"kind": "dark_port_call", "port": "Rajin", "t0_s": t_arr, "t1_s": t_dep,
                              "ais_off": [off0, off1]})
            v.calls += [("Rajin", t_arr, t_dep), (back, t_home, t_home + stay_s)]
            t, at, port = t_home + stay_s, bb, back
        self.finish(v, parts)
        return v

    def rendezvous(self, keys: tuple[str, ...], point: tuple[float, float], t_meet: float, dark_partner: bool):
        """A ship-to-ship transfer at ``point``: two visible ships alongside, or one whose partner is dark."""
        r = self.rng
        drift_h = r.uniform(3.5, 6.0) if not dark_partner else r.uniform(4.0, 7.0)
        t_end = t_meet + drift_h * H
        base = mo.drift(point[0], point[1], t_meet, t_end, r.uniform(0.2, 0.8), r.uniform(0, 360), r)
        out = []
        for i, key in enumerate(keys):
            v = self.vessel(key, "sts_dark_partner" if dark_partner else "sts_visible", str(r.choice(
                ["PA", "SL", "TG", "MN", "PW", "RU"])), "A", 80 + int(r.integers(0, 4)), 110 if i else 160)
            parts: list = []
            ports = NORTH_PORTS if point[0] > 40 else SOUTH_PORTS
            t, at, port = self.start_in_port(v, ports, parts)
            # sail to where the first ship is when this one arrives, leaving port so as to arrive on time
            arrive = t_meet + (0.0 if i == 0 else r.uniform(0.1, 0.4) * H)
            off = (0.0, 0.0) if i == 0 else (r.uniform(80, 160) * r.choice([-1, 1]), r.uniform(-60, 60))
            keep = base["t_s"] >= arrive
            d = {k: base[k][keep].copy() for k in base}
            d["lat"] += off[1] / 1000.0 / KM_PER_DEG_LAT + r.normal(0, 0.00015, d["lat"].size)
            d["lon"] += off[0] / 1000.0 / (KM_PER_DEG_LAT * np.cos(np.radians(point[0])))
            tr = self.go(at[0], at[1], float(d["lat"][0]), float(d["lon"][0]), 0.0, r.uniform(10, 12.5))
            dep = arrive - float(tr["t_s"][-1])
            if dep < t:  # under way already at the start: the voyage began before the data
                parts.clear()
                v.calls.clear()
                parts.append(mo.stay(at[0], at[1], dep - 10 * H, dep))
                v.calls.append((port, dep - 10 * H, dep))
            else:
                parts.append(mo.stay(at[0], at[1], t, dep))
                v.calls[-1] = (port, v.calls[-1][1], dep)
            tr["t_s"] += dep
            parts += [tr, d]
            end_lat, end_lon = float(d["lat"][-1]), float(d["lon"][-1])
            v.intents.append({"kind": "sts", "t0_s": arrive, "t1_s": t_end, "lat": point[0], "lon": point[1],
                              "partner": None if dark_partner else keys[1 - i]})
            self.cycle(v, parts, t_end, (end_lat, end_lon), None, ports, r.uniform(10, 13))
            self.finish(v, parts)
            out.append(v)
        return out

    def fishing_day_boat(self, key: str, flag: str, home: str, ground: tuple[float, float]) -> Vessel:
        r = self.rng
        v = self.vessel(key, "fishing", flag, "B", 30, 25)
        b = self.berth(home)
        parts: list = [mo.stay(b[0], b[1], -6 * H, 0.0)]
        day, t = 0, 0.0
        rlat, rlon = self._route(b[0], b[1], ground[0], ground[1])  # the skipper's usual track, every day
        while t < self.T:
            dep = day * 24 * H + r.uniform(17, 21) * H  # leaves in the local small hours (UTC+9)
            parts.append(mo.stay(b[0], b[1], t, dep))
            v.calls.append((home, t, dep))
            out = mo.transit(rlat, rlon, dep, r.uniform(7, 9), r)
            t = float(out["t_s"][-1])
            trawl1 = mo.wander(ground[0], ground[1], t, t + r.uniform(2.5, 4) * H, r.uniform(2.8, 3.6), 2.5, r)
            t = float(trawl1["t_s"][-1])
            haul = mo.drift(float(trawl1["lat"][-1]), float(trawl1["lon"][-1]), t, t + r.uniform(2.2, 3.2) * H,
                            r.uniform(0.2, 0.9), r.uniform(0, 360), r)
            t = float(haul["t_s"][-1])
            trawl2 = mo.wander(float(haul["lat"][-1]), float(haul["lon"][-1]), t, t + r.uniform(1.5, 3) * H,
                               r.uniform(2.8, 3.6), 2.0, r)
            t = float(trawl2["t_s"][-1])
            back = mo.transit(np.concatenate([[trawl2["lat"][-1]], rlat[::-1]]),
                              np.concatenate([[trawl2["lon"][-1]], rlon[::-1]]), t, r.uniform(7, 9), r)
            t = float(back["t_s"][-1])
            parts += [out, trawl1, haul, trawl2, back]
            day += 1
        parts.append(mo.stay(b[0], b[1], t, t + 6 * H))
        v.calls.append((home, t, t + 6 * H))
        self.finish(v, parts)
        return v

    def jigger(self, key: str, ground: tuple[float, float]) -> Vessel:
        """A squid jigger far offshore (Yamato Bank): searching by day, drifting on a sea anchor at night."""
        r = self.rng
        v = self.vessel(key, "fishing", str(r.choice(["CN", "KR"])), "B", 30, 45)
        parts, t = [], 0.0
        lat, lon = ground
        while t < self.T:
            day = mo.wander(lat, lon, t, t + r.uniform(9, 12) * H, r.uniform(3.0, 5.0), 8.0, r)
            t = float(day["t_s"][-1])
            night = mo.drift(float(day["lat"][-1]), float(day["lon"][-1]), t, t + r.uniform(9, 12) * H,
                             r.uniform(0.3, 0.8), r.uniform(0, 360), r)
            t = float(night["t_s"][-1])
            lat, lon = ground
            parts += [day, night]
        self.finish(v, parts)
        return v
