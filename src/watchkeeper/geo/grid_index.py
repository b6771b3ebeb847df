"""Nearest place within a bounded distance, by a latitude/longitude grid of candidate lists.

:class:`GridSphereIndex` answers exactly what :class:`watchkeeper.geo.sphere.SphereIndex` answers (same index, same
distance to the bit, ties to the lower index) and uses that k-d tree when the distance is unbounded or large. For a
bound of at most :data:`GRID_MAX_KM` it builds, once per bound, a grid of cells about :data:`CELL_DEG` wide in which
every cell lists the indexed points that can lie within the bound of some position in the cell, in order of
distance from the cell's centre. A query reads its cell's list - empty for most positions at sea, where it costs no
trigonometry at all - and compares the chord distances to those points with the tree kernel's own arithmetic,
stopping where the triangle inequality rules out the rest of the list.

Why it is exact: a point at most ``r`` from a position in a cell is at most ``r + h`` from the cell's centre, ``h``
bounding the distance from the centre to any position of the cell (``c/2 * (1 + cos(centre latitude))`` for a cell
``c`` radians wide: along the meridian, then along the centre's parallel), and the lists are built with a margin
(``r * (1 + 1e-6) + 10 m``) far beyond the rounding of the chord bound or of the cell arithmetic.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import njit, prange

from watchkeeper.geo.sphere import (
    _QUERY_BLOCK,
    EARTH_RADIUS_KM,
    SphereIndex,
    chord_to_km,
    km_to_chord,
    mod_floor,
    to_unit_xyz,
)

GRID_MAX_KM = 50.0  # larger bounds go to the k-d tree (long candidate lists around dense port clusters)
GRID_MIN_QUERIES = 50_000  # fewer queries go to the k-d tree (a grid takes ~20 ms to build, once per bound)
CELL_DEG = 0.25  # cells at least this wide, and at least the bound wide (720 x 1440 cells up to ~28 km)
_MARGIN_REL = 1e-6
_MARGIN_KM = 0.01
_MAX_LON = 360.0  # queries with a larger |longitude| go to the tree (their rounding is not bounded by the margin)


@njit(cache=True)
def _grid_lists(lat_deg, lon_deg, xyz, n_rows, radius_km):
    """Candidate lists of a grid of ``n_rows`` x ``2 n_rows`` cells of ``180 / n_rows`` degrees (row 0 from the
    south pole, column 0 from longitude -180).

    Returns ``(offset, points, dist)``: the points of cell ``c = row * 2 n_rows + column`` are
    ``points[offset[c]:offset[c + 1]]``, sorted by ``dist``, their chord from the cell's centre (see
    :func:`_centres`).
    """
    n_cols = 2 * n_rows
    c_deg = 180.0 / n_rows
    c_rad = math.radians(c_deg)
    reach = (radius_km * (1.0 + _MARGIN_REL) + _MARGIN_KM) / EARTH_RADIUS_KM  # radians
    eps = 1e-6  # in cells
    rows_w = (reach + c_rad) / c_rad
    # the cells of each point: runs (point, row, first column, last column), columns modulo n_cols
    cap = 64 + 4 * lat_deg.shape[0]
    run_p = np.empty(cap, np.int64)
    run_r = np.empty(cap, np.int64)
    run_k0 = np.empty(cap, np.int64)
    run_k1 = np.empty(cap, np.int64)
    n_runs = 0
    for p in range(lat_deg.shape[0]):
        phi = math.radians(lat_deg[p])
        sp, cp = math.sin(phi), math.cos(phi)
        b = (lat_deg[p] + 90.0) / c_deg - 0.5  # row coordinate (row centres at integers)
        a = mod_floor(lon_deg[p] + 180.0, 360.0) / c_deg - 0.5  # column coordinate
        r0 = max(math.ceil(b - rows_w - eps), 0)
        r1 = min(math.floor(b + rows_w + eps), n_rows - 1)
        for r in range(r0, r1 + 1):
            phc = math.radians(-90.0 + (r + 0.5) * c_deg)
            d = reach + 0.5 * c_rad * (1.0 + math.cos(phc))
            if abs(phc - phi) > d + 1e-12:
                continue
            den = cp * math.cos(phc)
            if d >= math.pi or den <= 1e-12:
                half = math.pi
            else:
                x = (math.cos(d) - sp * math.sin(phc)) / den
                if x <= -1.0:
                    half = math.pi
                elif x >= 1.0:
                    half = 0.0
                else:
                    half = math.acos(x)
            w = half / c_rad
            k0 = math.ceil(a - w - eps)
            k1 = math.floor(a + w + eps)
            if k1 < k0:
                continue
            if k1 - k0 + 1 >= n_cols:
                k0, k1 = 0, n_cols - 1
            if n_runs == cap:
                cap *= 2
                run_p = _grow(run_p, cap)
                run_r = _grow(run_r, cap)
                run_k0 = _grow(run_k0, cap)
                run_k1 = _grow(run_k1, cap)
            run_p[n_runs] = p
            run_r[n_runs] = r
            run_k0[n_runs] = k0
            run_k1[n_runs] = k1
            n_runs += 1
    n_cells = n_rows * n_cols
    offset = np.zeros(n_cells + 1, np.int32)
    for q in range(n_runs):
        base = run_r[q] * n_cols + 1
        for kk in range(run_k0[q], run_k1[q] + 1):
            offset[base + kk % n_cols] += 1
    for c in range(n_cells):
        offset[c + 1] += offset[c]
    fill = offset[:-1].copy()
    points = np.empty(offset[n_cells], np.int32)
    for q in range(n_runs):  # runs come point by point, so every list is in increasing point order
        base = run_r[q] * n_cols
        for kk in range(run_k0[q], run_k1[q] + 1):
            c = base + kk % n_cols
            points[fill[c]] = run_p[q]
            fill[c] += 1
    # each list sorted by the chord from its cell's centre
    cos_r, sin_r, cos_k, sin_k = _centres(n_rows)
    dist = np.empty(points.shape[0])
    for c in range(n_cells):
        s = offset[c]
        e = offset[c + 1]
        if s == e:
            continue
        r = c // n_cols
        k = c % n_cols
        cx = cos_r[r] * cos_k[k]
        cy = cos_r[r] * sin_k[k]
        cz = sin_r[r]
        for t in range(s, e):  # insertion sort (the lists are short)
            j = points[t]
            dj = math.sqrt((xyz[j, 0] - cx) ** 2 + (xyz[j, 1] - cy) ** 2 + (xyz[j, 2] - cz) ** 2)
            u = t
            while u > s and dist[u - 1] > dj:
                dist[u] = dist[u - 1]
                points[u] = points[u - 1]
                u -= 1
            dist[u] = dj
            points[u] = j
    return offset, points, dist


@njit(cache=True)
def _centres(n_rows):
    """Cosine and sine of the centre latitude of each row and of the centre longitude of each column."""
    c_deg = 180.0 / n_rows
    cos_r = np.empty(n_rows)
    sin_r = np.empty(n_rows)
    for r in range(n_rows):
        la = math.radians(-90.0 + (r + 0.5) * c_deg)
        cos_r[r] = math.cos(la)
        sin_r[r] = math.sin(la)
    cos_k = np.empty(2 * n_rows)
    sin_k = np.empty(2 * n_rows)
    for k in range(2 * n_rows):
        lo = math.radians(-180.0 + (k + 0.5) * c_deg)
        cos_k[k] = math.cos(lo)
        sin_k[k] = math.sin(lo)
    return cos_r, sin_r, cos_k, sin_k


@njit(cache=True)
def _grow(a, n):
    out = np.empty(n, a.dtype)
    out[:a.shape[0]] = a
    return out


@njit(cache=True, nogil=True, parallel=True)
def _grid_nearest(lat_deg, lon_deg, n_rows, offset, points, dist, cos_r, sin_r, cos_k, sin_k, xyz, limit2,
                  out_index, out_chord2):
    """Nearest candidate of each query (skipping NaN, ``abs(lat) > 90`` and ``abs(lon) > _MAX_LON``), with the
    query vector and squared chord computed as in :func:`watchkeeper.geo.sphere._nearest_kernel`. A cell's list is
    read in order of chord from the cell's centre and left once that chord, less the query's own chord from the
    centre, exceeds the best chord so far (with a margin far beyond rounding): no later point can be nearer.

    The search starts from the previous query's answer, when it lies within the bound of this query too (it is
    then in the cell's list, which holds every point within the bound of the cell): consecutive queries along a
    track mostly share their nearest point, so the first chord is already short and few entries are read. The
    answer is the same: the nearest point of the list, the lowest index among equals."""
    n_cols = 2 * n_rows
    deg = math.pi / 180.0
    inv = n_rows / 180.0
    n = lat_deg.shape[0]
    for blk in prange((n + _QUERY_BLOCK - 1) // _QUERY_BLOCK):
        hint = -1
        for i in range(blk * _QUERY_BLOCK, min(n, (blk + 1) * _QUERY_BLOCK)):
            la = lat_deg[i]
            lo_ = lon_deg[i]
            if not (la >= -90.0 and la <= 90.0 and lo_ >= -_MAX_LON and lo_ <= _MAX_LON):
                continue
            r = min(int((la + 90.0) * inv), n_rows - 1)
            k = int(mod_floor(lo_ + 180.0, 360.0) * inv) % n_cols
            c = r * n_cols + k
            s = offset[c]
            e = offset[c + 1]
            if s == e:
                continue
            cl = math.cos(la * deg)
            qx = cl * math.cos(lo_ * deg)
            qy = cl * math.sin(lo_ * deg)
            qz = math.sin(la * deg)
            dq = math.sqrt((qx - cos_r[r] * cos_k[k]) ** 2 + (qy - cos_r[r] * sin_k[k]) ** 2 + (qz - sin_r[r]) ** 2)
            best2 = limit2
            best = -1
            if hint >= 0:
                d2 = (xyz[hint, 0] - qx) ** 2 + (xyz[hint, 1] - qy) ** 2 + (xyz[hint, 2] - qz) ** 2
                if d2 <= limit2:
                    best2 = d2
                    best = hint
            cut = dq + math.sqrt(best2) * (1.0 + 1e-9) + 1e-13
            for t in range(s, e):
                if dist[t] > cut:
                    break
                j = points[t]
                d2 = (xyz[j, 0] - qx) ** 2 + (xyz[j, 1] - qy) ** 2 + (xyz[j, 2] - qz) ** 2
                if d2 < best2 or (d2 == best2 and (best < 0 or j < best)):
                    best2 = d2
                    best = j
                    cut = dq + math.sqrt(best2) * (1.0 + 1e-9) + 1e-13
            if best >= 0:
                out_index[i] = best
                out_chord2[i] = best2
                hint = best


class GridSphereIndex:
    """:class:`watchkeeper.geo.sphere.SphereIndex` with a faster path for bounded searches (see the module
    docstring); the same parameters and the same answers."""

    def __init__(self, lat_deg, lon_deg):
        lat = np.ascontiguousarray(np.asarray(lat_deg, dtype=np.float64).ravel())
        lon = np.ascontiguousarray(np.asarray(lon_deg, dtype=np.float64).ravel())
        if lat.shape != lon.shape:
            raise ValueError(f"lat_deg and lon_deg differ in length ({lat.size} and {lon.size})")
        if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon)) and np.all(np.abs(lat) <= 90)):
            raise ValueError("indexed points must be finite with -90 <= lat_deg <= 90")
        self.size = lat.size
        self._lat, self._lon = lat, lon
        self._xyz = np.ascontiguousarray(to_unit_xyz(lat, lon))  # the values the tree holds
        self._grids: dict[float, tuple] = {}

    @functools.cached_property
    def _tree(self) -> SphereIndex:
        """The k-d tree, built on first use (bounded searches of many positions never need it)."""
        return SphereIndex(self._lat, self._lon)

    def _grid(self, max_distance_km: float) -> tuple:
        g = self._grids.get(max_distance_km)
        if g is None:
            n_rows = max(1, int(180.0 / max(CELL_DEG, max_distance_km / (EARTH_RADIUS_KM * math.pi / 180.0))))
            lists = _grid_lists(self._lat, self._lon, self._xyz, n_rows, float(max_distance_km))
            if len(self._grids) >= 8:
                self._grids.pop(next(iter(self._grids)))
            g = self._grids[max_distance_km] = (n_rows, *lists, *_centres(n_rows))
        return g

    def nearest(self, lat_deg, lon_deg, max_distance_km: float = math.inf) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`watchkeeper.geo.sphere.SphereIndex.nearest`, the same answers."""
        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, dtype=np.float64), np.asarray(lon_deg, dtype=np.float64))
        if not (0.0 <= max_distance_km <= GRID_MAX_KM) or lat.size < GRID_MIN_QUERIES or not self.size:
            return self._tree.nearest(lat_deg, lon_deg, max_distance_km)
        shape = lat.shape
        lat = np.ascontiguousarray(lat).ravel()
        lon = np.ascontiguousarray(lon).ravel()
        index = np.full(lat.size, -1, dtype=np.int64)
        chord2 = np.full(lat.size, np.nan, dtype=np.float64)
        limit = float(km_to_chord(max_distance_km))
        limit2 = limit * limit * (1 + 1e-12)  # as SphereIndex.nearest
        _grid_nearest(lat, lon, *self._grid(float(max_distance_km)), self._xyz, limit2, index, chord2)
        far = np.flatnonzero(np.abs(lon) > _MAX_LON)
        if far.size:
            index[far], km = self._tree.nearest(lat[far], lon[far], max_distance_km)
            chord2[far] = np.nan  # distances of these come from the tree itself
            dist = chord_to_km(np.sqrt(chord2))
            dist[far] = km
            return index.reshape(shape), dist.reshape(shape)
        return index.reshape(shape), chord_to_km(np.sqrt(chord2)).reshape(shape)
