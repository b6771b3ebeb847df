"""The dossier as one self-contained HTML file: inline CSS and SVG, no script, no remote resource.

The same HTML is rendered to PDF (:mod:`watchkeeper.report.pdf`), so print layout lives in the CSS here. The only
content that changes between two runs on the same store and configuration is the generation time, shown on one
line marked as such (and recorded in ``manifest.json``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from html import escape

from watchkeeper.report import charts, mapplot, texts
from watchkeeper.report.dossier import Dossier, EventEvidence

CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm;
  @bottom-left { content: "Watchkeeper evidence dossier: " string(vessel); font-size: 7.5pt; color: #666; }
  @bottom-right { content: "page " counter(page) " of " counter(pages); font-size: 7.5pt; color: #666; } }
html { font-family: "DejaVu Sans", sans-serif; font-size: 9.5pt; color: #1d1d1d; line-height: 1.35; }
body { max-width: 182mm; margin: 0 auto; }
h1 { font-size: 17pt; margin: 0 0 2mm 0; string-set: vessel content(); }
h2 { font-size: 12.5pt; border-bottom: 1.5px solid #345; margin: 7mm 0 2mm 0; padding-bottom: 1mm; }
h3 { font-size: 10.5pt; margin: 5mm 0 1.5mm 0; break-after: avoid; }
p { margin: 1.2mm 0; }
table { border-collapse: collapse; width: 100%; margin: 1.5mm 0 2.5mm 0; font-size: 8.3pt; }
th, td { border: 0.5px solid #bbb; padding: 0.8mm 1.4mm; text-align: left; vertical-align: top; }
th { background: #eef2f5; }
td.num, th.num { text-align: right; }
tr { break-inside: avoid; }
.mono { font-family: "DejaVu Sans Mono", monospace; font-size: 7.6pt; word-break: break-all; }
.generated { border: 1px dashed #c0392b; padding: 1.5mm 2mm; color: #822; font-size: 8.5pt; }
.summary td:first-child { width: 38mm; font-weight: bold; }
.event { break-inside: auto; border-left: 3px solid #345; padding-left: 3mm; margin-top: 4mm; }
.event h3 { margin-top: 1mm; }
.note { color: #555; font-size: 8.3pt; }
.warn { color: #a04000; }
svg { display: block; margin: 2mm 0; max-width: 100%; height: auto; }
.figure { break-inside: avoid; }
.badge { display: inline-block; min-width: 5mm; text-align: center; border: 1px solid #222; border-radius: 3mm;
  font-weight: bold; font-size: 8pt; margin-right: 1.5mm; }
"""


def render(d: Dossier) -> str:
    """The dossier ``d`` as HTML text."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Evidence dossier: {escape(d.label)}</title>",
        '<meta name="generator" content="Watchkeeper ' + escape(d.software_version) + '">',
        f'<meta name="dcterms.created" content="{escape(d.generated_at)}">',
        f"<style>{CSS}</style></head><body>",
        f"<h1>{escape(d.label)}</h1>",
        f'<p class="generated">Generated at {escape(d.generated_at)} (the only item that differs between two '
        f"dossiers made from the same store and configuration).</p>",
        _summary(d), _identity(d), _sanctions(d), _risk(d), _map(d), _timeline(d), _event_details(d),
        _provenance(d), _methodology(), "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


# ------------------------------------------------------------------------------------------------ helpers

def _t(iso: str | None) -> str:
    if iso is None:
        return "&ndash;"
    return escape(iso.replace("T", " ").replace("Z", " UTC"))


def _v(value) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return _t(value.isoformat().replace("+00:00", "Z"))
    if isinstance(value, (list, tuple)):
        return escape(", ".join(str(v) for v in value)) or "&ndash;"
    return escape(str(value))


def _table(headers: list[str], rows: list[list[str]], *, num: set[int] = frozenset()) -> str:
    head = "".join(f'<th{" class=num" if i in num else ""}>{escape(h)}</th>' for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f'<td{" class=num" if i in num else ""}>{c}</td>' for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _duration(rec: dict) -> str:
    a = dt.datetime.fromisoformat(rec["start"].replace("Z", "+00:00"))
    b = dt.datetime.fromisoformat(rec["end"].replace("Z", "+00:00"))
    h = (b - a).total_seconds() / 3600
    return f"{h:,.1f} h"


def _place(rec: dict) -> str:
    if rec["port"]:
        return escape(rec["port"]["name"])
    if rec["lat"] is not None:
        return f"{rec['lat']:.4f}, {rec['lon']:.4f}"
    return "&ndash;"


# ------------------------------------------------------------------------------------------------ sections

def _summary(d: Dossier) -> str:
    counts = Counter(e.record["type"] for e in d.events)
    events = ", ".join(f"{n} {texts.TITLES.get(t, t).lower()}{'s' if n != 1 else ''}" for t, n in
                       sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"
    first = _t(_iso_us(int(d.track["t_us"][0]))) if len(d.track["t_us"]) else "&ndash;"
    last = _t(_iso_us(int(d.track["t_us"][-1]))) if len(d.track["t_us"]) else "&ndash;"
    matches = ("no screening table in the store (run watchkeeper screen)" if d.matches is None
               else f"{len(d.matches)} match{'es' if len(d.matches) != 1 else ''}")
    risk = f"{d.risk['score']:.1f} / 100 (rank {d.risk['rank']})" if d.risk else "not scored"
    rows = [["Vessel", escape(d.name or "(no name broadcast)")],
            ["MMSI", ", ".join(str(m) for m in d.mmsis)],
            ["IMO", _v(d.imo)], ["Call sign", _v(d.callsign)], ["Flag (from MID)", _v(d.flag)],
            ["Positions", f"{d.track['n_positions']:,} received, {first} to {last}"],
            ["Events", f"{len(d.events)}: {escape(events)}"], ["Sanctions screening", matches], ["Risk score", risk]]
    return "<h2>Summary</h2>" + '<table class="summary"><tbody>' + "".join(
        f"<tr><td>{escape(a)}</td><td>{b}</td></tr>" for a, b in rows) + "</tbody></table>"


def _iso_us(t_us: int) -> str:
    when = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=t_us)
    return when.isoformat().replace("+00:00", "Z")


def _identity(d: Dossier) -> str:
    rows = [[_v(r["mmsi"]), _v(r["shipname"]), _v(r["callsign"]), _v(r["imo"]), _v(r["ship_type"]),
             _v(r["flag_mid"]), _v(r["first_seen"]), _v(r["last_seen"]), f"{r['n_reports']:,}"] for r in d.identity]
    text = ("<h2>Identity and identity history</h2><p>Every distinct combination of name, call sign, IMO number "
            "and ship type that the vessel broadcast, with the flag administration of the MMSI's MID (ITU).</p>")
    if not rows:
        return text + '<p class="note">No static (identity) messages were received from this vessel.</p>'
    return text + _table(["MMSI", "Name", "Call sign", "IMO", "Ship type", "Flag (MID)", "First seen", "Last seen",
                          "Reports"], rows, num={8})


def _sanctions(d: Dossier) -> str:
    out = "<h2>Sanctions screening</h2>"
    if d.matches is None:
        return out + ('<p class="note">The store has no screening table: load lists with <code>watchkeeper lists '
                      "load</code> and run <code>watchkeeper screen</code> to include matches.</p>")
    if not d.matches:
        return out + "<p>No identity of this vessel matched an entity of the loaded sanctions lists.</p>"
    rows = [[f"{m['score']:.2f}", escape(m["match_kind"]), escape(m["entity_caption"] or ""),
             escape(m["list_source"] or ""), _v(m.get("programs")), escape(m["explanation"] or "")]
            for m in d.matches]
    return out + _table(["Score", "Kind", "Listed entity", "List", "Programs", "Explanation"], rows, num={0})


def _risk(d: Dossier) -> str:
    out = "<h2>Risk score</h2>"
    if d.risk is None:
        why = " ".join(escape(s) for s in d.risk_sentences) or "No risk score for this vessel in this store."
        return out + f'<p class="note">{why}</p>'
    out += (f"<p><b>{d.risk['score']:.1f}</b> out of 100 (rank {d.risk['rank']} of the store's vessels), "
            f"from {d.risk['n_events']} events.</p>")
    numbers = {e.record["event_id"]: e.number for e in d.events}
    rows = []
    for c in d.risk["contributions"]:
        refs = [f"#{numbers[i]}" for i in c.get("event_ids") or [] if i in numbers]
        rows.append([escape(str(c.get("indicator", ""))), _v(c.get("points")), _v(c.get("weight")),
                     escape(f"{_v(c.get('value'))} {c.get('unit') or ''}".strip()),
                     escape(c.get("sentence") or ""), escape(", ".join(refs)) or "&ndash;"])
    if rows:
        out += _table(["Indicator", "Points", "Weight", "Value", "Why", "Events"], rows, num={1, 2})
    if d.risk_sentences:
        out += "<ul>" + "".join(f"<li>{escape(s)}</li>" for s in d.risk_sentences) + "</ul>"
    return out


def _map(d: Dossier) -> str:
    gaps = [(e.record["details"].get("start_lat", e.record["lat"]), e.record["details"].get("start_lon", e.record["lon"]),
             e.record["details"].get("end_lat"), e.record["details"].get("end_lon"))
            for e in d.events if e.record["type"] == "ais_gap"]
    markers = [(e.number, e.record["lat"], e.record["lon"]) for e in d.events if e.record["lat"] is not None]
    if not len(d.track["t_us"]) and not markers:
        return "<h2>Track</h2><p class=\"note\">No positions with a time were received from this vessel.</p>"
    svg = mapplot.track_map_svg(d.track, gaps=gaps, markers=markers, ports=d.ports,
                                break_after_s=float(d.config.ais_gap.min_gap_h) * 3600)
    shown = f"{len(d.track['t_us']):,} of {d.track['n_positions']:,}" if len(d.track["t_us"]) < d.track[
        "n_positions"] else f"all {d.track['n_positions']:,}"
    return ("<h2>Track</h2><div class=\"figure\">" + svg + "</div>"
            f"<p class=\"note\">{shown} positions, coloured by time (legend). Dashed red lines join the last "
            "position before and the first after each AIS gap: the vessel's path in between is unknown. Numbered "
            "circles are the events of the timeline; red squares are ports of interest.</p>")


def _timeline(d: Dossier) -> str:
    out = "<h2>Timeline of events</h2>"
    if not d.events:
        return out + "<p>No events were detected for this vessel.</p>"
    rows = [[f"<span class=badge>{e.number}</span>", escape(e.title), _t(e.record["start"]), _t(e.record["end"]),
             _duration(e.record), _place(e.record), f"{e.record['confidence']:.2f}"] for e in d.events]
    return out + _table(["#", "Event", "Start", "End", "Duration", "Where", "Confidence"], rows, num={4, 6})


def _event_details(d: Dossier) -> str:
    return "".join(_event(e) for e in d.events)


def _event(e: EventEvidence) -> str:
    rec = e.record
    other = f" with MMSI {rec['other_mmsi']}" if rec["other_mmsi"] is not None else ""
    out = [f'<div class="event"><h3><span class=badge>{e.number}</span>{escape(e.title)}{other}: '
           f"{_t(rec['start'])} to {_t(rec['end'])}</h3>",
           f"<p><b>Rule</b> <code>{escape(rec['detector_version'])}</code>: {escape(e.rule)}</p>",
           f"<p class=\"note\">Event id <span class=mono>{rec['event_id']}</span>; confidence "
           f"{rec['confidence']:.2f}; {rec['positions']['n']:,} supporting positions.</p>"]
    details = {k: v for k, v in rec["details"].items() if k != "candidates"}
    if details:
        out.append("<p><b>Details</b>: " + "; ".join(f"{escape(k)} = {_v(v)}" for k, v in sorted(details.items()))
                   + "</p>")
    if e.thresholds:
        th = "; ".join(f"{escape(t['section'])}.{escape(t['name'])} = {_v(t['value'])}"
                       f"{' ' + escape(t['unit']) if t['unit'] and t['unit'] not in ('flag', 'count') else ''}"
                       f"{'' if t['default'] else ' (not the default)'}" for t in e.thresholds)
        out.append(f"<p class=note><b>Thresholds</b>: {th}.</p>")
    if not e.config_matches:
        out.append(f"<p class=warn>This event was detected with configuration {rec['config_sha256']}, not the "
                   "configuration shown in this dossier; the thresholds above may differ from those in force.</p>")
    candidates = rec["details"].get("candidates") or []
    if candidates:
        rows = [[str(i), escape(str(c.get("name"))), _v(c.get("country_iso2")), _v(c.get("locode")), _v(c.get("tier")),
                 _v(c.get("detour_km")), _v(c.get("max_dwell_h")), _v(c.get("score"))]
                for i, c in enumerate(candidates, 1)]
        out.append("<p><b>Reachable ports of interest</b> during the silence, best first:</p>"
                   + _table(["Rank", "Port", "Country", "LOCODE", "Tier", "Detour (km)", "Max dwell (h)", "Score"],
                            rows, num={0, 5, 6, 7}))
    if e.support:
        rows = [[escape(s["role"]), _v(s["mmsi"]), _t(s["ts"]), _v(s["lat"]), _v(s["lon"]), _v(s["sog_kn"]),
                 escape(s["file"]) + (f" ({escape(s['shipname'])})" if s.get("shipname") else ""), f"{s['line']:,}"]
                for s in e.support]
        out.append("<p><b>Supporting input lines</b>:</p>"
                   + _table(["Role", "MMSI", "Time", "Lat", "Lon", "SOG (kn)", "File", "Line"], rows, num={7}))
    if e.chart:
        span = (_us(rec["start"]), _us(rec["end"]))
        out.append('<div class="figure">' + charts.speed_chart_svg(e.chart, span) + "</div>")
    out.append("</div>")
    return "\n".join(out)


def _us(iso: str) -> int:
    when = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def _provenance(d: Dossier) -> str:
    out = ["<h2>Provenance</h2>",
           "<p>Every input file of the store, as recorded when it was ingested. Re-hash a file with "
           "<code>sha256sum</code> (or <code>watchkeeper verify DOSSIER --db STORE</code>) to check that the data "
           "behind this dossier is unchanged.</p>"]
    rows = [[str(r["source_id"]), escape(r["name"]), f'<span class=mono>{r["sha256"]}</span>',
             f"{r['size_bytes']:,}", escape(r["format"]), _t(r["ingested_at"])] for r in d.ledger]
    out.append(_table(["Source", "File", "SHA-256", "Bytes", "Format", "Ingested"], rows, num={0, 3}))
    cites = []
    for e in d.events:
        by_file: dict[str, list[int]] = {}
        for s in e.support:
            by_file.setdefault(s["file"], []).append(s["line"])
        text = "; ".join(f"{escape(f)} lines {', '.join(str(n) for n in sorted(set(ls)))}"
                         for f, ls in sorted(by_file.items()))
        cites.append([f"<span class=badge>{e.number}</span>", escape(e.title), text or "&ndash;"])
    if cites:
        out.append("<h3>Input lines supporting each event</h3>" + _table(["#", "Event", "File and lines"], cites))
    cfg = d.config.to_dict()
    out.append("<h3>Software and configuration</h3>"
               f"<p>Watchkeeper {escape(d.software_version)}. Configuration SHA-256 "
               f"<span class=mono>{d.config.sha256()}</span>"
               + ("" if not d.config.overrides() else " (values that differ from the defaults: "
                  + escape(json.dumps(d.config.overrides(), sort_keys=True)) + ")") + ".</p>")
    for run in d.detect_runs:
        out.append(f"<p class=note>Events from detection run {run['run_id']} (Watchkeeper "
                   f"{escape(run['software_version'])}, configuration <span class=mono>{run['config_sha256']}"
                   f"</span>), finished {_v(run['finished_at'])}.</p>")
    rows = [[escape(g), escape(k), _v(v)] for g, vals in cfg.items() for k, v in vals.items()]
    out.append(_table(["Section", "Threshold", "Value"], rows))
    return "\n".join(out)


def _methodology() -> str:
    return ("<h2>Methodology and limitations</h2>" + "".join(f"<p>{escape(p)}</p>" for p in texts.METHODOLOGY)
            + "<ul>" + "".join(f"<li>{escape(p)}</li>" for p in texts.LIMITATIONS) + "</ul>")
