import random
from decimal import Decimal

import pytest

from exam.banks import qtypes
from exam.banks.interchange import ItemData, OptionData


def choice(type_="single", answer="B", n=4, pin_last=(), config=None, stem="题干（　　）"):
    return ItemData(type=type_, stem=stem, answer=answer, config=config or {},
                    options=[OptionData(k, f"选项{k}", k in pin_last) for k in "ABCDEF"[:n]])


def test_registry_has_the_five_types_and_refuses_unknown_ones():
    assert set(qtypes.REGISTRY) == {"single", "multiple", "true_false", "fill_blank", "short_answer"}
    with pytest.raises(qtypes.UnknownQuestionType):
        qtypes.get_type("matching")
    problems = qtypes.validate_item(ItemData(type="matching", stem="x"), "question 4")
    assert problems[0].location == "question 4" and "matching" in problems[0].message


@pytest.mark.parametrize("item, fragment", [
    (choice(answer="E"), "option letters"),
    (choice(n=1), "2 to 6"),
    (ItemData(type="single", stem="x", answer="A", options=[OptionData("A", "同"), OptionData("B", "同")]),
     "same text"),
    (ItemData(type="single", stem="x", answer="A", options=[OptionData("A", "一"), OptionData("C", "二")]),
     "lettered"),
    (choice("multiple", answer=["A", "A"]), "different option letters"),
    (choice("multiple", answer=["A"], config={"scoring": "generous"}), "partial"),
    (ItemData(type="true_false", stem="x", answer="yes"), "true or false"),
    (ItemData(type="fill_blank", stem="没有空", answer=[["a"]]), "[[1]]"),
    (ItemData(type="fill_blank", stem="[[1]] 与 [[3]]", answer=[["a"], ["b"]]), "in order"),
    (ItemData(type="fill_blank", stem="[[1]] 与 [[2]]", answer=[["a"]]), "each blank"),
    (ItemData(type="short_answer", stem="", answer=None), "stem"),
    (ItemData(type="true_false", stem="x", answer=True, difficulty=7), "Difficulty"),
    (ItemData(type="true_false", stem="x", answer=True, points=Decimal("0")), "Points"),
])
def test_validation_names_the_problem(item, fragment):
    messages = " ".join(p.message for p in qtypes.validate_item(item))
    assert fragment in messages


def test_valid_items_have_no_problems():
    items = [choice(), choice("multiple", answer=["A", "C"], config={"scoring": "partial"}),
             ItemData(type="true_false", stem="对吗", answer=False),
             ItemData(type="fill_blank", stem="单位是[[1]]和[[2]]", answer=[["安培", "A"], ["伏特"]]),
             ItemData(type="short_answer", stem="简述", answer="参考答案")]
    assert all(qtypes.validate_item(i) == [] for i in items)


def test_pinned_options_stay_last_when_shuffled():
    item = choice(n=5, pin_last={"E"})
    orders = {tuple(qtypes.get_type("single").option_order(item, random.Random(seed))) for seed in range(50)}
    assert len(orders) > 5
    assert all(order[-1] == "E" and sorted(order) == list("ABCDE") for order in orders)


def test_candidate_view_never_contains_the_answer():
    item = choice(answer="C")
    view = qtypes.get_type("single").candidate_view(item, ["C", "A", "D", "B"])
    assert "answer" not in view and [o["label"] for o in view["options"]] == list("ABCD")
    assert view["options"][0]["text"] == "选项C"


def test_single_choice_scores_through_the_shown_order():
    item = choice(answer="C")
    t = qtypes.get_type("single")
    order = ["C", "A", "D", "B"]  # the correct option was shown first
    assert t.score(item, order, "A", Decimal("0.5")) == qtypes.Outcome(Decimal("0.5"), Decimal("0.5"), True)
    assert t.score(item, order, "C", Decimal("0.5")).points == 0
    assert t.score(item, order, None, Decimal("0.5")).points == 0
    assert t.correct_response(item, order) == "A"


def test_multiple_choice_all_or_nothing_and_partial():
    order = ["D", "C", "B", "A"]
    strict = choice("multiple", answer=["A", "C"])
    t = qtypes.get_type("multiple")
    assert t.score(strict, order, ["B", "D"], Decimal("2")).points == 2  # shown B = C, shown D = A
    assert t.score(strict, order, ["D"], Decimal("2")).points == 0
    partial = choice("multiple", answer=["A", "B", "C"], config={"scoring": "partial"})
    # shown D = A, shown C = B: two of three right, no wrong choice
    assert t.score(partial, order, ["D", "C"], Decimal("1.5")).points == Decimal("1.00")
    # a wrong choice (shown A = D) scores nothing
    assert t.score(partial, order, ["D", "C", "A"], Decimal("1.5")).points == 0


def test_true_false_and_fill_blank_and_short_answer():
    tf = ItemData(type="true_false", stem="x", answer=False)
    assert qtypes.get_type("true_false").score(tf, [], False, Decimal("1")).correct is True
    assert qtypes.get_type("true_false").score(tf, [], "false", Decimal("1")).points == 0
    fb = ItemData(type="fill_blank", stem="[[1]]与[[2]]", answer=[["安培", "A"], ["Volt"]])
    t = qtypes.get_type("fill_blank")
    assert t.score(fb, [], ["Ａ ", "volt"], Decimal("2")).points == 2  # full-width, case, spaces
    assert t.score(fb, [], ["安培", "欧姆"], Decimal("2")).points == Decimal("1.00")
    assert t.candidate_view(fb, [])["blanks"] == 2
    sa = ItemData(type="short_answer", stem="简述", answer="参考")
    outcome = qtypes.get_type("short_answer").score(sa, [], "我的回答", Decimal("5"))
    assert outcome.needs_manual and outcome.correct is None


def test_response_shapes_are_checked():
    item = choice(answer="C")
    assert qtypes.get_type("single").response_problem(item, list("CADB"), "E") is not None
    assert qtypes.get_type("single").response_problem(item, list("CADB"), "B") is None
    assert qtypes.get_type("multiple").response_problem(item, list("CADB"), "A") is not None
    fb = ItemData(type="fill_blank", stem="[[1]]", answer=[["a"]])
    assert qtypes.get_type("fill_blank").response_problem(fb, [], ["a", "b"]) is not None


def test_duplicates_share_a_fingerprint_despite_spacing_and_width():
    a = choice(stem="电流的单位是（　　）")
    b = choice(stem=" 电流的单位是（  ） ")
    assert qtypes.get_type("single").fingerprint(a) == qtypes.get_type("single").fingerprint(b)
