import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exam.banks.formats import aiken
from exam.banks.interchange import BankDocument, ItemData, OptionData
from exam.core.errors import ValidationFailed

UNREADABLE = "The file could not be read."


def read(text: str):
    return aiken.parse(text.encode("utf-8"), "bank.txt")


def located(problems):
    return [(p.location, p.message) for p in problems]


def test_moodle_questions_fixture_keeps_html_like_characters_as_text(conformance):
    doc = aiken.parse(conformance("aiken/questions.aiken.txt"), "questions.aiken.txt")
    assert doc.problems == [] and doc.warnings == []
    first, second = doc.items
    assert (first.type, first.stem, first.answer) == ("single", "The Moodle project was started by:", "B")
    assert [(o.key, o.text) for o in first.options] == [
        ("A", "Petr Skoda"), ("B", "Martin Dougiamas"), ("C", "Eloy Lafuente"), ("D", "Tim Hunt")]
    assert second.stem == ("Moodle's abilities include handling user input that includes "
                           '<html class="cool"> & images:')
    assert [o.text for o in second.options] == ["True", "False"] and second.answer == "A"
    assert (first.location, second.location) == ("line 1", "line 8")


def test_moodle_error_fixture_reports_every_problem_with_its_line(conformance):
    doc = aiken.parse(conformance("aiken/aiken_errors.txt"), "aiken_errors.txt")
    assert located(doc.problems) == [
        ("line 1", "A question needs at least two options."),
        ("line 5", "An option without a question."),
        ("line 7", "An ANSWER line without a question."),
        ("line 14", "The question has no ANSWER line."),
        ("line 19", "Put a space after the option label “A)”."),
        ("line 20", "Put a space after the option label “B)”."),
    ]
    # the two good questions are still recognised (the errors stop the import anyway)
    assert [(i.stem, i.answer, [o.text for o in i.options]) for i in doc.items] == [
        ("A good question", "A", ["Correct", "Incorrect"]),
        ("A second good question", "B", ["Incorrect (No space)", "Correct (No space)"]),
    ]


def test_variants_chinese_users_write():
    doc = read("电流的单位是\n（单选）\nA．安培\nB）伏特\nanswer：a\n")
    (item,) = doc.items
    assert doc.problems == []
    assert item.stem == "电流的单位是\n（单选）"
    assert [o.text for o in item.options] == ["安培", "伏特"] and item.answer == "A"


def test_answer_must_name_an_option_and_letters_must_be_in_order():
    doc = read("一\nA. 甲\nB. 乙\nANSWER: C\n\n二\nA. 甲\nC. 乙\nANSWER: A\n\n三\n\n四\nA. 甲\nB. 乙\nANSWER: AB")
    assert located(doc.problems) == [
        ("line 4", "The answer “C” is not one of the option letters."),
        ("line 8", "Options must be lettered A, B, C… in order; expected “B”."),
        ("line 11", "The question has no ANSWER line."),
        ("line 16", "The answer “AB” is not one of the option letters."),
    ]


def test_a_stem_that_only_looks_like_an_unspaced_option_is_a_stem():
    doc = read("B.Sc. holders may apply?\nA. Yes\nB. No\nANSWER: A\n")
    assert doc.problems == [] and doc.items[0].stem == "B.Sc. holders may apply?"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(alphabet="AB.) ANSWER:\n电x", max_size=200).map(str.encode))
def test_parse_never_raises(data):
    doc = aiken.parse(data, "x.txt")
    assert isinstance(doc, BankDocument)
    assert UNREADABLE not in [p.message for p in doc.problems]  # handled, not caught as a crash


def test_export_and_read_back():
    items = [ItemData("single", "电流的单位是 <b>&\n第二行", [OptionData("A", "安培"), OptionData("B", "伏特")], "B"),
             ItemData("single", "Q2", [OptionData("A", "x"), OptionData("B", "y"), OptionData("C", "z")], "C")]
    data = aiken.export(BankDocument(items=items))
    assert data.decode("utf-8") == ("电流的单位是 <b>& 第二行\nA. 安培\nB. 伏特\nANSWER: B\n\n"
                                    "Q2\nA. x\nB. y\nC. z\nANSWER: C\n")
    back = aiken.parse(data, "x.txt")
    assert back.problems == []
    assert [(i.stem, [(o.key, o.text) for o in i.options], i.answer) for i in back.items] == [
        ("电流的单位是 <b>& 第二行", [("A", "安培"), ("B", "伏特")], "B"),
        ("Q2", [("A", "x"), ("B", "y"), ("C", "z")], "C")]


def test_export_refuses_other_types_and_names_them():
    doc = BankDocument(items=[
        ItemData("single", "好", [OptionData("A", "x"), OptionData("B", "y")], "A"),
        ItemData("true_false", "对", answer=True),
        ItemData("single", "A. 像选项", [OptionData("A", "x"), OptionData("B", "y")], "A")])
    with pytest.raises(ValidationFailed) as refused:
        aiken.export(doc)
    assert located(refused.value.problems) == [
        ("question 2", "Aiken holds single-choice questions only."),
        ("question 3", "The stem would be read as an option or answer line.")]
