"""The track map: an inline SVG drawn offline from the vendored Natural Earth land and the port gazetteer.

Projection: equirectangular with longitudes scaled by the cosine of the map's central latitude (true scale at
that latitude; fine for the regional extents of a voyage). Longitudes are unwrapped along the track, so a track
crossing the antimeridian stays continuous (the map window may run past 180°), and land is drawn from copies of
the polygons shifted by ±360°. Nothing is fetched: no tiles, fonts or scripts.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from html import escape

import numpy as np
import shapely

# viridis at 6 stops: time runs from dark blue to yellow
RAMP = [(68, 1, 84), (65, 68, 135), (42, 120, 142), (34, 168, 132), (122, 209, 81), (253, 231, 37)]
N_COLOUR_BINS = 24
SEA, LAND, COAST = "#dfeaf2", "#f3f0e6", "#9a9378"


def ramp(f: float) -> str:
    """Colour of time fraction ``f`` (0 first, 1 last) as ``#rrggbb``."""
    f = min(1.0, max(0.0, float(f))) * (len(RAMP) - 1)
    i = min(int(f), len(RAMP) - 2)
    w = f - i
    c = [round(a + (b - a) * w) for a, b in zip(RAMP[i], RAMP[i + 1])]
    return "#{:02x}{:02x}{:02x}".format(*c)


@functools.lru_cache(maxsize=1)
def _land():
    from watchkeeper.geo.coast import DETAIL_BOX_DEG, natural_earth_land

    world, detail = natural_earth_land()
    return world, shapely.STRtree(world), detail, shapely.STRtree(detail), shapely.box(*DETAIL_BOX_DEG)


def land_in(lon0: float, lat0: float, lon1: float, lat1: float) -> list:
    """Land polygons clipped to a window whose longitudes may run past ±180° (shifted copies are added).

    Inside the 1:10m detail box the 1:10m land is used, elsewhere the 1:50m land, as in
    :mod:`watchkeeper.geo.coast`.
    """
    world, world_tree, detail, detail_tree, detail_box = _land()
    out = []
    for shift in (-360.0, 0.0, 360.0):
        window = shapely.box(lon0 - shift, lat0, lon1 - shift, lat1)
        if not shapely.intersects(window, shapely.box(-180, -90, 180, 90)):
            continue
        w = world[world_tree.query(window, predicate="intersects")]
        parts = shapely.difference(shapely.intersection(w, window), detail_box) if len(w) else []
        d = detail[detail_tree.query(window, predicate="intersects")]
        dparts = shapely.intersection(d, window) if len(d) else []
        for g in [*parts, *dparts]:
            if g is None or shapely.is_empty(g):
                continue
            if shift:
                g = shapely.transform(g, lambda xy, s=shift: xy + np.array([s, 0.0]))
            out.append(g)
    return out


class Frame:
    """Degrees to SVG pixels for a window, equirectangular scaled by cos(central latitude)."""

    def __init__(self, lon: np.ndarray, lat: np.ndarray, width: int, height: int, pad_px: int = 36):
        self.width, self.height = width, height
        lat0, lat1 = float(lat.min()), float(lat.max())
        lon0, lon1 = float(lon.min()), float(lon.max())
        self.lat_c = (lat0 + lat1) / 2
        self.k = math.cos(math.radians(self.lat_c))
        span_x = max((lon1 - lon0) * self.k, 0.25)
        span_y = max(lat1 - lat0, 0.25)
        self.scale = min((width - 2 * pad_px) / span_x, (height - 2 * pad_px) / span_y)  # px per degree of latitude
        self.lon_c, self.lat_mid = (lon0 + lon1) / 2, self.lat_c
        half_w, half_h = width / 2 / self.scale / self.k, height / 2 / self.scale
        self.lon0, self.lon1 = self.lon_c - half_w, self.lon_c + half_w
        self.lat0, self.lat1 = self.lat_mid - half_h, self.lat_mid + half_h

    def xy(self, lon, lat):
        x = (np.asarray(lon, float) - self.lon_c) * self.k * self.scale + self.width / 2
        y = self.height / 2 - (np.asarray(lat, float) - self.lat_mid) * self.scale
        return x, y

    def near(self, lon) -> np.ndarray:
        """Longitudes shifted by multiples of 360° to lie closest to the map's centre."""
        lon = np.asarray(lon, float)
        return lon + 360.0 * np.round((self.lon_c - lon) / 360.0)


def unwrap_lon(lon: np.ndarray) -> np.ndarray:
    """Longitudes made continuous along a track (no jump of more than 180° between neighbours)."""
    lon = np.asarray(lon, float)
    if lon.size < 2:
        return lon.copy()
    return np.degrees(np.unwrap(np.radians(lon)))


def _f(v: float) -> str:
    return f"{v:.1f}"


def _ring(coords, frame: Frame) -> str:
    x, y = frame.xy(coords[:, 0], coords[:, 1])
    pts = " L".join(f"{_f(a)} {_f(b)}" for a, b in zip(x, y))
    return f"M{pts} Z"


def _land_path(frame: Frame) -> str:
    tol = 0.6 / frame.scale  # degrees per 0.6 px
    parts = []
    for g in land_in(frame.lon0, frame.lat0, frame.lon1, frame.lat1):
        for poly in shapely.get_parts(shapely.simplify(g, tol, preserve_topology=True)):
            if shapely.get_type_id(poly) != shapely.GeometryType.POLYGON or shapely.is_empty(poly):
                continue
            rings = [poly.exterior, *poly.interiors]
            parts.extend(_ring(np.asarray(r.coords), frame) for r in rings)
    return " ".join(parts)


def _nice_step(span: float, target: int) -> float:
    raw = span / max(target, 1)
    for step in (0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60, 90):
        if step >= raw:
            return float(step)
    return 90.0


def _deg_label(v: float, pos: str, neg: str) -> str:
    v = (v + 180.0) % 360.0 - 180.0 if pos == "E" else v
    h = pos if v >= 0 else neg
    text = f"{abs(v):.2f}".rstrip("0").rstrip(".")
    return f"{text}°{h}"


def track_map_svg(track: dict, *, gaps=(), markers=(), ports=(), break_after_s: float = 7200.0,
                  width: int = 680, height: int = 460) -> str:
    """The map of one vessel's track as SVG text.

    Parameters
    ----------
    track
        ``t_us`` (microseconds, ascending), ``lat``, ``lon`` arrays.
    gaps
        ``(lat1, lon1, lat2, lon2)`` of each AIS gap: drawn as dashed straight lines.
    markers
        ``(number, lat, lon)`` of each event with a position: numbered circles matching the timeline.
    ports
        Dicts with ``name``, ``lat``, ``lon``, ``tier`` (> 0: port of interest, highlighted).
    break_after_s
        The solid track is broken across silences longer than this (they are drawn by ``gaps`` where known).
    """
    t = np.asarray(track["t_us"], np.int64)
    lat = np.asarray(track["lat"], float)
    lon = unwrap_lon(track["lon"])
    pts_lon = [lon] + [np.array([m[2] for m in markers], float)]
    pts_lat = [lat] + [np.array([m[1] for m in markers], float)]
    all_lon = np.concatenate(pts_lon) if sum(len(a) for a in pts_lon) else np.array([0.0])
    all_lat = np.concatenate(pts_lat) if sum(len(a) for a in pts_lat) else np.array([0.0])
    if len(lon):  # markers join the track's window of longitudes
        all_lon = np.concatenate([lon, lon[0] + ((all_lon[len(lon):] - lon[0] + 180.0) % 360.0 - 180.0)])
    frame = Frame(all_lon, all_lat, width, height)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="map" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" font-family="DejaVu Sans, sans-serif" font-size="10">',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="{SEA}"/>',
           f'<path d="{_land_path(frame)}" fill="{LAND}" stroke="{COAST}" stroke-width="0.6" fill-rule="evenodd"/>']
    out += _graticule(frame)
    out += _ports(frame, ports)
    out += _track_lines(frame, t, lat, lon, break_after_s)
    for la1, lo1, la2, lo2 in gaps:
        if None in (la1, lo1, la2, lo2):
            continue
        x1, y1 = frame.xy(frame.near(lo1), la1)
        x2, y2 = frame.xy(frame.near(lo1) + ((lo2 - lo1 + 180.0) % 360.0 - 180.0), la2)
        out.append(f'<line x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" stroke="#c0392b" '
                   f'stroke-width="1.8" stroke-dasharray="6 4"/>')
    out += _markers(frame, markers)
    out += _legend(frame, t)
    out.append("</svg>")
    return "\n".join(out)


def _graticule(frame: Frame) -> list[str]:
    out = []
    step = _nice_step(frame.lat1 - frame.lat0, 5)
    v = math.ceil(frame.lat0 / step) * step
    while v < frame.lat1:
        _, y = frame.xy(frame.lon_c, v)
        out.append(f'<line x1="0" y1="{_f(y)}" x2="{frame.width}" y2="{_f(y)}" stroke="#8aa" stroke-width="0.3"/>'
                   f'<text x="3" y="{_f(y - 2)}" fill="#567">{_deg_label(v, "N", "S")}</text>')
        v += step
    step = _nice_step(frame.lon1 - frame.lon0, 6)
    v = math.ceil(frame.lon0 / step) * step
    while v < frame.lon1:
        x, _ = frame.xy(v, frame.lat_mid)
        out.append(f'<line x1="{_f(x)}" y1="0" x2="{_f(x)}" y2="{frame.height}" stroke="#8aa" stroke-width="0.3"/>'
                   f'<text x="{_f(x + 2)}" y="{frame.height - 4}" fill="#567">{_deg_label(v, "E", "W")}</text>')
        v += step
    return out


def _ports(frame: Frame, ports) -> list[str]:
    out, placed = [], []
    for p in ports:
        lon = frame.near(p["lon"])
        if not (frame.lon0 <= lon <= frame.lon1 and frame.lat0 <= p["lat"] <= frame.lat1):
            continue
        x, y = frame.xy(lon, p["lat"])
        hot = p.get("tier", 0) > 0
        colour = "#b03a2e" if hot else "#555"
        size = 5 if hot else 3.5
        out.append(f'<rect x="{_f(x - size / 2)}" y="{_f(y - size / 2)}" width="{size}" height="{size}" '
                   f'fill="{colour}"/>')
        if any(abs(x - a) < 60 and abs(y - b) < 11 for a, b in placed) or len(placed) >= 30:
            continue
        placed.append((x, y))
        weight = ' font-weight="bold"' if hot else ""
        at = f'x="{_f(x - 5)}" text-anchor="end"' if x > frame.width - 80 else f'x="{_f(x + 5)}"'
        out.append(f'<text {at} y="{_f(y + 3)}" fill="{colour}"{weight}>{escape(p["name"])}</text>')
    return out


def _track_lines(frame: Frame, t, lat, lon, break_after_s) -> list[str]:
    if len(t) < 2:
        if len(t) == 1:
            x, y = frame.xy(lon, lat)
            return [f'<circle cx="{_f(x[0])}" cy="{_f(y[0])}" r="2.5" fill="{ramp(0)}"/>']
        return []
    x, y = frame.xy(lon, lat)
    span = max(int(t[-1] - t[0]), 1)
    joined = np.diff(t) <= break_after_s * 1e6
    frac = ((t[:-1] - t[0]) / span)
    bins = np.minimum((frac * N_COLOUR_BINS).astype(int), N_COLOUR_BINS - 1)
    out = []
    for b in range(N_COLOUR_BINS):
        idx = np.flatnonzero(joined & (bins == b))
        if not len(idx):
            continue
        # consecutive pairs form runs: one "M ... L ..." subpath per run
        runs = np.split(idx, np.flatnonzero(np.diff(idx) != 1) + 1)
        d = " ".join("M" + " L".join(f"{_f(x[i])} {_f(y[i])}" for i in [*r, r[-1] + 1]) for r in runs)
        out.append(f'<path d="{d}" fill="none" stroke="{ramp((b + 0.5) / N_COLOUR_BINS)}" stroke-width="2" '
                   f'stroke-linejoin="round" stroke-linecap="round"/>')
    return out


def _markers(frame: Frame, markers) -> list[str]:
    out, placed = [], []
    for number, lat, lon in markers:
        if lat is None or lon is None:
            continue
        x, y = frame.xy(frame.near(lon), lat)
        x0, y0 = float(x), float(y)
        while any(abs(x - a) < 15 and abs(y - b) < 15 for a, b in placed):
            x += 16
        placed.append((x, y))
        if x != x0:
            out.append(f'<line x1="{_f(x0)}" y1="{_f(y0)}" x2="{_f(x)}" y2="{_f(y)}" stroke="#222" '
                       f'stroke-width="0.6"/>')
        out.append(f'<circle cx="{_f(x)}" cy="{_f(y)}" r="7.5" fill="#fff" stroke="#222" stroke-width="1.2"/>'
                   f'<text x="{_f(x)}" y="{_f(y + 3.5)}" text-anchor="middle" font-weight="bold" '
                   f'font-size="9.5">{number}</text>')
    return out


def _legend(frame: Frame, t) -> list[str]:
    w, h = frame.width, frame.height
    out = [f'<rect x="{w - 254}" y="6" width="248" height="50" fill="#fff" fill-opacity="0.85" stroke="#999" '
           f'stroke-width="0.5"/>']
    for i in range(48):
        out.append(f'<rect x="{w - 246 + i * 4.8:.1f}" y="12" width="5" height="8" fill="{ramp(i / 47)}"/>')
    if len(t):
        first, last = (_fmt_time(int(v)) for v in (t[0], t[-1]))
        out.append(f'<text x="{w - 246}" y="31" font-size="9">{first}</text>'
                   f'<text x="{w - 14}" y="31" text-anchor="end" font-size="9">{last}</text>')
    out.append(f'<line x1="{w - 246}" y1="44" x2="{w - 226}" y2="44" stroke="#c0392b" stroke-width="1.8" '
               f'stroke-dasharray="6 4"/><text x="{w - 222}" y="47">AIS gap</text>'
               f'<rect x="{w - 130}" y="40" width="5" height="5" fill="#b03a2e"/>'
               f'<text x="{w - 122}" y="47">port of interest</text>')
    # scale bar
    km_per_px = 111.32 / frame.scale
    target = km_per_px * 120
    nice = max([v for v in (0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000) if v <= target],
               default=0.5)
    px = nice / km_per_px
    out.append(f'<rect x="8" y="{h - 34}" width="{_f(px + 12)}" height="18" fill="#fff" fill-opacity="0.8"/>'
               f'<line x1="14" y1="{h - 22}" x2="{_f(14 + px)}" y2="{h - 22}" stroke="#222" stroke-width="2"/>'
               f'<text x="14" y="{h - 25}">{nice:g} km</text>')
    out.append(f'<text x="{w - 6}" y="{h - 18}" text-anchor="end" fill="#567" font-size="8">'
               f'Land: Natural Earth (public domain). Ports: Watchkeeper gazetteer.</text>')
    return out


def _fmt_time(t_us: int) -> str:
    when = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=t_us)
    return when.strftime("%Y-%m-%d %H:%MZ")
