"""``watchkeeper risk``: the ranked per-vessel risk table (a thin click shell over :mod:`watchkeeper.risk`).

Nothing heavy is imported at import time; library errors reach the root group, which prints them as
error/fix lines.
"""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--db", "db", required=True, type=click.Path(file_okay=False), help="Store directory.")
@click.option("--top", "top", default=20, show_default=True, type=click.IntRange(min=0),
              help="Show the N highest-scoring vessels (0: all).")
@click.option("--since", "since", default=None, metavar="ISO",
              help="Only evidence overlapping the window from this UTC date or time (e.g. 2024-03-01).")
@click.option("--until", "until", default=None, metavar="ISO",
              help="Only evidence overlapping the window up to this UTC date or time.")
@click.option("--config", "config_path", default=None, type=click.Path(dir_okay=False),
              help="TOML file whose [risk] table overrides weights (see docs/risk.md).")
@click.option("--json", "as_json", is_flag=True, help="Write JSON Lines (one object per vessel) instead of a table.")
def risk(db: str, top: int, since: str | None, until: str | None, config_path: str | None, as_json: bool) -> None:
    """Rank vessels by a risk score (0-100) built from documented indicators: sanctions list matches, calls
    and dark calls at ports of interest, AIS gaps, encounters (and the risk of the vessels met), loitering,
    position jumps, shared MMSIs, identity and flag changes, invalid identities.

    Every contribution is explained in one sentence; --json gives them all with their event and match ids.
    """
    from watchkeeper.risk import vessel_risk
    from watchkeeper.risk_weights import load_risk_weights
    from watchkeeper.store import Store

    weights = load_risk_weights(config_path)
    with Store.open(db) as store:
        table = vessel_risk(store, since=since, until=until, weights=weights)
    if top:
        table = table.slice(0, top)
    if as_json:
        for row in table.to_pylist():
            row["contributions"] = json.loads(row["contributions"])
            click.echo(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
        return
    from rich.table import Table

    from watchkeeper.cli import out

    t = Table(title=f"vessel risk: {db}" + (f" from {since}" if since else "") + (f" until {until}" if until else ""))
    for c in ("rank", "MMSI", "name", "IMO", "flag", "score", "top contributions"):
        t.add_column(c, justify="right" if c in ("rank", "MMSI", "IMO", "score") else "left")
    for r in table.to_pylist():
        cs = json.loads(r["contributions"])
        short = "; ".join(f"{c['indicator']} {c['points']:.0f}" for c in cs[:3])
        t.add_row(str(r["rank"]), str(r["mmsi"]), r["name"] or "", f"{r['imo']:07d}" if r["imo"] else "",
                  r["flag"] or "", f"{r['score']:.1f}", short)
    out.print(t)
    if not table.num_rows:
        out.print("no vessel has evidence in this window (run `watchkeeper detect` and `watchkeeper screen` first)")
