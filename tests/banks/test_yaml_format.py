"""The native YAML format: the README's example, located problems, hostile files."""
from __future__ import annotations

import re
import time
from decimal import Decimal
from pathlib import Path

import pytest

from exam.banks.formats import yaml_format
from exam.banks.interchange import ElementNode

from ..factories import png_bytes

README = Path(__file__).resolve().parents[2] / "question_banks" / "README.md"


def readme_example() -> bytes:
    block = re.search(r"```yaml\n(format: skillcert-bank/1\n.*?)```", README.read_text(encoding="utf-8"), re.S)
    return block.group(1).encode("utf-8")


def parse(text: str):
    return yaml_format.parse(text.encode("utf-8"), "bank.yaml")


def messages(doc) -> str:
    return "\n".join(str(p) for p in doc.problems)


def test_the_readme_example_reads_exactly():
    doc = yaml_format.parse(readme_example())
    assert doc.problems == [] and doc.warnings == []
    assert (doc.occupation.code, doc.occupation.name, doc.occupation.name_en) == ("6-31-01-03", "电工", "Electrician")
    assert doc.occupation.levels == [5, 4, 3, 2, 1] and doc.level == 5
    assert doc.bank_name == "电工（五级）理论知识题库"
    basic = doc.elements[0]
    assert (basic.code, basic.weight, basic.children[0].children[1].importance) == ("1", Decimal("20"), "X")
    assert [p.code for p in doc.points()] == ["1.1.1", "1.1.2", "1.2.1", "2.1.1"]
    single, multiple, true_false, fill, short = doc.items
    assert single.external_id == "E5-0001" and single.answer == "B" and single.difficulty == 2
    assert [o.key for o in single.options if o.pin_last] == ["D"]
    assert multiple.answer == ["A", "B"] and multiple.config == {"scoring": "partial"}
    assert true_false.answer is True
    assert fill.answer == [["安培", "A"], ["伏特", "V"]] and fill.config == {}
    assert short.type == "short_answer" and short.points == Decimal("5") and short.answer.startswith("选择")
    assert single.location == "line 43"


def test_export_reads_back_the_same_document():
    doc = yaml_format.parse(readme_example())
    again = yaml_format.parse(yaml_format.export(doc))
    assert again.problems == []
    for item in doc.items + again.items:
        item.location = None
    for root in doc.elements + again.elements:
        for node, _ in root.walk():
            node.location = None
    assert again.items == doc.items and again.elements == doc.elements
    assert again.occupation == doc.occupation and again.bank_name == doc.bank_name


HEAD = """format: skillcert-bank/1
occupation: {code: 6-31-01-03, name: 电工, levels: [5, 4]}
level: 5
elements:
  - code: "1"
    name: 基础
    children:
      - {code: "1.1", name: 安全, importance: X}
items:
"""


def test_every_problem_is_reported_with_its_line():
    doc = parse(HEAD + """  - point: "1.1"
    type: single
    difficulty: 9
    stem: 题干
    options: {A: 甲, B: 乙}
    pin_last: [E]
    answer: A
  - point: "1.1"
    type: true_false
    stem: 对吗
    answer: maybe
    points: lots
""")
    found = [(p.location, p.message) for p in doc.problems]
    assert ("line 12", "Difficulty must be 1 to 5.") in found
    assert any(loc == "line 15" and "pin_last" in msg for loc, msg in found)
    assert any(loc == "line 20" and "true or false" in msg for loc, msg in found)
    assert any(loc == "line 21" and "number" in msg for loc, msg in found)


def test_required_parts_and_unknown_keys():
    doc = parse("items: []\nextra: 1\n")
    text = messages(doc)
    assert "format: skillcert-bank/1" in text and "occupation" in text and "level" in text
    assert any("extra" in w.message for w in doc.warnings)
    assert "Unknown format" in messages(parse(HEAD.replace("skillcert-bank/1", "skillcert-bank/9")))
    assert "not one of the occupation's levels" in messages(parse(HEAD.replace("level: 5", "level: 3")))


def test_codes_and_texts_are_kept_as_written():
    doc = parse(HEAD.replace('code: "1.1"', "code: 1.10") + """  - point: 1.10
    type: single
    stem: yes
    options: {A: on, B: 220, C: 1.50}
    answer: c
""")
    assert doc.problems == []
    item = doc.items[0]
    assert item.point_code == "1.10" and doc.points()[0].code == "1.10"
    assert item.stem == "yes" and [o.text for o in item.options] == ["on", "220", "1.50"]
    assert item.answer == "C"


def test_anchors_aliases_and_billion_laughs_are_refused_quickly():
    laughs = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
        f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n" for i in range(8))
    started = time.perf_counter()
    doc = parse(laughs)
    assert time.perf_counter() - started < 1
    assert "Anchors and aliases" in messages(doc) and doc.problems[0].location == "line 1"
    assert "Anchors and aliases" in messages(parse(HEAD + "  - &x {point: '1.1'}\n  - *x\n"))


@pytest.mark.parametrize("text, fragment", [
    ("!!python/object/apply:os.system ['true']\n", "tag"),
    ("format: !!python/name:os.system\n", "tag"),
    ("a: 1\na: 2\n", "appears twice"),
    ("a: 1\n---\nb: 2\n", "one YAML document"),
    ("a: [1, 2\n", "not valid YAML"),
    ("", "empty"),
    ("[" * 100 + "]" * 100, "deeper"),
])
def test_hostile_or_broken_yaml_is_a_located_problem(text, fragment):
    assert fragment in messages(parse(text))


def test_not_utf8_and_too_large():
    assert "not UTF-8" in messages(yaml_format.parse("format: 题库".encode("gb18030")))
    huge = b"#" * (yaml_format.MAX_FILE_BYTES + 1)
    assert "larger than" in messages(yaml_format.parse(huge))


def test_stem_images_travel_as_data_addresses():
    import base64

    picture = png_bytes(20, 10)
    doc = parse(HEAD + f"""  - point: "1.1"
    type: true_false
    stem: 看图判断
    answer: true
    stem_image: data:image/png;base64,{base64.b64encode(picture).decode()}
""")
    assert doc.problems == [] and doc.items[0].stem_image == ("image/png", picture)
    assert yaml_format.parse(yaml_format.export(doc)).items[0].stem_image == ("image/png", picture)
    assert "data: address" in messages(parse(HEAD + "  - {type: true_false, stem: x, answer: true, "
                                                     "stem_image: 'http://example.com/x.png'}\n"))


def test_multi_line_text_is_written_as_a_block():
    doc = parse(HEAD)
    doc.elements = [ElementNode("1", "基础", children=[ElementNode("1.1", "安全", "X")])]
    from exam.banks.interchange import ItemData

    doc.items = [ItemData(type="short_answer", stem="第一行\n第二行", answer="答：\n一、…", point_code="1.1")]
    text = yaml_format.export(doc).decode()
    assert "stem: |-\n    第一行\n    第二行" in text
    assert yaml_format.parse(text.encode()).items[0].stem == "第一行\n第二行"
