"""The vendored real samples and a helper to decode them, shared by tests (import: ``from testdata import ...``;
not from ``conftest``, a module name that several test folders have)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from watchkeeper.ingest.multipart import DedupState
from watchkeeper.ingest.nmea import read_nmea

DATA = Path(__file__).parent / "data"

# real NMEA samples (see each folder's PROVENANCE.md)
NMEA_SAMPLES = [
    DATA / "dma-aislib" / "stream_example.txt",  # Danish feed, $PGHP times, mixed talkers, multipart
    DATA / "aisdb" / "test_data_20211101.nm4",  # IEC 61162-450 tag blocks
    DATA / "aisdb" / "test_data_201201.nmea",  # USCG trailing receiver fields, one of each type
    DATA / "pyais-sample" / "nmea_data_sample.txt",  # plain, with undecodable lines
    DATA / "libais" / "test.aivdm",  # libais test sentences of every type, comments
]
CSV_SAMPLES = [DATA / "noaa" / "test_data_noaa_20230101.csv"]


def decode_file(path, source_id: int = 1, *, dedup: bool = True, chunk_bytes: int | None = None):
    """Decode a file fully; returns (positions, statics, quarantine, counts) with tables concatenated."""
    import pyarrow as pa

    kw = {} if chunk_bytes is None else {"chunk_bytes": chunk_bytes}
    state = None if dedup else DedupState(window_s=-1, window_lines=-1)
    pos, st, q, counts = [], [], [], Counter()
    for b in read_nmea(str(path), source_id, dedup=state, **kw):
        pos.append(b.positions)
        st.append(b.statics)
        q.append(b.quarantine)
        counts.update(b.counts)
    return pa.concat_tables(pos), pa.concat_tables(st), pa.concat_tables(q), counts
