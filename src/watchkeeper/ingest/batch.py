"""The unit of work between a reader and the store: decoded rows, quarantined lines and their accounting."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa

from watchkeeper import schema
from watchkeeper.ingest.reasons import BUCKET

RAW_MAX_CHARS = 4096


@dataclass
class Batch:
    """Rows decoded from one stretch of one input file.

    ``counts`` holds the buckets of the accounting invariant (``schema.ACCOUNT_FIELDS``) plus ``lines_in`` and
    ``messages``, for the lines *resolved* in this batch. A fragment still waiting for the rest of its message at
    the end of a batch is counted in the batch that resolves it, so that summing all batches of a file gives
    ``lines_in == decoded + rejected + duplicates + incomplete + metadata + skipped``.
    """

    positions: pa.Table
    statics: pa.Table
    quarantine: pa.Table
    counts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)


def empty(schema_: pa.Schema) -> pa.Table:
    return schema_.empty_table()


def raw_text(raw: bytes) -> str:
    """Render raw line bytes for the quarantine: UTF-8 where valid, ``\\xNN`` escapes elsewhere, cut."""
    return raw[: RAW_MAX_CHARS * 4].decode("utf-8", errors="backslashreplace")[:RAW_MAX_CHARS]


class QuarantineBuilder:
    """Collects quarantine rows column-wise and keeps the reason counters in step."""

    def __init__(self, source_id: int):
        self.source_id = source_id
        self.cols: dict[str, list] = {n: [] for n in schema.QUARANTINE.names}
        self.reasons: Counter = Counter()
        self.buckets: Counter = Counter()

    def add(self, line: int, reason: str, raw: bytes, *, n_lines: int = 1, detail: str | None = None,
            raw_bytes: int | None = None) -> None:
        raw = raw.replace(b"\r\n", b"\n").rstrip(b"\r")
        c = self.cols
        c["source_id"].append(self.source_id)
        c["line"].append(line)
        c["n_lines"].append(n_lines)
        c["reason"].append(reason)
        c["detail"].append(detail)
        c["raw"].append(raw_text(raw))
        c["raw_bytes"].append(len(raw) if raw_bytes is None else raw_bytes)
        self.reasons[reason] += n_lines
        self.buckets[BUCKET[reason]] += n_lines

    def add_many(self, lines, reasons, raws, details) -> None:
        """Add many one-line rows at once (same meaning as :meth:`add`, without per-row overhead)."""
        raws = [r.rstrip(b"\r") for r in raws]
        c = self.cols
        c["source_id"].extend([self.source_id] * len(raws))
        c["line"].extend(lines)
        c["n_lines"].extend([1] * len(raws))
        c["reason"].extend(reasons)
        c["detail"].extend(details)
        c["raw"].extend([raw_text(r) for r in raws])
        c["raw_bytes"].extend([len(r) for r in raws])
        counts = Counter(reasons)
        self.reasons.update(counts)
        for reason, k in counts.items():
            self.buckets[BUCKET[reason]] += k

    def __len__(self) -> int:
        return len(self.cols["line"])

    def table(self) -> pa.Table:
        return pa.Table.from_pydict(self.cols, schema=schema.QUARANTINE)
