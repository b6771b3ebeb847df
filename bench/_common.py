"""Helpers shared by the benchmarks (standard library only: the libais worker imports this module too)."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"


def rss_now_kib() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def maxrss_kib() -> int:
    """Peak RSS of this process in KiB: ``VmHWM`` (the high-water mark of this process's own memory map).

    ``ru_maxrss`` is not used on Linux: after fork + exec it starts from the parent's RSS, which inflates the
    peak of a small worker started by a bigger parent.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def snapshot_src() -> tuple[Path, str]:
    """Copy ``src/watchkeeper`` to a temporary folder so every worker of one run measures the same code.

    Returns the folder to put on PYTHONPATH and a short hash of the copied sources.
    """
    dst = Path(tempfile.mkdtemp(prefix="wk-src-"))
    atexit.register(shutil.rmtree, dst, ignore_errors=True)  # the copy and its compiled kernels go at exit
    shutil.copytree(ROOT / "src" / "watchkeeper", dst / "watchkeeper",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"))
    h = hashlib.sha256()
    for p in sorted((dst / "watchkeeper").rglob("*.py")):
        h.update(p.relative_to(dst).as_posix().encode())
        h.update(p.read_bytes())
    return dst, h.hexdigest()[:12]


def _cpu_busy_s() -> float:
    """CPU seconds spent busy (all CPUs, all processes) since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def wait_idle(max_wait_s: float = 120.0, busy_below: float = 0.15) -> float:
    """Wait (up to max_wait_s) until the machine is idle: other sessions share these CPUs. Returns seconds waited."""
    t0 = time.perf_counter()
    ncpu = os.cpu_count() or 1
    while time.perf_counter() - t0 < max_wait_s:
        b0 = _cpu_busy_s()
        time.sleep(1.0)
        if (_cpu_busy_s() - b0) / ncpu < busy_below:
            break
    return time.perf_counter() - t0


def run_worker(script: Path, name: str, args: list[str], *, python: str = sys.executable,
               pythonpath: Path | None = None, env: dict | None = None, timeout: int = 900,
               wrap: list[str] | None = None, idle_wait_s: float = 120.0) -> dict:
    """Run ``python script --worker name args...`` and return the JSON dict it prints last.

    Waits for an idle machine first, and reports ``foreign_cpu_s``: CPU time that other processes used while the
    worker ran (0 on a quiet machine; a large value means the timing was disturbed).
    """
    waited = wait_idle(idle_wait_s) if idle_wait_s else 0.0
    e = dict(os.environ)
    if pythonpath is not None:
        e["PYTHONPATH"] = str(pythonpath)
    if env:
        e.update(env)
    t = time.perf_counter()
    busy0, mine0 = _cpu_busy_s(), _children_cpu_s()
    cmd = [*(wrap or []), python, str(script), "--worker", name, *args]
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=timeout)
    wall = time.perf_counter() - t
    busy, mine = _cpu_busy_s() - busy0, _children_cpu_s() - mine0
    if p.returncode != 0:
        raise RuntimeError(f"{name} worker failed ({p.returncode}):\n{p.stderr[-3000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = wall
    out["worker_cpu_s"] = round(mine, 2)
    out["foreign_cpu_s"] = round(max(0.0, busy - mine), 2)
    out["idle_wait_s"] = round(waited, 1)
    if wrap and wrap[0].endswith("time"):
        for line in p.stderr.splitlines():
            if "Maximum resident set size" in line:
                out["time_v_maxrss_kib"] = int(line.split(":")[1])
    return out


def machine() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            k, _, v = line.partition(":")
            if k.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "L2 cache", "L3 cache"):
                info[k.strip()] = v.strip()
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            info["MemTotal"] = f.readline().split(":")[1].strip()
    except OSError:
        pass
    info["loadavg_at_start"] = os.getloadavg()
    return info


def git_state() -> dict:
    def g(*a):
        try:
            return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""
    return {"head": g("rev-parse", "--short", "HEAD"), "dirty_src": g("status", "--short", "src")}


def versions(python: str, pythonpath: Path | None = None) -> dict:
    code = ("import json,importlib.util as u,importlib.metadata as m;print(json.dumps({p: m.version(p) for p in "
            "['numba','numpy','pyarrow','pyais','duckdb','llvmlite'] if u.find_spec(p)}))")
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    try:
        return json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True, env=env).stdout)
    except Exception:  # noqa: BLE001
        return {}


def head_file(src: Path, n: int, dst: Path) -> Path:
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        for i, line in enumerate(fi):
            if i >= n:
                break
            fo.write(line)
    return dst


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        while block := f.read(16 << 20):
            n += block.count(b"\n")
    return n
