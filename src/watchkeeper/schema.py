"""The canonical data model of Watchkeeper, declared once.

Every table that a stage writes or reads is an Arrow schema here. Each field carries two pieces of metadata:
``unit`` and ``doc``. ``docs/data-model.md`` documents the same fields and a test keeps the two in step, so
this module is the single source of truth.

Conventions
-----------
* Times are UTC, microsecond resolution (``timestamp[us, tz=UTC]``).
* Coordinates are WGS84 decimal degrees.
* Units are in the names (``sog_kn``, ``draught_m``) wherever a field has one.
* "Not available" values of the AIS standard (lat 91, lon 181, sog 102.3, cog 360, heading 511, ...) are
  stored as null, never as numbers.
* ``source_id`` + ``line`` (+ ``line_last`` for multi-sentence messages) address the exact input line(s) a row
  came from; ``source_id`` joins the ``ledger`` table, which holds each input's SHA-256.
"""

from __future__ import annotations

import pyarrow as pa

TS_TYPE = pa.timestamp("us", tz="UTC")


def _f(name: str, type_: pa.DataType, unit: str, doc: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"unit": unit, "doc": doc})


# A reference to the input line(s) that a decoded row came from; shared by positions and statics.
_LINE_REF = [
    _f("source_id", pa.int32(), "", "Input file that holds the message; joins `ledger.source_id`.", False),
    _f("line", pa.int64(), "", "1-based number of the first line (lowest number) that holds the message or one of its fragments.", False),
    _f("line_last", pa.int64(), "",
       "1-based number of the last line (highest number) that holds one of its fragments (equals `line` for "
       "one-sentence messages).", False),
]

POSITIONS = pa.schema(
    [
        _f("mmsi", pa.int32(), "", "Maritime Mobile Service Identity of the transmitter.", False),
        _f("ts", TS_TYPE, "UTC",
           "Reception time from the feed (tag block, $PGHP, line prefix, trailing receiver time or CSV column); "
           "null when the input carries no time."),
        _f("lat", pa.float64(), "deg", "WGS84 latitude; null when not available (91)."),
        _f("lon", pa.float64(), "deg", "WGS84 longitude; null when not available (181)."),
        _f("sog_kn", pa.float32(), "kn", "Speed over ground; null when not available (102.3 kn, raw 1023)."),
        _f("cog_deg", pa.float32(), "deg",
           "Course over ground, 0-359.9; null when not available (360) or out of range."),
        _f("heading_deg", pa.int16(), "deg", "True heading, 0-359; null when not available (511) or out of range."),
        _f("nav_status", pa.int8(), "code",
           "ITU-R M.1371 navigational status 0-14 (0 under way using engine, 1 at anchor, 5 moored, ...); "
           "null when not defined (15) or not transmitted (Class B)."),
        _f("rot", pa.float32(), "deg/min",
           "Rate of turn, positive to starboard, from the AIS ROT indicator ((raw/4.733)^2 with its sign); null "
           "when not available (-128) or when no turn indicator gives a rate (+-127)."),
        _f("pos_accuracy", pa.bool_(), "flag", "Position accuracy flag: true when better than 10 m (DGNSS)."),
        _f("msg_type", pa.int8(), "code",
           "AIS message type (1-3 Class A, 4 base station, 18/19 Class B, 21 aid to navigation, 27 long range) "
           "or 0 for rows from CSV sources that do not say.", False),
        *_LINE_REF,
    ]
)

STATICS = pa.schema(
    [
        _f("mmsi", pa.int32(), "", "Maritime Mobile Service Identity of the transmitter.", False),
        _f("ts", TS_TYPE, "UTC", "Reception time; null when the input carries no time."),
        _f("imo", pa.int32(), "", "IMO ship number as transmitted (not validated here); null when 0."),
        _f("callsign", pa.string(), "", "Radio call sign, 6-bit text trimmed of '@' padding and spaces; null if empty."),
        _f("shipname", pa.string(), "", "Ship (or aid-to-navigation) name, trimmed; null if empty."),
        _f("ship_type", pa.int16(), "code",
           "ITU-R M.1371 ship and cargo type (e.g. 70-79 cargo, 80-89 tanker); for type 21 the aid type; "
           "null when 0 (not available)."),
        _f("to_bow_m", pa.int16(), "m", "Distance from the reference point to the bow; null when 0."),
        _f("to_stern_m", pa.int16(), "m", "Distance from the reference point to the stern; null when 0."),
        _f("to_port_m", pa.int16(), "m", "Distance from the reference point to port; null when 0."),
        _f("to_starboard_m", pa.int16(), "m", "Distance from the reference point to starboard; null when 0."),
        _f("length_m", pa.int16(), "m",
           "Overall length: to_bow_m + to_stern_m for AIS; the source's length column for CSV exports that give "
           "only length and beam; null when unknown."),
        _f("beam_m", pa.int16(), "m", "Beam: to_port_m + to_starboard_m, or the source's width column; null when unknown."),
        _f("draught_m", pa.float32(), "m", "Maximum present static draught; null when 0."),
        _f("destination", pa.string(), "", "Destination as typed by the crew, trimmed; null if empty."),
        _f("eta", pa.string(), "UTC",
           "Estimated time of arrival as sent (AIS has no year): '--MM-DDTHH:MM', or '--MM-DD' when the time "
           "is not available; null when month or day is not available."),
        _f("msg_type", pa.int8(), "code",
           "AIS message type: 5 (Class A static and voyage), 19 (Class B extended), 21 (aid to navigation), "
           "24 (Class B static, part A carries the name, part B the rest), or 0 for CSV sources.", False),
        *_LINE_REF,
    ]
)

QUARANTINE = pa.schema(
    [
        _f("source_id", pa.int32(), "", "Input file; joins `ledger.source_id`.", False),
        _f("line", pa.int64(), "", "1-based line number of the (first) rejected line.", False),
        _f("n_lines", pa.int32(), "",
           "How many input lines this row accounts for (more than 1 for a multi-sentence message).", False),
        _f("reason", pa.string(), "code", "Why the line was not decoded; one of `watchkeeper.ingest.reasons`.", False),
        _f("detail", pa.string(), "", "Human-readable detail (e.g. expected and found checksum)."),
        _f("raw", pa.string(), "",
           "The line(s) as read, bytes that are not UTF-8 shown as \\xNN escapes, cut to 4,096 characters.", False),
        _f("raw_bytes", pa.int64(), "B", "Length of the original line(s) in bytes, before any cut.", False),
    ]
)

LEDGER = pa.schema(
    [
        _f("source_id", pa.int32(), "", "Identifier of the input inside this store.", False),
        _f("sha256", pa.string(), "", "SHA-256 of the file's bytes as given (compressed bytes for .gz).", False),
        _f("size_bytes", pa.int64(), "B", "Size of the file as given.", False),
        _f("name", pa.string(), "", "The path as the user gave it.", False),
        _f("format", pa.string(), "code", "Detected format: nmea, csv-canonical, csv-dma, csv-noaa, csv-mapped.", False),
        _f("ingested_at", TS_TYPE, "UTC", "Wall-clock time the ingest of this file finished.", False),
        _f("software_version", pa.string(), "", "Watchkeeper version that ingested it.", False),
        _f("status", pa.string(), "code", "'complete', or 'in_progress' while (or if killed while) ingesting.", False),
        _f("lines_in", pa.int64(), "", "Lines read, every physical line included (a CSV header counts as skipped).", False),
        _f("decoded", pa.int64(), "", "Lines that became decoded messages.", False),
        _f("rejected", pa.int64(), "", "Lines kept in quarantine with a reason (including unsupported types).", False),
        _f("duplicates", pa.int64(), "", "Lines whose message was already received (e.g. by another station).", False),
        _f("incomplete", pa.int64(), "", "Fragments of multi-sentence messages whose group never completed.", False),
        _f("metadata", pa.int64(), "", "Lines that only carry metadata for the next sentence ($PGHP).", False),
        _f("skipped", pa.int64(), "", "Blank lines and comment lines (starting with '#').", False),
        _f("messages", pa.int64(), "", "Decoded AIS messages (a two-sentence type 5 is one message).", False),
        _f("positions", pa.int64(), "", "Rows written to the positions table.", False),
        _f("statics", pa.int64(), "", "Rows written to the statics table.", False),
    ]
)

# The supporting positions of an event: how many there are, and the key input lines a dossier cites.
POSITION_REF = pa.struct([
    pa.field("mmsi", pa.int32(), nullable=False),
    pa.field("source_id", pa.int32(), nullable=False),
    pa.field("line", pa.int64(), nullable=False),
    pa.field("role", pa.string(), nullable=False),
])
POSITIONS_SUPPORT = pa.struct([
    pa.field("n", pa.int32(), nullable=False),
    pa.field("refs", pa.list_(pa.field("item", POSITION_REF, nullable=False)), nullable=False),
])

EVENTS = pa.schema(
    [
        _f("event_id", pa.string(), "",
           "Deterministic identifier: the first 32 hex digits of the SHA-256 of the event's defining fields "
           "(`watchkeeper.detect.events.event_id`), so reruns and both engines give the same id.", False),
        _f("type", pa.string(), "code",
           "Event type: port_visit, ais_gap, dark_port_call, encounter, loitering, position_jump, mmsi_conflict, "
           "identity_change, invalid_identity or activity_surge (rules in docs/detections.md).", False),
        _f("mmsi", pa.int32(), "",
           "The transmitter the event is about; 0 for activity_surge, which is about a port or area."),
        _f("other_mmsi", pa.int32(), "",
           "The second vessel of a two-vessel event (the partner in an encounter; the MMSI an IMO was seen under "
           "before, for identity_change); null otherwise."),
        _f("start", TS_TYPE, "UTC",
           "Start: the first supporting position (for ais_gap, the last position before the silence).", False),
        _f("end", TS_TYPE, "UTC",
           "End: the last supporting position (for ais_gap, the first position after the silence, or the end of "
           "the data for a gap still open, with `open` true in details).", False),
        _f("lat", pa.float64(), "deg",
           "WGS84 latitude of the event's representative position (type-specific, see docs/detections.md); null "
           "when the event has no position."),
        _f("lon", pa.float64(), "deg", "WGS84 longitude of the representative position; null with `lat`."),
        _f("port_name", pa.string(), "",
           "Port the event happened at or concerns (port_visit, dark_port_call, activity_surge); null when none. "
           "The port fields are exported together as the `port` object."),
        _f("port_locode", pa.string(), "", "UN/LOCODE of the port (5 characters, no space) when known."),
        _f("port_lat", pa.float64(), "deg", "WGS84 latitude of the port's reference point; set with `port_name`."),
        _f("port_lon", pa.float64(), "deg", "WGS84 longitude of the port's reference point; set with `port_name`."),
        _f("confidence", pa.float64(), "0-1",
           "How sure the rule is of the event, from 0 to 1 (type-specific), rounded to 9 decimals.", False),
        _f("details", pa.string(), "JSON",
           "Type-specific details as the text of a JSON object, units in the key names (`duration_h`, "
           "`distance_km`, ...); exported as an object.", False),
        _f("positions", POSITIONS_SUPPORT, "",
           "Supporting positions: `n`, how many positions of the vessel(s) support the event, and `refs`, the key "
           "input lines (mmsi, source_id, line, role `first`, `last`, `key` or `static`) a dossier cites. "
           "`source_id` + `line` join the positions table (the statics table for role `static`).", False),
        _f("segment_id", pa.string(), "",
           "Segment of `mmsi` (one transmitter's track) the event was computed on; null for events not computed "
           "per segment (identity, activity_surge)."),
        _f("config_sha256", pa.string(), "",
           "`Config.sha256()` of the thresholds in force when the event was detected.", False),
        _f("detector_version", pa.string(), "",
           "Detector and rule version that produced the event, e.g. `encounter/1`; bumped when the rule changes.",
           False),
    ]
)

DETECT_RUNS = pa.schema(
    [
        _f("run_id", pa.int32(), "", "Number of the detection run in this store, counting from 1.", False),
        _f("started_at", TS_TYPE, "UTC", "Wall-clock time the run started.", False),
        _f("finished_at", TS_TYPE, "UTC", "Wall-clock time the run's events were committed.", False),
        _f("config_sha256", pa.string(), "", "`Config.sha256()` of the thresholds the run used.", False),
        _f("software_version", pa.string(), "", "Watchkeeper version that ran the detection.", False),
        _f("positions", pa.int64(), "", "Position rows read from the store.", False),
        _f("events", pa.int64(), "", "Events written (they replaced those of the previous run).", False),
        _f("counts", pa.string(), "JSON",
           "Events per type as the text of a JSON object `{type: count}`, every type of the run listed.", False),
    ]
)

# Counters of the accounting invariant, in the order the summary prints them:
#   lines_in = decoded + rejected + duplicates + incomplete + metadata + skipped
ACCOUNT_FIELDS = ("decoded", "rejected", "duplicates", "incomplete", "metadata", "skipped")

TABLES = {"positions": POSITIONS, "statics": STATICS, "quarantine": QUARANTINE, "ledger": LEDGER, "events": EVENTS,
          "detect_runs": DETECT_RUNS}


def field_doc(schema: pa.Schema, name: str) -> tuple[str, str]:
    """Return ``(unit, doc)`` of one field of a schema."""
    md = schema.field(name).metadata or {}
    return md.get(b"unit", b"").decode(), md.get(b"doc", b"").decode()
