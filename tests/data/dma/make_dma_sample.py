"""Write ``dma_sample.csv``: a small synthetic file in the Danish Maritime Authority AIS CSV format.

The column layout and value conventions follow the DMA's daily exports (aisdata.ais.dk): one wide row per
received report, ``dd/mm/YYYY HH:MM:SS`` UTC times, text navigational status and ship type, ``Unknown`` /
``Undefined`` for missing identity values, latitude 91 / longitude 181 for "not available". All vessels,
names and call signs are invented. Run ``python tests/data/dma/make_dma_sample.py`` to regenerate; the output
is deterministic.

Deliberate defects (each documented in PROVENANCE.md): one row with a missing column, one row with an
impossible timestamp, one row with latitude 95.2, and two rows with latitude 91 / longitude 181. The tanker's
destination changes from SKAGEN to FREDERICIA and back, so its identity tuple changes twice.
"""

from __future__ import annotations

import random
from pathlib import Path

HEADER = ("# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,Heading,IMO,"
          "Callsign,Name,Ship type,Cargo type,Width,Length,Type of position fixing device,Draught,Destination,"
          "ETA,Data source type,A,B,C,D")

# mmsi, mobile, imo, callsign, name, ship type, cargo, width, length, device, draught, destination, eta, A,B,C,D
VESSELS = [
    ("219000901", "Class A", "9000001", "OXAA1", "STORE BAELT FERRY", "Passenger", "", "25", "152", "GPS",
     "6.2", "KORSOR", "01/03/2023 12:00:00", "76", "76", "13", "12"),
    ("219000902", "Class A", "9000002", "OXAA2", "KATTEGAT TRADER", "Cargo", "No additional information",
     "16", "110", "GPS", "5.8", "AARHUS", "02/03/2023 06:30:00", "95", "15", "8", "8"),
    ("265000903", "Class A", "9000003", "SAAA3", "OERESUND SPIRIT", "Tanker", "Category X", "23", "144",
     "GPS", "8.9", "SKAGEN", "03/03/2023 18:00:00", "120", "24", "11", "12"),
    ("219000904", "Class A", "Unknown", "OXAA4", "HAVFRUEN", "Fishing", "", "7", "24", "GPS", "3.1",
     "Unknown", "", "12", "12", "3", "4"),
    ("211000905", "Class B", "Unknown", "DAAA5", "SEA SWALLOW", "Sailing", "", "4", "12", "Undefined", "",
     "Unknown", "", "Unknown", "Unknown", "Unknown", "Unknown"),
    ("219000906", "Class A", "9000006", "OXAA6", "SVITZER TEST", "Tug", "", "12", "32", "GPS", "4.6",
     "Unknown", "", "16", "16", "6", "6"),
    ("2190068", "Base Station", "Unknown", "Unknown", "Unknown", "Undefined", "", "", "", "Surveyed", "",
     "Unknown", "", "", "", "", ""),
]
STATUS = {"219000901": "Under way using engine", "219000902": "Under way using engine",
          "265000903": "Constrained by her draught", "219000904": "Engaged in fishing",
          "211000905": "Unknown value", "219000906": "Restricted maneuverability", "2190068": "Unknown value"}
SPEED_KN = {"Under way using engine": (9.0, 14.0), "Constrained by her draught": (6.0, 9.0),
            "Engaged in fishing": (2.0, 4.0), "Restricted maneuverability": (0.5, 6.0), "Unknown value": (3.0, 7.0),
            "Moored": (0.0, 0.1)}
AREAS = {"219000901": (55.31, 11.02), "219000902": (56.15, 10.22), "265000903": (55.70, 12.70),
         "219000904": (57.72, 10.59), "211000905": (54.80, 10.70), "219000906": (55.46, 8.43),
         "2190068": (55.4655, 8.4182)}


def _row(rng: random.Random, second: int, vessel: tuple[str, ...], *, lat: str | None = None,
         lon: str | None = None, destination: str | None = None, status: str | None = None) -> list[str]:
    mmsi, mobile = vessel[0], vessel[1]
    hh, mm, ss = second // 3600, second // 60 % 60, second % 60
    base_lat, base_lon = AREAS[mmsi]
    fixed = mobile == "Base Station"
    moving = not fixed
    status = status or STATUS[mmsi]
    row = [f"01/03/2023 {hh:02d}:{mm:02d}:{ss:02d}", mobile, mmsi,
           lat or f"{base_lat + (rng.uniform(-0.05, 0.05) if moving else 0):.6f}",
           lon or f"{base_lon + (rng.uniform(-0.08, 0.08) if moving else 0):.6f}",
           status,
           "" if fixed or mobile == "Class B" else f"{rng.choice([0.0, 0.0, -2.3, 4.1]):.1f}",
           "" if fixed else f"{rng.uniform(*SPEED_KN[status]):.1f}",
           "" if fixed else f"{rng.uniform(0, 359.9):.1f}",
           "" if fixed or mobile == "Class B" else str(rng.randint(0, 359))]
    imo, callsign, name, ship_type, cargo, width, length, device, draught, dest, eta, a, b, c, d = vessel[2:]
    row += [imo, callsign, name, ship_type, cargo, width, length, device, draught, destination or dest, eta,
            "AIS", a, b, c, d]
    return row


def rows() -> list[str]:
    """The data lines of the sample, in time order."""
    rng = random.Random(20230301)
    lines = []
    second = 0
    for i in range(50):
        vessel = VESSELS[i % len(VESSELS)]
        second += rng.randint(1, 40)
        kwargs: dict[str, str] = {}
        if i in (23, 37):  # the tanker (every 7th row from row 2) moored at Fredericia: new identity tuple
            kwargs.update(destination="FREDERICIA", status="Moored")
        if i in (20, 25):  # position not available (base station, Class B)
            kwargs.update(lat="91.000000", lon="181.000000")
        fields = _row(rng, second, vessel, **kwargs)
        if i == 30:
            fields[3] = "95.200000"  # latitude out of range
        if i == 17:
            fields[0] = "31/02/2023 25:61:00"  # not a time
        line = ",".join(fields)
        if i == 35:
            line = ",".join(fields[:-1])  # a column missing
        lines.append(line)
    return lines


def main() -> None:
    out = Path(__file__).with_name("dma_sample.csv")
    out.write_text("\n".join([HEADER, *rows()]) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
