"""Build a reproducible synthetic NMEA AIS corpus for the benchmarks.

A pool of distinct, realistic messages is encoded once with pyais (``pyais.encode_dict``); the corpus is then
sampled from that pool. Each time a pool message is used, a few fields are re-written directly in its 6-bit
payload (position jitter, UTC second, base-station time, ETA minute, spare bits), so payloads rarely repeat by
accident and the only duplicates are the ones placed on purpose.

Mix (share of lines, approximately): 80% types 1-3, 6% two-part type 5 (parts consecutive, sometimes
interleaved with another message, sometimes out of order), 6% type 18, 3% type 24 A/B, 1% type 27, 1% type 4,
2% duplicates (the same sentence again within a few lines with another tag-block station), 1% corrupt lines
(bad checksum, truncated line, garbage). About half of the messages carry an IEC 61162-450 tag block
``\\s:station,c:<unix seconds>*hh\\``; the rest are plain sentences (no time).

Usage::

    python bench/corpus.py                          # bench/corpus/corpus-1000000.nmea
    python bench/corpus.py --sentences 200000 --gzip
    python bench/corpus.py --repeat 20              # 20 copies of the 1M corpus: bench/corpus/corpus-1000000x20.nmea
"""

from __future__ import annotations

import argparse
import gzip
import random
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS_DIR = HERE / "corpus"
T0 = 1709251200  # 2024-03-01T00:00:00Z
SPAN_S = 86_400  # the corpus spans one day of reception time

# line shares of each kind of event (a type-5 event is two lines)
LINE_SHARES = {"pos": 0.80, "t5": 0.06, "t18": 0.06, "t24": 0.03, "t27": 0.01, "t4": 0.01}
DUP_SHARE = 0.02
CORRUPT_SHARE = 0.01
TAG_SHARE = 0.5

# --- 6-bit armouring ------------------------------------------------------------------------------------
_CH = [chr(v + 48) if v < 40 else chr(v + 56) for v in range(64)]
_VAL = {c: v for v, c in enumerate(_CH)}
_T12 = [_CH[i >> 6] + _CH[i & 63] for i in range(4096)]


def unarmor(payload: str, fill: int) -> tuple[int, int]:
    """(integer of the message bits, number of bits)."""
    v = 0
    for c in payload:
        v = (v << 6) | _VAL[c]
    return v >> fill, 6 * len(payload) - fill


def armor(v: int, nbits: int) -> tuple[str, int]:
    """(payload characters, fill bits) of an nbits-long integer."""
    fill = (-nbits) % 6
    v <<= fill
    nsext = (nbits + fill) // 6
    pieces = []
    for _ in range(nsext // 2):
        pieces.append(_T12[v & 4095])
        v >>= 12
    if nsext & 1:
        pieces.append(_CH[v & 63])
    return "".join(reversed(pieces)), fill


def get_bits(v: int, nbits: int, start: int, n: int, signed: bool = False) -> int:
    x = (v >> (nbits - start - n)) & ((1 << n) - 1)
    if signed and x >> (n - 1):
        x -= 1 << n
    return x


def set_bits(v: int, nbits: int, start: int, n: int, x: int) -> int:
    shift = nbits - start - n
    mask = ((1 << n) - 1) << shift
    return (v & ~mask) | ((x & ((1 << n) - 1)) << shift)


def nmea_checksum(body: str) -> int:
    cs = 0
    for b in body.encode("ascii", "replace"):
        cs ^= b
    return cs


def sentence(payload: str, fill: int, channel: str, count: int = 1, num: int = 1, seq: str = "") -> str:
    body = f"AIVDM,{count},{num},{seq},{channel},{payload},{fill}"
    return f"!{body}*{nmea_checksum(body):02X}"


def tag_block(station: str, ts: int) -> str:
    body = f"s:{station},c:{ts}"
    return f"\\{body}*{nmea_checksum(body):02X}\\"


# --- the pool of realistic messages ----------------------------------------------------------------------
MIDS = [201, 205, 209, 211, 212, 215, 219, 224, 227, 229, 230, 232, 235, 236, 244, 248, 249, 255, 256, 257, 258,
        259, 265, 271, 273, 304, 305, 308, 309, 311, 312, 316, 338, 341, 351, 352, 353, 354, 355, 356, 357, 366,
        367, 368, 369, 370, 371, 372, 373, 374, 376, 377, 403, 412, 413, 414, 416, 419, 422, 431, 432, 440, 441,
        445, 457, 463, 477, 503, 511, 525, 533, 538, 548, 563, 564, 565, 566, 572, 577, 601, 620, 636, 657, 667,
        671, 677]
# (lat, lon, spread in degrees): ports, straits and open-ocean lanes
HUBS = [(1.26, 103.8, 1.5), (51.95, 4.05, 1.2), (31.2, 121.6, 1.5), (22.3, 114.2, 1.0), (35.4, 139.8, 1.0),
        (29.9, 32.55, 0.8), (36.0, -5.5, 1.0), (26.5, 56.3, 1.2), (12.6, 43.4, 1.0), (33.7, -118.3, 1.5),
        (40.6, -74.0, 1.0), (29.7, -94.9, 1.5), (53.5, 9.9, 1.0), (59.4, 24.7, 2.0), (44.6, 33.5, 2.0),
        (25.2, 55.3, 1.0), (-33.9, 18.4, 2.0), (-23.9, -46.3, 1.5), (9.0, -79.6, 0.8), (60.4, 5.3, 2.0),
        (37.9, 23.6, 2.0), (41.0, 29.0, 0.6), (43.1, 131.9, 1.5), (69.0, 33.1, 2.0), (0.0, -30.0, 30.0),
        (20.0, 65.0, 25.0), (-10.0, 90.0, 30.0), (30.0, -45.0, 25.0), (15.0, 150.0, 35.0), (-40.0, 10.0, 25.0)]
WORDS = ["OCEAN", "STAR", "PACIFIC", "ATLANTIC", "NORDIC", "GLORY", "PRIDE", "SPIRIT", "EXPRESS", "TRADER",
         "VOYAGER", "HARMONY", "FORTUNE", "LIBERTY", "AURORA", "CORAL", "EAGLE", "FALCON", "MARINER", "PIONEER",
         "SEA", "BALTIC", "ARCTIC", "GOLDEN", "SILVER", "ISLAND", "CAPE", "BAY", "PEARL", "DIAMOND", "LADY",
         "VICTORIA", "HORIZON", "ENDEAVOUR", "NEPTUNE", "POSEIDON", "ORION", "VEGA", "ATLAS", "TITAN", "MAERSK",
         "MSC", "EVER", "COSCO", "NAVIOS", "ELANDRA", "MINERVA", "DELTA", "ALPHA", "OMEGA"]
PORTS = ["ROTTERDAM", "SINGAPORE", "SHANGHAI", "NLRTM", "SGSIN", "CNSHA", "HOUSTON", "USHOU", "FUJAIRAH",
         "NOVOROSSIYSK", "PRIMORSK", "UST-LUGA", "PIRAEUS", "ALGECIRAS", "BUSAN", "KRPUS", "JEBEL ALI", "AEJEA",
         "SANTOS", "DURBAN", "HAMBURG", "DEHAM", "ANTWERP", "BEANR", "PORT SAID", "GIBRALTAR FOR ORDERS", "TBN"]


def _mmsi(rng: random.Random) -> int:
    return rng.choice(MIDS) * 1_000_000 + rng.randrange(1, 1_000_000)


def _where(rng: random.Random) -> tuple[float, float]:
    lat0, lon0, spread = rng.choice(HUBS)
    lat = max(-80.0, min(84.0, rng.gauss(lat0, spread / 2)))
    lon = (rng.gauss(lon0, spread / 2) + 180.0) % 360.0 - 180.0
    return round(lat, 5), round(lon, 5)


def _name(rng: random.Random) -> str:
    n = f"{rng.choice(WORDS)} {rng.choice(WORDS)}"
    if rng.random() < 0.3:
        n += f" {rng.randrange(1, 20)}"
    return n[:20]


def _callsign(rng: random.Random) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "".join(rng.choice(letters) for _ in range(rng.randrange(2, 4))) + str(rng.randrange(100, 9999))


def _encode(d: dict, channel: str = "A", seq_id=None) -> tuple[str, int]:
    """Payload and fill of a pyais-encoded message (parts joined)."""
    from pyais import encode_dict

    parts = encode_dict(d, talker_id="AI", sentence_type="VDM", radio_channel=channel, seq_id=seq_id)
    payload = ""
    fill = 0
    for p in parts:
        f = p.split("*")[0].split(",")
        payload += f[5]
        fill = int(f[6])
    return payload, fill


class Pool:
    """Pyais-encoded messages, stored as (integer bits, number of bits) per kind."""

    def __init__(self, rng: random.Random, size: int):
        n_a = max(50, size // 4)  # class A vessels
        n_b = max(20, size // 20)  # class B vessels
        self.a_mmsi = [_mmsi(rng) for _ in range(n_a)]
        self.b_mmsi = [_mmsi(rng) for _ in range(n_b)]
        self.base_mmsi = [rng.choice(MIDS) * 10_000 + rng.randrange(1, 10_000) for _ in range(max(10, size // 200))]
        share = {k: v for k, v in LINE_SHARES.items()}
        self.items: dict[str, list[tuple[int, int]]] = {}
        self.items["pos"] = [self._pos(rng) for _ in range(int(size * share["pos"]))]
        self.items["t18"] = [self._t18(rng) for _ in range(max(10, int(size * share["t18"])))]
        self.items["t27"] = [self._t27(rng) for _ in range(max(10, int(size * share["t27"])))]
        self.items["t4"] = [self._t4(rng, m) for m in self.base_mmsi]
        self.items["t5"] = [self._t5(rng, m) for m in self.a_mmsi[: max(10, int(size * share["t5"]))]]
        t24 = []
        for m in self.b_mmsi:
            t24.append(self._t24a(rng, m))
            t24.append(self._t24b(rng, m))
        self.items["t24"] = t24
        self.size = sum(len(v) for v in self.items.values())

    def _pos(self, rng):
        t = rng.choices([1, 2, 3], [70, 5, 25])[0]
        status = rng.choices([0, 1, 5, 7, 8, 15], [70, 10, 10, 4, 3, 3])[0]
        moving = status in (0, 7, 8, 15)
        lat, lon = _where(rng)
        hdg_ok = rng.random() < 0.9
        cog = round(rng.uniform(0, 359.9), 1)
        d = dict(type=t, mmsi=rng.choice(self.a_mmsi), status=status,
                 turn=rng.choice([0, 0, 0, 2, -2, 5, -5, -128]),
                 speed=round(rng.uniform(3, 22), 1) if moving else round(rng.uniform(0, 0.3), 1),
                 accuracy=rng.random() < 0.5, lon=lon, lat=lat, course=cog,
                 heading=int(cog) % 360 if hdg_ok else 511, second=rng.randrange(60), maneuver=0,
                 raim=rng.random() < 0.3, radio=rng.randrange(1 << 19))
        v, nb = unarmor(*_encode(d))
        return set_bits(v, nb, 0, 6, t), nb  # pyais 3.3.1 encodes types 2 and 3 as type 1

    def _t18(self, rng):
        lat, lon = _where(rng)
        cog = round(rng.uniform(0, 359.9), 1)
        d = dict(type=18, mmsi=rng.choice(self.b_mmsi), speed=round(rng.uniform(0, 25), 1),
                 accuracy=rng.random() < 0.5, lon=lon, lat=lat, course=cog,
                 heading=511 if rng.random() < 0.6 else int(cog) % 360, second=rng.randrange(60), cs=1,
                 display=0, dsc=1, band=1, msg22=1, assigned=0, raim=0, radio=rng.randrange(1 << 19))
        return unarmor(*_encode(d))

    def _t27(self, rng):
        lat, lon = _where(rng)
        d = dict(type=27, mmsi=rng.choice(self.a_mmsi), accuracy=0, raim=0, status=0, lon=round(lon, 1),
                 lat=round(lat, 1), speed=rng.randrange(0, 25), course=rng.randrange(0, 360), gnss=0)
        return unarmor(*_encode(d))

    def _t4(self, rng, mmsi):
        lat, lon = _where(rng)
        d = dict(type=4, mmsi=mmsi, year=2024, month=3, day=1, hour=0, minute=0, second=0, accuracy=1,
                 lon=lon, lat=lat, epfd=rng.choice([1, 7]), raim=0, radio=rng.randrange(1 << 19))
        return unarmor(*_encode(d))

    def _t5(self, rng, mmsi):
        bow = rng.randrange(10, 300)
        d = dict(type=5, mmsi=mmsi, ais_version=rng.choice([0, 1, 2]), imo=rng.randrange(9_000_000, 9_999_999),
                 callsign=_callsign(rng), shipname=_name(rng), ship_type=rng.choice([70, 71, 79, 80, 81, 84, 89,
                                                                                    60, 30, 52]),
                 to_bow=bow, to_stern=rng.randrange(5, max(6, bow // 2)), to_port=rng.randrange(2, 25),
                 to_starboard=rng.randrange(2, 25), epfd=1, month=rng.randrange(1, 13), day=rng.randrange(1, 29),
                 hour=rng.randrange(24), minute=rng.randrange(60), draught=round(rng.uniform(3, 20), 1),
                 destination=rng.choice(PORTS), dte=0)
        return unarmor(*_encode(d))

    def _t24a(self, rng, mmsi):
        return unarmor(*_encode(dict(type=24, mmsi=mmsi, partno=0, shipname=_name(rng))))

    def _t24b(self, rng, mmsi):
        d = dict(type=24, mmsi=mmsi, partno=1, ship_type=rng.choice([36, 37, 30, 31, 52]), vendorid="GRM",
                 model=1, serial=rng.randrange(1 << 20), callsign=_callsign(rng), to_bow=rng.randrange(3, 15),
                 to_stern=rng.randrange(2, 8), to_port=rng.randrange(1, 4), to_starboard=rng.randrange(1, 4))
        return unarmor(*_encode(d))


# --- per-use variation of pool messages ------------------------------------------------------------------
def _jitter(v, nbits, start, n, delta, lo, hi):
    x = get_bits(v, nbits, start, n, signed=True)
    if x in (lo - 1, hi + 1):  # "not available" codes stay as they are
        return v
    return set_bits(v, nbits, start, n, max(lo, min(hi, x + delta)))


def vary(kind: str, v: int, nbits: int, rng: random.Random, ts: int) -> int:
    r = rng.random
    if kind == "pos":  # lon 61/28, lat 89/27 (1/10000 min), second 137/6
        v = _jitter(v, nbits, 61, 28, int((r() - 0.5) * 4000), -108_000_000, 108_000_000)
        v = _jitter(v, nbits, 89, 27, int((r() - 0.5) * 4000), -54_000_000, 54_000_000)
        v = set_bits(v, nbits, 137, 6, ts % 60)
    elif kind == "t18":  # lon 57/28, lat 85/27, second 133/6
        v = _jitter(v, nbits, 57, 28, int((r() - 0.5) * 4000), -108_000_000, 108_000_000)
        v = _jitter(v, nbits, 85, 27, int((r() - 0.5) * 4000), -54_000_000, 54_000_000)
        v = set_bits(v, nbits, 133, 6, ts % 60)
    elif kind == "t27":  # lon 44/18, lat 62/17 (1/10 min)
        v = _jitter(v, nbits, 44, 18, int((r() - 0.5) * 40), -108_000, 108_000)
        v = _jitter(v, nbits, 62, 17, int((r() - 0.5) * 40), -54_000, 54_000)
    elif kind == "t4":  # UTC date/time of the base station from the reception time
        tm = time.gmtime(ts)
        for start, n, x in ((38, 14, tm.tm_year), (52, 4, tm.tm_mon), (56, 5, tm.tm_mday), (61, 5, tm.tm_hour),
                            (66, 6, tm.tm_min), (72, 6, tm.tm_sec)):
            v = set_bits(v, nbits, start, n, x)
    elif kind == "t5":  # ETA minute 288/6, draught 294/8
        v = set_bits(v, nbits, 288, 6, int(r() * 60))
        v = set_bits(v, nbits, 294, 8, 30 + int(r() * 150))
    elif kind == "t24":  # spare bits at the end of part A (160/8) or part B (162/6)
        if get_bits(v, nbits, 38, 2) == 0:
            v = set_bits(v, nbits, 160, 8, int(r() * 256))
        else:
            v = set_bits(v, nbits, 162, 6, int(r() * 64))
    return v


# --- the corpus ------------------------------------------------------------------------------------------
def _corrupt(rng: random.Random, good: str) -> str:
    k = rng.randrange(3)
    if k == 0:  # bad checksum
        cs = int(good[-2:], 16)
        return good[:-2] + f"{cs ^ (1 + rng.randrange(255)):02X}"
    if k == 1:  # truncated (cut inside the sentence)
        return good[: rng.randrange(10, max(11, len(good) - 4))]
    n = rng.randrange(8, 90)  # garbage
    if rng.random() < 0.2:
        return "".join(chr(rng.randrange(0x80, 0x100)) for _ in range(n))  # non-ASCII (written as latin-1)
    return "".join(chr(rng.randrange(33, 127)) for _ in range(n))


def build(n_lines: int, seed: int = 20240301, pool_size: int = 20_000) -> tuple[list[str], dict]:
    rng = random.Random(seed)
    t_pool = time.perf_counter()
    pool = Pool(rng, pool_size)
    t_pool = time.perf_counter() - t_pool
    stations = [f"rx{i:03d}" for i in range(1, 41)]
    kinds = list(LINE_SHARES)
    # per-event weights: a type-5 event makes two lines
    ev_w = [LINE_SHARES[k] / (2 if k == "t5" else 1) for k in kinds]
    msg_share = sum(LINE_SHARES.values())
    p_corrupt = CORRUPT_SHARE
    p_dup = DUP_SHARE / (msg_share * (1 - 0.06 / 2))  # duplicates hang off single-part messages
    lines: list[str] = []
    pending: list[tuple[int, str]] = []  # (emit at line index, text): duplicates waiting to be placed
    seq = {"A": 0, "B": 0}
    stats = {k: 0 for k in (*kinds, "dup", "corrupt", "t5_interleaved", "t5_reversed", "tagged")}

    def now(i):
        return T0 + (i * SPAN_S) // max(n_lines, 1) + rng.randrange(-2, 3)

    def single(kind):
        items = pool.items[kind]
        v, nb = items[int(rng.random() * len(items))]
        ts = now(len(lines))
        v = vary(kind, v, nb, rng, ts)
        pay, fill = armor(v, nb)
        return sentence(pay, fill, "A" if rng.random() < 0.5 else "B"), ts

    def place(text):
        lines.append(text)
        while pending and pending[0][0] <= len(lines):
            lines.append(pending.pop(0)[1])

    while len(lines) < n_lines:
        if rng.random() < p_corrupt:
            s, ts = single("pos")
            text = _corrupt(rng, s)
            if rng.random() < TAG_SHARE and not text.startswith("\\"):
                text = tag_block(rng.choice(stations), ts) + text
            stats["corrupt"] += 1
            place(text)
            continue
        kind = rng.choices(kinds, ev_w)[0]
        stats[kind] += 1
        tagged = rng.random() < TAG_SHARE
        st = rng.choice(stations)
        if kind == "t5":
            items = pool.items["t5"]
            v, nb = items[int(rng.random() * len(items))]
            ts = now(len(lines))
            v = vary("t5", v, nb, rng, ts)
            pay, fill = armor(v, nb)
            ch = "A" if rng.random() < 0.5 else "B"
            seq[ch] = (seq[ch] + 1) % 10
            p1 = sentence(pay[:60], 0, ch, 2, 1, str(seq[ch]))
            p2 = sentence(pay[60:], fill, ch, 2, 2, str(seq[ch]))
            if tagged:
                p1 = tag_block(st, ts) + p1
                p2 = tag_block(st, ts) + p2
                stats["tagged"] += 2
            u = rng.random()
            if u < 0.15:  # interleaved with another message
                other, ots = single("pos")
                if rng.random() < TAG_SHARE:
                    other = tag_block(rng.choice(stations), ots) + other
                    stats["tagged"] += 1
                stats["t5_interleaved"] += 1
                stats["pos"] += 1
                place(p1)
                place(other)
                place(p2)
            elif u < 0.30:  # parts out of order
                stats["t5_reversed"] += 1
                place(p2)
                place(p1)
            else:
                place(p1)
                place(p2)
            continue
        s, ts = single(kind)
        if rng.random() < p_dup:
            # heard by two receivers: the same sentence again a few lines later with another station
            st2 = rng.choice([x for x in stations[:8] if x != st])
            pending.append((len(lines) + 1 + rng.randrange(1, 6), tag_block(st2, ts + rng.randrange(0, 2)) + s))
            pending.sort()
            stats["dup"] += 1
            tagged = True
        if tagged:
            s = tag_block(st, ts) + s
            stats["tagged"] += 1
        place(s)
    for _, text in pending:
        lines.append(text)
    stats["tagged"] += stats["dup"]
    del lines[n_lines:]
    info = {"lines": len(lines), "seed": seed, "pool_messages": pool.size, "pool_seconds": round(t_pool, 2),
            "events": stats}
    return lines, info


def default_path(n: int, repeat: int = 1) -> Path:
    return CORPUS_DIR / (f"corpus-{n}.nmea" if repeat == 1 else f"corpus-{n}x{repeat}.nmea")


def write_corpus(n: int, out: Path, seed: int, pool_size: int, gz: bool) -> dict:
    t = time.perf_counter()
    lines, info = build(n, seed, pool_size)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = ("\n".join(lines) + "\n").encode("latin-1")
    out.write_bytes(data)
    info.update(path=str(out), bytes=len(data), seconds=round(time.perf_counter() - t, 2))
    if gz:
        gz_path = Path(str(out) + ".gz")
        with gzip.open(gz_path, "wb", compresslevel=6) as f:
            f.write(data)
        info["gzip_path"] = str(gz_path)
        info["gzip_bytes"] = gz_path.stat().st_size
    return info


_TAG_RE = re.compile(rb"\\s:([^,*\\]*),c:(\d{10})\*[0-9A-F]{2}\\")


def shift_tag_times(data: bytes, shift_s: int) -> bytes:
    """The corpus with every tag-block time moved by shift_s seconds (checksums recomputed)."""
    def sub(m):
        return tag_block(m.group(1).decode(), int(m.group(2)) + shift_s).encode()
    return _TAG_RE.sub(sub, data)


def repeat_file(src: Path, out: Path, k: int, shift_s: int = SPAN_S) -> dict:
    """K copies of src back to back; copy i has its tag-block times moved by i * shift_s seconds.

    Without the shift, every copy would repeat the same messages at the same reception times, and Watchkeeper
    would (rightly) count the timed half of copies 2..K as duplicates.
    """
    t = time.perf_counter()
    data = src.read_bytes()
    with open(out, "wb") as fo:
        for i in range(k):
            fo.write(data if i == 0 or not shift_s else shift_tag_times(data, i * shift_s))
    return {"path": str(out), "source": str(src), "copies": k, "shift_s_per_copy": shift_s,
            "bytes": out.stat().st_size, "seconds": round(time.perf_counter() - t, 2)}


def ensure(n: int, seed: int = 20240301, pool_size: int = 20_000, gz: bool = False) -> Path:
    """Path of the n-line corpus, built if missing (for the other benchmarks)."""
    path = default_path(n)
    if not path.exists() or (gz and not Path(str(path) + ".gz").exists()):
        info = write_corpus(n, path, seed, pool_size, gz)
        print(f"built {path} ({info['bytes'] / 1e6:.1f} MB, {info['seconds']} s)", file=sys.stderr)
    return path


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sentences", type=int, default=1_000_000, help="lines in the corpus (default 1,000,000)")
    ap.add_argument("--out", type=Path, help="output path (default bench/corpus/corpus-N.nmea)")
    ap.add_argument("--seed", type=int, default=20240301)
    ap.add_argument("--pool", type=int, default=20_000, help="distinct messages encoded with pyais")
    ap.add_argument("--gzip", action="store_true", help="also write OUT.gz")
    ap.add_argument("--repeat", type=int, default=1,
                    help="write K back-to-back copies of the N-line corpus (built first if missing), copy i with "
                         "its tag-block times moved by i days")
    a = ap.parse_args(argv)
    if a.repeat > 1:
        base = ensure(a.sentences, a.seed, a.pool)
        out = a.out or default_path(a.sentences, a.repeat)
        info = repeat_file(base, out, a.repeat)
        info["lines"] = a.sentences * a.repeat
    else:
        out = a.out or default_path(a.sentences)
        info = write_corpus(a.sentences, out, a.seed, a.pool, a.gzip)
    for k, v in info.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
