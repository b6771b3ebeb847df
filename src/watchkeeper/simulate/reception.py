"""Who hears what: terrestrial AIS stations along the ROK, Japanese and Russian coasts, none on the DPRK coast,
and sparse satellite passes.

* A terrestrial station hears a message sent ``d`` nm away with probability
  ``p_max * (1 - (d / range_nm) ** 4)`` (0 beyond its range): VHF line of sight gives a range of 20-40 nm from
  the shore (Welch et al. 2022: > 99 % of terrestrial AIS lies within 50 nm of shore); ``p_max`` < 1 models
  slot collisions and fading. The station that hears a message best records it; where two stations hear it,
  a small share (``DUPLICATE_SHARE``) is also recorded by the second (the duplicates of a merged feed).
* No station stands on the DPRK coast, so DPRK waters are heard only by satellites.
* Satellites pass every ``SAT_REVISIT_H`` (uniform), each pass lasting ``SAT_PASS_MIN`` minutes, and hear a
  message sent during a pass with probability ``SAT_P`` (message collisions in the large footprint): the
  "sparse satellite" coverage of the open sea.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from watchkeeper.simulate.world import KM_PER_DEG_LAT

KM_PER_NM = 1.852
SAT_REVISIT_H = (1.5, 3.0)
SAT_PASS_MIN = 12.0
SAT_P = (0.08, 0.25)
DUPLICATE_SHARE = 0.02  # of the messages heard by two stations (gives ~0.5 % duplicate lines)

# id (4 characters), lat, lon, range_nm
STATIONS = (
    ("KR01", 35.08, 129.08, 40), ("KR02", 35.49, 129.44, 38), ("KR03", 36.03, 129.57, 40),
    ("KR04", 36.98, 129.42, 40), ("KR05", 37.52, 129.12, 40), ("KR06", 38.21, 128.60, 40),
    ("KR07", 37.49, 130.91, 42), ("JP01", 33.60, 130.40, 35), ("JP02", 34.20, 129.29, 40),
    ("JP03", 34.90, 132.07, 35), ("JP04", 35.55, 133.25, 38), ("JP05", 36.20, 133.30, 40),
    ("JP06", 35.52, 135.38, 35), ("JP07", 36.60, 136.60, 35), ("JP08", 37.40, 137.25, 40),
    ("JP09", 37.95, 139.05, 38), ("JP10", 38.05, 138.40, 40), ("JP11", 38.92, 139.82, 35),
    ("JP12", 39.90, 139.75, 40), ("JP13", 41.05, 140.00, 38), ("JP14", 42.15, 139.45, 38),
    ("JP15", 43.20, 140.95, 40), ("RU01", 43.05, 131.90, 35), ("RU02", 42.80, 132.90, 35),
    ("RU03", 42.74, 133.10, 32), ("RU04", 42.64, 131.10, 28), ("RU05", 42.90, 133.90, 35),
    ("RU06", 44.35, 135.80, 35),
)


@dataclass(frozen=True)
class Receivers:
    """Stations and satellite passes of one scenario."""

    ids: tuple[str, ...]  # station ids, satellites last ("SAT1".."SATn" by pass, cycling over 4 satellites)
    lat: np.ndarray
    lon: np.ndarray
    range_km: np.ndarray
    p_max: np.ndarray
    pass_t0: np.ndarray  # satellite pass start times (s)
    pass_t1: np.ndarray
    pass_p: np.ndarray
    pass_sat: np.ndarray  # index into ids of the satellite of each pass

    @property
    def n_terrestrial(self) -> int:
        return self.lat.size


def receivers(duration_s: float, rng: np.random.Generator) -> Receivers:
    """The stations, with per-station quality, and the satellite passes over ``duration_s``."""
    n = len(STATIONS)
    ids = tuple(s[0] for s in STATIONS) + ("SAT1", "SAT2", "SAT3", "SAT4")
    t, starts = -rng.uniform(0, 3600 * SAT_REVISIT_H[1]), []
    while t < duration_s:
        starts.append(t)
        t += rng.uniform(*SAT_REVISIT_H) * 3600
    t0 = np.array(starts)
    return Receivers(ids=ids, lat=np.array([s[1] for s in STATIONS]), lon=np.array([s[2] for s in STATIONS]),
                     range_km=np.array([s[3] for s in STATIONS], float) * KM_PER_NM,
                     p_max=rng.uniform(0.8, 0.95, n), pass_t0=t0, pass_t1=t0 + SAT_PASS_MIN * 60,
                     pass_p=rng.uniform(*SAT_P, t0.size), pass_sat=n + rng.integers(0, 4, t0.size))


def station_probability(rx: Receivers, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Probability that each terrestrial station hears a message sent at each position: (n, stations)."""
    kx = (KM_PER_DEG_LAT * np.cos(np.radians(lat))).astype(np.float32)[:, None]
    dy = (lat.astype(np.float32)[:, None] - rx.lat.astype(np.float32)[None, :]) * np.float32(KM_PER_DEG_LAT)
    dx = (lon.astype(np.float32)[:, None] - rx.lon.astype(np.float32)[None, :]) * kx
    x2 = (dy * dy + dx * dx) / (rx.range_km.astype(np.float32) ** 2)[None, :]
    return np.where(x2 < 1.0, rx.p_max.astype(np.float32)[None, :] * (1.0 - x2 * x2), np.float32(0.0))


def satellite_probability(rx: Receivers, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probability that a satellite hears a message sent at each time, and the satellite (index in ids)."""
    i = np.searchsorted(rx.pass_t0, t_s, side="right") - 1
    ok = (i >= 0) & (t_s <= rx.pass_t1[np.clip(i, 0, None)])
    ic = np.clip(i, 0, None)
    return np.where(ok, rx.pass_p[ic], 0.0), np.where(ok, rx.pass_sat[ic], -1)


def receive(rx: Receivers, lat: np.ndarray, lon: np.ndarray, t_s: np.ndarray, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    """For messages sent at true positions and times: the station that records each (-1: lost) and a second
    station that records a duplicate (-1: none)."""
    n = lat.size
    first = np.full(n, -1, np.int64)
    second = np.full(n, -1, np.int64)
    chunk = 200_000
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        p = station_probability(rx, lat[a:b], lon[a:b])
        heard = rng.random(p.shape) < p
        score = np.where(heard, p, -1.0)
        order = np.argsort(-score, axis=1)[:, :2]
        best = np.take_along_axis(score, order, axis=1)
        first[a:b] = np.where(best[:, 0] > 0, order[:, 0], -1)
        dup = (best[:, 1] > 0) & (rng.random(b - a) < DUPLICATE_SHARE)
        second[a:b] = np.where(dup, order[:, 1], -1)
    ps, sat = satellite_probability(rx, t_s)
    by_sat = rng.random(n) < ps
    lost = first < 0
    first[lost & by_sat] = sat[lost & by_sat]
    return first, second
