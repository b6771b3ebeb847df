"""When each transmitter reports and what it says: ITU-R M.1371-5 reporting intervals and message contents.

Intervals (ITU-R M.1371-5, Annex 1, Tables 1 and 2):

* Class A (SOTDMA): at anchor or moored and not moving faster than 3 kn, 3 min; 0-14 kn, 10 s; 14-23 kn, 6 s;
  above 23 kn, 2 s. Static and voyage data (message 5) every 6 min.
* Class B "CS": 2 kn or less, 3 min; above 2 kn, 30 s (message 18). Static data (message 24 parts A and B)
  every 6 min.

Report times follow the speed continuously: the phase ``∫ dt / interval(t)`` is integrated along the trace and a
report is sent each time it passes an integer (plus slot jitter), so a ship slowing into port switches from 10 s
to 3 min where it stops. Reported values carry noise: GNSS position (a few metres, drifting), SOG to 0.1 kn,
COG (worse at low speed), heading (yaw against COG; "not available" on many Class B sets).
"""

from __future__ import annotations

import numpy as np

from watchkeeper.simulate import motion as mo
from watchkeeper.simulate.actors import Vessel
from watchkeeper.simulate.world import KM_PER_DEG_LAT

STATIC_INTERVAL_S = 360.0
NAV_STATUS = {mo.MOORED: 5, mo.ANCHORED: 1, mo.UNDERWAY: 0, mo.FISHING: 7, mo.DRIFTING: 0}


def interval_s(cls: str, sog_kn: np.ndarray, mode: np.ndarray) -> np.ndarray:
    """Nominal reporting interval in seconds by class, speed and status (ITU-R M.1371-5 Tables 1 and 2)."""
    sog = np.asarray(sog_kn, float)
    if cls == "B":
        return np.where(sog <= 2.0, 180.0, 30.0)
    still = ((mode == mo.MOORED) | (mode == mo.ANCHORED)) & (sog <= 3.0)
    return np.where(still, 180.0, np.where(sog < 14.0, 10.0, np.where(sog < 23.0, 6.0, 2.0)))


def report_times(trace: dict, cls: str, rng: np.random.Generator, off: list) -> np.ndarray:
    """Times (s) at which the transmitter sends a position report; none while it is switched off."""
    t = trace["t_s"]
    if t.size < 2:
        return np.empty(0)
    iv = interval_s(cls, trace["sog_kn"][:-1], trace["mode"][:-1])
    phase = np.concatenate([[0.0], np.cumsum(np.diff(t) / iv)]) + rng.uniform(0, 1)
    k = np.arange(np.ceil(phase[0]), np.floor(phase[-1]) + 1)
    out = np.interp(k, phase, t) + rng.normal(0, 0.3, k.size)  # slot jitter
    out = np.sort(np.clip(out, t[0], t[-1]))
    return out[_on(out, off)]


def _on(times: np.ndarray, off: list) -> np.ndarray:
    keep = np.ones(times.size, bool)
    for t0, t1 in off:
        keep &= ~((times >= t0) & (times <= t1))
    return keep


def positions(v: Vessel, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Position reports of a vessel: true and reported position, kinematics and message type."""
    tr = v.trace
    ts = report_times(tr, v.cls, rng, v.ais_off)
    n = ts.size
    lat = np.interp(ts, tr["t_s"], tr["lat"])
    lon = np.interp(ts, tr["t_s"], tr["lon"])
    sog = np.interp(ts, tr["t_s"], tr["sog_kn"])
    idx = np.clip(np.searchsorted(tr["t_s"], ts, side="right") - 1, 0, tr["t_s"].size - 1)
    mode = tr["mode"][idx]
    cog = tr["cog_deg"][idx]
    # GNSS error: a slowly wandering bias plus white noise (metres)
    bias = np.cumsum(rng.normal(0, 0.4, (n, 2)), axis=0) * 0.05 if n else np.zeros((0, 2))
    err = rng.normal(0, 4.0, (n, 2)) + bias
    rlat = lat + err[:, 1] / 1000.0 / KM_PER_DEG_LAT
    rlon = lon + err[:, 0] / 1000.0 / (KM_PER_DEG_LAT * np.cos(np.radians(lat)))
    for t0, t1, kind, a, b in v.spoof:  # "jump": reported = true + (a, b) degrees; "land": reported = (a, b)
        m = (ts >= t0) & (ts <= t1)
        jitter = rng.normal(0, 2e-4, (int(m.sum()), 2))
        if kind == "jump":
            rlat[m], rlon[m] = rlat[m] + a, rlon[m] + b
        else:
            rlat[m], rlon[m] = a + jitter[:, 0], b + jitter[:, 1]
    sog_r = np.round(np.clip(sog + rng.normal(0, 0.08, n), 0, 102.2) * 10) / 10
    slow = sog < 1.0
    cog_r = (cog + rng.normal(0, 1.5, n) + np.where(slow, rng.uniform(-180, 180, n), 0)) % 360
    cog_r = np.round(cog_r * 10) / 10 % 360
    yaw = rng.normal(0, 2.0)
    heading = np.where(slow, (cog + yaw + rng.normal(0, 1, n)) % 360, (cog + yaw + rng.normal(0, 1.5, n)) % 360)
    heading = np.round(heading).astype(np.int64) % 360
    if not v.heading_available:
        heading[:] = 511
    nav = np.array([NAV_STATUS[int(m)] for m in range(5)])[mode]
    if v.cls == "A":
        msg_type = np.where(rng.random(n) < 0.06, 3, 1).astype(np.int64)
    else:
        msg_type = np.full(n, 18, np.int64)
    return {"t_s": ts, "true_lat": lat, "true_lon": lon, "lat": rlat, "lon": rlon, "sog_kn": sog_r,
            "cog_deg": cog_r, "heading_deg": heading, "nav_status": nav, "msg_type": msg_type}


def statics(v: Vessel, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Static reports (type 5, or 24 A and B for Class B) every 6 min while the transmitter is on; ``variant``
    indexes the identity in force (0 the first, then :attr:`Vessel.identities` in order)."""
    t0, t1 = float(v.trace["t_s"][0]), float(v.trace["t_s"][-1])
    start = t0 + rng.uniform(0, STATIC_INTERVAL_S)
    ts = np.arange(start, t1, STATIC_INTERVAL_S) + rng.normal(0, 0.5, 1)
    ts = ts[_on(ts, v.ais_off) & (ts >= t0)]
    variant = np.zeros(ts.size, np.int64)
    for i, (t_from, *_rest) in enumerate(v.identities, 1):
        variant[ts >= t_from] = i
    if v.cls == "A":
        return {"t_s": ts, "msg_type": np.full(ts.size, 5, np.int64), "variant": variant}
    tb = ts + rng.uniform(20, 60, ts.size)
    t = np.concatenate([ts, tb])
    o = np.argsort(t, kind="stable")
    return {"t_s": t[o], "msg_type": np.concatenate([np.full(ts.size, 240), np.full(ts.size, 241)])[o],
            "variant": np.concatenate([variant, variant])[o]}
