"""AIS payload decoding (ITU-R M.1371-5), compiled, writing columns.

:func:`decode_messages` takes assembled 6-bit payloads and fills the columns of the positions and statics tables
directly. Field layouts follow ITU-R M.1371-5 Annex 8 (bit offsets below are from the start of the message).
"Not available" codes become nulls (masks), never numbers. Text fields (6-bit ASCII) stop at the first '@' and
are trimmed of spaces; empty text is null.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from watchkeeper.ingest.framing import NO_TS

OK = 0
R_UNSUPPORTED = 16
R_BAD_LENGTH = 17
R_BAD_VALUES = 18

POSITION_TYPES = (1, 2, 3, 4, 18, 19, 21, 27)
STATIC_TYPES = (5, 19, 21, 24)
SUPPORTED_TYPES = (1, 2, 3, 4, 5, 18, 19, 21, 24, 27)

# minimum payload bits to hold every field decoded from each type
MIN_BITS = np.zeros(64, np.int64)
for _t, _b in {1: 143, 2: 143, 3: 143, 4: 134, 5: 420, 18: 133, 19: 301, 21: 249, 24: 160, 27: 94}.items():
    MIN_BITS[_t] = _b

# widths of the fixed-width text buffers
W_CALLSIGN = 7
W_NAME = 35  # 20 characters, or up to 34 for an aid to navigation with its name extension
W_DEST = 20
W_ETA = 13


@njit(cache=True, inline="always")
def _sixbit(c):
    v = c - 48
    if v > 40:
        v -= 8
    return v


@njit(cache=True, inline="always")
def _bits(w, nbits, start, n):
    """Unsigned integer of n <= 57 bits at bit offset ``start`` of the packed payload ``w`` (64-bit big-endian
    words; bits past the end read 0)."""
    k = start >> 6
    off = start & 63
    hi = w[k] << np.uint64(off)
    if off + n > 64:
        hi |= w[k + 1] >> np.uint64(64 - off)
    return np.int64(hi >> np.uint64(64 - n))


@njit(cache=True, inline="always")
def _sbits(w, nbits, start, n):
    x = _bits(w, nbits, start, n)
    if x >= (1 << (n - 1)):
        x -= 1 << n
    return x


@njit(cache=True, inline="always")
def _lonlat(xraw, yraw, per_deg):
    """Degrees from raw longitude/latitude in 1/per_deg degree units, with "not available" (181, 91) flags."""
    return xraw / per_deg, yraw / per_deg, xraw != 181 * per_deg, yraw != 91 * per_deg


@njit(cache=True)
def _pack(src, s, e, w):
    """Pack the 6-bit values of payload characters src[s:e] into 64-bit words (most significant bit first)."""
    nw = ((e - s) * 6 + 63) >> 6
    for k in range(nw + 1):
        w[k] = 0
    bit = 0
    for i in range(s, e):
        v = np.uint64(_sixbit(src[i]))
        k = bit >> 6
        off = bit & 63
        if off <= 58:
            w[k] |= v << np.uint64(58 - off)
        else:
            w[k] |= v >> np.uint64(off - 58)
            w[k + 1] |= v << np.uint64(122 - off)
        bit += 6


@njit(cache=True)
def _text(v, nbits, start, nchars, out, row, col0):
    """Decode 6-bit text into out[row, col0:]; returns the trimmed length (-1 when empty)."""
    n = 0
    for k in range(nchars):
        b = start + 6 * k
        if b + 6 > nbits:
            break
        c = _bits(v, nbits, b, 6)
        if c == 0:  # '@' ends the text
            break
        out[row, col0 + n] = c + 64 if c < 32 else c
        n += 1
    # trim spaces at both ends
    total = col0 + n
    lo = 0
    while lo < total and out[row, lo] == 32:
        lo += 1
    hi = total
    while hi > lo and out[row, hi - 1] == 32:
        hi -= 1
    if lo > 0:
        for k in range(hi - lo):
            out[row, k] = out[row, lo + k]
    length = hi - lo
    return length if length > 0 else -1


@njit(cache=True)
def _put2(out, row, pos, x):
    out[row, pos] = 48 + x // 10
    out[row, pos + 1] = 48 + x % 10


@njit(cache=True)
def _eta(out, row, month, day, hour, minute):
    """'--MM-DDTHH:MM' (or '--MM-DD' without a valid time); returns the length or -1."""
    if month < 1 or month > 12 or day < 1 or day > 31:
        return -1
    out[row, 0] = 45
    out[row, 1] = 45
    _put2(out, row, 2, month)
    out[row, 4] = 45
    _put2(out, row, 5, day)
    if hour > 23 or minute > 59:
        return 7
    out[row, 7] = 84
    _put2(out, row, 8, hour)
    out[row, 10] = 58
    _put2(out, row, 11, minute)
    return 13


@njit(cache=True)
def decode_messages(buf, m_buf, m_kind, m_start, m_end, m_fill, m_ts, m_line, m_line_last, skip, lo, hi,
                    mstat, mtype,
                    p_mmsi, p_ts, p_lat, p_lon, p_sog, p_cog, p_hdg, p_nav, p_rot, p_acc, p_type, p_line, p_line_last,
                    p_valid,
                    s_mmsi, s_ts, s_imo, s_call, s_call_len, s_name, s_name_len, s_stype, s_bow, s_stern, s_port,
                    s_star, s_draught, s_dest, s_dest_len, s_eta, s_eta_len, s_type, s_line, s_line_last, s_valid):
    """Decode messages ``lo..hi`` (those with ``skip[i]`` false) into the position and static columns.

    Rows are written from index ``lo`` on, so that blocks of messages can be decoded in parallel into one set of
    arrays (:func:`decode_blocks`).

    A message's payload characters are ``buf[m_start:m_end]`` when ``m_kind`` is 0 (a one-sentence message, read
    in place from the chunk) and ``m_buf[m_start:m_end]`` otherwise (reassembled).

    ``p_valid``/``s_valid`` are 2-D boolean masks ``[row, field]`` (field order: see the column lists in
    :mod:`watchkeeper.ingest.nmea`). Returns the numbers of position and static rows written;
    ``mstat[i]`` receives 0 or a reason.
    """
    npos = lo
    nst = lo
    vv = np.empty(32, np.uint64)  # up to 1,984 bits: more than any 5-sentence message
    for i in range(lo, hi):
        mtype[i] = -1
        if skip[i]:
            mstat[i] = OK
            continue
        s = m_start[i]
        e = m_end[i]
        if e - s > 300:
            e = s + 300
        if m_kind[i] == 0:
            _pack(buf, s, e, vv)
        else:
            _pack(m_buf, s, e, vv)
        nbits = 6 * (e - s) - m_fill[i]
        if nbits < 38:
            mstat[i] = R_BAD_LENGTH
            continue
        t = _bits(vv, nbits, 0, 6)
        mtype[i] = t
        if t >= 64 or MIN_BITS[t] == 0:
            mstat[i] = R_UNSUPPORTED
            continue
        if nbits < MIN_BITS[t]:
            mstat[i] = R_BAD_LENGTH
            continue
        mmsi = _bits(vv, nbits, 8, 30)
        if mmsi == 0:
            mstat[i] = R_BAD_VALUES
            continue
        # --- positions ---
        if t <= 3 or t == 4 or t == 18 or t == 19 or t == 21 or t == 27:
            lat = 0.0
            lon = 0.0
            lat_ok = True
            lon_ok = True
            sog = 0.0
            sog_ok = False
            cog = 0.0
            cog_ok = False
            hdg = 0
            hdg_ok = False
            nav = 0
            nav_ok = False
            rot = 0.0
            rot_ok = False
            acc = False
            if t <= 3 or t == 18 or t == 19:
                if t <= 3:
                    nav = _bits(vv, nbits, 38, 4)
                    nav_ok = nav != 15
                    r = _sbits(vv, nbits, 42, 8)
                    if r != -128 and r != 127 and r != -127:
                        rot_ok = True
                        rot = (r / 4.733) ** 2
                        if r < 0:
                            rot = -rot
                    o = 50
                else:
                    o = 46
                sraw = _bits(vv, nbits, o, 10)
                sog_ok = sraw != 1023
                sog = sraw / 10.0
                acc = _bits(vv, nbits, o + 10, 1) == 1
                xraw = _sbits(vv, nbits, o + 11, 28)
                yraw = _sbits(vv, nbits, o + 39, 27)
                craw = _bits(vv, nbits, o + 66, 12)
                cog_ok = craw < 3600
                cog = craw / 10.0
                hraw = _bits(vv, nbits, o + 78, 9)
                hdg_ok = hraw < 360
                hdg = hraw
                lon, lat, lon_ok, lat_ok = _lonlat(xraw, yraw, 600000)
            elif t == 4:
                acc = _bits(vv, nbits, 78, 1) == 1
                lon, lat, lon_ok, lat_ok = _lonlat(_sbits(vv, nbits, 79, 28), _sbits(vv, nbits, 107, 27), 600000)
            elif t == 21:
                acc = _bits(vv, nbits, 163, 1) == 1
                lon, lat, lon_ok, lat_ok = _lonlat(_sbits(vv, nbits, 164, 28), _sbits(vv, nbits, 192, 27), 600000)
            else:  # 27: long-range, 1/10 minute resolution
                acc = _bits(vv, nbits, 38, 1) == 1
                nav = _bits(vv, nbits, 40, 4)
                nav_ok = nav != 15
                lon, lat, lon_ok, lat_ok = _lonlat(_sbits(vv, nbits, 44, 18), _sbits(vv, nbits, 62, 17), 600)
                sraw = _bits(vv, nbits, 79, 6)
                sog_ok = sraw != 63
                sog = float(sraw)
                craw = _bits(vv, nbits, 85, 9)
                cog_ok = craw < 360
                cog = float(craw)
            if (lat_ok and (lat < -90.0 or lat > 90.0)) or (lon_ok and (lon < -180.0 or lon > 180.0)):
                mstat[i] = R_BAD_VALUES
                continue
            p_mmsi[npos] = mmsi
            p_ts[npos] = m_ts[i]
            p_lat[npos] = lat
            p_lon[npos] = lon
            p_sog[npos] = sog
            p_cog[npos] = cog
            p_hdg[npos] = hdg
            p_nav[npos] = nav
            p_rot[npos] = rot
            p_acc[npos] = acc
            p_type[npos] = t
            p_line[npos] = m_line[i]
            p_line_last[npos] = m_line_last[i]
            p_valid[npos, 0] = m_ts[i] != NO_TS
            p_valid[npos, 1] = lat_ok
            p_valid[npos, 2] = lon_ok
            p_valid[npos, 3] = sog_ok
            p_valid[npos, 4] = cog_ok
            p_valid[npos, 5] = hdg_ok
            p_valid[npos, 6] = nav_ok
            p_valid[npos, 7] = rot_ok
            npos += 1
        # --- statics ---
        if t == 5 or t == 19 or t == 21 or t == 24:
            imo = 0
            stype = 0
            bow = 0
            stern = 0
            port = 0
            star = 0
            draught = 0.0
            cl = -1
            nl = -1
            dl = -1
            el = -1
            if t == 5:
                imo = _bits(vv, nbits, 40, 30)
                cl = _text(vv, nbits, 70, 7, s_call, nst, 0)
                nl = _text(vv, nbits, 112, 20, s_name, nst, 0)
                stype = _bits(vv, nbits, 232, 8)
                bow = _bits(vv, nbits, 240, 9)
                stern = _bits(vv, nbits, 249, 9)
                port = _bits(vv, nbits, 258, 6)
                star = _bits(vv, nbits, 264, 6)
                el = _eta(s_eta, nst, _bits(vv, nbits, 274, 4), _bits(vv, nbits, 278, 5), _bits(vv, nbits, 283, 5),
                          _bits(vv, nbits, 288, 6))
                draught = _bits(vv, nbits, 294, 8) / 10.0
                dl = _text(vv, nbits, 302, 20, s_dest, nst, 0)
            elif t == 19:
                nl = _text(vv, nbits, 143, 20, s_name, nst, 0)
                stype = _bits(vv, nbits, 263, 8)
                bow = _bits(vv, nbits, 271, 9)
                stern = _bits(vv, nbits, 280, 9)
                port = _bits(vv, nbits, 289, 6)
                star = _bits(vv, nbits, 295, 6)
            elif t == 21:
                stype = _bits(vv, nbits, 38, 5)
                # name, then the name extension (bits 272..) when present, as one name
                raw_n = 0
                for k in range(20):
                    c = _bits(vv, nbits, 43 + 6 * k, 6)
                    if c == 0:
                        break
                    s_name[nst, raw_n] = c + 64 if c < 32 else c
                    raw_n += 1
                if raw_n == 20 and nbits >= 278:
                    for k in range(14):
                        b = 272 + 6 * k
                        if b + 6 > nbits:
                            break
                        c = _bits(vv, nbits, b, 6)
                        if c == 0:
                            break
                        s_name[nst, raw_n] = c + 64 if c < 32 else c
                        raw_n += 1
                lo = 0
                while lo < raw_n and s_name[nst, lo] == 32:
                    lo += 1
                hi = raw_n
                while hi > lo and s_name[nst, hi - 1] == 32:
                    hi -= 1
                for k in range(hi - lo):
                    s_name[nst, k] = s_name[nst, lo + k]
                nl = hi - lo if hi > lo else -1
                bow = _bits(vv, nbits, 219, 9)
                stern = _bits(vv, nbits, 228, 9)
                port = _bits(vv, nbits, 237, 6)
                star = _bits(vv, nbits, 243, 6)
            else:  # 24
                part = _bits(vv, nbits, 38, 2)
                if part == 0:
                    nl = _text(vv, nbits, 40, 20, s_name, nst, 0)
                elif part == 1:
                    if nbits < 162:
                        mstat[i] = R_BAD_LENGTH
                        continue
                    stype = _bits(vv, nbits, 40, 8)
                    cl = _text(vv, nbits, 90, 7, s_call, nst, 0)
                    if mmsi // 10000000 != 98:  # an auxiliary craft sends its mother ship's MMSI here instead
                        bow = _bits(vv, nbits, 132, 9)
                        stern = _bits(vv, nbits, 141, 9)
                        port = _bits(vv, nbits, 150, 6)
                        star = _bits(vv, nbits, 156, 6)
                else:
                    mstat[i] = R_BAD_VALUES
                    continue
            s_mmsi[nst] = mmsi
            s_ts[nst] = m_ts[i]
            s_imo[nst] = imo
            s_call_len[nst] = cl
            s_name_len[nst] = nl
            s_dest_len[nst] = dl
            s_eta_len[nst] = el
            s_stype[nst] = stype
            s_bow[nst] = bow
            s_stern[nst] = stern
            s_port[nst] = port
            s_star[nst] = star
            s_draught[nst] = draught
            s_type[nst] = t
            s_line[nst] = m_line[i]
            s_line_last[nst] = m_line_last[i]
            s_valid[nst, 0] = m_ts[i] != NO_TS
            s_valid[nst, 1] = imo != 0
            s_valid[nst, 2] = stype != 0
            s_valid[nst, 3] = bow != 0
            s_valid[nst, 4] = stern != 0
            s_valid[nst, 5] = port != 0
            s_valid[nst, 6] = star != 0
            s_valid[nst, 7] = draught != 0.0
            nst += 1
        mstat[i] = OK
    return npos - lo, nst - lo


@njit(cache=True, nogil=True, parallel=True)
def decode_blocks(bounds, counts, buf, m_buf, m_kind, m_start, m_end, m_fill, m_ts, m_line, m_line_last, skip,
                  mstat, mtype,
                  p_mmsi, p_ts, p_lat, p_lon, p_sog, p_cog, p_hdg, p_nav, p_rot, p_acc, p_type, p_line, p_line_last,
                  p_valid,
                  s_mmsi, s_ts, s_imo, s_call, s_call_len, s_name, s_name_len, s_stype, s_bow, s_stern, s_port,
                  s_star, s_draught, s_dest, s_dest_len, s_eta, s_eta_len, s_type, s_line, s_line_last, s_valid):
    """:func:`decode_messages` over the blocks ``bounds[b]..bounds[b+1]`` in parallel; ``counts[b]`` receives
    the position and static rows of block b (written from ``bounds[b]``)."""
    for b in prange(bounds.shape[0] - 1):
        npos, nst = decode_messages(
            buf, m_buf, m_kind, m_start, m_end, m_fill, m_ts, m_line, m_line_last, skip, bounds[b], bounds[b + 1],
            mstat, mtype, p_mmsi, p_ts, p_lat, p_lon, p_sog, p_cog, p_hdg, p_nav, p_rot, p_acc, p_type, p_line,
            p_line_last, p_valid, s_mmsi, s_ts, s_imo, s_call, s_call_len, s_name, s_name_len, s_stype, s_bow,
            s_stern, s_port, s_star, s_draught, s_dest, s_dest_len, s_eta, s_eta_len, s_type, s_line, s_line_last,
            s_valid)
        counts[b, 0] = npos
        counts[b, 1] = nst
