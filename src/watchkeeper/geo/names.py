"""Normalised place names and UN/LOCODEs, shared by the gazetteer and the tool that builds it."""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = re.compile(r"['’‘`ʼʻ´]")
_NOT_WORD = re.compile(r"[\W_]+")


def normalize_name(name: str) -> str:
    """Fold a place name for matching: no case, diacritics, apostrophes or punctuation.

    ``"Ch'ongjin"`` and ``"CHONGJIN"`` both become ``"chongjin"``; ``"Pos'yet"`` becomes ``"posyet"``;
    ``"Rajin (Najin)"`` becomes ``"rajin najin"``. Letters of other scripts are kept (``"Дунай"`` becomes
    ``"дунаи"``). Transliteration variants (Vostochny / Vostochnyy) are not
    folded: the gazetteer lists them as alternative names instead.
    """
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _APOSTROPHES.sub("", text)
    return _NOT_WORD.sub(" ", text).strip()


def normalize_locode(code: str) -> str:
    """``"KP RJN"``, ``"kp-rjn"`` and ``"KPRJN"`` all become ``"KPRJN"``; anything else becomes ``""``."""
    text = re.sub(r"[\s\-]", "", code or "").upper()
    return text if re.fullmatch(r"[A-Z]{2}[A-Z2-9]{3}", text) else ""
