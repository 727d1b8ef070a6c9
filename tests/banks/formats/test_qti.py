import io
import struct
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import exam.banks.formats as registry
from exam.banks.formats import detect_format, qti
from exam.banks.interchange import BankDocument, ElementNode, ItemData, OptionData

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16

UNREADABLE = "The file could not be read."


def located(problems):
    return [(p.location, p.message) for p in problems]


def manifest(*resources: tuple[str, list[str]]) -> bytes:
    """A manifest listing item resources: (item href, other files)."""
    entries = "".join(
        f'<resource identifier="r{i}" type="imsqti_item_xmlv2p1" href="{href}">'
        + "".join(f'<file href="{f}"/>' for f in [href, *files]) + "</resource>"
        for i, (href, files) in enumerate(resources))
    return (f'<?xml version="1.0"?><manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" '
            f'identifier="m"><organizations/><resources>{entries}</resources></manifest>').encode()


def package(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


SIMPLE_ITEM = """<?xml version="1.0" encoding="UTF-8"?>
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="q1" title="t"
    adaptive="false" timeDependent="false">
  <responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">
    <correctResponse><value>B</value></correctResponse>
  </responseDeclaration>
  <itemBody>
    <p><img src="../images/circuit.png" alt=""/></p>
    <choiceInteraction responseIdentifier="RESPONSE" shuffle="true" maxChoices="1">
      <prompt>电流的单位是 &lt;?&gt;</prompt>
      <simpleChoice identifier="A">伏特</simpleChoice>
      <simpleChoice identifier="B">安培</simpleChoice>
      <simpleChoice identifier="C" fixed="true">以上都不对</simpleChoice>
    </choiceInteraction>
  </itemBody>
  <responseProcessing template="http://www.imsglobal.org/question/qti_v2p1/rptemplates/match_correct"/>
</assessmentItem>""".encode("utf-8")


# --- other systems' items ----------------------------------------------------------------------------
def test_single_choice_item(conformance):
    doc = qti.parse(conformance("qti21/choice.xml"), "choice.xml")
    (item,) = doc.items
    assert doc.problems == []
    assert (item.type, item.answer, item.points, item.external_id) == ("single", "A", Decimal("1"), "choice")
    assert item.stem == "Look at the text in the picture.\nWhat does it say?"
    assert [o.text for o in item.options] == ["You must stay with your luggage at all times.",
                                              "Do not let someone else look after your luggage.",
                                              "Remember your luggage when you leave."]
    assert located(doc.warnings) == [("item choice", "An image of the stem was left out.")]


def test_multiple_response_item_with_a_score_mapping(conformance):
    doc = qti.parse(conformance("qti21/choice_multiple.xml"), "choice_multiple.xml")
    (item,) = doc.items
    assert (item.type, item.answer, item.config, item.points) == (
        "multiple", ["A", "D"], {"scoring": "partial"}, Decimal("2"))
    assert [o.text for o in item.options] == ["Hydrogen", "Helium", "Carbon", "Oxygen", "Nitrogen", "Chlorine"]
    assert item.stem == "Which of the following elements are used to form water?"
    assert doc.problems == doc.warnings == []


def test_text_entry_item(conformance):
    doc = qti.parse(conformance("qti21/text_entry.xml"), "text_entry.xml")
    (item,) = doc.items
    assert item.type == "fill_blank"
    assert item.stem == ("Identify the missing word in this famous quote from Shakespeare's Richard III.\n"
                         "Now is the winter of our discontent\n"
                         "Made glorious summer by this sun of [[1]];\n"
                         "And all the clouds that lour'd upon our house\n"
                         "In the deep bosom of the ocean buried.")
    assert (item.answer, item.config) == ([["York"]], {"case_sensitive": True})
    assert located(doc.warnings) == [("item textEntry", "Answers with partial credit were left out: "
                                                        "a blank accepts only fully right answers.")]


def test_extended_text_item(conformance):
    doc = qti.parse(conformance("qti21/extended_text.xml"), "extended_text.xml")
    (item,) = doc.items
    assert (item.type, item.answer) == ("short_answer", None)
    assert item.stem.startswith("Read this postcard from your English pen-friend, Sam.\n"
                                "Here is a postcard of my town. Please send me\n")
    assert item.stem.endswith("Sam.\nWrite Sam a postcard. Answer the questions. Write 25-35 words.")


@pytest.mark.parametrize("name, interaction", [("order", "orderInteraction"), ("match", "matchInteraction")])
def test_order_and_match_are_reported_by_interaction_name(conformance, name, interaction):
    doc = qti.parse(conformance(f"qti21/{name}.xml"), f"{name}.xml")
    assert doc.items == [] and doc.problems == []
    assert located(doc.unsupported) == [(f"item {name}", f"question type “{interaction}” is not supported")]


def test_package_of_the_sample_items(conformance):
    names = ["choice", "choice_multiple", "text_entry", "extended_text", "order", "match"]
    members = {f"items/{n}.xml": conformance(f"qti21/{n}.xml") for n in names}
    members["imsmanifest.xml"] = manifest(*[(f"items/{n}.xml", []) for n in names])
    doc = qti.parse(package(members), "bank.zip")
    assert [i.type for i in doc.items] == ["single", "multiple", "fill_blank", "short_answer"]
    assert [p.location for p in doc.unsupported] == ["item order (items/order.xml)", "item match (items/match.xml)"]
    assert doc.problems == []


# --- packages ----------------------------------------------------------------------------------------
def test_package_reads_only_what_the_manifest_names_and_the_stem_image():
    data = package({"imsmanifest.xml": manifest(("items/q1.xml", ["images/circuit.png"])),
                    "items/q1.xml": SIMPLE_ITEM, "images/circuit.png": PNG,
                    "items/secret.xml": SIMPLE_ITEM.replace(b'"q1"', b'"secret"')})
    doc = qti.parse(data, "bank.zip")
    assert doc.problems == doc.warnings == []
    (item,) = doc.items
    assert (item.external_id, item.answer, item.stem) == ("q1", "B", "电流的单位是 <?>")
    assert [(o.text, o.pin_last) for o in item.options] == [("伏特", False), ("安培", False), ("以上都不对", True)]
    assert item.stem_image == ("image/png", PNG)


def test_an_image_the_manifest_does_not_list_is_not_read():
    data = package({"imsmanifest.xml": manifest(("items/q1.xml", [])),
                    "items/q1.xml": SIMPLE_ITEM, "images/circuit.png": PNG})
    doc = qti.parse(data, "bank.zip")
    assert doc.items[0].stem_image is None
    assert [p.message for p in doc.warnings] == ["An image of the stem was left out."]


def test_zip_slip_and_absolute_names_are_refused():
    for name in ("../evil.xml", "/etc/evil.xml", "items/../../evil.xml", "C:/evil.xml"):
        data = package({"imsmanifest.xml": manifest(("items/q1.xml", [])), "items/q1.xml": SIMPLE_ITEM,
                        name: SIMPLE_ITEM})
        doc = qti.parse(data, "bank.zip")
        assert doc.items == []
        assert located(doc.problems) == [(name, "A member name is an absolute path or climbs out with "
                                                "“..”; the package is refused.")]


def test_manifest_pointing_outside_the_package_is_refused():
    data = package({"imsmanifest.xml": manifest(("../outside.xml", [])), "items/q1.xml": SIMPLE_ITEM})
    doc = qti.parse(data, "bank.zip")
    assert doc.items == []
    assert located(doc.problems) == [
        ("imsmanifest.xml", "The manifest names “../outside.xml”, which is outside the package."),
        ("imsmanifest.xml", "The manifest lists no QTI items.")]


def test_huge_member_is_refused_before_reading():
    data = package({"imsmanifest.xml": manifest(("items/q1.xml", [])), "items/q1.xml": SIMPLE_ITEM,
                    "big.bin": b"\0" * (registry.MAX_MEMBER_BYTES + 1)})
    assert len(data) < 100_000  # a small upload that would unpack to more than the limit
    doc = qti.parse(data, "bank.zip")
    assert doc.items == []
    assert located(doc.problems) == [("big.bin", "This member is larger than 20 MB.")]


def test_zip_bomb_total_and_member_count_are_refused(monkeypatch):
    data = package({"imsmanifest.xml": manifest(("items/q1.xml", [])), "items/q1.xml": SIMPLE_ITEM,
                    **{f"pad{i}.bin": b"\0" * 4000 for i in range(5)}})
    monkeypatch.setattr(registry, "MAX_UNZIPPED_BYTES", 10_000)
    doc = qti.parse(data, "bank.zip")
    assert doc.items == [] and [p.message for p in doc.problems] == ["The package unpacks to more than 0 MB."]
    monkeypatch.setattr(registry, "MAX_UNZIPPED_BYTES", 10_000_000)
    monkeypatch.setattr(registry, "MAX_MEMBERS", 3)
    doc = qti.parse(data, "bank.zip")
    assert doc.items == [] and [p.message for p in doc.problems] == ["The package has more than 3 members."]


def test_a_member_that_lies_about_its_size_is_not_trusted():
    data = bytearray(package({"imsmanifest.xml": manifest(("items/q1.xml", [])),
                              "items/q1.xml": SIMPLE_ITEM + b" " * 100_000}))
    # claim 200 bytes for the item, in both the local header and the central directory
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            name_length = struct.unpack_from("<H", data, start + (26 if signature == b"PK\x03\x04" else 28))[0]
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if bytes(data[name_at:name_at + name_length]) == b"items/q1.xml":
                struct.pack_into("<I", data, start + offset, 200)
            start += 4
    doc = qti.parse(bytes(data), "bank.zip")
    assert doc.items == []
    assert located(doc.problems) == [("items/q1.xml", "This member of the package is damaged or encrypted.")]


def test_xml_bomb_inside_a_package_is_refused():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<assessmentItem>&b;</assessmentItem>")
    doc = qti.parse(package({"imsmanifest.xml": manifest(("q.xml", [])), "q.xml": bomb}), "bank.zip")
    assert doc.items == []
    assert located(doc.problems) == [("q.xml", "The XML declares entities or external references, "
                                               "which are refused for safety.")]


def test_not_a_package_or_not_an_item():
    assert [p.message for p in qti.parse(b"PK\x03\x04garbage", "x.zip").problems] == [
        "The file is not a valid zip package."]
    assert [p.message for p in qti.parse(package({"a.xml": SIMPLE_ITEM}), "x.zip").problems] == [
        "The package has no imsmanifest.xml."]
    assert [p.message for p in qti.parse(b"<assessmentTest identifier='t'/>", "t.xml").problems] == [
        "This is an assessment test, not an item: upload a package with its items."]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | st.text(alphabet="<>/=\"' assessmentItemBodychoiceInteraction\n", max_size=300)
       .map(lambda t: ("<assessmentItem>" + t).encode()) | st.binary(max_size=200).map(lambda b: b"PK" + b))
def test_parse_never_raises(data):
    doc = qti.parse(data, "x")
    assert isinstance(doc, BankDocument)
    assert UNREADABLE not in [p.message for p in doc.problems]  # handled, not caught as a crash


# --- writing -----------------------------------------------------------------------------------------
def test_export_package_layout_and_metadata():
    doc = BankDocument(
        elements=[ElementNode("1", "电工基础", children=[ElementNode("1.1", "电流", importance="X")])],
        items=[ItemData("true_false", "电工作业必须持证。", answer=True, point_code="1.1", difficulty=4,
                        external_id="题-1", points=Decimal("0.5")),
               ItemData("multiple", "选", [OptionData("A", "甲"), OptionData("B", "乙"), OptionData("C", "丙")],
                        ["A", "C"], config={"scoring": "partial"}, external_id="Q2")])
    data = qti.export(doc)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == ["items/item-1.xml", "items/item-2.xml", "imsmanifest.xml"]
        first = ET.fromstring(zf.read("items/item-1.xml"))
        second = ET.fromstring(zf.read("items/item-2.xml"))
        lom_text = zf.read("imsmanifest.xml").decode("utf-8")
    ns = {"q": qti.QTI_NS}
    interaction = first.find("q:itemBody/q:choiceInteraction", ns)
    assert interaction.get("class") == "true-false"
    assert [c.get("identifier") for c in interaction.findall("q:simpleChoice", ns)] == ["true", "false"]
    assert first.get("identifier") == "item-1"  # 题-1 is not a QTI identifier: it goes in the metadata
    assert first.find("q:outcomeDeclaration[@identifier='MAXSCORE']/q:defaultValue/q:value", ns).text == "0.5"
    assert second.get("identifier") == "Q2"
    mapping = second.find("q:responseDeclaration/q:mapping", ns)
    assert (mapping.get("lowerBound"), mapping.get("upperBound"), mapping.get("defaultValue")) == ("0", "2", "-2")
    for fragment in ("<imsmd:value>difficult</imsmd:value>", "<imsmd:id>1.1</imsmd:id>",
                     '<imsmd:string language="zh">电流</imsmd:string>', "<imsmd:entry>题-1</imsmd:entry>"):
        assert fragment in lom_text
    back = qti.parse(data, "bank.zip")
    assert [(i.type, i.answer, i.point_code, i.difficulty, i.external_id) for i in back.items] == [
        ("true_false", True, "1.1", 4, "题-1"), ("multiple", ["A", "C"], None, None, "Q2")]


def test_sniffing():
    from exam.banks.formats import moodle_xml  # noqa: F401 (registers Moodle XML, which also reads .xml)

    assert detect_format(SIMPLE_ITEM, "item.xml") == "qti"
    assert detect_format(package({"imsmanifest.xml": manifest()}), "bank.zip") == "qti"
    assert not qti.sniff(package({"[Content_Types].xml": b"<Types/>"}))
