"""Pure rules without a database: exam-room timing, allow-lists, ticket codes, seats, groups
(recusal as a property), and level names."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exam.sessions import placement, ticketcodes, timing
from exam.banks.levels import parse_level

START = datetime(2026, 3, 9, 1, 0, tzinfo=timezone.utc)


# --- timing ---------------------------------------------------------------------------------

def test_deadline_is_duration_times_multiplier_plus_extra_capped_by_the_hard_end():
    assert timing.attempt_deadline(START, 90) == START + timedelta(minutes=90)
    assert timing.attempt_deadline(START, 90, multiplier=Decimal("1.25")) == START + timedelta(minutes=113)
    assert timing.attempt_deadline(START, 90, extra_minutes=20) == START + timedelta(minutes=110)
    hard_end = START + timedelta(minutes=100)
    assert timing.attempt_deadline(START, 90, extra_minutes=20, hard_end=hard_end) == hard_end
    assert timing.entry_closes_at(START, 15) == START + timedelta(minutes=15)
    assert timing.earliest_handin_at(START, 30) == START + timedelta(minutes=30)


def test_allow_list_accepts_networks_and_addresses_and_explains_mistakes():
    parsed = timing.parse_allowlist("192.168.10.0/24\n10.1.2.3, 2001:db8::/32  # lab\n")
    assert [str(n) for n in parsed.networks] == ["192.168.10.0/24", "10.1.2.3/32", "2001:db8::/32"]
    assert parsed.problems == []
    bad = timing.parse_allowlist("192.168.10.5/24\nlab-network")
    assert any("did you mean 192.168.10.0/24" in p for p in bad.problems)
    assert any("lab-network" in p for p in bad.problems)


def test_ip_allowed():
    assert timing.ip_allowed(None, "8.8.8.8")
    assert timing.ip_allowed("192.168.10.0/24", "192.168.10.77")
    assert timing.ip_allowed("192.168.10.0/24", "::ffff:192.168.10.77")
    assert not timing.ip_allowed("192.168.10.0/24", "192.168.11.1")
    assert not timing.ip_allowed("192.168.10.0/24", "not an ip")


# --- ticket codes ----------------------------------------------------------------------------

SECRET = "test-secret"


def test_ticket_codes_round_trip_and_stay_small():
    number = ticketcodes.ticket_number(2026, 42, 7)
    assert number == "260000420007"
    code = ticketcodes.make_code(SECRET, number)
    assert len(code) <= 32 and code == code.upper()
    assert ticketcodes.read_code(SECRET, code) == ticketcodes.TicketCode(number, signed=True)
    assert ticketcodes.read_code(SECRET, f" {number} ") == ticketcodes.TicketCode(number, signed=False)


@pytest.mark.parametrize("mangle", [
    lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),  # signature altered
    lambda c: c.replace("260000420007", "260000420008"),  # number altered, signature kept
    lambda c: c[:-3],  # truncated
])
def test_altered_codes_are_forged(mangle):
    code = ticketcodes.make_code(SECRET, "260000420007")
    with pytest.raises(ticketcodes.BadTicketCode) as caught:
        ticketcodes.read_code(SECRET, mangle(code))
    assert caught.value.reason == "forged"


def test_another_key_or_garbage_is_refused():
    with pytest.raises(ticketcodes.BadTicketCode) as caught:
        ticketcodes.read_code(SECRET, ticketcodes.make_code("another-secret", "260000420007"))
    assert caught.value.reason == "forged"
    with pytest.raises(ticketcodes.BadTicketCode) as caught:
        ticketcodes.read_code(SECRET, "https://example.com/")
    assert caught.value.reason == "unreadable"


# --- seats -----------------------------------------------------------------------------------

def test_seats_fill_rooms_in_order_around_taken_seats_and_report_overflow():
    rooms = [placement.RoomSpace(1, 3, frozenset({2})), placement.RoomSpace(2, 2)]
    placed, left = placement.allocate_seats(rooms, ["a", "b", "c", "d", "e"])
    assert placed == {"a": (1, 1), "b": (1, 3), "c": (2, 1), "d": (2, 2)}
    assert left == ["e"]


# --- groups respect recusal: a property --------------------------------------------------------

@st.composite
def group_problems(draw):
    n_groups = draw(st.integers(1, 4))
    assessors = list(range(100, 100 + 3 * n_groups))
    groups = {g + 1: assessors[3 * g:3 * g + 3] for g in range(n_groups)}
    candidates = list(range(1, draw(st.integers(0, 30)) + 1))
    relations = draw(st.sets(st.tuples(st.sampled_from(assessors), st.sampled_from(candidates or [1])),
                             max_size=40))
    current = {c: draw(st.one_of(st.none(), st.sampled_from(sorted(groups)))) for c in candidates}
    return candidates, groups, relations, current


@settings(max_examples=300, deadline=None)
@given(group_problems())
def test_no_candidate_is_ever_placed_with_a_related_assessor(problem):
    candidates, groups, relations, current = problem
    assignment, unplaced = placement.assign_groups(candidates, groups, relations, current)
    assert placement.violations(assignment, groups, relations) == []
    assert set(assignment) | set(unplaced) == set(candidates)
    assert not set(assignment) & set(unplaced)
    for candidate in unplaced:  # left out only when truly no group is possible
        assert placement.admissible_groups(candidate, groups, relations) == []
    for candidate, group in current.items():  # admissible placements are kept
        if group is not None and group in placement.admissible_groups(candidate, groups, relations):
            assert assignment[candidate] == group


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 60), st.integers(1, 5))
def test_groups_are_balanced_without_relations(n, n_groups):
    groups = {g: [1000 + g] for g in range(1, n_groups + 1)}
    assignment, unplaced = placement.assign_groups(list(range(n)), groups, set())
    sizes = [list(assignment.values()).count(g) for g in groups]
    assert not unplaced and max(sizes) - min(sizes) <= 1


# --- levels --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, level", [
    ("五级/初级工", 5), ("四级", 4), ("中级工", 4), ("三级/高级工", 3), ("二级/技师", 2), ("技师", 2),
    ("一级/高级技师", 1), ("高级技师", 1), (3, 3), ("2", 2), ("七级", None), ("", None), (9, None),
])
def test_parse_level(text, level):
    assert parse_level(text) == level
