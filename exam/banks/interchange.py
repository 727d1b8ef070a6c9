"""The interchange form of a question bank: what every import format produces and every export
format consumes (pure data, no database).

A format's ``parse`` turns a file into a ``BankDocument`` and never raises on bad
content: it records each problem with its location (``"line 12"``, ``"row 7, 答案"``,
``"question 3"``) and keeps going, so the user sees every problem at once. The import
service then validates items with the question-type registry (``exam.banks.qtypes``)
and imports all or nothing.

Item content conventions (shared with ``qtypes``):

* ``type``: ``single``, ``multiple``, ``true_false``, ``fill_blank``, ``short_answer``.
* ``options``: for ``single`` and ``multiple``, in order, keyed ``A``, ``B``, … (at most ``F``).
* ``answer``: ``single`` → ``"B"``; ``multiple`` → ``["A", "C"]``; ``true_false`` →
  ``True``/``False``; ``fill_blank`` → one list of accepted alternatives per blank,
  e.g. ``[["安培", "A"], ["伏特"]]``; ``short_answer`` → the reference answer text (or None).
* ``fill_blank`` stems mark each blank as ``[[1]]``, ``[[2]]`` … in order.
* ``points``: the item's default points (a paper's blueprint may override them).
* ``config``: type-specific settings: ``{"scoring": "partial"}`` for multiple choice with
  partial credit, ``{"case_sensitive": True}`` for fill-in-the-blank.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext

from ..core.errors import Problem

QUESTION_TYPES = ("single", "multiple", "true_false", "fill_blank", "short_answer")
IMPORTANCE = ("X", "Y", "Z")
OPTION_KEYS = "ABCDEF"


@dataclass
class OccupationData:
    """An occupation of the national classification (国家职业分类大典)."""

    code: str  # e.g. "6-31-01-03"
    name: str  # Chinese name, e.g. "电工"
    name_en: str | None = None
    levels: list[int] = field(default_factory=list)  # levels offered, e.g. [5, 4, 3, 2, 1]
    work_types: list[str] = field(default_factory=list)  # 工种/职业方向; empty → printed "--"


@dataclass
class ElementNode:
    """An assessment area (with children) or an assessment point (a leaf with an importance)."""

    code: str  # e.g. "2.3.1"; unique within the tree
    name: str
    importance: str | None = None  # X core, Y general, Z auxiliary: points only
    weight: Decimal | None = None  # share of theory points in percent (比重表): areas only
    children: list["ElementNode"] = field(default_factory=list)
    location: str | None = None  # where it was defined in the file

    @property
    def is_point(self) -> bool:
        return not self.children

    def walk(self, path: tuple[str, ...] = ()):
        """Yield ``(node, ancestors' codes)`` depth first."""
        yield self, path
        for child in self.children:
            yield from child.walk(path + (self.code,))


@dataclass
class OptionData:
    key: str  # "A" … "F"
    text: str
    #: Keep this option last when options are shuffled ("以上都对", "以上都不对").
    pin_last: bool = False


@dataclass
class ItemData:
    type: str
    stem: str
    options: list[OptionData] = field(default_factory=list)
    answer: Any = None
    points: Decimal | None = None
    difficulty: int | None = None  # 1 (easiest) … 5
    point_code: str | None = None  # the assessment point this item tests
    explanation: str | None = None
    config: dict = field(default_factory=dict)
    #: Where the item is in the source file: "line 40", "row 12", "question 7".
    location: str | None = None
    #: An identifier from the source system, kept for round trips and duplicate reports.
    external_id: str | None = None
    #: Category path from formats that have categories (GIFT, Moodle XML): becomes areas
    #: when the file has no element tree.
    category_path: list[str] = field(default_factory=list)
    #: Stem image: (content type, bytes), when the format carries one.
    stem_image: tuple[str, bytes] | None = None


@dataclass
class BankDocument:
    """One occupation and level's element tree, weight table and items, as read from a file."""

    occupation: OccupationData | None = None
    level: int | None = None
    #: The bank's name when the file carries one (else the importer names it).
    bank_name: str | None = None
    elements: list[ElementNode] = field(default_factory=list)
    items: list[ItemData] = field(default_factory=list)
    #: Errors: anything that must stop the import.
    problems: list[Problem] = field(default_factory=list)
    #: Question types the source format has but SkillCert does not (matching, ordering,
    #: numeric…): each names the type and the position. They stop the import unless the
    #: user asks to skip unsupported questions.
    unsupported: list[Problem] = field(default_factory=list)
    #: Worth telling, but not stopping the import (e.g. feedback text that was dropped).
    warnings: list[Problem] = field(default_factory=list)
    #: Name of the format the document was read from.
    source_format: str | None = None

    def error(self, message: str, location: str | None = None) -> None:
        self.problems.append(Problem(message, location))

    def warn(self, message: str, location: str | None = None) -> None:
        self.warnings.append(Problem(message, location))

    def not_supported(self, type_name: str, location: str | None = None) -> None:
        self.unsupported.append(Problem(
            gettext("question type “%(type)s” is not supported", type=type_name), location))

    def points(self) -> list[ElementNode]:
        return [node for root in self.elements for node, _ in root.walk() if node.is_point]
