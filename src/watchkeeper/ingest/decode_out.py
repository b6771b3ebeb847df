"""``watchkeeper decode``: NMEA in, one decoded message per line out (JSON Lines or CSV), no store."""

from __future__ import annotations

import json
import sys
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from watchkeeper import schema
from watchkeeper.errors import InputError
from watchkeeper.ingest import nmea
from watchkeeper.ingest.batch import Batch
from watchkeeper.ingest.pipeline import check_readable, detect_format, head_bytes

POSITION_FIELDS = [f for f in schema.POSITIONS.names if f not in ("source_id", "line", "line_last", "msg_type", "mmsi",
                                                                   "ts")]
STATIC_FIELDS = [f for f in schema.STATICS.names if f not in ("source_id", "line", "line_last", "msg_type", "mmsi",
                                                              "ts")]
OUTPUT_FIELDS = ["msg_type", "mmsi", "ts", *POSITION_FIELDS, *STATIC_FIELDS, "line", "line_last"]


def messages_table(batch: Batch) -> pa.Table:
    """One row per decoded message: positions and statics rows of the same message (type 19, 21) merged."""
    p = batch.positions.drop_columns(["source_id"])
    s = batch.statics.drop_columns(["source_id"]).rename_columns(
        [f"s_{n}" if n in ("mmsi", "ts", "msg_type", "line_last") else n for n in batch.statics.drop_columns(
            ["source_id"]).column_names])
    j = p.join(s, keys="line", join_type="full outer")
    cols = {}
    for n in ("mmsi", "ts", "msg_type", "line_last"):
        cols[n] = pc.coalesce(j.column(n), j.column(f"s_{n}"))
    arrays = [cols[n] if n in cols else j.column(n) for n in OUTPUT_FIELDS]
    t = pa.Table.from_arrays(arrays, names=OUTPUT_FIELDS)
    return t.sort_by("line")


def _iso(t: pa.Table) -> pa.Table:
    i = t.schema.get_field_index("ts")
    return t.set_column(i, "ts", pc.strftime(t.column("ts"), format="%Y-%m-%dT%H:%M:%SZ"))


def decode_to(path: str, fmt: str, output: str, rejects: str | None) -> Counter:
    """Decode ``path`` (or ``-`` for standard input) and write messages to ``output`` (``-`` for stdout)."""
    if path == "-":
        stream = sys.stdin.buffer
        name = "<stdin>"
    else:
        check_readable(path)
        fmt_in = detect_format(path, head_bytes(path), mapping=None)
        if fmt_in != "nmea":
            raise InputError(f"is a CSV export ({fmt_in}), already decoded", where=path,
                             fix="`watchkeeper decode` reads NMEA; load CSV with `watchkeeper ingest FILE --db DIR`")
        stream = nmea.open_input(path)
        name = path
    counts: Counter = Counter()
    dst = sys.stdout.buffer if output == "-" else open(output, "wb")
    rej = open(rejects, "w", encoding="utf-8") if rejects else None
    try:
        header = True
        for batch in nmea.read_stream(stream, name, 0):
            counts.update(batch.counts)
            t = _iso(messages_table(batch))
            if fmt == "csv":
                if t.num_rows or header:
                    opts = pacsv.WriteOptions(include_header=header, quoting_style="needed", quoting_header="none")
                    pacsv.write_csv(t, dst, write_options=opts)
                    header = False
            else:
                for row in t.to_pylist():
                    dst.write(json.dumps(row, separators=(",", ":")).encode() + b"\n")
            if rej is not None:
                for row in batch.quarantine.to_pylist():
                    rej.write(json.dumps(row) + "\n")
            dst.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise InputError(f"cannot write output ({exc.strerror})", where=output, fix="check the path") from None
    finally:
        if dst is not sys.stdout.buffer:
            dst.close()
        if rej is not None:
            rej.close()
        if stream is not sys.stdin.buffer:
            stream.close()
    return counts
