"""The vectorised encoder against pyais's decoder (differential), and the framing of lines."""

from __future__ import annotations

import numpy as np
import pyais
import pytest

from watchkeeper.simulate import encode as enc

N = 200


def _checksum_ok(text: str) -> bool:
    body, cs = text.rsplit("*", 1)
    body = body.lstrip("!$")  # the checksum covers what lies between the start character and '*'
    x = 0
    for ch in body:
        x ^= ord(ch)
    return f"{x:02X}" == cs[:2]


def _split(line: str) -> tuple[str, str]:
    assert line.startswith("\\") and line.endswith("\n")
    _, tag, sentence = line.rstrip("\n").split("\\")
    return tag, sentence


def _lines(payload, fill, count=1, number=1, seq=None):
    n = payload.shape[0]
    st = np.tile(np.frombuffer(b"KR01", np.uint8), (n, 1))
    epoch = 1709510400 + np.arange(n)
    ch = np.where(np.arange(n) % 2, 65, 66)
    return [r.tobytes().decode() for r in enc.lines(payload, fill, st, epoch, ch, count, number, seq)], epoch


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_position_a_round_trip(rng):
    mmsi = rng.integers(201_000_000, 775_999_999, N)
    mt = rng.choice([1, 2, 3], N)
    nav = rng.integers(0, 15, N)
    sog = np.round(rng.uniform(0, 30, N), 1)
    lat = rng.uniform(-89, 89, N)
    lon = rng.uniform(-179, 179, N)
    cog = np.round(rng.uniform(0, 359.9, N), 1)
    hdg = rng.integers(0, 360, N)
    hdg[::7] = 511
    sec = rng.integers(0, 60, N)
    acc = rng.integers(0, 2, N)
    lines, epoch = _lines(enc.position_a(mt, mmsi, nav, sog, lon, lat, cog, hdg, sec, acc, rng.integers(0, 1 << 19, N)),
                          0)
    for i, line in enumerate(lines):
        tag, sentence = _split(line)
        assert _checksum_ok(tag) and _checksum_ok(sentence)
        assert tag.startswith(f"s:KR01,c:{epoch[i]}*")
        m = pyais.decode(sentence).asdict()
        assert (m["msg_type"], m["mmsi"], int(m["status"]), m["heading"], m["second"]) == \
               (mt[i], mmsi[i], nav[i], hdg[i], sec[i])
        assert m["speed"] == pytest.approx(sog[i], abs=0.051) and m["course"] == pytest.approx(cog[i], abs=0.051)
        assert m["lat"] == pytest.approx(lat[i], abs=2e-6) and m["lon"] == pytest.approx(lon[i], abs=2e-6)
        assert bool(m["accuracy"]) == bool(acc[i])


def test_position_b_round_trip(rng):
    mmsi = rng.integers(201_000_000, 775_999_999, N)
    sog = np.round(rng.uniform(0, 20, N), 1)
    lat, lon = rng.uniform(33, 46, N), rng.uniform(125, 142, N)
    cog = np.round(rng.uniform(0, 359.9, N), 1)
    hdg = np.full(N, 511)
    sec = rng.integers(0, 60, N)
    lines, _ = _lines(enc.position_b(mmsi, sog, lon, lat, cog, hdg, sec, np.zeros(N, int)), 0)
    for i, line in enumerate(lines):
        m = pyais.decode(_split(line)[1]).asdict()
        assert (m["msg_type"], m["mmsi"], m["heading"], m["second"]) == (18, mmsi[i], 511, sec[i])
        assert m["lat"] == pytest.approx(lat[i], abs=2e-6) and m["lon"] == pytest.approx(lon[i], abs=2e-6)
        assert m["speed"] == pytest.approx(sog[i], abs=0.051)


def test_type5_two_sentences_round_trip(rng):
    n = 50
    names = [f"OCEAN STAR {i}" for i in range(n)]
    calls = [f"UBX{i:02d}" for i in range(n)]
    mmsi = rng.integers(201_000_000, 775_999_999, n)
    imo = rng.integers(7_000_000, 9_999_999, n)
    dims = np.column_stack([rng.integers(1, 400, n), rng.integers(1, 100, n), rng.integers(1, 60, n),
                            rng.integers(1, 60, n)])
    eta = np.column_stack([rng.integers(1, 13, n), rng.integers(1, 29, n), rng.integers(0, 24, n),
                           rng.integers(0, 60, n)])
    draught = np.round(rng.uniform(2, 20, n), 1)
    pl = enc.static_a(mmsi, imo, enc.text6(calls, 7), enc.text6(names, 20), np.full(n, 70), dims, eta, draught,
                      enc.text6(["VLADIVOSTOK"] * n, 20))
    assert pl.shape == (n, 71)
    seq = np.arange(n) % 10
    l1, _ = _lines(pl[:, :60], 0, 2, 1, seq)
    l2, _ = _lines(pl[:, 60:], 2, 2, 2, seq)
    for i in range(n):
        s1, s2 = _split(l1[i])[1], _split(l2[i])[1]
        assert _checksum_ok(s1) and _checksum_ok(s2) and s1.startswith(f"!AIVDM,2,1,{seq[i]},")
        m = pyais.decode(s1, s2).asdict()
        assert (m["msg_type"], m["mmsi"], m["imo"], m["callsign"], m["shipname"], m["destination"]) == \
               (5, mmsi[i], imo[i], calls[i], names[i], "VLADIVOSTOK")
        assert (m["to_bow"], m["to_stern"], m["to_port"], m["to_starboard"]) == tuple(dims[i])
        assert (m["month"], m["day"], m["hour"], m["minute"]) == tuple(eta[i])
        assert m["draught"] == pytest.approx(draught[i], abs=0.051)


def test_type24_round_trip(rng):
    n = 30
    mmsi = rng.integers(201_000_000, 775_999_999, n)
    names = [f"FISHER {i}" for i in range(n)]
    a, _ = _lines(enc.static_b_a(mmsi, enc.text6(names, 20)), 2)
    dims = np.column_stack([np.full(n, 15), np.full(n, 8), np.full(n, 3), np.full(n, 3)])
    b, _ = _lines(enc.static_b_b(mmsi, np.full(n, 30), enc.text6(["DSAB3"] * n, 7), dims), 0)
    for i in range(n):
        ma = pyais.decode(_split(a[i])[1]).asdict()
        mb = pyais.decode(_split(b[i])[1]).asdict()
        assert (ma["msg_type"], ma["mmsi"], ma["partno"], ma["shipname"]) == (24, mmsi[i], 0, names[i])
        assert (mb["partno"], mb["ship_type"], mb["callsign"], mb["to_bow"]) == (1, 30, "DSAB3", 15)


def test_emitted_file_decodes_with_pyais(small):
    """A sample of the simulated feed: pyais decodes every intact single-sentence line."""
    text = (small.out_dir / "ais.nmea").read_text().splitlines()
    bad = 0
    for line in text[:: max(1, len(text) // 2000)]:
        tag, sentence = line.split("\\")[1:]
        assert _checksum_ok(tag)
        if not _checksum_ok(sentence):
            bad += 1  # a deliberately damaged line
            continue
        if sentence.startswith("!AIVDM,1,1"):
            assert pyais.decode(sentence).asdict()["mmsi"] > 0
    assert bad <= 10
