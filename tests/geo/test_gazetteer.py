"""The port and anchorage gazetteer: the vendored table, spatial queries, names, ports of interest."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from watchkeeper.errors import ConfigError
from watchkeeper.geo.gazetteer import Gazetteer, load_gazetteer
from watchkeeper.geo.names import normalize_locode, normalize_name

R_KM = 6371.0088


def brute_haversine_km(lat1, lon1, lat2, lon2):
    """Reference distances written out here, independent of watchkeeper.geo.sphere."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * R_KM * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


def unit(lat, lon):
    la, lo = np.radians(lat), np.radians(lon)
    return np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)


def brute_nearest(gaz, lat, lon):
    """Index and distance of the nearest place, by comparing every place (straight-line distance between unit
    vectors orders places as the great-circle distance does); ties: lowest index."""
    px, py, pz = unit(gaz.lat, gaz.lon)
    qx, qy, qz = unit(lat, lon)
    out_i = np.empty(lat.size, np.int64)
    for s in range(0, lat.size, 256):
        sl = slice(s, s + 256)
        d2 = (px - qx[sl, None]) ** 2 + (py - qy[sl, None]) ** 2 + (pz - qz[sl, None]) ** 2
        out_i[sl] = d2.argmin(axis=1)
    return out_i, brute_haversine_km(lat, lon, gaz.lat[out_i], gaz.lon[out_i])


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return load_gazetteer()


@pytest.fixture(scope="module")
def ports(gaz) -> Gazetteer:
    return gaz.subset(gaz.table["kind"].to_numpy(zero_copy_only=False) == "port")


def small(lats, lons, **cols) -> Gazetteer:
    n = len(lats)
    return Gazetteer(pa.table({"port_id": [f"t:{i}" for i in range(n)], "name": [f"P{i}" for i in range(n)],
                               "lat": lats, "lon": lons, **cols}))


# ----------------------------------------------------------------------------------------------- the table
# Positions stated independently of the World Port Index (which the gazetteer uses for these ports): the issue
# text (Rajin, Vostochny), UN/LOCODE entries (Chongjin, Vladivostok, Nakhodka, Posyet, Zarubino, Slavyanka),
# Wikipedia (Nampo 38°44'N 125°24'E; Dunay 42°52'49"N 132°20'15"E).
CORRIDOR = [
    ("Rajin", "KP", 42.24, 130.30, 3.0),
    ("Chongjin", "KP", 41.783, 129.821, 5.0),
    ("Nampo", "KP", 38.733, 125.400, 5.0),
    ("Vladivostok", "RU", 43.115, 131.886, 5.0),
    ("Vostochny", "RU", 42.74, 133.05, 5.0),
    ("Nakhodka", "RU", 42.825, 132.893, 5.0),
    ("Posyet", "RU", 42.651, 130.805, 5.0),
    ("Zarubino", "RU", 42.617, 131.083, 5.0),
    ("Slavyanka", "RU", 42.861, 131.392, 5.0),
    ("Dunai", "RU", 42.8803, 132.3375, 3.0),
]


@pytest.mark.parametrize("name,cc,lat,lon,tol_km", CORRIDOR, ids=[c[0] for c in CORRIDOR])
def test_corridor_port_is_present_where_it_should_be(gaz, ports, name, cc, lat, lon, tol_km):
    rows = gaz.find(name, cc, kind="port")
    assert rows.size, f"{name} missing"
    best = rows[0]
    assert brute_haversine_km(lat, lon, gaz.lat[best], gaz.lon[best]) <= tol_km
    # and a position at the stated coordinates finds a port of that name within 5 km
    i = ports.within([lat], [lon], 5.0)[0]
    assert i >= 0 and normalize_name(name) in {normalize_name(n) for n in [
        ports.table["name"][i].as_py(), *(ports.table["alt_names"][i].as_py() or "").split("|")]}


def test_dunai_is_a_manual_entry_with_its_source(gaz):
    row = gaz.row(gaz.find("Dunai")[0])
    assert row["source"] == "manual" and row["country_iso2"] == "RU"
    assert "wikipedia" in row["source_ref"].lower() and "Fokino" in row["source_ref"]
    assert gaz.index_of("manual:dunai") == gaz.find("dunay")[0]


def test_table_is_consistent(gaz):
    t = gaz.table
    ids = t["port_id"].to_pylist()
    assert len(set(ids)) == len(ids)
    assert set(t["kind"].unique().to_pylist()) == {"port", "anchorage"}
    assert set(t["source"].unique().to_pylist()) == {"wpi", "unlocode", "gfw", "manual"}
    assert np.all(np.abs(gaz.lat) <= 90) and np.all((gaz.lon >= -180) & (gaz.lon < 180))
    src = np.asarray(t["source"].to_pylist())
    kind = np.asarray(t["kind"].to_pylist())
    assert np.all((kind == "anchorage") == (src == "gfw"))
    locodes = np.asarray([c or "" for c in t["locode"].to_pylist()], dtype=object)
    assert all(normalize_locode(c) == c for c in locodes if c)
    # a LOCODE is shared only by terminals of one port (the WPI lists some separately)
    codes, counts = np.unique(locodes[locodes != ""], return_counts=True)
    for code in codes[counts > 1]:
        rows = np.flatnonzero(locodes == code)
        assert brute_haversine_km(gaz.lat[rows][:, None], gaz.lon[rows][:, None], gaz.lat[rows][None],
                                  gaz.lon[rows][None]).max() <= 2 * 50.0, code
    # GFW cells are clustered into far fewer points, each close to its cells
    extent = t["extent_km"].to_numpy()
    assert np.all(extent[src == "gfw"] <= 2 * 2.0) and np.all(extent[src != "gfw"] == 0)
    assert np.all(np.char.str_len(np.asarray(t["country_iso2"].to_pylist(), dtype=str)) == 2)


def test_wpi_ports_carry_their_locode_and_unlocode_names(gaz):
    i = gaz.by_locode("KP RJN")
    assert gaz.table["port_id"][i].as_py() == "wpi:60510"
    assert {"Rashin", "Rajin", "Rason"} <= set(gaz.table["alt_names"][i].as_py().split("|"))
    assert gaz.by_locode("kp-rjn") == i == gaz.by_locode("KPRJN")
    assert gaz.by_locode("RUVYP") == gaz.find("Vostochny", "RU", "port")[0]
    assert gaz.by_locode("ZZZZZ") == -1 and gaz.by_locode("") == -1


# ------------------------------------------------------------------------------------------ spatial queries
def random_points(rng, n):
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon = rng.uniform(-180, 180, n)
    return lat, lon


def test_nearest_matches_brute_force_worldwide_antimeridian_and_poles(gaz):
    rng = np.random.default_rng(7)
    lat_g, lon_g = random_points(rng, 300)
    lat_a = rng.uniform(-70, 70, 200)  # straddling the antimeridian, written both ways
    lon_a = np.where(rng.random(200) < 0.5, rng.uniform(179, 180, 200), rng.uniform(-180, -179, 200))
    lat_p = np.r_[rng.uniform(80, 90, 50), rng.uniform(-90, -75, 50)]
    lon_p = rng.uniform(-180, 180, 100)
    # positions close to places (where detectors ask most), and across 180 near Fiji and Chukotka
    k = np.r_[rng.integers(0, len(gaz), 200), np.flatnonzero(np.abs(gaz.lon) > 178)]
    lat_n = np.clip(gaz.lat[k] + rng.normal(0, 0.03, k.size), -90, 90)
    lon_n = gaz.lon[k] + rng.normal(0, 0.03, k.size)
    lat = np.r_[lat_g, lat_a, lat_p, lat_n]
    lon = np.r_[lon_g, lon_a, lon_p, lon_n]
    idx, dist = gaz.nearest(lat, lon)
    ref_i, ref_d = brute_nearest(gaz, lat, lon)
    np.testing.assert_allclose(dist, ref_d, rtol=0, atol=1e-6)
    # same place, or another at the same distance
    same = idx == ref_i
    np.testing.assert_allclose(brute_haversine_km(lat[~same], lon[~same], gaz.lat[idx[~same]], gaz.lon[idx[~same]]),
                               ref_d[~same], atol=1e-6)
    # within(radius) is the nearest place when it is within the radius
    for radius_km in (3.0, 50.0, 500.0):
        w = gaz.within(lat, lon, radius_km)
        assert np.array_equal(w >= 0, ref_d <= radius_km)
        np.testing.assert_allclose(dist[w >= 0], ref_d[w >= 0], atol=1e-6)
    # longitudes outside [-180, 180) are the same meridians
    _, dist2 = gaz.nearest(lat_a, lon_a + 360.0)
    np.testing.assert_allclose(dist2, dist[300:500], atol=1e-6)


def test_antimeridian_and_pole_on_a_small_gazetteer():
    g = small([0.0, 0.0, 0.0, 89.9, 89.9], [179.99, -179.99, 170.0, 0.0, 180.0])
    i, d = g.nearest([0.0, 0.0, 0.0], [-179.999, 179.999, 540.0])
    assert i.tolist() == [1, 0, 0]  # across the line, not 10 degrees away
    np.testing.assert_allclose(d[:2], brute_haversine_km(0, 179.999, 0, 179.99), atol=1e-9)
    # near the pole, longitudes converge: lon 170 at 89.99 is closest to the point at lon 180
    i, d = g.nearest([89.99], [170.0])
    assert i[0] == 4 and d[0] < 13


def test_bounds_ties_bad_input_and_shapes():
    g = small([10.0, 10.0, 11.0], [20.0, 20.0, 20.0])
    assert g.nearest([10.0], [20.0])[0][0] == 0  # exact tie: lowest index
    d_km = brute_haversine_km(10.5, 20.0, 11.0, 20.0)
    assert g.within([10.6], [20.0], d_km)[0] == 2
    # the bound is inclusive: a place exactly radius_km away counts
    assert g.within([11.0 - 1.0], [20.0], brute_haversine_km(10.0, 20.0, 11.0, 20.0))[0] in (0, 1)
    i, d = g.nearest([np.nan, 91.0, 10.0, -91.0], [0.0, 20.0, np.nan, 0.0])
    assert i.tolist() == [-1, -1, -1, -1] and np.all(np.isnan(d))
    i, d = g.nearest(np.full((2, 3), 10.0), np.full((2, 3), 20.0))
    assert i.shape == d.shape == (2, 3)
    i, d = g.nearest([], [])
    assert i.size == 0 and d.size == 0
    assert g.within([50.0], [20.0], 10.0)[0] == -1
    with pytest.raises(ValueError):
        g.within([0.0], [0.0], -1.0)
    empty = small([], [])
    assert empty.nearest([1.0], [2.0])[0][0] == -1


def test_subset_queries_only_those_rows(gaz):
    poi2 = gaz.subset(gaz.tier == 2)
    i, d = poi2.nearest([42.24], [130.30])  # from Rajin
    assert poi2.table["port_id"][i[0]].as_py() == "manual:dunai" and 150 < d[0] < 250


# ------------------------------------------------------------------------------------------------- names
def test_lookup_ignores_case_accents_punctuation_and_knows_aliases(gaz):
    najin = gaz.index_of("wpi:60510")
    for name in ("Najin", "rajin", "RASON", "Rajin (Najin)", "Rashin", " najin "):
        assert najin in gaz.find(name).tolist(), name
    assert np.array_equal(gaz.find("ch'ongjin"), gaz.find("CHONGJIN"))
    assert gaz.find("Pos’yet", "RU", "port").size and gaz.find("Songrim", "KP").size
    assert gaz.find("Дунай")[0] == gaz.index_of("manual:dunai")
    assert gaz.find("Najin", "RU").size == 0 and gaz.find("no such port").size == 0
    vv = gaz.find("Vladivostok", "RU")
    kinds = set(gaz.table["kind"].take(pa.array(vv)).to_pylist())
    assert kinds == {"port", "anchorage"} and gaz.table["source"][vv[0]].as_py() == "wpi"  # best source first
    assert normalize_name("São Tomé") == "sao tome"


# ------------------------------------------------------------------------------------- ports of interest
def test_default_ports_of_interest(gaz):
    kp = np.asarray(gaz.table["country_iso2"].to_pylist()) == "KP"
    assert kp.sum() >= 10 and np.all(gaz.tier[kp] == 1)
    assert gaz.tier[gaz.index_of("manual:dunai")] == 2
    for name in ("Vostochny", "Vladivostok", "Nakhodka", "Posyet", "Zarubino", "Slavyanka"):
        assert np.all(gaz.tier[gaz.find(name, "RU")] == 3), name
    assert "munitions" in gaz.reason[gaz.index_of("wpi:60510")]
    poi = gaz.ports_of_interest()
    assert poi.num_rows == int(np.count_nonzero(gaz.tier))
    assert all(poi["reason"].to_pylist()) and all(poi["interest_source"].to_pylist())
    assert poi["tier"].to_pylist() == sorted(poi["tier"].to_pylist())
    assert gaz.ports_of_interest(tiers=2)["port_id"].to_pylist() == ["manual:dunai"]
    assert set(gaz.tier_labels) == {1, 2, 3}


def write(tmp_path, text, name="poi.toml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_user_file_adds_overrides_and_replaces(gaz, tmp_path):
    p = write(tmp_path, """
[[ports]]
name = "Bolshoy Kamen"
lat = 43.11
lon = 132.35
country_iso2 = "RU"
tier = 2
reason = "Shipyard next to the Pacific Fleet bases"

[[ports]]
name = "Vladivostok"
country_iso2 = "RU"
tier = 0

[[ports]]
locode = "KPRJN"
tier = 1
reason = "Loading port (my note)"
""")
    g = load_gazetteer(p)
    assert len(g) == len(gaz) + 1
    new = g.find("bolshoy kamen", kind="port")
    new = new[g.table["source"].take(pa.array(new)).to_numpy(zero_copy_only=False) == "user"]
    assert new.size == 1 and g.tier[new[0]] == 2
    assert g.within([43.11], [132.36], 2.0)[0] == new[0]
    assert np.all(g.tier[g.find("Vladivostok", "RU")] == 0)
    assert g.reason[g.index_of("wpi:60510")] == "Loading port (my note)"
    assert g.tier[g.index_of("manual:dunai")] == 2  # defaults kept
    assert np.all(gaz.tier[gaz.find("Vladivostok", "RU")] == 3)  # the default gazetteer is unchanged

    only = load_gazetteer(write(tmp_path, 'base = "none"\n[[ports]]\nport_id = "manual:dunai"\ntier = 1\n'
                                          'reason = "mine"\n', "only.toml"))
    assert only.ports_of_interest()["port_id"].to_pylist() == ["manual:dunai"]
    assert only._index is gaz._index  # no places added: the spatial index is shared


BAD = [
    ("[[ports]\nname = 'x'", "not valid TOML"),
    ('base = "all"', "base"),
    ("colour = 1", "unknown key"),
    ('[[ports]]\nport_id = "wpi:60510"\ntier = 1\nreason = "r"\nradius_km = 3', "unknown key"),
    ('[[ports]]\nport_id = "wpi:60510"\ntier = "high"\nreason = "r"', "tier"),
    ('[[ports]]\nport_id = "wpi:60510"\ntier = 10\nreason = "r"', "tier"),
    ('[[ports]]\nport_id = "wpi:60510"\ntier = 1', "needs a reason"),
    ('[[ports]]\nport_id = "wpi:0"\ntier = 1\nreason = "r"', "not in the gazetteer"),
    ('[[ports]]\nport_id = "wpi:60510"\nname = "Vladivostok"\ntier = 1\nreason = "r"', "not 'Vladivostok'"),
    ('[[ports]]\nname = "Atlantis"\ntier = 1\nreason = "r"', "no place named"),
    ('[[ports]]\nport_id = "wpi:60510"\nlocode = "KPRJN"\ntier = 1\nreason = "r"', "exactly one of"),
    ('[[ports]]\ntier = 1\nreason = "r"', "exactly one of"),
    ('[[ports]]\nname = "X"\nlat = 95\nlon = 0\ncountry_iso2 = "RU"\ntier = 1\nreason = "r"', "lat = 95"),
    ('[[ports]]\nname = "X"\nlat = 40\nlon = 0\ntier = 1\nreason = "r"', "needs country_iso2"),
    ('[[countries]]\ncountry_iso2 = "kp"\ntier = 1\nreason = "r"', "alpha-2"),
    ('[[countries]]\ntier = 1\nreason = "r"', "needs country_iso2"),
    ('[[ports]]\nname = "Najin"\nkind = "harbour"\ntier = 1\nreason = "r"', "kind"),
    ('[[ports]]\nname = "Najin"\ntier = 1\nreason = "r"\nprior = 0', "prior = 0"),
    ('[[ports]]\nname = "Najin"\ntier = 1\nreason = "r"\nprior = "high"', "prior = 'high'"),
    ('ports = 3', "array of tables"),
    ('[tiers]\nfirst = "x"', "tiers.first"),
]


@pytest.mark.parametrize("text,message", BAD, ids=[m for _, m in BAD])
def test_bad_user_file_is_a_config_error_with_where_and_fix(gaz, tmp_path, text, message):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_gazetteer(p)
    assert message in e.value.what
    assert str(p) in e.value.where and e.value.fix


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_gazetteer(tmp_path / "nope.toml")


def test_default_gazetteer_is_loaded_once(gaz):
    assert load_gazetteer() is gaz


def test_examples_in_docs_run(gaz, tmp_path):
    doc = (Path(__file__).resolve().parents[2] / "docs" / "ports.md").read_text(encoding="utf-8")
    python = re.search(r"```python\n(.*?)```", doc, re.DOTALL).group(1)
    lat, lon = np.array([42.2, 0.0, np.nan]), np.array([130.3, -30.0, 0.0])
    exec(python, {"lat": lat, "lon": lon})  # noqa: S102 - running the documented example is the test
    toml = re.search(r"```toml\n(.*?)```", doc, re.DOTALL).group(1)
    g = load_gazetteer(write(tmp_path, toml, "my_ports.toml"))
    iran = np.asarray(g.table["country_iso2"].to_pylist()) == "IR"
    assert iran.any() and np.all(g.tier[iran] == 2) and g.tier_labels[4] == "Chinese transhipment hubs"
    assert np.all(g.tier[g.find("Vladivostok", "RU")] == 0) and g.tier[g.index_of("manual:dunai")] == 2


def test_prior_from_the_ports_of_interest_file(gaz, tmp_path):
    najin = int(gaz.find("Najin", "KP")[0])
    assert gaz.prior[najin] == 2.0 and gaz.prior[gaz.tier == 0].max() == 1.0  # the default file's documented prior
    user = load_gazetteer(write(tmp_path, '[[ports]]\nname = "Chongjin"\ncountry_iso2 = "KP"\ntier = 1\n'
                                          'reason = "r"\nprior = 3.5'))
    assert (user.prior[user.find("Chongjin", "KP")] == 3.5).all()
    assert user.subset(user.tier > 0).prior.max() == 3.5


def test_find_by_country_without_the_full_index_agrees_with_it():
    """Loading resolves the ports of interest from one country's names (or one row's), not the index of every
    name: the answers are those of the full index."""
    import subprocess
    import sys

    code = "from watchkeeper.geo.gazetteer import load_gazetteer as f; print('_names' in f().__dict__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr  # loading did not build the index
    g = load_gazetteer()
    fresh = Gazetteer(g.table, g.tier, g.reason, g.interest_source, g.tier_labels, g.prior)  # nothing cached
    queries = [("Vladivostok", "RU", None), ("Vostochny", "RU", None), ("Najin", "KP", None), ("Chongjin", "KP", "port"),
               ("Nakhodka", "ru", "anchorage"), ("Rotterdam", "NL", None), ("no such place", "RU", None)]
    before = [fresh.find(n, c, k) for n, c, k in queries]
    assert "_names" not in fresh.__dict__
    assert fresh._names  # now the full index
    after = [fresh.find(n, c, k) for n, c, k in queries]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert sum(len(a) for a in before) > 5
    for row in fresh.find("Najin")[:3].tolist() + [0, len(fresh) - 1]:
        for name in ("Najin", fresh.table["name"][row].as_py(), "Nowhere"):
            assert fresh._has_name(row, name) == (row in fresh.find(name).tolist())
