"""Why a line was not decoded: the closed vocabulary of ``quarantine.reason`` and its accounting bucket.

Every input line ends in exactly one bucket of the accounting invariant
``lines_in = decoded + rejected + duplicates + incomplete + metadata + skipped``. Lines in the ``rejected``
and ``incomplete`` buckets are also kept, verbatim, in the quarantine table with one of these reasons.
"""

from __future__ import annotations

# code -> (name, bucket, meaning). Codes are what the compiled kernels write; names are what users see.
REASONS: dict[int, tuple[str, str, str]] = {
    10: ("bad_checksum", "rejected", "the NMEA checksum after '*' does not match the sentence"),
    11: ("malformed", "rejected", "not a well-formed AIVDM/AIVDO sentence (fields, counts, payload characters)"),
    12: ("not_ais", "rejected", "an NMEA or other sentence that is not AIS (e.g. $GPGGA) or a line with no sentence"),
    13: ("bad_timestamp", "rejected", "a timestamp (tag block, $PGHP, prefix, receiver field, CSV column) that cannot be parsed"),
    14: ("line_too_long", "rejected", "a line longer than any AIS sentence can be (kept cut to 4,096 characters)"),
    15: ("not_text", "rejected", "bytes that are not printable ASCII text (binary data, invalid UTF-8, control characters)"),
    16: ("unsupported_type", "rejected", "a valid AIS message of a type Watchkeeper does not decode (6-17, 20, 22, 23, 25, 26)"),
    17: ("bad_length", "rejected", "the payload is too short for its message type"),
    18: ("bad_field_values", "rejected", "a field outside its valid range (e.g. latitude 95, MMSI 0)"),
    19: ("bad_tag_block", "rejected", "an IEC 61162-450 tag block with a bad checksum or no closing backslash"),
    20: ("bad_csv_row", "rejected", "a CSV row with the wrong number of columns or unparseable values"),
    30: ("incomplete_multipart", "incomplete", "a fragment of a multi-sentence message whose other fragments never arrived"),
}

CODE = {name: code for code, (name, _, _) in REASONS.items()}
NAME = {code: name for code, (name, _, _) in REASONS.items()}
BUCKET = {name: bucket for _, (name, bucket, _) in REASONS.items()}
