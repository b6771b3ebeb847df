"""The partitioned engine gives the local engine's events, row for row, on simulated and real data.

The local engine (whole store in one process) is the reference. The partitioned engine splits the vessels into
partitions, detects them in worker processes and merges the summaries that span vessels (reception, area runs,
inland cells, encounter pairs); any fault in a merge shows up as a differing event. The merges are also checked
on their own against the unsplit computation.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner
from testdata import CSV_SAMPLES, DATA, NMEA_SAMPLES

from watchkeeper.cli import cli
from watchkeeper.config import Config
from watchkeeper.detect.encounters import adjacency, concat_adjacency, encounter_points
from watchkeeper.detect.gaps import area_runs, merge_area_runs
from watchkeeper.engines.local import run_detection
from watchkeeper.engines.partitioned import MIN_PARALLEL_ROWS, plan_partitions
from watchkeeper.geo.reception import grid_counts, grid_from_counts, reception_grid
from watchkeeper.simulate.scenario import simulate
from watchkeeper.store import Store
from watchkeeper.tracks.segment import segment_tracks

CFG = Config()


def _ingest(db, *args):
    r = CliRunner().invoke(cli, ["ingest", "-q", "--db", str(db), *map(str, args)])
    assert r.exit_code == 0, r.output


def _detect(db, **kw):
    with Store.open(db) as store:
        counts = run_detection(store, CFG, **kw)
        return store.events_table(), counts, store.detect_runs().to_pylist()[-1]["positions"]


def _n_positions(db) -> int:
    with Store.open(db) as store:
        return int(store.relation("positions").count("*").fetchall()[0][0])


def _assert_same(db, partition_rows):
    n = _n_positions(db)
    assert plan_partitions(n, partition_rows, 2) >= 3  # the split really happens
    local, counts, n_local = _detect(db, workers=1, partition_rows=10 * n)
    assert sum(counts.values()) == local.num_rows > 0
    for workers in (2, 1):  # worker processes, and every partition in this process
        part, counts_p, n_part = _detect(db, workers=workers, partition_rows=partition_rows)
        assert counts_p == counts
        assert n_part == n_local == n
        assert part.equals(local), f"workers={workers}: events differ from the local engine's"
    return local


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    root = tmp_path_factory.mktemp("part-sim")
    result = simulate(root / "sim", days=2.0, vessels=14, seed=5)
    db = root / "db"
    _ingest(db, *sorted((root / "sim").glob("*.nmea")))
    return db, result


def test_partitioned_equals_local_on_a_simulated_corridor(simulated):
    db, _ = simulated
    local = _assert_same(db, partition_rows=_n_positions(db) // 4)
    # the scenario exercises the rules that span vessels: encounters, gaps scored by everyone's reception
    types = set(local["type"].to_pylist())
    assert {"encounter", "ais_gap", "port_visit"} <= types


def test_partitioned_equals_local_on_real_samples(tmp_path):
    db = tmp_path / "db"
    _ingest(db, *NMEA_SAMPLES, *CSV_SAMPLES)
    r = CliRunner().invoke(cli, ["ingest", "-q", "--db", str(db), str(DATA / "suez-2021" / "boat-positions.csv.gz"),
                                 "--columns", "mmsi=ID,ts=ais_pos_timestamp,lat=latitude,lon=longitude",
                                 "--time-format", "%d/%m/%Y %H:%M"])
    assert r.exit_code == 0, r.output
    _assert_same(db, partition_rows=max(1000, _n_positions(db) // 5))


def test_cli_detect_workers_and_partitions(simulated):
    """The command line in a fresh process, where the workers are forked from it (no OpenMP threads yet)."""
    import subprocess
    import sys
    from pathlib import Path

    db, _ = simulated
    local, _, _ = _detect(db, workers=1, partition_rows=10**9)
    exe = Path(sys.executable).parent / "watchkeeper"
    r = subprocess.run([str(exe), "detect", "--db", str(db), "--workers", "2", "--partition-rows", "5000"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "detect summary" in r.stdout
    with Store.open(db) as store:
        assert store.events_table().equals(local)
    r = CliRunner().invoke(cli, ["detect", "--db", str(db), "--workers", "0"])
    assert r.exit_code != 0 and "--workers" in r.output


def test_partitioned_after_openmp_uses_a_fork_server(simulated):
    """Once a parallel kernel has run here, forking this process is unsafe: the workers come from a fork server."""
    from watchkeeper.engines import partitioned
    from watchkeeper.geo.gazetteer import load_gazetteer
    from watchkeeper.geo.grid_index import GRID_MIN_QUERIES

    load_gazetteer().nearest(np.full(GRID_MIN_QUERIES, 42.0), np.full(GRID_MIN_QUERIES, 131.0), 10.0)
    assert partitioned.openmp_started()
    db, _ = simulated
    local, _, _ = _detect(db, workers=1, partition_rows=10**9)
    part, _, _ = _detect(db, workers=2, partition_rows=5000)
    assert partitioned.LAST_RUN["forked"] is False and partitioned.LAST_RUN["partitions"] >= 3
    assert part.equals(local)


def test_plan_partitions():
    assert plan_partitions(10, 1000, 1) == 1
    assert plan_partitions(2500, 1000, 1) == 3
    assert plan_partitions(MIN_PARALLEL_ROWS - 1, 10**9, 2) == 1  # small: one process does it all
    assert plan_partitions(MIN_PARALLEL_ROWS, 10**9, 2) == 2  # big enough: split among the workers
    assert plan_partitions(MIN_PARALLEL_ROWS, 10**9, 2, split_small=False) == 1  # unless they cannot be forked
    assert plan_partitions(10**6 + 1, 10**6, 2, split_small=False) == 2  # more than a partition: always split
    assert plan_partitions(3 * 10**6, 10**6, 2) == 4  # a multiple of the workers
    assert plan_partitions(5_000_000, 1_000_000, 2) == 6  # a multiple of the workers
    with pytest.raises(ValueError):
        plan_partitions(10, 0, 1)


# --- the merges on their own ------------------------------------------------------------------------------------
def _tracks(simulated):
    db, _ = simulated
    from watchkeeper.engines.local import read_table
    from watchkeeper.schema import POSITIONS

    with Store.open(db) as store:
        positions = read_table(store, "positions", POSITIONS)
    parity = pa.array(np.asarray(positions["mmsi"].to_numpy()) % 2 == 0)
    return (segment_tracks(positions, CFG), segment_tracks(positions.filter(parity), CFG),
            segment_tracks(positions.filter(pa.compute.invert(parity)), CFG))


def test_reception_counts_add_up(simulated):
    whole, even, odd = _tracks(simulated)
    merged = grid_from_counts([grid_counts(even, CFG), grid_counts(odd, CFG)], CFG)
    assert merged.equals(reception_grid(whole, CFG))


def test_area_runs_merge(simulated):
    whole, even, odd = _tracks(simulated)
    silence = int(float(CFG.ais_gap.area_max_silence_h) * 3.6e9)

    def runs(t):
        p = t.plausible
        return area_runs(p["lat"], p["lon"], p["ts_us"], silence)

    merged = merge_area_runs([runs(even), runs(odd)], silence)
    expect = runs(whole)
    for k in ("cell", "start", "end"):
        np.testing.assert_array_equal(merged[k], expect[k])


def test_area_runs_merge_joins_across_parts():
    # two parts whose positions interleave in one cell: each part alone has silences, together none
    t_a = np.array([0, 4, 8]) * 3_600_000_000
    t_b = np.array([2, 6, 10]) * 3_600_000_000
    silence = 3 * 3_600_000_000
    lat, lon = np.full(3, 40.0), np.full(3, 130.0)
    a, b = area_runs(lat, lon, t_a, silence), area_runs(lat, lon, t_b, silence)
    assert len(a["start"]) == 3 and len(b["start"]) == 3  # gaps of 4 h > 3 h within each part
    m = merge_area_runs([a, b], silence)
    assert m["start"].tolist() == [0] and m["end"].tolist() == [10 * 3_600_000_000]


def _area_runs_sorted(lat, lon, t, silence):
    """The plain definition of area runs: positions sorted by (cell, time), a run breaks where the cell changes or
    the next position comes more than ``silence`` later."""
    from watchkeeper.detect.gaps import AREA_CELL_DEG, _area_cells

    lat_i, lon_i = _area_cells(lat, lon)
    cell = lat_i * (360 // AREA_CELL_DEG) + lon_i
    o = np.lexsort((t, cell))
    c, ts = cell[o], t[o]
    brk = np.flatnonzero(np.r_[True, (c[1:] != c[:-1]) | (np.diff(ts) > silence)])
    return {"cell": c[brk], "start": ts[brk], "end": np.maximum.reduceat(ts, brk)}


@pytest.mark.parametrize("seed", range(4))
def test_area_runs_by_time_bucket_equal_the_sorted_definition(seed):
    """area_runs keeps only each (cell, bucket of one silence)'s earliest and latest time; the runs are those of
    all positions sorted, silences of exactly the limit included (no break) and one microsecond more (a break)."""
    rng = np.random.default_rng(seed)
    silence = int(rng.choice([3_600_000_000, 24 * 3_600_000_000, 7]))
    n = 3000
    lat, lon = rng.uniform(30, 50, n), rng.uniform(120, 150, n)
    t = rng.integers(0, 40 * silence, n)
    t[:40] = t[40:80] + silence  # silences of exactly the limit, in the same cell
    t[80:120] = t[120:160] + silence + 1
    lat[:40], lon[:40], lat[80:120], lon[80:120] = lat[40:80], lon[40:80], lat[120:160], lon[120:160]
    got, want = area_runs(lat, lon, t, silence), _area_runs_sorted(lat, lon, t, silence)
    for k in ("cell", "start", "end"):
        np.testing.assert_array_equal(got[k], want[k])
    # a span too long for the bucket table: the sorting path, the same definition
    t[0] = 10**7 * silence
    got, want = area_runs(lat, lon, t, silence), _area_runs_sorted(lat, lon, t, silence)
    for k in ("cell", "start", "end"):
        np.testing.assert_array_equal(got[k], want[k])


def test_adjacency_by_day_equals_adjacency_of_all(simulated):
    whole, _, _ = _tracks(simulated)
    pts = encounter_points(whole.plausible, CFG)
    step = int(pts["step_us"])
    day = pts["slot"] * step // 86_400_000_000
    parts = []
    for d in np.unique(day):
        sel = day == d
        sub = {k: (v[sel] if k != "step_us" else v) for k, v in pts.items()}
        parts.append(adjacency(sub, CFG))
    split, full = concat_adjacency(parts), adjacency(pts, CFG)
    key = lambda a: sorted(zip(a["seg_a"].tolist(), a["seg_b"].tolist(), a["slot"].tolist()))  # noqa: E731
    assert len(full["slot"]) > 0 and key(split) == key(full)


def _write_store(db, positions):
    from watchkeeper.schema import STATICS

    with Store.open(db, create=True) as store:
        sid = store.begin_source("hand-made-" + str(positions.num_rows), 0, "hand-made", "arrow")
        w = store.writer(sid)
        w.write("positions", positions)
        w.write("statics", STATICS.empty_table())
        w.close()
        w.publish()
        store.complete_source(sid, {"positions": positions.num_rows, "statics": 0})


class _Tracks:
    """Hand-made positions, one report a minute per track, as a POSITIONS table."""

    def __init__(self):
        self.rows = {k: [] for k in ("mmsi", "ts", "lat", "lon", "sog_kn", "line")}

    def track(self, mmsi, lat0, lon0, start_s, hours, dlat_per_h=0.0, dlon_per_h=0.0, sog=0.4, step_s=60):
        rows = self.rows
        for i in range(int(hours * 3600 / step_s)):
            h = i * step_s / 3600
            rows["mmsi"].append(mmsi)
            rows["ts"].append((start_s + i * step_s) * 1_000_000)
            rows["lat"].append(lat0 + dlat_per_h * h)
            rows["lon"].append(lon0 + dlon_per_h * h)
            rows["sog_kn"].append(sog)
            rows["line"].append(len(rows["line"]) + 1)

    def table(self) -> pa.Table:
        from watchkeeper.schema import POSITIONS

        rows, n = self.rows, len(self.rows["mmsi"])
        cols = {name: pa.nulls(n, f.type) for name, f in zip(POSITIONS.names, POSITIONS)}
        cols.update(mmsi=pa.array(rows["mmsi"], pa.int32()), ts=pa.array(rows["ts"], POSITIONS.field("ts").type),
                    lat=pa.array(rows["lat"]), lon=pa.array(rows["lon"]),
                    sog_kn=pa.array(rows["sog_kn"], pa.float32()), msg_type=pa.array([1] * n, pa.int8()),
                    source_id=pa.array([1] * n, pa.int32()), line=pa.array(rows["line"], pa.int64()),
                    line_last=pa.array(rows["line"], pa.int64()))
        return pa.table(cols, schema=POSITIONS)


def test_encounter_across_midnight_and_a_port_pair(tmp_path):
    """An encounter at sea from 22:00 to 02:00 (its run is split between two days' workers and joined), two ships
    moored side by side in Vladivostok across midnight (never an encounter, pruned by place), and ships elsewhere
    so that there are several partitions: both engines give the same events, and exactly one encounter."""
    t0 = 1_709_935_200  # 2024-03-08 22:00 UTC
    tracks = _Tracks()
    tracks.track(273000001, 40.0, 135.0, t0, 4.0, dlon_per_h=0.005)  # the pair at sea, 200 m apart, drifting east
    tracks.track(273000002, 40.0018, 135.0, t0, 4.0, dlon_per_h=0.005)
    tracks.track(273000003, 43.1100, 131.8800, t0 - 7200, 8.0, sog=0.0)  # moored side by side in Vladivostok
    tracks.track(273000004, 43.1102, 131.8805, t0 - 7200, 8.0, sog=0.0)
    for k in range(12):  # steaming elsewhere: more rows, more partitions
        tracks.track(244000000 + k, 52.0 + k * 0.2, 3.0, t0 - 7200, 8.0, dlon_per_h=0.25, sog=12.0)
    db = tmp_path / "db"
    _write_store(db, tracks.table())
    local, _, _ = _detect(db, workers=1, partition_rows=10**9)
    enc = local.filter(pa.compute.equal(local["type"], "encounter"))
    assert sorted(enc["mmsi"].to_pylist()) == [273000001, 273000002]  # the sea pair only, both rows
    assert enc["start"][0].as_py().hour == 22 and enc["end"][0].as_py().hour in (1, 2)
    for workers in (2, 1):
        part, _, _ = _detect(db, workers=workers, partition_rows=2000)
        assert part.equals(local)


def test_a_pair_that_leaves_port_together_after_midnight(tmp_path):
    """Two ships moored side by side off Nakhodka from 20:00, that leave together at midnight and drift south,
    side by side, for 16 h: the first day's piece of their run lies wholly near the port (the day step keeps only
    its summary), the joined run does not, so its records are found again from the points. Both engines give the
    same events: one encounter from before midnight."""
    t0 = 1_709_928_000  # 2024-03-08 20:00 UTC
    tracks = _Tracks()
    for mmsi, dlon in ((273000003, 0.0), (273000004, 0.0005)):
        tracks.track(mmsi, 42.80, 132.88 + dlon, t0, 4.0, sog=0.0)
        tracks.track(mmsi, 42.80, 132.88 + dlon, t0 + 4 * 3600, 16.0, dlat_per_h=-0.03, sog=1.8)
    for k in range(12):  # steaming elsewhere: more rows, more partitions
        tracks.track(244000000 + k, 52.0 + k * 0.2, 3.0, t0, 20.0, dlon_per_h=0.25, sog=12.0)
    db = tmp_path / "db"
    _write_store(db, tracks.table())
    local, _, _ = _detect(db, workers=1, partition_rows=10**9)
    enc = local.filter(pa.compute.equal(local["type"], "encounter"))
    assert sorted(enc["mmsi"].to_pylist()) == [273000003, 273000004]
    assert enc["start"][0].as_py().hour < 24 and enc["start"][0].as_py().day == 8  # from the port hours on
    for workers in (2, 1):
        part, _, _ = _detect(db, workers=workers, partition_rows=2000)
        assert part.equals(local)


def test_days_whose_grid_points_have_no_pairs():
    """Ships far apart over two UTC days: every day has grid points and none has an adjacent pair (no runs, no
    encounters), which the day workers must handle (found at 20M positions, where the last day had no pair)."""
    from watchkeeper.detect.encounters import run_pieces, run_place

    pts = encounter_points(segment_tracks(_far_apart_positions(), CFG).plausible, CFG)
    adj = adjacency(pts, CFG, place=lambda lat, lon: np.full(len(lat), -1, np.int64))
    assert len(pts["slot"]) > 100 and len(adj["slot"]) == 0
    order, starts, ends = run_pieces(adj)
    assert len(starts) == len(ends) == 0 and len(run_place(adj, order, starts)) == 0


def _far_apart_positions() -> pa.Table:
    from watchkeeper.schema import POSITIONS

    t0 = 1_709_935_200  # 2024-03-08 22:00 UTC
    mmsi, ts, lat, lon = [], [], [], []
    for k in range(12):  # 22 km apart, steaming east for 8 h across midnight
        for i in range(480):
            mmsi.append(244000000 + k)
            ts.append((t0 - 7200 + 60 * i) * 1_000_000)
            lat.append(52.0 + k * 0.2)
            lon.append(3.0 + 0.25 * i / 60)
    n = len(mmsi)
    cols = {name: pa.nulls(n, f.type) for name, f in zip(POSITIONS.names, POSITIONS)}
    cols.update(mmsi=pa.array(mmsi, pa.int32()), ts=pa.array(ts, POSITIONS.field("ts").type), lat=pa.array(lat),
                lon=pa.array(lon), sog_kn=pa.array([12.0] * n, pa.float32()), msg_type=pa.array([1] * n, pa.int8()),
                source_id=pa.array([1] * n, pa.int32()), line=pa.array(range(1, n + 1), pa.int64()),
                line_last=pa.array(range(1, n + 1), pa.int64()))
    return pa.table(cols, schema=POSITIONS)


def test_partitioned_days_without_pairs_equal_local(tmp_path):
    db = tmp_path / "db"
    _write_store(db, _far_apart_positions())
    assert plan_partitions(_n_positions(db), 2000, 2) >= 3
    local, _, _ = _detect(db, workers=1, partition_rows=10**9)
    assert "encounter" not in local["type"].to_pylist()
    for workers in (2, 1):
        part, _, _ = _detect(db, workers=workers, partition_rows=2000)
        assert part.equals(local)


def test_disk_full_is_a_clear_error_and_no_temporary_files_stay(simulated, monkeypatch):
    import errno

    from watchkeeper.engines import partitioned
    from watchkeeper.errors import StoreError

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    db, _ = simulated
    (db / "_detect-killed" / "tracks-0").mkdir(parents=True)  # left by a run that was killed
    monkeypatch.setattr(partitioned, "_shuffle", full)
    with pytest.raises(StoreError) as e:
        _detect(db, workers=1, partition_rows=5000)
    assert "no space left" in str(e.value) and "--partition-rows" in e.value.fix
    assert not list(db.glob("_detect-*"))


def test_warming_a_parent_never_starts_openmp():
    """The engine warms its process (serial kernels from Numba's cache, search structures) before forking the
    workers of the passes; forking stays safe only if no parallel kernel ran or was loaded there."""
    import subprocess
    import sys

    code = ("from watchkeeper.engines import _preload, partitioned as p\n"
            "from watchkeeper.config import Config\n"
            "g = _preload.gazetteer(); _preload.warm(g, Config())\n"
            "print(p.openmp_started(), len(g._index._grids) > 0)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    started, grids = out.stdout.split()
    assert started == "False" and grids == "True"


def test_unwritten_edge_pieces_are_found_again_from_the_points(tmp_path, simulated):
    """Edge run pieces wholly near one place are not written by the day step; when a joined run needs one,
    _redo_pieces finds its records again from that day's grid points: the records of a full adjacency search."""
    from watchkeeper.detect.encounters import in_port_radius_km, run_pieces, run_place
    from watchkeeper.engines import partitioned as P
    from watchkeeper.geo.gazetteer import load_gazetteer

    db, _ = simulated
    with Store.open(db) as store:
        positions = store.relation("positions").arrow()
        positions = positions.read_all() if hasattr(positions, "read_all") else positions
    pts = encounter_points(segment_tracks(positions, CFG).plausible, CFG)
    step = int(pts.pop("step_us"))
    day = (pts["slot"] * step) // 86_400_000_000
    d = int(np.bincount(day - day.min()).argmax() + day.min())  # the busiest day
    sel = day == d
    folder = tmp_path / "points" / f"day={d}"
    folder.mkdir(parents=True)
    P._write_arrow(pa.table({k: v[sel] for k, v in pts.items()}), folder / "part-0.arrow")
    gaz = load_gazetteer()
    radius = in_port_radius_km(CFG)
    full = adjacency({**{k: v[sel] for k, v in pts.items()}, "step_us": np.int64(step)}, CFG,
                     place=lambda lat, lon: gaz.nearest(lat, lon, radius)[0])
    order, starts, ends = run_pieces(full)
    assert len(starts) >= 2
    place = run_place(full, order, starts)
    assert (place >= 0).any() and (place < 0).any()
    pick = np.r_[np.flatnonzero(place >= 0)[:2], np.flatnonzero(place < 0)[:2]]  # runs near a place, and others
    o = {k: full[k][order] for k in ("seg_a", "seg_b", "slot")}
    pieces = {"seg_a": o["seg_a"][starts[pick]], "seg_b": o["seg_b"][starts[pick]], "lo": o["slot"][starts[pick]],
              "hi": o["slot"][ends[pick]]}
    redone = P._redo_pieces(tmp_path, d, pieces, step, gaz, CFG)
    want = np.zeros(len(full["slot"]), bool)
    for k in pick.tolist():
        want[order[starts[k]:ends[k] + 1]] = True
    assert len(redone["slot"]) == int(want.sum()) > 0
    key = lambda r, m: sorted(zip(*(r[c][m].tolist() for c in ("seg_a", "seg_b", "slot", "distance_km", "place_a",
                                                                  "place_b", "left_line_a", "right_line_b"))))
    assert key(redone, np.ones(len(redone["slot"]), bool)) == key(full, want)


def test_workers_keep_freed_memory():
    """A pool worker's allocator keeps freed memory for reuse (glibc: large blocks from the heap, no trimming;
    Arrow on the system allocator; NumPy without huge-page advice), and arrays still compute as before."""
    import platform
    import subprocess
    import sys

    code = ("import numpy as np, pyarrow as pa, pyarrow.compute as pc\n"
            "from watchkeeper.engines import partitioned as p\n"
            "ok = p._keep_freed_memory()\n"
            "a = np.arange(3_000_000, dtype=np.int64); del a\n"
            "b = np.arange(3_000_000, dtype=np.int64)[::-1].copy()\n"
            "t = pa.array(b); s = pc.sum(t).as_py()\n"
            "print(ok, pa.default_memory_pool().backend_name, s == int(b.sum()), int(np.sort(b)[7]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    ok, backend, same, seventh = out.stdout.split()
    assert same == "True" and seventh == "7"
    if platform.libc_ver()[0] == "glibc":
        assert ok == "True" and backend == "system"
    else:  # pragma: no cover - another C library: nothing changes
        assert ok == "False"


def test_inland_stretches_counted_over_every_partition(tmp_path):
    """Position jumps in pass 1 count the vessels of an inland cell in their own partition only; the MMSIs whose
    on-land rows those counts leave off inland water are done again with every vessel's counts. Five ships take
    the same detour 13 km inland (a river used by shipping: no event), split over partitions where none has
    the other three ships of the rule; a sixth takes it alone elsewhere (on-land events)."""
    import datetime as dt
    import json

    from watchkeeper.schema import POSITIONS

    t0 = dt.datetime(2024, 3, 1, 20, 0, tzinfo=dt.UTC)
    cols = {name: [] for name in POSITIONS.names}
    line = 0

    def detour(mmsi, lat, lon_sea, lon_inland, start_min):
        nonlocal line
        n = 25
        for k in range(2 * n + 1):
            line += 1
            row = dict.fromkeys(POSITIONS.names)
            row.update(mmsi=mmsi, ts=t0 + dt.timedelta(minutes=start_min + 7 * k), lat=lat,
                       lon=lon_sea + (lon_inland - lon_sea) * min(k, 2 * n - k) / n, sog_kn=10.0, msg_type=1,
                       source_id=1, line=line, line_last=line)
            for name in POSITIONS.names:
                cols[name].append(row[name])

    for v in range(5):
        detour(273350000 + v, 36.8 + 0.005 * v, 129.75, 129.3, 13 * v)
    detour(273350009, 37.3, 129.55, 129.1, 0)
    pos = pa.Table.from_pydict(cols, schema=POSITIONS)
    db = tmp_path / "db"
    with Store.open(db, create=True) as store:
        sid = store.begin_source("detours", 0, "synthetic", "arrow")
        w = store.writer(sid)
        w.write("positions", pos)
        w.close()
        w.publish()
        store.complete_source(sid, {"positions": pos.num_rows})
    local = _assert_same(db, partition_rows=60)
    jumps = local.filter(pa.compute.equal(local["type"], "position_jump"))
    assert set(jumps["mmsi"].to_pylist()) == {273350009}
    assert all(json.loads(d)["rule"] == "on_land" for d in jumps["details"].to_pylist())


def test_the_callers_garbage_collector_thresholds_come_back(tmp_path):
    """The engine runs the collector rarely while it detects, in this process too, and gives the caller's
    thresholds back afterwards."""
    import gc

    t0 = 1_709_935_200
    tracks = _Tracks()
    for k in range(4):
        tracks.track(244000000 + k, 52.0 + k * 0.2, 3.0, t0, 2.0, dlon_per_h=0.25, sog=12.0)
    db = tmp_path / "db"
    _write_store(db, tracks.table())
    before = gc.get_threshold()
    gc.set_threshold(1234, 11, 12)
    seen = []
    try:
        from watchkeeper.engines import GC_THRESHOLDS
        from watchkeeper.engines import partitioned as P

        real = P.activity_surges
        P.activity_surges = lambda *a, **k: (seen.append(gc.get_threshold()), real(*a, **k))[1]
        try:
            _detect(db, workers=1, partition_rows=100)
        finally:
            P.activity_surges = real
        assert seen == [GC_THRESHOLDS]
        assert gc.get_threshold() == (1234, 11, 12)
    finally:
        gc.set_threshold(*before)
