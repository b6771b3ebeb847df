"""Ingest throughput and memory: ``ingest_paths`` (what ``watchkeeper ingest`` calls) into a fresh store.

* throughput: the 1M-line corpus into a new temporary store, positions written per second of wall time
  (hashing, format sniffing, decoding, Parquet writing, DuckDB quarantine and ledger all included); the numba
  kernels are loaded from a cache warmed by an earlier process, and a tiny ingest into another store runs first
  in the same process, so the timed run is steady state. The ``watchkeeper ingest`` command line is also timed
  end to end (a new process: imports and kernel cache load included).
* memory: peak RSS (``ru_maxrss`` of the worker process, and ``/usr/bin/time -v`` around it) while ingesting a
  20M-line corpus (the 1M corpus written 20 times back to back by ``corpus.py --repeat 20``).
* profile: the same 1M ingest with every stage wrapped in a timer (kernels, Arrow building, quarantine building,
  Parquet writes, DuckDB inserts, hashing, reading), and once under cProfile.

Usage::

    python bench/ingest.py [--sentences N] [--repeat 20] [--skip-memory] [--skip-profile] [--keep-big]
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
from _common import (RESULTS, count_lines, git_state, machine, maxrss_kib, rss_now_kib,  # noqa: E402
                     run_worker, snapshot_src, versions)

TINY = (b"\\s:rx1,c:1709251200*0C\\!AIVDM,1,1,,A,15M67F@01sG@9s0E`Ah4lSi5P000,0*5E\n"
        b"!AIVDM,2,1,3,B,55M67F@2;=`1L@?7;?@EHE:0LUHDp00000000016<Pj:<4jdNGlSm51DQ0C@,0*2B\n"
        b"!AIVDM,2,2,3,B,00000000000,2*26\n"
        b"!AIVDM,1,1,,A,garbage,0*00\n")


def _dir_bytes(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def _warm(tmp: Path) -> float:
    """A tiny ingest into a throw-away store: loads (or compiles) the kernels and warms DuckDB and Parquet."""
    from watchkeeper.ingest.pipeline import ingest_paths
    from watchkeeper.store import Store

    t = time.perf_counter()
    f = tmp / "tiny.nmea"
    f.write_bytes(TINY)
    with Store.open(tmp / "warm-store", create=True) as s:
        ingest_paths(s, [str(f)])
    return time.perf_counter() - t


# --- workers ---------------------------------------------------------------------------------------------
def worker_ingest(path: str) -> dict:
    t = time.perf_counter()
    from watchkeeper.ingest.pipeline import ingest_paths
    from watchkeeper.store import Store
    t_import = time.perf_counter() - t
    tmp = Path(tempfile.mkdtemp(prefix="wk-ingest-"))
    try:
        t_warm = _warm(tmp)
        rss_ready = rss_now_kib()
        samples = []
        size = os.path.getsize(path)
        step = max(size // 20, 1)
        nxt = [0]

        import pyarrow as pa
        store_ref: list = []

        def progress(_p, done, _size):
            # (bytes read, RSS KiB, pyarrow pool bytes allocated, DuckDB memory bytes)
            if done >= nxt[0]:
                duck = -1
                try:
                    duck = store_ref[0].con.execute(
                        "SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()[0][0]
                except Exception:  # noqa: BLE001 - diagnostics only
                    pass
                samples.append((done, rss_now_kib(), pa.total_allocated_bytes(), duck))
                nxt[0] = done + step

        t0 = time.perf_counter()
        with Store.open(tmp / "store", create=True) as s:
            store_ref.append(s)
            res = ingest_paths(s, [path], progress=progress)
        wall = time.perf_counter() - t0
        r = res[0]
        if r.status != "ingested":
            raise RuntimeError(f"ingest status {r.status}: {r.error}")
        store_bytes = _dir_bytes(tmp / "store")
        return {"import_s": t_import, "warm_s": t_warm, "ingest_s": wall, "counts": dict(r.counts),
                "reasons": dict(r.reasons), "balanced": r.balanced, "store_bytes": store_bytes,
                "rss_ready_kib": rss_ready, "rss_samples_kib": samples, "maxrss_kib": maxrss_kib()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class _Timers:
    def __init__(self):
        self.t: dict[str, float] = {}
        self.n: dict[str, int] = {}

    def add(self, k, dt):
        self.t[k] = self.t.get(k, 0.0) + dt
        self.n[k] = self.n.get(k, 0) + 1

    def wrap(self, owner, attr, key):
        fn = getattr(owner, attr, None)
        if fn is None:
            return False

        def timed(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.add(key, time.perf_counter() - t)
        setattr(owner, attr, timed)
        return True

    def wrap_gen(self, owner, attr, key):
        fn = getattr(owner, attr, None)
        if fn is None:
            return False

        def timed(*a, **kw):
            it = fn(*a, **kw)
            while True:
                t = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    self.add(key, time.perf_counter() - t)
                    return
                self.add(key, time.perf_counter() - t)
                yield item
        setattr(owner, attr, timed)
        return True


def worker_profile(path: str) -> dict:
    """The 1M ingest with each stage timed (wrappers installed after the warm-up, so kernels are loaded)."""
    from watchkeeper.ingest import batch, framing, multipart, nmea, pipeline, sixbit
    from watchkeeper.store import Store, catalogue, parquet

    tmp = Path(tempfile.mkdtemp(prefix="wk-profile-"))
    try:
        _warm(tmp)
        T = _Timers()
        missing = []
        plan = [
            (pipeline, "sha256_file", "hash: sha256 of the input"),
            (pipeline, "head_bytes", "sniff: head_bytes + detect_format"),
            (pipeline, "detect_format", "sniff: head_bytes + detect_format"),
            (catalogue.Store, "find_source", "duckdb: ledger (find/begin/complete)"),
            (catalogue.Store, "begin_source", "duckdb: ledger (find/begin/complete)"),
            (catalogue.Store, "complete_source", "duckdb: ledger (find/begin/complete)"),
            (catalogue.Store, "add_quarantine", "duckdb: quarantine INSERT"),
            (parquet.SourceWriter, "write", "parquet: SourceWriter.write (split by day + write_table)"),
            (parquet.SourceWriter, "publish", "parquet: publish (close writers, rename)"),
            (nmea.Decoder, "feed", "decode: Decoder.feed (total)"),
            (framing, "frame_lines", "  kernel: framing.frame_lines"),
            (multipart, "assemble", "  kernel: multipart.assemble"),
            (multipart, "dedup", "  kernel: multipart.dedup"),
            (nmea, "_decode", "  nmea._decode (kernel + Arrow tables)"),
            (sixbit, "decode_messages", "    kernel: sixbit.decode_messages"),
            (sixbit, "decode_blocks", "    kernel: sixbit.decode_blocks (parallel)"),
            (batch.QuarantineBuilder, "add", "  quarantine rows: QuarantineBuilder.add"),
            (batch.QuarantineBuilder, "add_many", "  quarantine rows: QuarantineBuilder.add_many"),
            (batch.QuarantineBuilder, "table", "  quarantine rows: QuarantineBuilder.table"),
            (parquet, "split_by_day", "    parquet: split_by_day"),
        ]
        for owner, attr, key in plan:
            if not T.wrap(owner, attr, key):
                missing.append(f"{getattr(owner, '__name__', owner)}.{attr}")
        if not T.wrap_gen(nmea, "iter_blocks", "read: iter_blocks (file read, line split)"):
            missing.append("nmea.iter_blocks")
        t0 = time.perf_counter()
        with Store.open(tmp / "store", create=True) as s:
            t1 = time.perf_counter()
            res = pipeline.ingest_paths(s, [path])
            t2 = time.perf_counter()
        t3 = time.perf_counter()
        r = res[0]
        return {"store_open_s": t1 - t0, "ingest_s": t2 - t1, "close_s": t3 - t2, "timers_s": T.t, "calls": T.n,
                "not_wrapped": missing, "positions": r.counts["positions"], "lines_in": r.counts["lines_in"],
                "quarantine_rows": sum(r.reasons.values())}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def worker_cprofile(path: str) -> dict:
    import cProfile
    import io
    import pstats

    from watchkeeper.ingest.pipeline import ingest_paths
    from watchkeeper.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="wk-cprofile-"))
    try:
        _warm(tmp)
        pr = cProfile.Profile()
        with Store.open(tmp / "store", create=True) as s:
            pr.enable()
            ingest_paths(s, [path])
            pr.disable()
        out = io.StringIO()
        st = pstats.Stats(pr, stream=out)
        st.sort_stats("tottime").print_stats(25)
        tot = io.StringIO()
        pstats.Stats(pr, stream=tot).sort_stats("cumulative").print_stats(30)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "ingest-cprofile.txt").write_text(out.getvalue() + "\n\n" + tot.getvalue())
        return {"total_tt": st.total_tt, "report": str(RESULTS / "ingest-cprofile.txt")}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def worker_cli(path: str) -> dict:
    """``watchkeeper ingest PATH --db NEW -q`` in this process, timed from interpreter start (imports included)."""
    t = time.perf_counter()
    from watchkeeper.cli import main
    tmp = Path(tempfile.mkdtemp(prefix="wk-cli-"))
    sys.argv = ["watchkeeper", "ingest", path, "--db", str(tmp / "store"), "-q"]
    import contextlib
    import io
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            try:
                main()
            except SystemExit as e:
                if e.code not in (0, None):
                    raise RuntimeError(f"watchkeeper ingest exited {e.code}: {buf.getvalue()[-2000:]}") from None
        return {"wall_s": time.perf_counter() - t, "maxrss_kib": maxrss_kib(), "output_tail": buf.getvalue()[-600:]}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


WORKERS = {"ingest": worker_ingest, "profile": worker_profile, "cprofile": worker_cprofile, "cli": worker_cli}


# --- driver ----------------------------------------------------------------------------------------------
def _summarise_profile(p: dict) -> list[tuple[str, float, float]]:
    T = p["timers_s"]
    total = p["ingest_s"]
    rows = []
    order = list(T)
    # top-level stages (no indent) account for the total; indented ones are parts of "Decoder.feed"
    top = [k for k in order if not k.startswith(" ")]
    for k in sorted(top, key=lambda k: -T[k]):
        rows.append((k, T[k], T[k] / total))
    rows.append(("other (counters, generator plumbing, unwrapped)", total - sum(T[k] for k in top),
                 (total - sum(T[k] for k in top)) / total))
    feed = T.get("decode: Decoder.feed (total)", 0.0)
    parts = [k for k in order if k.startswith("  ") and not k.startswith("    ")]
    for k in sorted(parts, key=lambda k: -T[k]):
        rows.append((k, T[k], T[k] / total))
    rows.append(("  feed, rest (array allocation, line split, counting)", feed - sum(T[k] for k in parts),
                 (feed - sum(T[k] for k in parts)) / total))
    for k in [k for k in order if k.startswith("    ")]:
        rows.append((k, T[k], T[k] / total))
    dec = T.get("  nmea._decode (kernel + Arrow tables)")
    dm = T.get("    kernel: sixbit.decode_messages", 0.0) + T.get("    kernel: sixbit.decode_blocks (parallel)", 0.0)
    if dec is not None and dm:
        rows.append(("    Arrow table building (_decode minus kernel)", dec - dm, (dec - dm) / total))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Ingest throughput and memory of Watchkeeper.")
    ap.add_argument("--sentences", type=int, default=1_000_000)
    ap.add_argument("--corpus", type=Path, help="use this file instead of bench/corpus/corpus-N.nmea")
    ap.add_argument("--runs", type=int, default=3, help="timed 1M ingests (best and median reported)")
    ap.add_argument("--repeat", type=int, default=20, help="copies of the corpus for the memory run")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-profile", action="store_true")
    ap.add_argument("--keep-big", action="store_true", help="keep the big corpus file afterwards")
    ap.add_argument("--worker", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        print(json.dumps(WORKERS[a.worker[0]](a.worker[1]), default=str))
        return 0

    import corpus as corpus_mod

    path = a.corpus or corpus_mod.ensure(a.sentences)
    n_lines = count_lines(path)
    src, src_hash = snapshot_src()
    me = Path(__file__).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="wk-bench-"))
    env = {"NUMBA_CACHE_DIR": str(tmp / "numba-cache")}

    def wk(name, p, **kw):
        return run_worker(me, name, [str(p)], pythonpath=src, env=env, **kw)

    res: dict = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": machine(),
                 "git": {**git_state(), "src_snapshot_sha256": src_hash}, "versions": versions(sys.executable, src),
                 "corpus": {"path": str(path), "lines": n_lines, "bytes": path.stat().st_size}}
    print(f"corpus: {path} ({n_lines:,} lines); src snapshot {src_hash}", flush=True)

    # compile once (empty cache), not timed as ingest
    first = wk("cli", path)
    res["cli_cold"] = first
    print(f"watchkeeper ingest (CLI, empty kernel cache: compile included): {first['wall_s']:.1f} s", flush=True)
    cli = wk("cli", path)
    res["cli_warm"] = cli
    print(f"watchkeeper ingest (CLI, new process, cached kernels): {cli['wall_s']:.2f} s, "
          f"maxrss {cli['maxrss_kib'] / 1024:.0f} MiB", flush=True)

    runs = []
    for _ in range(max(1, a.runs)):
        r = wk("ingest", path)
        r["positions_per_s"] = r["counts"]["positions"] / r["ingest_s"]
        r["lines_per_s"] = r["counts"]["lines_in"] / r["ingest_s"]
        runs.append(r)
        print(f"ingest {n_lines:,} lines: {r['ingest_s']:.2f} s, {r['positions_per_s']:,.0f} positions/s, "
              f"{r['lines_per_s']:,.0f} lines/s, maxrss {r['maxrss_kib'] / 1024:.0f} MiB "
              f"[other processes: {r['foreign_cpu_s']} cpu-s]", flush=True)
    best = min(runs, key=lambda r: r["ingest_s"])
    med = sorted(runs, key=lambda r: r["ingest_s"])[len(runs) // 2]
    res["ingest"] = {"runs": runs, "best": best, "positions_per_s": best["positions_per_s"],
                     "positions_per_s_median": med["positions_per_s"], "lines_per_s": best["lines_per_s"]}

    if not a.skip_profile:
        p = wk("profile", path)
        res["profile"] = p
        res["profile_table"] = _summarise_profile(p)
        print(f"\nprofile (instrumented run, {p['ingest_s']:.2f} s; wrappers add a little):")
        for k, s, f in res["profile_table"]:
            print(f"  {k:62s} {s:7.3f} s {100 * f:5.1f}%")
        if p["not_wrapped"]:
            print(f"  (not found, not wrapped: {', '.join(p['not_wrapped'])})")
        c = wk("cprofile", path)
        res["cprofile"] = c
        print(f"cProfile report: {c['report']}", flush=True)

    if not a.skip_memory:
        import shutil as sh
        big = corpus_mod.default_path(n_lines, a.repeat)
        need = path.stat().st_size * a.repeat
        free = sh.disk_usage(big.parent).free
        if free < need * 1.5:
            res["memory"] = {"status": f"skipped: {need / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free"}
        else:
            made = not big.exists()
            if made:
                corpus_mod.repeat_file(path, big, a.repeat)
            try:
                m = wk("ingest", big, timeout=1800, wrap=["/usr/bin/time", "-v"] if os.path.exists("/usr/bin/time")
                       else None)
                m["positions_per_s"] = m["counts"]["positions"] / m["ingest_s"]
                m["lines"] = m["counts"]["lines_in"]
                res["memory"] = m
                print(f"\nmemory run: {m['lines']:,} lines in {m['ingest_s']:.1f} s, "
                      f"{m['positions_per_s']:,.0f} positions/s, peak RSS {m['maxrss_kib'] / 1024:.0f} MiB "
                      f"(time -v: {m.get('time_v_maxrss_kib', 0) / 1024:.0f} MiB) [other processes: {m['foreign_cpu_s']} cpu-s]",
                      flush=True)
            finally:
                if made and not a.keep_big:
                    big.unlink(missing_ok=True)

    res["machine"]["loadavg_at_end"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(res, indent=2, default=str))
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(src, ignore_errors=True)
    print_table(res)
    return 0


def print_table(res: dict) -> None:
    ing = res["ingest"]
    b = ing["best"]
    print(f"\n{'measure':44s} value")
    print(f"{'ingest positions/s (best of runs)':44s} {ing['positions_per_s']:,.0f}")
    print(f"{'ingest positions/s (median)':44s} {ing['positions_per_s_median']:,.0f}")
    print(f"{'ingest lines/s (best)':44s} {ing['lines_per_s']:,.0f}")
    print(f"{'ingest peak RSS, 1M lines (MiB)':44s} {b['maxrss_kib'] / 1024:,.0f}")
    print(f"{'store size on disk (MB)':44s} {b['store_bytes'] / 1e6:,.1f}")
    print(f"{'CLI end to end, cached kernels (s)':44s} {res['cli_warm']['wall_s']:.2f}")
    m = res.get("memory", {})
    if "maxrss_kib" in m:
        print(f"{'ingest peak RSS, ' + format(m['lines'], ',') + ' lines (MiB)':44s} {m['maxrss_kib'] / 1024:,.0f}")
    elif m:
        print(f"{'memory run':44s} {m.get('status')}")


if __name__ == "__main__":
    sys.exit(main())
