"""The offline map and chart: projection, antimeridian, land clipping and what is drawn."""

from __future__ import annotations

import re

import numpy as np

from watchkeeper.report.charts import speed_chart_svg
from watchkeeper.report.mapplot import Frame, land_in, ramp, track_map_svg, unwrap_lon

H = 3600 * 10**6


def test_ramp_runs_from_first_to_last_colour():
    assert ramp(0) == "#440154" and ramp(1) == "#fde725" and ramp(-1) == ramp(0)


def test_antimeridian_track_stays_continuous():
    lon = np.array([178.0, 179.5, -179.5, -178.0])
    lat = np.array([52.0, 52.2, 52.4, 52.6])
    assert np.allclose(unwrap_lon(lon), [178.0, 179.5, 180.5, 182.0])
    frame = Frame(unwrap_lon(lon), lat, 600, 400)
    assert frame.lon1 - frame.lon0 < 20  # not a map of the whole world
    svg = track_map_svg({"t_us": np.arange(4) * H, "lat": lat, "lon": lon}, markers=[(1, 52.4, -179.5)])
    xs = [float(v) for v in re.findall(r'<circle cx="([\d.]+)"', svg)]
    assert xs and 0 < xs[0] < 680  # the marker west of 180 lands beside the track, not off the map
    # land across the line comes from both sides (Aleutians east and west of 180)
    parts = land_in(170.0, 50.0, 190.0, 56.0)
    xs = np.concatenate([np.asarray(g.exterior.coords)[:, 0] for g in parts if g.geom_type == "Polygon"])
    assert xs.min() < 180 < xs.max() and xs.max() <= 190.0 + 1e-9


def test_map_draws_track_gaps_ports_and_markers():
    t = np.arange(0, 40) * 600 * 10**6
    lat = np.linspace(43.0, 42.0, 40)
    lon = np.linspace(131.9, 131.0, 40)
    t[20:] += 10 * H  # a silence
    svg = track_map_svg({"t_us": t, "lat": lat, "lon": lon}, gaps=[(lat[19], lon[19], lat[20], lon[20])],
                        markers=[(1, 43.0, 131.9), (2, 42.5, 131.45)],
                        ports=[{"name": "Vladivostok", "lat": 43.05, "lon": 131.88, "tier": 0},
                               {"name": "Najin", "lat": 42.24, "lon": 130.30, "tier": 1}])
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert 'stroke-dasharray="6 4"' in svg and "Vladivostok" in svg
    assert 'font-weight="bold">Najin' in svg  # port of interest highlighted
    assert re.search(r">1</text>", svg) and re.search(r">2</text>", svg)
    land = re.search(r'<path d="([^"]*)" fill="#f3f0e6"', svg).group(1)
    assert land.count("M") > 3  # coastline of Primorye and Korea in view
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_speed_chart_breaks_at_silences():
    t = np.r_[np.arange(10), np.arange(30, 40)] * 600 * 10**6
    svg = speed_chart_svg([{"label": "273354260", "t_us": t, "sog_kn": np.full(20, 10.0)}], (t[9], t[10]))
    path = re.search(r'<path d="([^"]*)"', svg).group(1)
    assert path.count("M") == 2
