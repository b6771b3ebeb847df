"""Distances on the sphere and a compiled nearest-neighbour index over points given in degrees.

Points are placed on the unit sphere as 3-D vectors; the straight-line (chord) distance between two such
vectors grows monotonically with the great-circle distance, so a k-d tree in 3-D answers great-circle
nearest-neighbour queries exactly, with no special case at the antimeridian or the poles.

The tree is built once with NumPy (a few milliseconds for tens of thousands of points); queries run in a numba
kernel, in parallel over blocks of query points, without a Python object per point.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius; GFW and most AIS tooling use ~6371 km as well
LEAF_SIZE = 8  # points per leaf of the k-d tree; 4-16 perform alike
_QUERY_BLOCK = 2048  # query points per parallel task (one traversal stack per task)
_STACK_DEPTH = 128  # far more than the depth of a balanced tree of 2**40 points
_SORT_MIN = 50_000  # queries from which grouping them by cell first pays
_SORT_ROWS = 360  # cells per 180 degrees when grouping queries (0.5 degree)


def to_unit_xyz(lat_deg, lon_deg) -> np.ndarray:
    """Unit vectors, shape (n, 3), for latitudes and longitudes in degrees."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    cos_lat = np.cos(lat)
    return np.stack([cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)], axis=-1)


def haversine_km(lat1_deg, lon1_deg, lat2_deg, lon2_deg) -> np.ndarray:
    """Great-circle distance in km between points in degrees (arrays broadcast; NaN in, NaN out)."""
    lat1 = np.radians(np.asarray(lat1_deg, dtype=np.float64))
    lat2 = np.radians(np.asarray(lat2_deg, dtype=np.float64))
    dlat = lat2 - lat1
    dlon = np.radians(np.asarray(lon2_deg, dtype=np.float64) - np.asarray(lon1_deg, dtype=np.float64))
    h = np.sin(dlat / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


@njit(cache=True, inline="always")
def mod_floor(x, m):
    """``x % m`` with Python's sign rule (for a float ``x`` and positive ``m``), with no call to the C library's
    ``fmod`` when ``x`` already lies in ``[0, m)``: the common case in the kernels that wrap longitudes and columns,
    and the same value (``x % m`` is ``x`` there)."""
    if x >= 0.0 and x < m:
        return x
    return x % m


@njit(cache=True, inline="always")
def haversine_km_scalar(lat1, lon1, lat2, lon2):
    """:func:`haversine_km` for two scalar points, for use inside compiled per-track scans."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(max(h, 0.0), 1.0)))


def km_to_chord(distance_km) -> np.ndarray:
    """Chord length on the unit sphere for a great-circle distance in km (capped at the antipode)."""
    angle = np.minimum(np.asarray(distance_km, dtype=np.float64) / EARTH_RADIUS_KM, math.pi)
    return 2 * np.sin(angle / 2)


def chord_to_km(chord) -> np.ndarray:
    """Great-circle distance in km for a chord length on the unit sphere (NaN stays NaN)."""
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(chord, dtype=np.float64) / 2, 0.0, 1.0))


class SphereIndex:
    """Exact nearest-neighbour queries over fixed points on the sphere (a 3-D k-d tree).

    Parameters
    ----------
    lat_deg, lon_deg : array_like
        The indexed points, in degrees. They must be finite, with ``-90 <= lat_deg <= 90``.

    Notes
    -----
    Each query point is answered in O(log n) on average. Ties (two points at exactly the same distance) go to
    the point with the lower index, so the answer does not depend on the tree's layout.
    """

    def __init__(self, lat_deg, lon_deg):
        lat = np.asarray(lat_deg, dtype=np.float64).ravel()
        lon = np.asarray(lon_deg, dtype=np.float64).ravel()
        if lat.shape != lon.shape:
            raise ValueError(f"lat_deg and lon_deg differ in length ({lat.size} and {lon.size})")
        if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon)) and np.all(np.abs(lat) <= 90)):
            raise ValueError("indexed points must be finite with -90 <= lat_deg <= 90")
        self.size = lat.size
        self._tree = _build_tree(to_unit_xyz(lat, lon))

    def nearest(self, lat_deg, lon_deg, max_distance_km: float = math.inf) -> tuple[np.ndarray, np.ndarray]:
        """Index of, and distance to, the nearest indexed point of each query point.

        Parameters
        ----------
        lat_deg, lon_deg : array_like
            Query points in degrees (any shape; broadcast together). Longitudes may lie outside
            [-180, 180]. A query with a NaN, or with ``abs(lat_deg) > 90`` (AIS "not available" is 91), has
            no answer.
        max_distance_km : float
            Only points at most this far count (inclusive); a bound makes the search cheaper.

        Returns
        -------
        index : numpy.ndarray of int64
            Index of the nearest point, ``-1`` where there is none (no answer, or none within the bound).
        distance_km : numpy.ndarray of float64
            Great-circle distance to it, NaN where ``index == -1``.
        """
        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, dtype=np.float64), np.asarray(lon_deg, dtype=np.float64))
        shape = lat.shape
        lat = np.ascontiguousarray(lat).ravel()
        lon = np.ascontiguousarray(lon).ravel()
        index = np.full(lat.size, -1, dtype=np.int64)
        chord2 = np.full(lat.size, np.nan, dtype=np.float64)
        if self.size and lat.size:
            limit = float(km_to_chord(max_distance_km)) if max_distance_km >= 0 else -1.0
            # the tiny margin keeps points at exactly max_distance_km despite rounding of the chord
            limit2 = limit * limit * (1 + 1e-12) if limit >= 0 else -1.0
            t = self._tree
            # neighbouring queries walk the same branches of the tree: visiting them together keeps the tree in
            # cache (3-4x faster on scattered input than the caller's order)
            visit = _cell_order(lat, lon) if lat.size >= _SORT_MIN else np.arange(lat.size, dtype=np.int64)
            _nearest_kernel(lat, lon, visit, limit2, t.xyz, t.order, t.start, t.end, t.left, t.right, t.lo, t.hi,
                            index, chord2)
        return index.reshape(shape), chord_to_km(np.sqrt(chord2)).reshape(shape)


class _Tree:
    __slots__ = ("end", "hi", "left", "lo", "order", "right", "start", "xyz")


def _build_tree(xyz: np.ndarray, leaf_size: int = LEAF_SIZE) -> _Tree:
    """Median-split k-d tree with a bounding box per node (nodes in creation order, root 0)."""
    xyz = np.ascontiguousarray(xyz, dtype=np.float64).reshape(-1, 3)
    order, start, end, left, right, lo, hi, n_nodes = _build_tree_kernel(xyz, max(int(leaf_size), 1))
    t = _Tree()
    t.order = order
    t.xyz = np.ascontiguousarray(xyz[order])
    t.start, t.end = start[:n_nodes].copy(), end[:n_nodes].copy()
    t.left, t.right = left[:n_nodes].copy(), right[:n_nodes].copy()
    t.lo, t.hi = np.ascontiguousarray(lo[:n_nodes]), np.ascontiguousarray(hi[:n_nodes])
    return t


@njit(cache=True)
def _build_tree_kernel(xyz, leaf_size):
    """The arrays of :func:`_build_tree`: each node splits its points at the median of its box's longest axis
    (a sort of the node's points on that axis), children created in pairs, nodes numbered in creation order."""
    n = xyz.shape[0]
    cap = 2 * (n // max(leaf_size // 2, 1)) + 3  # splits stop at leaf_size points: fewer nodes than this
    order = np.arange(n)
    start = np.zeros(cap, np.int64)
    end = np.zeros(cap, np.int64)
    left = np.full(cap, -1, np.int64)
    right = np.full(cap, -1, np.int64)
    lo = np.zeros((cap, 3))
    hi = np.zeros((cap, 3))
    stack = np.empty(cap, np.int64)
    n_nodes = 0
    n_stack = 0
    for k in range(3):  # the root
        if n:
            lo[0, k], hi[0, k] = xyz[:, k].min(), xyz[:, k].max()
    end[0] = n
    n_nodes = 1
    stack[0] = 0
    n_stack = 1
    while n_stack:
        n_stack -= 1
        node = stack[n_stack]
        s, e = start[node], end[node]
        if e - s <= leaf_size:
            continue
        axis = 0
        for k in range(1, 3):
            if hi[node, k] - lo[node, k] > hi[node, axis] - lo[node, axis]:
                axis = k
        mid = (s + e) // 2
        idx = order[s:e].copy()
        by = np.argsort(xyz[idx, axis])
        order[s:e] = idx[by]
        for s1, e1 in ((s, mid), (mid, e)):
            c = n_nodes
            n_nodes += 1
            start[c], end[c] = s1, e1
            for k in range(3):
                v0 = xyz[order[s1], k]
                mn, mx = v0, v0
                for i in range(s1 + 1, e1):
                    v = xyz[order[i], k]
                    mn = min(mn, v)
                    mx = max(mx, v)
                lo[c, k], hi[c, k] = mn, mx
            if s1 == s:
                left[node] = c
            else:
                right[node] = c
        stack[n_stack] = left[node]
        stack[n_stack + 1] = right[node]
        n_stack += 2
    return order, start, end, left, right, lo, hi, n_nodes


@njit(cache=True, inline="always")
def _box_dist2(qx, qy, qz, lo, hi, node):
    d = 0.0
    if qx < lo[node, 0]:
        d += (lo[node, 0] - qx) ** 2
    elif qx > hi[node, 0]:
        d += (qx - hi[node, 0]) ** 2
    if qy < lo[node, 1]:
        d += (lo[node, 1] - qy) ** 2
    elif qy > hi[node, 1]:
        d += (qy - hi[node, 1]) ** 2
    if qz < lo[node, 2]:
        d += (lo[node, 2] - qz) ** 2
    elif qz > hi[node, 2]:
        d += (qz - hi[node, 2]) ** 2
    return d


@njit(cache=True, nogil=True)
def _cell_order(lat_deg, lon_deg):
    """Query order grouped by 0.5-degree cell (a counting sort; invalid positions last)."""
    n = lat_deg.size
    ncell = _SORT_ROWS * 2 * _SORT_ROWS + 1
    key = np.empty(n, dtype=np.int64)
    count = np.zeros(ncell + 1, dtype=np.int64)
    for i in range(n):
        la = lat_deg[i]
        lo_ = lon_deg[i]
        k = ncell - 1
        if la >= -90.0 and la <= 90.0 and math.isfinite(lo_):
            r = min(int((la + 90.0) * _SORT_ROWS / 180.0), _SORT_ROWS - 1)
            c = int(mod_floor(lo_ + 180.0, 360.0) * _SORT_ROWS / 180.0) % (2 * _SORT_ROWS)
            k = r * 2 * _SORT_ROWS + c
        key[i] = k
        count[k + 1] += 1
    for k in range(ncell):
        count[k + 1] += count[k]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[count[key[i]]] = i
        count[key[i]] += 1
    return out


@njit(cache=True, nogil=True, parallel=True)
def _nearest_kernel(lat_deg, lon_deg, visit, limit2, xyz, order, start, end, left, right, lo, hi, out_index,
                    out_chord2):
    n = lat_deg.size
    nblocks = (n + _QUERY_BLOCK - 1) // _QUERY_BLOCK
    deg = math.pi / 180.0
    for b in prange(nblocks):
        stack = np.empty(_STACK_DEPTH, dtype=np.int64)
        stack_d2 = np.empty(_STACK_DEPTH, dtype=np.float64)  # lower bound of each pending node's distance
        for k in range(b * _QUERY_BLOCK, min(n, (b + 1) * _QUERY_BLOCK)):
            i = visit[k]
            la = lat_deg[i]
            lo_ = lon_deg[i]
            if not (la >= -90.0 and la <= 90.0 and math.isfinite(lo_)):
                continue
            cl = math.cos(la * deg)
            qx = cl * math.cos(lo_ * deg)
            qy = cl * math.sin(lo_ * deg)
            qz = math.sin(la * deg)
            best2 = limit2
            best = -1
            stack[0] = 0
            stack_d2[0] = 0.0
            sp = 1
            while sp > 0:
                sp -= 1
                node = stack[sp]
                if stack_d2[sp] > best2:
                    continue
                a = left[node]
                if a < 0:
                    for j in range(start[node], end[node]):
                        d2 = (xyz[j, 0] - qx) ** 2 + (xyz[j, 1] - qy) ** 2 + (xyz[j, 2] - qz) ** 2
                        if d2 < best2 or (d2 == best2 and (best < 0 or order[j] < best)):
                            best2 = d2
                            best = order[j]
                    continue
                c = right[node]
                da = _box_dist2(qx, qy, qz, lo, hi, a)
                dc = _box_dist2(qx, qy, qz, lo, hi, c)
                # visit the nearer child first (push it last); skip a child that cannot hold a better point
                if da <= dc:
                    if dc <= best2:
                        stack[sp] = c
                        stack_d2[sp] = dc
                        sp += 1
                    if da <= best2:
                        stack[sp] = a
                        stack_d2[sp] = da
                        sp += 1
                else:
                    if da <= best2:
                        stack[sp] = a
                        stack_d2[sp] = da
                        sp += 1
                    if dc <= best2:
                        stack[sp] = c
                        stack_d2[sp] = dc
                        sp += 1
            if best >= 0:
                out_index[i] = best
                out_chord2[i] = best2
