"""Compiled kernels of :mod:`watchkeeper.geo.coast`: a cell grid for land tests, a tree for distances to arcs.

Two structures answer every query without a Python object per point:

* a **cell grid** of 0.1 degrees (1800 rows from the South Pole, 3600 columns from 180 W) holding, per cell,
  whether its centre is on land, whether polygon edges and coastline cross it, and (per buffer) a class: all
  sea, all land beyond the buffer, or mixed. A point in a cell that no edge crosses takes the cell centre's
  answer; otherwise it is tested against the few edges of its cell (even-odd rule along the path from the cell
  centre to the point), so the result is exact for the polygons in longitude/latitude, as shapely's is.
* a **packed bounding-volume tree** over the coastline segments, taken as great-circle arcs between unit
  vectors in 3-D. Chord length grows monotonically with great-circle distance, so best-first search by chord
  distance to the boxes finds the nearest arc exactly, with no special case at the antimeridian or the poles.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

CELLS_PER_DEG = 10  # the cell grid is 0.1 degree; the detail box's edges fall on cell edges
N_ROWS = 180 * CELLS_PER_DEG
N_COLS = 360 * CELLS_PER_DEG
NODE_SIZE = 8  # children per tree node (as in flatbush; 4-16 perform alike)
_BLOCK = 4096  # query points per parallel task

F_INSIDE = 1  # the cell centre is on land
F_EDGES = 2  # polygon edges cross the cell: points in it are tested against them
F_COAST = 4  # coastline crosses the cell (a subset of F_EDGES cells, plus neighbours of clipped pieces)

CLASS_SEA = 0  # every point of the cell is at sea or within the buffer of the coastline
CLASS_LAND = 1  # every point of the cell is on land, farther than the buffer from the coastline
CLASS_MIXED = 2  # decide point by point

# per-segment record: a (3), b (3), unit normal n = a x b (3), u = n x a (3), w = b x n (3)
SEG_FIELDS = 15


@njit(cache=True, inline="always")
def _row_centre(row):
    return -90.0 + (row + 0.5) / CELLS_PER_DEG


@njit(cache=True, inline="always")
def _col_centre(col):
    return -180.0 + (col + 0.5) / CELLS_PER_DEG


@njit(cache=True, inline="always")
def _wrap_lon(lon):
    """Longitude in [-180, 180)."""
    if lon >= -180.0 and lon < 180.0:
        return lon
    return (lon + 180.0) % 360.0 - 180.0


@njit(cache=True, inline="always")
def _cell(lat, lon):
    row = math.floor((lat + 90.0) * CELLS_PER_DEG)
    col = math.floor((lon + 180.0) * CELLS_PER_DEG)
    return min(max(row, 0), N_ROWS - 1), min(max(col, 0), N_COLS - 1)


# ----------------------------------------------------------------------------------------------- cell grid


@njit(cache=True)
def rasterize_centres(x1, y1, x2, y2, row0, row1, col0, col1, flags):
    """Set ``F_INSIDE`` on the cells of rows ``row0:row1``, columns ``col0:col1`` whose centre is inside.

    The edges are those of closed rings (any orientation); a centre is inside when a ray towards the west
    crosses an odd number of them (the even-odd rule, as GEOS applies it to valid polygons).
    """
    nrows = row1 - row0
    counts = np.zeros(nrows + 1, dtype=np.int64)
    for phase in range(2):
        if phase == 1:
            offsets = np.cumsum(counts)
            xs = np.empty(offsets[-1], dtype=np.float64)
            fill = offsets[:-1].copy()
        for e in range(x1.size):
            ya = y1[e]
            yb = y2[e]
            if ya == yb:
                continue
            lo = min(ya, yb)
            hi = max(ya, yb)
            first = max(row0, math.floor((lo + 90.0) * CELLS_PER_DEG - 0.5))
            last = min(row1 - 1, math.floor((hi + 90.0) * CELLS_PER_DEG - 0.5) + 1)
            for r in range(first, last + 1):
                yc = _row_centre(r)
                if (ya > yc) != (yb > yc):
                    if phase == 0:
                        counts[r - row0 + 1] += 1
                    else:
                        k = fill[r - row0]
                        xs[k] = x1[e] + (yc - ya) * (x2[e] - x1[e]) / (yb - ya)
                        fill[r - row0] = k + 1
    for r in range(nrows):
        row_xs = np.sort(xs[offsets[r] : offsets[r + 1]])
        for k in range(0, row_xs.size - 1, 2):
            c_start = max(col0, math.ceil((row_xs[k] + 180.0) * CELLS_PER_DEG - 0.5))
            c_end = min(col1, math.ceil((row_xs[k + 1] + 180.0) * CELLS_PER_DEG - 0.5))
            for c in range(c_start, c_end):
                flags[r + row0, c] |= F_INSIDE


@njit(cache=True)
def classify_cells(flags, buffer_rad):
    """Per-cell class for one buffer: ``CLASS_SEA``, ``CLASS_LAND`` or ``CLASS_MIXED``.

    A cell is mixed when it lies within ``buffer_rad`` (great-circle angle) of a cell that the coastline
    crosses; every other cell has no coastline within the buffer of any of its points, so the land test of its
    centre holds for all of them.
    """
    out = np.empty((N_ROWS, N_COLS), dtype=np.uint8)
    for r in range(N_ROWS):
        for c in range(N_COLS):
            out[r, c] = flags[r, c] & F_INSIDE
    buffer_deg = math.degrees(buffer_rad)
    k_rows = math.ceil(buffer_deg * CELLS_PER_DEG)
    sin_b = math.sin(min(buffer_rad, math.pi / 2))
    for r in range(N_ROWS):
        # farthest latitude from the equator of this row of cells: longitudes spread most there
        lat_max = max(abs(-90.0 + r / CELLS_PER_DEG), abs(-90.0 + (r + 1) / CELLS_PER_DEG))
        cos_lat = math.cos(math.radians(lat_max))
        if sin_b >= cos_lat:
            k_cols = N_COLS
        else:
            k_cols = math.ceil(math.degrees(math.asin(sin_b / cos_lat)) * CELLS_PER_DEG)
        for c in range(N_COLS):
            if not flags[r, c] & F_COAST:
                continue
            for rr in range(max(0, r - k_rows), min(N_ROWS, r + k_rows + 1)):
                if k_cols * 2 + 1 >= N_COLS:
                    out[rr, :] = CLASS_MIXED
                    continue
                for dc in range(-k_cols, k_cols + 1):
                    out[rr, (c + dc) % N_COLS] = CLASS_MIXED
    return out


@njit(cache=True, inline="always")
def _orient(ax, ay, bx, by, cx, cy):
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


@njit(cache=True, inline="always")
def _inside(lat, lon, row, col, flags, cells, cell_start, cell_edges, edges):
    """Land test of one point (lon already wrapped): the cell centre's answer, flipped per edge crossed."""
    inside = (flags[row, col] & F_INSIDE) != 0
    if not flags[row, col] & F_EDGES:
        return inside
    k = np.searchsorted(cells, row * N_COLS + col)
    cx = _col_centre(col)
    cy = _row_centre(row)
    for j in range(cell_start[k], cell_start[k + 1]):
        e = cell_edges[j]
        ex1 = edges[e, 0]
        ey1 = edges[e, 1]
        ex2 = edges[e, 2]
        ey2 = edges[e, 3]
        # half-open on the first test so that a path through a vertex counts its two edges consistently
        if ((_orient(cx, cy, lon, lat, ex1, ey1) > 0) != (_orient(cx, cy, lon, lat, ex2, ey2) > 0)) and (
            (_orient(ex1, ey1, ex2, ey2, cx, cy) > 0) != (_orient(ex1, ey1, ex2, ey2, lon, lat) > 0)
        ):
            inside = not inside
    return inside


# ------------------------------------------------------------------------------------------ arc distance


@njit(cache=True, inline="always")
def _arc_chord2(px, py, pz, seg, k):
    """Squared chord from unit vector p to the nearest point of great-circle arc k (short arc a->b)."""
    if (px * seg[k, 9] + py * seg[k, 10] + pz * seg[k, 11] >= 0.0) and (
        px * seg[k, 12] + py * seg[k, 13] + pz * seg[k, 14] >= 0.0
    ):
        s = px * seg[k, 6] + py * seg[k, 7] + pz * seg[k, 8]  # sine of the angle to the great circle
        # 2 - 2 cos(angle), written without cancellation for small angles
        return 2.0 * s * s / (1.0 + math.sqrt(max(0.0, 1.0 - s * s)))
    da = (px - seg[k, 0]) ** 2 + (py - seg[k, 1]) ** 2 + (pz - seg[k, 2]) ** 2
    db = (px - seg[k, 3]) ** 2 + (py - seg[k, 4]) ** 2 + (pz - seg[k, 5]) ** 2
    return min(da, db)


@njit(cache=True, inline="always")
def _box_dist2(px, py, pz, boxes, node):
    d = 0.0
    v = boxes[node, 0] - px
    if v > 0.0:
        d += v * v
    else:
        v = px - boxes[node, 3]
        if v > 0.0:
            d += v * v
    v = boxes[node, 1] - py
    if v > 0.0:
        d += v * v
    else:
        v = py - boxes[node, 4]
        if v > 0.0:
            d += v * v
    v = boxes[node, 2] - pz
    if v > 0.0:
        d += v * v
    else:
        v = pz - boxes[node, 5]
        if v > 0.0:
            d += v * v
    return d


@njit(cache=True, inline="always")
def _nearest_chord2(px, py, pz, best, best_k, seg, boxes, first_child, n_items, heap_d, heap_n):
    """Best-first search of the tree (flatbush's order): squared chord to, and index of, the nearest arc.

    ``best`` is the squared chord to arc ``best_k``, a known upper bound: the closer it is, the less is searched.
    """
    root = boxes.shape[0] - 1
    heap_d[0] = 0.0
    heap_n[0] = root
    size = 1
    while size > 0:
        d = heap_d[0]
        node = heap_n[0]
        if d >= best:
            break
        # pop: move the last entry to the top and sift it down
        size -= 1
        if size > 0:
            ld = heap_d[size]
            ln = heap_n[size]
            i = 0
            while True:
                child = 2 * i + 1
                if child >= size:
                    break
                if child + 1 < size and heap_d[child + 1] < heap_d[child]:
                    child += 1
                if heap_d[child] >= ld:
                    break
                heap_d[i] = heap_d[child]
                heap_n[i] = heap_n[child]
                i = child
            heap_d[i] = ld
            heap_n[i] = ln
        for c in range(first_child[node], first_child[node + 1]):
            lb = _box_dist2(px, py, pz, boxes, c)
            if lb >= best:
                continue
            if c < n_items:
                e = _arc_chord2(px, py, pz, seg, c)
                if e < best:
                    best = e
                    best_k = c
            else:
                # push and sift up
                i = size
                size += 1
                while i > 0:
                    parent = (i - 1) // 2
                    if heap_d[parent] <= lb:
                        break
                    heap_d[i] = heap_d[parent]
                    heap_n[i] = heap_n[parent]
                    i = parent
                heap_d[i] = lb
                heap_n[i] = c
    return best, best_k


@njit(cache=True, inline="always")
def _any_within(px, py, pz, limit2, seg, boxes, first_child, n_items, stack):
    """Whether some arc lies within squared chord ``limit2`` of p (depth-first, stops at the first)."""
    stack[0] = boxes.shape[0] - 1
    sp = 1
    while sp > 0:
        sp -= 1
        node = stack[sp]
        for c in range(first_child[node], first_child[node + 1]):
            if _box_dist2(px, py, pz, boxes, c) > limit2:
                continue
            if c < n_items:
                if _arc_chord2(px, py, pz, seg, c) <= limit2:
                    return True
            else:
                stack[sp] = c
                sp += 1
    return False


@njit(cache=True, inline="always")
def _unit(lat, lon):
    rlat = math.radians(lat)
    rlon = math.radians(lon)
    cl = math.cos(rlat)
    return cl * math.cos(rlon), cl * math.sin(rlon), math.sin(rlat)


# ----------------------------------------------------------------------------------------- query kernels


@njit(cache=True, nogil=True)
def hint_kernel(seg, boxes, first_child, n_items, heap_size, out):
    """``out[row, col]``: the arc nearest to the centre of each one-degree cell (row from 90 S, col from 180 W)."""
    heap_d = np.empty(heap_size, dtype=np.float64)
    heap_n = np.empty(heap_size, dtype=np.int64)
    for row in range(out.shape[0]):
        for col in range(out.shape[1]):
            px, py, pz = _unit(row - 89.5, col - 179.5)
            out[row, col] = _nearest_chord2(px, py, pz, 5.0, 0, seg, boxes, first_child, n_items, heap_d,
                                            heap_n)[1]


@njit(cache=True, nogil=True, parallel=True)
def on_land_kernel(lat, lon, limit2, classes, flags, cells, cell_start, cell_edges, edges, seg, boxes,
                   first_child, n_items, stack_size, out):
    """``out[i]``: point i is on land and no coastline arc lies within squared chord ``limit2`` of it."""
    n = lat.size
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        stack = np.empty(stack_size, dtype=np.int64)
        for i in range(b * _BLOCK, min(n, (b + 1) * _BLOCK)):
            la = lat[i]
            lo = lon[i]
            if not (la >= -90.0 and la <= 90.0 and math.isfinite(lo)):
                out[i] = False
                continue
            lo = _wrap_lon(lo)
            row, col = _cell(la, lo)
            cls = classes[row, col]
            if cls != CLASS_MIXED:
                out[i] = cls == CLASS_LAND
                continue
            if not _inside(la, lo, row, col, flags, cells, cell_start, cell_edges, edges):
                out[i] = False
                continue
            px, py, pz = _unit(la, lo)
            out[i] = not _any_within(px, py, pz, limit2, seg, boxes, first_child, n_items, stack)


@njit(cache=True, nogil=True, parallel=True)
def signed_chord2_kernel(lat, lon, flags, cells, cell_start, cell_edges, edges, seg, boxes, first_child,
                         n_items, heap_size, hint, out):
    """``out[i]``: squared chord to the nearest coastline arc, negated on land; NaN for invalid points.

    ``hint[row, col]`` is an arc near the one-degree cell (row from 90 S, col from 180 W); it and the previous
    point's nearest arc (consecutive positions of a track are close) give the search its first upper bound.
    """
    n = lat.size
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        heap_d = np.empty(heap_size, dtype=np.float64)
        heap_n = np.empty(heap_size, dtype=np.int64)
        prev_k = -1
        for i in range(b * _BLOCK, min(n, (b + 1) * _BLOCK)):
            la = lat[i]
            lo = lon[i]
            if not (la >= -90.0 and la <= 90.0 and math.isfinite(lo)):
                out[i] = np.nan
                continue
            lo = _wrap_lon(lo)
            row, col = _cell(la, lo)
            px, py, pz = _unit(la, lo)
            best_k = hint[min(int(la + 90.0), 179), min(int(lo + 180.0), 359)]
            best = _arc_chord2(px, py, pz, seg, best_k)
            if prev_k >= 0:
                e = _arc_chord2(px, py, pz, seg, prev_k)
                if e < best:
                    best = e
                    best_k = prev_k
            d2, prev_k = _nearest_chord2(px, py, pz, best, best_k, seg, boxes, first_child, n_items, heap_d, heap_n)
            if _inside(la, lo, row, col, flags, cells, cell_start, cell_edges, edges):
                d2 = -d2
            out[i] = d2
