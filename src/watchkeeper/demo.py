"""``watchkeeper demo``: the main job, end to end, on a simulated week of the DPRK-Russia corridor.

1. simulate a corridor week (fixed seed; ``watchkeeper simulate``, docs/simulation.md): tag-blocked NMEA as a
   merged receiver feed delivers it, with the ground truth of what happened;
2. ingest the NMEA into a fresh store (every line accounted for);
3. detect the behaviour events (port visits, dark port calls, gaps, encounters, loitering, jumps, ...);
4. load the vendored sanctions lists (UN, OFAC SDN and consolidated, Canada SEMA) and screen every AIS identity;
5. score each vessel's risk and print the headline findings an analyst would act on;
6. write the evidence dossiers (HTML + PDF, manifest) of the top vessels;
7. measure detection against the simulator's truth (precision, recall, F1 per type).

Everything runs offline on the data bundled with Watchkeeper; nothing outside ``out_dir`` is written.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from watchkeeper.errors import InputError

SEED = 7
DAYS = 7.0
VESSELS = 60
TOP = 3
# the real list snapshots vendored with the package (src/watchkeeper/data/sanctions, with provenance)
LISTS = ("un_consolidated_2025-04-19.xml.gz", "ofac_sdn_2024-05-03.csv.gz", "ofac_consolidated_2025-03-28.xml.gz",
         "canada_sema_2025-03-20.xml.gz")
# the moment the demo's dossiers say they were made: fixed, so that two demo runs give identical dossiers
GENERATED_AT = "2024-03-15T00:00:00Z"


def lists_dir() -> Path:
    return Path(__file__).resolve().parent / "data" / "sanctions"


def run_demo(out_dir: str, console: Console, *, seed: int = SEED, days: float = DAYS, vessels: int = VESSELS,
             top: int = TOP, pdf: bool = True) -> dict:
    """Run the main job into ``out_dir`` (replaced) and print what it found; return the paths and timings."""
    from watchkeeper.config import Config
    from watchkeeper.engines.local import run_detection
    from watchkeeper.evaluate import evaluate_store
    from watchkeeper.ingest.pipeline import ingest_paths
    from watchkeeper.report.build import make_dossiers
    from watchkeeper.report.dossier import parse_generated_at
    from watchkeeper.risk import explain, vessel_risk
    from watchkeeper.sanctions.screen import screen_store
    from watchkeeper.sanctions.store import load_files
    from watchkeeper.simulate.scenario import simulate
    from watchkeeper.store import Store

    out = Path(out_dir)
    if out.exists() and not (out / "store").exists() and any(out.iterdir()):
        raise InputError("the demo output folder exists and is not an earlier demo", where=str(out),
                         fix="give a new folder with --out, or remove this one")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sim_dir, db, dossiers = out / "scenario", out / "store", out / "dossiers"
    timings: dict[str, float] = {}

    def step(name: str, what: str):
        console.print(f"[bold]{name}[/bold] {what}")
        return time.perf_counter()

    t = step("1/7 simulate", f"a {days:g}-day week of the DPRK-Russia corridor, {vessels} transmitters, seed {seed}")
    sim = simulate(sim_dir, days=days, vessels=vessels, seed=seed, write_csv=False)
    timings["simulate_s"] = time.perf_counter() - t
    console.print(f"    {sim.counts['lines']:,} NMEA lines -> {sim_dir / 'ais.nmea'}")

    t = step("2/7 ingest", "the NMEA feed into a fresh store")
    config = Config()
    with Store.open(db, create=True) as store:
        [res] = ingest_paths(store, [str(sim_dir / "ais.nmea")])
        timings["ingest_s"] = time.perf_counter() - t
        c = res.counts
        console.print(f"    {c['lines_in']:,} lines: {c['decoded']:,} decoded, {c['rejected']:,} rejected (kept in "
                      f"quarantine with the reason), {c['duplicates']:,} duplicates, {c['incomplete']:,} incomplete "
                      f"multipart, {c['positions']:,} positions, {c['statics']:,} static reports")

        t = step("3/7 detect", "behaviour events")
        counts = run_detection(store, config)
        timings["detect_s"] = time.perf_counter() - t
        console.print("    " + ", ".join(f"{k} {v:,}" for k, v in counts.items() if v))

        t = step("4/7 screen", "every AIS identity against the UN, OFAC and Canadian lists")
        load_files(store, [str(lists_dir() / name) for name in LISTS])
        screening = screen_store(store)
        timings["screen_s"] = time.perf_counter() - t
        console.print(f"    {screening.num_rows:,} possible matches")

        t = step("5/7 risk", "per vessel, from documented indicators")
        risk = vessel_risk(store)
        timings["risk_s"] = time.perf_counter() - t

        if pdf and not _pdf_usable(console):
            pdf = False
        t = step("6/7 dossiers", f"of the top {top} vessels (HTML{' + PDF' if pdf else ''}, manifest)")
        manifest = make_dossiers(store, dossiers, config=config, generated_at=parse_generated_at(GENERATED_AT),
                                 top=top, pdf=pdf)
        timings["report_s"] = time.perf_counter() - t

    t = step("7/7 evaluate", "detection against the simulator's ground truth")
    scores = evaluate_store(sim_dir / "truth.jsonl", db)
    timings["evaluate_s"] = time.perf_counter() - t

    _headlines(console, risk, explain, top)
    _evaluation(console, scores)
    paths = {"scenario": sim_dir, "truth": sim_dir / "truth.jsonl", "store": db, "dossiers": dossiers,
             "dossier_files": [dossiers / f for v in manifest["vessels"] for f in v["files"]]}
    console.print("\n[bold]Outputs[/bold]")
    console.print(f"  simulated feed and truth: {sim_dir.resolve()}  (ais.nmea, truth.jsonl, scenario.json)")
    console.print(f"  store (DuckDB + Parquet): {db.resolve()}")
    for f in paths["dossier_files"]:
        console.print(f"  dossier: {f.resolve()}")
    console.print(f"  dossier manifest: {(dossiers / 'manifest.json').resolve()}  (check with: watchkeeper verify "
                  f"{dossiers})")
    console.print(f"Next: watchkeeper risk --db {db} | watchkeeper events --db {db} --type dark_port_call | "
                  f"watchkeeper vessel MMSI --db {db}")
    total = sum(timings.values())
    console.print(f"Done in {total:.0f} s (" + ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in timings.items()) + ").")
    ranked = [(r["name"], r["imo"], r["score"]) for r in risk.to_pylist()]
    return {"paths": paths, "timings": timings, "scores": scores, "ranked": ranked}


def _pdf_usable(console: Console) -> bool:
    """Whether WeasyPrint and its system libraries load; if not, say how to get PDFs and go on with HTML."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as e:
        console.print(f"[yellow]note[/yellow]: no PDF dossiers: WeasyPrint is not usable here ({e}); install "
                      "Pango (Debian: apt install libpango-1.0-0 libpangoft2-1.0-0) for PDFs. HTML dossiers follow.")
        return False
    return True


def _headlines(console: Console, risk, explain, top: int) -> None:
    console.print("\n[bold]Headline findings[/bold] (highest risk first; every number is traceable in the dossiers)")
    rows = risk.to_pylist()
    if not rows:
        console.print("  no vessel shows any risk indicator")
        return
    table = Table(show_lines=False)
    for col in ("rank", "vessel", "MMSI", "IMO", "flag", "score", "why"):
        table.add_column(col, overflow="fold")
    for r in rows[:max(top, 5)]:
        why = explain(r)[:3]
        table.add_row(str(r["rank"]), r["name"] or "?", str(r["mmsi"]), str(r["imo"] or ""), r["flag"] or "",
                      f"{r['score']:.0f}", "\n".join(why))
    console.print(table)
    dark = sum(1 for r in rows for c in json.loads(r["contributions"]) if c["indicator"] == "dark_port_call")
    console.print(f"  {len(rows)} vessels with at least one indicator; {dark} with suspected dark port calls.")


def _evaluation(console: Console, scores: dict) -> None:
    types = scores["types"]
    macro, weakest = scores["macro_f1"], scores["weakest"]
    line = ", ".join(f"{k} {v['f1']:.2f}" for k, v in types.items() if v["truth"])
    console.print(f"\n[bold]Detection quality[/bold] on this scenario (F1 per type vs the simulator's truth): {line}")
    console.print(f"  macro-F1 {macro:.3f}; weakest type: {weakest} (docs/simulation.md: rules and limits)")
