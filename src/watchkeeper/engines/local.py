"""The local engine: the whole detection suite in one process, over the positions and statics of a store.

:func:`run_detection` reads the canonical tables through DuckDB (over the Parquet files), segments the tracks,
estimates reception from the data, runs every detector, and replaces the store's ``events`` table with the
result in one transaction, recording the run in ``detect_runs``. Detectors are pure functions and event ids are
hashes of the events' defining fields, so the same store and configuration always give the same events.
"""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from watchkeeper import __version__
from watchkeeper.config import Config
from watchkeeper.detect.dark_port_calls import dark_port_calls
from watchkeeper.detect.encounters import encounters
from watchkeeper.detect.events import EVENT_TYPES
from watchkeeper.detect.gaps import ais_gaps
from watchkeeper.detect.identity import identity_change, invalid_identity
from watchkeeper.detect.loitering import loitering
from watchkeeper.detect.mmsi_conflict import mmsi_conflicts
from watchkeeper.detect.port_visits import port_visits
from watchkeeper.detect.spoofing import position_jumps
from watchkeeper.detect.surges import activity_surges
from watchkeeper.engines import rare_collections
from watchkeeper.geo.coast import Coast
from watchkeeper.geo.gazetteer import Gazetteer, load_gazetteer
from watchkeeper.geo.reception import reception_grid
from watchkeeper.schema import EVENTS, POSITIONS, STATICS
from watchkeeper.tracks.segment import segment_tracks


def read_table(store, name: str, schema: pa.Schema) -> pa.Table:
    """All rows of a partitioned store table with the canonical columns and types (the ``day`` key dropped)."""
    cols = ", ".join(f'"{c}"' for c in schema.names)
    return store.relation(name).select(cols).to_arrow_table().cast(schema)


@rare_collections()
def detect_all(positions: pa.Table, statics: pa.Table, config: Config, *, gazetteer: Gazetteer | None = None,
               coast: Coast | None = None) -> pa.Table:
    """Every detector over the given positions and statics; the events of all types, in a canonical order."""
    gaz = gazetteer if gazetteer is not None else load_gazetteer()
    coast = coast if coast is not None else Coast.default()
    seg = segment_tracks(positions, config)  # arrays built once, shared by every detector
    # one nearest-place search for every detector that keeps away from (or looks for) ports
    seg.nearest_place(gaz, max(float(config.port_visit.exit_radius_km), float(config.loitering.min_port_distance_km),
                               float(config.loitering.near_port_km), float(config.position_jump.inland_water_place_km)))
    grid = reception_grid(seg, config)
    ts = seg.rows["ts"]
    span = (int(ts.min()), int(ts.max())) if len(ts) else (None, None)
    visits = port_visits(seg, gaz, config)
    gaps = ais_gaps(seg, grid, coast, config)
    dark = dark_port_calls(gaps, gaz, config, segmented=seg)  # from the gaps: reachable ports of interest
    parts = [visits, gaps, dark, activity_surges(pa.concat_tables([_events(visits), _events(dark)]), config,
                                     data_start=span[0], data_end=span[1]),
             encounters(seg, gaz, config), loitering(seg, gaz, config), position_jumps(seg, coast, config, gazetteer=gaz),
             mmsi_conflicts(seg, config), identity_change(statics, config),
             invalid_identity(statics, positions, config)]
    parts = [_events(p) for p in parts]
    events = pa.concat_tables(parts) if parts else EVENTS.empty_table()
    return events.sort_by([("mmsi", "ascending"), ("start", "ascending"), ("type", "ascending"),
                           ("event_id", "ascending")])


def _events(table: pa.Table) -> pa.Table:
    return table.select(EVENTS.names).cast(EVENTS)


def count_by_type(events: pa.Table) -> dict[str, int]:
    """Events per type, every type of :data:`EVENT_TYPES` listed (zero when none), in that order."""
    counts = dict.fromkeys(EVENT_TYPES, 0)
    for t in events.column("type").to_pylist():
        counts[t] = counts.get(t, 0) + 1
    return counts


def run_detection(store, config: Config | None = None, *, gazetteer: Gazetteer | None = None,
                  coast: Coast | None = None, workers: int | None = None,
                  partition_rows: int | None = None) -> dict[str, int]:
    """Detect every event type over ``store`` and replace its events with them; return counts per type.

    A store of more than ``partition_rows`` positions goes to the partitioned engine
    (:mod:`watchkeeper.engines.partitioned`): partitions of at most ``partition_rows`` positions over ``workers``
    processes, with bounded memory. So does a smaller one of ``MIN_PARALLEL_ROWS`` or more when the workers can be
    forked from this process (faster); otherwise it is read at once and detected here (:func:`detect_all`). Both
    give the same events.

    Parameters
    ----------
    store
        An open :class:`watchkeeper.store.Store`.
    config
        Thresholds; the defaults when ``None``.
    gazetteer, coast
        The ports and coastline to use; the vendored defaults when ``None``.

    Returns
    -------
    dict
        ``{type: count}`` for every type of :data:`EVENT_TYPES`.
    """
    from watchkeeper.engines import partitioned

    config = config or Config()
    started = dt.datetime.now(dt.UTC)
    workers = partitioned.default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, not {workers}")
    n_rows = int(store.relation("positions").count("*").fetchall()[0][0])
    n_parts = partitioned.plan_partitions(n_rows, partition_rows or partitioned.DEFAULT_PARTITION_ROWS, workers,
                                          split_small=not partitioned.openmp_started())
    statics = read_table(store, "statics", STATICS)
    if n_parts == 1:
        positions = read_table(store, "positions", POSITIONS)
        n_positions = positions.num_rows
        events = detect_all(positions, statics, config, gazetteer=gazetteer, coast=coast)
        del positions
    else:
        events, n_positions = partitioned.detect_partitioned(store, statics, config, gazetteer=gazetteer, coast=coast,
                                                             n_parts=n_parts, workers=workers)
    counts = count_by_type(events)
    store.replace_events(events, {
        "started_at": started, "finished_at": dt.datetime.now(dt.UTC), "config_sha256": config.sha256(),
        "software_version": __version__, "positions": n_positions, "events": events.num_rows,
        "counts": json.dumps(counts, separators=(",", ":")),
    })
    return counts
