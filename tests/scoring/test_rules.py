"""The scoring rules, without a database."""
from decimal import Decimal as D

import pytest

from exam.scoring import rules

SHEET = [
    {"code": "A", "max_points": 30, "veto": False},
    {"code": "B", "max_points": 50, "veto": False},
    {"code": "C", "max_points": 20, "veto": True},
]


def test_scaling_to_hundred():
    assert rules.scale_to_hundred(D("60"), D("100")) == D("60.00")
    assert rules.scale_to_hundred(D("90"), D("120")) == D("75.00")
    assert rules.scale_to_hundred(D("1"), D("3")) == D("33.33")
    assert rules.scale_to_hundred(D("2"), D("3")) == D("66.67")  # half up
    assert rules.scale_to_hundred(D("5"), D("0")) == D("0")


@pytest.mark.parametrize("marks, expected", [
    ([D("8")], ("resolved", D("8.00"))),
    ([], ("open", None)),
])
def test_single_marking(marks, expected):
    state = rules.resolve_marks(marks, double=False, tolerance=D("1"))
    assert (state.state, state.final) == expected


def test_double_marking_within_tolerance_takes_the_mean():
    assert rules.resolve_marks([D("8")], double=True, tolerance=D("2")).state == "open"
    state = rules.resolve_marks([D("8"), D("9.5")], double=True, tolerance=D("2"))
    assert (state.state, state.final) == ("resolved", D("8.75"))
    exactly = rules.resolve_marks([D("8"), D("10")], double=True, tolerance=D("2"))
    assert exactly.final == D("9.00")


def test_double_marking_beyond_tolerance_needs_a_third_mark_then_the_chief():
    assert rules.resolve_marks([D("4"), D("10")], double=True, tolerance=D("2")).state == "third"
    near_second = rules.resolve_marks([D("4"), D("10"), D("9")], double=True, tolerance=D("2"))
    assert (near_second.state, near_second.final) == ("resolved", D("9.50"))
    middle = rules.resolve_marks([D("4"), D("10"), D("7")], double=True, tolerance=D("2"))
    assert (middle.state, middle.final) == ("chief", None)
    decided = rules.resolve_marks([D("4"), D("10"), D("7")], double=True, tolerance=D("2"), chief=D("6"))
    assert (decided.state, decided.final) == ("resolved", D("6.00"))
    exact_midpoint = rules.resolve_marks([D("4"), D("10"), D("7")], double=True, tolerance=D("3"))
    assert exact_midpoint.final == D("7.00")


def test_chief_mark_decides_at_the_third_stage():
    state = rules.resolve_marks([D("2"), D("10")], double=True, tolerance=D("1"), chief=D("5"))
    assert (state.state, state.final) == ("resolved", D("5.00"))


def test_sheet_points_and_deductions():
    check = rules.check_sheet(SHEET, {"A": {"deduction": "4"}, "B": {"points": "45.5"},
                                      "C": {"points": 20, "veto": True}}, require_all=True)
    assert check.complete
    assert check.total == D("91.50")
    assert check.entries["A"] == {"points": "26.00", "deduction": "4.00"}
    assert check.entries["C"]["veto"] is True
    assert check.vetoes == ["C"]


def test_sheet_problems_are_located():
    check = rules.check_sheet(SHEET, {"A": {"points": "31"}, "B": {"points": "x"},
                                      "C": {"deduction": "-1"}}, require_all=True)
    assert dict(check.problems) == {"A": "range", "B": "number", "C": "number"}
    draft = rules.check_sheet(SHEET, {"A": {"points": "10"}}, require_all=False)
    assert draft.complete and draft.total == D("10.00")
    signing = rules.check_sheet(SHEET, {"A": {"points": "10"}}, require_all=True)
    assert dict(signing.problems) == {"B": "missing", "C": "missing"}
    three_decimals = rules.check_sheet(SHEET, {"A": {"points": "1.005"}}, require_all=False)
    assert dict(three_decimals.problems) == {"A": "number"}


def test_veto_only_on_veto_items():
    check = rules.check_sheet(SHEET, {"A": {"points": 30, "veto": True}}, require_all=False)
    assert "veto" not in check.entries["A"] and check.vetoes == []


def test_reconcile_mean():
    result = rules.reconcile([D("80"), D("84"), D("82")], [[], [], []])
    assert (result.score, result.spread, result.rule, result.reasons) == (D("82.00"), D("4.00"), "mean", ())


def test_reconcile_trimmed_mean_drops_highest_and_lowest_with_five():
    totals = [D("70"), D("80"), D("82"), D("84"), D("79")]
    result = rules.reconcile(totals, [[]] * 5, rule="trimmed_mean", threshold=D("20"))
    assert result.rule == "trimmed_mean"
    assert result.score == D("80.33")  # (79 + 80 + 82) / 3
    three = rules.reconcile(totals[:3], [[]] * 3, rule="trimmed_mean", threshold=D("20"))
    assert three.rule == "mean" and three.score == D("77.33")


def test_reconcile_spread_and_veto_disagreement_go_to_the_chief():
    wide = rules.reconcile([D("60"), D("75"), D("70")], [[], [], []], threshold=D("10"))
    assert wide.reasons == ("spread",) and wide.needs_arbitration
    at_threshold = rules.reconcile([D("60"), D("70"), D("65")], [[], [], []], threshold=D("10"))
    assert not at_threshold.needs_arbitration
    disputed = rules.reconcile([D("80"), D("80"), D("80")], [["C"], [], ["C"]])
    assert disputed.reasons == ("veto",) and disputed.vetoes_disputed == ("C",)
    agreed = rules.reconcile([D("80"), D("80"), D("80")], [["C"], ["C"], ["C"]])
    assert agreed.vetoes_agreed == ("C",) and not agreed.needs_arbitration


def test_weighted_practical_over_tasks_taken():
    assert rules.weighted_practical({"T1": D("80"), "T3": D("50")},
                                    {"T1": D("60"), "T2": D("40"), "T3": D("40")}) == D("68.00")


def test_pass_rules():
    assert rules.component_state(D("60"), D("60")) == "passed"
    assert rules.component_state(D("59.99"), D("60")) == "failed"
    assert rules.component_state(D("95"), D("60"), veto=True) == "failed"
    assert rules.component_state(None, D("60")) == "pending"
    assert rules.component_state(None, D("60"), absent=True) == "absent"
    assert rules.overall({"theory": "passed", "practical": "passed"}) is True
    assert rules.overall({"theory": "passed", "practical": "failed"}) is False
    assert rules.overall({"theory": "absent", "practical": "passed"}) is False
    assert rules.overall({"theory": "passed", "practical": "pending"}) is None
