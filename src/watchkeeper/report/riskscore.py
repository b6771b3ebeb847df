"""The one place where dossiers call the risk score (``watchkeeper.risk``, written in its own stage).

Everything else in this package goes through :func:`risk_table` and :func:`risk_sentences`, so a change of the
risk API is a change here only.
"""

from __future__ import annotations

import json

import pyarrow as pa

RISK_COLUMNS = ("rank", "mmsi", "name", "imo", "flag", "score", "contributions", "n_events")


class RiskUnavailable(Exception):
    """The risk stage exists but failed on this store; the dossier says so instead of showing a score."""


def risk_table(store) -> pa.Table | None:
    """``watchkeeper.risk.vessel_risk(store)`` (sorted by score, descending), or ``None`` without a risk stage.

    Raises
    ------
    RiskUnavailable
        When the risk stage raises: a dossier without its score is still evidence, so the caller reports the
        failure in the dossier rather than making none.
    """
    try:
        from watchkeeper.risk import vessel_risk
    except ImportError:
        return None
    try:
        return vessel_risk(store)
    except Exception as e:
        raise RiskUnavailable(f"{type(e).__name__}: {e}") from e


def risk_sentences(row: dict) -> list[str]:
    """Readable sentences for one row of :func:`risk_table` (``watchkeeper.risk.explain``, else from the JSON)."""
    try:
        from watchkeeper.risk import explain
    except ImportError:
        explain = None
    if explain is not None:
        return list(explain(row))
    return [c.get("sentence") or f"{c.get('indicator')}: {c.get('points')} points" for c in contributions(row)]


def contributions(row: dict) -> list[dict]:
    """The ``contributions`` of a risk row as a list of dicts (the column is JSON text)."""
    raw = row.get("contributions")
    if raw is None:
        return []
    value = json.loads(raw) if isinstance(raw, str) else raw
    return list(value or [])
