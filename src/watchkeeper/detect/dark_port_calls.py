"""Dark port calls: for each AIS gap, the ports of interest the vessel could have reached, stayed in and left from.

Rules (thresholds of ``[dark_port_call]`` in :mod:`watchkeeper.config`), for every ``ais_gap`` event:

* The assumed transit speed ``v`` is the ``speed_quantile`` of the vessel's own speeds while under way (reported
  SOG, else implied speed, above ``port_visit.stop_end_speed_kn``) when ``segmented`` is given, else
  ``fallback_speed_kn``; never less than the gap's own implied speed; times ``speed_margin``.
* Sea routes are longer than great circles: distances are multiplied by ``detour_factor`` when the configuration
  has one (1 otherwise).
* A port of interest (gazetteer tier > 0) is *feasible* for a closed gap iff
  ``(d(start, port) + d(port, end)) * factor / v + min_dwell_h <= duration_h``; for an open gap (no end position)
  iff ``d(start, port) * factor / v + min_dwell_h <= duration_h``. ``max_dwell_h`` is the time left in port.
* Places are grouped by port (country and normalised name, so a port and its anchorages are one candidate, the
  best of its places). A port with a place within ``port_visit.exit_radius_km`` of the gap's start or end is left
  out: the vessel was seen there, so that is an observed visit or an in-port silence, not a dark call.
* Score of a candidate (0-1) = ``tier_weight * (0.5 * slack + 0.5 * on_path) * (0.5 + 0.5 * likely_intentional)``
  with ``tier_weight = 1 / tier``, ``slack = (max_dwell_h - min_dwell_h) / duration_h`` and
  ``on_path = 1 - detour_km / (v * duration_h)`` (``detour_km`` the extra sea distance over the straight path).
* Only ports of tier ``max_event_tier`` or higher interest (tier 1 and 2 by default) can be the port of an event;
  context ports (tier 3: Russian commercial ports with terrestrial AIS coverage, where a call unseen by the
  receivers would need the transponder off and is no red flag in itself) are listed among the candidates only.
* One ``dark_port_call`` per gap with at least one feasible eligible candidate, for the best-scored port - or, among the
  ports of its tier within ``ambiguity_km`` of it (which a silence of hours cannot tell apart), the one with the
  highest documented ``prior`` in the ports-of-interest file (``details.ambiguous_with`` names the others). Its confidence
  = ``tier_weight * (0.5 + 0.5 * likely_intentional) * (0.5 + 0.5 * slack) * tier_share``, where ``tier_share`` is
  the share of the summed candidate scores that belongs to candidates of the best port's tier (how much the
  competing candidates of other tiers could explain the gap instead). ``details.candidates`` lists the best
  ``max_candidates`` ports.

The gap × place computation is one vectorised NumPy pass (a few dozen places of interest).
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from watchkeeper.config import Config
from watchkeeper.detect.events import make_events
from watchkeeper.geo.gazetteer import Gazetteer
from watchkeeper.geo.names import normalize_name
from watchkeeper.geo.sphere import haversine_km
from watchkeeper.tracks.arrays import Tracks

VERSION = "dark_port_call/1"
_KM_PER_NM = 1.852
_US_H = 3_600_000_000


def _r(x, nd: int = 6):
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


@njit(cache=True)
def _sorted_group_quantiles(group, values, q):
    """Per run of equal ``group`` (``group`` sorted): the ``q`` quantile of its ``values``, interpolated between
    order statistics as :func:`vessel_speeds_kn` does; returns (group of each run, quantile)."""
    n = group.shape[0]
    out_g = np.empty(n, np.int64)
    out_q = np.empty(n, np.float64)
    k = 0
    s = 0
    while s < n:
        e = s + 1
        while e < n and group[e] == group[s]:
            e += 1
        v = np.sort(values[s:e])
        rank = q * (e - s - 1)
        whole = np.floor(rank)
        lo = np.int64(whole)
        hi = min(lo + 1, e - s - 1)
        out_g[k] = group[s]
        out_q[k] = v[lo] + (rank - whole) * (v[hi] - v[lo])
        k += 1
        s = e
    return out_g[:k], out_q[:k]


def vessel_speeds_kn(segmented, config: Config, mmsis=None) -> dict[int, float]:
    """The ``speed_quantile`` of each MMSI's speeds while under way (SOG, else implied speed), implausible rows out
    (linear interpolation between order statistics, as ``numpy.quantile``); of the given ``mmsis`` only, when not
    ``None``."""
    if segmented is None or segmented.num_rows == 0:
        return {}
    if isinstance(segmented, Tracks):
        mmsi, sog = segmented.plausible["mmsi"], segmented.plausible["speed_kn"]
    else:
        names = segmented.schema.names
        keep = ~np.asarray(pc.fill_null(segmented["implausible"], False).to_numpy(zero_copy_only=False), bool) \
            if "implausible" in names else np.ones(segmented.num_rows, bool)
        mmsi = segmented["mmsi"].to_numpy().astype(np.int64)[keep]
        sog = np.asarray(pc.fill_null(segmented["sog_kn"].cast(pa.float64()), np.nan).to_numpy(), float)
        if "implied_speed_kn" in names:
            imp = np.asarray(pc.fill_null(segmented["implied_speed_kn"].cast(pa.float64()), np.nan).to_numpy(), float)
            sog = np.where(np.isfinite(sog), sog, imp)
        sog = sog[keep]
    if len(mmsi) and not (mmsi[1:] >= mmsi[:-1]).all():
        # each MMSI's rows together (plausible rows of tracks already are: they come by segment, segments by MMSI)
        order = np.argsort(mmsi, kind="stable")
        mmsi, sog = mmsi[order], sog[order]
    ok = np.isfinite(sog) & (sog > float(config.port_visit.stop_end_speed_kn))
    if mmsis is not None and len(mmsi):  # the wanted MMSIs' runs of rows
        starts = np.flatnonzero(np.r_[True, mmsi[1:] != mmsi[:-1]])
        wanted = np.isin(mmsi[starts], np.asarray(list(mmsis), np.int64))
        ok &= np.repeat(wanted, np.diff(np.r_[starts, len(mmsi)]))
    g, q = _sorted_group_quantiles(mmsi[ok], sog[ok], float(config.dark_port_call.speed_quantile))
    return dict(zip(g.tolist(), q.tolist()))


def _places(gazetteer: Gazetteer):
    """Places of interest grouped by port: arrays ordered by group, group starts, and one label row per group
    (built once per gazetteer; the callers only read them)."""
    cached = getattr(gazetteer, "_dark_port_places", None)
    if cached is None:
        cached = _group_places(gazetteer)
        object.__setattr__(gazetteer, "_dark_port_places", cached)
    return cached


def _group_places(gazetteer: Gazetteer):
    idx = np.flatnonzero(gazetteer.tier > 0)
    tbl = gazetteer.table.take(pa.array(idx, pa.int64()))
    names = tbl["name"].to_pylist()
    country = tbl["country_iso2"].to_pylist()
    keys = [f"{c or ''}:{normalize_name(n)}" for n, c in zip(names, country)]
    order = sorted(range(len(idx)), key=lambda i: (keys[i], i))
    idx = idx[order]
    keys = [keys[i] for i in order]
    starts = np.flatnonzero(np.r_[True, np.array(keys[1:]) != np.array(keys[:-1])]) if keys else np.empty(0, int)
    ends = np.r_[starts[1:], len(keys)]
    rows = [gazetteer.row(int(i)) for i in idx]
    labels = []
    for s, e in zip(starts, ends):
        # label a port by its port row with a LOCODE, else its port row, else its first place
        best = min(range(s, e), key=lambda j: (rows[j]["locode"] is None, rows[j]["kind"] != "port", j))
        labels.append({**rows[best], "tier": int(gazetteer.tier[idx[s:e]].min())})
    for lab, s, e in zip(labels, starts, ends):
        lab["prior"] = float(gazetteer.prior[idx[s:e]].max())
    return (gazetteer.lat[idx], gazetteer.lon[idx], gazetteer.tier[idx].astype(float), starts, ends, rows, labels)


def dark_port_calls(gap_events: pa.Table, gazetteer: Gazetteer, config: Config | None = None,
                    segmented: pa.Table | None = None, speeds: dict[int, float] | None = None) -> pa.Table:
    """Dark port call events from ``ais_gap`` events (other types in ``gap_events`` are ignored).

    Parameters
    ----------
    gap_events
        Events table (:data:`~watchkeeper.schema.EVENTS`) holding the output of ``ais_gaps``.
    gazetteer
        Gazetteer with interest tiers; places with tier > 0 are the candidates.
    config
        Thresholds; the defaults when ``None``.
    segmented
        The segmented positions, for each vessel's own speed distribution; ``fallback_speed_kn`` when ``None``.
    speeds
        Each vessel's own speed (:func:`vessel_speeds_kn`) computed already, in place of ``segmented`` (the
        partitioned engine computes it while the tracks are in memory).

    Returns
    -------
    pyarrow.Table
        :data:`~watchkeeper.schema.EVENTS` of type ``dark_port_call``: start/end those of the gap, ``lat``/``lon``
        and ``port`` the best candidate, the gap's segment and supporting positions, details ``gap_event_id``,
        ``duration_h``, ``open``, ``likely_intentional``, ``assumed_speed_kn``, ``speed_source``,
        ``detour_factor``, ``min_dwell_h``, ``port_id``, ``port_tier``, ``max_dwell_h``, ``detour_km``,
        ``n_candidates``, ``tier_share`` and ``candidates`` (ranked: ``name``, ``locode``, ``port_id``,
        ``country_iso2``, ``tier``, ``detour_km``, ``max_dwell_h``, ``score``).
    """
    config = config or Config()
    cfg = config.dark_port_call
    sha = config.sha256()
    gaps = [r for r in gap_events.to_pylist() if r["type"] == "ais_gap"] if gap_events.num_rows else []
    plat, plon, ptier, starts, ends, _rows, labels = _places(gazetteer)
    if not gaps or not len(plat):
        return make_events([], config_sha256=sha, detector_version=VERSION)

    det = [json.loads(r["details"]) for r in gaps]
    n = len(gaps)
    dur = np.array([(r["end"] - r["start"]).total_seconds() / 3600.0 for r in gaps])
    openf = np.array([bool(d.get("open")) for d in det])
    lat0 = np.array([d.get("start_lat", r["lat"]) for d, r in zip(det, gaps)], float)
    lon0 = np.array([d.get("start_lon", r["lon"]) for d, r in zip(det, gaps)], float)
    lat1 = np.array([np.nan if d.get("end_lat") is None else d["end_lat"] for d in det], float)
    lon1 = np.array([np.nan if d.get("end_lon") is None else d["end_lon"] for d in det], float)
    lat1, lon1 = np.where(openf, lat0, lat1), np.where(openf, lon0, lon1)
    li = np.array([d.get("likely_intentional") or 0.0 for d in det], float)
    implied = np.array([d.get("implied_speed_kn") or 0.0 for d in det], float)

    own = vessel_speeds_kn(segmented, config, {int(r["mmsi"]) for r in gaps}) if speeds is None else speeds
    own_v = np.array([own.get(int(r["mmsi"]), np.nan) for r in gaps])
    source = np.where(np.isfinite(own_v), "vessel_speed_quantile", "fallback_speed_kn")
    base_v = np.where(np.isfinite(own_v), own_v, float(cfg.fallback_speed_kn))
    speed_kn = np.maximum(base_v, implied) * float(cfg.speed_margin)
    v_kmh = speed_kn * _KM_PER_NM
    factor = float(cfg.get("detour_factor", 1.0))
    min_dwell = float(cfg.min_dwell_h)
    near_km = float(config.port_visit.exit_radius_km)

    # gaps x places, all at once
    d0 = haversine_km(lat0[:, None], lon0[:, None], plat[None, :], plon[None, :])
    d1 = haversine_km(lat1[:, None], lon1[:, None], plat[None, :], plon[None, :])
    direct = np.where(openf, 0.0, haversine_km(lat0, lon0, lat1, lon1))
    route = np.where(openf[:, None], d0, d0 + d1) * factor
    transit_h = route / v_kmh[:, None]
    max_dwell = dur[:, None] - transit_h
    feasible = ((max_dwell >= min_dwell) & (d0 / v_kmh[:, None] <= float(cfg.max_transit_h))
                & (dur[:, None] <= float(cfg.max_gap_h)))
    detour = np.maximum(route - direct[:, None] * factor, 0.0)
    slack = np.clip((max_dwell - min_dwell) / np.maximum(dur[:, None], 1e-9), 0.0, 1.0)
    on_path = np.clip(1.0 - detour / np.maximum(v_kmh[:, None] * dur[:, None], 1e-9), 0.0, 1.0)
    tier_w = 1.0 / np.maximum(ptier, 1.0)
    score = tier_w[None, :] * (0.5 * slack + 0.5 * on_path) * (0.5 + 0.5 * li[:, None])
    seen = (d0 <= near_km) | (~openf[:, None] & (d1 <= near_km))

    # one candidate per port: excluded if any of its places was seen; else its best feasible place
    ng = len(starts)
    g_seen = np.logical_or.reduceat(seen, starts, axis=1)
    g_score = np.full((n, ng), -np.inf)
    g_place = np.zeros((n, ng), np.int64)
    masked = np.where(feasible, score, -np.inf)
    for g, (s, e) in enumerate(zip(starts, ends)):
        j = np.argmax(masked[:, s:e], axis=1)
        g_place[:, g] = s + j
        g_score[:, g] = masked[np.arange(n), s + j]
    g_score[g_seen] = -np.inf
    g_tier = np.array([lab["tier"] for lab in labels])

    events = []
    max_c = int(cfg.max_candidates)
    amb_km = float(cfg.ambiguity_km)
    max_tier = int(cfg.max_event_tier)
    for k in np.flatnonzero(np.isfinite(g_score).any(axis=1)):
        ok = np.flatnonzero(np.isfinite(g_score[k]))
        ranked = ok[np.lexsort((ok, -g_score[k, ok]))]
        # only ports up to max_event_tier name the event; context ports stay in the candidate list
        eligible = [int(g) for g in ranked if labels[g]["tier"] <= max_tier]
        if not eligible:
            continue
        # ports of the best one's tier within ambiguity_km cannot be told apart: the documented prior decides
        top = labels[eligible[0]]
        close = [g for g in eligible if labels[g]["tier"] == top["tier"]
                 and float(haversine_km(top["lat"], top["lon"], labels[g]["lat"], labels[g]["lon"])) <= amb_km]
        best = max(close, key=lambda g: (labels[g]["prior"], g_score[k, g], -g))
        ambiguous = [labels[g]["name"] for g in close if g != best]
        p = int(g_place[k, best])
        lab = labels[best]
        total = float(g_score[k, ok].sum())
        tier_share = float(g_score[k, ok][g_tier[ok] == g_tier[best]].sum()) / total if total > 0 else 1.0
        conf = (1.0 / max(lab["tier"], 1)) * (0.5 + 0.5 * li[k]) * (0.5 + 0.5 * slack[k, p]) * tier_share
        cands = []
        for g in ranked[:max_c]:
            q, lg = int(g_place[k, g]), labels[g]
            cands.append({"name": lg["name"], "locode": lg["locode"], "port_id": lg["port_id"],
                          "country_iso2": lg["country_iso2"], "tier": lg["tier"], "detour_km": _r(detour[k, q], 3),
                          "max_dwell_h": _r(max_dwell[k, q], 3), "score": _r(g_score[k, g])})
        gap = gaps[k]
        details = {"gap_event_id": gap["event_id"], "duration_h": _r(dur[k]), "open": bool(openf[k]),
                   "likely_intentional": _r(li[k]), "assumed_speed_kn": _r(speed_kn[k], 3),
                   "speed_source": str(source[k]), "detour_factor": factor, "min_dwell_h": min_dwell,
                   "port_id": lab["port_id"], "port_tier": lab["tier"], "max_dwell_h": _r(max_dwell[k, p], 3),
                   "detour_km": _r(detour[k, p], 3), "n_candidates": len(ok), "tier_share": _r(tier_share),
                   "ambiguous_with": ambiguous, "port_prior": lab["prior"],
                   "candidates": cands}
        events.append({"type": "dark_port_call", "mmsi": gap["mmsi"], "start": gap["start"], "end": gap["end"],
                       "lat": float(lab["lat"]), "lon": float(lab["lon"]), "port_name": lab["name"],
                       "port_locode": lab["locode"], "port_lat": float(lab["lat"]), "port_lon": float(lab["lon"]),
                       "confidence": float(np.clip(conf, 0.0, 1.0)), "details": details,
                       "positions": gap["positions"], "segment_id": gap["segment_id"],
                       "id_extra": {"port": lab["port_id"], "gap": gap["event_id"]}})
    return make_events(events, config_sha256=sha, detector_version=VERSION)
