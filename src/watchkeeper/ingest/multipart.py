"""Messages from sentences: multi-sentence reassembly and duplicate suppression, compiled.

Reassembly
    Fragments are grouped by (receiving station, channel, sequence id, fragment count). Parts of different
    groups may interleave and a group's parts may arrive in any order; a group is complete when every part
    ``1..count`` has arrived. A group is given up as *incomplete* (its fragments go to the quarantine, counted
    in the ``incomplete`` bucket) when a part number repeats before completion, when it is still open
    ``window_lines`` lines after its first part, when the pool of open groups is full (oldest first), or at
    the end of the input. Open groups survive chunk boundaries: payloads and raw lines are copied into a
    bounded pool, so memory does not grow with the input.

Duplicates
    Several stations receive the same transmission. A message is a duplicate when an identical message
    (same payload bits, 64-bit FNV-1a hash) was kept within ``window_s`` seconds of reception time, or, when
    either copy has no time, within ``window_lines`` input lines. The table of recent hashes is bounded and
    pruned by age.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.typed import Dict

from watchkeeper.ingest.framing import MAX_LINE_BYTES, NO_TS, ST_SENTENCE, payload_hash

N_GROUPS = 2048
N_FRAGS = 8192


class AssemblyState:
    """Open multi-sentence groups carried from one chunk to the next (a bounded pool)."""

    def __init__(self) -> None:
        self.keys = Dict.empty(key_type=types.int64, value_type=types.int64)
        self.g_key = np.zeros(N_GROUPS, np.int64)
        self.g_used = np.zeros(N_GROUPS, np.bool_)
        self.g_count = np.zeros(N_GROUPS, np.int64)
        self.g_have = np.zeros(N_GROUPS, np.int64)
        self.g_first = np.zeros(N_GROUPS, np.int64)
        self.g_frag = np.full((N_GROUPS, 9), -1, np.int64)
        self.f_used = np.zeros(N_FRAGS, np.bool_)
        self.f_line = np.zeros(N_FRAGS, np.int64)
        self.f_ts = np.zeros(N_FRAGS, np.int64)
        self.f_fill = np.zeros(N_FRAGS, np.int64)
        self.f_plen = np.zeros(N_FRAGS, np.int64)
        self.f_pay = np.zeros((N_FRAGS, MAX_LINE_BYTES), np.uint8)
        self.f_rlen = np.zeros(N_FRAGS, np.int64)
        self.f_raw = np.zeros((N_FRAGS, MAX_LINE_BYTES), np.uint8)

    def args(self):
        return (self.keys, self.g_key, self.g_used, self.g_count, self.g_have, self.g_first, self.g_frag,
                self.f_used, self.f_line, self.f_ts, self.f_fill, self.f_plen, self.f_pay, self.f_rlen, self.f_raw)

    def n_open_fragments(self) -> int:
        return int(self.f_used.sum())


@njit(cache=True)
def _flush_group(g, keys, g_key, g_used, g_count, g_have, g_frag, f_used, f_line, f_rlen, f_raw,
                 inc_line, inc_rs, inc_re, inc_raw, n_inc, inc_pos):
    """Give up group g: every fragment it holds becomes an incomplete line."""
    for k in range(9):
        f = g_frag[g, k]
        if f >= 0:
            inc_line[n_inc] = f_line[f]
            inc_rs[n_inc] = inc_pos
            ln = f_rlen[f]
            inc_raw[inc_pos:inc_pos + ln] = f_raw[f, :ln]
            inc_pos += ln
            inc_re[n_inc] = inc_pos
            n_inc += 1
            f_used[f] = False
            g_frag[g, k] = -1
    if g_key[g] in keys and keys[g_key[g]] == g:
        del keys[g_key[g]]
    g_used[g] = False
    g_have[g] = 0
    return n_inc, inc_pos


@njit(cache=True, nogil=True)
def assemble(buf, starts, ends, status, pstart, pend, fill, fcount, fnum, seq, chan, ts, station, phash,
             line_base, window_lines, flush_all,
             keys, g_key, g_used, g_count, g_have, g_first, g_frag,
             f_used, f_line, f_ts, f_fill, f_plen, f_pay, f_rlen, f_raw,
             m_buf, m_start, m_end, m_fill, m_ts, m_line, m_line_last, m_nlines, m_hash, m_rkind, m_rs, m_re,
             mr_buf, inc_line, inc_rs, inc_re, inc_raw):
    """Turn the sentences of a chunk into messages; see the module docstring.

    Line numbers are ``line_base + i + 1`` (1-based within the file). Returns
    ``(n_messages, n_incomplete, multi_raw_bytes, incomplete_raw_bytes)``.
    Messages of kind ``m_rkind`` 0 (one sentence) have payload ``buf[m_start:m_end]`` and raw line
    ``buf[m_rs:m_re]``; kind 1 (reassembled) have payload in ``m_buf`` and raw lines, joined by newlines, in
    ``mr_buf``.
    """
    n = starts.shape[0]
    nm = 0
    mpos = 0
    mrpos = 0
    n_inc = 0
    inc_pos = 0
    for li in range(n):
        line_no = line_base + li + 1
        if (li & 1023) == 0:
            for g in range(N_GROUPS):
                if g_used[g] and g_first[g] < line_no - window_lines:
                    n_inc, inc_pos = _flush_group(g, keys, g_key, g_used, g_count, g_have, g_frag, f_used, f_line,
                                                  f_rlen, f_raw, inc_line, inc_rs, inc_re, inc_raw, n_inc, inc_pos)
        if status[li] != ST_SENTENCE:
            continue
        ps = pstart[li]
        pe = pend[li]
        if fcount[li] == 1:  # payload stays in the chunk buffer (raw kind 0)
            m_start[nm] = ps
            m_end[nm] = pe
            m_fill[nm] = fill[li]
            m_ts[nm] = ts[li]
            m_line[nm] = line_no
            m_line_last[nm] = line_no
            m_nlines[nm] = 1
            m_hash[nm] = phash[li]
            m_rkind[nm] = 0
            m_rs[nm] = starts[li]
            m_re[nm] = ends[li]
            nm += 1
            continue
        cnt = fcount[li]
        num = fnum[li]
        key = ((station[li] * 1000003 + chan[li]) * 131 + (seq[li] + 1)) * 11 + cnt
        g = -1
        if key in keys:
            g = keys[key]
            if g_count[g] != cnt or (g_have[g] >> (num - 1)) & 1:
                n_inc, inc_pos = _flush_group(g, keys, g_key, g_used, g_count, g_have, g_frag, f_used, f_line,
                                              f_rlen, f_raw, inc_line, inc_rs, inc_re, inc_raw, n_inc, inc_pos)
                g = -1
        if g < 0:
            # find a free group slot, or give up the oldest open group
            oldest = -1
            for cand in range(N_GROUPS):
                if not g_used[cand]:
                    g = cand
                    break
                if oldest < 0 or g_first[cand] < g_first[oldest]:
                    oldest = cand
            if g < 0:
                n_inc, inc_pos = _flush_group(oldest, keys, g_key, g_used, g_count, g_have, g_frag, f_used, f_line,
                                              f_rlen, f_raw, inc_line, inc_rs, inc_re, inc_raw, n_inc, inc_pos)
                g = oldest
            g_used[g] = True
            g_key[g] = key
            g_count[g] = cnt
            g_have[g] = 0
            g_first[g] = line_no
            keys[key] = g
        # a fragment slot
        f = -1
        for cand in range(N_FRAGS):
            if not f_used[cand]:
                f = cand
                break
        if f < 0:
            oldest = -1
            for cand in range(N_GROUPS):
                if g_used[cand] and cand != g and (oldest < 0 or g_first[cand] < g_first[oldest]):
                    oldest = cand
            n_inc, inc_pos = _flush_group(oldest, keys, g_key, g_used, g_count, g_have, g_frag, f_used, f_line,
                                          f_rlen, f_raw, inc_line, inc_rs, inc_re, inc_raw, n_inc, inc_pos)
            for cand in range(N_FRAGS):
                if not f_used[cand]:
                    f = cand
                    break
        f_used[f] = True
        f_line[f] = line_no
        f_ts[f] = ts[li]
        f_fill[f] = fill[li]
        f_plen[f] = pe - ps
        f_pay[f, :pe - ps] = buf[ps:pe]
        rl = ends[li] - starts[li]
        f_rlen[f] = rl
        f_raw[f, :rl] = buf[starts[li]:ends[li]]
        g_frag[g, num - 1] = f
        g_have[g] |= 1 << (num - 1)
        if g_have[g] == (1 << cnt) - 1:
            m_start[nm] = mpos
            t = NO_TS
            last = 0
            first = line_no
            m_rs[nm] = mrpos
            for k in range(cnt):
                fk = g_frag[g, k]
                pl = f_plen[fk]
                m_buf[mpos:mpos + pl] = f_pay[fk, :pl]
                mpos += pl
                if t == NO_TS:
                    t = f_ts[fk]
                if f_line[fk] > last:
                    last = f_line[fk]
                if f_line[fk] < first:
                    first = f_line[fk]
                if k > 0:
                    mr_buf[mrpos] = 10
                    mrpos += 1
                rl = f_rlen[fk]
                mr_buf[mrpos:mrpos + rl] = f_raw[fk, :rl]
                mrpos += rl
            flast = g_frag[g, cnt - 1]
            m_end[nm] = mpos
            m_fill[nm] = f_fill[flast]
            m_ts[nm] = t
            m_line[nm] = first
            m_line_last[nm] = last
            m_nlines[nm] = cnt
            m_hash[nm] = payload_hash(m_buf, m_start[nm], mpos, f_fill[flast])
            m_rkind[nm] = 1
            m_re[nm] = mrpos
            nm += 1
            for k in range(cnt):
                f_used[g_frag[g, k]] = False
                g_frag[g, k] = -1
            del keys[key]
            g_used[g] = False
            g_have[g] = 0
    if flush_all:
        for g in range(N_GROUPS):
            if g_used[g]:
                n_inc, inc_pos = _flush_group(g, keys, g_key, g_used, g_count, g_have, g_frag, f_used, f_line,
                                              f_rlen, f_raw, inc_line, inc_rs, inc_re, inc_raw, n_inc, inc_pos)
    return nm, n_inc, mrpos, inc_pos


DEDUP_START_SLOTS = 1 << 16


class DedupState:
    """Recently kept message hashes with their reception time and global line number.

    An open-addressing table of rows ``(hash, ts, line)`` (one cache line per probe). When it is half full, entries
    older than the window are dropped; if most entries are still fresh (a busy feed), the table doubles. So it
    stays as small as the window needs: memory follows the traffic within the window, not the input size.
    """

    def __init__(self, window_s: float = 60.0, window_lines: int = 1000) -> None:
        self.table = np.zeros((DEDUP_START_SLOTS, 3), np.int64)
        self.meta = np.zeros(3, np.int64)  # [n_used, max_ts, max_line]
        self.meta[1] = NO_TS
        self.window_us = int(window_s * 1_000_000)
        self.window_lines = int(window_lines)
        self.line_offset = 0  # global line numbers keep increasing across the files of one run

    def mark(self, m_hash, m_ts, m_line, n, dup) -> None:
        k = 0
        while True:
            k = dedup(m_hash, m_ts, m_line, n, k, self.line_offset, self.table, self.meta, self.window_us,
                      self.window_lines, dup)
            if k >= n:
                return
            bigger = np.zeros((self.table.shape[0] * 2, 3), np.int64)
            self.meta[0] = _rehash(self.table, bigger)
            self.table = bigger


@njit(cache=True, inline="always")
def _insert(tab, h, t, line):
    mask = tab.shape[0] - 1
    i = h & mask
    while tab[i, 0] != 0 and tab[i, 0] != h:
        i = (i + 1) & mask
    new = tab[i, 0] == 0
    tab[i, 0] = h
    tab[i, 1] = t
    tab[i, 2] = line
    return new


@njit(cache=True, nogil=True)
def _rehash(old, new):
    n = 0
    for i in range(old.shape[0]):
        if old[i, 0] != 0:
            _insert(new, old[i, 0], old[i, 1], old[i, 2])
            n += 1
    return n


@njit(cache=True)
def _prune(tab, meta, window_us, window_lines):
    """Drop entries older than the window; returns the number kept."""
    keep = tab[tab[:, 0] != 0].copy()
    tab[:] = 0
    n = 0
    for k in range(keep.shape[0]):
        t = keep[k, 1]
        fresh_t = t != NO_TS and meta[1] != NO_TS and t >= meta[1] - window_us
        fresh_l = keep[k, 2] >= meta[2] - window_lines
        if fresh_t or fresh_l:
            _insert(tab, keep[k, 0], t, keep[k, 2])
            n += 1
    meta[0] = n
    return n


@njit(cache=True, nogil=True)
def dedup(m_hash, m_ts, m_line, n, start, line_offset, tab, meta, window_us, window_lines, dup):
    """Mark ``dup[i]`` for messages already kept within the time (or line) window, from message ``start``.

    Returns the index to resume from: ``n`` when done, less when the table must grow first.
    """
    mask = tab.shape[0] - 1
    for k in range(start, n):
        h = np.int64(m_hash[k])
        if h == 0:
            h = 1
        t = m_ts[k]
        line = m_line[k] + line_offset
        if t != NO_TS and (meta[1] == NO_TS or t > meta[1]):
            meta[1] = t
        if line > meta[2]:
            meta[2] = line
        i = h & mask
        found = False
        while tab[i, 0] != 0:
            if tab[i, 0] == h:
                found = True
                break
            i = (i + 1) & mask
        if found:
            te = tab[i, 1]
            if t != NO_TS and te != NO_TS:
                is_dup = abs(t - te) <= window_us
            else:
                is_dup = abs(line - tab[i, 2]) <= window_lines
            if is_dup:
                dup[k] = True
                continue
        dup[k] = False
        if _insert(tab, h, t, line):
            meta[0] += 1
            if meta[0] > tab.shape[0] // 2:
                if _prune(tab, meta, window_us, window_lines) > tab.shape[0] * 3 // 8:
                    return k + 1
    return n
