"""Physics of the simulated world: routes at sea, ITU reporting intervals, and where receivers hear."""

from __future__ import annotations

import numpy as np
import pytest

from watchkeeper.simulate import motion as mo
from watchkeeper.simulate import reporting
from watchkeeper.simulate.actors import STS_POINTS, Builder
from watchkeeper.simulate.reception import receivers, station_probability
from watchkeeper.simulate.routes import check_route, densify, sea_graph
from watchkeeper.simulate.world import default_world, km_between


def _checksum_ok(sentence: str) -> bool:
    body, cs = sentence.rsplit("*", 1)
    x = 0
    for ch in body[1:]:
        x ^= ord(ch)
    return f"{x:02X}" == cs[:2]


@pytest.fixture(scope="module")
def world():
    return default_world()


@pytest.mark.parametrize("a,b", [("Rajin", "Dunai"), ("Rajin", "Vostochny"), ("Busan", "Vladivostok"),
                                 ("Hakata", "Busan"), ("Maizuru", "Nakhodka"), ("Niigata", "Pohang"),
                                 ("Chongjin", "Zarubino"), ("Sokcho", "Sakaiminato")])
def test_routes_stay_at_sea(world, a, b):
    lat, lon = sea_graph(world).route(a, b)
    assert not check_route(world, lat, lon).any()
    # and they end at the berths, which lie within the port-visit entry radius of the gazetteer point
    pa_, pb = world.ports[a], world.ports[b]
    assert km_between(lat[0], lon[0], pa_.lat, pa_.lon) < 3.0 and km_between(lat[-1], lon[-1], pb.lat, pb.lon) < 3.0


def test_berths_at_sea(world):
    for p in world.ports.values():
        assert not world.coast.on_land(p.berth_lat, p.berth_lon, buffer_m=0.0)


def test_every_true_position_at_sea(small, world):
    """No vessel ever is on land (only deliberately spoofed *reports* are)."""
    for v in small.vessels:
        lat, lon = densify(v.trace["lat"], v.trace["lon"], 0.5)
        assert not world.coast.on_land(lat, lon).any(), v.key


def test_intervals_follow_itu_tables():
    sog = np.array([0.0, 2.5, 10.0, 15.0, 25.0])
    under = np.full(5, mo.UNDERWAY)
    moored = np.full(5, mo.MOORED)
    assert list(reporting.interval_s("A", sog, under)) == [10, 10, 10, 6, 2]
    assert list(reporting.interval_s("A", sog, moored)) == [180, 180, 10, 6, 2]
    assert list(reporting.interval_s("B", sog, under)) == [180, 30, 30, 30, 30]


def test_emitted_intervals_per_class_and_speed(small):
    """Reports as sent (before reception thins them): median spacing by class and state."""
    rng = np.random.default_rng(0)
    seen = {"A_under": [], "A_moored": [], "B_fast": [], "B_slow": []}
    for v in small.vessels:
        p = reporting.positions(v, rng)
        dt = np.diff(p["t_s"])
        sog = np.interp(p["t_s"][:-1], v.trace["t_s"], v.trace["sog_kn"])
        idx = np.clip(np.searchsorted(v.trace["t_s"], p["t_s"][:-1], side="right") - 1, 0, None)
        mode = v.trace["mode"][idx]
        if v.cls == "A":
            seen["A_under"] += list(dt[(mode == mo.UNDERWAY) & (sog > 3) & (sog < 13)])
            seen["A_moored"] += list(dt[mode == mo.MOORED])
        else:
            seen["B_fast"] += list(dt[sog > 2.5])
            seen["B_slow"] += list(dt[sog < 1.5])
    assert np.median(seen["A_under"]) == pytest.approx(10, abs=0.5)
    assert np.median(seen["A_moored"]) == pytest.approx(180, abs=5)
    assert np.median(seen["B_fast"]) == pytest.approx(30, abs=1)
    assert np.median(seen["B_slow"]) == pytest.approx(180, abs=5)
    s = reporting.statics(small.vessels[0], rng)
    assert np.median(np.diff(s["t_s"][s["msg_type"] == 5])) == pytest.approx(360, abs=1)


def test_no_terrestrial_reception_off_the_dprk(world):
    rx = receivers(86400, np.random.default_rng(0))
    raj, cho = world.ports["Rajin"], world.ports["Chongjin"]
    lat = np.array([raj.berth_lat, cho.berth_lat, 41.2, 40.6, 39.9])
    lon = np.array([raj.berth_lon, cho.berth_lon, 129.75, 129.4, 128.3])
    assert (station_probability(rx, lat, lon) == 0).all()


def test_sts_points_are_covered_and_away_from_ports(world):
    rx = receivers(86400, np.random.default_rng(0))
    lat, lon = np.array([p[0] for p in STS_POINTS]), np.array([p[1] for p in STS_POINTS])
    assert (station_probability(rx, lat, lon).max(axis=1) > 0.3).all()
    assert (world.port_distance_km(lat, lon) > 12).all()


def test_emitted_lines_come_from_stations_in_range(small):
    """Every terrestrial line was sent within its station's range; DPRK waters are heard only by satellites."""
    import json

    import pyais
    sc = json.loads((small.out_dir / "scenario.json").read_text())
    st = {s["id"]: s for s in sc["stations"]}
    lines = (small.out_dir / "ais.nmea").read_text().splitlines()
    checked = 0
    for line in lines[:: max(1, len(lines) // 3000)]:
        tag, sentence = line.split("\\")[1:]
        station = tag[2:6]
        if not sentence.startswith("!AIVDM,1,1"):
            continue
        if not _checksum_ok(sentence):  # a deliberately damaged line
            continue
        m = pyais.decode(sentence).asdict()
        if m["msg_type"] not in (1, 2, 3, 18) or station.startswith("SAT"):
            continue
        s = st[station]
        # reported positions are the true ones (plus metres of noise) except for the spoofer
        d = km_between(m["lat"], m["lon"], s["lat"], s["lon"])
        assert d <= s["range_km"] + 2 or m["mmsi"] in {a["mmsi"] for a in sc["actors"] if a["spoofing"]}
        checked += 1
    assert checked > 100


def test_builder_is_seeded(world):
    def names(seed):
        b = Builder(world, sea_graph(world), np.random.default_rng(seed), 86400.0)
        b.background("x")
        return b.vessels[0].name, b.vessels[0].mmsi, float(b.vessels[0].trace["lat"].sum())
    assert names(5) == names(5) and names(5) != names(6)
