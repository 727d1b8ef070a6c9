"""The exam's pure rules: deadlines, the start window, allow-lists, answer shapes, change batches."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from exam.delivery import rules

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


def test_deadline_is_start_plus_duration_times_multiplier_plus_extra():
    assert rules.compute_deadline(T0, 90) == T0 + timedelta(minutes=90)
    assert rules.compute_deadline(T0, 90, multiplier=Decimal("1.5"), extra_minutes=10) == \
        T0 + timedelta(minutes=145)
    # 90 × 1.25 = 112.5 minutes: rounded up to whole minutes, as the sessions domain shows it.
    assert rules.compute_deadline(T0, 90, multiplier="1.25") == T0 + timedelta(minutes=113)


def test_deadline_never_passes_the_hard_end():
    hard_end = T0 + timedelta(minutes=60)
    assert rules.compute_deadline(T0, 90, hard_end_at=hard_end) == hard_end
    assert rules.compute_deadline(T0, 30, hard_end_at=hard_end) == T0 + timedelta(minutes=30)


def test_start_window_opens_at_the_start_and_closes_at_the_late_entry_cut_off():
    window = rules.StartWindow.of(T0, 15, None)
    assert window.state(T0 - timedelta(seconds=1)) == "not_yet"
    assert window.state(T0) == "open"
    assert window.state(T0 + timedelta(minutes=15)) == "open"
    assert window.state(T0 + timedelta(minutes=15, seconds=1)) == "closed"
    assert rules.StartWindow.of(None, 15, None) is None
    # A hard end before the cut-off closes the entry earlier.
    assert rules.StartWindow.of(T0, 15, T0 + timedelta(minutes=5)).closes_at == T0 + timedelta(minutes=5)


@pytest.mark.parametrize("address, allowlist, allowed", [
    ("203.0.113.9", None, True),
    ("203.0.113.9", "  \n# nothing but a comment\n", True),
    ("10.1.2.3", "10.1.0.0/16", True),
    ("10.2.0.1", "10.1.0.0/16", False),
    ("10.2.0.1", "10.1.0.0/16\n10.2.0.0/24  # second room", True),
    ("192.168.1.20", "192.168.1.20", True),
    ("::ffff:10.1.2.3", "10.1.0.0/16", True),
    ("2001:db8::5", "2001:db8::/32", True),
    ("2001:db9::5", "2001:db8::/32", False),
    ("10.1.2.3", "not-a-network", False),  # a list of typos admits nobody
    (None, "10.1.0.0/16", False),
    ("garbage", "10.1.0.0/16", False),
])
def test_address_allowlist(address, allowlist, allowed):
    assert rules.address_allowed(address, allowlist) is allowed


def test_access_codes_ignore_case_and_surrounding_spaces():
    assert rules.access_code_matches(None, None)
    assert rules.access_code_matches("A7K2", " a7k2 ")
    assert not rules.access_code_matches("A7K2", "A7K3")
    assert not rules.access_code_matches("A7K2", None)


def test_shapes_say_what_a_response_must_look_like():
    assert rules.shape_code("single", [{"key": "A"}, {"key": "B"}, {"key": "C"}], "") == "single:3"
    assert rules.shape_code("fill_blank", [], "a [[1]] b [[2]]") == "fill_blank:2"
    assert rules.shape_code("true_false", [], "") == "true_false"
    assert rules.answer_problem("single:3", "C") is None
    assert rules.answer_problem("single:3", "D")
    assert rules.answer_problem("multiple:4", ["A", "D"]) is None
    assert rules.answer_problem("multiple:4", ["E"])
    assert rules.answer_problem("true_false", False) is None
    assert rules.answer_problem("true_false", "false")
    assert rules.answer_problem("fill_blank:2", ["x", ""]) is None
    assert rules.answer_problem("fill_blank:2", ["x"])
    assert rules.answer_problem("short_answer", "text") is None
    assert rules.answer_problem("short_answer", "x" * 5001)
    assert rules.answer_problem("single:3", None) is None  # clearing an answer is allowed
    assert rules.is_answered("fill_blank:2", ["", " "]) is False
    assert rules.is_answered("fill_blank:2", ["", "伏特"]) is True
    assert rules.is_answered("multiple:4", []) is False


def test_a_batch_keeps_the_latest_change_of_each_item():
    changes = rules.parse_changes([
        {"p": 1, "a": "A", "f": False, "q": 4},
        {"p": 1, "a": "B", "f": True, "q": 7},
        {"p": 1, "a": "C", "f": False, "q": 5},
        {"p": 2, "a": None, "q": 6},
    ])
    by_position = {c.position: c for c in changes}
    assert by_position[1] == rules.Change(1, "B", True, 7)
    assert by_position[2] == rules.Change(2, None, False, 6)


@pytest.mark.parametrize("raw", [
    None, {"p": 1}, [1, 2], [{"p": "1", "q": 1}], [{"p": 1, "q": 0}], [{"p": -1, "q": 1}],
    [{"p": 1, "q": 2 ** 60}], [{"p": 1, "q": 1, "f": "yes"}], [{"p": 1, "q": True}],
    [{"p": 1, "q": 1}] * 501,
])
def test_malformed_batches_are_refused_whole(raw):
    with pytest.raises(rules.MalformedChanges):
        rules.parse_changes(raw)


def test_changes_that_do_not_fit_the_paper_are_set_apart(app_ctx):
    shape = ["single:4", "multiple:5", "true_false"]
    valid, rejected = rules.split_valid(rules.parse_changes([
        {"p": 0, "a": "D", "q": 1}, {"p": 1, "a": "Z", "q": 2}, {"p": 2, "a": True, "q": 3},
        {"p": 9, "a": "A", "q": 4}]), shape)
    assert [c.position for c in valid] == [0, 2]
    assert [c.position for c, _ in rejected] == [1, 9]
    assert all(message for _, message in rejected)
