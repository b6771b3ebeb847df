"""UN Security Council consolidated list (XML, ``<CONSOLIDATED_LIST>``): INDIVIDUALS and ENTITIES.

Individuals become Person; entities Company / Organization. IMO numbers in an entity's ``COMMENTS1`` are IMO
*company* numbers (the owners and managers of designated ships). An ENTITY is taken as a Vessel only when its
comments say so at the start ("Vessel ...", "Tanker ...", "Type: ... vessel") — the consolidated XML normally
lists no vessels (the 1718 Committee's vessel list is separate), so this stays conservative.
"""

from __future__ import annotations

import re

from watchkeeper.sanctions.identifiers import extract
from watchkeeper.sanctions.loaders import ListData
from watchkeeper.sanctions.loaders.common import (
    add_company_imo,
    add_fraudulent,
    add_sanction,
    add_vessel_identifiers,
    make,
    org_schema,
    put,
    slug,
)

AUTHORITY = "United Nations Security Council"
SOURCE_URL = "https://scsanctions.un.org/resources/xml/en/consolidated.xml"
_VESSEL_TEXT = re.compile(r"^\s*(?:the\s+)?(?:[\w-]+-flagged\s+)?(?:vessel|tanker|cargo ship|bulk carrier|m/v|m/t)\b"
                          r"(?!\s+(?:owner|manager|operator))|\bvessel type\b", re.IGNORECASE)


def _text(el, tag: str) -> str | None:
    child = el.find(tag)
    if child is None or child.text is None:
        return None
    return " ".join(child.text.split()) or None


def load(data: bytes, *, fmt: str = "un_xml", name: str = "") -> ListData:
    from lxml import etree

    root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, huge_tree=True))
    out = ListData("un", fmt)
    for el in root.iter("INDIVIDUAL", "ENTITY"):
        ref = _text(el, "REFERENCE_NUMBER") or _text(el, "DATAID")
        eid = slug("un", ref)
        parts = [_text(el, t) for t in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")]
        full = " ".join(p for p in parts if p)
        comments = _text(el, "COMMENTS1")
        ex = extract(comments)
        if el.tag == "INDIVIDUAL":
            e = make("Person", eid)
            put(e, "firstName", parts[0])
            put(e, "lastName", " ".join(p for p in parts[1:] if p) or None)
            for v in el.iterfind("NATIONALITY/VALUE"):
                if v.text:
                    e.add("nationality", v.text.strip())
            for v in el.iterfind("INDIVIDUAL_DATE_OF_BIRTH"):
                e.add("birthDate", _text(v, "DATE") or _text(v, "YEAR"))
            add_fraudulent(out, e, ex)
        elif comments and _VESSEL_TEXT.search(comments) and org_schema(full) != "Company":
            e = make("Vessel", eid)
            add_vessel_identifiers(out, e, ex)
        else:
            e = make(org_schema(full) if not ex.imo else "Company", eid)
            add_company_imo(out, e, ex)
        put(e, "name", full)
        put(e, "alias", [_text(a, "ALIAS_NAME") for a in el.iterfind("INDIVIDUAL_ALIAS") if _text(a, "ALIAS_NAME")])
        put(e, "alias", [_text(a, "ALIAS_NAME") for a in el.iterfind("ENTITY_ALIAS") if _text(a, "ALIAS_NAME")])
        put(e, "alias", _text(el, "NAME_ORIGINAL_SCRIPT"))
        if e.schema.name == "Vessel":
            put(e, "previousName", ex.former_names)
        for addr in el.iterfind("ENTITY_ADDRESS"):
            e.add("country", _text(addr, "COUNTRY"))
        put(e, "notes", comments)
        put(e, "sourceUrl", SOURCE_URL)
        out.entities.append(e)
        add_sanction(out, e, program=_text(el, "UN_LIST_TYPE"), authority=AUTHORITY,
                     listing_date=_text(el, "LISTED_ON"), source_url=SOURCE_URL, record_id=ref, reason=comments)
        out.entities[-1].add("unscId", ref, cleaned=True)
    return out
