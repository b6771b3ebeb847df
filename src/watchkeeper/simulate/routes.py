"""Sea routes between berths: a shortest path on a sea grid, straightened, every leg checked against the coast.

The grid has a node every ``GRID_DEG`` degrees over the area, kept when it lies at least ``NODE_SHORE_KM`` from
the Natural Earth coastline; 8-neighbour edges are kept when their midpoint is at sea too. A berth joins the
grid at the nearest node it can see in a straight line over water. The grid path (Dijkstra, compiled) is then
straightened by string pulling: from each point, the farthest later point that a straight leg reaches while
every sample (one per ``SAMPLE_KM``) stays at sea and, away from the berths, next to a sea node of the grid.
:func:`check_route` is the test every route passes: no sample of it is on land.
"""

from __future__ import annotations

import heapq
import math

import numba
import numpy as np

from watchkeeper.simulate.world import AREA, KM_PER_DEG_LAT, World, km_between

GRID_DEG = 0.05
NODE_SHORE_KM = 1.0
OPEN_SEA = (40.0, 134.0)  # a node of the main water body (middle of the Sea of Japan)
BERTH_CLEAR_KM = 4.0  # near a berth, legs only need to stay at sea (harbours are narrow)
SAMPLE_KM = 0.5
MAX_PULL = 80  # farthest grid step a straight leg may skip


@numba.njit(cache=True)
def _dijkstra(valid, src, dst, nrow, ncol, coslat):  # pragma: no cover - compiled
    n = nrow * ncol
    dist = np.full(n, np.inf)
    prev = np.full(n, -1, np.int64)
    dist[src] = 0.0
    heap = [(0.0, src)]
    dr = (-1, -1, -1, 0, 0, 1, 1, 1)
    dc = (-1, 0, 1, -1, 1, -1, 0, 1)
    while len(heap) > 0:
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        if u == dst:
            break
        r, c = u // ncol, u % ncol
        for k in range(8):
            rr, cc = r + dr[k], c + dc[k]
            if rr < 0 or rr >= nrow or cc < 0 or cc >= ncol:
                continue
            v = rr * ncol + cc
            if not valid[u, k]:
                continue
            w = math.sqrt(dr[k] * dr[k] + (dc[k] * coslat[r]) ** 2)
            nd = d + w
            if nd < dist[v]:
                dist[v] = nd
                prev[v] = u
                heapq.heappush(heap, (nd, v))
    return prev


@numba.njit(cache=True)
def _reachable(valid, src, nrow, ncol):  # pragma: no cover - compiled
    seen = np.zeros(nrow * ncol, np.bool_)
    stack = np.empty(nrow * ncol, np.int64)
    stack[0], top, seen[src] = src, 1, True
    dr = (-1, -1, -1, 0, 0, 1, 1, 1)
    dc = (-1, 0, 1, -1, 1, -1, 0, 1)
    while top > 0:
        top -= 1
        u = stack[top]
        r, c = u // ncol, u % ncol
        for k in range(8):
            if valid[u, k]:
                v = (r + dr[k]) * ncol + (c + dc[k])
                if not seen[v]:
                    seen[v] = True
                    stack[top] = v
                    top += 1
    return seen


class SeaGraph:
    """The sea grid of a world and the routes between its berths (cached per port pair)."""

    def __init__(self, world: World):
        self.world, self.coast = world, world.coast
        lat0, lon0, lat1, lon1 = AREA
        self.lats = np.arange(lat0, lat1 + 1e-9, GRID_DEG)
        self.lons = np.arange(lon0, lon1 + 1e-9, GRID_DEG)
        self.nrow, self.ncol = self.lats.size, self.lons.size
        glat, glon = np.meshgrid(self.lats, self.lons, indexing="ij")
        self.glat, self.glon = glat.ravel(), glon.ravel()
        sea = self.coast.distance_to_shore_km(self.glat, self.glon) >= NODE_SHORE_KM
        self.sea = sea
        dr = np.array([-1, -1, -1, 0, 0, 1, 1, 1])
        dc = np.array([-1, 0, 1, -1, 1, -1, 0, 1])
        r = np.arange(self.nrow)[:, None, None]
        c = np.arange(self.ncol)[None, :, None]
        rr, cc = r + dr, c + dc
        inside = (rr >= 0) & (rr < self.nrow) & (cc >= 0) & (cc < self.ncol)
        v = np.clip(rr, 0, self.nrow - 1) * self.ncol + np.clip(cc, 0, self.ncol - 1)
        u = (r * self.ncol + c) + 0 * dr
        ok = inside & sea[u] & sea[v]
        mid_lat, mid_lon = (self.glat[u] + self.glat[v]) / 2, (self.glon[u] + self.glon[v]) / 2
        idx = np.nonzero(ok.ravel())[0]
        mid_ok = ~self.coast.on_land(mid_lat.ravel()[idx], mid_lon.ravel()[idx], buffer_m=0.0)
        flat = ok.ravel()
        flat[idx] = mid_ok
        self.valid = flat.reshape(self.nrow * self.ncol, 8)
        self.coslat = np.cos(np.radians(self.lats))
        src = int(np.argmin(km_between(OPEN_SEA[0], OPEN_SEA[1], self.glat, self.glon)))
        self.sea = _reachable(self.valid, src, self.nrow, self.ncol)  # only the main water body
        self._cache: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    # ------------------------------------------------------------------------------------------ legs
    def _samples(self, lat0, lon0, lat1, lon1):
        """Samples along straight legs (arrays of equal length): flat arrays and the leg index of each."""
        lat0, lon0, lat1, lon1 = (np.atleast_1d(np.asarray(a, float)) for a in (lat0, lon0, lat1, lon1))
        n = np.maximum(2, np.ceil(km_between(lat0, lon0, lat1, lon1) / SAMPLE_KM).astype(np.int64) + 1)
        leg = np.repeat(np.arange(n.size), n)
        start = np.repeat(np.cumsum(n) - n, n)
        f = (np.arange(leg.size) - start) / (n[leg] - 1)
        return lat0[leg] + f * (lat1 - lat0)[leg], lon0[leg] + f * (lon1 - lon0)[leg], leg

    def _clear(self, lat0, lon0, lat1, lon1, ends: tuple[tuple[float, float], ...] = (),
               offshore: bool = True) -> np.ndarray:
        """Whether each straight leg stays at sea (and offshore away from the berths in ``ends``)."""
        slat, slon, leg = self._samples(lat0, lon0, lat1, lon1)
        bad = self.coast.on_land(slat, slon, buffer_m=0.0)
        near_end = np.full(slat.size, not offshore)
        for elat, elon in ends:
            near_end |= km_between(slat, slon, elat, elon) < BERTH_CLEAR_KM
        far = ~near_end & ~bad
        if far.any():  # away from berths a leg keeps to water where the grid has sea nodes (>= 1 km offshore)
            bad[far] = ~self.sea[self._node(slat[far], slon[far])]
        out = np.ones(np.atleast_1d(lat0).size, bool)
        np.logical_and.at(out, leg, ~bad)
        return out

    def _node(self, lat, lon) -> np.ndarray:
        r = np.clip(np.rint((lat - self.lats[0]) / GRID_DEG).astype(np.int64), 0, self.nrow - 1)
        c = np.clip(np.rint((lon - self.lons[0]) / GRID_DEG).astype(np.int64), 0, self.ncol - 1)
        return r * self.ncol + c

    def _join(self, lat: float, lon: float) -> int:
        """The nearest sea node reachable from a berth over water."""
        r0, c0 = divmod(int(self._node(np.array([lat]), np.array([lon]))[0]), self.ncol)
        rows = np.arange(max(0, r0 - 7), min(self.nrow, r0 + 8))
        cols = np.arange(max(0, c0 - 9), min(self.ncol, c0 + 10))
        cand = (rows[:, None] * self.ncol + cols[None, :]).ravel()
        cand = cand[self.sea[cand]]
        d = km_between(lat, lon, self.glat[cand], self.glon[cand])
        cand = cand[np.argsort(d, kind="stable")][:300]
        # a harbour mouth can be narrow: joining legs need only stay at sea
        ok = self._clear(np.full(cand.size, lat), np.full(cand.size, lon), self.glat[cand], self.glon[cand],
                         offshore=False)
        if not ok.any():
            raise RuntimeError(f"berth {lat}, {lon} cannot reach the sea grid")
        return int(cand[np.argmax(ok)])

    # ---------------------------------------------------------------------------------------- routes
    def route(self, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
        """Waypoints (lat, lon in degrees) from the berth of port ``a`` to that of port ``b``."""
        key = (a, b)
        if key not in self._cache:
            if (b, a) in self._cache:
                lat, lon = self._cache[(b, a)]
                self._cache[key] = (lat[::-1].copy(), lon[::-1].copy())
            else:
                pa_, pb = self.world.ports[a], self.world.ports[b]
                self._cache[key] = self.between(pa_.berth_lat, pa_.berth_lon, pb.berth_lat, pb.berth_lon)
        lat, lon = self._cache[key]
        return lat.copy(), lon.copy()

    def between(self, lat0: float, lon0: float, lat1: float, lon1: float) -> tuple[np.ndarray, np.ndarray]:
        """Waypoints from one point at sea to another, over water."""
        ends = ((lat0, lon0), (lat1, lon1))
        if self._clear(lat0, lon0, lat1, lon1, ends=ends)[0]:
            return np.array([lat0, lat1]), np.array([lon0, lon1])
        s, t = self._join(lat0, lon0), self._join(lat1, lon1)
        prev = _dijkstra(self.valid, s, t, self.nrow, self.ncol, self.coslat)
        path = [t]
        while path[-1] != s:
            p = int(prev[path[-1]])
            if p < 0:
                raise RuntimeError(f"no sea route from {lat0}, {lon0} to {lat1}, {lon1}")
            path.append(p)
        nodes = np.array(path[::-1])
        plat = np.concatenate([[lat0], self.glat[nodes], [lat1]])
        plon = np.concatenate([[lon0], self.glon[nodes], [lon1]])
        return self._pull(plat, plon, ends)

    def _pull(self, plat, plon, ends):
        keep, i, n = [0], 0, plat.size
        while i < n - 1:
            js = np.arange(i + 1, min(n, i + 1 + MAX_PULL))
            ok = self._clear(np.full(js.size, plat[i]), np.full(js.size, plon[i]), plat[js], plon[js], ends=ends)
            ok[0] = True  # a grid step (checked with the graph) or a joining leg (checked by _join)
            i = int(js[np.nonzero(ok)[0][-1]])
            keep.append(i)
        return plat[keep], plon[keep]


def densify(lat: np.ndarray, lon: np.ndarray, step_km: float = SAMPLE_KM) -> tuple[np.ndarray, np.ndarray]:
    """Points along a polyline at most ``step_km`` apart (straight in degrees between waypoints)."""
    seg = km_between(lat[:-1], lon[:-1], lat[1:], lon[1:])
    n = np.maximum(1, np.ceil(seg / step_km).astype(np.int64))
    leg = np.repeat(np.arange(seg.size), n)
    f = (np.arange(leg.size) - np.repeat(np.cumsum(n) - n, n)) / n[leg]
    out_lat = np.append(lat[:-1][leg] + f * (lat[1:] - lat[:-1])[leg], lat[-1])
    out_lon = np.append(lon[:-1][leg] + f * (lon[1:] - lon[:-1])[leg], lon[-1])
    return out_lat, out_lon


def check_route(world: World, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Mask of the samples (every ``SAMPLE_KM``) of a route that are on land; all False for a good route."""
    slat, slon = densify(np.asarray(lat, float), np.asarray(lon, float))
    return world.coast.on_land(slat, slon)


_GRAPHS: dict[int, SeaGraph] = {}


def sea_graph(world: World) -> SeaGraph:
    """The (cached) sea graph of a world."""
    g = _GRAPHS.get(id(world))
    if g is None:
        g = _GRAPHS[id(world)] = SeaGraph(world)
    return g


__all__ = ["KM_PER_DEG_LAT", "SeaGraph", "check_route", "densify", "sea_graph"]
