"""Summary statistics of a store (what ``watchkeeper stats`` prints)."""

from __future__ import annotations

from watchkeeper import schema
from watchkeeper.store.catalogue import Store


def store_stats(store: Store) -> dict:
    """Counts from the ledger, row counts and extent from the Parquet tables, and rejects by reason."""
    con = store.con
    ledger = store.ledger().to_pylist()
    sums = {k: sum(r[k] for r in ledger) for k in ("lines_in", *schema.ACCOUNT_FIELDS, "messages")}
    pos = store.relation("positions")  # noqa: F841 - read by DuckDB
    row = con.sql("SELECT count(*), count(DISTINCT mmsi), min(ts), max(ts), count(DISTINCT day) FILTER "
                  "(WHERE day <> 'unknown') FROM pos").fetchall()[0]
    st = store.relation("statics")  # noqa: F841 - read by DuckDB
    n_statics = con.sql("SELECT count(*) FROM st").fetchall()[0][0]
    reasons = dict(con.execute("SELECT reason, sum(n_lines) FROM quarantine GROUP BY reason "
                               "ORDER BY 2 DESC").fetchall())
    return {
        "root": str(store.root.resolve()),
        "sources": len(ledger),
        **sums,
        "positions": int(row[0]),
        "statics": int(n_statics),
        "vessels": int(row[1]),
        "first": row[2],
        "last": row[3],
        "days": int(row[4]),
        "quarantine_by_reason": {k: int(v) for k, v in reasons.items()},
        "ledger": ledger,
    }
