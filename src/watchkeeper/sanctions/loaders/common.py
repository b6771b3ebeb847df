"""Building blocks shared by the loaders: entity construction, vessel identifiers, sanctions, links."""

from __future__ import annotations

import hashlib
import re

from watchkeeper.sanctions.identifiers import (
    Extracted,
    company_imo_check_ok,
    imo_check_ok,
    imo_digits,
)
from watchkeeper.sanctions.loaders import ExtraIdentifier, ListData

_COMPANY_WORDS = re.compile(r"\b(CO|COMPANY|CORP|CORPORATION|LTD|LIMITED|LLC|INC|GMBH|S\.?A|OOO|AO|OAO|PAO|PJSC|JSC|"
                            r"ZAO|FZE|FZCO|DMCC|PLC|BV|AG|SHIPPING|LEASING|TRADING|MANAGEMENT|LLP|PTE|SDN BHD)\b\.?",
                            re.IGNORECASE)


def slug(*parts: object) -> str:
    text = "-".join(str(p) for p in parts if p is not None and str(p) != "")
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")


def hashed_id(prefix: str, *parts: object) -> str:
    h = hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:16]
    return f"{prefix}-{h}"


def make(schema: str, entity_id: str):
    from followthemoney import model

    e = model.make_entity(schema)
    e.id = entity_id
    return e


def put(entity, prop: str, values) -> None:
    """Add values that need no FtM cleaning (text, ids, constant URLs), skipping None and blanks."""
    if values is None:
        return
    if isinstance(values, str):
        values = [values]
    values = [v.strip() for v in values if v is not None and str(v).strip()]
    if values:
        entity.add(prop, values, cleaned=True)


def org_schema(name: str) -> str:
    """Company for names with a corporate word (LLC, LIMITED, SHIPPING ...), Organization otherwise."""
    return "Company" if _COMPANY_WORDS.search(name or "") else "Organization"


def add_vessel_identifiers(out: ListData, vessel, ex: Extracted) -> None:
    """Put what :func:`~watchkeeper.sanctions.identifiers.extract` found on a Vessel; keep the rest apart.

    IMO numbers whose check digit fails stay off ``imoNumber`` (FtM would drop them anyway): the raw value goes
    to ``notes`` and to the extra identifiers with ``valid = False``. Fraudulently used identifiers go to
    ``notes`` and the extra identifiers with ``fraudulent = True``, never to ``imoNumber`` / ``mmsi``.
    """
    for imo in ex.imo:
        if imo_check_ok(imo):
            vessel.add("imoNumber", imo)
        else:
            put(vessel, "notes", f"IMO number as listed: {imo} (check digit does not verify)")
            out.extra.append(ExtraIdentifier(vessel.id, "imo", imo, False, False, "check digit does not verify"))
    for mmsi in ex.mmsi:
        vessel.add("mmsi", mmsi)
    for cs in ex.callsign:
        vessel.add("callSign", cs)
    for flag in ex.former_flags:
        vessel.add("pastFlags", flag)
    for flag in ex.alt_flags:
        vessel.add("flag", flag)
    for name in ex.former_names:
        vessel.add("previousName", name)
    for name in ex.aliases:
        vessel.add("alias", name)
    for year in ex.build_year:
        vessel.add("buildDate", year)
    for t in ex.other_types:
        vessel.add("type", t)
    add_fraudulent(out, vessel, ex)


def add_fraudulent(out: ListData, entity, ex: Extracted) -> None:
    for f in ex.fraudulent:
        put(entity, "notes", f"Fraudulently used {f.kind.upper()} {f.value} (list text: \"{f.evidence}\")")
        valid = imo_check_ok(f.value) if f.kind == "imo" else True
        out.extra.append(ExtraIdentifier(entity.id, f.kind, f.value, True, valid, f.evidence))


def add_company_imo(out: ListData, entity, ex: Extracted) -> None:
    """IMO numbers in the text of a non-vessel party are IMO *company* numbers: ``imoNumber`` where the schema
    has it, else a note; the index keeps them as ``imo_company`` (never matched against ships' IMOs)."""
    for imo in ex.imo:
        if entity.schema.get("imoNumber") is not None and (company_imo_check_ok(imo) or imo_check_ok(imo)):
            entity.add("imoNumber", imo)
        else:
            put(entity, "notes", f"IMO company number as listed: {imo}")
            out.extra.append(ExtraIdentifier(entity.id, "imo_company", imo, False, company_imo_check_ok(imo)))
    add_fraudulent(out, entity, ex)


def add_sanction(out: ListData, entity, *, program: list[str] | str | None, authority: str, listing_date=None,
                 source_url: str | None = None, record_id: str | None = None, reason: str | None = None,
                 country: str | None = None):
    """A Sanction entity for ``entity`` (id ``<entity id>-sanction``), appended to ``out``."""
    s = make("Sanction", f"{entity.id}-sanction")
    # values Watchkeeper wrote itself are clean already; FtM's URL and text cleaning is slow at list scale
    put(s, "entity", entity.id)
    put(s, "program", program)
    put(s, "authority", authority)
    s.add("listingDate", listing_date)
    put(s, "sourceUrl", source_url)
    put(s, "recordId", record_id)
    put(s, "country", country)
    if reason:
        put(s, "reason", reason[:4000])
    out.entities.append(s)
    put(entity, "program", program)
    put(entity, "topics", "sanction")
    return s


def add_owner(out: ListData, vessel, owner_name: str, list_source: str, by_name: dict[str, str] | None = None):
    """An owner named in free text: the listed party of that name if there is one, else a Company stub; the link
    is the vessel's ``owner`` property and an Ownership entity."""
    key = owner_name.strip().upper()
    owner_id = (by_name or {}).get(key)
    if owner_id is None:
        owner = make(org_schema(owner_name), hashed_id(f"{list_source}-party", key))
        put(owner, "name", owner_name.strip())
        out.entities.append(owner)
        owner_id = owner.id
        if by_name is not None:
            by_name[key] = owner_id
    put(vessel, "owner", owner_id)
    own = make("Ownership", f"{vessel.id}-owner-{owner_id}")
    put(own, "owner", owner_id)
    put(own, "asset", vessel.id)
    put(own, "role", "owner")
    out.entities.append(own)


def add_link(out: ListData, subject_id: str, object_id: str, role: str) -> None:
    link = make("UnknownLink", f"{subject_id}-link-{object_id}")
    put(link, "subject", subject_id)
    put(link, "object", object_id)
    put(link, "role", role)
    out.entities.append(link)


def imo_of(value: str | None) -> str | None:
    return imo_digits(value)
