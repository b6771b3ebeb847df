"""Vessel kinematics: legs (moored, transit, wandering, drifting) as traces of true states over time.

A trace is a dict of equal-length arrays: ``t_s`` (seconds since the scenario start), ``lat``, ``lon`` (degrees),
``sog_kn``, ``cog_deg`` (true motion) and ``mode`` (:data:`MOORED`, :data:`ANCHORED`, :data:`UNDERWAY`,
:data:`FISHING`, :data:`DRIFTING`). Between trace points the state is interpolated linearly; points are close
enough (at most a few minutes, a few hundred metres) for that to follow the path.
"""

from __future__ import annotations

import numpy as np

from watchkeeper.simulate.routes import densify
from watchkeeper.simulate.world import KM_PER_DEG_LAT, km_between

MOORED, ANCHORED, UNDERWAY, FISHING, DRIFTING = 0, 1, 2, 3, 4
KN_KM_H = 1.852
FIELDS = ("t_s", "lat", "lon", "sog_kn", "cog_deg", "mode")


def _trace(t, lat, lon, sog, cog, mode) -> dict[str, np.ndarray]:
    n = len(t)
    return {"t_s": np.asarray(t, float), "lat": np.asarray(lat, float), "lon": np.asarray(lon, float),
            "sog_kn": np.broadcast_to(np.asarray(sog, float), (n,)).copy(),
            "cog_deg": np.broadcast_to(np.asarray(cog, float), (n,)).copy() % 360.0,
            "mode": np.full(n, mode, np.int8)}


def bearing_deg(lat0, lon0, lat1, lon1):
    """Initial great-circle bearing in degrees."""
    p0, p1, dl = np.radians(lat0), np.radians(lat1), np.radians(np.asarray(lon1) - lon0)
    y = np.sin(dl) * np.cos(p1)
    x = np.cos(p0) * np.sin(p1) - np.sin(p0) * np.cos(p1) * np.cos(dl)
    return np.degrees(np.arctan2(y, x)) % 360.0


def stay(lat: float, lon: float, t0: float, t1: float, mode: int = MOORED, step_s: float = 600.0):
    """At a berth or anchor from ``t0`` to ``t1`` (swinging a few metres; the report noise adds the rest)."""
    n = max(2, int(np.ceil((t1 - t0) / step_s)) + 1)
    return _trace(np.linspace(t0, t1, n), np.full(n, lat), np.full(n, lon), 0.0, 0.0, mode)


def transit(lat: np.ndarray, lon: np.ndarray, t0: float, speed_kn: float, rng: np.random.Generator,
            ramp_km: float = 3.0, step_km: float = 0.25):
    """Along waypoints at about ``speed_kn``: speeding up and slowing down over ``ramp_km`` at the ends, with a
    slowly varying speed (AR(1), a few percent) along the way."""
    plat, plon = densify(lat, lon, step_km)
    seg = km_between(plat[:-1], plon[:-1], plat[1:], plon[1:])
    s = np.concatenate([[0.0], np.cumsum(seg)])
    total = s[-1]
    noise = np.empty(seg.size)
    e = rng.normal(0.0, 0.006, seg.size)
    acc = 0.0
    # AR(1) over distance; a Python scan over a few thousand points per leg, once per voyage
    for i in range(seg.size):
        acc = 0.995 * acc + e[i]
        noise[i] = acc
    mid = (s[:-1] + s[1:]) / 2
    ramp = np.clip(np.minimum(mid, total - mid) / ramp_km, 0.0, 1.0)
    v = speed_kn * (1.0 + np.clip(noise, -0.12, 0.12)) * np.maximum(np.sqrt(ramp), 0.12)
    dt = seg / (v * KN_KM_H) * 3600.0
    t = t0 + np.concatenate([[0.0], np.cumsum(dt)])
    cog = bearing_deg(plat[:-1], plon[:-1], plat[1:], plon[1:])
    sog = np.append(v, 0.0)
    cog = np.append(cog, cog[-1] if cog.size else 0.0)
    return _trace(t, plat, plon, sog, cog, UNDERWAY)


def wander(lat: float, lon: float, t0: float, t1: float, speed_kn: float, radius_km: float,
           rng: np.random.Generator, mode: int = FISHING, step_s: float = 60.0, turn_deg: float = 8.0):
    """A random walk at about ``speed_kn`` (fishing, trawling) that turns back towards the centre when it strays
    beyond ``radius_km``."""
    n = max(2, int((t1 - t0) / step_s) + 1)
    t = t0 + step_s * np.arange(n)
    la, lo = np.empty(n), np.empty(n)
    cog, sog = np.empty(n), speed_kn * (1.0 + rng.normal(0, 0.08, n))
    sog = np.clip(sog, 0.05, None)
    turns = rng.normal(0, turn_deg, n)
    h = rng.uniform(0, 360)
    x = y = 0.0  # km east, north of the centre
    kx = KM_PER_DEG_LAT * np.cos(np.radians(lat))
    for i in range(n):  # sequential walk: a few thousand steps per fishing day
        la[i], lo[i], cog[i] = lat + y / KM_PER_DEG_LAT, lon + x / kx, h
        d = sog[i] * KN_KM_H * step_s / 3600.0
        x += d * np.sin(np.radians(h))
        y += d * np.cos(np.radians(h))
        home = np.degrees(np.arctan2(-x, -y)) % 360.0
        if x * x + y * y > radius_km * radius_km:
            h += 0.3 * (((home - h + 180) % 360) - 180)
        h = (h + turns[i]) % 360.0
    return _trace(t, la, lo, sog, cog, mode)


def drift(lat: float, lon: float, t0: float, t1: float, drift_kn: float, direction_deg: float,
          rng: np.random.Generator, step_s: float = 120.0, offset_m: tuple[float, float] = (0.0, 0.0)):
    """Drifting with wind and current (a ship alongside another, a jigger on a sea anchor)."""
    n = max(2, int((t1 - t0) / step_s) + 1)
    t = np.linspace(t0, t1, n)
    sog = np.clip(drift_kn * (1.0 + 0.15 * np.cumsum(rng.normal(0, 0.05, n))), 0.02, None)
    cog = direction_deg + np.cumsum(rng.normal(0, 1.0, n))
    d = np.concatenate([[0.0], np.cumsum(sog[:-1] * KN_KM_H * np.diff(t) / 3600.0)])
    dx, dy = d * np.sin(np.radians(cog)), d * np.cos(np.radians(cog))
    dx, dy = dx + offset_m[0] / 1000.0, dy + offset_m[1] / 1000.0
    la = lat + dy / KM_PER_DEG_LAT
    lo = lon + dx / (KM_PER_DEG_LAT * np.cos(np.radians(lat)))
    return _trace(t, la, lo, sog, cog, DRIFTING)


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One trace from consecutive legs (a point repeated at a joint is dropped)."""
    out = {k: np.concatenate([p[k] for p in parts]) for k in FIELDS}
    keep = np.concatenate([[True], np.diff(out["t_s"]) > 0])
    return {k: v[keep] for k, v in out.items()}


def clip(trace: dict[str, np.ndarray], t0: float, t1: float) -> dict[str, np.ndarray]:
    """The part of a trace within [t0, t1]."""
    m = (trace["t_s"] >= t0) & (trace["t_s"] <= t1)
    return {k: v[m] for k, v in trace.items()}


def end_of(trace: dict[str, np.ndarray]) -> tuple[float, float, float]:
    """Time, lat, lon of the last point."""
    return float(trace["t_s"][-1]), float(trace["lat"][-1]), float(trace["lon"][-1])
