"""Click commands ``watchkeeper simulate`` and ``watchkeeper evaluate`` (thin shells over the library)."""

from __future__ import annotations

import json
import sys
import time

import click


@click.command()
@click.option("--scenario", type=click.Choice(["corridor"]), default="corridor", show_default=True,
              help="Which world to simulate.")
@click.option("--days", type=click.FloatRange(0.1, 60), default=7.0, show_default=True, help="Duration in days.")
@click.option("--vessels", type=click.IntRange(10, 500), default=60, show_default=True,
              help="Transmitters (the special actors first, background traffic for the rest).")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed; the same seed gives the same files.")
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory for ais.nmea, ais.csv, truth.jsonl and scenario.json.")
@click.option("--no-csv", is_flag=True, help="Do not write ais.csv (the decoded copy of ais.nmea).")
def simulate(scenario: str, days: float, vessels: int, seed: int, out_dir: str, no_csv: bool) -> None:
    """Simulate AIS traffic of the DPRK-Russia corridor with ground-truth events (docs/simulation.md).

    Writes ais.nmea (tag-blocked NMEA as a merged feed delivers it), ais.csv (the same reports in the canonical
    CSV of `watchkeeper decode --format csv`), truth.jsonl (the events a perfect detector would find, in the
    events JSON Lines contract) and scenario.json (seed, parameters, actors with roles).
    """
    from watchkeeper.cli import err
    from watchkeeper.simulate.scenario import simulate as run

    t0 = time.perf_counter()
    res = run(out_dir, days=days, vessels=vessels, seed=seed, scenario=scenario, write_csv=not no_csv)
    c = res.counts
    truth = ", ".join(f"{k} {v}" for k, v in sorted(c["truth"].items()))
    err.print(f"{out_dir}: {c['lines']:,} lines ({c['duplicate_lines']:,} duplicates, {c['corrupt_lines']:,} "
              f"corrupt) from {len(res.vessels)} transmitters over {days:g} days in "
              f"{time.perf_counter() - t0:.1f} s; truth: {truth}")


@click.command()
@click.option("--truth", "truth_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Truth events (JSON Lines contract), e.g. truth.jsonl of `watchkeeper simulate`.")
@click.option("--db", "db", required=True, type=click.Path(file_okay=False), help="Store with detected events.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as one JSON object.")
def evaluate(truth_path: str, db: str, as_json: bool) -> None:
    """Score the store's detected events against truth: precision, recall, F1 per type and macro-F1.

    Matching: same type, same vessel (unordered pair for encounters), overlapping times (with a tolerance per
    type), same port for port events; one-to-one, best overlap first (docs/simulation.md).
    """
    from rich.table import Table

    from watchkeeper.cli import out
    from watchkeeper.evaluate import evaluate_store

    res = evaluate_store(truth_path, db)
    if as_json:
        sys.stdout.write(json.dumps(res, indent=1) + "\n")
        return
    table = Table(title=f"detected vs truth ({res['detected_events']:,} detected, {res['truth_events']:,} truth)")
    for col in ("type", "truth", "detected", "matched", "precision", "recall", "F1"):
        table.add_column(col, justify="left" if col == "type" else "right")
    for t, v in res["types"].items():
        table.add_row(t, str(v["truth"]), str(v["detected"]), str(v["matched"]), f"{v['precision']:.2f}",
                      f"{v['recall']:.2f}", f"{v['f1']:.2f}")
    out.print(table)
    out.print(f"macro-F1 over the {sum(v['truth'] > 0 for v in res['types'].values())} types in the truth: "
              f"{res['macro_f1']:.3f}; weakest: {res['weakest']}")
