import base64
import xml.etree.ElementTree as ET
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from exam.banks.formats import detect_format, moodle_xml
from exam.banks.interchange import BankDocument, ElementNode, ItemData, OptionData

UNREADABLE = "The file could not be read."


def quiz(*questions: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n' + "\n".join(questions)
            + "\n</quiz>\n").encode("utf-8")


def question(kind: str, body: str, text: str = "题干", fmt: str = "html") -> str:
    return (f'<question type="{kind}"><name><text>n</text></name>'
            f'<questiontext format="{fmt}"><text><![CDATA[{text}]]></text></questiontext>{body}</question>')


def answer(fraction, text: str) -> str:
    return f'<answer fraction="{fraction}" format="html"><text><![CDATA[{text}]]></text></answer>'


def located(problems):
    return [(p.location, p.message) for p in problems]


# --- Moodle's own files ------------------------------------------------------------------------------
def test_nested_categories_fixture(conformance):
    doc = moodle_xml.parse(conformance("moodle-xml/nested_categories_with_questions.xml"), "q.xml")
    assert doc.problems == doc.unsupported == doc.warnings == []
    assert [(i.type, i.stem, i.category_path) for i in doc.items] == [
        ("true_false", "Testing Iota Question", ["Iota"]),
        ("short_answer", "Testing Kappa Essay Question", ["Iota", "Kappa"]),
        ("true_false", "Testing Kappa Question", ["Iota", "Kappa"]),
        ("true_false", "Testing Lambda Question", ["Iota", "Kappa", "Lambda"]),
        ("true_false", "Testing Mu Question", ["Iota", "Mu"]),
    ]
    assert all(i.points == Decimal("1") and i.external_id is None for i in doc.items)
    assert [i.answer for i in doc.items] == [True, None, True, True, True]
    assert doc.items[0].location == "question 1 (line 15)"


def test_categories_in_reverse_order_fixture(conformance):
    doc = moodle_xml.parse(conformance("moodle-xml/categories_reverse_order.xml"), "q.xml")
    assert doc.problems == []
    essay, short = doc.items
    assert (essay.type, essay.category_path) == ("short_answer", ["Sigma", "Tau"])
    assert (short.type, short.stem, short.answer, short.category_path) == (
        "fill_blank", "Testing Sigma Question [[1]]", [["yes"]], ["Sigma"])
    assert short.config == {}


def test_category_with_description_fixture(conformance):
    doc = moodle_xml.parse(conformance("moodle-xml/category_with_description.xml"), "q.xml")
    (item,) = doc.items
    assert (item.type, item.stem, item.answer, item.category_path) == (
        "true_false", "Testing Alpha Question", True, ["Alpha"])


def test_html_characters_in_idnumbers_are_data(conformance):
    doc = moodle_xml.parse(conformance("moodle-xml/html_chars_in_idnumbers.xml"), "q.xml")
    (item,) = doc.items
    assert item.external_id == "T & F" and item.category_path == ["Alpha"]


def test_invalid_grades_are_reported_not_imported(conformance):
    doc = moodle_xml.parse(conformance("moodle-xml/error_invalid_grades.xml"), "q.xml")
    assert doc.items == []
    assert located(doc.problems) == [(
        "question 1 (line 4)",
        "Answer 2 has the grade 33%, which Moodle does not allow (100, 90, 83.33333, 80, 75 … 5, 0 "
        "or their negatives).")]


# --- hostile files -----------------------------------------------------------------------------------
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<quiz><question type="essay"><questiontext><text>&lol3;</text></questiontext></question></quiz>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<quiz><question type="essay"><questiontext><text>&secret;</text></questiontext></question></quiz>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE quiz SYSTEM "http://attacker.invalid/evil.dtd">
<quiz><question type="essay"><questiontext><text>&evil;</text></questiontext></question></quiz>"""


def test_xml_bombs_and_external_entities_are_refused():
    for data in (BILLION_LAUGHS, EXTERNAL_ENTITY):
        doc = moodle_xml.parse(data, "q.xml")
        assert doc.items == []
        assert [p.message for p in doc.problems] == [
            "The XML declares entities or external references, which are refused for safety."]
    # an external DTD is never fetched; its entity stays undefined
    doc = moodle_xml.parse(EXTERNAL_DTD, "q.xml")
    assert doc.items == [] and len(doc.problems) == 1


def test_broken_xml_is_located():
    doc = moodle_xml.parse(b"<quiz>\n<question type='essay'>\n</quiz>", "q.xml")
    assert located(doc.problems) == [("line 3", "The file is not well-formed XML.")]
    doc = moodle_xml.parse(b"<html><body/></html>", "q.xml")
    assert [p.message for p in doc.problems] == ["This is not Moodle XML: the file must start with <quiz>."]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | st.text(alphabet="<>/quiz questiontype=\"&;![]CDATA{}:~#\n", max_size=300)
       .map(lambda t: ("<quiz>" + t).encode()))
def test_parse_never_raises(data):
    doc = moodle_xml.parse(data, "x.xml")
    assert isinstance(doc, BankDocument)
    assert UNREADABLE not in [p.message for p in doc.problems]  # handled, not caught as a crash


# --- question types ----------------------------------------------------------------------------------
def test_multiple_choice_scoring_mapping():
    doc = moodle_xml.parse(quiz(
        question("multichoice", "<single>false</single>" + answer(50, "甲") + answer(50, "乙")
                 + answer(-100, "丙")),
        question("multichoice", "<single>false</single>" + answer(100, "甲") + answer(100, "乙")
                 + answer(0, "丙")),
        question("multichoiceset", answer(100, "甲") + answer(0, "乙") + answer(100, "丙")),
        question("multichoice", "<single>false</single>" + answer(75, "甲") + answer(25, "乙")),
        question("multichoice", "<single>false</single>" + answer(50, "甲") + answer(25, "乙")),
        question("multichoice", "<single>true</single>" + answer(100, "甲") + answer(100, "乙")),
        question("multichoice", "<single>true</single>" + answer(100, "甲") + answer(50, "乙")),
    ), "q.xml")
    assert [(i.type, i.answer, i.config) for i in doc.items] == [
        ("multiple", ["A", "B"], {"scoring": "partial"}),
        ("multiple", ["A", "B"], {}),
        ("multiple", ["A", "C"], {}),
        ("multiple", ["A", "B"], {"scoring": "partial"}),
        ("single", "A", {}),
    ]
    assert located(doc.problems) == [
        ("question 5 (line 7)", "The grades of the right answers add up to 75%, not 100%."),
        ("question 6 (line 8)", "A single-choice question needs exactly one answer graded 100%; "
                                "this one has 2.")]
    assert located(doc.warnings) == [
        ("question 4 (line 6)", "The right answers have different weights; each will earn an equal share."),
        ("question 7 (line 9)", "Partial credit for wrong answers is not kept: they score nothing.")]


def test_unsupported_types_are_named_and_descriptions_skipped():
    kinds = ["matching", "numerical", "calculated", "ddwtos", "gapselect", "randomsamatch"]
    doc = moodle_xml.parse(quiz(*[question(k, "") for k in kinds], question("description", ""),
                                question("cloze", "", "{1:MULTICHOICE:=a~b} 与 {1:SA:=c}")), "q.xml")
    assert doc.items == []
    assert [p.message for p in doc.unsupported] == [
        f"question type “{k}” is not supported" for k in kinds + ["cloze"]]
    assert located(doc.warnings) == [("question 7 (line 9)",
                                      "A description (text without a question) was skipped.")]


def test_short_answer_cloze_and_essay():
    doc = moodle_xml.parse(quiz(
        question("shortanswer", "<usecase>1</usecase>" + answer(100, "Ampere") + answer(100, "A")
                 + answer(50, "amp") + answer(0, "volt"), "The unit of current is ____ ."),
        question("cloze", "", r"<p>{1:SHORTANSWER:=安培~=A\}B} 和 {1:SA:=伏特~%50%V~*}</p>"),
        question("essay", '<graderinfo format="html"><text>&lt;p&gt;要点&lt;/p&gt;</text></graderinfo>'),
    ), "q.xml")
    short, cloze, essay = doc.items
    assert (short.stem, short.answer, short.config) == (
        "The unit of current is [[1]] .", [["Ampere", "A"]], {"case_sensitive": True})
    assert (cloze.type, cloze.stem, cloze.answer) == ("fill_blank", "[[1]] 和 [[2]]", [["安培", "A}B"], ["伏特"]])
    assert (essay.type, essay.answer) == ("short_answer", "要点")
    assert located(doc.warnings) == [
        ("question 1 (line 3)", "Answers with partial credit were left out: a blank accepts only "
                                "fully right answers."),
        ("question 2 (line 4)", "Answers with partial credit were left out: a blank accepts only "
                                "fully right answers.")]


def test_text_formats_and_metadata():
    doc = moodle_xml.parse(quiz(
        '<question type="truefalse"><questiontext format="html"><text>'
        "&lt;p&gt;A &amp;amp; B&lt;br&gt;second&lt;/p&gt;&lt;p&gt;third &amp;lt;tag&amp;gt;&lt;/p&gt;"
        "</text></questiontext>"
        '<generalfeedback format="plain_text"><text>keep &lt;b&gt;this&lt;/b&gt;</text></generalfeedback>'
        "<defaultgrade>2.5000000</defaultgrade><idnumber>Q&lt;1&gt;</idnumber>"
        + answer(0, "true") + answer(100, "false")
        + "<tags><tag><text>point:1.2.3</text></tag><tag><text>difficulty:4</text></tag>"
          "<tag><text>difficulty:hard</text></tag></tags></question>"), "q.xml")
    (item,) = doc.items
    assert item.stem == "A & B\nsecond\nthird <tag>"
    assert item.explanation == "keep <b>this</b>"
    assert (item.answer, item.points, item.external_id) == (False, Decimal("2.5"), "Q<1>")
    assert (item.point_code, item.difficulty) == ("1.2.3", 4)


# --- writing -----------------------------------------------------------------------------------------
def test_export_structure():
    doc = BankDocument(
        elements=[ElementNode("1", "电工基础", children=[ElementNode("1.1", "电/流", importance="X")])],
        items=[ItemData("multiple", "选 <b>", [OptionData("A", "甲"), OptionData("B", "乙"),
                                              OptionData("C", "以上都不对", True)], ["A", "B"],
                        point_code="1.1", difficulty=3, external_id="M&1"),
               ItemData("multiple", "选二", [OptionData("A", "甲"), OptionData("B", "乙")], ["A", "B"],
                        config={"scoring": "partial"}, points=Decimal("2"))])
    root = ET.fromstring(moodle_xml.export(doc))
    category, first, top, second = root
    assert top.findtext("category/text") == "$course$/top"  # back to no category
    assert category.get("type") == "category"
    assert category.findtext("category/text") == "$course$/top/电工基础/电//流"
    assert category.findtext("idnumber") == "1.1"
    assert first.get("type") == "multichoiceset"
    assert first.find("questiontext").get("format") == "plain_text"
    assert first.findtext("questiontext/text") == "选 <b>"
    assert first.findtext("idnumber") == "M&1"
    assert [a.get("fraction") for a in first.findall("answer")] == ["100", "100", "0"]
    assert [t.findtext("text") for t in first.findall("tags/tag")] == ["point:1.1", "difficulty:3", "pinned:C"]
    assert (second.get("type"), second.findtext("single"), second.findtext("defaultgrade")) == (
        "multichoice", "false", "2")
    assert [a.get("fraction") for a in second.findall("answer")] == ["50", "50"]


def test_sniffing():
    from exam.banks.formats import qti  # noqa: F401 (registers QTI, which also reads .xml)

    assert moodle_xml.sniff(b'<?xml version="1.0"?>\n<quiz>\n</quiz>')
    assert detect_format(b'<?xml version="1.0"?><quiz></quiz>', "bank.xml") == "moodle-xml"


def test_stem_image_comes_from_the_embedded_file():
    png = b"\x89PNG\r\n\x1a\n" + b"\x01" * 8
    doc = moodle_xml.parse(quiz(
        '<question type="truefalse"><questiontext format="html">'
        '<text><![CDATA[<p>看图判断</p><img src="@@PLUGINFILE@@/circuit%20diagram.png" alt="">]]></text>'
        f'<file name="circuit diagram.png" path="/" encoding="base64">{base64.b64encode(png).decode()}</file>'
        "</questiontext>" + answer(100, "true") + answer(0, "false") + "</question>"), "q.xml")
    (item,) = doc.items
    assert (item.stem, item.stem_image) == ("看图判断", ("image/png", png))
    assert doc.warnings == []
