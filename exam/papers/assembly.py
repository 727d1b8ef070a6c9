"""Paper assembly (组卷): pure, seeded and deterministic. No database, no Flask.

The input is a bank's item pool (one ``PoolItem`` per active item, its current version),
a ``BlueprintSpec``, the bank's weight table (比重表, ``{area code: percent}``) and a seed.
The output is an ``AssembledPaper``: pinned item versions, their order, their points and
their option permutations. The same inputs always give the same paper (the pool is sorted
by version id first, every mapping is walked in sorted order, and the only randomness is
``random.Random(seed)``), so a stored seed rebuilds any paper.

How a paper is planned (``plan``: the same for every candidate of a blueprint)
------------------------------------------------------------------------------
1. **Areas.** The blueprint's area shares (``{area code: percent of the paper's points}``,
   adding up to 100) or, when it gives none, the weight table taken at its finest complete
   level (an area is replaced by its sub-areas when every sub-area has a weight and they add
   up to the area's). An item belongs to the share area on its point's path.
2. **Area quotas** per (section, area). Each section's item count is apportioned over the
   areas by largest remainder (Hamilton) on ``count × share / 100``, plus the points the area
   is still owed by the sections before it (divided by this section's points per item). So
   every area's points across the whole paper stay within about one item's points of its
   share, instead of drifting by one item per section.
3. **Difficulty quotas** per (section, difficulty), when the blueprint has a difficulty mix:
   the same apportionment of each section's count over the mix, carrying item counts from
   section to section, so the paper as a whole follows the mix closely.
4. **Cells.** For each section, the table of item counts per (area, difficulty) whose row
   sums are the area quotas, whose column sums are the difficulty quotas and whose cells
   never exceed the bank's items of that type, area and difficulty. It starts proportional
   (``area quota × difficulty quota / count``, rounded down) and is completed by augmenting
   paths (a transportation problem), which finds a table whenever one exists. When none
   exists, the augmenting search stops at a set of areas and difficulties that proves it:
   that is the located shortfall the editor sees ("area 2.3 needs 6 single-choice items of
   difficulty 3–4; the bank has 2"). Without a mix the difficulty column is "any".
   Every candidate's paper has the same cells: parallel forms, only the items differ.
5. **Core points** (X, 核心) when ``cover_all_x``: each one needs a place in a cell where
   it has an item. Places are planned first (most constrained point first) as lower bounds
   of the cells; when that greedy choice fails the plain cells are tried with a matching.
   A point that fits nowhere is reported by name.

How a paper is drawn (``assemble``: per candidate, seeded)
----------------------------------------------------------
6. Core points are matched to places in the cells in a random order, each preferring the
   cell where its items were seen least (augmenting paths guarantee a full matching, since
   the plan found one); each takes its least-exposed item there.
7. Every cell is filled with its least-exposed items (exposure: how often each version was
   already given in the session); equally exposed items come in random order, and items of
   points not yet on the paper go first. Over a session the items competing for a cell's
   places are therefore shown equally often, give or take one: the items of a core point,
   which must be on every paper, among themselves, and the other items among themselves.
8. Items are shuffled within each section (or kept in area order), and the options of
   choice items are shuffled with pinned options (``pin_last``, e.g. "以上都对") kept last.
9. ``avoid_orders`` holds the order keys (version ids in order) already given in the room:
   a paper whose key is among them is drawn again with seeds derived from the first, and
   the seed that was used is returned, so ``assemble(…, paper.seed)`` rebuilds it.

Messages are ``Message`` objects (an English id and values) so that callers render them in
the reader's language: ``issue.problem(gettext)``; ``_l`` marks them for translation.
"""
from __future__ import annotations

import hashlib
import random
import re
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from math import floor
from typing import Any, Callable, Collection, Iterable, Mapping, Sequence

from ..core.errors import Problem

QUESTION_TYPES = ("single", "multiple", "true_false", "fill_blank", "short_answer")
DIFFICULTIES = (1, 2, 3, 4, 5)
#: The difficulty "column" of a section without a difficulty mix.
ANY = 0
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
#: Draws tried before giving up on an order nobody in the room has.
MAX_ATTEMPTS = 64
SPEC_VERSION = 1


# --- translatable messages ----------------------------------------------------------------

def english(message: str, **values) -> str:
    """The default renderer: the English message id with its values."""
    return message % values if values else message


@dataclass(frozen=True)
class Message:
    """A message kept as its English id and values; ``render`` translates it when shown.

    Values are ints, strings, other messages, or tuples of those (joined as a list).
    """

    msgid: str
    values: tuple[tuple[str, Any], ...] = ()

    def render(self, gettext: Callable[..., str] = english) -> str:
        values = {name: _render_value(value, gettext) for name, value in self.values}
        return gettext(self.msgid, **values)

    def to_dict(self) -> dict:
        return {"msgid": self.msgid, "values": {k: _value_to_json(v) for k, v in self.values}}

    @classmethod
    def from_dict(cls, data: dict) -> "Message":
        return cls(data["msgid"], tuple(sorted((k, _value_from_json(v))
                                               for k, v in (data.get("values") or {}).items())))


def _render_value(value, gettext):
    if isinstance(value, Message):
        return value.render(gettext)
    if isinstance(value, tuple):
        return gettext(", ").join(_render_value(v, gettext) for v in value)
    return value


def _value_to_json(value):
    if isinstance(value, Message):
        return {"message": value.to_dict()}
    if isinstance(value, tuple):
        return {"list": [_value_to_json(v) for v in value]}
    return value


def _value_from_json(value):
    if isinstance(value, dict) and "message" in value:
        return Message.from_dict(value["message"])
    if isinstance(value, dict) and "list" in value:
        return tuple(_value_from_json(v) for v in value["list"])
    return value


def lazy_message(msgid: str, **values) -> Message:
    """Mark ``msgid`` for translation and keep it unrendered (like ``lazy_gettext``); modules
    import it as ``_l`` so that ``scripts/i18n.py`` collects the message ids."""
    return Message(msgid, tuple(sorted(values.items())))


_l = lazy_message


#: "6 single-choice items": the items of each question type, for messages.
TYPE_ITEMS = {
    "single": _l("single-choice items"),
    "multiple": _l("multiple-choice items"),
    "true_false": _l("true-or-false items"),
    "fill_blank": _l("fill-in-the-blank items"),
    "short_answer": _l("short-answer items"),
}
#: "1 single-choice item".
TYPE_ITEM = {
    "single": _l("single-choice item"),
    "multiple": _l("multiple-choice item"),
    "true_false": _l("true-or-false item"),
    "fill_blank": _l("fill-in-the-blank item"),
    "short_answer": _l("short-answer item"),
}
TYPE_NAMES = {
    "single": _l("Single choice"),
    "multiple": _l("Multiple choice"),
    "true_false": _l("True or false"),
    "fill_blank": _l("Fill in the blank"),
    "short_answer": _l("Short answer"),
}


@dataclass(frozen=True)
class Issue:
    """One thing that keeps a blueprint from being assembled, located."""

    message: Message
    location: Message | None = None
    #: ``structure`` (the blueprint itself), ``shortfall`` (the bank lacks items) or
    #: ``coverage`` (core points that cannot all be covered).
    kind: str = "structure"

    def problem(self, gettext: Callable[..., str] = english) -> Problem:
        return Problem(self.message.render(gettext),
                       self.location.render(gettext) if self.location else None)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message.to_dict(),
                "location": self.location.to_dict() if self.location else None}

    @classmethod
    def from_dict(cls, data: dict) -> "Issue":
        location = data.get("location")
        return cls(Message.from_dict(data["message"]),
                   Message.from_dict(location) if location else None, data.get("kind", "structure"))


class AssemblyError(ValueError):
    """The blueprint cannot be assembled from this pool; ``issues`` say why."""

    def __init__(self, issues: Sequence[Issue]):
        self.issues = tuple(issues)
        super().__init__("; ".join(str(i.problem()) for i in self.issues) or "cannot assemble")


class SpecError(ValueError):
    """A stored or submitted blueprint spec that does not have the expected shape."""


# --- the blueprint ------------------------------------------------------------------------

def _decimal(value, what: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise SpecError(f"{what}: not a number: {value!r}") from None
    if not number.is_finite():
        raise SpecError(f"{what}: not a number: {value!r}")
    return number


def fmt(value: Decimal | int) -> str:
    """``Decimal("0.50")`` → ``"0.5"``, ``Decimal("100")`` → ``"100"``."""
    if isinstance(value, int):
        return str(value)
    text = format(value.normalize(), "f")
    return text


@dataclass(frozen=True)
class Section:
    """One section of the theory paper."""

    type: str  # a qtypes name: "single", "multiple", "true_false", "fill_blank", "short_answer"
    count: int
    points: Decimal  # points per item
    title: str = ""  # e.g. "一、单项选择题"

    def __post_init__(self):
        object.__setattr__(self, "points", _decimal(self.points, "points"))

    @property
    def total(self) -> Decimal:
        return self.points * self.count


@dataclass(frozen=True)
class BlueprintSpec:
    """The plan of a theory paper (``Blueprint.spec`` holds ``to_dict()``)."""

    sections: tuple[Section, ...]
    #: Area code → percent of the paper's points (adding up to 100); empty → the weight table.
    area_shares: Mapping[str, Decimal] = field(default_factory=dict)
    #: Difficulty 1–5 → percent of the items (adding up to 100); None: any difficulty.
    difficulty_mix: Mapping[int, Decimal] | None = None
    cover_all_x: bool = True
    shuffle_items: bool = True  # shuffle within each section
    shuffle_options: bool = True
    #: What the sections' points must add up to (each component is scored out of 100).
    total_points: Decimal = Decimal("100")

    def __post_init__(self):
        object.__setattr__(self, "sections", tuple(self.sections))
        object.__setattr__(self, "area_shares",
                           {str(k): _decimal(v, f"share of {k}") for k, v in (self.area_shares or {}).items()})
        if self.difficulty_mix is not None:
            object.__setattr__(self, "difficulty_mix",
                               {int(k): _decimal(v, f"difficulty {k}") for k, v in self.difficulty_mix.items()})
        object.__setattr__(self, "total_points", _decimal(self.total_points, "total points"))

    @property
    def section_points(self) -> Decimal:
        return sum((s.total for s in self.sections), Decimal(0))

    @property
    def item_count(self) -> int:
        return sum(s.count for s in self.sections)

    def to_dict(self) -> dict:
        return {
            "version": SPEC_VERSION,
            "sections": [{"type": s.type, "count": s.count, "points": fmt(s.points), "title": s.title}
                         for s in self.sections],
            "area_shares": {code: fmt(v) for code, v in sorted(self.area_shares.items(),
                                                               key=lambda kv: code_key(kv[0]))},
            "difficulty_mix": None if self.difficulty_mix is None else
            {str(d): fmt(v) for d, v in sorted(self.difficulty_mix.items())},
            "cover_all_x": self.cover_all_x,
            "shuffle_items": self.shuffle_items,
            "shuffle_options": self.shuffle_options,
            "total_points": fmt(self.total_points),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> "BlueprintSpec":
        """:raise SpecError: the data does not have the shape ``to_dict`` writes."""
        if not isinstance(data, Mapping):
            raise SpecError("a blueprint spec is a mapping")
        sections = []
        for index, raw in enumerate(data.get("sections") or []):
            if not isinstance(raw, Mapping):
                raise SpecError(f"section {index + 1} is not a mapping")
            try:
                count = int(raw.get("count", 0))
            except (TypeError, ValueError):
                raise SpecError(f"section {index + 1}: count is not a whole number") from None
            sections.append(Section(str(raw.get("type", "")), count, raw.get("points", 0),
                                    str(raw.get("title") or "")))
        shares = data.get("area_shares") or {}
        mix = data.get("difficulty_mix")
        if not isinstance(shares, Mapping) or (mix is not None and not isinstance(mix, Mapping)):
            raise SpecError("area_shares and difficulty_mix are mappings")
        try:
            mix = None if mix is None else {int(k): v for k, v in mix.items()}
        except (TypeError, ValueError):
            raise SpecError("difficulty_mix keys are difficulties 1–5") from None
        return cls(sections=tuple(sections), area_shares=shares, difficulty_mix=mix,
                   cover_all_x=bool(data.get("cover_all_x", True)),
                   shuffle_items=bool(data.get("shuffle_items", True)),
                   shuffle_options=bool(data.get("shuffle_options", True)),
                   total_points=data.get("total_points", "100"))


# --- pool and paper -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PoolItem:
    """One active item's current version, as the bank provides it."""

    version_id: int
    item_id: int
    type: str
    point_code: str
    area_path: tuple[str, ...]  # codes of the point's ancestor areas, root first
    importance: str  # X, Y or Z
    difficulty: int
    option_keys: tuple[str, ...] = ()
    pinned_keys: frozenset[str] = frozenset()

    def to_row(self) -> list:
        """Compact JSON form (for the frozen pool a session's papers are drawn from)."""
        return [self.version_id, self.item_id, self.type, self.point_code, list(self.area_path),
                self.importance, self.difficulty, "".join(self.option_keys),
                "".join(sorted(self.pinned_keys))]

    @classmethod
    def from_row(cls, row: Sequence) -> "PoolItem":
        return cls(int(row[0]), int(row[1]), row[2], row[3], tuple(row[4]), row[5], int(row[6]),
                   tuple(row[7]), frozenset(row[8]))


@dataclass(frozen=True, slots=True)
class PaperItem:
    version_id: int
    item_id: int
    section: int  # index into BlueprintSpec.sections
    points: Decimal
    option_order: tuple[str, ...]  # original option keys in display order


@dataclass(frozen=True)
class AssembledPaper:
    items: tuple[PaperItem, ...]
    seed: int
    total_points: Decimal

    def order_key(self) -> tuple[int, ...]:
        """The version ids in the order shown: two papers with equal keys look the same."""
        return tuple(i.version_id for i in self.items)

    def to_rows(self) -> list[dict]:
        """The ``Paper.items`` JSON: ``{"v", "i", "s", "p", "o"}`` per item, in order."""
        points: dict[Decimal, str] = {}
        for item in self.items:
            if item.points not in points:
                points[item.points] = f"{item.points.quantize(CENT)}"
        return [{"v": i.version_id, "i": i.item_id, "s": i.section, "p": points[i.points], "o": list(i.option_order)}
                for i in self.items]

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping], seed: int, total_points: Decimal) -> "AssembledPaper":
        return cls(tuple(PaperItem(int(r["v"]), int(r.get("i") or 0), int(r["s"]), Decimal(str(r["p"])),
                                   tuple(r.get("o") or ())) for r in rows), int(seed), Decimal(total_points))


def derive_seed(seed: int, attempt: int) -> int:
    """A new 63-bit seed from a seed and an attempt number (for retries and A/B variants)."""
    digest = hashlib.sha256(f"{seed}/{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


# --- areas ------------------------------------------------------------------------------------

_CODE_PARTS = re.compile(r"[.\-]")


@lru_cache(maxsize=65536)
def code_key(code: str) -> tuple:
    """Natural order of element codes: 1.2 < 1.10 < 2."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in _CODE_PARTS.split(str(code)))


def area_parents(pool: Iterable[PoolItem], weights: Mapping[str, Any] = (),
                 extra: Iterable[str] = ()) -> dict[str, str | None]:
    """Parent area of every area the pool's paths (or the weight table) mention.

    Areas known only by code (no items under them) get the longest other known code that
    prefixes theirs (``2.3`` → ``2``), as element codes follow the standard's numbering.
    """
    parents: dict[str, str | None] = {}
    for item in pool:
        previous = None
        for code in item.area_path:
            if code not in parents or parents[code] is None:
                parents[code] = previous
            previous = code
    for code in list(weights) + list(extra):
        if code in parents:
            continue
        candidates = [c for c in set(parents) | set(weights) if c != code and code.startswith(c + ".")]
        parents[code] = max(candidates, key=len) if candidates else None
    return parents


def ancestors(code: str, parents: Mapping[str, str | None]) -> list[str]:
    out, seen = [], set()
    parent = parents.get(code)
    while parent is not None and parent not in seen:
        out.append(parent)
        seen.add(parent)
        parent = parents.get(parent)
    return out


def shares_from_weights(weights: Mapping[str, Any], parents: Mapping[str, str | None]) -> dict[str, Decimal]:
    """The weight table at its finest complete level, as area shares.

    Starting from the weighted areas without a weighted ancestor, an area is replaced by its
    child areas when every child has a weight and the children's weights add up to its own.
    """
    weights = {str(k): Decimal(str(v)) for k, v in weights.items() if v is not None}
    children: dict[str | None, list[str]] = defaultdict(list)
    for code, parent in parents.items():
        children[parent].append(code)

    def weighted_ancestor(code):
        return next((a for a in ancestors(code, parents) if a in weights), None)

    result: dict[str, Decimal] = {}
    stack = sorted((c for c in weights if weighted_ancestor(c) is None), key=code_key)
    while stack:
        code = stack.pop(0)
        kids = children.get(code, [])
        if kids and all(k in weights for k in kids) and sum(weights[k] for k in kids) == weights[code]:
            stack.extend(sorted(kids, key=code_key))
        else:
            result[code] = weights[code]
    return dict(sorted(result.items(), key=lambda kv: code_key(kv[0])))


def area_label(code: str, names: Mapping[str, str]) -> str:
    name = names.get(code)
    return f"{code} {name}" if name else code


def band_label(difficulties: Iterable[int]) -> str:
    """``[3, 4]`` → ``"3–4"``, ``[1, 2, 5]`` → ``"1–2, 5"``."""
    values = sorted(set(difficulties))
    runs: list[list[int]] = []
    for d in values:
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


# --- apportionment --------------------------------------------------------------------------------

def apportion(total: int, ideals: Sequence[Fraction]) -> list[int]:
    """Largest remainder: whole parts first, then one more for the largest remainders (ties:
    the earlier). Negative ideals count as 0; the ideals are scaled to add up to ``total``."""
    ideals = [max(Fraction(x), Fraction(0)) for x in ideals]
    if total <= 0 or not ideals:
        return [0] * len(ideals)
    weight = sum(ideals)
    if weight == 0:
        ideals = [Fraction(1)] * len(ideals)
        weight = Fraction(len(ideals))
    if weight != total:
        ideals = [x * total / weight for x in ideals]
    quotas = [floor(x) for x in ideals]
    left = total - sum(quotas)
    order = sorted(range(len(ideals)), key=lambda i: (-(ideals[i] - quotas[i]), i))
    for i in order[:left]:
        quotas[i] += 1
    return quotas


# --- the plan -----------------------------------------------------------------------------------

Cell = tuple[int, str, int]  # (section index, area code, difficulty or ANY)


@dataclass
class Plan:
    """What every paper of a blueprint contains, computed once from the spec and the pool."""

    spec: BlueprintSpec
    areas: tuple[str, ...]
    shares: dict[str, Decimal]
    #: (section, area) → items.
    area_quota: dict[tuple[int, str], int]
    #: (section, difficulty) → items; None without a difficulty mix.
    difficulty_quota: dict[tuple[int, int], int] | None
    #: (section, area, difficulty or ANY) → items; only cells with items.
    cells: dict[Cell, int]
    #: Items that may fill each cell, by version id.
    candidates: dict[Cell, tuple[PoolItem, ...]]
    #: Core points to cover, and for each the cells where it has items (with those items).
    core_cells: dict[str, dict[Cell, tuple[PoolItem, ...]]]
    issues: tuple[Issue, ...]
    #: Bank items usable per (section, area, difficulty), for the editor's tables.
    available: dict[Cell, int] = field(default_factory=dict)
    #: Area of each usable version id.
    area_of: dict[int, str] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.issues

    def available_in(self, section: int, area: str) -> int:
        """Bank items a section may take from an area (any difficulty)."""
        return sum(n for (s, a, _), n in self.available.items() if s == section and a == area)


def _section_location(index: int, section: Section) -> Message:
    return _l("Section %(number)d (%(title)s)", number=index + 1,
              title=section.title or TYPE_NAMES.get(section.type, _l("Unknown type")))


def _structure_issues(spec: BlueprintSpec, known_areas: set[str], parents: Mapping[str, str | None],
                      shares: Mapping[str, Decimal], from_weights: bool) -> list[Issue]:
    issues: list[Issue] = []
    if not spec.sections:
        issues.append(Issue(_l("The paper has no sections.")))
    seen_types: set[str] = set()
    for index, section in enumerate(spec.sections):
        where = _section_location(index, section)
        if section.type not in QUESTION_TYPES:
            issues.append(Issue(_l("Unknown question type “%(type)s”.", type=section.type), where))
        elif section.type in seen_types:
            issues.append(Issue(_l("Each question type may have one section only."), where))
        seen_types.add(section.type)
        if section.count < 1:
            issues.append(Issue(_l("A section needs at least one item."), where))
        if section.points <= 0:
            issues.append(Issue(_l("Points per item must be more than 0."), where))
        elif section.points != section.points.quantize(Decimal("0.01")):
            issues.append(Issue(_l("Points per item have at most two decimals."), where))
    if spec.total_points <= 0:
        issues.append(Issue(_l("The paper's total must be more than 0 points.")))
    elif spec.sections and spec.section_points != spec.total_points:
        issues.append(Issue(_l("The sections add up to %(points)s points; the paper's total is %(total)s.",
                               points=fmt(spec.section_points), total=fmt(spec.total_points))))
    share_where = _l("Area shares") if not from_weights else _l("Weight table")
    if not shares:
        issues.append(Issue(_l("Give the area shares: the bank has no weight table."), share_where))
    else:
        total = sum(shares.values(), Decimal(0))
        if total != HUNDRED:
            issues.append(Issue(_l("The area shares add up to %(total)s%%; they must add up to 100%%.",
                                   total=fmt(total)), share_where))
        for code, value in sorted(shares.items(), key=lambda kv: code_key(kv[0])):
            if value < 0:
                issues.append(Issue(_l("A share cannot be negative."), _l("Area %(area)s", area=code)))
            if code not in known_areas:
                issues.append(Issue(_l("Area %(area)s is not in the bank's element table.", area=code),
                                    share_where))
            for ancestor in ancestors(code, parents):
                if ancestor in shares:
                    issues.append(Issue(_l("Area %(area)s lies within area %(parent)s, which has a share "
                                           "of its own: give shares to one of them only.",
                                           area=code, parent=ancestor), share_where))
    if spec.difficulty_mix is not None:
        where = _l("Difficulty mix")
        unknown = sorted(d for d in spec.difficulty_mix if d not in DIFFICULTIES)
        if unknown:
            issues.append(Issue(_l("Difficulty goes from 1 to 5."), where))
        if any(v < 0 for v in spec.difficulty_mix.values()):
            issues.append(Issue(_l("A share cannot be negative."), where))
        total = sum(spec.difficulty_mix.values(), Decimal(0))
        if total != HUNDRED:
            issues.append(Issue(_l("The difficulty mix adds up to %(total)s%%; it must add up to 100%%.",
                                   total=fmt(total)), where))
    return issues


def _transport(rows: Mapping[str, int], cols: Mapping[int, int], cap: Mapping[tuple[str, int], int],
               lower: Mapping[tuple[str, int], int], prefer: Mapping[tuple[str, int], Fraction]):
    """Integer table with the given row and column sums, ``lower ≤ cell ≤ cap``.

    Returns ``(table, failures)``; each failure is ``(rows, columns)`` reached by the
    augmenting search from a row that could not be completed: the proof of a shortfall.
    ``lower`` must already fit within the row and column sums.
    """
    row_order = sorted(rows, key=code_key)
    col_order = sorted(cols)
    k = {e: lower.get(e, 0) for e in cap if cap[e] > 0}
    row_sum: Counter = Counter()
    col_sum: Counter = Counter()
    for (r, c), n in k.items():
        row_sum[r] += n
        col_sum[c] += n
    # Proportional start, rounded down: never more than any sum allows.
    for r in row_order:
        for c in col_order:
            e = (r, c)
            if e not in k:
                continue
            add = min(floor(prefer.get(e, 0)) - k[e], cap[e] - k[e], rows[r] - row_sum[r], cols[c] - col_sum[c])
            if add > 0:
                k[e] += add
                row_sum[r] += add
                col_sum[c] += add
    row_cols = {r: sorted((c for c in col_order if (r, c) in k),
                          key=lambda c: (-(prefer.get((r, c), 0)), c)) for r in row_order}
    col_rows = {c: [r for r in row_order if (r, c) in k] for c in col_order}
    failures = []
    for start in row_order:
        while row_sum[start] < rows[start]:
            parent_col: dict[int, str] = {}
            parent_row: dict[str, int | None] = {start: None}
            queue = deque([start])
            end = None
            while queue and end is None:
                r = queue.popleft()
                for c in row_cols[r]:
                    if c in parent_col or k[(r, c)] >= cap[(r, c)]:
                        continue
                    parent_col[c] = r
                    if col_sum[c] < cols[c]:
                        end = c
                        break
                    for r2 in col_rows[c]:
                        if r2 not in parent_row and k[(r2, c)] > lower.get((r2, c), 0):
                            parent_row[r2] = c
                            queue.append(r2)
            if end is None:
                failures.append((frozenset(parent_row), frozenset(parent_col)))
                break
            c = end
            col_sum[c] += 1
            while True:
                r = parent_col[c]
                k[(r, c)] += 1
                back = parent_row[r]
                if back is None:
                    row_sum[r] += 1
                    break
                k[(r, back)] -= 1
                c = back
    return k, failures


def _shortfall_issue(index: int, section: Section, failure, rows, cols, cap, table,
                     all_rows: Collection[str], names: Mapping[str, str], with_mix: bool) -> Issue:
    reached_rows, reached_cols = failure
    allowed = set(cols)
    others = sorted(allowed - set(reached_cols))
    from_reached = sum(cols[c] - sum(table.get((r, c), 0) for r in rows if r not in reached_rows)
                       for c in reached_cols)
    needed = sum(rows[r] for r in reached_rows) - from_reached
    have = sum(cap.get((r, c), 0) for r in reached_rows for c in others)
    items = (TYPE_ITEM if needed == 1 else TYPE_ITEMS).get(section.type, _l("Unknown type"))
    # "of difficulty 1–5" says nothing: then the area simply lacks items of the type
    band = band_label(others) if others and others != [ANY] and others != list(DIFFICULTIES) else ""
    where = _section_location(index, section)
    areas = tuple(area_label(a, names) for a in sorted(reached_rows, key=code_key))
    if set(reached_rows) >= set(all_rows) and len(all_rows) > 1 and with_mix:
        message = _l("The difficulty mix needs %(needed)d %(items)s of difficulty %(band)s; "
                     "the bank has %(available)d in the blueprint's areas.",
                     needed=needed, items=items, band=band, available=have)
    elif len(areas) == 1:
        message = (_l("Area %(area)s needs %(needed)d %(items)s of difficulty %(band)s; the bank has "
                      "%(available)d.", area=areas[0], needed=needed, items=items, band=band,
                      available=have) if band else
                   _l("Area %(area)s needs %(needed)d %(items)s; the bank has %(available)d.",
                      area=areas[0], needed=needed, items=items, available=have))
    else:
        message = (_l("Areas %(areas)s together need %(needed)d %(items)s of difficulty %(band)s; "
                      "the bank has %(available)d.", areas=areas, needed=needed, items=items,
                      band=band, available=have) if band else
                   _l("Areas %(areas)s together need %(needed)d %(items)s; the bank has %(available)d.",
                      areas=areas, needed=needed, items=items, available=have))
    return Issue(message, where, "shortfall")


def _match(points: Sequence[str], options: Mapping[str, Sequence[Cell]], capacity: Mapping[Cell, int]):
    """Assign each point a place in one of its cells (capacities respected), by augmenting
    paths: a full assignment is found whenever one exists. Returns (where, unplaced)."""
    occupants: dict[Cell, list[str]] = defaultdict(list)
    where: dict[str, Cell] = {}
    unplaced = []
    for x in points:
        parent: dict[Cell, tuple[str, Cell | None]] = {}
        queue: deque = deque()
        for c in options.get(x, ()):
            if c not in parent and capacity.get(c, 0) > 0:
                parent[c] = (x, None)
                queue.append(c)
        placed = False
        while queue:
            c = queue.popleft()
            if len(occupants[c]) < capacity[c]:
                while True:
                    p, previous = parent[c]
                    if previous is not None:
                        occupants[previous].remove(p)
                    occupants[c].append(p)
                    where[p] = c
                    if previous is None:
                        break
                    c = previous
                placed = True
                break
            for y in occupants[c]:
                for c2 in options.get(y, ()):
                    if c2 not in parent and capacity.get(c2, 0) > 0:
                        parent[c2] = (y, c)
                        queue.append(c2)
        if not placed:
            unplaced.append(x)
    return where, unplaced


def plan(spec: BlueprintSpec, pool: Iterable[PoolItem], weights: Mapping[str, Any],
         names: Mapping[str, str] | None = None) -> Plan:
    """The exact quotas and cells every paper of ``spec`` follows, or the issues preventing them."""
    names = dict(names or {})
    items = sorted(pool, key=lambda p: p.version_id)
    weights = {str(k): v for k, v in (weights or {}).items() if v is not None}
    parents = area_parents(items, weights, spec.area_shares)
    from_weights = not spec.area_shares
    shares = dict(spec.area_shares) if spec.area_shares else shares_from_weights(weights, parents)
    known = set(names) | set(weights) | {c for it in items for c in it.area_path}
    issues = _structure_issues(spec, known, parents, shares, from_weights)

    positive = {code: v for code, v in shares.items() if v > 0}
    areas = tuple(sorted(positive, key=code_key))
    share_total = sum(positive.values(), Decimal(0))
    area_set = set(areas)
    sections = spec.sections
    first_of_type: dict[str, int] = {}
    usable: list[int] = []
    for index, section in enumerate(sections):
        if section.type in QUESTION_TYPES and section.count >= 1 and section.points > 0 \
                and section.type not in first_of_type:
            first_of_type[section.type] = index
            usable.append(index)
    mix = spec.difficulty_mix
    mix_ok = mix is not None and all(d in DIFFICULTIES for d in mix) and all(v >= 0 for v in mix.values()) \
        and sum(mix.values(), Decimal(0)) > 0

    # Items by (type, area, difficulty); the first share area on the item's path.
    by_cell: dict[tuple[str, str, int], list[PoolItem]] = defaultdict(list)
    area_of: dict[int, str] = {}
    area_by_path: dict[tuple[str, ...], str | None] = {}

    def share_area(path: tuple[str, ...]) -> str | None:
        if path not in area_by_path:
            area_by_path[path] = next((c for c in path if c in area_set), None)
        return area_by_path[path]

    for it in items:
        if it.type not in first_of_type:
            continue
        area = share_area(it.area_path)
        if area is None:
            continue
        area_of[it.version_id] = area
        by_cell[(it.type, area, it.difficulty)].append(it)

    # 2. Area quotas, carrying owed points from section to section.
    area_quota: dict[tuple[int, str], int] = {}
    owed = {a: Fraction(0) for a in areas}
    for s in usable:
        section = sections[s]
        points = Fraction(section.points)
        ideals = [Fraction(section.count) * Fraction(positive[a]) / Fraction(share_total) + owed[a] / points
                  for a in areas]
        quotas = apportion(section.count, ideals)
        for a, q, ideal in zip(areas, quotas, ideals):
            area_quota[(s, a)] = q
            owed[a] = (ideal - q) * points
    # 3. Difficulty quotas, carrying owed items.
    difficulty_quota: dict[tuple[int, int], int] | None = None
    if mix_ok:
        difficulty_quota = {}
        mix_total = Fraction(sum(mix.values(), Decimal(0)))
        owed_d = {d: Fraction(0) for d in DIFFICULTIES}
        for s in usable:
            count = sections[s].count
            ideals = [Fraction(count) * Fraction(mix.get(d, 0)) / mix_total + owed_d[d]
                      if mix.get(d, 0) > 0 else Fraction(0) for d in DIFFICULTIES]
            quotas = apportion(count, ideals)
            for d, q, ideal in zip(DIFFICULTIES, quotas, ideals):
                difficulty_quota[(s, d)] = q
                owed_d[d] = ideal - q if mix.get(d, 0) > 0 else Fraction(0)

    # 4. Cells per section.
    available: dict[Cell, int] = {}
    cells: dict[Cell, int] = {}
    candidates: dict[Cell, tuple[PoolItem, ...]] = {}
    problems: dict[int, tuple] = {}  # section → (rows, cols, cap, prefer)
    shortfalls: list[Issue] = []
    for s in usable:
        section = sections[s]
        rows = {a: area_quota[(s, a)] for a in areas if area_quota[(s, a)] > 0}
        if difficulty_quota is not None:
            cols = {d: difficulty_quota[(s, d)] for d in DIFFICULTIES if difficulty_quota[(s, d)] > 0}
        else:
            cols = {ANY: section.count}
        cap: dict[tuple[str, int], int] = {}
        for a in areas:
            for d in DIFFICULTIES:
                n = len(by_cell.get((section.type, a, d), ()))
                if n:
                    available[(s, a, d)] = n
            if difficulty_quota is not None:
                for d in cols:
                    n = len(by_cell.get((section.type, a, d), ()))
                    if n and a in rows:
                        cap[(a, d)] = n
            else:
                n = sum(len(by_cell.get((section.type, a, d), ())) for d in DIFFICULTIES)
                extra = sum(len(v) for (t, area, d), v in by_cell.items()
                            if t == section.type and area == a and d not in DIFFICULTIES)
                if n + extra and a in rows:
                    cap[(a, ANY)] = n + extra
        prefer = {(a, d): Fraction(rows[a] * cols[d], section.count) for (a, d) in cap}
        table, failures = _transport(rows, cols, cap, {}, prefer)
        problems[s] = (rows, cols, cap, prefer)
        seen = set()
        for failure in failures:
            if failure[0] in seen:
                continue
            seen.add(failure[0])
            shortfalls.append(_shortfall_issue(s, section, failure, rows, cols, cap, table, list(rows),
                                               names, difficulty_quota is not None))
        for (a, d), n in table.items():
            if n > 0:
                cells[(s, a, d)] = n
    issues.extend(shortfalls)

    # 5. Core points.
    core_cells: dict[str, dict[Cell, tuple[PoolItem, ...]]] = {}
    if spec.cover_all_x:
        core_items: dict[str, list[PoolItem]] = defaultdict(list)
        core_area: dict[str, str] = {}
        for it in items:
            if it.importance != "X":
                continue
            area = share_area(it.area_path)
            if area is None:
                continue
            core_area[it.point_code] = area
            core_items[it.point_code].append(it)
        coverage_issues: list[Issue] = []
        options: dict[str, dict[Cell, list[PoolItem]]] = {}
        for x in sorted(core_items, key=code_key):
            opts: dict[Cell, list[PoolItem]] = defaultdict(list)
            for it in core_items[x]:
                s = first_of_type.get(it.type)
                if s is None:
                    continue
                d = it.difficulty if difficulty_quota is not None else ANY
                if difficulty_quota is not None and difficulty_quota.get((s, d), 0) == 0:
                    continue
                opts[(s, core_area[x], d)].append(it)
            options[x] = opts
            if not opts:
                coverage_issues.append(Issue(
                    _l("Core point %(point)s has no items of the paper's types and difficulties, so it "
                       "cannot be covered.", point=area_label(x, names)),
                    _l("Core points"), "coverage"))
        per_area = Counter(core_area[x] for x in options if options[x])
        for a in sorted(per_area, key=code_key):
            places = sum(area_quota.get((s, a), 0) for s in usable)
            if per_area[a] > places:
                coverage_issues.append(Issue(
                    _l("Area %(area)s has %(points)d core points but the paper takes only %(places)d items "
                       "from it, so not every core point can be covered.",
                       area=area_label(a, names), points=per_area[a], places=places),
                    _l("Core points"), "coverage"))
        if not coverage_issues and not shortfalls:
            cells, coverage_issues = _plan_coverage(options, cells, problems, usable, sections,
                                                    area_quota, difficulty_quota, core_area, names)
        issues.extend(coverage_issues)
        for x, opts in options.items():
            core_cells[x] = {c: tuple(v) for c, v in sorted(opts.items()) if cells.get(c, 0) > 0}

    for (s, a, d) in cells:
        t = sections[s].type
        if d == ANY:
            pool_cell = [it for key, v in by_cell.items() if key[0] == t and key[1] == a for it in v]
            pool_cell.sort(key=lambda p: p.version_id)
        else:
            pool_cell = by_cell.get((t, a, d), [])
        candidates[(s, a, d)] = tuple(pool_cell)
    return Plan(spec=spec, areas=areas, shares={a: positive[a] for a in areas}, area_quota=area_quota,
                difficulty_quota=difficulty_quota, cells=dict(sorted(cells.items(), key=_cell_key)),
                candidates=candidates, core_cells=core_cells, issues=tuple(issues), available=available,
                area_of=area_of, names=names)


def _cell_key(kv):
    (s, a, d), _ = kv
    return (s, code_key(a), d)


def _plan_coverage(options, cells, problems, usable, sections, area_quota, difficulty_quota,
                   core_area, names):
    """Cells that leave a place for every core point, or the points that fit nowhere."""
    order = sorted(options, key=lambda x: (len(options[x]), code_key(x)))
    row_taken: Counter = Counter()
    col_taken: Counter = Counter()
    lower: dict[Cell, int] = Counter()
    greedy_ok = True
    for x in order:
        best = None
        for (s, a, d) in sorted(options[x], key=lambda c: (c[0], c[2])):
            room_row = area_quota.get((s, a), 0) - row_taken[(s, a)]
            room_col = (difficulty_quota.get((s, d), 0) if difficulty_quota is not None
                        else sections[s].count) - col_taken[(s, d)]
            if room_row > 0 and room_col > 0:
                score = (room_row, room_col, -s, -d)
                if best is None or score > best[0]:
                    best = (score, (s, a, d))
        if best is None:
            greedy_ok = False
            break
        s, a, d = best[1]
        row_taken[(s, a)] += 1
        col_taken[(s, d)] += 1
        lower[(s, a, d)] += 1
    capacity_options = {x: sorted(options[x], key=lambda c: (c[0], code_key(c[1]), c[2])) for x in order}
    if greedy_ok:
        with_lower: dict[Cell, int] = {}
        complete = True
        for s in usable:
            rows, cols, cap, prefer = problems[s]
            low = {(a, d): n for (s2, a, d), n in lower.items() if s2 == s}
            table, failures = _transport(rows, cols, cap, low, prefer)
            if failures:
                complete = False
                break
            with_lower.update({(s, a, d): n for (a, d), n in table.items() if n > 0})
        if complete:
            return with_lower, []
    # The plain cells, with a matching of the core points into their places.
    _, unplaced = _match(order, capacity_options, cells)
    if not unplaced:
        return cells, []
    issues = []
    for x in sorted(unplaced, key=code_key):
        kinds = sorted({(s, d) for (s, a, d) in options[x]})
        fits = tuple(_l("%(type)s, difficulty %(band)s", type=TYPE_NAMES[sections[s].type],
                        band=str(d)) if d != ANY else TYPE_NAMES[sections[s].type] for s, d in kinds)
        issues.append(Issue(
            _l("Core point %(point)s cannot be covered: its items (%(fits)s) do not fit the places the "
               "paper keeps for area %(area)s after the other core points.",
               point=area_label(x, names), fits=fits, area=area_label(core_area[x], names)),
            _l("Core points"), "coverage"))
    return cells, issues


def check(spec: BlueprintSpec, pool: Iterable[PoolItem], weights: Mapping[str, Any],
          names: Mapping[str, str] | None = None) -> list[Issue]:
    """Every issue of the blueprint against the pool, unrendered (see ``validate``)."""
    return list(plan(spec, pool, weights, names).issues)


def validate(spec: BlueprintSpec, pool: Iterable[PoolItem], weights: Mapping[str, Any],
             names: Mapping[str, str] | None = None, *,
             gettext: Callable[..., str] = english) -> list[Problem]:
    """Every shortfall, located and in plain words, plus structural problems (shares not adding
    up to 100, counts, the points total). Empty when papers can be assembled."""
    return [issue.problem(gettext) for issue in check(spec, pool, weights, names)]


# --- drawing papers ----------------------------------------------------------------------------

def _option_order(item: PoolItem, rng: random.Random, shuffle: bool) -> tuple[str, ...]:
    if not item.option_keys:
        return ()
    free = [k for k in item.option_keys if k not in item.pinned_keys]
    pinned = [k for k in item.option_keys if k in item.pinned_keys]
    if shuffle:
        rng.shuffle(free)
    return tuple(free + pinned)


def _draw(p: Plan, seed: int, exposure: Mapping[int, int]) -> AssembledPaper:
    rng = random.Random(seed)
    spec = p.spec
    rand = rng.random
    seen = exposure.get
    forced: dict[Cell, list[PoolItem]] = defaultdict(list)
    used_points: set[str] = set()
    if p.core_cells:
        order = sorted(p.core_cells, key=code_key)
        rng.shuffle(order)
        options = {}
        for x in order:
            cells = p.core_cells[x]
            options[x] = sorted(cells, key=lambda c: (min(seen(i.version_id, 0) for i in cells[c]), rand()))
        where, unplaced = _match(order, options, p.cells)
        if unplaced:  # cannot happen for a plan without issues
            raise AssemblyError([Issue(_l("Core point %(point)s cannot be covered.", point=unplaced[0]),
                                       None, "coverage")])
        for x in order:
            cell = where[x]
            chosen = min(p.core_cells[x][cell], key=lambda i: (seen(i.version_id, 0), rand()))
            if chosen in forced[cell]:  # two core points never share an item, but be safe
                continue
            forced[cell].append(chosen)
            used_points.add(chosen.point_code)
    by_section: dict[int, list[PoolItem]] = defaultdict(list)
    for cell, k in p.cells.items():
        picked = list(forced.get(cell, ()))
        need = k - len(picked)
        if need > 0:
            taken = {i.version_id for i in picked}
            ranked = sorted(((seen(i.version_id, 0), rand(), i) for i in p.candidates[cell]
                             if i.version_id not in taken), key=lambda t: (t[0], t[1]))
            index = 0
            while need > 0 and index < len(ranked):
                level = ranked[index][0]
                end = index
                while end < len(ranked) and ranked[end][0] == level:
                    end += 1
                group = [t[2] for t in ranked[index:end]]
                fresh = [i for i in group if i.point_code not in used_points]
                for item in fresh + [i for i in group if i.point_code in used_points]:
                    if need == 0:
                        break
                    picked.append(item)
                    used_points.add(item.point_code)
                    need -= 1
                index = end
        by_section[cell[0]].extend(picked)
    paper_items: list[PaperItem] = []
    area_rank = {a: n for n, a in enumerate(p.areas)}
    total = Decimal(0)
    for s, section in enumerate(spec.sections):
        chosen = by_section.get(s, [])
        chosen.sort(key=lambda i: (area_rank.get(p.area_of.get(i.version_id), 0), code_key(i.point_code),
                                   i.difficulty, i.version_id))
        if spec.shuffle_items:
            rng.shuffle(chosen)
        for item in chosen:
            paper_items.append(PaperItem(item.version_id, item.item_id, s, section.points,
                                         _option_order(item, rng, spec.shuffle_options)))
            total += section.points
    return AssembledPaper(tuple(paper_items), seed, total)


def assemble(spec: BlueprintSpec, pool: Iterable[PoolItem], weights: Mapping[str, Any], seed: int,
             exposure: Mapping[int, int] = {}, avoid_orders: Collection[tuple[int, ...]] = (), *,
             prepared: Plan | None = None) -> AssembledPaper:
    """One paper for one candidate.

    ``exposure``: version id → how often it was already given (prefer the least seen);
    ``avoid_orders``: order keys already given in the room (never give the same again).
    Pass ``prepared`` (from ``plan(spec, pool, weights)``) to assemble many papers of one
    blueprint without planning each time; ``pool`` is then not read.

    :raise AssemblyError: the blueprint cannot be met from the pool, or every order the
        blueprint allows is already taken in the room.
    """
    p = prepared if prepared is not None else plan(spec, pool, weights)
    if p.issues:
        raise AssemblyError(p.issues)
    avoid = set(avoid_orders)
    for attempt in range(MAX_ATTEMPTS):
        paper = _draw(p, seed if attempt == 0 else derive_seed(seed, attempt), exposure)
        if paper.order_key() not in avoid:
            return paper
    raise AssemblyError([Issue(_l("Every order this blueprint allows is already given in the room; "
                                  "shuffle items or add items to the bank."), None, "structure")])


def shuffle_fixed(master: AssembledPaper, spec: BlueprintSpec, seed: int,
                  avoid_orders: Collection[tuple[int, ...]] = (), *,
                  pool: Iterable[PoolItem] | Mapping[int, PoolItem] = ()) -> AssembledPaper:
    """A/B mode: the master paper's items, shuffled within sections (and options, pinned last).

    ``pool`` tells which options are pinned; an item missing from it keeps the master's
    option order (never moving a pinned option).

    :raise AssemblyError: every order is already given in the room.
    """
    by_version = pool if isinstance(pool, Mapping) else {i.version_id: i for i in pool}
    avoid = set(avoid_orders)
    for attempt in range(MAX_ATTEMPTS):
        used = seed if attempt == 0 else derive_seed(seed, attempt)
        rng = random.Random(used)
        sections: dict[int, list[PaperItem]] = defaultdict(list)
        for item in master.items:
            sections[item.section].append(item)
        items = []
        for s in sorted(sections):
            group = list(sections[s])
            if spec.shuffle_items:
                rng.shuffle(group)
            for item in group:
                source = by_version.get(item.version_id)
                order = _option_order(source, rng, spec.shuffle_options) if source is not None \
                    else item.option_order
                items.append(PaperItem(item.version_id, item.item_id, item.section, item.points, order))
        paper = AssembledPaper(tuple(items), used, master.total_points)
        if paper.order_key() not in avoid:
            return paper
    raise AssemblyError([Issue(_l("Every order this blueprint allows is already given in the room; "
                                  "shuffle items or add items to the bank."), None, "structure")])


def exposure_of(papers: Iterable[AssembledPaper]) -> Counter:
    """How often each version id was given in ``papers``."""
    counts: Counter = Counter()
    for paper in papers:
        counts.update(i.version_id for i in paper.items)
    return counts


# --- how a paper meets its blueprint ---------------------------------------------------------------

@dataclass(frozen=True)
class CellCount:
    section: int
    area: str
    difficulty: int  # ANY (0) without a difficulty mix
    quota: int
    actual: int
    available: int


def compliance(p: Plan, paper: AssembledPaper, pool: Iterable[PoolItem] | Mapping[int, PoolItem]) -> dict:
    """Counts of ``paper`` per (section, area, difficulty) against the plan's quotas, the core
    points it covers, and whether it meets the blueprint exactly."""
    by_version = pool if isinstance(pool, Mapping) else {i.version_id: i for i in pool}
    actual: Counter = Counter()
    covered = set()
    per_section: Counter = Counter()
    for item in paper.items:
        source = by_version.get(item.version_id)
        per_section[item.section] += 1
        if source is None:
            continue
        d = source.difficulty if p.difficulty_quota is not None else ANY
        actual[(item.section, p.area_of.get(item.version_id, "?"), d)] += 1
        if source.importance == "X":
            covered.add(source.point_code)
    rows = []
    for cell in sorted(set(p.cells) | set(actual), key=lambda c: (c[0], code_key(c[1]), c[2])):
        s, a, d = cell
        available = len(p.candidates.get(cell, ())) or (
            p.available.get(cell, 0) if d != ANY else sum(v for (s2, a2, _), v in p.available.items()
                                                            if (s2, a2) == (s, a)))
        rows.append(CellCount(s, a, d, p.cells.get(cell, 0), actual.get(cell, 0), available))
    core = sorted(p.core_cells, key=code_key)
    sections_ok = all(per_section.get(s, 0) == sec.count for s, sec in enumerate(p.spec.sections))
    return {
        "cells": rows,
        "core_points": len(core),
        "core_covered": sum(1 for x in core if x in covered),
        "meets": sections_ok and all(r.quota == r.actual for r in rows)
        and all(x in covered for x in core)
        and len(set(paper.order_key())) == len(paper.items),
    }
