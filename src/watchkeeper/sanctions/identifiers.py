"""Vessel identifiers: IMO check digits, MMSI and call-sign normalisation, extraction from list free text.

Sanctions lists put most vessel identifiers in prose: OFAC remarks ("Vessel Registration Identification IMO
9179842; MMSI 273382620; Former Vessel Flag Malta; f.k.a. 'ALPHA'; Linked To: ..."), UN comments ("IMO number:
5571322", "formerly known as ..."). :func:`extract` turns such text into an :class:`Extracted` record.

An identifier the list says is *used fraudulently* ("falsely uses IMO ...", "fraudulently using MMSI ...",
"spoofed MMSI ...") is never returned as the vessel's own: it goes to :attr:`Extracted.fraudulent` with the
phrase that says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The words that mark an identifier as not the vessel's own. Looked for in the same clause, shortly before the
# identifier ("falsely used IMO 1234567") or right after it ("MMSI 123456789 (spoofed)").
_FRAUD = re.compile(r"\b(falsely|fraudulent(ly)?|spoof(s|ed|ing)?|fake|false|bogus|counterfeit|"
                    r"misrepresent(s|ed|ing)?|stolen|hijack(s|ed|ing)?|not (its|the vessel's) own)\b", re.IGNORECASE)
_FRAUD_BEFORE_CHARS = 60
_FRAUD_AFTER_CHARS = 25
_CLAUSE_END = re.compile(r";|\.\s|\n")

_IMO = re.compile(r"\b(?:IMO|International Maritime Organi[sz]ation(?:\s*\(IMO\))?|Vessel Registration "
                  r"Identification)(?:\s*(?:number|no\.?|#|identification))?[\s:#.-]*(?:IMO\s*)?(\d{7})\b", re.IGNORECASE)
_MMSI = re.compile(r"\bMMSI(?:\s*(?:number|no\.?|#))?[\s:#.-]*(\d{9})\b", re.IGNORECASE)
_CALLSIGN = re.compile(r"\bcall\s*sign[\s:#.-]*([A-Z0-9]{3,9})\b", re.IGNORECASE)
_FORMER_FLAG = re.compile(r"\bFormer Vessel Flag\s+([^;.]+)", re.IGNORECASE)
_ALT_FLAG = re.compile(r"\balt\.\s+Vessel Flag\s+([^;.]+)", re.IGNORECASE)
_BUILD = re.compile(r"\b(?:Vessel Year of Build|built(?: in)?)\s+((?:19|20)\d\d)\b", re.IGNORECASE)
_OTHER_TYPE = re.compile(r"\bOther Vessel Type\s+([^;]+)", re.IGNORECASE)
_FKA = re.compile(r"\b(?:f\.k\.a\.|formerly known as|former(?:ly)? named|previously named)\s*[:]?\s*"
                  r"(?:'([^']+)'|\"([^\"]+)\"|([A-Z0-9][A-Z0-9 .-]*[A-Z0-9]))", re.IGNORECASE)
_AKA = re.compile(r"\ba\.k\.a\.\s*'([^']+)'", re.IGNORECASE)
_LINKED = re.compile(r"\bLinked To:\s*([^;]+)", re.IGNORECASE)
_NONE_FLAGS = {"NONE IDENTIFIED", "UNKNOWN", "NONE"}


@dataclass
class Fraudulent:
    """An identifier that the list says is used fraudulently, with the words that say so."""

    kind: str  # 'imo' or 'mmsi'
    value: str
    evidence: str


@dataclass
class Extracted:
    """Identifiers and facts found in one free-text field."""

    imo: list[str] = field(default_factory=list)
    mmsi: list[str] = field(default_factory=list)
    callsign: list[str] = field(default_factory=list)
    former_flags: list[str] = field(default_factory=list)
    alt_flags: list[str] = field(default_factory=list)
    former_names: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    build_year: list[str] = field(default_factory=list)
    other_types: list[str] = field(default_factory=list)
    linked_to: list[str] = field(default_factory=list)
    fraudulent: list[Fraudulent] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------ IMO numbers
def imo_digits(value: object) -> str | None:
    """The seven digits of an IMO number written as ``9179842``, ``IMO 9179842`` or ``IMO9179842``; else None."""
    if value is None:
        return None
    text = re.sub(r"^\s*IMO[\s:#-]*", "", str(value).strip(), flags=re.IGNORECASE)
    text = text.strip()
    if text.isdigit() and 0 < len(text) <= 7:
        text = text.zfill(7)
        return text if text != "0000000" else None
    return None


def imo_check_ok(value: object) -> bool:
    """Whether a ship IMO number's check digit is right: sum of digits 1-6 times 7,6,5,4,3,2, mod 10 == digit 7.

    >>> imo_check_ok("9179842"), imo_check_ok("9179843")
    (True, False)
    """
    d = imo_digits(value)
    if d is None:
        return False
    return sum(int(c) * w for c, w in zip(d[:6], (7, 6, 5, 4, 3, 2))) % 10 == int(d[6])


def company_imo_check_ok(value: object) -> bool:
    """Check digit of an IMO *company* (registered owner) number: weights 8,6,4,2,9,7; (11 - sum mod 11) mod 10."""
    d = imo_digits(value)
    if d is None:
        return False
    s = sum(int(c) * w for c, w in zip(d[:6], (8, 6, 4, 2, 9, 7)))
    return (11 - s % 11) % 10 == int(d[6])


def mmsi_digits(value: object) -> str | None:
    """A nine-digit MMSI as text, or None."""
    if value is None:
        return None
    text = str(value).strip()
    return text if text.isdigit() and len(text) == 9 else None


def callsign_norm(value: object) -> str | None:
    """Upper-case call sign with everything but letters and digits removed; None when fewer than 3 remain."""
    if value is None:
        return None
    text = re.sub(r"[^A-Z0-9]", "", str(value).upper())
    return text if len(text) >= 3 else None


# ------------------------------------------------------------------------------------------------ free text
def _fraud_evidence(text: str, start: int, end: int) -> str | None:
    clause_start = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
    before = text[max(clause_start, start - _FRAUD_BEFORE_CHARS):start]
    after_end = end + _FRAUD_AFTER_CHARS
    m_end = _CLAUSE_END.search(text, end)
    if m_end is not None:
        after_end = min(after_end, m_end.start())
    after = text[end:after_end]
    if _FRAUD.search(before) or _FRAUD.search(after):
        return " ".join(text[max(clause_start, start - _FRAUD_BEFORE_CHARS):after_end].split())
    return None


def _add(seq: list[str], value: str | None) -> None:
    if value and value not in seq:
        seq.append(value)


def extract(text: str | None) -> Extracted:
    """Identifiers and vessel facts in one free-text field (OFAC remarks, UN comments).

    Parameters
    ----------
    text : str or None
        The remark. None or empty gives an empty :class:`Extracted`.

    Returns
    -------
    Extracted
        IMO numbers are returned as found (seven digits, check digit *not* enforced: the caller keeps invalid
        ones apart); identifiers named as fraudulently used are in ``fraudulent`` only.
    """
    out = Extracted()
    if not text:
        return out
    for kind, rx, norm in (("imo", _IMO, imo_digits), ("mmsi", _MMSI, mmsi_digits)):
        for m in rx.finditer(text):
            value = norm(m.group(1))
            if value is None:
                continue
            evidence = _fraud_evidence(text, m.start(), m.end())
            if evidence:
                if not any(f.kind == kind and f.value == value for f in out.fraudulent):
                    out.fraudulent.append(Fraudulent(kind, value, evidence))
            else:
                _add(getattr(out, kind), value)
    for m in _CALLSIGN.finditer(text):
        _add(out.callsign, callsign_norm(m.group(1)))
    for rx, seq in ((_FORMER_FLAG, out.former_flags), (_ALT_FLAG, out.alt_flags)):
        for m in rx.finditer(text):
            flag = m.group(1).strip()
            if flag.upper() not in _NONE_FLAGS:
                _add(seq, flag)
    for m in _BUILD.finditer(text):
        _add(out.build_year, m.group(1))
    for m in _OTHER_TYPE.finditer(text):
        _add(out.other_types, m.group(1).strip().rstrip("."))
    for m in _FKA.finditer(text):
        _add(out.former_names, (m.group(1) or m.group(2) or m.group(3)).strip())
    for m in _AKA.finditer(text):
        _add(out.aliases, m.group(1).strip())
    for m in _LINKED.finditer(text):
        _add(out.linked_to, m.group(1).strip().rstrip("."))
    # an identifier that is both named as own and as fraudulent elsewhere in the text stays fraudulent only
    for f in out.fraudulent:
        seq = out.imo if f.kind == "imo" else out.mmsi
        if f.value in seq:
            seq.remove(f.value)
    return out
