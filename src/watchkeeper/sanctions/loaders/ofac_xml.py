"""OFAC XML: the ``sdnList`` schema (sdn.xml and the consolidated non-SDN list) and the advanced schema
(``sdn_advanced.xml``, root ``<Sanctions>``), told apart by the root element.

sdnList: ``sdnEntry`` with uid, names, sdnType, programList, akaList, idList (``idType``/``idNumber``: "Vessel
Registration Identification" = IMO, "MMSI", "Former Vessel Flag", "Vessel Year of Build", "Identification
Number" = company IMO ...), vesselInfo (callSign, vesselType, vesselFlag, vesselOwner, tonnage,
grossRegisteredTonnage) and remarks. The idList is turned into "type number; ..." text and read by the same
extraction as the CSV remarks, so both formats give the same identifiers.

Advanced: reference value sets map ids to names; ``DistinctParty/Profile`` carries the party type, names
(``Identity/Alias/DocumentedName``, Primary and A.K.A./F.K.A.), features ("Vessel Call Sign", "Vessel Flag",
"VESSEL TYPE", "Vessel Tonnage", "Vessel Year of Build", "Former Vessel Flag", "Vessel Owner" ...);
``IDRegDocuments`` hold the IMO ("Vessel Registration Identification") and "MMSI"; ``SanctionsEntries`` give
programs and the listing date.
"""

from __future__ import annotations

from watchkeeper.sanctions.identifiers import callsign_norm, extract
from watchkeeper.sanctions.loaders import ListData
from watchkeeper.sanctions.loaders.common import (
    add_company_imo,
    add_fraudulent,
    add_owner,
    add_sanction,
    add_vessel_identifiers,
    make,
    org_schema,
    put,
)

AUTHORITY = "US Treasury OFAC"
SOURCE_URL = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN.XML"
SOURCE_URL_ADVANCED = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN_ADVANCED.XML"


def _strip_ns(root) -> None:
    from lxml import etree

    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = etree.QName(el).localname


def _t(el, path: str) -> str | None:
    child = el.find(path)
    if child is None or child.text is None:
        return None
    return " ".join(child.text.split()) or None


def list_source_for(name: str) -> str:
    """``ofac_consolidated`` for a file named like the non-SDN consolidated list, ``ofac_sdn`` otherwise (the
    two share one schema and carry no marker of which list they are)."""
    return "ofac_consolidated" if "cons" in name or "non_sdn" in name or "nonsdn" in name else "ofac_sdn"


def load(data: bytes, *, fmt: str = "ofac_xml", name: str = "") -> ListData:
    from lxml import etree

    root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, huge_tree=True))
    _strip_ns(root)
    out = ListData(list_source_for(name), fmt)
    prefix = "ofac" if out.list_source == "ofac_sdn" else "ofac-cons"
    if root.tag == "Sanctions":
        _load_advanced(root, out, prefix)
    else:
        _load_sdnlist(root, out, prefix)
    return out


# ------------------------------------------------------------------------------------------------ sdnList
def _load_sdnlist(root, out: ListData, prefix: str) -> None:
    publish = _t(root, "publshInformation/Publish_Date")
    by_name: dict[str, str] = {}
    entries = list(root.iter("sdnEntry"))
    for en in entries:
        nm = " ".join(p for p in (_t(en, "firstName"), _t(en, "lastName")) if p)
        by_name.setdefault(nm.upper(), f"{prefix}-{_t(en, 'uid')}")
    for en in entries:
        uid = _t(en, "uid")
        kind = (_t(en, "sdnType") or "").lower()
        first, last = _t(en, "firstName"), _t(en, "lastName")
        full = " ".join(p for p in (first, last) if p)
        ids = "; ".join(f"{_t(i, 'idType') or ''} {_t(i, 'idNumber') or ''}".strip() for i in en.iter("id"))
        remarks = _t(en, "remarks")
        ex = extract("; ".join(p for p in (ids, remarks) if p))
        eid = f"{prefix}-{uid}"
        if kind == "vessel":
            e = make("Vessel", eid)
            vi = en.find("vesselInfo")
            if vi is not None:
                e.add("callSign", callsign_norm(_t(vi, "callSign")))
                put(e, "type", _t(vi, "vesselType"))
                e.add("flag", _t(vi, "vesselFlag"))
                e.add("deadweightTonnage", (_t(vi, "tonnage") or "").replace(",", "") or None)
                e.add("grossRegisteredTonnage", (_t(vi, "grossRegisteredTonnage") or "").replace(",", "") or None)
                e.add("tonnage", (_t(vi, "grossRegisteredTonnage") or _t(vi, "tonnage") or "").replace(",", "")
                      or None)
                if _t(vi, "vesselOwner"):
                    add_owner(out, e, _t(vi, "vesselOwner"), prefix, by_name)
            add_vessel_identifiers(out, e, ex)
        elif kind == "individual":
            e = make("Person", eid)
            put(e, "firstName", first)
            put(e, "lastName", last)
            add_fraudulent(out, e, ex)
        elif kind == "aircraft":
            e = make("Airplane", eid)
            add_fraudulent(out, e, ex)
        else:
            e = make(org_schema(full) if not ex.imo else "Company", eid)
            add_company_imo(out, e, ex)
        put(e, "name", full)
        for aka in en.iter("aka"):
            an = " ".join(p for p in (_t(aka, "firstName"), _t(aka, "lastName")) if p)
            prop = "previousName" if (_t(aka, "type") or "").lower() == "f.k.a." and e.schema.get("previousName") \
                else ("weakAlias" if (_t(aka, "category") or "") == "weak" else "alias")
            put(e, prop, an)
        for addr in en.iter("address"):
            e.add("country", _t(addr, "country"))
        put(e, "notes", remarks)
        put(e, "sourceUrl", SOURCE_URL)
        out.entities.append(e)
        add_sanction(out, e, program=[p.text.strip() for p in en.iter("program") if p.text],
                     authority=AUTHORITY, source_url=SOURCE_URL, record_id=uid, country="us")
        if publish:
            put(out.entities[-1], "description", f"list published {publish}")


# ------------------------------------------------------------------------------------------------ advanced
def _values(root, set_name: str) -> dict[str, str]:
    out = {}
    for el in root.iterfind(f"ReferenceValueSets/{set_name}/*"):
        out[el.get("ID")] = " ".join((el.text or "").split())
    return out


def _date(el) -> str | None:
    if el is None:
        return None
    y, m, d = _t(el, "Year"), _t(el, "Month"), _t(el, "Day")
    if not y:
        return None
    return "-".join([y] + [f"{int(v):02d}" for v in (m, d) if v])


def _load_advanced(root, out: ListData, prefix: str) -> None:
    party_sub = {el.get("ID"): el.get("PartyTypeID") for el in root.iterfind("ReferenceValueSets/PartySubTypeValues/*")}
    party_type = _values(root, "PartyTypeValues")
    alias_type = _values(root, "AliasTypeValues")
    feature_type = _values(root, "FeatureTypeValues")
    detail_ref = _values(root, "DetailReferenceValues")
    doc_type = _values(root, "IDRegDocTypeValues")
    program_values = _values(root, "SanctionsProgramValues")
    relation_type = _values(root, "RelationTypeValues")
    identity_profile: dict[str, str] = {}
    entities: dict[str, object] = {}
    texts: dict[str, list[str]] = {}
    for party in root.iterfind("DistinctParties/DistinctParty"):
        for prof in party.iterfind("Profile"):
            pid = prof.get("ID")
            ptype = party_type.get(party_sub.get(prof.get("PartySubTypeID"), ""), "").lower()
            schema = {"vessel": "Vessel", "individual": "Person", "aircraft": "Airplane"}.get(ptype, "Organization")
            e = make(schema, f"{prefix}-{pid}")
            texts[pid] = []
            for ident in prof.iterfind("Identity"):
                identity_profile[ident.get("ID")] = pid
                for alias in ident.iterfind("Alias"):
                    atype = alias_type.get(alias.get("AliasTypeID"), "").upper()
                    for dn in alias.iterfind("DocumentedName"):
                        nm = " ".join(v.text.strip() for v in dn.iter("NamePartValue") if v.text)
                        if alias.get("Primary") == "true":
                            prop = "name"
                        elif atype.startswith("F.K.A") and e.schema.get("previousName"):
                            prop = "previousName"
                        elif alias.get("LowQuality") == "true":
                            prop = "weakAlias"
                        else:
                            prop = "alias"
                        put(e, prop, nm)
            for feat in prof.iterfind("Feature"):
                ftype = feature_type.get(feat.get("FeatureTypeID"), "")
                for ver in feat.iterfind("FeatureVersion"):
                    for det in ver.iterfind("VersionDetail"):
                        value = (" ".join((det.text or "").split()) or detail_ref.get(det.get("DetailReferenceID"), ""))
                        if value:
                            texts[pid].append(f"{ftype} {value}")
            entities[pid] = e
    for doc in root.iter("IDRegDocument"):
        pid = identity_profile.get(doc.get("IdentityID"))
        number = _t(doc, "IDRegistrationNo")
        if pid and number:
            texts[pid].append(f"{doc_type.get(doc.get('IDRegDocTypeID'), '')} {number}")
    for pid, e in entities.items():
        text = "; ".join(texts[pid])
        ex = extract(text)
        if e.schema.name == "Vessel":
            for line in texts[pid]:
                low = line.lower()
                if low.startswith("vessel call sign "):
                    e.add("callSign", callsign_norm(line[17:]))
                elif low.startswith("vessel flag "):
                    e.add("flag", line[12:])
                elif low.startswith("vessel type "):
                    put(e, "type", line[12:])
                elif low.startswith("vessel gross registered tonnage "):
                    e.add("grossRegisteredTonnage", line[32:].replace(",", ""))
                elif low.startswith("vessel tonnage "):
                    e.add("tonnage", line[15:].replace(",", ""))
                elif low.startswith("vessel owner "):
                    add_owner(out, e, line[13:], prefix)
            add_vessel_identifiers(out, e, ex)
        elif e.schema.name in ("Organization", "Company"):
            add_company_imo(out, e, ex)
        else:
            add_fraudulent(out, e, ex)
        put(e, "notes", text or None)
        put(e, "sourceUrl", SOURCE_URL_ADVANCED)
        out.entities.append(e)
    for entry in root.iterfind("SanctionsEntries/SanctionsEntry"):
        e = entities.get(entry.get("ProfileID"))
        if e is None:
            continue
        progs = [_t(m, "Comment") for m in entry.iterfind("SanctionsMeasure") if _t(m, "Comment")]
        progs += [program_values[m.get("SanctionsProgramID")] for m in entry.iterfind("SanctionsMeasure")
                  if m.get("SanctionsProgramID") in program_values]
        dates = sorted(d for d in (_date(ev.find("Date")) for ev in entry.iterfind("EntryEvent")) if d)
        add_sanction(out, e, program=list(dict.fromkeys(progs)), authority=AUTHORITY,
                     listing_date=dates[0] if dates else None, source_url=SOURCE_URL_ADVANCED,
                     record_id=entry.get("ID"), country="us")
    from watchkeeper.sanctions.loaders.common import add_link

    for rel in root.iter("ProfileRelationship"):
        a, b = rel.get("From-ProfileID"), rel.get("To-ProfileID")
        if a in entities and b in entities:
            add_link(out, f"{prefix}-{a}", f"{prefix}-{b}", relation_type.get(rel.get("RelationTypeID"), "related"))
