"""The simulated world: the corridor area, its ports (from the gazetteer) with a berth at sea, and the coast.

Each port is taken from :func:`watchkeeper.geo.gazetteer.load_gazetteer` by name and country; its *berth* is the
point within ``BERTH_SEARCH_KM`` of the gazetteer point that is at sea with the most water around it (the
gazetteer point is often on the generalised coastline), so that ships moored there are inside the port's entry
radius and never on land.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from watchkeeper.geo.coast import Coast
from watchkeeper.geo.gazetteer import Gazetteer, load_gazetteer

AREA = (33.0, 125.0, 46.0, 142.0)  # lat_min, lon_min, lat_max, lon_max (degrees)
BERTH_SEARCH_KM = 2.7
KM_PER_DEG_LAT = 111.195

# name in the gazetteer, country, role: "corridor" (DPRK port of interest), "military" (tier 2),
# "russia" (Russian commercial), "commercial" (ROK, Japan)
PORT_SPECS = (
    ("Rajin", "KP", "corridor"),
    ("Chongjin", "KP", "corridor"),
    ("Dunai", "RU", "military"),
    ("Vostochny", "RU", "russia"),
    ("Nakhodka", "RU", "russia"),
    ("Vladivostok", "RU", "russia"),
    ("Zarubino", "RU", "russia"),
    ("Busan", "KR", "commercial"),
    ("Ulsan", "KR", "commercial"),
    ("Pohang", "KR", "commercial"),
    ("Donghae", "KR", "commercial"),
    ("Sokcho", "KR", "commercial"),
    ("Ulleung", "KR", "commercial"),
    ("Hakata", "JP", "commercial"),
    ("Sakaiminato", "JP", "commercial"),
    ("Maizuru", "JP", "commercial"),
    ("Niigata", "JP", "commercial"),
)


@dataclass(frozen=True)
class Port:
    """A port of the world: gazetteer identity and reference point, and a berth at sea (degrees)."""

    key: str
    name: str
    country: str
    role: str
    locode: str | None
    lat: float
    lon: float
    berth_lat: float
    berth_lon: float


def km_between(lat0, lon0, lat1, lon1):
    """Great-circle distance in km (haversine), broadcasting."""
    p0, p1 = np.radians(lat0), np.radians(lat1)
    dp, dl = p1 - p0, np.radians(np.asarray(lon1) - np.asarray(lon0))
    a = np.sin(dp / 2) ** 2 + np.cos(p0) * np.cos(p1) * np.sin(dl / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def _berth(coast: Coast, lat: float, lon: float) -> tuple[float, float]:
    r = np.linspace(0.0, BERTH_SEARCH_KM, 10)[:, None]
    a = np.radians(np.arange(0, 360, 15))[None, :]
    dlat = (r * np.cos(a)) / KM_PER_DEG_LAT
    dlon = (r * np.sin(a)) / (KM_PER_DEG_LAT * np.cos(np.radians(lat)))
    cl, co = (lat + dlat).ravel(), (lon + dlon).ravel()
    sea = ~coast.on_land(cl, co, buffer_m=0.0)
    d = np.where(sea, np.minimum(coast.distance_to_shore_km(cl, co), 0.6), -1.0)
    # the most open water (capped at 600 m from shore), nearest the gazetteer point among equals
    score = d - 0.01 * np.repeat(r.ravel(), a.size)
    i = int(np.argmax(score))
    if d[i] < 0:
        raise RuntimeError(f"no sea within {BERTH_SEARCH_KM} km of the port at {lat}, {lon}")
    return float(cl[i]), float(co[i])


class World:
    """Area, ports and coast of the corridor scenario (built once per process, see :func:`default_world`)."""

    def __init__(self, gazetteer: Gazetteer, coast: Coast):
        self.gazetteer, self.coast = gazetteer, coast
        self.ports: dict[str, Port] = {}
        for name, country, role in PORT_SPECS:
            rows = gazetteer.find(name, country, kind="port")
            if rows.size == 0:
                raise RuntimeError(f"port {name} ({country}) is not in the gazetteer")
            row = gazetteer.row(int(rows[0]))
            blat, blon = _berth(coast, row["lat"], row["lon"])
            self.ports[name] = Port(name, row["name"], country, role, row["locode"], row["lat"], row["lon"], blat, blon)

    def port_distance_km(self, lat, lon) -> np.ndarray:
        """Distance from each position to the nearest gazetteer port or anchorage (any, not only ours)."""
        _, d = self.gazetteer.nearest(np.asarray(lat, float), np.asarray(lon, float))
        return d


@functools.lru_cache(maxsize=1)
def default_world() -> World:
    """The world on the vendored gazetteer and Natural Earth coast."""
    return World(load_gazetteer(), Coast.default())
