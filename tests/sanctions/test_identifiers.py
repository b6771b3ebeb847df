"""IMO check digits, identifier extraction from list text (fraudulent use kept apart), name normalisation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.sanctions.identifiers import (
    callsign_norm,
    company_imo_check_ok,
    extract,
    imo_check_ok,
)
from watchkeeper.sanctions.names import name_tokens, normalise_name


@pytest.mark.parametrize("imo", ["9179842", "9161003", "9358010", "9743033", "IMO 9187629", "IMO9617923"])
def test_real_imo_numbers_verify(imo):
    assert imo_check_ok(imo)


@given(st.integers(100_000, 999_999))
def test_exactly_one_check_digit_verifies(first6):
    digits = str(first6)
    ok = [d for d in range(10) if imo_check_ok(f"{digits}{d}")]
    expected = sum(int(c) * w for c, w in zip(digits, (7, 6, 5, 4, 3, 2))) % 10
    assert ok == [expected]


@pytest.mark.parametrize("bad", ["9179843", "917984", "91798420", "", None, "IMO", "abcdefg", "0000000"])
def test_bad_imo_numbers_fail(bad):
    # "917984" is read as 0917984 (leading zero dropped), whose check digit fails
    assert not imo_check_ok(bad)


def test_company_imo_check_digit():
    # UN / OFAC company numbers (Ocean Maritime Management, Chongchongang Shipping)
    assert company_imo_check_ok("1790183") and company_imo_check_ok("5342883")
    assert not company_imo_check_ok("5342884")


def test_ofac_remark_is_split_into_identifiers():
    ex = extract("Former Vessel Flag Malta; alt. Former Vessel Flag Tuvalu; alt. Former Vessel Flag None "
                 "Identified; Additional Sanctions Information - Subject to Secondary Sanctions; Vessel Registration "
                 "Identification IMO 9187629; MMSI 572469210; f.k.a. 'ALPHA'; alt. Vessel Flag Panama; "
                 "Vessel Year of Build 1999; Linked To: NATIONAL IRANIAN TANKER COMPANY.")
    assert ex.imo == ["9187629"] and ex.mmsi == ["572469210"]
    assert ex.former_flags == ["Malta", "Tuvalu"]
    assert ex.alt_flags == ["Panama"] and ex.build_year == ["1999"]
    assert ex.former_names == ["ALPHA"] and ex.linked_to == ["NATIONAL IRANIAN TANKER COMPANY"]
    assert ex.fraudulent == []


def test_un_comment_forms():
    ex = extract("Registered owner of the DPRK tanker NAM SAN 8. IMO number: 5787684. International Maritime "
                 "Organization (IMO) Number: 1790183. The vessel, formerly known as 'RYE SONG GANG 1', uses "
                 "MMSI 445123456.")
    assert ex.imo == ["5787684", "1790183"]
    assert ex.mmsi == ["445123456"]
    assert ex.former_names == ["RYE SONG GANG 1"]


@pytest.mark.parametrize("text, kind, value", [
    ("The vessel falsely uses IMO 9179842 while at sea.", "imo", "9179842"),
    ("It was observed fraudulently using MMSI 273123456.", "mmsi", "273123456"),
    ("Broadcast a spoofed MMSI 412345678 near Nampo.", "mmsi", "412345678"),
    ("Transmitted MMSI 412345678 (spoofed) in March 2018.", "mmsi", "412345678"),
    ("Falsely used the IMO number 9161003 of another ship.", "imo", "9161003"),
])
def test_fraudulent_identifiers_are_kept_apart(text, kind, value):
    ex = extract(text)
    assert [(f.kind, f.value) for f in ex.fraudulent] == [(kind, value)]
    assert value not in ex.imo and value not in ex.mmsi
    assert value in ex.fraudulent[0].evidence


def test_own_and_fraudulent_identifiers_in_one_text():
    ex = extract("Vessel Registration Identification IMO 9358010; the vessel falsely used IMO 9179842; "
                 "MMSI 273111111.")
    assert ex.imo == ["9358010"] and ex.mmsi == ["273111111"]
    assert [(f.kind, f.value) for f in ex.fraudulent] == [("imo", "9179842")]


@pytest.mark.parametrize("raw, norm", [
    ("M/V LADY-R", "LADY R"), ("MV Lady R", "LADY R"), ("M.V. LADY R", "LADY R"), ("m/t  sam ma 2", "SAM MA 2"),
    ("S/S ARK III", "ARK 3"), ("SS Ark 3", "ARK 3"), ("F/V Sparta IV", "SPARTA 4"), ("TANKER YU JONG 2", "YU JONG 2"),
    ("MAIA-1", "MAIA 1"), ("Maia1", "MAIA 1"), ("Балтийский III", "BALTIJSKIJ 3"), ("Ñandú", "NANDU"),
    ("  angara  ", "ANGARA"), ("", None), ("---", None),
])
def test_name_normalisation(raw, norm):
    assert normalise_name(raw) == norm


def test_prefix_alone_is_a_name_not_stripped():
    assert normalise_name("TANKER") == "TANKER"
    assert normalise_name("V") == "V"  # a lone roman-looking first word stays


def test_name_tokens_block_on_rare_words_and_whole_name():
    assert name_tokens("LADY R") == ["LADY", "=LADYR"]
    assert "SEA" not in name_tokens("SEA STAR 7")
    assert name_tokens(None) == []


def test_callsign_norm():
    assert callsign_norm(" ub-bo 9 ") == "UBBO9" and callsign_norm("@@") is None
