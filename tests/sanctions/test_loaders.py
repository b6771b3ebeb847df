"""Loaders on the vendored real snapshots; every expected value is read from the files by the test itself."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter

import pytest
from lxml import etree
from sanctions_helpers import CANADA, OFAC_CONS, SDN_CSV, UN_XML, sdn_rows

from watchkeeper.errors import InputError
from watchkeeper.sanctions.identifiers import imo_check_ok
from watchkeeper.sanctions.loaders import detect_format, read_list

CASES = {"ANGARA": "9179842", "LADY R": "9161003", "MAIA-1": "9358010"}


@pytest.fixture(scope="module")
def sdn():
    return read_list(SDN_CSV)[0]


@pytest.fixture(scope="module")
def un():
    return read_list(UN_XML)[0]


@pytest.fixture(scope="module")
def canada():
    return read_list(CANADA)[0]


def _by_schema(data, schema):
    return [e for e in data.entities if e.schema.name == schema]


def test_formats_are_detected_from_content():
    for path, fmt in ((SDN_CSV, "ofac_sdn_csv"), (UN_XML, "un_xml"), (OFAC_CONS, "ofac_xml"),
                      (CANADA, "canada_xml")):
        assert detect_format(gzip.decompress(path.read_bytes())) == fmt


def test_sdn_vessel_and_sanction_counts_match_the_csv(sdn):
    rows = sdn_rows()
    assert len(_by_schema(sdn, "Vessel")) == sum(r[2] == "vessel" for r in rows)
    assert len(_by_schema(sdn, "Sanction")) == len(rows)
    assert len(_by_schema(sdn, "Person")) == sum(r[2] == "individual" for r in rows)


def test_sdn_vessel_imos_are_those_of_the_remarks(sdn):
    expected = {}
    for r in sdn_rows():
        if r[2] == "vessel":
            found = re.findall(r"IMO (\d{7})", r[11])
            expected[f"ofac-{r[0]}"] = {x for x in found if imo_check_ok(x)}
    got = {e.id: {v.removeprefix("IMO") for v in e.get("imoNumber")} for e in _by_schema(sdn, "Vessel")}
    for eid, imos in expected.items():
        assert imos <= got[eid], eid
    mmsi_rows = {f"ofac-{r[0]}": re.findall(r"MMSI (\d{9})", r[11]) for r in sdn_rows() if r[2] == "vessel"}
    vessels = {e.id: e for e in _by_schema(sdn, "Vessel")}
    assert sum(bool(v) for v in mmsi_rows.values()) == sum(bool(vessels[k].get("mmsi")) for k in mmsi_rows)


@pytest.mark.parametrize("name", sorted(CASES))
def test_dprk_russia_case_ships_are_found_with_their_program(sdn, name):
    row = next(r for r in sdn_rows() if r[1] == name and r[2] == "vessel")
    vessel = next(e for e in _by_schema(sdn, "Vessel") if name in e.get("name"))
    assert vessel.get("imoNumber") == [f"IMO{CASES[name]}"]
    sanction = next(e for e in _by_schema(sdn, "Sanction") if vessel.id in e.get("entity"))
    assert sanction.get("program") == [row[3]]
    linked = re.search(r"Linked To: ([^;.]+)", row[11]).group(1)
    links = [e for e in sdn.entities if e.schema.name == "UnknownLink" and vessel.id in e.get("subject")]
    targets = {e.id: e for e in sdn.entities}
    assert any(linked in targets[lk.get("object")[0]].get("name") for lk in links)


def test_former_flags_and_names_from_remarks(sdn):
    row = next(r for r in sdn_rows() if r[2] == "vessel" and "Former Vessel Flag" in r[11] and "f.k.a." in r[11])
    vessel = next(e for e in _by_schema(sdn, "Vessel") if e.id == f"ofac-{row[0]}")
    assert len(vessel.get("pastFlags")) >= 1
    fka = re.findall(r"f\.k\.a\. '([^']+)'", row[11])
    assert set(fka) <= set(vessel.get("previousName"))


def test_company_imo_numbers_on_companies(sdn):
    row = next(r for r in sdn_rows() if "Identification Number IMO" in r[11])
    num = re.search(r"Identification Number IMO (\d{7})", row[11]).group(1)
    company = next(e for e in sdn.entities if e.id == f"ofac-{row[0]}")
    assert company.schema.name == "Company"
    assert f"IMO{num}" in company.get("imoNumber")


def test_un_dprk_entities_carry_their_company_imo(un):
    root = etree.fromstring(gzip.decompress(UN_XML.read_bytes()))
    expected = {}
    for el in root.iter("ENTITY"):
        if el.findtext("UN_LIST_TYPE") == "DPRK":
            m = re.search(r"IMO[^0-9]{0,20}(\d{7})", el.findtext("COMMENTS1") or "")
            if m:
                expected[el.findtext("REFERENCE_NUMBER").strip()] = m.group(1)
    assert expected
    by_ref = {}
    for e in un.entities:
        if e.schema.name == "Sanction":
            by_ref[e.get("recordId")[0]] = e
    ents = {e.id: e for e in un.entities}
    for ref, imo in expected.items():
        s = by_ref[ref]
        assert s.get("program") == ["DPRK"]
        ent = ents[s.get("entity")[0]]
        assert ent.schema.name != "Vessel"  # company numbers, not ships
        assert f"IMO{imo}" in ent.get("imoNumber") or any(imo in n for n in ent.get("notes"))
    assert len(un.entities) - len(_by_schema(un, "Sanction")) == len(list(root.iter("INDIVIDUAL", "ENTITY")))


def test_canada_ships_with_build_date_and_listing_date(canada):
    root = etree.fromstring(gzip.decompress(CANADA.read_bytes()))
    ships = [r for r in root.iter("record") if r.findtext("ShipIMONumber")]
    vessels = _by_schema(canada, "Vessel")
    assert len(vessels) == len(ships)
    angara = next(r for r in ships if r.findtext("ShipIMONumber") == CASES["ANGARA"])
    v = next(e for e in vessels if e.get("imoNumber") == [f"IMO{CASES['ANGARA']}"])
    assert v.get("name") == [angara.findtext("EntityOrShip")]
    assert v.get("buildDate") == [angara.findtext("DateOfBirthOrShipBuildDate")]
    s = next(e for e in canada.entities if e.schema.name == "Sanction" and v.id in e.get("entity"))
    assert s.get("listingDate") == [angara.findtext("DateOfListing")]
    assert s.get("program") == ["SEMA " + angara.findtext("Country").split(" / ")[0]]


def test_ofac_consolidated_xml(tmp_path):
    data, _ = read_list(OFAC_CONS)
    root = etree.fromstring(gzip.decompress(OFAC_CONS.read_bytes()))
    ns = {"o": root.nsmap[None]}
    entries = root.findall("o:sdnEntry", ns)
    assert data.list_source == "ofac_consolidated"
    assert len(_by_schema(data, "Sanction")) == len(entries)
    types = Counter(e.findtext("o:sdnType", namespaces=ns) for e in entries)
    assert len(_by_schema(data, "Person")) == types["Individual"]
    first = entries[0]
    s = next(e for e in data.entities if e.schema.name == "Sanction" and e.get("recordId") == [first.findtext("o:uid", namespaces=ns)])
    assert s.get("program") == [p.text for p in first.iterfind("o:programList/o:program", ns)]


SDN_XML_VESSEL = """<?xml version="1.0" standalone="yes"?>
<sdnList xmlns="https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/XML">
  <publshInformation><Publish_Date>05/03/2024</Publish_Date><Record_Count>1</Record_Count></publshInformation>
  <sdnEntry><uid>37095</uid><lastName>LADY R</lastName><sdnType>Vessel</sdnType>
    <programList><program>RUSSIA-EO14024</program></programList>
    <idList>
      <id><uid>1</uid><idType>Vessel Registration Identification</idType><idNumber>IMO 9161003</idNumber></id>
      <id><uid>2</uid><idType>MMSI</idType><idNumber>273299000</idNumber></id>
      <id><uid>3</uid><idType>Former Vessel Flag</idType><idNumber>Malta</idNumber></id>
    </idList>
    <akaList><aka><uid>4</uid><type>f.k.a.</type><category>strong</category><lastName>LADY RANIA R</lastName></aka></akaList>
    <vesselInfo><callSign>UBOX7</callSign><vesselType>Roll-on Roll-off</vesselType><vesselFlag>Russia</vesselFlag>
      <grossRegisteredTonnage>7,260</grossRegisteredTonnage></vesselInfo>
  </sdnEntry>
</sdnList>"""

ADVANCED = """<?xml version="1.0" encoding="utf-8"?>
<Sanctions xmlns="https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML">
 <ReferenceValueSets>
  <AliasTypeValues><AliasType ID="1400">A.K.A.</AliasType><AliasType ID="1401">F.K.A.</AliasType><AliasType ID="1403">Name</AliasType></AliasTypeValues>
  <PartyTypeValues><PartyType ID="4">Vessel</PartyType><PartyType ID="2">Entity</PartyType></PartyTypeValues>
  <PartySubTypeValues><PartySubType ID="1" PartyTypeID="4">Vessel</PartySubType><PartySubType ID="3" PartyTypeID="2">Unknown</PartySubType></PartySubTypeValues>
  <FeatureTypeValues><FeatureType ID="1">Vessel Call Sign</FeatureType><FeatureType ID="3">Vessel Flag</FeatureType><FeatureType ID="4">VESSEL TYPE</FeatureType><FeatureType ID="5">Former Vessel Flag</FeatureType></FeatureTypeValues>
  <DetailReferenceValues><DetailReference ID="91">Russia</DetailReference><DetailReference ID="92">Malta</DetailReference></DetailReferenceValues>
  <IDRegDocTypeValues><IDRegDocType ID="1626">Vessel Registration Identification</IDRegDocType><IDRegDocType ID="1627">MMSI</IDRegDocType></IDRegDocTypeValues>
  <SanctionsProgramValues><SanctionsProgram ID="7">RUSSIA-EO14024</SanctionsProgram></SanctionsProgramValues>
  <RelationTypeValues><RelationType ID="15003">Linked To</RelationType></RelationTypeValues>
 </ReferenceValueSets>
 <DistinctParties>
  <DistinctParty FixedRef="37059"><Profile ID="37059" PartySubTypeID="1">
   <Identity ID="9001" FixedRef="37059" Primary="true" False="false">
    <Alias FixedRef="37059" AliasTypeID="1403" Primary="true" LowQuality="false"><DocumentedName ID="1"><DocumentedNamePart><NamePartValue>ANGARA</NamePartValue></DocumentedNamePart></DocumentedName></Alias>
    <Alias FixedRef="37059" AliasTypeID="1401" Primary="false" LowQuality="false"><DocumentedName ID="2"><DocumentedNamePart><NamePartValue>HAM 1</NamePartValue></DocumentedNamePart></DocumentedName></Alias>
   </Identity>
   <Feature ID="1" FeatureTypeID="1"><FeatureVersion ID="1"><VersionDetail>UBCZ3</VersionDetail></FeatureVersion></Feature>
   <Feature ID="2" FeatureTypeID="3"><FeatureVersion ID="2"><VersionDetail DetailReferenceID="91"/></FeatureVersion></Feature>
   <Feature ID="3" FeatureTypeID="5"><FeatureVersion ID="3"><VersionDetail DetailReferenceID="92"/></FeatureVersion></Feature>
  </Profile></DistinctParty>
  <DistinctParty FixedRef="37000"><Profile ID="37000" PartySubTypeID="3">
   <Identity ID="9002" FixedRef="37000" Primary="true" False="false">
    <Alias FixedRef="37000" AliasTypeID="1403" Primary="true" LowQuality="false"><DocumentedName ID="3"><DocumentedNamePart><NamePartValue>M LEASING LLC</NamePartValue></DocumentedNamePart></DocumentedName></Alias>
   </Identity>
  </Profile></DistinctParty>
 </DistinctParties>
 <ProfileRelationships><ProfileRelationship ID="1" From-ProfileID="37059" To-ProfileID="37000" RelationTypeID="15003"/></ProfileRelationships>
 <SanctionsEntries>
  <SanctionsEntry ID="500" ProfileID="37059" ListID="1550">
   <EntryEvent ID="1" EntryEventTypeID="1"><Date><Year>2022</Year><Month>5</Month><Day>8</Day></Date></EntryEvent>
   <SanctionsMeasure ID="2" SanctionsTypeID="1"><Comment>RUSSIA-EO14024</Comment></SanctionsMeasure>
  </SanctionsEntry>
 </SanctionsEntries>
 <IDRegDocuments>
  <IDRegDocument ID="1" IDRegDocTypeID="1626" IdentityID="9001"><IDRegistrationNo>IMO 9179842</IDRegistrationNo></IDRegDocument>
  <IDRegDocument ID="2" IDRegDocTypeID="1627" IdentityID="9001"><IDRegistrationNo>273000042</IDRegistrationNo></IDRegDocument>
 </IDRegDocuments>
</Sanctions>"""


def test_ofac_sdn_xml_vessel(tmp_path):
    p = tmp_path / "sdn.xml"
    p.write_text(SDN_XML_VESSEL)
    data, _ = read_list(p)
    assert data.fmt == "ofac_xml" and data.list_source == "ofac_sdn"
    v = _by_schema(data, "Vessel")[0]
    assert v.get("imoNumber") == ["IMO9161003"] and v.get("mmsi") == ["273299000"]
    assert v.get("callSign") == ["UBOX7"] and v.get("pastFlags") == ["mt"] and v.get("flag") == ["ru"]
    assert v.get("previousName") == ["LADY RANIA R"]


def test_ofac_advanced_xml(tmp_path):
    p = tmp_path / "sdn_advanced.xml"
    p.write_text(ADVANCED)
    data, _ = read_list(p)
    assert data.fmt == "ofac_advanced_xml"
    v = _by_schema(data, "Vessel")[0]
    assert v.get("name") == ["ANGARA"] and v.get("previousName") == ["HAM 1"]
    assert v.get("imoNumber") == ["IMO9179842"] and v.get("mmsi") == ["273000042"]
    assert v.get("callSign") == ["UBCZ3"] and v.get("flag") == ["ru"] and v.get("pastFlags") == ["mt"]
    s = _by_schema(data, "Sanction")[0]
    assert s.get("program") == ["RUSSIA-EO14024"] and s.get("listingDate") == ["2022-05-08"]
    link = _by_schema(data, "UnknownLink")[0]
    assert link.get("subject") == [v.id] and link.get("role") == ["Linked To"]


def test_ftm_json_lines(tmp_path):
    p = tmp_path / "entities.ftm.json"
    lines = [{"id": "os-v1", "schema": "Vessel", "properties": {"name": ["MAIA-1"], "imoNumber": ["IMO9358010"],
                                                                "mmsi": ["273335950"]}},
             {"id": "os-s1", "schema": "Sanction", "properties": {"entity": ["os-v1"], "program": ["X"]}}]
    p.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    data, _ = read_list(p)
    assert data.fmt == "ftm_jsonl" and [e.id for e in data.entities] == ["os-v1", "os-s1"]


def test_un_fraudulent_identifier_in_comments_stays_off_the_vessel(tmp_path):
    p = tmp_path / "un.xml"
    p.write_text("""<?xml version='1.0' encoding='UTF-8'?><CONSOLIDATED_LIST><INDIVIDUALS/><ENTITIES><ENTITY>
      <DATAID>1</DATAID><FIRST_NAME>WISE HONEST</FIRST_NAME><UN_LIST_TYPE>DPRK</UN_LIST_TYPE>
      <REFERENCE_NUMBER>KPe.999</REFERENCE_NUMBER><LISTED_ON>2018-03-30</LISTED_ON>
      <COMMENTS1>Vessel. IMO number: 8905490. The vessel falsely used MMSI 445123000 and fraudulently used
      IMO 9161003 in 2018.</COMMENTS1></ENTITY></ENTITIES></CONSOLIDATED_LIST>""")
    data, _ = read_list(p)
    v = _by_schema(data, "Vessel")[0]
    assert v.get("imoNumber") == ["IMO8905490"] and v.get("mmsi") == []
    assert {(x.kind, x.value) for x in data.extra if x.fraudulent} == {("mmsi", "445123000"), ("imo", "9161003")}


@pytest.mark.parametrize("content, needle", [
    (b"hello,world\n", "not a sanctions list"), (b"<html><body/></html>", "root element <html>"),
    (b'{"a": 1}\n', "not a sanctions list"), (b"", "empty")])
def test_unknown_formats_are_input_errors(tmp_path, content, needle):
    p = tmp_path / "x.dat"
    p.write_bytes(content)
    with pytest.raises(InputError) as e:
        read_list(p)
    assert needle in str(e.value) and e.value.fix


def test_gzip_detected_by_magic_not_name(tmp_path):
    p = tmp_path / "no-extension"
    p.write_bytes(SDN_CSV.read_bytes())
    assert read_list(p)[0].fmt == "ofac_sdn_csv"
