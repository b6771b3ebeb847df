"""The embedded store: Parquet day partitions plus one DuckDB catalogue, no server.

Layout of a store directory::

    watchkeeper.duckdb                      catalogue: meta, ledger, quarantine (later: events, lists, ...)
    positions/day=YYYY-MM-DD/src000001-000.parquet
    statics/day=YYYY-MM-DD/src000001-000.parquet
    positions/day=unknown/...               rows whose input carried no time
    _staging/                               files being written (moved into place on commit)

The Parquet files are hive-partitioned by UTC day and readable directly by DuckDB, Polars, Dask and Spark, e.g.
``duckdb.sql("SELECT * FROM read_parquet('STORE/positions/*/*.parquet', hive_partitioning=true)")``.
"""

from watchkeeper.store.catalogue import Store

__all__ = ["Store"]
