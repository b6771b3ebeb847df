"""Canada, Consolidated Autonomous Sanctions List (SEMA), XML ``<data-set>`` of ``<record>``.

A record with ``ShipIMONumber`` (or a ship type in ``TitleOrShip`` and no person name) is a Vessel whose
``DateOfBirthOrShipBuildDate`` is its build date; one with ``LastName``/``GivenName`` a Person; else a
Company / Organization named by ``EntityOrShip``. ``Country`` is the regime ("Russia / Russie").
"""

from __future__ import annotations

import re

from watchkeeper.sanctions.identifiers import Extracted, imo_digits
from watchkeeper.sanctions.loaders import ListData
from watchkeeper.sanctions.loaders.common import (
    add_sanction,
    add_vessel_identifiers,
    hashed_id,
    make,
    org_schema,
    put,
)

AUTHORITY = "Global Affairs Canada (Special Economic Measures Act)"
SOURCE_URL = ("https://www.international.gc.ca/world-monde/assets/office_docs/international_relations-"
              "relations_internationales/sanctions/sema-lmes.xml")
_SHIP_TYPE = re.compile(r"tanker|cargo|ro-ro|bulk|container|vessel|fso|lng|lpg|carrier|tug|ship", re.IGNORECASE)


def _text(el, tag: str) -> str | None:
    child = el.find(tag)
    if child is None or child.text is None:
        return None
    return " ".join(child.text.split()) or None


def _aliases(text: str | None) -> list[str]:
    """"A, B,  Russian: C" → ["A", "B", "C"] (language labels dropped)."""
    if not text:
        return []
    out = []
    for part in text.split(","):
        part = re.sub(r"^\s*[A-Z][a-z]+:\s*", "", part).strip()
        if part:
            out.append(part)
    return out


def load(data: bytes, *, fmt: str = "canada_xml", name: str = "") -> ListData:
    from lxml import etree

    root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, huge_tree=True))
    out = ListData("canada_sema", fmt)
    for rec in root.iter("record"):
        f = {c.tag: (" ".join(c.text.split()) if c.text else None) for c in rec}
        country = (f.get("Country") or "").split(" / ")[0].strip() or None
        schedule, item = f.get("Schedule"), f.get("Item")
        eid = hashed_id("ca-sema", country, schedule, item, f.get("LastName"), f.get("GivenName"),
                        f.get("EntityOrShip"), f.get("ShipIMONumber"))
        person = f.get("LastName") or f.get("GivenName")
        ship_type = f.get("TitleOrShip") if f.get("TitleOrShip") and _SHIP_TYPE.search(f["TitleOrShip"]) else None
        if f.get("ShipIMONumber") or (f.get("EntityOrShip") and ship_type and not person):
            e = make("Vessel", eid)
            put(e, "name", f.get("EntityOrShip"))
            put(e, "type", ship_type)
            imo = imo_digits(f.get("ShipIMONumber"))
            add_vessel_identifiers(out, e, Extracted(imo=[imo] if imo else []))
            e.add("buildDate", f.get("DateOfBirthOrShipBuildDate"))
        elif person:
            e = make("Person", eid)
            put(e, "firstName", f.get("GivenName"))
            put(e, "lastName", f.get("LastName"))
            put(e, "name", " ".join(p for p in (f.get("GivenName"), f.get("LastName")) if p))
            put(e, "title", f.get("TitleOrShip"))
            e.add("birthDate", f.get("DateOfBirthOrShipBuildDate"))
        else:
            ename = f.get("EntityOrShip") or ""
            e = make(org_schema(ename), eid)
            put(e, "name", ename)
        put(e, "alias", _aliases(f.get("Aliases")))
        put(e, "sourceUrl", SOURCE_URL)
        out.entities.append(e)
        add_sanction(out, e, program=f"SEMA {country}" if country else "SEMA", authority=AUTHORITY,
                     listing_date=f.get("DateOfListing"), source_url=SOURCE_URL,
                     record_id=f"{country}, schedule {schedule}, item {item}", country="ca")
    return out
