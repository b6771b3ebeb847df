"""OFAC SDN legacy CSV (``sdn.csv``): 12 columns, no header, Latin-1, ``-0-`` for empty.

Columns: ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag,
Vess_owner, Remarks. Vessel identifiers (IMO, MMSI, former flags, former names) are in Remarks; "Linked To:"
parties are resolved by name within the file (an UnknownLink with role "Linked To").
"""

from __future__ import annotations

import csv
import io

from watchkeeper.sanctions.identifiers import callsign_norm, extract
from watchkeeper.sanctions.loaders import ListData
from watchkeeper.sanctions.loaders.common import (
    add_company_imo,
    add_fraudulent,
    add_link,
    add_owner,
    add_sanction,
    add_vessel_identifiers,
    hashed_id,
    make,
    org_schema,
    put,
)

AUTHORITY = "US Treasury OFAC (SDN list)"
SOURCE_URL = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN.CSV"
COLUMNS = ["ent_num", "SDN_Name", "SDN_Type", "Program", "Title", "Call_Sign", "Vess_type", "Tonnage", "GRT",
           "Vess_flag", "Vess_owner", "Remarks"]
NULL = "-0-"


def rows(data: bytes) -> list[dict[str, str | None]]:
    """The CSV's records as dicts of :data:`COLUMNS` (``-0-`` → None); short lines (the DOS EOF mark) skipped."""
    text = data.decode("latin-1")
    out = []
    for r in csv.reader(io.StringIO(text)):
        if len(r) != len(COLUMNS):
            continue
        out.append({k: (None if v.strip() in (NULL, "") else v.strip()) for k, v in zip(COLUMNS, r)})
    return out


def programs(value: str | None) -> list[str]:
    """"NPWMD] [IFSR" → ["NPWMD", "IFSR"]."""
    return [p.strip(" []") for p in (value or "").split("] [") if p.strip(" []")]


def load(data: bytes, *, fmt: str = "ofac_sdn_csv", name: str = "") -> ListData:
    out = ListData("ofac_sdn", fmt)
    records = rows(data)
    by_name = {}
    for r in records:
        if r["SDN_Name"]:
            by_name.setdefault(r["SDN_Name"].upper(), f"ofac-{r['ent_num']}")
    pending_links = []
    for r in records:
        kind = (r["SDN_Type"] or "").lower()
        ename = r["SDN_Name"] or ""
        eid = f"ofac-{r['ent_num']}"
        ex = extract(r["Remarks"])
        if kind == "vessel":
            e = make("Vessel", eid)
            put(e, "name", ename)
            e.add("callSign", callsign_norm(r["Call_Sign"]))
            put(e, "type", r["Vess_type"])
            e.add("deadweightTonnage", (r["Tonnage"] or "").replace(",", "") or None)
            e.add("grossRegisteredTonnage", (r["GRT"] or "").replace(",", "") or None)
            e.add("tonnage", (r["GRT"] or r["Tonnage"] or "").replace(",", "") or None)
            e.add("flag", r["Vess_flag"])
            add_vessel_identifiers(out, e, ex)
            if r["Vess_owner"]:
                add_owner(out, e, r["Vess_owner"], "ofac", by_name)
        elif kind == "individual":
            e = make("Person", eid)
            put(e, "name", ename)
            put(e, "title", r["Title"])
            add_fraudulent(out, e, ex)
        elif kind == "aircraft":
            e = make("Airplane", eid)
            put(e, "name", ename)
            add_fraudulent(out, e, ex)
        else:
            e = make(org_schema(ename) if not ex.imo else "Company", eid)
            put(e, "name", ename)
            add_company_imo(out, e, ex)
        put(e, "notes", r["Remarks"])
        put(e, "sourceUrl", SOURCE_URL)
        out.entities.append(e)
        add_sanction(out, e, program=programs(r["Program"]), authority=AUTHORITY, source_url=SOURCE_URL,
                     record_id=r["ent_num"], country="us")
        for linked in ex.linked_to:
            pending_links.append((eid, linked))
    for eid, linked in pending_links:
        target = by_name.get(linked.upper())
        if target is None:
            stub = make(org_schema(linked), hashed_id("ofac-party", linked.upper()))
            put(stub, "name", linked)
            out.entities.append(stub)
            target = by_name[linked.upper()] = stub.id
        add_link(out, eid, target, "Linked To")
    return out
