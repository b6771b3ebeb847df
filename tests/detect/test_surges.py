"""Activity surges on hand-made weekly visit counts at Rajin (Najin)."""

from __future__ import annotations

import datetime as dt
import math

from watchkeeper.config import Config
from watchkeeper.detect.events import make_events, to_records, validate_events
from watchkeeper.detect.surges import activity_surges, poisson_rate_test

CFG = Config()
MONDAY = dt.datetime(2023, 7, 3, tzinfo=dt.UTC)
NAJIN = ("Najin", "KPRJN", 42.233, 130.3)


def visit(i, week, day, type_="port_visit", port=NAJIN):
    name, locode, lat, lon = port
    start = MONDAY + dt.timedelta(weeks=week, days=day, hours=i % 20)
    return {"type": type_, "mmsi": 273000000 + i, "start": start, "end": start + dt.timedelta(hours=3),
            "lat": lat, "lon": lon, "port_name": name, "port_locode": locode, "port_lat": lat, "port_lon": lon,
            "confidence": 0.5, "details": {}}


def table(weekly, dark_last=0):
    rows, i = [], 0
    for week, n in enumerate(weekly):
        for j in range(n):
            last = week == len(weekly) - 1
            rows.append(visit(i, week, j % 7, "dark_port_call" if last and j < dark_last else "port_visit"))
            i += 1
    return make_events(rows, config_sha256="0" * 64, detector_version="test")


def surges(events, **kw):
    ev = activity_surges(events, CFG, **kw)
    validate_events(ev)
    return list(to_records(ev))


def test_jump_from_two_to_ten_visits_a_week_is_one_surge():
    [s] = surges(table([2] * 8 + [10], dark_last=4))
    assert s["type"] == "activity_surge" and s["mmsi"] == 0
    assert s["start"] == "2023-08-28T00:00:00Z" and s["end"] == "2023-09-04T00:00:00Z"
    assert s["port"]["locode"] == "KPRJN" and (s["lat"], s["lon"]) == (42.233, 130.3)
    d = s["details"]
    assert d["week_count"] == 10 and d["baseline_weeks"] == 8 and d["baseline_weekly_mean"] == 2.0
    assert d["ratio"] == 5.0 and d["p_value"] < CFG.activity_surge.significance_level
    assert d["counts_by_type"] == {"port_visit": 6, "dark_port_call": 4}
    again = surges(table([2] * 8 + [10], dark_last=4))
    assert again[0]["event_id"] == s["event_id"]


def test_steady_counts_give_no_surge():
    assert surges(table([3] * 12)) == []


def test_dark_port_calls_are_counted():
    # 2 visits a week, then 2 visits and 8 dark calls: a surge only because the dark calls count
    [s] = surges(table([2] * 8 + [10], dark_last=8))
    assert s["details"]["counts_by_type"] == {"port_visit": 2, "dark_port_call": 8}


def test_areas_and_the_test_itself():
    rason = (42.0, 130.0, 42.5, 130.6)
    polygon = [(42.0, 130.0), (42.5, 130.0), (42.5, 130.6), (42.0, 130.6)]
    out = surges(table([2] * 8 + [10]), areas={"Rason bbox": rason, "Rason polygon": polygon})
    assert sorted(s["details"].get("area") or "" for s in out) == ["", "Rason bbox", "Rason polygon"]
    # exact value: Binomial(26, 1/9) tail from 10
    p = sum(math.comb(26, x) * (1 / 9) ** x * (8 / 9) ** (26 - x) for x in range(10, 27))
    assert abs(poisson_rate_test(10, 16, 8) - p) < 1e-12
    assert poisson_rate_test(0, 5, 4) == 1.0


def one_week(first_half: int, second_half: int):
    """Visits spread over the first and second half of one week of data (Monday to Monday)."""
    rows = [visit(i, 0, 0) for i in range(first_half)]
    for i, row in enumerate(rows):
        row["start"] = MONDAY + dt.timedelta(hours=3 + 80 * i / max(first_half, 1))
        row["end"] = row["start"] + dt.timedelta(hours=3)
    more = [visit(100 + i, 0, 0) for i in range(second_half)]
    for i, row in enumerate(more):
        row["start"] = MONDAY + dt.timedelta(hours=88 + 78 * i / max(second_half, 1))
        row["end"] = row["start"] + dt.timedelta(hours=3)
    return make_events(rows + more, config_sha256="0" * 64, detector_version="test")


def test_one_week_of_data_compares_its_second_half_with_the_first():
    span = dict(data_start=MONDAY, data_end=MONDAY + dt.timedelta(days=7))
    # 2 then 14: P(X >= 14 | 16, 1/2) ~ 0.002, a surge over the second half of the data
    [s] = surges(one_week(2, 14), **span)
    assert s["start"] == "2023-07-06T12:00:00Z" and s["details"]["baseline_weeks"] == 1
    assert abs(s["details"]["window_days"] - 3.5) < 1e-3 and s["details"]["week_count"] == 14
    assert s["details"]["p_value"] == float(f"{poisson_rate_test(14, 2, 1):.6g}")
    # 2 then 6 is a rise but not a significant one
    assert poisson_rate_test(6, 2, 1) > CFG.activity_surge.significance_level
    assert surges(one_week(2, 6), **span) == []
