"""Decode throughput, side by side on one corpus file: Watchkeeper, pyais and (if it installs) libais.

Each decoder runs in its own subprocess so that its peak RSS (``ru_maxrss``) is its own.

* Watchkeeper: ``for b in read_nmea(path, 1)`` summing ``b.counts`` - framing, checksums, tag-block times,
  multi-sentence reassembly, duplicate suppression, 6-bit decode and Arrow tables of positions, statics and
  quarantine. A first process with an empty ``NUMBA_CACHE_DIR`` measures the one-time compile; the timed runs are
  later processes that load the compiled kernels from that cache.
* pyais: ``pyais.stream.FileReaderStream(path)`` (checksums, tag blocks, multi-sentence assembly) and
  ``msg.decode()`` per message, exceptions caught per message, tag block parsed (``tag_block.init()``) when
  present so that the reception time is read as Watchkeeper reads it.
* libais: ``ais.decode(payload, fill)`` on one-sentence lines only (no checksum, no multi-sentence messages, no
  tag-block time), from a separate venv (``/tmp/libais-venv``, created with ``pip install libais``).

A cross-check then decodes the first ``--check-lines`` lines with both Watchkeeper and pyais (line by line) and
compares fields and accepted/rejected lines.

Usage::

    python bench/decode.py [--sentences N] [--skip-libais] [--pyais-lines N] [--check-lines N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (RESULTS, count_lines, git_state, head_file, machine, maxrss_kib,  # noqa: E402
                     rss_now_kib, run_worker, snapshot_src, versions)

LIBAIS_VENV = Path("/tmp/libais-venv")


# --- workers (run in subprocesses) -----------------------------------------------------------------------
def worker_watchkeeper(path: str) -> dict:
    t = time.perf_counter()
    from collections import Counter

    from watchkeeper.ingest.nmea import Decoder, read_nmea
    t_import = time.perf_counter() - t
    # one tiny chunk: compiles the kernels (empty cache) or loads them from the cache
    t = time.perf_counter()
    Decoder(1).feed(b"!AIVDM,1,1,,A,15M67F@01sG@9s0E`Ah4lSi5P000,0*5E\n", final=True)
    t_first = time.perf_counter() - t
    rss_ready = rss_now_kib()
    t = time.perf_counter()
    counts: Counter = Counter()
    batches = 0
    for b in read_nmea(path, 1):
        counts.update(b.counts)
        batches += 1
    wall = time.perf_counter() - t
    return {"import_s": t_import, "first_call_s": t_first, "decode_s": wall, "batches": batches,
            "counts": dict(counts), "rss_ready_kib": rss_ready, "maxrss_kib": maxrss_kib()}


def worker_pyais(path: str) -> dict:
    t = time.perf_counter()
    from collections import Counter

    from pyais.stream import FileReaderStream
    t_import = time.perf_counter() - t
    types: Counter = Counter()
    errors: Counter = Counter()
    n_tag = 0
    lines = 0
    with open(path, "rb") as f:
        for _ in f:
            lines += 1
    t = time.perf_counter()
    with FileReaderStream(path) as stream:
        for msg in stream:
            try:
                m = msg.decode()
                types[m.msg_type] += 1
                if msg.tag_block is not None:
                    msg.tag_block.init()
                    if msg.tag_block.receiver_timestamp:
                        n_tag += 1
            except Exception as exc:  # noqa: BLE001 - count and go on, as a user would
                errors[type(exc).__name__] += 1
    wall = time.perf_counter() - t
    return {"import_s": t_import, "decode_s": wall, "lines": lines, "messages": sum(types.values()),
            "by_type": {str(k): v for k, v in sorted(types.items())}, "errors": dict(errors),
            "with_tag_time": n_tag, "maxrss_kib": maxrss_kib()}


def worker_libais(path: str) -> dict:
    t = time.perf_counter()
    import ais  # noqa: F401 - the libais module
    from collections import Counter
    t_import = time.perf_counter() - t
    decode = ais.decode
    types: Counter = Counter()
    errors = 0
    multi = 0
    other = 0
    lines = 0
    t = time.perf_counter()
    with open(path, "rb") as f:
        for raw in f:
            lines += 1
            s = raw.rstrip(b"\r\n")
            if s[:1] == b"\\":
                k = s.find(b"\\", 1)
                if k < 0:
                    other += 1
                    continue
                s = s[k + 1:]
            parts = s.split(b",")
            if len(parts) != 7 or not parts[0].endswith(b"VDM"):
                other += 1
                continue
            if parts[1] != b"1":
                multi += 1
                continue
            try:
                m = decode(parts[5].decode("ascii"), int(parts[6][:1]))
                types[m["id"]] += 1
            except Exception:  # noqa: BLE001
                errors += 1
    wall = time.perf_counter() - t
    return {"import_s": t_import, "decode_s": wall, "lines": lines, "messages": sum(types.values()),
            "by_type": {str(k): v for k, v in sorted(types.items())}, "errors": errors,
            "skipped_multipart_lines": multi, "skipped_other_lines": other, "maxrss_kib": maxrss_kib()}


def worker_check(path: str) -> dict:
    """Field-by-field comparison of Watchkeeper rows with pyais decoding the same line(s)."""
    from collections import Counter

    import numpy as np
    import pyarrow as pa
    from pyais.messages import AISSentence, NMEASentenceFactory

    from watchkeeper.ingest.nmea import read_nmea

    with open(path, "rb") as f:
        raw_lines = f.read().split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    pos, sta, qua = [], [], []
    counts: Counter = Counter()
    for b in read_nmea(path, 1):
        pos.append(b.positions)
        sta.append(b.statics)
        qua.append(b.quarantine)
        counts.update(b.counts)
    pos_t = pa.concat_tables(pos).to_pylist()
    sta_t = pa.concat_tables(sta).to_pylist()
    qua_t = pa.concat_tables(qua).to_pylist()

    def py_sentence(line: bytes):
        try:
            return NMEASentenceFactory.produce(line)
        except Exception:  # noqa: BLE001
            return None

    mism: Counter = Counter()
    examples: dict[str, str] = {}

    def bad(field, ln, a, b):
        mism[field] += 1
        examples.setdefault(field, f"line {ln}: watchkeeper={a!r} pyais={b!r}")

    def close(a, b, tol):
        if a is None or b is None:
            return a is None and b is None
        return abs(float(a) - float(b)) <= tol

    wk_lines = set()
    n_pos = 0
    for r in pos_t:
        ln = r["line"]
        wk_lines.update(range(ln, r["line_last"] + 1))
        s = py_sentence(raw_lines[ln - 1])
        try:
            m = s.decode()
        except Exception as exc:  # noqa: BLE001
            bad("pyais_cannot_decode_row", ln, "row", type(exc).__name__)
            continue
        n_pos += 1
        if r["mmsi"] != m.mmsi:
            bad("mmsi", ln, r["mmsi"], m.mmsi)
        lat = None if m.lat == 91 else m.lat
        lon = None if m.lon == 181 else m.lon
        if not close(r["lat"], lat, 2e-6):
            bad("lat", ln, r["lat"], m.lat)
        if not close(r["lon"], lon, 2e-6):
            bad("lon", ln, r["lon"], m.lon)
        sp = getattr(m, "speed", None)
        sp = None if sp is None or sp >= 102.3 or (m.msg_type == 27 and sp == 63) else sp
        if not close(r["sog_kn"], sp, 0.051):
            bad(f"sog_type{m.msg_type}", ln, r["sog_kn"], getattr(m, "speed", None))
        co = getattr(m, "course", None)
        co = None if co is None or co >= 360 or (m.msg_type == 27 and co == 511) else co
        if not close(r["cog_deg"], co, 0.051):
            bad(f"cog_type{m.msg_type}", ln, r["cog_deg"], getattr(m, "course", None))
        hd = getattr(m, "heading", None)
        hd = None if hd is None or hd >= 360 else hd
        if r["heading_deg"] != hd:
            bad(f"heading_type{m.msg_type}", ln, r["heading_deg"], getattr(m, "heading", None))
        if s.tag_block is not None:
            s.tag_block.init()
            want = int(s.tag_block.receiver_timestamp) if s.tag_block.receiver_timestamp else None
            got = None if r["ts"] is None else int(r["ts"].timestamp())
            if got != want:
                bad("ts", ln, got, want)
        elif r["ts"] is not None:
            bad("ts_without_tag", ln, r["ts"], None)

    n_sta = 0
    for r in sta_t:
        ln, ll = r["line"], r["line_last"]
        wk_lines.update(range(ln, ll + 1))
        if ll == ln:
            sents = [py_sentence(raw_lines[ln - 1])]
        else:
            # the parts may be out of order, and another message may sit between them
            first = py_sentence(raw_lines[ln - 1])
            frag = [py_sentence(raw_lines[i - 1]) for i in range(ln, ll + 1)]
            sents = sorted((f for f in frag if f is not None and getattr(f, "frag_cnt", 1) > 1
                            and f.seq_id == getattr(first, "seq_id", None)), key=lambda f: f.frag_num)
        try:
            m = (AISSentence.assemble_from_iterable(sents).decode() if len(sents) > 1 else sents[0].decode())
        except Exception as exc:  # noqa: BLE001
            bad("pyais_cannot_decode_static", ln, "row", type(exc).__name__)
            continue
        n_sta += 1
        if r["mmsi"] != m.mmsi:
            bad("static_mmsi", ln, r["mmsi"], m.mmsi)
        for wk, py in (("shipname", "shipname"), ("callsign", "callsign"), ("destination", "destination")):
            v = getattr(m, py, None)
            v = (v or "").strip() or None
            if r["msg_type"] == 24 and v is None:
                continue
            if r[wk] != v:
                bad(f"{wk}_type{r['msg_type']}", ln, r[wk], v)
        for wk, py in (("to_bow_m", "to_bow"), ("to_stern_m", "to_stern"), ("to_port_m", "to_port"),
                       ("to_starboard_m", "to_starboard")):
            v = getattr(m, py, None)
            v = None if not v else v
            if r["msg_type"] == 24 and getattr(m, "partno", 0) == 0:
                continue
            if r[wk] != v:
                bad(f"{wk}_type{r['msg_type']}", ln, r[wk], v)
        if r["msg_type"] == 5:
            if not close(r["draught_m"], m.draught or None, 0.051):
                bad("draught", ln, r["draught_m"], m.draught)
            if r["imo"] != (m.imo or None):
                bad("imo", ln, r["imo"], m.imo)

    # accepted/rejected disagreements, line by line (duplicates are accounted, not listed, by Watchkeeper)
    q_lines: dict[int, str] = {}
    for r in qua_t:
        for k in range(r["n_lines"]):
            q_lines[r["line"] + k] = r["reason"]
    py_ok = set()
    py_multi = set()
    for i, line in enumerate(raw_lines, 1):
        s = py_sentence(line)
        if s is None or not hasattr(s, "is_single"):
            continue
        if not s.is_single:
            py_multi.add(i)
            continue
        try:
            s.decode()
            py_ok.add(i)
        except Exception:  # noqa: BLE001
            pass
    # pyais's own stream assembly of multi-sentence messages, against Watchkeeper's type-5 rows
    from pyais.stream import FileReaderStream
    wk5 = {(r["mmsi"], r["imo"], r["destination"]) for r in sta_t if r["msg_type"] == 5}
    py5 = 0
    py5_unmatched = []
    with FileReaderStream(path) as stream:
        for msg in stream:
            if msg.is_single:
                continue
            try:
                m = msg.decode()
            except Exception:  # noqa: BLE001
                continue
            if m.msg_type != 5:
                continue
            py5 += 1
            key = (m.mmsi, m.imo or None, (m.destination or "").strip() or None)
            if key not in wk5:
                py5_unmatched.append(f"mmsi={m.mmsi} imo={m.imo} destination={m.destination!r}")
    only_py = sorted(py_ok - wk_lines)
    only_py_not_dup = [i for i in only_py if i in q_lines]
    reasons_only_py = Counter(q_lines[i] for i in only_py_not_dup)
    only_wk = sorted(i for i in wk_lines - py_ok if i not in py_multi)
    return {
        "lines": len(raw_lines), "counts": dict(counts), "positions_compared": n_pos, "statics_compared": n_sta,
        "field_mismatches": dict(mism), "mismatch_examples": examples,
        "pyais_ok_single_lines": len(py_ok),
        "pyais_ok_but_watchkeeper_quarantined": len(only_py_not_dup),
        "pyais_ok_but_watchkeeper_quarantined_by_reason": dict(reasons_only_py),
        "pyais_ok_but_watchkeeper_quarantined_examples": [raw_lines[i - 1].decode("latin-1")
                                                          for i in only_py_not_dup[:5]],
        "pyais_ok_but_watchkeeper_duplicate": len(only_py) - len(only_py_not_dup),
        "watchkeeper_row_but_pyais_fails_single_lines": len(only_wk),
        "watchkeeper_row_but_pyais_fails_examples": [raw_lines[i - 1].decode("latin-1") for i in only_wk[:5]],
        "quarantine_reasons": dict(Counter(r["reason"] for r in qua_t)),
        "type5_watchkeeper": sum(1 for r in sta_t if r["msg_type"] == 5),
        "type5_pyais_stream": py5,
        "type5_pyais_stream_not_in_watchkeeper": len(py5_unmatched),
        "type5_pyais_stream_not_in_watchkeeper_examples": py5_unmatched[:5],
        "np": np.__version__,
    }


WORKERS = {"watchkeeper": worker_watchkeeper, "pyais": worker_pyais, "libais": worker_libais,
           "check": worker_check}


# --- driver ----------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Decode throughput: Watchkeeper vs pyais vs libais.")
    ap.add_argument("--sentences", type=int, default=1_000_000)
    ap.add_argument("--corpus", type=Path, help="use this file instead of bench/corpus/corpus-N.nmea")
    ap.add_argument("--skip-libais", action="store_true")
    ap.add_argument("--pyais-lines", type=int, default=0,
                    help="time pyais on the first N lines only and extrapolate (0: the whole corpus)")
    ap.add_argument("--check-lines", type=int, default=200_000, help="lines for the cross-check (0: skip)")
    ap.add_argument("--warm-runs", type=int, default=5, help="timed Watchkeeper runs (best is reported)")
    ap.add_argument("--other-runs", type=int, default=2, help="timed pyais and libais runs (best is reported)")
    ap.add_argument("--gzip", action="store_true", help="also time Watchkeeper on the .gz corpus")
    ap.add_argument("--worker", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        print(json.dumps(WORKERS[a.worker[0]](a.worker[1])))
        return 0

    import corpus as corpus_mod

    path = a.corpus or corpus_mod.ensure(a.sentences, gz=a.gzip)
    n_lines = count_lines(path)
    src, src_hash = snapshot_src()
    me = Path(__file__).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="wk-bench-"))
    cache = tmp / "numba-cache"
    env = {"NUMBA_CACHE_DIR": str(cache)}

    def wk(name, p, **kw):
        return run_worker(me, name, [str(p)], pythonpath=src, **kw)

    res: dict = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": machine(),
                 "git": {**git_state(), "src_snapshot_sha256": src_hash}, "versions": versions(sys.executable, src),
                 "corpus": {"path": str(path), "lines": n_lines, "bytes": path.stat().st_size}}
    print(f"corpus: {path} ({n_lines:,} lines, {path.stat().st_size / 1e6:.1f} MB); src snapshot {src_hash}",
          flush=True)

    # Watchkeeper: cold (empty numba cache) then warm runs on the same cache
    cold = wk("watchkeeper", path, env=env)
    print(f"watchkeeper cold: first call {cold['first_call_s']:.1f} s (compile), decode {cold['decode_s']:.2f} s",
          flush=True)
    warm = []
    for _ in range(max(1, a.warm_runs)):
        w = wk("watchkeeper", path, env=env)
        warm.append(w)
        print(f"watchkeeper warm: first call {w['first_call_s']:.2f} s (cache load), decode {w['decode_s']:.2f} s, "
              f"maxrss {w['maxrss_kib'] / 1024:.0f} MiB [other processes: {w['foreign_cpu_s']} cpu-s]", flush=True)
    best = min(warm, key=lambda w: w["decode_s"])
    res["watchkeeper"] = {"cold": cold, "warm_runs": warm, "best": best,
                          "decode_s_all": [w["decode_s"] for w in warm],
                          "compile_s": cold["first_call_s"] - best["first_call_s"],
                          "sentences_per_s": n_lines / best["decode_s"],
                          "sentences_per_s_median": n_lines / sorted(w["decode_s"] for w in warm)[len(warm) // 2],
                          "messages_per_s": best["counts"].get("messages", 0) / best["decode_s"]}
    if a.gzip:
        gz = Path(str(path) + ".gz")
        if gz.exists():
            g = wk("watchkeeper", gz, env=env)
            res["watchkeeper_gzip"] = {**g, "sentences_per_s": n_lines / g["decode_s"]}
            print(f"watchkeeper .gz: decode {g['decode_s']:.2f} s", flush=True)

    # pyais
    p_path = path
    if a.pyais_lines and a.pyais_lines < n_lines:
        p_path = head_file(path, a.pyais_lines, tmp / "pyais-head.nmea")
    py_runs = [run_worker(me, "pyais", [str(p_path)], timeout=1800) for _ in range(max(1, a.other_runs))]
    py = dict(min(py_runs, key=lambda r: r["decode_s"]))
    py["decode_s_all"] = [r["decode_s"] for r in py_runs]
    py["foreign_cpu_s_all"] = [r["foreign_cpu_s"] for r in py_runs]
    py["extrapolated"] = p_path != path
    py["sentences_per_s"] = py["lines"] / py["decode_s"]
    res["pyais"] = py
    print(f"pyais: {py['lines']:,} lines in {py['decode_s']:.2f} s, maxrss {py['maxrss_kib'] / 1024:.0f} MiB "
          f"[other processes: {py['foreign_cpu_s']} cpu-s]", flush=True)
    res["ratio_watchkeeper_over_pyais"] = res["watchkeeper"]["sentences_per_s"] / py["sentences_per_s"]

    # libais
    if a.skip_libais:
        res["libais"] = {"status": "skipped (--skip-libais)"}
    else:
        lpy = LIBAIS_VENV / "bin" / "python"
        if not lpy.exists():
            r = subprocess.run([sys.executable, "-m", "venv", str(LIBAIS_VENV)], capture_output=True, text=True)
            if r.returncode == 0:
                r = subprocess.run([str(lpy), "-m", "pip", "install", "-q", "libais"], capture_output=True,
                                   text=True)
            if r.returncode != 0:
                res["libais"] = {"status": "did not install: " + (r.stderr.strip().splitlines() or ["?"])[-1]}
        if "libais" not in res:
            try:
                la_runs = [run_worker(me, "libais", [str(path)], python=str(lpy)) for _ in range(max(1, a.other_runs))]
                la = dict(min(la_runs, key=lambda r: r["decode_s"]))
                la["decode_s_all"] = [r["decode_s"] for r in la_runs]
                la["status"] = "ok"
                la["version"] = subprocess.run([str(lpy), "-c", "import importlib.metadata as m;"
                                                "print(m.version('libais'))"], capture_output=True,
                                               text=True).stdout.strip()
                la["sentences_per_s"] = la["lines"] / la["decode_s"]
                res["libais"] = la
                print(f"libais: {la['lines']:,} lines in {la['decode_s']:.2f} s [other processes: {la['foreign_cpu_s']} cpu-s]",
                      flush=True)
            except Exception as exc:  # noqa: BLE001
                res["libais"] = {"status": f"failed: {str(exc).splitlines()[0]}"}

    # cross-check
    if a.check_lines:
        c_path = head_file(path, a.check_lines, tmp / "check.nmea")
        res["check"] = wk("check", c_path, env=env, timeout=1800)
        print(f"check ({a.check_lines:,} lines): field mismatches {res['check']['field_mismatches']}", flush=True)
    res["machine"]["loadavg_at_end"] = os.getloadavg()
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(src, ignore_errors=True)

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "decode.json").write_text(json.dumps(res, indent=2, default=str))
    print_table(res)
    return 0


def print_table(res: dict) -> None:
    wk = res["watchkeeper"]
    py = res["pyais"]
    la = res.get("libais", {})
    rows = [("decoder", "sentences/s", "vs pyais", "peak RSS MiB", "notes")]
    rows.append(("watchkeeper", f"{wk['sentences_per_s']:,.0f}", f"{res['ratio_watchkeeper_over_pyais']:.1f}x",
                 f"{wk['best']['maxrss_kib'] / 1024:.0f}",
                 f"warm; compile once {wk['cold']['first_call_s']:.1f} s; cache load "
                 f"{wk['best']['first_call_s']:.2f} s"))
    if "watchkeeper_gzip" in res:
        g = res["watchkeeper_gzip"]
        rows.append(("watchkeeper .gz", f"{g['sentences_per_s']:,.0f}",
                     f"{g['sentences_per_s'] / py['sentences_per_s']:.1f}x", f"{g['maxrss_kib'] / 1024:.0f}", ""))
    rows.append(("pyais", f"{py['sentences_per_s']:,.0f}", "1.0x", f"{py['maxrss_kib'] / 1024:.0f}",
                 "first lines, extrapolated" if py["extrapolated"] else "whole corpus"))
    if la.get("status") == "ok":
        rows.append(("libais", f"{la['sentences_per_s']:,.0f}", f"{la['sentences_per_s'] / py['sentences_per_s']:.1f}x",
                     f"{la['maxrss_kib'] / 1024:.0f}", "single-part only, no checksum"))
    else:
        rows.append(("libais", "-", "-", "-", la.get("status", "")))
    w = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(w[i]) if i in (0, 4) else c.rjust(w[i]) for i, c in enumerate(r)))


if __name__ == "__main__":
    sys.exit(main())
