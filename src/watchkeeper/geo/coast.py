"""Land and distance to shore from Natural Earth, vectorised: "is this position on land?" and "how far out?".

Land is Natural Earth 1:10m inside the detail box 115-145 E, 30-50 N (the Yellow Sea, both Koreas, the Sea of
Japan, Primorye and Japan, with the 1:10m minor islands) and Natural Earth 1:50m elsewhere (with the 1:10m minor
islands that the 1:50m land does not already touch). The coastline is the boundary of that land, less the
artificial edges made by cutting the data (the antimeridian, the South Pole, the detail box).

Two questions are answered for arrays of positions:

* :meth:`Coast.on_land` -- on land *by more than a buffer* (1 km by default), so that harbours, river mouths
  and the generalisation of the coastline count as sea;
* :meth:`Coast.distance_to_shore_km` -- great-circle distance to the nearest coastline, negative on land.

Both run in compiled kernels (see :mod:`watchkeeper.geo.coast_kernels`); ``docs/coast.md`` gives the
resolution, accuracy and measured speed. Load once with :meth:`Coast.default`.

Building the coast from the GeoJSON takes about a second, so :meth:`Coast.default` (through
:meth:`Coast.cached_natural_earth`) keeps the built arrays in an uncompressed ``.npz`` file, next to numba's
caches: ``watchkeeper/geo/__pycache__/coast-cache.npz`` when that folder is writable, else
``$XDG_CACHE_HOME/watchkeeper`` (``~/.cache/watchkeeper``), or the folder named by ``$WATCHKEEPER_CACHE_DIR``;
with none writable it builds in memory. The file holds only NumPy arrays (loaded without pickle) and a key: the
SHA-256 of the vendored GeoJSON files, of this module and :mod:`~watchkeeper.geo.coast_kernels`, the detail box,
:data:`CACHE_FORMAT`, and the NumPy, Shapely and GEOS versions. A file with another key, or one that cannot be
read or fails its checks, is ignored and rebuilt; it is replaced atomically (temporary file + ``os.replace``).
A cached coast answers bit for bit as a freshly built one. Delete the file to clear the cache.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import math
import os
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import shapely

from watchkeeper.geo import coast_kernels as K
from watchkeeper.geo.sphere import EARTH_RADIUS_KM, chord_to_km, km_to_chord

DETAIL_BOX_DEG = (115.0, 30.0, 145.0, 50.0)  # lon_min, lat_min, lon_max, lat_max of the 1:10m detail
DEFAULT_BUFFER_M = 1000.0
"""Default of ``buffer_m``: a point counts as on land only if it is more than 1 km inside the coastline.

Natural Earth 1:10m is generalised for maps at 1:10,000,000: harbour basins, narrow bays and river mouths are
filled in, and port reference points fall within about 1 km of the coastline on either side (checked on WPI
Najin, Ch'ongjin, Nampo, Vostochnyy and Vladivostok; see ``data/PROVENANCE-natural-earth.md``). Vladivostok's
Golden Horn bay lies about 0.7 km inside the 1:10m land. A moored ship must not read as "on land", so the
default buffer is the smallest round value that keeps these harbours at sea. Outside the detail box the 1:50m
coastline is coarser (errors of several km); callers there should pass a larger buffer.
"""

MAX_EDGE_DEG = 1.0 / K.CELLS_PER_DEG  # edges are split to at most one cell, so each touches <= 2 x 2 cells
_DATA = "data"
_WORLD_LAND = "ne_50m_land.geojson.gz"
_WORLD_ISLANDS = "ne_10m_minor_islands.geojson.gz"
_DETAIL_LAND = "ne_10m_land_corridor.geojson.gz"
_DETAIL_ISLANDS = "ne_10m_minor_islands_corridor.geojson.gz"
_ON_EDGE_DEG = 1e-9  # tolerance for "this vertex lies on a cut line"

CACHE_FORMAT = 1
"""Version of the layout of the coast cache file; bump it when the arrays that :class:`Coast` holds change."""
CACHE_DIR_ENV = "WATCHKEEPER_CACHE_DIR"  # if set, the only folder where the coast cache is read and written
_CACHE_FILE = "coast-cache.npz"


@dataclass(frozen=True)
class _Grid:
    flags: np.ndarray  # uint8 (N_ROWS, N_COLS): F_INSIDE | F_EDGES | F_COAST
    cells: np.ndarray  # int64, sorted ids (row * N_COLS + col) of the cells with edges
    cell_start: np.ndarray  # int64, CSR offsets into cell_edges (len(cells) + 1)
    cell_edges: np.ndarray  # int64, indices into edges
    edges: np.ndarray  # float64 (n, 4): x1, y1, x2, y2 of every polygon edge, degrees


@dataclass(frozen=True)
class _Tree:
    seg: np.ndarray  # float64 (n_items, SEG_FIELDS), in tree order
    boxes: np.ndarray  # float64 (n_nodes, 6): lo xyz, hi xyz; items first, root last
    first_child: np.ndarray  # int64 (n_nodes + 1): children of node g are first_child[g]:first_child[g + 1]
    n_items: int
    stack_size: int
    heap_size: int
    hint: np.ndarray  # int64 (180, 360): the arc nearest to the centre of each one-degree cell


class Coast:
    """Land polygons and coastline, indexed for fast vectorised queries.

    Parameters
    ----------
    world_land : array_like of shapely.Polygon
        Land used outside ``detail_box_deg`` (may extend into it; the part inside is ignored). Polygons must
        not overlap one another (the even-odd rule decides what is inside).
    detail_land : array_like of shapely.Polygon
        Land used inside ``detail_box_deg``, clipped to it.
    detail_box_deg : tuple of float
        ``(lon_min, lat_min, lon_max, lat_max)``, on multiples of 0.1 degree.

    Notes
    -----
    Use :meth:`default` for the vendored Natural Earth data; it is loaded once per process and shared (from
    the on-disk cache in a few tens of ms; built in about a second when the cache is missing or stale).
    Longitudes may lie outside [-180, 180] (they are wrapped); a NaN or infinite value, or a latitude outside
    [-90, 90] (AIS "not available" is 91), gives ``False`` / NaN.
    """

    _default: Coast | None = None
    _default_lock = threading.Lock()

    def __init__(self, world_land, detail_land, detail_box_deg=DETAIL_BOX_DEG):
        box = tuple(float(v) for v in detail_box_deg)
        cell_box = [v * K.CELLS_PER_DEG for v in box]
        if any(abs(v - round(v)) > 1e-9 for v in cell_box) or not (box[0] < box[2] and box[1] < box[3]):
            raise ValueError(f"detail_box_deg must be (lon_min, lat_min, lon_max, lat_max) on 0.1 degree, got {box}")
        self.detail_box_deg = box
        col0, col1 = (round((box[0] + 180) * K.CELLS_PER_DEG), round((box[2] + 180) * K.CELLS_PER_DEG))
        row0, row1 = (round((box[1] + 90) * K.CELLS_PER_DEG), round((box[3] + 90) * K.CELLS_PER_DEG))
        self._box_cells = (row0, row1, col0, col1)
        world = _polygon_edges(world_land)
        # Antarctica is closed along about 89.999 S: close it at the pole, so that the pole itself is land
        world[:, 1::2] = np.where(world[:, 1::2] < -89.99, -90.0, world[:, 1::2])
        detail = _polygon_edges(detail_land)
        world_cut, detail_cut = _world_cuts(world), _detail_cuts(detail, box)
        coast = np.concatenate([_clip_outside(world[~world_cut], box), detail[~detail_cut]])
        self._grid = _build_grid(world, world_cut, detail, detail_cut, coast, self._box_cells)
        self._tree = _build_tree(coast)
        self._finish()

    def _finish(self) -> None:
        """The state that is not built from the polygons (shared by ``__init__`` and the cache loader)."""
        self._classes: dict[float, np.ndarray] = {}
        self._classes_lock = threading.Lock()
        self.n_coast_segments = self._tree.n_items

    @classmethod
    def default(cls) -> Coast:
        """The coast from the vendored Natural Earth data, loaded on first use and then shared.

        Loaded with :meth:`cached_natural_earth` (from the on-disk cache when valid, else built and cached);
        thread-safe: concurrent first calls load it once.
        """
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls.cached_natural_earth()
            return cls._default

    @classmethod
    def natural_earth(cls) -> Coast:
        """Build a new :class:`Coast` from the files vendored in ``watchkeeper/data`` (see its PROVENANCE).

        Always builds (about a second) and neither reads nor writes the cache.
        """
        world, detail = natural_earth_land()
        return cls(world, detail)

    @classmethod
    def cached_natural_earth(cls, cache_dir: str | os.PathLike | None = None) -> Coast:
        """A new :class:`Coast` as :meth:`natural_earth` builds it, loaded from the cache file when valid.

        Parameters
        ----------
        cache_dir : path-like, optional
            Folder of the cache file. By default ``$WATCHKEEPER_CACHE_DIR`` if set, else
            ``watchkeeper/geo/__pycache__`` if writable, else ``$XDG_CACHE_HOME/watchkeeper`` (or
            ``~/.cache/watchkeeper``); the file is read from the first of these that holds a valid one.

        Notes
        -----
        A missing, unreadable, corrupt or stale file (another key: see the module docstring) is ignored: the
        coast is built and the file written atomically in the first folder that accepts it, or not at all
        (never an error). The result answers exactly as :meth:`natural_earth`'s.
        """
        folders = [Path(cache_dir)] if cache_dir is not None else _cache_dirs()
        try:
            key = _cache_key()
        except OSError:  # a source that cannot be read for hashing: build without the cache
            return cls.natural_earth()
        for folder in folders:
            coast = cls._load_cache(folder / _CACHE_FILE, key)
            if coast is not None:
                return coast
        coast = cls.natural_earth()
        for folder in folders:
            if coast._save_cache(folder, key):
                break
        return coast

    def _cache_arrays(self) -> dict[str, np.ndarray]:
        g, t = self._grid, self._tree
        return {
            "detail_box_deg": np.array(self.detail_box_deg, dtype=np.float64),
            "box_cells": np.array(self._box_cells, dtype=np.int64),
            "flags": g.flags, "cells": g.cells, "cell_start": g.cell_start, "cell_edges": g.cell_edges,
            "edges": g.edges, "seg": t.seg, "boxes": t.boxes, "first_child": t.first_child, "hint": t.hint,
            "tree_sizes": np.array([t.n_items, t.stack_size, t.heap_size], dtype=np.int64),
        }

    def _save_cache(self, folder: Path, key: str) -> bool:
        """Write the cache file into ``folder`` atomically; whether it was written."""
        tmp = folder / f".{_CACHE_FILE}.{os.getpid()}.{threading.get_ident()}.{os.urandom(4).hex()}.tmp"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # permissions as the umask allows
            with os.fdopen(fd, "wb") as f:
                np.savez(f, key=np.array(key), **self._cache_arrays())
            os.replace(tmp, folder / _CACHE_FILE)  # readers see the old file or the new one, never a part
            return True
        except Exception:  # noqa: BLE001 - a folder that does not take the file (read-only, full) is skipped
            return False
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)

    @classmethod
    def _load_cache(cls, path: Path, key: str) -> Coast | None:
        """The coast held in the cache file at ``path``, or None if it is missing, stale or not valid."""
        try:
            with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:  # f: closed even if np.load fails
                if set(z.files) != {"key", *_CACHE_LAYOUT}:
                    return None
                stored = z["key"]
                if stored.shape != () or stored.dtype.kind != "U" or str(stored) != key:
                    return None
                a = {name: z[name] for name in _CACHE_LAYOUT}
            coast = cls.__new__(cls)
            if not coast._restore(a):
                return None
            return coast
        except Exception:  # noqa: BLE001 - missing, truncated, corrupt (zip CRC), unreadable: rebuild
            return None

    def _restore(self, a: dict[str, np.ndarray]) -> bool:
        """Set the built state from cached arrays after checking their types and shapes; whether they passed."""
        for name, (dtype, ndim) in _CACHE_LAYOUT.items():
            v = a[name]
            if v.dtype != np.dtype(dtype) or v.ndim != ndim or not v.flags.c_contiguous or not v.flags.writeable:
                return False
        box, box_cells, sizes = a["detail_box_deg"], a["box_cells"], a["tree_sizes"]
        n_cells, n_edges, n_nodes = len(a["cells"]), len(a["edges"]), len(a["boxes"])
        n_items, stack_size, heap_size = (int(v) for v in sizes) if sizes.shape == (3,) else (-1, -1, -1)
        if not (
            box.shape == (4,) and box_cells.shape == (4,) and a["flags"].shape == (K.N_ROWS, K.N_COLS)
            and a["cell_start"].shape == (n_cells + 1,) and a["edges"].shape == (n_edges, 4)
            and a["seg"].shape == (n_items, K.SEG_FIELDS) and a["boxes"].shape == (n_nodes, 6)
            and a["first_child"].shape == (n_nodes + 1,) and a["hint"].shape == (180, 360)
            and 0 < n_items <= n_nodes and stack_size > 0 and heap_size > 0
        ):
            return False
        self.detail_box_deg = tuple(float(v) for v in box)
        self._box_cells = tuple(int(v) for v in box_cells)
        self._grid = _Grid(a["flags"], a["cells"], a["cell_start"], a["cell_edges"], a["edges"])
        self._tree = _Tree(a["seg"], a["boxes"], a["first_child"], n_items, stack_size, heap_size, a["hint"])
        self._finish()
        return True

    def __reduce__(self):
        # a Dask task that carries the default coast rebuilds (or reuses) it in the worker process
        if self is Coast._default:
            return (Coast.default, ())
        raise TypeError("only Coast.default() can be pickled; build other coasts in the worker")

    def in_detail_box(self, lat, lon) -> np.ndarray:
        """Whether each position uses the 1:10m detail (inside ``detail_box_deg``) rather than 1:50m."""
        lat, lon, shape = _flat(lat, lon)
        lon = (lon + 180.0) % 360.0 - 180.0
        lon_min, lat_min, lon_max, lat_max = self.detail_box_deg
        return ((lat >= lat_min) & (lat < lat_max) & (lon >= lon_min) & (lon < lon_max)).reshape(shape)

    def on_land(self, lat, lon, buffer_m: float = DEFAULT_BUFFER_M) -> np.ndarray:
        """Whether each position is on land by more than ``buffer_m`` from the coastline.

        Parameters
        ----------
        lat, lon : array_like
            Positions in degrees (any shape; broadcast together).
        buffer_m : float
            Positions on land but within this distance of the coastline count as sea (see
            :data:`DEFAULT_BUFFER_M` for the default). ``0`` gives the plain polygon test.

        Returns
        -------
        numpy.ndarray of bool
            The broadcast shape of ``lat`` and ``lon``; ``False`` for invalid positions.
        """
        buffer_m = float(buffer_m)
        if not (buffer_m >= 0.0 and math.isfinite(buffer_m)):
            raise ValueError(f"buffer_m must be a finite distance >= 0 in metres, got {buffer_m!r}")
        lat, lon, shape = _flat(lat, lon)
        out = np.empty(lat.size, dtype=np.bool_)
        if lat.size:
            g, t = self._grid, self._tree
            limit = float(km_to_chord(buffer_m / 1000.0))
            K.on_land_kernel(lat, lon, limit * limit, self._classes_for(buffer_m), g.flags, g.cells, g.cell_start,
                             g.cell_edges, g.edges, t.seg, t.boxes, t.first_child, t.n_items, t.stack_size, out)
        return out.reshape(shape)

    def distance_to_shore_km(self, lat, lon) -> np.ndarray:
        """Great-circle distance from each position to the nearest coastline, in km; negative on land.

        Parameters
        ----------
        lat, lon : array_like
            Positions in degrees (any shape; broadcast together).

        Returns
        -------
        numpy.ndarray of float64
            The broadcast shape of ``lat`` and ``lon``. Positive at sea, negative on land (its magnitude is
            then the distance inland), NaN for invalid positions. ``np.maximum(d, 0)`` gives the convention
            of rasters that put land at 0. Computed on a sphere of radius 6371.0088 km: within 0.5% of the
            ellipsoidal distance to the same coastline.
        """
        lat, lon, shape = _flat(lat, lon)
        chord2 = np.empty(lat.size, dtype=np.float64)
        if lat.size:
            g, t = self._grid, self._tree
            K.signed_chord2_kernel(lat, lon, g.flags, g.cells, g.cell_start, g.cell_edges, g.edges, t.seg, t.boxes,
                                   t.first_child, t.n_items, t.heap_size, t.hint, chord2)
        distance_km = np.copysign(chord_to_km(np.sqrt(np.abs(chord2))), chord2)
        return distance_km.reshape(shape)

    def _classes_for(self, buffer_m: float) -> np.ndarray:
        with self._classes_lock:
            classes = self._classes.get(buffer_m)
            if classes is None:
                # a hair more than the buffer, so that rounding can never leave a mixed cell classed as pure
                buffer_rad = (buffer_m / 1000.0) / EARTH_RADIUS_KM * (1 + 1e-9) + 1e-12
                classes = K.classify_cells(self._grid.flags, buffer_rad)
                if len(self._classes) >= 8:  # 6.5 MB each; callers use one or two buffers
                    self._classes.pop(next(iter(self._classes)))
                self._classes[buffer_m] = classes
            return classes


def on_land(lat, lon, buffer_m: float = DEFAULT_BUFFER_M) -> np.ndarray:
    """:meth:`Coast.on_land` on :meth:`Coast.default`."""
    return Coast.default().on_land(lat, lon, buffer_m)


def distance_to_shore_km(lat, lon) -> np.ndarray:
    """:meth:`Coast.distance_to_shore_km` on :meth:`Coast.default`."""
    return Coast.default().distance_to_shore_km(lat, lon)


# ------------------------------------------------------------------------------------------------ loading

_CACHE_LAYOUT = {  # name: (dtype, ndim) of each array in the cache file (besides "key")
    "detail_box_deg": ("float64", 1), "box_cells": ("int64", 1), "flags": ("uint8", 2), "cells": ("int64", 1),
    "cell_start": ("int64", 1), "cell_edges": ("int64", 1), "edges": ("float64", 2), "seg": ("float64", 2),
    "boxes": ("float64", 2), "first_child": ("int64", 1), "hint": ("int64", 2), "tree_sizes": ("int64", 1),
}


def _cache_dirs() -> list[Path]:
    """Folders for the coast cache, in order of preference (see :meth:`Coast.cached_natural_earth`)."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return [Path(env)]
    xdg = os.environ.get("XDG_CACHE_HOME")
    user = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return [Path(__file__).resolve().parent / "__pycache__", user / "watchkeeper"]


def _cache_key() -> str:
    """SHA-256 over everything the built coast depends on: inputs, code, layout and library versions."""
    h = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        h.update(f"{label}:{len(data)}:".encode())
        h.update(data)

    add("format", str(CACHE_FORMAT).encode())
    add("box", repr(tuple(float(v) for v in DETAIL_BOX_DEG)).encode())
    versions = f"numpy {np.__version__} shapely {shapely.__version__} geos {shapely.geos_version_string}"
    add("versions", versions.encode())
    for module in (__file__, K.__file__):
        add(f"code {Path(module).name}", Path(module).read_bytes())
    data = resources.files("watchkeeper").joinpath(_DATA)
    for name in (_WORLD_LAND, _WORLD_ISLANDS, _DETAIL_LAND, _DETAIL_ISLANDS):
        add(f"data {name}", data.joinpath(name).read_bytes())
    return h.hexdigest()



def natural_earth_land() -> tuple[np.ndarray, np.ndarray]:
    """The land polygons of :meth:`Coast.natural_earth`: ``(world, detail)`` arrays of shapely polygons.

    ``world`` is the 1:50m land plus the 1:10m minor islands that it does not touch (those it touches are
    mostly drawn inside it already; overlaps would break the even-odd rule and add false coastline inside
    land). ``detail`` is the 1:10m land and minor islands clipped to :data:`DETAIL_BOX_DEG` (disjoint).
    """
    world = _read_polygons(_WORLD_LAND)
    islands = _read_polygons(_WORLD_ISLANDS)
    shapely.prepare(world)
    touched = shapely.STRtree(islands).query(world, predicate="intersects")[1]
    islands = np.delete(islands, np.unique(touched))
    detail = np.concatenate([_read_polygons(_DETAIL_LAND), _read_polygons(_DETAIL_ISLANDS)])
    return np.concatenate([world, islands]), detail


def _flat(lat, lon):
    lat, lon = np.broadcast_arrays(np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64))
    return np.ascontiguousarray(lat).ravel(), np.ascontiguousarray(lon).ravel(), lat.shape


def _read_polygons(name: str) -> np.ndarray:
    """The polygons of a vendored GeoJSON FeatureCollection (multipolygons split into parts)."""
    raw = resources.files("watchkeeper").joinpath(_DATA, name).read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    geometries = shapely.get_parts(shapely.from_geojson(raw))
    polygons = shapely.get_parts(geometries)
    return polygons[shapely.get_type_id(polygons) == shapely.GeometryType.POLYGON]


def _polygon_edges(polygons) -> np.ndarray:
    """Every ring edge (exterior and holes) as rows ``x1, y1, x2, y2``, split to at most ``MAX_EDGE_DEG``.

    Splitting keeps each edge within 2 x 2 grid cells and makes the straight line in longitude/latitude (what
    the land test uses) and the great-circle arc (what the distance uses) differ by metres at most.
    """
    rings = shapely.get_rings(shapely.segmentize(np.asarray(polygons), MAX_EDGE_DEG))
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    edges = np.concatenate([xy[:-1], xy[1:]], axis=1)[same]
    return edges[(edges[:, 0] != edges[:, 2]) | (edges[:, 1] != edges[:, 3])]


def _world_cuts(edges: np.ndarray) -> np.ndarray:
    """Which world edges run along the antimeridian or the South Pole: where the data was cut, not coastline."""
    x1, y1, x2, y2 = edges.T
    on_antimeridian = (np.abs(x1) >= 180 - _ON_EDGE_DEG) & (np.abs(x2) >= 180 - _ON_EDGE_DEG)
    return on_antimeridian | ((y1 == -90.0) & (y2 == -90.0))


def _detail_cuts(edges: np.ndarray, box) -> np.ndarray:
    """Which detail edges run along the detail box (where the data was cut, not where the sea begins)."""
    x1, y1, x2, y2 = edges.T
    cut = np.zeros(len(edges), dtype=bool)
    for value, a, b in ((box[0], x1, x2), (box[2], x1, x2), (box[1], y1, y2), (box[3], y1, y2)):
        cut |= (np.abs(a - value) <= _ON_EDGE_DEG) & (np.abs(b - value) <= _ON_EDGE_DEG)
    return cut


def _clip_outside(edges: np.ndarray, box) -> np.ndarray:
    """The parts of the edges outside the box (edges crossing its boundary are clipped)."""
    x1, y1, x2, y2 = edges.T
    lon_min, lat_min, lon_max, lat_max = box
    touches = (
        (np.maximum(x1, x2) >= lon_min) & (np.minimum(x1, x2) <= lon_max)
        & (np.maximum(y1, y2) >= lat_min) & (np.minimum(y1, y2) <= lat_max)
    )
    lines = shapely.linestrings(edges[touches].reshape(-1, 2, 2))
    outside = shapely.get_parts(shapely.difference(lines, shapely.box(*box)))
    xy, part = shapely.get_coordinates(outside, return_index=True)
    same = part[1:] == part[:-1]
    return np.concatenate([edges[~touches], np.concatenate([xy[:-1], xy[1:]], axis=1)[same]])


def _cells_touched(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(edge index, cell id) for every grid cell that the bounding box of an edge overlaps."""
    cpd = K.CELLS_PER_DEG
    x1, y1, x2, y2 = edges.T
    lon_lo = (np.minimum(x1, x2) + 180) % 360 - 180  # 180 E is column 0, like -180
    lon_hi = (np.maximum(x1, x2) + 180) % 360 - 180
    lon_hi = np.where(lon_hi < lon_lo, lon_lo, lon_hi)
    r0 = np.clip(np.floor((np.minimum(y1, y2) + 90) * cpd), 0, K.N_ROWS - 1).astype(np.int64)
    r1 = np.clip(np.floor((np.maximum(y1, y2) + 90) * cpd), 0, K.N_ROWS - 1).astype(np.int64)
    c0 = np.clip(np.floor((lon_lo + 180) * cpd), 0, K.N_COLS - 1).astype(np.int64)
    c1 = np.clip(np.floor((lon_hi + 180) * cpd), 0, K.N_COLS - 1).astype(np.int64)
    n_rows = r1 - r0 + 1
    n_cols = c1 - c0 + 1
    count = n_rows * n_cols
    edge = np.repeat(np.arange(len(edges)), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    row = r0[edge] + k // n_cols[edge]
    col = c0[edge] + k % n_cols[edge]
    return edge, row * K.N_COLS + col


def _build_grid(world, world_cut, detail, detail_cut, coast, box_cells) -> _Grid:
    row0, row1, col0, col1 = box_cells
    flags = np.zeros((K.N_ROWS, K.N_COLS), dtype=np.uint8)
    K.rasterize_centres(*np.ascontiguousarray(world.T), 0, K.N_ROWS, 0, K.N_COLS, flags)
    flags[row0:row1, col0:col1] &= ~np.uint8(K.F_INSIDE)
    K.rasterize_centres(*np.ascontiguousarray(detail.T), row0, row1, col0, col1, flags)

    def in_box(cell):
        row, col = np.divmod(cell, K.N_COLS)
        return (row >= row0) & (row < row1) & (col >= col0) & (col < col1)

    # Each cell is tested against the edges of the data set that governs it. Cut edges lie on cell borders
    # (180 degrees, the pole, the box on 0.1 degree), so no path inside a cell crosses them: they are left out.
    we, wc = _cells_touched(world)
    de, dc = _cells_touched(detail)
    keep_w = ~in_box(wc) & ~world_cut[we]
    keep_d = in_box(dc) & ~detail_cut[de]
    edges = np.ascontiguousarray(np.concatenate([world, detail]))
    cell = np.concatenate([wc[keep_w], dc[keep_d]])
    edge = np.concatenate([we[keep_w], de[keep_d] + len(world)])
    order = np.lexsort((edge, cell))
    cell, edge = cell[order], edge[order]
    cells, first = np.unique(cell, return_index=True)
    flags.ravel()[cells] |= K.F_EDGES
    flags.ravel()[np.unique(_cells_touched(coast)[1])] |= K.F_COAST
    cell_start = np.append(first, len(cell)).astype(np.int64)
    return _Grid(flags, cells.astype(np.int64), cell_start, edge.astype(np.int64), edges)


def _part1by2(v: np.ndarray) -> np.ndarray:
    """Spread the low 10 bits of v to every third bit (for 3-D Morton codes)."""
    v = v.astype(np.uint32) & 0x3FF
    v = (v | (v << 16)) & 0x030000FF
    v = (v | (v << 8)) & 0x0300F00F
    v = (v | (v << 4)) & 0x030C30C3
    return (v | (v << 2)) & 0x09249249


def _build_tree(coast: np.ndarray) -> _Tree:
    """Packed tree (items in Morton order, ``NODE_SIZE`` children per node) over coastline arcs."""
    x1, y1, x2, y2 = coast.T
    lat = np.radians(np.concatenate([y1, y2]))
    lon = np.radians(np.concatenate([x1, x2]))
    xyz = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1)
    a, b = xyz[: len(coast)], xyz[len(coast) :]
    normal = np.cross(a, b)
    norm = np.linalg.norm(normal, axis=1)
    ok = norm > 1e-15  # a zero-length arc has no plane (it never wins over its neighbours' end points)
    a, b, normal, norm = a[ok], b[ok], normal[ok], norm[ok]
    normal /= norm[:, None]
    seg = np.concatenate([a, b, normal, np.cross(normal, a), np.cross(b, normal)], axis=1)
    # an arc bulges outward from its chord by its sagitta, 1 - cos(angle / 2)
    chord = np.linalg.norm(a - b, axis=1)
    sagitta = 1 - np.cos(np.arcsin(np.minimum(chord / 2, 1.0)))
    pad = (sagitta + 1e-12)[:, None]
    lo = np.minimum(a, b) - pad
    hi = np.maximum(a, b) + pad
    q = np.clip(((lo + hi) / 2 + 1) * 0.5 * 1023, 0, 1023).astype(np.uint32)
    code = _part1by2(q[:, 0]) | (_part1by2(q[:, 1]) << 1) | (_part1by2(q[:, 2]) << 2)
    order = np.argsort(code, kind="stable")
    seg = np.ascontiguousarray(seg[order])
    levels = [np.concatenate([lo[order], hi[order]], axis=1)]
    n_items = len(seg)
    first_child = [np.zeros(n_items, dtype=np.int64)]
    level_start = 0
    while len(levels[-1]) > 1:
        below = levels[-1]
        starts = np.arange(0, len(below), K.NODE_SIZE)
        levels.append(np.concatenate([np.minimum.reduceat(below[:, :3], starts, axis=0),
                                      np.maximum.reduceat(below[:, 3:], starts, axis=0)], axis=1))
        first_child.append(level_start + starts)
        level_start += len(below)
    boxes = np.ascontiguousarray(np.concatenate(levels))
    first_child = np.concatenate(first_child + [np.array([len(boxes) - 1])]).astype(np.int64)
    heap_size = len(boxes) - n_items + 1  # every internal node enters the heap at most once
    hint = np.empty((180, 360), dtype=np.int64)
    K.hint_kernel(seg, boxes, first_child, n_items, heap_size, hint)
    return _Tree(seg, boxes, first_child, n_items, len(levels) * K.NODE_SIZE + 1, heap_size, hint)
