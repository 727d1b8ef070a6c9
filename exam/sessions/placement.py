"""Seats in rooms and candidates in practical groups (pure functions, no database).

Groups respect recusal (回避): a candidate never goes to a group in which an assessor
declared a relationship with them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Iterable, Mapping


@dataclass(frozen=True)
class RoomSpace:
    room_id: int
    capacity: int
    #: Seat numbers already taken (1-based).
    taken: frozenset[int] = frozenset()


def allocate_seats(rooms: Iterable[RoomSpace], candidates: list[Hashable]
                   ) -> tuple[dict[Hashable, tuple[int, int]], list[Hashable]]:
    """Give each candidate, in order, the lowest free seat, filling rooms in order.

    Returns (candidate → (room id, seat number), candidates left without a seat).
    """
    placed: dict[Hashable, tuple[int, int]] = {}
    queue = list(candidates)
    for room in rooms:
        seat = 1
        while queue and seat <= room.capacity:
            if seat not in room.taken:
                placed[queue.pop(0)] = (room.room_id, seat)
            seat += 1
    return placed, queue


Relations = set[tuple[int, int]]  # (assessor user id, candidate user id)


def admissible_groups(candidate: int, groups: Mapping[int, Iterable[int]],
                      relations: Relations) -> list[int]:
    """Groups with no assessor related to ``candidate``."""
    return [g for g, assessors in sorted(groups.items())
            if not any((a, candidate) in relations for a in assessors)]


def assign_groups(candidates: list[int], groups: Mapping[int, Iterable[int]], relations: Relations,
                  current: Mapping[int, int | None] | None = None
                  ) -> tuple[dict[int, int], list[int]]:
    """Put candidates without an (admissible) group into the smallest admissible group.

    ``candidates`` are candidate user ids; ``current`` their present groups, which are
    kept when admissible. The most constrained candidates are placed first, so a
    candidate related to many assessors still finds a group when one exists.

    Returns (candidate → group for every placed candidate, candidates with no
    admissible group).
    """
    groups = {g: list(a) for g, a in groups.items()}
    current = dict(current or {})
    sizes = {g: 0 for g in groups}
    result: dict[int, int] = {}
    waiting = []
    for candidate in candidates:
        group = current.get(candidate)
        if group in groups and group in admissible_groups(candidate, groups, relations):
            result[candidate] = group
            sizes[group] += 1
        else:
            waiting.append(candidate)
    options = {c: admissible_groups(c, groups, relations) for c in waiting}
    unplaced = []
    for candidate in sorted(waiting, key=lambda c: (len(options[c]), waiting.index(c))):
        choices = options[candidate]
        if not choices:
            unplaced.append(candidate)
            continue
        group = min(choices, key=lambda g: (sizes[g], g))
        result[candidate] = group
        sizes[group] += 1
    return result, unplaced


def violations(assignment: Mapping[int, int | None], groups: Mapping[int, Iterable[int]],
               relations: Relations) -> list[tuple[int, int, int]]:
    """(candidate, group, assessor) for every candidate placed with a related assessor."""
    found = []
    for candidate, group in assignment.items():
        for assessor in groups.get(group, ()) if group is not None else ():
            if (assessor, candidate) in relations:
                found.append((candidate, group, assessor))
    return found
