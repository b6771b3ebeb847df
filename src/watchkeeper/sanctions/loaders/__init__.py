"""Sanctions-list loaders: one module per publisher format, each turning a file into FollowTheMoney entities.

:func:`detect_format` decides the format from the content (gzip by its magic bytes, XML by its root element,
the OFAC legacy CSV by its shape, FollowTheMoney JSON lines by the first object); :func:`read_list` runs the
right loader and returns a :class:`ListData`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from watchkeeper.errors import InputError

FORMATS = {
    "un_xml": "UN Security Council consolidated list (XML)",
    "ofac_sdn_csv": "OFAC SDN legacy CSV (sdn.csv)",
    "ofac_xml": "OFAC SDN / consolidated XML (sdnList)",
    "ofac_advanced_xml": "OFAC advanced XML (sdn_advanced.xml)",
    "canada_xml": "Canada SEMA consolidated list (XML)",
    "ftm_jsonl": "FollowTheMoney entities, one JSON object per line (OpenSanctions entities.ftm.json)",
}
_XML_ROOTS = {"CONSOLIDATED_LIST": "un_xml", "sdnList": "ofac_xml", "Sanctions": "ofac_advanced_xml",
              "data-set": "canada_xml"}
_SDN_TYPES = {"individual", "vessel", "aircraft", "-0-", ""}


@dataclass
class ExtraIdentifier:
    """An identifier kept beside the entity's FtM properties: fraudulently used, or with a bad check digit."""

    entity_id: str
    kind: str  # imo | mmsi | imo_company
    value: str
    fraudulent: bool
    valid: bool
    evidence: str = ""


@dataclass
class ListData:
    """What one list file holds: its entities (FtM proxies) and the identifiers kept apart from them."""

    list_source: str  # un | ofac_sdn | ofac_consolidated | canada_sema | opensanctions
    fmt: str
    entities: list = field(default_factory=list)
    extra: list[ExtraIdentifier] = field(default_factory=list)


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes, gunzipped when they start with the gzip magic bytes."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", where=str(p), fix="check the path")
    if p.is_dir():
        raise InputError("is a directory, not a list file", where=str(p), fix="give the list file itself")
    data = p.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputError(f"gzip file is damaged ({exc})", where=str(p),
                             fix="download the list again") from None
    return data


def detect_format(data: bytes, where: str = "") -> str:
    """One of :data:`FORMATS`, decided from the content; :class:`InputError` when none fits."""
    head = data[:8192].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        text = head.decode("utf-8", "replace")
        text = re.sub(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", "", text, flags=re.DOTALL)
        m = re.search(r"<\s*(?:[\w.-]+:)?([\w.-]+)", text)
        root = m.group(1) if m else ""
        if root in _XML_ROOTS:
            return _XML_ROOTS[root]
        raise InputError(f"XML with root element <{root}> is not a sanctions list Watchkeeper reads", where=where,
                         fix="give a UN consolidated XML, OFAC sdn.xml / consolidated.xml / sdn_advanced.xml, "
                             "Canada SEMA XML, OFAC sdn.csv or an FtM JSON-lines export")
    if head.startswith(b"{"):
        line = data.split(b"\n", 1)[0]
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and "schema" in obj and "id" in obj:
            return "ftm_jsonl"
    else:
        first = data[:4096].decode("latin-1").splitlines()[:1]
        rows = list(csv.reader(io.StringIO(first[0]))) if first else []
        if rows and len(rows[0]) == 12 and rows[0][0].strip().isdigit() \
                and rows[0][2].strip().lower() in _SDN_TYPES:
            return "ofac_sdn_csv"
    raise InputError("not a sanctions list format Watchkeeper recognises", where=where,
                     fix="supported: " + "; ".join(FORMATS.values()))


def read_list(path: str | Path) -> tuple[ListData, bytes]:
    """Detect and load one list file; returns the loaded data and the (decompressed) bytes."""
    data = read_bytes(path)
    if not data.strip():
        raise InputError("file is empty", where=str(path), fix="download the list again")
    fmt = detect_format(data, str(path))
    name = Path(path).name.lower()
    if fmt == "un_xml":
        from watchkeeper.sanctions.loaders import un as mod
    elif fmt == "ofac_sdn_csv":
        from watchkeeper.sanctions.loaders import ofac_sdn as mod
    elif fmt in ("ofac_xml", "ofac_advanced_xml"):
        from watchkeeper.sanctions.loaders import ofac_xml as mod
    elif fmt == "canada_xml":
        from watchkeeper.sanctions.loaders import canada as mod
    else:
        from watchkeeper.sanctions.loaders import opensanctions as mod
    try:
        out = mod.load(data, fmt=fmt, name=name)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - a parser error becomes a readable input error
        raise InputError(f"cannot read as {FORMATS[fmt]} ({type(exc).__name__}: {exc})", where=str(path),
                         fix="check that the file is complete; download it again") from None
    return out, data
