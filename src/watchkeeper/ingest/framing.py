"""NMEA line framing, compiled: checksums, tag blocks, timestamps and sentence fields for a whole chunk at once.

One call of :func:`frame_lines` classifies every line of a byte chunk without creating a Python object per line
(which caps a decoder near 10^5 lines/s). For each line it writes a status (an AIS sentence, a metadata line, a
skipped line, or a rejection reason of :mod:`watchkeeper.ingest.reasons`) and, for sentences, the position of the
payload, the fragment fields, the reception time and a hash of the payload.

Time sources, in order of precedence (the first one present wins):

1. an IEC 61162-450 tag block ``\\s:station,c:1635731889*hh\\`` before the sentence (``c`` in seconds, or in
   milliseconds when it has 12 or more digits);
2. a ``$PGHP,1,YYYY,M,D,h,m,s,ms,...`` sentence on the line before (Gatehouse / Danish Maritime Authority feeds);
3. a prefix before the sentence: UNIX epoch seconds (``1635731889.25 !AIVDM...``) or ISO 8601
   (``2021-11-01T01:58:07Z !AIVDM...`` / ``2021-11-01 01:58:07.123,!AIVDM...``);
4. trailing receiver fields after the checksum, as in US Coast Guard NAIS archives
   (``...*7F,d-108,S0097,t050102.00,T02.59,r003669946,1325394065,1325394006``): the first field that is a
   10-digit epoch number.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

NO_TS = np.iinfo(np.int64).min  # "no timestamp" in int64 microsecond columns
MAX_LINE_BYTES = 1024  # no AIS sentence line (with tag block, prefix and receiver fields) comes near this

# how a line relates to a pending $PGHP time
PG_NONE = 0
PG_TIME = 1  # a $PGHP line: its time waits for the next sentence
PG_APPLY = 2  # a sentence without a tag-block time: takes the pending time
PG_RESET = 3  # a sentence line that uses up (or voids) the pending time without taking it

ST_SENTENCE = 0
ST_META = 1
ST_SKIP = 2
# rejection codes: see reasons.REASONS
R_BAD_CHECKSUM = 10
R_MALFORMED = 11
R_NOT_AIS = 12
R_BAD_TIMESTAMP = 13
R_TOO_LONG = 14
R_NOT_TEXT = 15
R_BAD_TAG_BLOCK = 19

MALFORMED_DETAIL = {
    1: "no '*hh' checksum at the end of the sentence",
    2: "an AIVDM sentence has 7 comma-separated fields (talker, count, number, sequence, channel, payload, fill)",
    3: "fragment count must be 1-9 and fragment number 1..count",
    4: "sequence id must be empty or a number",
    5: "channel must be empty or one character",
    6: "fill bits must be 0-5",
    7: "empty payload",
    8: "payload has a character outside the AIS 6-bit alphabet",
}

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True, inline="always")
def _hexval(c):
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    if 97 <= c <= 102:
        return c - 87
    return -1


@njit(cache=True)
def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = y - (1 if m <= 2 else 0)
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m + (-3 if m > 2 else 9)
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True)
def civil_to_us(y, mo, d, h, mi, s, us):
    """Microseconds since the epoch of a UTC civil time, or NO_TS when a field is out of range."""
    if y < 1970 or y > 2200 or mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or s > 60 or us < 0:
        return NO_TS
    if h < 0 or mi < 0 or s < 0:
        return NO_TS
    days = days_from_civil(y, mo, d)
    return ((days * 24 + h) * 60 + mi) * 60_000_000 + s * 1_000_000 + us


@njit(cache=True)
def _parse_int(buf, s, e):
    """Unsigned decimal integer in buf[s:e], or -1 if empty or not all digits."""
    if e <= s or e - s > 18:
        return -1
    v = 0
    for i in range(s, e):
        c = buf[i]
        if c < 48 or c > 57:
            return -1
        v = v * 10 + (c - 48)
    return v


@njit(cache=True)
def parse_epoch(buf, s, e, ms_digits):
    """Epoch seconds (optionally with a fraction) in buf[s:e] to microseconds; NO_TS if not a number.

    An integer with ``ms_digits`` or more digits is read as milliseconds.
    """
    if e <= s:
        return NO_TS
    ip = 0
    nd = 0
    i = s
    while i < e and 48 <= buf[i] <= 57:
        ip = ip * 10 + (buf[i] - 48)
        nd += 1
        i += 1
        if nd > 16:
            return NO_TS
    if nd == 0:
        return NO_TS
    frac_us = 0
    if i < e:
        if buf[i] != 46:  # '.'
            return NO_TS
        i += 1
        scale = 100000
        while i < e and 48 <= buf[i] <= 57:
            frac_us += (buf[i] - 48) * scale
            scale //= 10
            i += 1
        if i != e:
            return NO_TS
        return ip * 1_000_000 + frac_us
    if nd >= ms_digits:
        return ip * 1000
    return ip * 1_000_000


@njit(cache=True)
def _digits(buf, i, n, e):
    if i + n > e:
        return -1
    return _parse_int(buf, i, i + n)


@njit(cache=True)
def parse_iso(buf, s, e):
    """ISO 8601 UTC time ``YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]][Z|+00:00|+0000]`` to microseconds, else NO_TS."""
    if e - s < 16:
        return NO_TS
    y = _digits(buf, s, 4, e)
    if y < 0 or buf[s + 4] != 45:
        return NO_TS
    mo = _digits(buf, s + 5, 2, e)
    if mo < 0 or buf[s + 7] != 45:
        return NO_TS
    d = _digits(buf, s + 8, 2, e)
    if d < 0 or (buf[s + 10] != 84 and buf[s + 10] != 32):
        return NO_TS
    h = _digits(buf, s + 11, 2, e)
    if h < 0 or buf[s + 13] != 58:
        return NO_TS
    mi = _digits(buf, s + 14, 2, e)
    if mi < 0:
        return NO_TS
    i = s + 16
    sec = 0
    us = 0
    if i < e and buf[i] == 58:
        sec = _digits(buf, i + 1, 2, e)
        if sec < 0:
            return NO_TS
        i += 3
        if i < e and (buf[i] == 46 or buf[i] == 44):
            i += 1
            scale = 100000
            nd = 0
            while i < e and 48 <= buf[i] <= 57:
                us += (buf[i] - 48) * scale
                scale //= 10
                nd += 1
                i += 1
            if nd == 0:
                return NO_TS
    if i < e:
        c = buf[i]
        if c == 90 or c == 122:  # Z
            i += 1
        elif c == 43 or c == 45:  # +hh:mm / -hh:mm offsets: convert to UTC
            sign = 1 if c == 43 else -1
            oh = _digits(buf, i + 1, 2, e)
            if oh < 0:
                return NO_TS
            j = i + 3
            if j < e and buf[j] == 58:
                j += 1
            om = _digits(buf, j, 2, e) if j < e else 0
            if om < 0:
                return NO_TS
            j = j + 2 if j < e else j
            t = civil_to_us(y, mo, d, h, mi, sec, us)
            if t == NO_TS or j != e:
                return NO_TS
            return t - sign * (oh * 3600 + om * 60) * 1_000_000
    if i != e:
        return NO_TS
    return civil_to_us(y, mo, d, h, mi, sec, us)


@njit(cache=True, inline="always")
def _is_sep(c):
    return c == 32 or c == 44 or c == 59 or c == 9 or c == 124 or c == 58  # space , ; tab | :


@njit(cache=True, inline="always")
def _is_payload_char(c):
    return (48 <= c <= 87) or (96 <= c <= 119)


@njit(cache=True, inline="always")
def payload_hash(src, s, e, fill):
    """64-bit hash of a payload's characters src[s:e] and its fill bits, FNV-style over 8-byte words.

    One-sentence messages (framing) and reassembled ones (multipart) both use it, so one message received as one
    sentence by a station and as two by another hashes the same (and counts once).
    """
    h = FNV_OFFSET
    word = np.uint64(0)
    nb = 0
    for i in range(s, e):
        word = (word << np.uint64(8)) | np.uint64(src[i])
        nb += 1
        if nb == 8:
            h = (h ^ word) * FNV_PRIME
            word = np.uint64(0)
            nb = 0
    h = (h ^ word ^ np.uint64(nb)) * FNV_PRIME
    return h ^ np.uint64(fill)


@njit(cache=True)
def _parse_pghp(buf, p, q, vals):
    """Time (us) of a ``$PGHP,1,YYYY,M,D,h,m,s,ms,country,region,pss,...`` sentence between p ('$') and q ('*')."""
    vals[:] = -1
    k = 0
    i = p + 6  # after "$PGHP,"
    start = i
    while i <= q and k < 12:
        if i == q or buf[i] == 44:
            vals[k] = _parse_int(buf, start, i)
            k += 1
            start = i + 1
        i += 1
    if k < 8:
        return NO_TS, 0
    t = civil_to_us(vals[1], vals[2], vals[3], vals[4], vals[5], vals[6], 0)
    if t == NO_TS or vals[7] < 0 or vals[7] > 999:
        return NO_TS, 0
    station = vals[10] if k > 10 and vals[10] > 0 else 0
    return t + vals[7] * 1000, station


@njit(cache=True, nogil=True, parallel=True)
def frame_lines(buf, starts, ends, state,
                status, pstart, pend, fill, fcount, fnum, seq, chan, ts, station, phash, detail):
    """Classify every line ``buf[starts[i]:ends[i]]`` of a chunk; see the module docstring.

    Lines are independent, so blocks of lines run in parallel; the one dependency between lines, a ``$PGHP``
    time that belongs to the next sentence, is resolved afterwards by :func:`apply_pghp` (``state`` carries a
    pending ``$PGHP`` time from chunk to chunk). ``station`` receives the talker (two letters) that keys
    multi-sentence reassembly. ``detail`` receives, for bad checksums, ``found * 256 + computed``; for
    malformed sentences a code of ``MALFORMED_DETAIL``.
    """
    n = starts.shape[0]
    pg = np.zeros(n, np.int8)
    nblocks = min(64, max(1, n // 4096))
    for b in prange(nblocks):
        _frame_range(buf, starts, ends, n * b // nblocks, n * (b + 1) // nblocks, pg,
                     status, pstart, pend, fill, fcount, fnum, seq, chan, ts, station, phash, detail)
    apply_pghp(pg, ts, state)
    return n


@njit(cache=True)
def apply_pghp(pg, ts, state):
    """Give each sentence the time of a ``$PGHP`` line just before it (sequential, cheap)."""
    pending = state[0]
    for li in range(pg.shape[0]):
        k = pg[li]
        if k == PG_TIME:
            pending = ts[li]
        elif k == PG_APPLY:
            if pending != NO_TS:
                ts[li] = pending
            pending = NO_TS
        elif k == PG_RESET:
            pending = NO_TS
    state[0] = pending


@njit(cache=True)
def _frame_range(buf, starts, ends, lo, hi, pg,
                 status, pstart, pend, fill, fcount, fnum, seq, chan, ts, station, phash, detail):
    fstart = np.empty(6, np.int64)
    fend = np.empty(6, np.int64)
    scratch = np.empty(12, np.int64)
    for li in range(lo, hi):
        s = starts[li]
        e = ends[li]
        status[li] = ST_SKIP
        ts[li] = NO_TS
        station[li] = 0
        detail[li] = -1
        # trim CR / whitespace at both ends
        while e > s and (buf[e - 1] == 13 or buf[e - 1] == 32 or buf[e - 1] == 9):
            e -= 1
        while s < e and (buf[s] == 32 or buf[s] == 9):
            s += 1
        if s == e or buf[s] == 35:  # blank or '#' comment
            continue
        if e - s > MAX_LINE_BYTES:
            status[li] = R_TOO_LONG
            continue
        # printable ASCII only (tab allowed); branch-free so that it vectorises
        bad = 0
        for i in range(s, e):
            c = buf[i]
            bad |= ((c < 32) & (c != 9)) | (c > 126)
        if bad:
            status[li] = R_NOT_TEXT
            continue
        r = s
        tag_ts = NO_TS
        if buf[s] == 92:  # '\' tag block
            # one pass to the '*': checksum, and the c: (time) field
            cs = 0
            star = -1
            fs = s + 1
            tfs = -1
            tfe = -1
            for i in range(s + 1, e):
                c = buf[i]
                if c == 42 or c == 92:
                    if c == 42:
                        star = i
                    break
                cs ^= c
                if c == 44:
                    if buf[fs] == 99 and i - fs >= 2 and buf[fs + 1] == 58:
                        tfs = fs + 2
                        tfe = i
                    fs = i + 1
            k = star + 3
            if star < 0 or k >= e or buf[k] != 92:
                status[li] = R_BAD_TAG_BLOCK
                continue
            if star - fs >= 2 and buf[fs] == 99 and buf[fs + 1] == 58:
                tfs = fs + 2
                tfe = star
            h1 = _hexval(buf[star + 1])
            h2 = _hexval(buf[star + 2])
            if h1 < 0 or h2 < 0 or (h1 * 16 + h2) != cs:
                status[li] = R_BAD_TAG_BLOCK
                detail[li] = (max(h1, 0) * 16 + max(h2, 0)) * 256 + cs
                continue
            bad_time = False
            if tfs >= 0:
                tag_ts = parse_epoch(buf, tfs, tfe, 12)
                bad_time = tag_ts == NO_TS
            if bad_time:
                status[li] = R_BAD_TIMESTAMP
                continue
            r = k + 1
            if r >= e:  # a tag block alone on its line
                status[li] = ST_META
                continue
        # find the sentence start
        p = r
        while p < e and buf[p] != 33 and buf[p] != 36:
            p += 1
        if p >= e:
            status[li] = R_NOT_AIS
            continue
        prefix_ts = NO_TS
        if p > r:
            pe = p
            while pe > r and _is_sep(buf[pe - 1]):
                pe -= 1
            ps = r
            while ps < pe and _is_sep(buf[ps]):
                ps += 1
            if pe > ps:
                prefix_ts = parse_epoch(buf, ps, pe, 12)
                if prefix_ts == NO_TS:
                    prefix_ts = parse_iso(buf, ps, pe)
                if prefix_ts == NO_TS:
                    status[li] = R_BAD_TIMESTAMP
                    pg[li] = PG_RESET
                    continue
        is_pghp = (e - p >= 6 and buf[p] == 36 and buf[p + 1] == 80 and buf[p + 2] == 71
                   and buf[p + 3] == 72 and buf[p + 4] == 80 and buf[p + 5] == 44)
        is_vdm = (e - p >= 7 and buf[p + 3] == 86 and buf[p + 4] == 68 and (buf[p + 5] == 77 or buf[p + 5] == 79)
                  and buf[p + 6] == 44)
        if not is_pghp and not is_vdm:
            status[li] = R_NOT_AIS
            continue
        # one pass: checksum, field boundaries (after "!xxVDM,") and the '*'
        cs = 0
        k = 0
        fs = p + 7
        q = e
        for i in range(p + 1, e):
            c = buf[i]
            if c == 42:
                q = i
                break
            cs ^= c
            if c == 44 and i > p + 6:
                if k < 6:
                    fstart[k] = fs
                    fend[k] = i
                k += 1
                fs = i + 1
        if q + 3 > e:
            status[li] = R_MALFORMED
            detail[li] = 1
            continue
        h1 = _hexval(buf[q + 1])
        h2 = _hexval(buf[q + 2])
        if h1 < 0 or h2 < 0:
            status[li] = R_MALFORMED
            detail[li] = 1
            continue
        if h1 * 16 + h2 != cs:
            status[li] = R_BAD_CHECKSUM
            detail[li] = (h1 * 16 + h2) * 256 + cs
            if is_vdm:
                pg[li] = PG_RESET
            continue
        if is_pghp:
            t, stn = _parse_pghp(buf, p, q, scratch)
            if t == NO_TS:
                status[li] = R_BAD_TIMESTAMP
                pg[li] = PG_RESET
                continue
            ts[li] = t
            pg[li] = PG_TIME
            status[li] = ST_META
            continue
        # the six fields after "!xxVDM,": count, number, sequence id, channel, payload, fill bits
        ok = True
        if k == 5:
            fstart[5] = fs
            fend[5] = q
            k = 6
        else:
            ok = False
        if not ok:
            status[li] = R_MALFORMED
            detail[li] = 2
            pg[li] = PG_RESET
            continue
        cnt = _parse_int(buf, fstart[0], fend[0])
        num = _parse_int(buf, fstart[1], fend[1])
        sq = -1
        if fend[2] > fstart[2]:
            sq = _parse_int(buf, fstart[2], fend[2])
            if sq < 0 or sq > 99:
                ok = False
                detail[li] = 4
        ch = 0
        if fend[3] - fstart[3] == 1:
            ch = buf[fstart[3]]
        elif fend[3] > fstart[3]:
            ok = False
            detail[li] = 5
        fb = 0
        if fend[5] > fstart[5]:
            fb = _parse_int(buf, fstart[5], fend[5])
            if fb < 0 or fb > 5:
                ok = False
                detail[li] = 6
        if cnt < 1 or cnt > 9 or num < 1 or num > cnt:
            ok = False
            detail[li] = 3
        elif fend[4] <= fstart[4]:
            ok = False
            detail[li] = 7
        if ok:
            for i in range(fstart[4], fend[4]):
                if not _is_payload_char(buf[i]):
                    ok = False
                    detail[li] = 8
                    break
        if not ok:
            status[li] = R_MALFORMED
            pg[li] = PG_RESET
            continue
        # trailing receiver fields: the first 10-digit epoch number
        trail_ts = NO_TS
        if q + 3 < e and buf[q + 3] == 44:
            fs = q + 4
            for i in range(q + 4, e + 1):
                if i == e or buf[i] == 44:
                    j = fs
                    while j < i and 48 <= buf[j] <= 57:
                        j += 1
                    if j - fs == 10:
                        trail_ts = parse_epoch(buf, fs, i, 13)
                        if trail_ts != NO_TS:
                            break
                    fs = i + 1
        # a pending $PGHP time (applied by apply_pghp) ranks below a tag block and above the rest
        pg[li] = PG_RESET if tag_ts != NO_TS else PG_APPLY
        t = tag_ts
        if t == NO_TS:
            t = prefix_ts
        if t == NO_TS:
            t = trail_ts
        status[li] = ST_SENTENCE
        ts[li] = t
        # fragments of one message share talker, channel and sequence id; station ids (tag block s:, $PGHP)
        # often come with the first fragment only, so they cannot key the reassembly
        station[li] = buf[p + 1] * 256 + buf[p + 2]
        pstart[li] = fstart[4]
        pend[li] = fend[4]
        fill[li] = fb
        fcount[li] = cnt
        fnum[li] = num
        seq[li] = sq
        chan[li] = ch
        phash[li] = payload_hash(buf, fstart[4], fend[4], fb)
