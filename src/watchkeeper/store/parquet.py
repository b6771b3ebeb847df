"""Day-partitioned Parquet writing with atomic publication.

A :class:`SourceWriter` streams the rows of one input file into ``_staging/srcNNNNNN/`` (one Parquet file per
table and UTC day, row group by row group), and :meth:`SourceWriter.publish` moves the finished files into the
partitions with atomic renames. File names start with ``srcNNNNNN-`` so that everything an unfinished ingest left
behind can be found and removed exactly.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

US_PER_DAY = 86_400_000_000
UNKNOWN_DAY = "unknown"
MAX_OPEN_WRITERS = 32
COMPRESSION = "zstd"
# Dictionary encoding pays only on low-cardinality columns; on coordinates and times it costs most of the write
# time for no gain (bench/parquet_options.py: 1.47M -> 2.40M rows/s, and smaller files).
DICTIONARY_COLUMNS = {
    "positions": ["mmsi", "nav_status", "msg_type", "source_id", "heading_deg", "pos_accuracy"],
    "statics": True,
}


def source_prefix(source_id: int) -> str:
    return f"src{source_id:06d}-"


def day_label(day: int) -> str:
    return str(np.datetime64(int(day), "D"))


def split_by_day(table: pa.Table) -> list[tuple[str, pa.Table]]:
    """Split a table with a ``ts`` column into ``(day label, rows)`` pieces; null times go to ``unknown``."""
    if table.num_rows == 0:
        return []
    ts = table.column("ts")
    us = np.concatenate([c.cast(pa.int64()).fill_null(NO_DAY_US).to_numpy() for c in ts.chunks])
    day = us // US_PER_DAY
    first = day[0]
    if (day == first).all():
        return [(_label(first), table)]
    unknown = day == _NO_DAY
    known = day[~unknown]
    present = []
    if known.size:
        lo, hi = known.min(), known.max()
        if hi - lo <= 4096:  # the usual case: a few days
            present = list(lo + np.flatnonzero(np.bincount(known - lo)))
        else:
            present = list(np.unique(known))
    if unknown.any():
        present.append(_NO_DAY)
    return [(_label(d), table.filter(pa.array(day == d))) for d in present]


NO_DAY_US = np.iinfo(np.int64).min // 2  # stands for a null time: far from every real day
_NO_DAY = NO_DAY_US // US_PER_DAY


def _label(day: int) -> str:
    return UNKNOWN_DAY if day == _NO_DAY else day_label(day)


class SourceWriter:
    """Writes the positions and statics of one source into staging, then publishes them.

    Writing runs in a background thread (Parquet encoding and compression release the GIL, and so do the
    decoding kernels), so decoding the next chunk overlaps with writing the last one. The queue holds at most
    ``QUEUE_TABLES`` tables, which bounds memory; an error in the thread is raised on the next call.
    """

    QUEUE_TABLES = 4

    def __init__(self, root: Path, source_id: int, schemas: dict[str, pa.Schema]):
        self.root = root
        self.source_id = source_id
        self.schemas = schemas
        self.staging = root / "_staging" / f"src{source_id:06d}"
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir(parents=True)
        self.writers: dict[tuple[str, str], pq.ParquetWriter] = {}
        self.parts: dict[tuple[str, str], int] = {}
        self.files: list[Path] = []
        self.rows: dict[str, int] = {t: 0 for t in schemas}
        self._queue: queue.Queue = queue.Queue(maxsize=self.QUEUE_TABLES)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"parquet-src{source_id}", daemon=True)
        self._thread.start()

    def write(self, table_name: str, table: pa.Table) -> None:
        """Queue rows for writing (returns at once unless the queue is full)."""
        self._check()
        if table.num_rows:
            self._queue.put((table_name, table))

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is None:
                try:
                    self._write_now(*item)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller by _check
                    self._error = exc

    def _finish_thread(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _write_now(self, table_name: str, table: pa.Table) -> None:
        for day, piece in split_by_day(table):
            key = (table_name, day)
            w = self.writers.get(key)
            if w is None:
                if len(self.writers) >= MAX_OPEN_WRITERS:
                    oldest = next(iter(self.writers))
                    self.writers.pop(oldest).close()
                part = self.parts.get(key, -1) + 1
                self.parts[key] = part
                d = self.staging / table_name / f"day={day}"
                d.mkdir(parents=True, exist_ok=True)
                path = d / f"{source_prefix(self.source_id)}{part:03d}.parquet"
                w = pq.ParquetWriter(path, self.schemas[table_name], compression=COMPRESSION,
                                     use_dictionary=DICTIONARY_COLUMNS.get(table_name, True))
                self.writers[key] = w
                self.files.append(path)
            w.write_table(piece, row_group_size=1 << 20)
            self.rows[table_name] += piece.num_rows

    def close(self) -> None:
        self._finish_thread()
        self._check()
        for w in self.writers.values():
            w.close()
        self.writers.clear()

    def publish(self) -> list[Path]:
        """Move every staged file into its partition (atomic renames); returns the final paths."""
        self.close()
        final = []
        for path in self.files:
            rel = path.relative_to(self.staging)
            dest = self.root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, dest)
            final.append(dest)
        shutil.rmtree(self.staging, ignore_errors=True)
        return final

    def abort(self) -> None:
        self._error = self._error or RuntimeError("aborted")
        self._finish_thread()
        for w in self.writers.values():
            try:
                w.close()
            except Exception:  # noqa: BLE001 - best effort while cleaning up after another error
                pass
        self.writers.clear()
        shutil.rmtree(self.staging, ignore_errors=True)


def remove_source_files(root: Path, source_id: int, tables: list[str]) -> int:
    """Delete every Parquet file and staging folder of one source; returns how many files went."""
    n = 0
    prefix = source_prefix(source_id)
    for t in tables:
        base = root / t
        if not base.exists():
            continue
        for part_dir in base.iterdir():
            if not part_dir.is_dir():
                continue
            for f in part_dir.glob(prefix + "*.parquet"):
                f.unlink()
                n += 1
            if not any(part_dir.iterdir()):
                part_dir.rmdir()
    shutil.rmtree(root / "_staging" / f"src{source_id:06d}", ignore_errors=True)
    return n
