"""Scoring detected events against ground truth: precision, recall and F1 per event type.

Matching rules (docs/simulation.md, "Evaluation"): a detected event matches a truth event when

* the types are equal;
* the vessels are equal: the same ``mmsi``; for ``encounter`` the same unordered pair ``{mmsi, other_mmsi}``;
  ``activity_surge`` has no vessel;
* the time intervals overlap once each is widened by the type's tolerance (:data:`TOLERANCE_H`: the two ends of a
  silence or a dark call depend on the receivers, an identity change is an instant);
* for port events (``port_visit``, ``dark_port_call``, ``activity_surge``) the ports agree: the same UN/LOCODE,
  the same normalised name (a port and its anchorages), or reference points within :data:`PORT_MATCH_KM`.

Matching is one-to-one and greedy: candidate pairs are taken best first by their overlap score (intersection over
union of the widened intervals), each event used once. Precision = matched detections / detections, recall =
matched truth / truth, F1 their harmonic mean (0 when either is 0); macro-F1 averages F1 over the types present in
the truth, and the weakest type is the one with the lowest F1 there.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa

from watchkeeper.detect.events import EVENT_TYPES, iso_utc, read_jsonl
from watchkeeper.geo.names import normalize_name

PORT_TYPES = ("port_visit", "dark_port_call", "activity_surge")
PORT_MATCH_KM = 10.0
DEFAULT_TOLERANCE_H = 0.25
TOLERANCE_H = {"ais_gap": 1.0, "dark_port_call": 1.0, "identity_change": 1.0, "invalid_identity": 1.0,
               "mmsi_conflict": 1.0, "position_jump": 0.5}
_US_H = 3_600_000_000


def _records(table: pa.Table) -> list[dict]:
    cols = ["type", "mmsi", "other_mmsi", "start", "end", "port_name", "port_locode", "port_lat", "port_lon",
            "event_id"]
    t = table.select(cols)
    out = t.to_pylist()
    for r in out:
        r["s_us"] = int(r["start"].timestamp() * 1e6)
        r["e_us"] = int(r["end"].timestamp() * 1e6)
    return out


def _vessel_key(r: dict):
    if r["type"] == "encounter":
        return tuple(sorted((r["mmsi"] or 0, r["other_mmsi"] or 0)))
    return r["mmsi"]


def _port_ok(a: dict, b: dict) -> bool:
    if a["port_locode"] and b["port_locode"] and a["port_locode"] == b["port_locode"]:
        return True
    if normalize_name(a["port_name"] or "") == normalize_name(b["port_name"] or "") != "":
        return True  # a port and its anchorages share the name (as activity_surge counts them)
    if a["port_lat"] is None or b["port_lat"] is None:
        return False
    p0, p1 = math.radians(a["port_lat"]), math.radians(b["port_lat"])
    dl = math.radians(b["port_lon"] - a["port_lon"])
    h = math.sin((p1 - p0) / 2) ** 2 + math.cos(p0) * math.cos(p1) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h))) <= PORT_MATCH_KM


def _score(a: dict, b: dict, tol_us: int) -> float:
    """Intersection over union of the intervals widened by ``tol_us`` each side; < 0 when they do not meet."""
    s0, e0, s1, e1 = a["s_us"] - tol_us, a["e_us"] + tol_us, b["s_us"] - tol_us, b["e_us"] + tol_us
    inter = min(e0, e1) - max(s0, s1)
    if inter < 0:
        return -1.0
    return inter / max(1, max(e0, e1) - min(s0, s1))


def match_events(truth: pa.Table, detected: pa.Table) -> list[tuple[int, int]]:
    """One-to-one greedy matches ``(truth row, detected row)`` under the rules of this module."""
    tr, de = _records(truth), _records(detected)
    groups: dict[tuple, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for i, r in enumerate(tr):
        groups[(r["type"], _vessel_key(r))][0].append(i)
    for j, r in enumerate(de):
        groups[(r["type"], _vessel_key(r))][1].append(j)
    pairs = []
    for (type_, _), (ti, dj) in groups.items():
        if not ti or not dj:
            continue
        tol = int(TOLERANCE_H.get(type_, DEFAULT_TOLERANCE_H) * _US_H)
        for i in ti:
            for j in dj:
                if type_ in PORT_TYPES and not _port_ok(tr[i], de[j]):
                    continue
                s = _score(tr[i], de[j], tol)
                if s >= 0:
                    pairs.append((-s, i, j))
    pairs.sort()
    used_t, used_d, out = set(), set(), []
    for _, i, j in pairs:
        if i not in used_t and j not in used_d:
            used_t.add(i)
            used_d.add(j)
            out.append((i, j))
    return sorted(out)


def _brief(r: dict) -> dict:
    out = {"mmsi": r["mmsi"], "start": iso_utc(r["start"]), "end": iso_utc(r["end"])}
    if r["other_mmsi"] is not None:
        out["other_mmsi"] = r["other_mmsi"]
    if r["port_name"] is not None:
        out["port"] = r["port_name"]
    return out


def evaluate(truth: pa.Table, detected: pa.Table, *, examples: int = 5) -> dict:
    """Scores of ``detected`` against ``truth`` (both tables of events).

    Returns
    -------
    dict
        ``types``: per type ``truth``, ``detected``, ``matched``, ``precision``, ``recall``, ``f1`` and up to
        ``examples`` ``missed`` truth events and ``false`` detections; ``macro_f1`` over the types present in
        the truth; ``weakest`` (type with the lowest F1 among those); ``truth_events``, ``detected_events``.
    """
    matches = match_events(truth, detected)
    tr, de = _records(truth), _records(detected)
    mt, md = {i for i, _ in matches}, {j for _, j in matches}
    types: dict[str, dict] = {}
    for type_ in EVENT_TYPES:
        ti = [i for i, r in enumerate(tr) if r["type"] == type_]
        dj = [j for j, r in enumerate(de) if r["type"] == type_]
        if not ti and not dj:
            continue
        m = sum(i in mt for i in ti)
        p = m / len(dj) if dj else 0.0
        rc = m / len(ti) if ti else 0.0
        f1 = 2 * p * rc / (p + rc) if p + rc > 0 else 0.0
        types[type_] = {"truth": len(ti), "detected": len(dj), "matched": m, "precision": round(p, 4),
                        "recall": round(rc, 4), "f1": round(f1, 4),
                        "missed": [_brief(tr[i]) for i in ti if i not in mt][:examples],
                        "false": [_brief(de[j]) for j in dj if j not in md][:examples]}
    present = [t for t, v in types.items() if v["truth"] > 0]
    macro = float(np.mean([types[t]["f1"] for t in present])) if present else 0.0
    weakest = min(present, key=lambda t: (types[t]["f1"], t)) if present else None
    return {"types": types, "macro_f1": round(macro, 4), "weakest": weakest, "truth_events": len(tr),
            "detected_events": len(de)}


def evaluate_store(truth_path: str | Path, db: str | Path, *, examples: int = 5) -> dict:
    """Read truth (JSON Lines contract) and the store's detected events, and score them (see :func:`evaluate`)."""
    from watchkeeper.store import Store

    with open(truth_path, "rb") as f:
        truth = read_jsonl(f, name=str(truth_path))
    with Store.open(db) as store:
        detected = store.events_table()
    return evaluate(truth, detected, examples=examples)
