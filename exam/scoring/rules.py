"""Scoring rules, pure (no database, no request): theory papers, manual marks, practical
score sheets, reconciliation of independent assessors, and pass rules.

Numbers are ``Decimal`` with two decimals, rounded half up (四舍五入), as on paper forms.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from ..banks import qtypes

CENT = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = Decimal("100")
#: Reconciliation rules of the practical (per session).
RULES = ("mean", "trimmed_mean")
#: Fewest assessors for which ``trimmed_mean`` drops the highest and the lowest total.
TRIM_FROM = 5
DEFAULT_SPREAD = Decimal("10")


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def text(value: Decimal | None) -> str | None:
    """A stored amount: ``"12.50"`` (JSON keeps text, never binary floats)."""
    return None if value is None else format(money(value), "f")


def parse_amount(value: Any) -> Decimal | None:
    """A typed number (``"8"``, ``"7.5"``, ``8``) or None when empty.

    :raise ValueError: not a number, negative, or more than two decimals.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("not a number")
    try:
        number = Decimal(str(value).strip().replace("，", ".").replace(",", "."))
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not number.is_finite() or number < 0:
        raise ValueError("negative")
    if number != number.quantize(CENT):
        raise ValueError("more than two decimals")
    return number


def mean(values: Iterable[Decimal]) -> Decimal:
    values = list(values)
    return money(sum(values, ZERO) / len(values))


# --- theory -------------------------------------------------------------------------------

@dataclass
class TheoryTally:
    """A paper scored item by item. ``items`` rows are what ``TheoryScore.items`` stores."""

    items: list[dict]
    raw: Decimal
    max_points: Decimal
    #: Positions of answered short answers still waiting for their marks.
    pending: list[int]

    @property
    def score(self) -> Decimal:
        return scale_to_hundred(self.raw, self.max_points)

    @property
    def scaled(self) -> bool:
        return self.max_points != HUNDRED


def scale_to_hundred(raw: Decimal, max_points: Decimal) -> Decimal:
    """Scores are out of 100: a paper worth another total is scaled."""
    if max_points <= 0:
        return ZERO
    if max_points == HUNDRED:
        return money(raw)
    return money(raw * HUNDRED / max_points)


def score_items(paper_items: list[dict], versions: Mapping[int, Any], responses: Mapping[int, Any],
                manual: Mapping[int, Decimal | None] | None = None) -> TheoryTally:
    """Score every position of a paper against the version and option order it pinned.

    ``responses``: position → answer in display labels. ``manual``: position → the resolved
    mark of a short answer (None while it waits). Unanswered short answers score 0 and need
    no marker.

    :raise KeyError: a pinned version is missing (never silently skipped).
    """
    manual = manual or {}
    rows, raw, max_total, pending = [], ZERO, ZERO, []
    for position, entry in enumerate(paper_items):
        version = versions[entry["v"]]
        qtype = qtypes.get_type(version.type)
        max_points = Decimal(str(entry["p"]))
        outcome = qtype.score(version, entry.get("o") or [], responses.get(position), max_points)
        points: Decimal | None = outcome.points
        if outcome.needs_manual:
            points = manual.get(position)
            if points is None:
                pending.append(position)
        rows.append({"pos": position, "v": entry["v"], "t": version.type, "max": text(max_points),
                     "points": text(points), "correct": outcome.correct,
                     "manual": outcome.needs_manual})
        raw += points or ZERO
        max_total += max_points
    return TheoryTally(rows, money(raw), money(max_total), pending)


def item_differences(stored: list[dict], fresh: list[dict]) -> list[dict]:
    """Positions whose stored points differ from a recomputation: ``{pos, v, stored, fresh}``."""
    by_pos = {row["pos"]: row for row in stored}
    changes = []
    for row in fresh:
        old = by_pos.get(row["pos"], {})
        if old.get("points") != row["points"] or old.get("v") != row["v"]:
            changes.append({"pos": row["pos"], "v": row["v"], "stored": old.get("points"),
                            "fresh": row["points"]})
    return changes


# --- manual marking (short answers) ----------------------------------------------------------

@dataclass(frozen=True)
class MarkState:
    """Where the marks of one answer stand.

    ``state``: ``open`` (needs another mark), ``third`` (two marks differ by more than the
    tolerance: a third marker or the chief decides), ``chief`` (the third mark agrees with
    neither: the chief decides) or ``resolved`` (``final`` is the item's points).
    """

    state: str
    final: Decimal | None = None


def resolve_marks(regular: list[Decimal], *, double: bool, tolerance: Decimal,
                  chief: Decimal | None = None) -> MarkState:
    """The item's points from its marks, in the order they were given.

    Single marking: the mark. Double marking: the mean when the two marks differ by at most
    ``tolerance``; otherwise a third mark, and the mean of it and the nearer of the first two
    when they agree within the tolerance; otherwise the chief assessor's mark. A chief's mark
    decides at any stage.
    """
    if chief is not None:
        return MarkState("resolved", money(chief))
    if not regular:
        return MarkState("open")
    if not double:
        return MarkState("resolved", money(regular[0]))
    if len(regular) < 2:
        return MarkState("open")
    first, second = regular[0], regular[1]
    if abs(first - second) <= tolerance:
        return MarkState("resolved", mean([first, second]))
    if len(regular) < 3:
        return MarkState("third")
    third = regular[2]
    gap_first, gap_second = abs(third - first), abs(third - second)
    nearer = first if gap_first < gap_second else second
    if gap_first == gap_second and gap_first <= tolerance:
        return MarkState("resolved", money(third))  # the midpoint: also the mean of either pair
    if abs(third - nearer) <= tolerance:
        return MarkState("resolved", mean([third, nearer]))
    return MarkState("chief")


# --- practical and review score sheets ----------------------------------------------------------

@dataclass
class SheetCheck:
    """A sheet's entries normalised, its total, and what is wrong with it (item code → message key)."""

    entries: dict[str, dict]
    total: Decimal
    max_total: Decimal
    #: (item code, problem) with problem one of ``number``, ``range``, ``missing``.
    problems: list[tuple[str, str]] = field(default_factory=list)
    #: Veto items (★) the assessor checked: the breach happened.
    vetoes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.problems


def check_sheet(sheet: list[dict], raw: Mapping[str, Any] | None, *, require_all: bool) -> SheetCheck:
    """Validate an assessor's entries against the task's sheet.

    Each item takes ``points`` (awarded) or ``deduction`` (扣分), within ``0…max_points``,
    and veto items take ``veto`` (true when the breach happened). With ``require_all``
    (signing) every item needs a number; a draft may leave items empty.
    """
    raw = raw or {}
    entries: dict[str, dict] = {}
    problems: list[tuple[str, str]] = []
    vetoes: list[str] = []
    total, max_total = ZERO, ZERO
    for item in sheet:
        code = item["code"]
        max_points = Decimal(str(item["max_points"]))
        max_total += max_points
        given = raw.get(code) if isinstance(raw.get(code), Mapping) else {}
        try:
            points = parse_amount(given.get("points"))
            deduction = parse_amount(given.get("deduction"))
        except ValueError:
            problems.append((code, "number"))
            continue
        if points is None and deduction is not None:
            points = max_points - deduction
        if points is not None and not ZERO <= points <= max_points:
            problems.append((code, "range"))
            continue
        veto = bool(item.get("veto")) and given.get("veto") is True
        entry: dict[str, Any] = {}
        if points is not None:
            entry = {"points": text(points), "deduction": text(max_points - points)}
            total += points
        elif require_all:
            problems.append((code, "missing"))
        if item.get("veto"):
            entry["veto"] = veto
            if veto:
                vetoes.append(code)
        if entry:
            entries[code] = entry
    return SheetCheck(entries, money(total), money(max_total), problems, vetoes)


def task_score(total: Decimal, max_total: Decimal) -> Decimal:
    """A task is scored out of 100 (a sheet whose maxima do not add up to 100 is scaled)."""
    return scale_to_hundred(total, max_total)


@dataclass(frozen=True)
class Reconciliation:
    """The independent totals of one candidate's task brought together."""

    score: Decimal
    spread: Decimal
    #: The rule actually applied (``trimmed_mean`` falls back to ``mean`` below 5 assessors).
    rule: str
    #: Why the chief must arbitrate: ``spread`` and/or ``veto``.
    reasons: tuple[str, ...]
    #: Veto items every assessor checked (the practical fails).
    vetoes_agreed: tuple[str, ...]
    #: Veto items some assessors checked and others did not (the chief decides).
    vetoes_disputed: tuple[str, ...]

    @property
    def needs_arbitration(self) -> bool:
        return bool(self.reasons)


def reconcile(totals: list[Decimal], vetoes: list[Iterable[str]], *, rule: str = "mean",
              threshold: Decimal = DEFAULT_SPREAD) -> Reconciliation:
    """The task's score from every assessor's total (each out of 100) and checked veto items.

    ``mean``: the mean of all totals. ``trimmed_mean``: with 5 or more assessors the highest
    and the lowest total are dropped first. A spread (highest − lowest) above ``threshold``,
    or assessors who disagree on a veto item, send the case to the chief assessor.
    """
    if not totals:
        raise ValueError("no totals to reconcile")
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}")
    ordered = sorted(totals)
    applied = rule if rule == "trimmed_mean" and len(ordered) >= TRIM_FROM else "mean"
    used = ordered[1:-1] if applied == "trimmed_mean" else ordered
    spread = money(ordered[-1] - ordered[0])
    checked = [set(v) for v in vetoes]
    every = set.union(*checked) if checked else set()
    agreed = tuple(sorted(code for code in every if all(code in c for c in checked)))
    disputed = tuple(sorted(every - set(agreed)))
    reasons = tuple(r for r, hit in (("spread", spread > threshold), ("veto", bool(disputed))) if hit)
    return Reconciliation(mean(used), spread, applied, reasons, agreed, disputed)


def weighted_practical(task_scores: Mapping[str, Decimal], weights: Mapping[str, Decimal]) -> Decimal:
    """The practical score: task scores weighted by the spec's weights (选考: the tasks taken)."""
    total_weight = sum((weights[code] for code in task_scores), ZERO)
    if total_weight <= 0:
        return ZERO
    return money(sum((task_scores[code] * weights[code] for code in task_scores), ZERO) / total_weight)


# --- pass rules ------------------------------------------------------------------------------------

#: A component's state in a result.
COMPONENT_STATES = ("passed", "failed", "absent", "pending")


def component_state(score: Decimal | None, pass_mark: Decimal, *, absent: bool = False,
                    veto: bool = False) -> str:
    """``absent`` (did not sit it), ``pending`` (not scored yet), else passed or failed.
    A confirmed veto fails the practical whatever the points."""
    if absent:
        return "absent"
    if score is None:
        return "pending"
    if veto:
        return "failed"
    return "passed" if score >= pass_mark else "failed"


def overall(states: Mapping[str, str]) -> bool | None:
    """The result passes when every required component passes; None while any is pending."""
    if any(s == "pending" for s in states.values()):
        return None
    return bool(states) and all(s == "passed" for s in states.values())
