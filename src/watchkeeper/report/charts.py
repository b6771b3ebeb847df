"""Speed over ground against time, as inline SVG (for gaps, loitering and encounters)."""

from __future__ import annotations

import datetime as dt
import math
from html import escape

import numpy as np

COLOURS = ("#1f5f9f", "#d35400", "#27ae60")


def speed_chart_svg(series: list[dict], span_us: tuple[int, int], *, width: int = 640, height: int = 170,
                    break_after_s: float = 1800.0) -> str:
    """SVG chart of ``series`` (each ``label``, ``t_us``, ``sog_kn``) with the event's span shaded.

    Lines break across silences longer than ``break_after_s``, so a gap shows as a gap; missing speeds are skipped.
    """
    left, right, top, bottom = 44, 10, 10, 30
    pw, ph = width - left - right, height - top - bottom
    ts = [np.asarray(s["t_us"], np.int64) for s in series]
    lo = min([span_us[0], *[int(t.min()) for t in ts if len(t)]])
    hi = max([span_us[1], *[int(t.max()) for t in ts if len(t)]])
    hi = max(hi, lo + 1)
    vals = np.concatenate([np.asarray(s["sog_kn"], float) for s in series]) if series else np.array([])
    vals = vals[np.isfinite(vals)]
    top_kn = _nice_max(float(vals.max()) if len(vals) else 1.0)

    def x(t):
        return left + (np.asarray(t, float) - lo) / (hi - lo) * pw

    def y(v):
        return top + ph - np.asarray(v, float) / top_kn * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" font-family="DejaVu Sans, sans-serif" font-size="9">',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#999" stroke-width="0.5"/>']
    x0, x1 = x(span_us[0]), x(span_us[1])
    out.append(f'<rect x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1.0):.1f}" height="{ph}" fill="#f5c6c0" '
               f'fill-opacity="0.6"/>')
    for k in range(5):
        v = top_kn * k / 4
        yy = float(y(v))
        out.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{left + pw}" y2="{yy:.1f}" stroke="#ddd" stroke-width="0.5"/>'
                   f'<text x="{left - 4}" y="{yy + 3:.1f}" text-anchor="end">{v:g}</text>')
    out.append(f'<text x="10" y="{top + ph / 2:.1f}" transform="rotate(-90 10 {top + ph / 2:.1f})" '
               f'text-anchor="middle">SOG (kn)</text>')
    for k in range(5):
        t = lo + (hi - lo) * k // 4
        anchor = "start" if k == 0 else "end" if k == 4 else "middle"
        out.append(f'<text x="{float(x(t)):.1f}" y="{height - 16}" text-anchor="{anchor}">{_fmt(t)}</text>')
    for i, (s, t) in enumerate(zip(series, ts)):
        v = np.asarray(s["sog_kn"], float)
        ok = np.isfinite(v)
        t, v = t[ok], v[ok]
        colour = COLOURS[i % len(COLOURS)]
        if len(t):
            xs, ys = x(t), y(v)
            runs = np.split(np.arange(len(t)), np.flatnonzero(np.diff(t) > break_after_s * 1e6) + 1)
            d = " ".join("M" + " L".join(f"{xs[j]:.1f} {ys[j]:.1f}" for j in r) for r in runs if len(r))
            out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.3"/>')
            for r in runs:
                if len(r) == 1:
                    out.append(f'<circle cx="{xs[r[0]]:.1f}" cy="{ys[r[0]]:.1f}" r="1.8" fill="{colour}"/>')
        out.append(f'<rect x="{left + 8 + i * 130}" y="{height - 9}" width="10" height="3" fill="{colour}"/>'
                   f'<text x="{left + 22 + i * 130}" y="{height - 5}">MMSI {escape(s["label"])}</text>')
    out.append(f'<rect x="{left + 8 + len(series) * 130}" y="{height - 11}" width="10" height="7" fill="#f5c6c0"/>'
               f'<text x="{left + 22 + len(series) * 130}" y="{height - 5}">event</text>')
    out.append("</svg>")
    return "\n".join(out)


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= v:
            return m * mag
    return 10 * mag


def _fmt(t_us: int) -> str:
    when = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(t_us))
    return when.strftime("%d %b %H:%M")
