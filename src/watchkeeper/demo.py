"""``watchkeeper demo``: the main job on the bundled real samples.

For now (foundation release) the main job is ingestion: it ingests the vendored real AIS samples into a fresh
store, prints the ingest summary and the store's statistics, and says where everything is. Later stages
(detection, screening, dossiers) extend it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console

from watchkeeper.errors import InputError

SAMPLES = [
    "dma-aislib/stream_example.txt",
    "aisdb/test_data_20211101.nm4",
    "aisdb/test_data_201201.nmea",
    "pyais-sample/nmea_data_sample.txt",
    "libais/test.aivdm",
    "noaa/test_data_noaa_20230101.csv",
]


def sample_dir() -> Path:
    """The folder of bundled real samples (``tests/data`` of a source checkout)."""
    here = Path(__file__).resolve()
    for base in (here.parents[2] / "tests" / "data", Path.cwd() / "tests" / "data"):
        if (base / SAMPLES[0]).exists():
            return base
    raise InputError("the bundled samples were not found", where=str(here.parents[2] / "tests" / "data"),
                     fix="run the demo from a source checkout of Watchkeeper (`make demo`)")


def run_demo(out_dir: str, console: Console) -> None:
    from watchkeeper.cli import _print_ingest_summary
    from watchkeeper.ingest.pipeline import ingest_paths
    from watchkeeper.store import Store
    from watchkeeper.store.stats import store_stats

    base = sample_dir()
    out = Path(out_dir)
    db = out / "store"
    shutil.rmtree(db, ignore_errors=True)
    paths = [str(base / s) for s in SAMPLES]
    console.print(f"Ingesting {len(paths)} real AIS samples (see tests/data/*/PROVENANCE.md) into {db} ...")
    with Store.open(db, create=True) as store:
        results = ingest_paths(store, paths)
        _print_ingest_summary(results, str(db))
        s = store_stats(store)
    console.print(f"\n{s['positions']:,} positions and {s['statics']:,} static reports of {s['vessels']:,} "
                  f"vessels, {s['first']} to {s['last']}.")
    console.print("Every input line is accounted for; rejected lines are in the quarantine table.\n")
    console.print("Outputs:")
    console.print(f"  store (DuckDB catalogue + Parquet): {db.resolve()}")
    console.print(f"  positions Parquet: {(db / 'positions').resolve()}/day=*/")
    console.print(f"  statics Parquet:   {(db / 'statics').resolve()}/day=*/")
    console.print(f"Try: watchkeeper stats --db {db}")
