"""What the Parquet write of ingest costs under other writer options (an aid for optimising, not a product benchmark).

Decodes the corpus once with ``read_nmea`` (keeping its batches, as ingest does), then writes the position batches
to a temporary file with ``pyarrow.parquet.ParquetWriter`` under several option sets, batch by batch as
``SourceWriter`` does, and reports seconds and bytes. The first row is Watchkeeper's current setting
(``compression="zstd"``, ``use_dictionary`` from ``watchkeeper.store.parquet.DICTIONARY_COLUMNS`` when it exists,
one ``write_table`` per decoded batch, ``row_group_size=1 << 20``).

Usage::

    python bench/parquet_options.py [--sentences N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, snapshot_src, wait_idle  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sentences", type=int, default=1_000_000)
    ap.add_argument("--corpus", type=Path)
    a = ap.parse_args(argv)
    import corpus as corpus_mod

    path = a.corpus or corpus_mod.ensure(a.sentences)
    src, src_hash = snapshot_src()
    sys.path.insert(0, str(src))
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(tempfile.gettempdir()) / f"wk-numba-{src_hash}"))
    import pyarrow.parquet as pq

    from watchkeeper.ingest.nmea import read_nmea
    from watchkeeper.store.parquet import split_by_day

    batches = [b.positions for b in read_nmea(str(path), 1)]
    rows = sum(t.num_rows for t in batches)
    untimed_share = sum(t.column("ts").null_count for t in batches) / max(rows, 1)
    tmp = Path(tempfile.mkdtemp(prefix="wk-pq-"))
    low_card = ["mmsi", "nav_status", "msg_type", "source_id", "heading_deg", "pos_accuracy"]
    from watchkeeper.store import parquet as wk_parquet
    current = getattr(wk_parquet, "DICTIONARY_COLUMNS", {}).get("positions", True)
    variants = [
        ("zstd, Watchkeeper's current options", dict(compression="zstd", use_dictionary=current)),
        ("zstd, dictionary on every column (pyarrow default)", dict(compression="zstd")),
        ("zstd, no dictionary", dict(compression="zstd", use_dictionary=False)),
        ("zstd, dictionary only on low-cardinality columns", dict(compression="zstd", use_dictionary=low_card)),
        ("zstd, no statistics", dict(compression="zstd", write_statistics=False)),
        ("zstd, no dictionary, no statistics", dict(compression="zstd", use_dictionary=False,
                                                    write_statistics=False)),
        ("snappy", dict(compression="snappy")),
        ("lz4", dict(compression="lz4")),
        ("none", dict(compression="none")),
    ]
    out = {"corpus": str(path), "rows": rows, "batches": len(batches), "untimed_share": untimed_share,
           "src_snapshot_sha256": src_hash, "variants": []}
    wait_idle()
    t = time.perf_counter()
    pieces = [split_by_day(b) for b in batches]
    out["split_by_day_s"] = time.perf_counter() - t
    print(f"{rows:,} position rows in {len(batches)} batches; split_by_day {out['split_by_day_s']:.3f} s")
    for name, opts in variants:
        best = None
        for _ in range(2):
            wait_idle(30)
            f = tmp / "p.parquet"
            t = time.perf_counter()
            w = pq.ParquetWriter(f, batches[0].schema, **opts)
            for b in batches:
                w.write_table(b, row_group_size=1 << 20)
            w.close()
            dt = time.perf_counter() - t
            best = dt if best is None else min(best, dt)
        size = f.stat().st_size
        out["variants"].append({"name": name, "options": {k: v for k, v in opts.items()}, "seconds": best,
                                "bytes": size, "rows_per_s": rows / best})
        print(f"  {name:50s} {best:6.3f} s  {size / 1e6:7.1f} MB  {rows / best:12,.0f} rows/s", flush=True)
    # one write per day piece, as SourceWriter does (split first)
    wait_idle(30)
    t = time.perf_counter()
    ws: dict = {}
    for ps in pieces:
        for day, piece in ps:
            w = ws.get(day)
            if w is None:
                w = ws[day] = pq.ParquetWriter(tmp / f"d-{day}.parquet", batches[0].schema, compression="zstd",
                                               use_dictionary=current)
            w.write_table(piece, row_group_size=1 << 20)
    for w in ws.values():
        w.close()
    out["zstd_per_day_files_s"] = time.perf_counter() - t
    print(f"  {'current options, split into day files (as SourceWriter)':50s} {out['zstd_per_day_files_s']:6.3f} s")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "parquet_options.json").write_text(json.dumps(out, indent=2, default=str))
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(src, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
