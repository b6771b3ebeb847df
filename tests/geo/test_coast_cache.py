"""The on-disk cache of the built coast (Coast.cached_natural_earth): identical answers, and never an error."""

from __future__ import annotations

import threading
import warnings

import numba
import numpy as np
import pytest

from watchkeeper.geo import coast as coast_module
from watchkeeper.geo.coast import CACHE_DIR_ENV, Coast

CACHE_FILE = "coast-cache.npz"

# (lat, lon) centres of coastal points, jittered by up to 0.3 degree in sample_points
COASTAL = {
    "Vladivostok": (43.1, 131.9),
    "Rajin": (42.25, 130.3),
    "Suez canal": (30.5, 32.35),
    "Hamburg": (53.55, 9.97),
    "Elbe mouth": (53.9, 8.7),
    "Fiji, across the antimeridian": (-17.0, 180.0),
}


@pytest.fixture(scope="module")
def fresh() -> Coast:
    """A coast built from the GeoJSON, without the cache."""
    return Coast.natural_earth()


@pytest.fixture
def builds(monkeypatch, fresh):
    """Count the builds of Coast.cached_natural_earth, which hands out the module's fresh coast (no 1 s build)."""
    calls = []

    def fake_build(cls):
        calls.append(1)
        return fresh

    monkeypatch.setattr(Coast, "natural_earth", classmethod(fake_build))
    return calls


def sample_points() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20261127)
    n = 3000
    lat = [np.degrees(np.arcsin(rng.uniform(-1, 1, n))), rng.uniform(30, 50, n)]  # global, detail box
    lon = [rng.uniform(-180, 180, n), rng.uniform(115, 145, n)]
    for c_lat, c_lon in COASTAL.values():
        lat.append(c_lat + rng.uniform(-0.3, 0.3, 500))
        lon.append(c_lon + rng.uniform(-0.3, 0.3, 500))
    lat.append(np.array([np.nan, 91.0, 0.0, 90.0, -90.0, 43.1]))  # invalid, poles, wrapped longitude
    lon.append(np.array([0.0, 0.0, np.inf, 0.0, 0.0, 131.9 - 360.0]))
    return np.concatenate(lat), np.concatenate(lon)


def assert_same(a: Coast, b: Coast) -> None:
    """Bit for bit the same state and the same answers."""
    arrays_a, arrays_b = a._cache_arrays(), b._cache_arrays()
    assert arrays_a.keys() == arrays_b.keys()
    for name, va in arrays_a.items():
        vb = arrays_b[name]
        assert va.dtype == vb.dtype and va.shape == vb.shape, name
        assert va.tobytes() == vb.tobytes(), name
        assert numba.typeof(va) == numba.typeof(vb), name  # same compiled kernels, no new specialisation
    assert a.detail_box_deg == b.detail_box_deg and a._box_cells == b._box_cells
    assert a.n_coast_segments == b.n_coast_segments
    assert (a._tree.n_items, a._tree.stack_size, a._tree.heap_size) == (
        b._tree.n_items, b._tree.stack_size, b._tree.heap_size)
    lat, lon = sample_points()
    for buffer_m in (0.0, 1000.0, 20000.0):
        land_a, land_b = a.on_land(lat, lon, buffer_m), b.on_land(lat, lon, buffer_m)
        assert land_a.dtype == land_b.dtype == np.bool_
        assert np.array_equal(land_a, land_b)
    d_a, d_b = a.distance_to_shore_km(lat, lon), b.distance_to_shore_km(lat, lon)
    assert d_a.tobytes() == d_b.tobytes()
    with np.errstate(invalid="ignore"):  # the infinite longitude
        assert np.array_equal(a.in_detail_box(lat, lon), b.in_detail_box(lat, lon))


def no_temp_files(folder) -> bool:
    return [p.name for p in folder.iterdir()] == [CACHE_FILE]


def test_cached_load_equals_fresh_build(tmp_path, monkeypatch, fresh):
    built = Coast.cached_natural_earth(tmp_path)  # no file yet: builds (for real) and writes it
    assert no_temp_files(tmp_path)
    assert_same(built, fresh)

    def no_build(cls):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(Coast, "natural_earth", classmethod(no_build))
    loaded = Coast.cached_natural_earth(tmp_path)
    assert loaded is not built
    assert_same(loaded, fresh)
    lat, lon = sample_points()
    assert np.isnan(loaded.distance_to_shore_km(lat, lon)[-6:-4]).all()
    assert not loaded.on_land(lat, lon)[-6:-4].any()


@pytest.mark.parametrize("damage", ["garbage", "empty", "truncated", "flipped bytes", "folder"])
def test_corrupt_cache_is_rebuilt_silently(tmp_path, builds, fresh, damage):
    Coast.cached_natural_earth(tmp_path)
    assert len(builds) == 1
    path = tmp_path / CACHE_FILE
    raw = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"not a cache" * 100)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "flipped bytes":  # inside the array data: caught by the zip CRC
        middle = len(raw) // 2
        path.write_bytes(raw[:middle] + bytes(b ^ 0xFF for b in raw[middle : middle + 64]) + raw[middle + 64 :])
    else:
        path.unlink()
        path.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        coast = Coast.cached_natural_earth(tmp_path)
    if damage == "folder":  # cannot be replaced: built, and not cached
        assert len(builds) == 2
        return
    assert len(builds) == 2
    assert_same(coast, fresh)
    assert no_temp_files(tmp_path)
    Coast.cached_natural_earth(tmp_path)  # the file was rewritten and is valid again
    assert len(builds) == 2


def test_wrong_layout_with_right_key_is_rebuilt(tmp_path, builds, fresh):
    Coast.cached_natural_earth(tmp_path)
    arrays = fresh._cache_arrays()
    key = coast_module._cache_key()
    bad = [
        {**arrays, "flags": arrays["flags"][:-1]},  # wrong shape
        {**arrays, "seg": arrays["seg"].astype(np.float32)},  # wrong dtype
        {**arrays, "tree_sizes": np.array([10**9, 57, 21913])},  # inconsistent sizes
        {k: v for k, v in arrays.items() if k != "hint"},  # missing array
        {**arrays, "extra": np.zeros(3)},  # unexpected array
    ]
    for i, case in enumerate(bad):
        np.savez(tmp_path / CACHE_FILE, key=np.array(key), **case)
        assert_same(Coast.cached_natural_earth(tmp_path), fresh)
        assert len(builds) == 2 + i
    np.savez(tmp_path / CACHE_FILE, key=np.array(key, dtype=object), **arrays)  # a pickle: refused, rebuilt
    Coast.cached_natural_earth(tmp_path)
    assert len(builds) == 2 + len(bad)


@pytest.mark.parametrize("change", ["format", "detail box", "data file", "library version"])
def test_changed_key_rebuilds(tmp_path, monkeypatch, builds, change):
    Coast.cached_natural_earth(tmp_path)
    Coast.cached_natural_earth(tmp_path)
    assert len(builds) == 1
    key = coast_module._cache_key()
    if change == "format":
        monkeypatch.setattr(coast_module, "CACHE_FORMAT", coast_module.CACHE_FORMAT + 1)
    elif change == "detail box":
        monkeypatch.setattr(coast_module, "DETAIL_BOX_DEG", (115.0, 30.0, 145.0, 50.1))
    elif change == "data file":  # another file's bytes in place of one of the inputs
        monkeypatch.setattr(coast_module, "_DETAIL_ISLANDS", coast_module._WORLD_ISLANDS)
    else:
        monkeypatch.setattr(coast_module.np, "__version__", "0.0.0")
    assert coast_module._cache_key() != key
    Coast.cached_natural_earth(tmp_path)
    assert len(builds) == 2
    Coast.cached_natural_earth(tmp_path)  # rewritten with the new key
    assert len(builds) == 2
    monkeypatch.undo()
    assert coast_module._cache_key() == key


def test_cache_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "env"))
    assert coast_module._cache_dirs() == [tmp_path / "env"]
    monkeypatch.delenv(CACHE_DIR_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    package_pycache, user = coast_module._cache_dirs()
    assert package_pycache.name == "__pycache__" and package_pycache.parent.name == "geo"
    assert user == tmp_path / "xdg" / "watchkeeper"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert coast_module._cache_dirs()[1] == tmp_path / "home" / ".cache" / "watchkeeper"


def test_environment_variable_and_fallback(tmp_path, monkeypatch, builds):
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "env" / "nested"))
    Coast.cached_natural_earth()
    assert no_temp_files(tmp_path / "env" / "nested")
    # an unwritable first folder (a path below a file) falls through to the next; reading looks in both
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    folders = [blocker / "cache", tmp_path / "user"]
    monkeypatch.setattr(coast_module, "_cache_dirs", lambda: folders)
    Coast.cached_natural_earth()
    assert len(builds) == 2 and no_temp_files(tmp_path / "user")
    Coast.cached_natural_earth()
    assert len(builds) == 2
    # nowhere writable: built in memory, no error
    folders[1] = blocker / "user"
    Coast.cached_natural_earth()
    Coast.cached_natural_earth()
    assert len(builds) == 4


def test_concurrent_loads_share_one_valid_file(tmp_path, builds, fresh):
    results, errors = [], []

    def load():
        try:
            results.append(Coast.cached_natural_earth(tmp_path))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 4
    assert no_temp_files(tmp_path)
    n = len(builds)
    assert_same(Coast.cached_natural_earth(tmp_path), fresh)
    assert len(builds) == n


def test_default_is_shared_and_pickles(monkeypatch):
    coast = Coast.default()
    assert Coast.default() is coast
    assert coast.__reduce__() == (Coast.default, ())
