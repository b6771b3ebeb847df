"""Land and distance to shore (watchkeeper.geo.coast) against known places and brute-force shapely references."""

from __future__ import annotations

import hashlib
import pickle
from importlib import resources

import numpy as np
import pyarrow as pa
import pytest
import shapely

from watchkeeper.geo.coast import DETAIL_BOX_DEG, Coast, distance_to_shore_km, natural_earth_land, on_land

EARTH_RADIUS_KM = 6371.0088
REF_SPACING_DEG = 0.005  # reference coastlines are sampled this densely (<= 0.56 km between samples)
REF_HALF_GAP_KM = REF_SPACING_DEG * 111.2 / 2


@pytest.fixture(scope="module")
def coast() -> Coast:
    return Coast.default()


@pytest.fixture(scope="module")
def land():
    return natural_earth_land()


def haversine_km(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def brute_force_km(lat, lon, coastline) -> np.ndarray:
    """Distance from each point to the nearest sample of the coastline (shapely lines), by brute force."""
    xy = shapely.get_coordinates(shapely.segmentize(coastline, REF_SPACING_DEG))
    out = np.empty(len(lat))
    for i in range(0, len(lat), 16):
        d = haversine_km(lat[i : i + 16, None], lon[i : i + 16, None], xy[None, :, 1], xy[None, :, 0])
        out[i : i + 16] = d.min(axis=1)
    return out


def check_against_reference(d_km, ref_km):
    """Exact arcs vs. samples of the same lines: never farther, and closer by at most the sampling gap."""
    assert np.all(np.abs(d_km) <= ref_km + 0.005)
    assert np.all(ref_km <= np.sqrt(d_km**2 + REF_HALF_GAP_KM**2) + 0.005)


# ------------------------------------------------------------------------------------------- known places

SEA = {
    "mid Sea of Japan": (40.0, 135.0),
    "Vladivostok, Golden Horn bay": (43.11, 131.89),
    "Rajin harbour": (42.24, 130.30),
    "Suez canal queue, Gulf of Suez": (29.9, 32.55),
    "North Pole": (90.0, 0.0),
}
LAND = {
    "Pyongyang": (39.03, 125.75),
    "Moscow": (55.75, 37.62),
    "central Hokkaido": (43.5, 142.8),
    "Chukotka at the antimeridian": (67.0, 179.99),
    "South Pole": (-90.0, 0.0),
}


@pytest.mark.parametrize("name", SEA)
def test_known_sea_points(coast, name):
    lat, lon = SEA[name]
    assert not coast.on_land(lat, lon)


@pytest.mark.parametrize("name", LAND)
def test_known_land_points(coast, name):
    lat, lon = LAND[name]
    assert coast.on_land(lat, lon)
    assert coast.distance_to_shore_km(lat, lon) < -10


def test_harbours_are_land_without_the_buffer(coast):
    # Natural Earth 1:10m fills these harbours in: the buffer is what makes them sea
    lat, lon = np.array([SEA["Vladivostok, Golden Horn bay"], SEA["Rajin harbour"]]).T
    assert coast.on_land(lat, lon, buffer_m=0).all()
    assert not coast.on_land(lat, lon).any()
    assert np.all((coast.distance_to_shore_km(lat, lon) > -1.0) & (coast.distance_to_shore_km(lat, lon) < 0))


def test_open_sea_distances(coast):
    # the middle of the Sea of Japan is far from every shore; the Gulf of Suez at its head is narrow
    assert 250 < coast.distance_to_shore_km(40.0, 135.0) < 400
    assert 1 < coast.distance_to_shore_km(29.9, 32.55) < 15


def test_module_functions_use_the_default_coast():
    assert on_land(39.03, 125.75) and not on_land(40.0, 135.0)
    assert distance_to_shore_km(40.0, 135.0) == Coast.default().distance_to_shore_km(40.0, 135.0)


# --------------------------------------------------------------------------------- brute-force references


def near_coast_points(rng, polygons, box, n, spread_deg):
    """Points scattered around the vertices of the polygons inside a box (land and sea)."""
    xy = shapely.get_coordinates(shapely.boundary(polygons))
    lon_min, lat_min, lon_max, lat_max = box
    xy = xy[(xy[:, 0] > lon_min) & (xy[:, 0] < lon_max) & (xy[:, 1] > lat_min) & (xy[:, 1] < lat_max)]
    pick = xy[rng.integers(0, len(xy), n)]
    return pick[:, 1] + rng.uniform(-spread_deg, spread_deg, n), pick[:, 0] + rng.uniform(-spread_deg, spread_deg, n)


def test_detail_distances_and_land_match_brute_force(coast, land):
    rng = np.random.default_rng(7)
    detail = shapely.union_all(land[1])
    # the coastline is the land's boundary less the detail box, along which the data was cut
    cut = shapely.buffer(shapely.boundary(shapely.box(*DETAIL_BOX_DEG)), 1e-7)
    coastline = shapely.difference(shapely.boundary(detail), cut)
    inner = (117.0, 32.0, 143.0, 48.0)
    lat, lon = near_coast_points(rng, detail, inner, 150, 0.3)
    lat = np.concatenate([lat, rng.uniform(inner[1], inner[3], 50)])
    lon = np.concatenate([lon, rng.uniform(inner[0], inner[2], 50)])
    ref = brute_force_km(lat, lon, coastline)
    # keep points whose nearest coast is certainly inside the box (the 1:50m world lies beyond its edges)
    to_box_edge_km = np.minimum.reduce([lat - 30, 50 - lat, (lon - 115) * 0.64, (145 - lon) * 0.64]) * 111.2
    keep = ref < to_box_edge_km
    lat, lon, ref = lat[keep], lon[keep], ref[keep]
    assert keep.sum() > 150 and ref.max() > 50 and ref.min() < 1

    d = coast.distance_to_shore_km(lat, lon)
    check_against_reference(d, ref)
    inside = shapely.contains_xy(detail, lon, lat)
    assert np.array_equal(d < 0, inside)
    for buffer_m in (0.0, 1000.0, 5000.0):
        clear = np.abs(ref - buffer_m / 1000) > REF_HALF_GAP_KM + 0.01
        expected = inside & (ref > buffer_m / 1000)
        assert np.array_equal(coast.on_land(lat, lon, buffer_m)[clear], expected[clear]), buffer_m


def test_antimeridian_distances_match_brute_force(coast, land):
    # Fiji straddles 180 degrees: the nearest shore is often on the other side of the line
    rng = np.random.default_rng(11)
    lat = rng.uniform(-19.5, -15.0, 120)
    lon = rng.uniform(176.5, 183.5, 120)  # past 180 on purpose: longitudes wrap
    world = land[0]
    window = world[shapely.intersects(world, shapely.box(170, -25, 180, -10))
                   | shapely.intersects(world, shapely.box(-180, -25, -170, -10))]
    # the 180-degree meridian is where the data was cut, not coastline
    cut = shapely.buffer(shapely.multilinestrings([[(180, -90), (180, 90)], [(-180, -90), (-180, 90)]]), 1e-7)
    ref = brute_force_km(lat, lon, shapely.difference(shapely.boundary(window), cut))
    d = coast.distance_to_shore_km(lat, lon)
    check_against_reference(d, ref)
    wrapped = (lon + 180) % 360 - 180
    assert np.array_equal(d < 0, shapely.contains_xy(shapely.union_all(window), wrapped, lat))
    assert np.allclose(d, coast.distance_to_shore_km(lat, wrapped), rtol=0, atol=1e-9)


def test_antimeridian_and_poles_have_no_false_coast(coast):
    # on either side of 180 degrees in Chukotka, and all around each pole, the answer is the same
    east = coast.distance_to_shore_km(np.linspace(65.5, 68.5, 7), 179.9999)
    west = coast.distance_to_shore_km(np.linspace(65.5, 68.5, 7), -179.9999)
    assert np.all(east < -5) and np.allclose(east, west, atol=0.05)
    lons = np.linspace(-180, 180, 13)
    north = coast.distance_to_shore_km(90.0, lons)
    south = coast.distance_to_shore_km(-90.0, lons)
    assert np.all(north > 500) and np.ptp(north) < 1e-6
    assert np.all(south < -300) and np.ptp(south) < 1e-6
    assert not coast.on_land(90.0, lons).any() and coast.on_land(-90.0, lons).all()


def test_on_land_agrees_with_signed_distance(coast):
    # the fast cell classes must give exactly what the exact distance says
    rng = np.random.default_rng(3)
    z = rng.uniform(-1, 1, 60_000)
    lat = np.concatenate([np.degrees(np.arcsin(z)), rng.uniform(30, 50, 60_000)])
    lon = np.concatenate([rng.uniform(-180, 180, 60_000), rng.uniform(115, 145, 60_000)])
    d = coast.distance_to_shore_km(lat, lon)
    for buffer_m in (0.0, 1000.0, 20_000.0):
        decided = np.abs(d + buffer_m / 1000) > 1e-6
        got = coast.on_land(lat, lon, buffer_m)
        assert np.array_equal(got[decided], (d < -buffer_m / 1000)[decided]), buffer_m
    assert 0.2 < (d < 0).mean() < 0.6


# ------------------------------------------------------------------------------------------- array contract


def test_shapes_dtypes_and_broadcasting(coast):
    assert coast.on_land(40.0, 135.0).shape == () and coast.on_land(40.0, 135.0).dtype == np.bool_
    assert coast.distance_to_shore_km(40.0, 135.0).dtype == np.float64
    lat = np.array([[39.03], [40.0], [55.75]])
    lon = np.array([[125.75, 135.0, 37.62, 0.0]])
    assert coast.on_land(lat, lon).shape == (3, 4)
    assert coast.distance_to_shore_km(lat, lon).shape == (3, 4)
    assert coast.on_land([], []).shape == (0,)
    assert coast.distance_to_shore_km(np.empty((0, 2)), 1.0).shape == (0, 2)
    assert coast.on_land(pa.array([39.03, None]), pa.array([125.75, 125.75])).tolist() == [True, False]
    lat_in = np.array([39.03, 40.0])
    coast.on_land(lat_in, [125.75, 135.0])
    assert np.array_equal(lat_in, [39.03, 40.0])  # the caller's arrays are not touched


def test_invalid_positions_give_false_and_nan(coast):
    lat = np.array([np.nan, 91.0, -91.0, 39.03, 39.03, 39.03, np.inf])
    lon = np.array([125.75, 125.75, 125.75, np.nan, np.inf, 125.75 - 360, 0.0])
    assert coast.on_land(lat, lon).tolist() == [False] * 5 + [True, False]
    d = coast.distance_to_shore_km(lat, lon)
    assert np.isnan(d[:5]).all() and d[5] < 0 and np.isnan(d[6])


def test_buffer_must_be_a_distance(coast):
    with pytest.raises(ValueError, match="buffer_m"):
        coast.on_land(40.0, 135.0, buffer_m=-1)
    with pytest.raises(ValueError, match="buffer_m"):
        coast.on_land(40.0, 135.0, buffer_m=float("nan"))


def test_larger_buffers_give_less_land(coast):
    rng = np.random.default_rng(5)
    lat, lon = rng.uniform(30, 50, 50_000), rng.uniform(115, 145, 50_000)
    small, default, large = (coast.on_land(lat, lon, b) for b in (0, 1000, 10_000))
    assert np.all(default <= small) and np.all(large <= default) and large.sum() < default.sum() < small.sum()


def test_default_coast_is_shared_and_pickles_by_reference(coast):
    assert Coast.default() is coast
    assert pickle.loads(pickle.dumps(coast)) is coast
    assert coast.in_detail_box([40.0, 40.0], [135.0, 150.0]).tolist() == [True, False]


def test_vendored_files_match_their_provenance():
    data = resources.files("watchkeeper").joinpath("data")
    provenance = data.joinpath("PROVENANCE-natural-earth.md").read_text()
    names = [p.name for p in data.iterdir() if p.name.startswith("ne_")]
    assert len(names) == 4
    for name in names:
        assert hashlib.sha256(data.joinpath(name).read_bytes()).hexdigest() in provenance, name
