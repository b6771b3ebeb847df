"""Every detection threshold, declared once as data: default, unit, rationale and source.

The thresholds are grouped by detector (``[encounter]``, ``[ais_gap]``, ...). A TOML file overrides any of them;
keys it does not name keep their defaults::

    [encounter]
    max_distance_m = 300

    [ais_gap]
    min_gap_h = 3.0

Use :func:`load_config` to read such a file, :meth:`Config.sha256` to fingerprint the values in force (written into
every event batch and dossier), and :func:`write_default_toml` for a commented file of all defaults.
``docs/detections.md`` is generated from :data:`DETECTORS` by ``python -m watchkeeper.docgen`` and a test keeps the
two in step.
"""

from __future__ import annotations

import hashlib
import json
import math
import textwrap
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchkeeper.errors import ConfigError

Value = float | int | bool | tuple[int, ...]

# A physical unit must show in the threshold's name (``_kn``, ``_km``, ...): names carry units.
UNIT_SUFFIX = {"kn": "_kn", "km": "_km", "m": "_m", "nm": "_nm", "h": "_h", "min": "_min", "s": "_s",
               "deg": "_deg", "days": "_days"}


@dataclass(frozen=True)
class Threshold:
    """One configurable value: its default, unit, valid range, one-sentence rationale and source.

    The type of ``default`` is the type of the setting (float, int, bool, or a tuple of ints for a list).
    ``minimum``/``maximum`` bound numbers (and every item of a list); ``minimum_exclusive`` makes the lower
    bound strict.
    """

    name: str
    default: Value
    unit: str
    rationale: str
    source: str
    minimum: float | None = None
    maximum: float | None = None
    minimum_exclusive: bool = False

    def valid(self) -> str:
        """The valid values in words, e.g. ``> 0`` or ``0 to 1``."""
        if isinstance(self.default, bool):
            return "true or false"
        lo, hi = self.minimum, self.maximum
        if lo is not None and hi is not None:
            rng = f"{_num(lo)} to {_num(hi)}" if not self.minimum_exclusive else f"> {_num(lo)} and <= {_num(hi)}"
        elif lo is not None:
            rng = f"> {_num(lo)}" if self.minimum_exclusive else f">= {_num(lo)}"
        elif hi is not None:
            rng = f"<= {_num(hi)}"
        else:
            rng = "any"
        kind = "integer" if isinstance(self.default, int) else "number"
        if isinstance(self.default, tuple):
            return f"list of integers, each {rng}"
        return f"{kind}, {rng}" if rng != "any" else kind

    def check(self, value: Any, where: str) -> Value:
        """Return ``value`` converted to this threshold's type, or raise :class:`ConfigError`."""
        d = self.default
        fix = f"give {self.valid()} ({self.unit or 'no unit'}); default {toml_value(d)}"
        if isinstance(d, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"expected true or false, not {value!r}", where=where, fix=fix)
            return value
        if isinstance(d, tuple):
            if not isinstance(value, (list, tuple)):
                raise ConfigError(f"expected a list of integers, not {value!r}", where=where, fix=fix)
            return tuple(self._number(v, int, where, fix) for v in value)
        return self._number(value, type(d), where, fix)

    def _number(self, value: Any, kind: type, where: str, fix: str) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"expected a number, not {value!r}", where=where, fix=fix)
        if kind is int and not isinstance(value, int):
            raise ConfigError(f"expected an integer, not {value!r}", where=where, fix=fix)
        if not math.isfinite(value):
            raise ConfigError(f"expected a finite number, not {value!r}", where=where, fix=fix)
        lo, hi = self.minimum, self.maximum
        if lo is not None and (value <= lo if self.minimum_exclusive else value < lo) or hi is not None and value > hi:
            raise ConfigError(f"{value!r} is out of range", where=where, fix=fix)
        return kind(value)


@dataclass(frozen=True)
class Detector:
    """The thresholds of one detector (a TOML table), with a title for the docs."""

    name: str
    title: str
    thresholds: tuple[Threshold, ...]

    def __getitem__(self, name: str) -> Threshold:
        for t in self.thresholds:
            if t.name == name:
                return t
        raise KeyError(name)


def _t(name, default, unit, rationale, source, minimum=None, maximum=None, minimum_exclusive=False) -> Threshold:
    return Threshold(name, default, unit, rationale, source, minimum, maximum, minimum_exclusive)


_GFW_ENC = "Global Fishing Watch encounters (GFW_technical_documentation: files/encounters.md; Miller et al. 2018)"
_GFW_PORT = "Global Fishing Watch port events (GFW_technical_documentation: files/anchorages-voyages-port-visits.md)"
_GFW_GAPS = "Welch et al. 2022, Sci. Adv. 8:eabq2109 (GFW_technical_documentation: files/gaps.md)"
_SEGMENTER = "gpsdio-segment matcher defaults (GlobalFishingWatch/gpsdio-segment: gpsdio_segment/matcher.py)"
_ITU = "ITU-R M.1371-5 Table 1 reporting intervals (research notes anchors-sanctions.md section 4.4)"
_OURS = "Watchkeeper default"

DETECTORS: dict[str, Detector] = {d.name: d for d in [
    Detector("tracks", "Tracks and segmentation", (
        _t("segment_max_speed_kn", 30.0, "kn",
           "A position continues a segment only if reaching it from the segment's last position needs at most this "
           "speed, so a second transmitter using the same MMSI gets a segment of its own.",
           "GFW pipe-segment pipeline parameter max_speed 30 (GlobalFishingWatch/pipe-segment); gpsdio-segment "
           "uses max_knots 25", 0, minimum_exclusive=True),
        _t("segment_buffer_h", 0.25, "h",
           "Time added to the interval before it is multiplied by the speed limit (time-scaled distance), so that "
           "position noise over a few seconds does not break a segment.",
           f"buffer_hours 0.25, {_SEGMENTER}", 0),
        _t("class_mismatch_weight", 0.1, "fraction",
           "Weight given to a match between a Class A and a Class B position, so a transmitter of the other class "
           "is preferably given its own segment.",
           f"transponder_mismatch_weight 0.1, {_SEGMENTER}", 0, 1),
        _t("min_segment_positions", 10, "count",
           "Segments with fewer positions are kept and reported but treated as noise by the encounter, loitering "
           "and mmsi_conflict detectors.",
           f"short_seg_threshold 10, {_SEGMENTER}; GFW's overlapping_and_short noise filter", 1),
        _t("max_silence_h", 336.0, "h",
           "A segment silent for longer than this is closed, and the MMSI's next position starts a new one. Long, so "
           "that a multi-day dark voyage (a round trip to Rajin with the transponder off) stays one segment and "
           "its silence one ais_gap; gpsdio-segment closes after 24 h, which would hide every such silence "
           "between two segments. Equal to dark_port_call.max_gap_h.",
           f"{_OURS}; gpsdio-segment max_hours 24 ({_SEGMENTER}) is the short alternative", 0, minimum_exclusive=True),
        _t("returned_max_silence_h", 2.0, "h",
           "A segment the track came back from (it began with an impossible jump after the other segment's last "
           "position: a returned jump, or the first report of a second transmitter) stays open only through this "
           "much silence. Two transmitters sharing an MMSI report within minutes of each other; a spoofed stretch "
           "that recurs hours later is a new jump, not the continuation of the last one.",
           f"{_OURS}; checked on the simulator's spoofers and shared MMSIs (docs/simulation.md)", 0,
           minimum_exclusive=True),
        _t("type27_min_gap_h", 1.0, "h",
           "A long-range (type 27) position within this time of another position of the same MMSI is left out of "
           "the track, because its coarse (1/10 minute) position would look like a jump.",
           f"min_type_27_hours 1, {_SEGMENTER}", 0),
        _t("land_tolerance_km", 1.0, "km",
           "A position counts as on land only when it lies farther than this inside the coastline, so harbours and "
           "docks that the generalised coastline cuts off still count as sea.",
           f"{_OURS}, for the generalised Natural Earth 1:10m coastline used for distance to shore", 0),
    )),
    Detector("reception", "Reception grid (estimated from the data)", (
        _t("cell_size_deg", 0.25, "deg",
           "Side of the latitude-longitude cells in which reception (positions per vessel-hour, from all vessels) "
           "is estimated.",
           f"{_OURS}: finer than the typical terrestrial AIS range of 20-40 nm (anchors-sanctions.md section 4.4), "
           "so the edge of shore coverage is resolved", 0, 10, True),
        _t("window_days", 7, "days",
           "Reception in a cell is estimated over this many days around the time of a gap, long enough to average "
           "over satellite passes and short enough to follow a receiver going off air.",
           _OURS, 1, 366),
        _t("min_presence_h", 5.0, "h",
           "A cell with less vessel presence than this in the window has unknown reception, and a gap there is "
           "never scored as likely intentional.",
           _OURS, 0),
        _t("max_presence_gap_h", 24.0, "h",
           "A track counts as present in the cells its straight path crosses only across silences up to this long; "
           "beyond it the path is too uncertain to say where the vessel was.",
           _OURS, 0),
    )),
    Detector("port_visit", "Port visits", (
        _t("entry_radius_km", 3.0, "km",
           "A vessel enters a port when it comes within this distance of one of the port's anchorage points.",
           f"PORT_ENTRY 3 km, {_GFW_PORT}", 0, minimum_exclusive=True),
        _t("exit_radius_km", 4.0, "km",
           "A vessel leaves a port only when it is farther than this from all its anchorage points; the margin "
           "over the entry radius keeps a vessel on the edge from making many visits.",
           f"PORT_EXIT 4 km (hysteresis), {_GFW_PORT}", 0, minimum_exclusive=True),
        _t("stop_begin_speed_kn", 0.2, "kn",
           "A stop in port begins when the vessel's speed falls below this.",
           f"PORT_STOP begins below 0.2 kn, {_GFW_PORT}", 0),
        _t("stop_end_speed_kn", 0.5, "kn",
           "A stop in port ends when the vessel's speed rises above this (hysteresis against speed noise).",
           f"PORT_STOP ends above 0.5 kn, {_GFW_PORT}", 0),
        _t("min_duration_h", 1.0, "h",
           "Visits shorter than this are dropped; shorter than GFW's 3 h so that ferry and feeder calls count.",
           "GFW pipe-anchorages anchorage_visit_min_duration 180 min (anchors-maritime.md), shortened here", 0),
        _t("port_switch_min_h", 1.0, "h",
           "Inside one stretch of port proximity, a vessel that stays at least this long within entry_radius_km of "
           "places of another port (a different name) has moved on: the visit ends and a visit to that port begins, "
           "so neighbouring ports with anchorages in between (Nakhodka and Vostochny; Fokino and the naval port of "
           "Dunai) are not merged into one visit named after one of them. Shorter spells are noise.",
           f"{_OURS}; GFW ends a visit when the port label changes ({_GFW_PORT})", 0, minimum_exclusive=True),
        _t("in_port_gap_h", 4.0, "h",
           "A silence longer than this inside a visit is recorded as a port gap in the visit's details and does "
           "not split the visit.",
           f"PORT_GAP for gaps over 4 h in port, {_GFW_PORT}", 0, minimum_exclusive=True),
        _t("min_confidence_level", 2, "level",
           "Visits are emitted from this GFW confidence level up (1 entry or exit only, 2 stop or gap only, 3 entry "
           "or exit plus stop or gap, 4 entry and exit plus stop or gap); level 1 is mostly vessels passing by.",
           f"GFW products use confidence >= 2, {_GFW_PORT}", 1, 4),
    )),
    Detector("ais_gap", "AIS gaps", (
        _t("min_gap_h", 2.0, "h",
           "Every silence at least this long between consecutive positions of a segment is an ais_gap event, "
           "because corridor voyages of 8-13 h would hide inside GFW's 6 h or 12 h minimum.",
           "detection issue #3; anchors-sanctions.md I1 (>= 2-3 h tied to geography); GFW naive gaps use 6 h "
           "(files/gaps.md)", 0, minimum_exclusive=True),
        _t("area_max_silence_h", 24.0, "h",
           "The data of an area (a 5-degree cell and its neighbours) ends where no vessel at all is received there "
           "for this long: an open gap runs to that end, not to data of another period in the same store.",
           _OURS, 0, minimum_exclusive=True),
        _t("max_silence_probability", 0.01, "probability",
           "A gap scores as likely intentional when, given the reception estimated where it happened and the "
           "vessel's class and speed, the chance of receiving nothing for that long is below this.",
           "anchors-sanctions.md section 4.4 (flag when P(no message | present and transmitting) < 0.01)",
           0, 1, True),
        _t("high_confidence_gap_h", 12.0, "h",
           "Gaps at least this long that also start far offshore form the conservative high-confidence tier.",
           f"disabling events need >= 12 h (satellite revisit peaks at 12 h below 60 degrees latitude), {_GFW_GAPS}",
           0, minimum_exclusive=True),
        _t("high_confidence_shore_distance_nm", 50.0, "nm",
           "The high-confidence tier needs the gap to start at least this far from shore, beyond which terrestrial "
           "receivers hear almost nothing.",
           f">99% of terrestrial AIS lies within 50 nm of shore, {_GFW_GAPS}", 0),
        _t("pre_gap_window_h", 12.0, "h",
           "Length of the window before a gap in which the vessel's reception is counted.",
           f"n_hours_before 12, {_GFW_GAPS}; GlobalFishingWatch/pipe-gaps README", 0, minimum_exclusive=True),
        _t("pre_gap_min_positions", 14, "count",
           "The high-confidence tier needs at least this many positions in the window before the gap, so the "
           "vessel was being heard well when it fell silent.",
           f">= 14 satellite positions in the 12 h before, {_GFW_GAPS}", 0),
        _t("class_a_anchored_interval_s", 180.0, "s",
           "Nominal reporting interval of a Class A transponder at anchor or moored and moving at most 3 kn.",
           _ITU, 0, minimum_exclusive=True),
        _t("class_a_interval_s", 10.0, "s",
           "Nominal reporting interval of a Class A transponder under way at 0-14 kn.",
           _ITU, 0, minimum_exclusive=True),
        _t("class_a_fast_interval_s", 6.0, "s",
           "Nominal reporting interval of a Class A transponder at 14-23 kn.",
           _ITU, 0, minimum_exclusive=True),
        _t("class_a_very_fast_interval_s", 2.0, "s",
           "Nominal reporting interval of a Class A transponder above 23 kn.",
           _ITU, 0, minimum_exclusive=True),
        _t("class_b_slow_interval_s", 180.0, "s",
           "Nominal reporting interval of a Class B transponder at 2 kn or less.",
           _ITU, 0, minimum_exclusive=True),
        _t("class_b_interval_s", 30.0, "s",
           "Nominal reporting interval of a Class B transponder above 2 kn (CS units; SO units report faster, "
           "so this is the conservative value).",
           _ITU, 0, minimum_exclusive=True),
    )),
    Detector("dark_port_call", "Dark port calls", (
        _t("min_dwell_h", 6.0, "h",
           "A port of interest is a candidate only if the gap leaves, after the transit there and back at the "
           "assumed speed, at least this long in port.",
           "anchors-sanctions.md I2 (gap >= transit time + minimum dwell, e.g. 6 h)", 0),
        _t("speed_quantile", 0.95, "fraction",
           "The assumed transit speed is this quantile of the vessel's own reported speeds while under way, so "
           "reachability follows what the vessel actually does.",
           _OURS, 0, 1, True),
        _t("speed_margin", 1.1, "ratio",
           "Multiplier on the assumed transit speed, so a vessel slightly faster than its record is not ruled out.",
           "GFW pipe-segment reported_speed_multiplier 1.1 (anchors-maritime.md)", 1),
        _t("fallback_speed_kn", 12.0, "kn",
           "Transit speed assumed when the vessel has no speed reports while under way.",
           "corridor transits at 10-12 kn (anchors-sanctions.md I1)", 0, minimum_exclusive=True),
        _t("max_event_tier", 2, "tier",
           "Only ports of interest of this tier or a higher interest (a lower number) can be the port of a "
           "dark_port_call event; candidates of lower interest (tier 3: commercial ports of the corridor, with "
           "terrestrial AIS coverage) are listed in details.candidates only.",
           f"{_OURS}: tier 3 is context, significant only with other indicators (ports_of_interest.toml)", 1),
        _t("ambiguity_km", 25.0, "km",
           "Candidate ports of the same tier closer than this to the best-scored one cannot be told apart by a "
           "silence of hours (the dark path is unknown); among them the port with the highest documented prior "
           "(ports-of-interest file) is named, and the others are listed in details.ambiguous_with.",
           f"{_OURS}: about the distance a ship covers in one hour at 13 kn, below the timing resolution of a "
           "multi-hour gap", 0),
        _t("max_candidates", 5, "count",
           "How many ranked candidate ports the event's details list.",
           _OURS, 1),
        _t("max_transit_h", 48.0, "h",
           "A port of interest is a candidate only if the vessel could reach it within this time from where it "
           "went silent: a silence of weeks makes every port reachable and says nothing.",
           f"{_OURS}: corridor voyages Rajin-Vostochny/Dunai last 8-13 h (anchors-sanctions.md I1); 48 h covers the "
           "whole Sea of Japan at corridor speeds", 0, minimum_exclusive=True),
        _t("max_gap_h", 336.0, "h",
           "Gaps longer than this are not examined for dark port calls (the vessel may have left the area, been "
           "laid up or changed transponder).",
           f"{_OURS}: two weeks, far longer than a corridor round trip (8-13 h each way, anchors-sanctions.md I1) "
           "plus days in port", 0, minimum_exclusive=True),
    )),
    Detector("encounter", "Encounters", (
        _t("max_distance_m", 500.0, "m",
           "Two vessels closer than this are adjacent.",
           f"500 m, {_GFW_ENC}", 0, minimum_exclusive=True),
        _t("min_duration_h", 2.0, "h",
           "Adjacency must last at least this long to be an encounter rather than a passing.",
           f"2 h, {_GFW_ENC}", 0),
        _t("max_median_speed_kn", 2.0, "kn",
           "The vessels' median speed during the encounter must be below this, as for a transfer alongside.",
           f"median speed < 2 kn, {_GFW_ENC}", 0, minimum_exclusive=True),
        _t("min_port_distance_km", 10.0, "km",
           "Encounters closer than this to a port or anchorage are dropped, so ships waiting in a port queue do "
           "not pair up.",
           f">= 10 km from a coastal anchorage, {_GFW_ENC}", 0),
        _t("resample_interval_min", 10.0, "min",
           "Both tracks are resampled onto a common time grid with this step before distances are compared.",
           "GFW pipe-encounters Resample(increment_s=600) (anchors-maritime.md)", 0, minimum_exclusive=True),
        _t("max_interpolation_gap_h", 1.0, "h",
           "Silences shorter than this are interpolated across on the resampled grid; longer ones break adjacency.",
           "GFW pipe-encounters Resample(max_gap_s=3600) (anchors-maritime.md)", 0),
    )),
    Detector("loitering", "Loitering", (
        _t("max_speed_kn", 2.0, "kn",
           "A vessel loiters while its implied speed, averaged per block, stays below this.",
           "< 2 kn, GFW loitering (GFW_technical_documentation: files/loitering.md)", 0, minimum_exclusive=True),
        _t("min_duration_h", 2.0, "h",
           "Slow stretches shorter than this are not loitering.",
           "2 h, GFW loitering (files/loitering.md); Pew/GFW transshipment reports and Starboard use 4 h", 0),
        _t("max_silence_h", 6.0, "h",
           "A silence longer than this ends a slow stretch: across it nothing says the vessel stayed (the silence "
           "is an ais_gap of its own).",
           _OURS, 0, minimum_exclusive=True),
        _t("block_h", 1.0, "h",
           "Implied speed is averaged over a window of this length centred on each position (GFW averages over "
           "clock-hour blocks, which cut up to an hour off each end of a slow stretch); consecutive slow positions "
           "are merged.",
           "hourly blocks, GFW loitering (files/loitering.md); centred window: Watchkeeper", 0, minimum_exclusive=True),
        _t("min_port_distance_km", 3.0, "km",
           "Slow stretches closer than this to a port or anchorage are in port (port visits), not loitering. Equal "
           "to port_visit.entry_radius_km, so a long slow stop is either a port visit or loitering, never neither "
           "(ships waiting in an anchorage area a few km off a port, as in the Suez 2021 queue, are loitering "
           "near a port).",
           f"{_OURS}; GFW's loitering product instead requires >= 20 nm from shore, which would miss transfers in "
           "coastal waters", 0),
        _t("near_port_km", 10.0, "km",
           "Loitering closer than this to a port or anchorage is most likely waiting for a berth or a canal convoy: "
           "it is reported with near_port true and its confidence multiplied by near_port_confidence_factor.",
           f"{_OURS}: the encounter port distance of GFW (files/encounters.md)", 0),
        _t("near_port_confidence_factor", 0.5, "factor",
           "Confidence multiplier for loitering within near_port_km of a port or anchorage.",
           _OURS, 0, 1),
    )),
    Detector("position_jump", "Position jumps", (
        _t("max_speed_class_a_kn", 50.0, "kn",
           "An implied speed above this between positions of a Class A transmitter is impossible for a ship.",
           "AISdb track denoising speed_threshold 50 kn (AISViz/AISdb); detection issue #3", 0, minimum_exclusive=True),
        _t("max_speed_class_b_kn", 92.0, "kn",
           "An implied speed above this between positions of a Class B transmitter is impossible; higher than for "
           "Class A because fast small craft carry Class B.",
           "improbable-transition filter > 92 kn (marinetraffic/mt-ais-toolbox README)", 0, minimum_exclusive=True),
        _t("min_distance_km", 1.0, "km",
           "Only displacements longer than this are judged, because over a few seconds position noise and "
           "whole-second times give absurd implied speeds.",
           _OURS, 0),
        _t("max_return_h", 24.0, "h",
           "An impossible stretch is a jump only if the track returns to a plausible continuation within this time; "
           "a longer one is left to segmentation as another transmitter.",
           f"max_hours 24, {_SEGMENTER}", 0, minimum_exclusive=True),
        _t("frozen_min_sog_kn", 3.0, "kn",
           "Identical consecutive positions count as a frozen (replayed or stuck) position only while both reports "
           "give at least this speed over ground: at 3 kn a ship moves about 15 m between Class A reports, far "
           "beyond the 1/10,000 minute (about 0.2 m) resolution; below it anchored ships with speed noise would "
           "count.",
           _OURS, 0),
        _t("inland_water_place_km", 10.0, "km",
           "A position on land within this distance of a port or anchorage of the gazetteer is taken as a river, "
           "canal or lake port (the 1:10m land polygons fill rivers, canals and lakes such as the Suez Canal, the "
           "Rhine or the Great Lakes), not as an impossible position.",
           f"{_OURS}; checked on the Suez 2021 sample, where every canal position lies on Natural Earth land", 0),
        _t("inland_water_min_vessels", 3, "count",
           "A position on land in a cell (inland_water_cell_deg) where at least this many other vessels have "
           "plausible positions is on a waterway that traffic uses (canal, river, lake), not a spoofed position: "
           "spoofing puts one vessel where no other ship goes.",
           f"{_OURS}", 1),
        _t("inland_water_cell_deg", 0.1, "deg",
           "Side of the latitude-longitude cells in which other vessels are counted for inland_water_min_vessels.",
           _OURS, 0, 10, True),
        _t("min_gnss_loss_positions", 3, "count",
           "A run of at least this many consecutive reports without a position (lat 91 / lon 181, GNSS lost) is "
           "reported; a single one is common noise.",
           f"{_OURS}; 181/91 no-GNSS events as reported by Spire (anchors-maritime.md)", 1),
    )),
    Detector("mmsi_conflict", "MMSI conflicts", (
        _t("min_overlap_h", 1.0, "h",
           "Two segments of one MMSI (each with at least tracks.min_segment_positions positions) are a conflict "
           "when both transmit during at least this much common time.",
           f"{_OURS}; GFW flags time-overlapping segments (GlobalFishingWatch/pipe-segment: assets/spoof.sql.j2)",
           0, minimum_exclusive=True),
    )),
    Detector("identity_change", "Identity changes", (
        _t("typo_max_edits", 1, "count",
           "Normalised names and call signs that differ by at most this many character edits are a typo, not a "
           "change.",
           f"{_OURS}; typos in message 5 are common (anchors-sanctions.md I4)", 0),
        _t("min_observations", 2, "count",
           "A new value must be received in at least this many static messages before it counts, so one "
           "corrupted message is not a change.",
           f"{_OURS}; static data repeats every 6 min (ITU-R M.1371-5, anchors-sanctions.md section 4.4)", 1),
        _t("ship_type_by_category", True, "flag",
           "Compare ship types by category (tens digit, e.g. 80-89 tanker) rather than exact code, so a change of "
           "hazard sub-code is not an identity change.",
           f"{_OURS}; ITU-R M.1371-5 ship and cargo type table", None),
    )),
    Detector("invalid_identity", "Invalid identities", (
        _t("placeholder_mmsi", (0, 111111111, 123456789, 999999999), "MMSI",
           "MMSIs that are placeholders typed into unconfigured transponders and are reported whatever their form.",
           "anchors-sanctions.md section 4.2 (invalid or suspect MMSIs)", 0, 999999999),
        _t("reject_company_imo", True, "flag",
           "An IMO number that passes only the company/owner checksum (weights 8,6,4,2,9,7) is invalid for a ship.",
           "anchors-sanctions.md section 4.1 (rigour/ids/imo.py accepts either checksum)"),
    )),
    Detector("activity_surge", "Activity surges", (
        _t("window_days", 7, "days",
           "Visits (port visits and dark port calls) are counted per port in windows of this length.",
           "detection issue #3 (counts per week)", 1, 366),
        _t("baseline_days", 84, "days",
           "The baseline rate is estimated from this many days before the window.",
           f"{_OURS}: twelve weeks, long enough for a stable rate at a small port", 1, 3660),
        _t("significance_level", 0.01, "probability",
           "A window is a surge when a one-sided Poisson test of its count against the baseline rate gives a "
           "p-value below this (many ports and weeks are tested, so keep it small).",
           f"{_OURS}: a conventional 1% level", 0, 1, True),
        _t("min_count", 3, "count",
           "Windows with fewer visits than this are never surges, whatever the test says.",
           _OURS, 1),
        _t("min_rate_ratio", 2.0, "ratio",
           "The window's count must also be at least this multiple of the baseline expectation, so that a "
           "significant but small rise at a busy port is not reported.",
           _OURS, 1),
        _t("min_baseline_fraction", 0.5, "fraction",
           "A window is tested only when at least this fraction of its baseline windows lies inside the data, so "
           "the first weeks of a dataset are not compared with an almost empty past.",
           _OURS, 0, 1),
    )),
]}

# Pairs that must keep their order: (detector, smaller, larger); checked after every override.
ORDERED = [("port_visit", "entry_radius_km", "exit_radius_km"),
           ("port_visit", "stop_begin_speed_kn", "stop_end_speed_kn"),
           ("ais_gap", "min_gap_h", "high_confidence_gap_h")]


class Section(Mapping):
    """The effective values of one detector's thresholds, read as attributes (``cfg.encounter.max_distance_m``)."""

    __slots__ = ("_name", "_values")

    def __init__(self, name: str, values: Mapping[str, Value]):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, key: str) -> Value:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(f"{self._name} has no threshold {key!r}; valid: {', '.join(self._values)}") from None

    def __setattr__(self, key, value):
        raise AttributeError("configuration values are read-only; use Config.replace")

    def __getitem__(self, key: str) -> Value:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Section({self._name!r}, {self._values!r})"


class Config:
    """The thresholds in force: defaults of :data:`DETECTORS` with any overrides applied and validated.

    Parameters
    ----------
    overrides
        ``{detector: {threshold: value}}``; names and values are checked as for a TOML file.
    where
        Where the overrides came from, named in error messages (a file path, ``"--set"``, ...).

    Raises
    ------
    ConfigError
        For an unknown detector or threshold, a value of the wrong type or out of range.
    """

    __slots__ = ("_sections",)

    def __init__(self, overrides: Mapping[str, Mapping[str, Any]] | None = None, *, where: str = "configuration"):
        values = {d.name: {t.name: t.default for t in d.thresholds} for d in DETECTORS.values()}
        for group, table in (overrides or {}).items():
            if group not in DETECTORS:
                raise ConfigError(f"unknown detector section [{group}]", where=where,
                                  fix=f"use one of: {', '.join(DETECTORS)}")
            det = DETECTORS[group]
            if not isinstance(table, Mapping):
                raise ConfigError(f"[{group}] must be a table of thresholds, not {table!r}", where=f"{where}, key {group}",
                                  fix=f"write a [{group}] table with keys among: {_keys(det)}")
            for name, value in table.items():
                key_where = f"{where}, key {group}.{name}"
                if name not in values[group]:
                    raise ConfigError(f"unknown threshold {name!r} in [{group}]", where=key_where,
                                      fix=f"use one of: {_keys(det)}")
                values[group][name] = det[name].check(value, key_where)
        for group, lo, hi in ORDERED:
            if values[group][lo] > values[group][hi]:
                raise ConfigError(f"{group}.{lo} ({values[group][lo]}) is larger than {group}.{hi} "
                                  f"({values[group][hi]})", where=where, fix=f"keep {lo} <= {hi}")
        self._sections = {g: Section(g, v) for g, v in values.items()}

    def __getattr__(self, group: str) -> Section:
        if group.startswith("_"):
            raise AttributeError(group)
        try:
            return self._sections[group]
        except KeyError:
            raise AttributeError(f"no detector section {group!r}; valid: {', '.join(DETECTORS)}") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.sha256())

    def __reduce__(self):  # pickled as its overrides (for worker processes)
        return (Config, (self.overrides(),))

    def __repr__(self) -> str:
        return f"Config(overrides={self.overrides()!r})"

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """All effective values as plain JSON-able data, ``{detector: {threshold: value}}`` (lists for lists)."""
        return {g: {k: list(v) if isinstance(v, tuple) else v for k, v in s.items()}
                for g, s in self._sections.items()}

    def overrides(self) -> dict[str, dict[str, Any]]:
        """The values that differ from the defaults, in the shape of :meth:`to_dict`."""
        out: dict[str, dict[str, Any]] = {}
        for g, s in self._sections.items():
            changed = {k: v for k, v in s.items() if v != DETECTORS[g][k].default}
            if changed:
                out[g] = {k: list(v) if isinstance(v, tuple) else v for k, v in changed.items()}
        return out

    def replace(self, **groups: Mapping[str, Any]) -> Config:
        """A copy with more overrides, e.g. ``cfg.replace(encounter={"max_distance_m": 300.0})``."""
        merged: dict[str, Any] = self.overrides()
        for g, table in groups.items():
            merged[g] = {**merged.get(g, {}), **table} if isinstance(table, Mapping) else table
        return Config(merged, where="Config.replace")

    def sha256(self) -> str:
        """SHA-256 (hex) of the effective values: canonical JSON, keys sorted, values in their declared types.

        Two configurations with the same effective values have the same hash however they were written
        (``500`` or ``500.0``, a key set to its default or left out).
        """
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Sections of the same TOML file that belong to later stages and are read (and validated) there: ``[risk]``
# (watchkeeper.risk_weights.load_risk_weights).
OTHER_SECTIONS = ("risk",)


def read_toml(path: str | Path) -> dict:
    """The parsed TOML configuration file at ``path``; ConfigError (naming the file) when it is missing,
    unreadable or not valid TOML."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("configuration file not found", where=str(path),
                          fix="check the path, or write one with watchkeeper.config.write_default_toml") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the configuration file ({e})", where=str(path),
                          fix="give a readable UTF-8 TOML file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"not valid TOML: {e}", where=str(path),
                          fix="fix the syntax; see the file written by watchkeeper.config.write_default_toml") from None


def load_config(path: str | Path | None = None) -> Config:
    """Read a TOML file of threshold overrides; ``None`` gives the defaults.

    Parameters
    ----------
    path
        A TOML file with one table per detector (``[encounter]``, ...), each key a threshold of that detector.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        When the file cannot be read or parsed, or names an unknown section or key, or gives a value of the
        wrong type or out of range; the message names the file and key and lists the valid choices.
    """
    if path is None:
        return Config()
    data = read_toml(path)
    for section in OTHER_SECTIONS:  # read by their own modules from the same file
        data.pop(section, None)
    return Config(data, where=str(path))


def write_default_toml(path: str | Path | None = None) -> str:
    """Return (and write to ``path`` if given) a TOML file of every threshold at its default, with comments.

    Every key carries its rationale, unit, valid range and source as comments; loading the file gives the
    defaults (the same :meth:`Config.sha256`).
    """
    from watchkeeper import __version__

    lines = [f"# Watchkeeper detection thresholds: the defaults of watchkeeper {__version__}.",
             "# Every key is optional: delete the ones you do not change. Reference: docs/detections.md.", ""]
    for det in DETECTORS.values():
        lines.append(f"[{det.name}]  # {det.title}")
        for t in det.thresholds:
            lines.append("")
            lines.extend(textwrap.wrap(t.rationale, 116, initial_indent="# ", subsequent_indent="# ",
                                       break_on_hyphens=False))
            meta = f"unit: {t.unit}; valid: {t.valid()}; source: {t.source}"
            lines.extend(textwrap.wrap(meta, 116, initial_indent="# ", subsequent_indent="#   ",
                                       break_on_hyphens=False))
            lines.append(f"{t.name} = {toml_value(t.default)}")
        lines.append("")
    text = "\n".join(lines)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def toml_value(value: Value) -> str:
    """``value`` written as TOML (``true``, ``0.25``, ``[1, 2]``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return repr(value)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def _keys(det: Detector) -> str:
    return ", ".join(t.name for t in det.thresholds)
