"""Vessel name normalisation: the form names are compared in, and the tokens used to block comparisons.

``normalise_name("M/V Lady-R")`` → ``"LADY R"``; ``normalise_name("Балтийский III")`` → ``"BALTIJSKIJ 3"``.
Steps: transliteration to ASCII (``normality.ascii_text``), upper case, punctuation to spaces, letters and digits
split ("MAIA1" → "MAIA 1"), leading type prefixes removed (M/V, MV, M.V., M/T, MT, S/S, SS, F/V, TANKER, ...),
Roman numerals I-XXX turned into Arabic ones, spaces collapsed.
"""

from __future__ import annotations

import re
from functools import lru_cache

from normality import ascii_text

# Leading words that say what kind of ship it is, not which one (after punctuation became spaces: "M/V" → "M V").
_PREFIXES = [("M", "V"), ("M", "T"), ("S", "S"), ("F", "V"), ("M", "Y"), ("M", "S"), ("R", "V"), ("S", "V"),
             ("MV",), ("MT",), ("SS",), ("FV",), ("MY",), ("MS",), ("RV",), ("TANKER",), ("VESSEL",), ("SHIP",),
             ("MOTOR", "VESSEL"), ("MOTOR", "TANKER"), ("OIL", "TANKER"), ("TUG",), ("THE",)]
_PREFIXES.sort(key=len, reverse=True)
_ROMAN = {r: str(i) for i, r in enumerate(
    ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV", "XVI",
     "XVII", "XVIII", "XIX", "XX", "XXI", "XXII", "XXIII", "XXIV", "XXV", "XXVI", "XXVII", "XXVIII", "XXIX",
     "XXX"]) if r}
# Tokens too common among ship names to narrow a block; a name made of nothing else still blocks on its full form.
STOP_TOKENS = frozenset({"SEA", "STAR", "OCEAN", "OF", "DE", "LA", "EL", "AL", "NO", "NEW", "GLORY", "LUCKY",
                         "GOLDEN", "KING", "QUEEN", "ROYAL", "PACIFIC", "ATLANTIC", "GREAT", "BLUE", "SUN"})
_NON_ALNUM = re.compile(r"[^A-Z0-9]+")
_LETTER_DIGIT = re.compile(r"(?<=[A-Z])(?=\d)|(?<=\d)(?=[A-Z])")


@lru_cache(maxsize=1 << 18)
def normalise_name(name: str | None) -> str | None:
    """The comparable form of a vessel name, or None when nothing is left.

    >>> normalise_name("M/V LADY-R"), normalise_name("Sparta IV"), normalise_name("MT. Sam Ma 2")
    ('LADY R', 'SPARTA 4', 'SAM MA 2')
    """
    if not name:
        return None
    text = ascii_text(str(name)) or ""
    text = _NON_ALNUM.sub(" ", text.upper())
    text = _LETTER_DIGIT.sub(" ", text)
    tokens = text.split()
    stripped = True
    while stripped and len(tokens) > 1:
        stripped = False
        for p in _PREFIXES:
            if len(tokens) > len(p) and tuple(tokens[:len(p)]) == p:
                tokens = tokens[len(p):]
                stripped = True
                break
    tokens = [_ROMAN.get(t, t) if i > 0 else t for i, t in enumerate(tokens)]
    return " ".join(tokens) or None


def name_tokens(norm: str | None) -> list[str]:
    """Block keys of a normalised name: its words of 3+ letters that are not :data:`STOP_TOKENS`, plus the
    whole name without spaces (so "LADYR" and "LADY R" meet)."""
    if not norm:
        return []
    keys = [t for t in norm.split() if len(t) >= 3 and not t.isdigit() and t not in STOP_TOKENS]
    keys.append("=" + norm.replace(" ", ""))
    return list(dict.fromkeys(keys))
