"""The duplicate table: exact within the window, grows for busy feeds, forgets what is older than the window."""

from __future__ import annotations

import numpy as np

from watchkeeper.ingest.framing import NO_TS
from watchkeeper.ingest.multipart import DEDUP_START_SLOTS, DedupState


def _mark(state, hashes, ts, lines):
    dup = np.zeros(len(hashes), np.bool_)
    state.mark(np.asarray(hashes, np.uint64), np.asarray(ts, np.int64), np.asarray(lines, np.int64), len(hashes), dup)
    return dup


def test_busy_window_grows_the_table_and_misses_nothing():
    n = DEDUP_START_SLOTS * 3  # more distinct messages inside one window than the starting table holds
    rng = np.random.default_rng(1)
    hashes = rng.integers(1, 2**63, n, dtype=np.int64).astype(np.uint64)
    t = np.full(n, 1_700_000_000_000_000, np.int64) + np.arange(n)  # all within one second
    st = DedupState(window_s=60)
    assert not _mark(st, hashes, t, np.arange(n)).any()
    assert st.table.shape[0] > DEDUP_START_SLOTS
    again = _mark(st, hashes[::-1], t + 5_000_000, np.arange(n, 2 * n))  # every one heard by a second station
    assert again.all()


def test_window_in_time_and_in_lines():
    st = DedupState(window_s=60, window_lines=10)
    h = [7, 7, 7, 9, 9, 9]
    t0 = 1_700_000_000_000_000
    ts = [t0, t0 + 59_000_000, t0 + 200_000_000, NO_TS, NO_TS, NO_TS]
    lines = [1, 2, 3, 4, 5, 40]
    assert _mark(st, h, ts, lines).tolist() == [False, True, False, False, True, False]


def test_old_entries_are_forgotten_so_memory_stays_bounded():
    st = DedupState(window_s=1)
    t0 = 1_700_000_000_000_000
    for step in range(20):  # a long, steady feed: 20 x 50k distinct messages, 10 s apart
        h = np.arange(step * 50_000 + 1, (step + 1) * 50_000 + 1, dtype=np.uint64)
        _mark(st, h, np.full(h.size, t0 + step * 10_000_000, np.int64), np.arange(h.size) + step * 50_000)
    assert st.table.shape[0] <= 4 * DEDUP_START_SLOTS
