"""Vectorised AIS encoder: message fields → 6-bit payloads → NMEA 0183 sentences with IEC 61162-450 tag blocks.

Everything works on whole arrays (one row per message): fields are laid into a bit matrix, grouped by six,
armoured into ASCII (ITU-R M.1371-5 / IEC 61162-1 six-bit encoding) and framed into byte matrices, one row per
line, whose checksums are XOR reductions over columns. No Python loop runs per message.

Layouts (ITU-R M.1371-5): message 1/2/3 (168 bits), 5 (424 bits, two sentences: 60 + 11 characters, 2 fill
bits), 18 (168 bits), 24 part A (160 bits, 27 characters, 2 fill bits) and part B (168 bits).
"""

from __future__ import annotations

import numpy as np

_HEX = np.frombuffer(b"0123456789ABCDEF", np.uint8)


def pack(fields: list[tuple[np.ndarray, int]], n: int) -> np.ndarray:
    """Bit words (n, ceil(total / 64)) uint64, most significant bit first, of fields given as (values, width);
    negative values in two's complement. Call :func:`armor` with the total number of bits."""
    total = sum(w for _, w in fields)
    words = np.zeros((n, (total + 63) // 64), np.uint64)
    off = 0
    for values, width in fields:
        v = (np.broadcast_to(np.asarray(values, np.int64), (n,)) & ((1 << width) - 1)).astype(np.uint64)
        for q in range(off // 64, (off + width - 1) // 64 + 1):
            s, e = max(off, 64 * q), min(off + width, 64 * (q + 1))
            part = (v >> np.uint64(off + width - e)) & np.uint64((1 << (e - s)) - 1)
            words[:, q] |= part << np.uint64(64 - (s - 64 * q) - (e - s))
        off += width
    return words, total


def armor(packed) -> tuple[np.ndarray, int]:
    """Six-bit ASCII armouring of :func:`pack`'s output: (n, characters) uint8 and the number of fill bits."""
    words, total = packed
    n = words.shape[0]
    nchar = (total + 5) // 6
    out = np.empty((n, nchar), np.uint8)
    for j in range(nchar):
        s = 6 * j
        q, r = divmod(s, 64)
        if r <= 58:
            v = (words[:, q] >> np.uint64(58 - r)) & np.uint64(63)
        else:  # straddles two words
            hi = words[:, q] & np.uint64((1 << (64 - r)) - 1)
            lo = words[:, q + 1] >> np.uint64(64 - (6 - (64 - r))) if q + 1 < words.shape[1] else np.uint64(0)
            v = (hi << np.uint64(6 - (64 - r))) | lo
        v = v.astype(np.uint8)
        out[:, j] = np.where(v < 40, v + 48, v + 56)
    return out, (-total) % 6


def text6(texts: list[str], nchars: int) -> np.ndarray:
    """Six-bit codes (len(texts), nchars) of upper-case text, padded with '@' (0)."""
    out = np.zeros((len(texts), nchars), np.int64)
    for i, s in enumerate(texts):  # once per distinct text (a vessel's name), not per message
        b = np.frombuffer(s.upper()[:nchars].encode("ascii", "replace"), np.uint8).astype(np.int64)
        out[i, :b.size] = np.where(b >= 64, b - 64, b) & 63
    return out


def _text_fields(codes: np.ndarray) -> list[tuple[np.ndarray, int]]:
    return [(codes[:, j], 6) for j in range(codes.shape[1])]


def _coord(lon_deg, lat_deg):
    lon = np.where(np.isfinite(lon_deg), np.round(np.asarray(lon_deg) * 600000), 181 * 600000).astype(np.int64)
    lat = np.where(np.isfinite(lat_deg), np.round(np.asarray(lat_deg) * 600000), 91 * 600000).astype(np.int64)
    return lon, lat


def _kin(sog_kn, cog_deg):
    sog = np.where(np.isfinite(sog_kn), np.clip(np.round(np.asarray(sog_kn) * 10), 0, 1022), 1023).astype(np.int64)
    cog = np.where(np.isfinite(cog_deg), np.round(np.asarray(cog_deg) * 10) % 3600, 3600).astype(np.int64)
    return sog, cog


def position_a(msg_type, mmsi, nav_status, sog_kn, lon_deg, lat_deg, cog_deg, heading_deg, second, accuracy,
               radio) -> np.ndarray:
    """Payload characters (n, 28) of Class A position reports (types 1, 2, 3); ROT is sent as not available."""
    n = len(mmsi)
    lon, lat = _coord(lon_deg, lat_deg)
    sog, cog = _kin(sog_kn, cog_deg)
    bits = pack([(msg_type, 6), (0, 2), (mmsi, 30), (nav_status, 4), (-128, 8), (sog, 10), (accuracy, 1),
                 (lon, 28), (lat, 27), (cog, 12), (heading_deg, 9), (second, 6), (0, 2), (0, 3), (0, 1),
                 (radio, 19)], n)
    return armor(bits)[0]


def position_b(mmsi, sog_kn, lon_deg, lat_deg, cog_deg, heading_deg, second, accuracy) -> np.ndarray:
    """Payload characters (n, 28) of Class B position reports (type 18, CS unit, SOTDMA-free)."""
    n = len(mmsi)
    lon, lat = _coord(lon_deg, lat_deg)
    sog, cog = _kin(sog_kn, cog_deg)
    bits = pack([(18, 6), (0, 2), (mmsi, 30), (0, 8), (sog, 10), (accuracy, 1), (lon, 28), (lat, 27), (cog, 12),
                 (heading_deg, 9), (second, 6), (0, 2), (1, 1), (0, 1), (1, 1), (1, 1), (1, 1), (0, 1), (0, 1),
                 (393222, 20)], n)
    return armor(bits)[0]


def static_a(mmsi, imo, callsign6, name6, ship_type, dims, eta, draught_m, destination6) -> np.ndarray:
    """Payload characters (n, 71) of type 5 messages (2 fill bits). ``*6`` are six-bit code matrices, ``dims``
    is (n, 4) to bow/stern/port/starboard, ``eta`` is (n, 4) month/day/hour/minute."""
    n = len(mmsi)
    draught = np.clip(np.round(np.asarray(draught_m) * 10), 0, 255).astype(np.int64)
    bits = pack([(5, 6), (0, 2), (mmsi, 30), (0, 2), (imo, 30), *_text_fields(callsign6), *_text_fields(name6),
                 (ship_type, 8), (dims[:, 0], 9), (dims[:, 1], 9), (dims[:, 2], 6), (dims[:, 3], 6), (1, 4),
                 (eta[:, 0], 4), (eta[:, 1], 5), (eta[:, 2], 5), (eta[:, 3], 6), (draught, 8),
                 *_text_fields(destination6), (0, 1), (0, 1)], n)
    return armor(bits)[0]


def static_b_a(mmsi, name6) -> np.ndarray:
    """Payload characters (n, 27) of type 24 part A (2 fill bits)."""
    return armor(pack([(24, 6), (0, 2), (mmsi, 30), (0, 2), *_text_fields(name6)], len(mmsi)))[0]


def static_b_b(mmsi, ship_type, callsign6, dims) -> np.ndarray:
    """Payload characters (n, 28) of type 24 part B (vendor id left blank)."""
    n = len(mmsi)
    return armor(pack([(24, 6), (0, 2), (mmsi, 30), (1, 2), (ship_type, 8), (0, 18), (0, 4), (0, 20),
                       *_text_fields(callsign6), (dims[:, 0], 9), (dims[:, 1], 9), (dims[:, 2], 6),
                       (dims[:, 3], 6), (1, 4), (0, 2)], n))[0]


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    p = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((np.asarray(values, np.int64)[:, None] // p[None, :]) % 10 + 48).astype(np.uint8)


def _const(text: str, n: int) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text.encode("ascii"), np.uint8), (n, len(text)))


def _col(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, np.uint8).reshape(-1, 1)


def _checksum(m: np.ndarray) -> np.ndarray:
    x = np.bitwise_xor.reduce(m, axis=1)
    return np.stack([_HEX[x >> 4], _HEX[x & 15]], axis=1)


def lines(payload: np.ndarray, fill: int, station: np.ndarray, epoch_s: np.ndarray, channel: np.ndarray,
          count: int = 1, number: int = 1, seq: np.ndarray | None = None) -> np.ndarray:
    """Byte matrix (n, width) of lines ``\\s:STATION,c:EPOCH*hh\\!AIVDM,count,number,seq,channel,payload,fill*hh``
    and a newline. ``station`` is (n, 4) bytes; ``epoch_s`` whole seconds (10 digits); ``channel`` b'A' or b'B'."""
    n = payload.shape[0]
    tag = np.concatenate([_const("s:", n), station, _const(",c:", n), _digits(epoch_s, 10)], axis=1)
    seq_col = _const("", n) if seq is None else _col(np.asarray(seq) + 48)
    body = np.concatenate([_const(f"AIVDM,{count},{number},", n), seq_col, _const(",", n), _col(channel),
                           _const(",", n), payload, _const(f",{fill}", n)], axis=1)
    return np.concatenate([_const("\\", n), tag, _const("*", n), _checksum(tag), _const("\\!", n), body,
                           _const("*", n), _checksum(body), _const("\n", n)], axis=1)
