from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exam.banks.formats import detect_format, gift
from exam.banks.interchange import BankDocument, ElementNode, ItemData, OptionData
from exam.core.errors import ValidationFailed

UNREADABLE = "The file could not be read."


def read(text: str):
    return gift.parse(text.encode("utf-8"), "bank.txt")


def located(problems):
    return [(p.location, p.message) for p in problems]


def by_line(doc, line):
    return next(i for i in doc.items if i.location == f"line {line}")


# --- Moodle's own files ------------------------------------------------------------------------------
def test_moodle_questions_fixture(conformance):
    doc = gift.parse(conformance("gift/questions.gift.txt"), "questions.gift.txt")
    assert doc.problems == []
    assert Counter(i.type for i in doc.items) == {"true_false": 3, "short_answer": 1, "single": 1,
                                                  "multiple": 1, "fill_blank": 1}
    assert located(doc.unsupported) == [("line 5", "question type “matching” is not supported"),
                                        ("line 31", "question type “numerical” is not supported")]
    essay = by_line(doc, 2)
    assert (essay.type, essay.stem, essay.answer) == ("short_answer", "How are you?", None)
    single = by_line(doc, 14)
    assert single.stem == "What's between orange and green in the spectrum?"
    assert [o.text for o in single.options] == ["yellow", "red", "blue"] and single.answer == "A"
    multiple = by_line(doc, 22)
    assert [o.text for o in multiple.options] == ["yellow", "red", "off-beige", "blue"]
    assert multiple.answer == ["A", "C"] and multiple.config == {"scoring": "partial"}
    blank = by_line(doc, 34)
    assert (blank.stem, blank.answer) == ("Which is the best animal? [[1]]", [["Frog"]])
    true_false = by_line(doc, 41)
    assert true_false.answer is False
    assert true_false.explanation == "This is, of course, a Hitchiker's Guide to the Galaxy reference."
    assert [i.stem for i in doc.items if i.location in ("line 46", "line 49")] == ["TSL is blablabla."] * 2
    warnings = located(doc.warnings)
    # feedback is reported once for the whole file, at its first occurrence
    assert [w for w in warnings if "feedback" in w[1]] == [
        ("line 14", "Answer feedback (after #) is not kept; this file has some.")]
    assert ("line 34", "Answers with partial credit were left out: a blank accepts only fully "
                       "right answers.") in warnings
    # the junk after the true/false question's answers stays visible, and is reported
    assert true_false.stem == '42 is the Absolute Answer to everything. ";'
    assert ("line 41", "The text after the answers was added to the stem.") in warnings


def test_moodle_questions_in_category_fixture(conformance):
    doc = gift.parse(conformance("gift/questions_in_category.gift.txt"), "questions.txt")
    assert doc.problems == []
    assert [i.type for i in doc.items] == ["single", "fill_blank", "true_false"]
    assert {tuple(i.category_path) for i in doc.items} == {("Default for New Features",)}
    assert located(doc.unsupported) == [("line 5", "question type “matching” is not supported")]
    greeting = doc.items[0]
    # [html] text: the link and breaks become plain text, the escaped : and = are restored
    assert greeting.stem == "Listen to this greeting:\n\nWhat language is being spoken?"
    assert greeting.answer == "B" and [o.text for o in greeting.options][:2] == ["English", "French"]
    assert doc.items[1].stem == "Anyone who uses Moodle is a ... [[1]]"
    assert doc.items[1].answer == [["Moodler"]]
    assert doc.items[2].stem == ("Moodle is an acronym for Modular Object-Oriented Dynamic Learning "
                                 "Environment.")


def test_moodle_examples_fixture(conformance):
    doc = gift.parse(conformance("gift/examples.gift.txt"), "examples.txt")
    assert doc.problems == []
    assert Counter(i.type for i in doc.items) == {"single": 16, "fill_blank": 9, "true_false": 5,
                                                  "multiple": 2}
    assert Counter(p.message for p in doc.unsupported) == {
        "question type “numerical” is not supported": 8,
        "question type “matching” is not supported": 3}
    # missing word: the blank is where the answers were
    grant = by_line(doc, 10)
    assert (grant.type, grant.stem, grant.answer) == ("single", "Grant is _____ in Grant's tomb.", "B")
    two = by_line(doc, 45)
    assert (two.stem, two.answer) == ("Two plus two equals [[1]].", [["four", "4"]])
    # answers at the end: the blank goes after the stem
    assert by_line(doc, 14).stem == "Who's buried in Grant's tomb? [[1]]"
    assert by_line(doc, 14).answer == [["no one", "nobody"]]
    # a name and a question over two lines
    assert by_line(doc, 90).stem == "Japanese characters originally\ncame from what country? [[1]]"
    # ~%50% weights with -50% wrong answers: multiple choice, partial
    entombed = by_line(doc, 136)
    assert entombed.answer == ["B", "C"] and entombed.config == {"scoring": "partial"}
    # escapes
    assert [o.text for o in by_line(doc, 143).options] == ["= 2 + 2", "= 2 + 3", "= 2 + 4"]
    control = by_line(doc, 148)
    assert [o.text for o in control.options] == ["~", "=", "#", "{", "}", "\\"]
    assert control.answer == "F"
    assert by_line(doc, 51).answer is True and by_line(doc, 49).answer is False
    # a half-credit wrong answer in a single-choice question is reported, not silently kept
    assert ("line 115", "Partial credit for wrong answers is not kept: they score nothing.") \
        in located(doc.warnings)


# --- reading -----------------------------------------------------------------------------------------
def test_categories_ids_and_tags():
    doc = read("$CATEGORY: $course$/top/电工基础/电路//电流\n\n"
               "// [id:Q-7] [tag:point:1.2.3] [tag:difficulty:4] [tag:pinned:C] [tag:other]\n"
               "电流的单位是（　　）{=安培 ~伏特 ~以上都不对}\n\n"
               "$CATEGORY: $system$/安全\n"
               "::名字::电工作业必须持证。{T}\n")
    first, second = doc.items
    assert first.category_path == ["电工基础", "电路/电流"]
    assert (first.external_id, first.point_code, first.difficulty) == ("Q-7", "1.2.3", 4)
    assert [o.pin_last for o in first.options] == [False, False, True]
    assert second.category_path == ["安全"] and second.stem == "电工作业必须持证。"
    assert second.location == "line 7"


def test_html_like_text_without_a_format_stays_text_and_html_format_is_converted():
    doc = read('Is <b class="x"> & a tag?{TRUE}\n\n'
               "[html]<p>A &amp; B</p><script>alert(1)</script><p>second&nbsp;line</p>{FALSE}\n\n"
               "[moodle]line one\nline <i>two</i>{T}\n\n"
               "First\\nsecond \\{braces\\} \\\\ end{T}")
    assert [i.stem for i in doc.items] == ['Is <b class="x"> & a tag?', "A & B\nsecond line",
                                           "line one\nline two", "First\nsecond {braces} \\ end"]


def test_single_choice_needs_exactly_one_right_answer():
    doc = read("两个对的{=甲 =乙 ~丙}")
    assert doc.items == []
    assert located(doc.problems) == [("line 1", "A single-choice question needs exactly one right "
                                                "answer (marked =); this one has 2.")]


def test_multiple_choice_weights_must_add_up_to_100():
    doc = read("加起来不对{~%50%甲 ~%25%乙 ~丙}\n\n没有对的{~%-50%甲 ~乙}")
    assert doc.items == []
    assert located(doc.problems) == [
        ("line 1", "The weights of the right answers add up to 75%, not 100%."),
        ("line 3", "No answer is right: give the right answers a positive weight.")]


def test_multiple_choice_weight_mapping():
    doc = read("三分之一{~%33.33333%甲 ~%33.33333%乙 ~%33.33333%丙 ~%-100%丁}\n\n"
               "不等{~%70%甲 ~%30%乙 ~丙}\n\n"
               "只有一个{~%100%甲 ~乙 ~丙}")
    equal, unequal, one = doc.items
    assert equal.answer == ["A", "B", "C"] and equal.config == {"scoring": "partial"}
    assert unequal.config == {"scoring": "partial"}
    assert located(doc.warnings) == [("line 3", "The right answers have different weights; each "
                                                "will earn an equal share.")]
    assert (one.type, one.answer, one.config) == ("multiple", ["A"], {})


def test_broken_questions_are_located():
    doc = read("没有结束{=甲 ~乙\n\n两个答案块{=甲} 和 {=乙}\n\n只是说明文字\n\n反的}{")
    assert doc.items == []
    assert located(doc.problems) == [
        ("line 1", "The answers must be inside one pair of braces { }."),
        ("line 3", "A question has one answer block { }; this one has several."),
        ("line 7", "The answers must be inside one pair of braces { }.")]
    assert located(doc.warnings) == [("line 5", "Text without answers (a description) was skipped.")]


def test_chinese_file_in_gb18030_and_a_blank_after_chinese_text():
    doc = gift.parse("电流的单位是{=安培 =A}".encode("gb18030"), "bank.txt")
    assert doc.items[0].stem == "电流的单位是[[1]]"
    assert doc.items[0].answer == [["安培", "A"]]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(alphabet="{}=~#%:\\[]T-> \n/abc电$", max_size=200).map(str.encode))
def test_parse_never_raises(data):
    doc = gift.parse(data, "x.txt")
    assert isinstance(doc, BankDocument)
    assert UNREADABLE not in [p.message for p in doc.problems]  # handled, not caught as a crash


# --- writing -----------------------------------------------------------------------------------------
def test_export_writes_moodle_gift():
    doc = BankDocument(
        elements=[ElementNode("1", "电工基础", children=[ElementNode("1.1", "电流", importance="X")])],
        items=[ItemData("single", "电流的单位是", [OptionData("A", "安培"), OptionData("B", "伏特"),
                                                    OptionData("C", "以上都不对", True)],
                        "A", point_code="1.1", difficulty=2, explanation="安培是电流的单位。",
                        external_id="Q1"),
               ItemData("multiple", "选出 <b>", [OptionData("A", "甲"), OptionData("B", "乙"),
                                                OptionData("C", "丙")], ["A", "B"]),
               ItemData("fill_blank", "单位是[[1]]。", answer=[["安培", "A"]]),
               ItemData("true_false", "对吗: 对", answer=True),
               ItemData("short_answer", "简述", answer="参考")])
    text = gift.export(doc).decode("utf-8")
    assert text == (
        "$CATEGORY: $course$/top/电工基础/电流\n\n"
        "// [id:Q1] [tag:point:1.1] [tag:difficulty:2] [tag:pinned:C]\n"
        "电流的单位是{\n\t=安培\n\t~伏特\n\t~以上都不对\n\t####安培是电流的单位。\n}\n\n"
        "$CATEGORY: $course$/top\n\n"
        "[plain]选出 <b>{\n\t~%50%甲\n\t~%50%乙\n\t~%-100%丙\n}\n\n"
        "单位是{=安培 =A}。\n\n"
        "对吗\\: 对{TRUE}\n\n"
        "简述{}\n")


def test_export_refuses_several_blanks_and_names_them():
    doc = BankDocument(items=[ItemData("true_false", "对", answer=True),
                              ItemData("fill_blank", "[[1]] 和 [[2]]", answer=[["a"], ["b"]])])
    assert [(p.location, p.message) for p in gift.export_problems(doc)] == [
        ("question 2", "GIFT holds one blank per question; this question has 2.")]
    with pytest.raises(ValidationFailed) as refused:
        gift.export(doc)
    assert refused.value.problems[0].location == "question 2"


def test_sniffing_tells_gift_from_aiken():
    from exam.banks.formats import aiken  # noqa: F401 (registers Aiken)

    assert detect_format("Who?{=me ~you}".encode(), "bank.txt") == "gift"
    assert detect_format(b"Who?\nA. me\nB. you\nANSWER: A\n", "bank.txt") == "aiken"
    assert detect_format("// c\n$CATEGORY: a\n\nQ{T}".encode(), "bank.txt") == "gift"
    assert not gift.sniff(b'<?xml version="1.0"?><quiz><text>{1:SA:=a}</text></quiz>')
