"""Checking a parsed bank before anything is saved (pure: no database).

The import service (``exam.banks.imports``) reads the file with its format, loads what
the bank already holds, and asks this module:

* ``check_tree``: codes unique, points have an importance, weights add up;
* ``merge_tree``: the file's tree merged by code into the bank's tree;
* ``place_by_category``: items without a point (GIFT, Aiken, Moodle XML, QTI files) become
  areas and points made from their categories;
* ``check_items``: each item fits its question type and names an assessment point;
* ``find_duplicates``: the same item twice in the file, or already in the bank.

Every problem carries the location the format gave (line, row, question number).
"""
from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext

from ..core.errors import Problem
from . import qtypes
from .interchange import IMPORTANCE, ElementNode, ItemData

DEFAULT_DIFFICULTY = 3
#: The area for items of category-less files that have no category either.
UNCATEGORISED = "未分类"
#: Codes of areas made from categories: C1, C2 … (C1.1 for a sub-category); the point of a
#: category is its code followed by ``.0``, so it never collides with a sub-category.
CATEGORY_PREFIX = "C"
MAX_CODE = 40
MAX_NAME = 300
MAX_EXTERNAL_ID = 100
WEIGHT_TOLERANCE = Decimal("0.01")


def fingerprint(item) -> str:
    """SHA-256 of what makes two items duplicates (``qtypes``: normalised stem and options)."""
    return hashlib.sha256(qtypes.get_type(item.type).fingerprint(item).encode("utf-8")).hexdigest()


def apply_defaults(item: ItemData) -> None:
    """Default points (per type) and difficulty (3) where the file gave none."""
    if item.points is None and item.type in qtypes.REGISTRY:
        item.points = qtypes.get_type(item.type).default_points
    if item.difficulty is None:
        item.difficulty = DEFAULT_DIFFICULTY


# --- the element tree -------------------------------------------------------------------------------

def check_tree(roots: list[ElementNode]) -> list[Problem]:
    """Problems with an element tree as a file gives it."""
    problems: list[Problem] = []
    seen: dict[str, ElementNode] = {}
    for root in roots:
        for node, _path in root.walk():
            where = node.location
            if node.code in seen:
                problems.append(Problem(gettext("The code %(code)s is used twice (first at %(first)s).",
                                                code=node.code, first=seen[node.code].location or "?"),
                                        where))
            seen.setdefault(node.code, node)
            if len(node.code) > MAX_CODE:
                problems.append(Problem(gettext("The code %(code)s is longer than %(n)d characters.",
                                                code=node.code, n=MAX_CODE), where))
            if len(node.name) > MAX_NAME:
                problems.append(Problem(gettext("The name of %(code)s is longer than %(n)d characters.",
                                                code=node.code, n=MAX_NAME), where))
            if node.is_point:
                if node.importance not in IMPORTANCE:
                    problems.append(Problem(gettext(
                        "Assessment point %(code)s needs an importance: X (core), Y (general) or Z "
                        "(auxiliary).", code=node.code), where))
                if node.weight is not None:
                    problems.append(Problem(gettext(
                        "%(code)s is an assessment point: weights belong to areas.", code=node.code), where))
            elif node.importance is not None:
                problems.append(Problem(gettext(
                    "%(code)s is an area (it has sub-elements): only assessment points have an "
                    "importance.", code=node.code), where))
    problems += _check_weights(roots, None)
    return problems


def _check_weights(siblings: list[ElementNode], parent: ElementNode | None) -> list[Problem]:
    problems = []
    areas = [n for n in siblings if not n.is_point]
    weighted = [n for n in areas if n.weight is not None]
    if parent is None and weighted:
        if len(weighted) != len(areas):
            missing = ", ".join(n.code for n in areas if n.weight is None)
            problems.append(Problem(gettext("Top-level areas have weights except %(codes)s: give every "
                                            "top-level area a weight, or none.", codes=missing),
                                    areas[0].location))
        elif abs(sum(n.weight for n in weighted) - 100) > WEIGHT_TOLERANCE:
            problems.append(Problem(gettext("The top-level areas' weights add up to %(sum)s, not 100.",
                                            sum=_plain(sum(n.weight for n in weighted))),
                                    areas[0].location))
    elif parent is not None and parent.weight is not None and weighted and len(weighted) == len(areas):
        total = sum(n.weight for n in weighted)
        if abs(total - parent.weight) > WEIGHT_TOLERANCE:
            problems.append(Problem(gettext("The weights under %(code)s add up to %(sum)s, not to its "
                                            "weight %(weight)s.", code=parent.code, sum=_plain(total),
                                            weight=_plain(parent.weight)), parent.location))
    for node in areas:
        problems += _check_weights(node.children, node)
    return problems


def _plain(number: Decimal) -> str:
    return format(Decimal(number).normalize(), "f")


@dataclass
class TreeMerge:
    """The bank's tree after merging a file's tree into it."""

    roots: list[ElementNode]
    #: Codes of nodes the bank did not have.
    added: list[str] = field(default_factory=list)
    #: code → {field: (old, new)} for existing nodes whose name, importance or weight changes.
    changed: dict[str, dict] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def index(self) -> dict[str, ElementNode]:
        return {node.code: node for root in self.roots for node, _ in root.walk()}


def merge_tree(existing: list[ElementNode], incoming: list[ElementNode]) -> TreeMerge:
    """Merge ``incoming`` into a copy of ``existing`` by code.

    A code the bank has keeps its place; the file may rename it and change its importance
    or weight. A new code is added under its parent. A node that is a point in one tree
    and an area in the other, or sits under another parent, is a problem.
    """
    merge = TreeMerge(roots=copy.deepcopy(existing))
    index = merge.index()
    was_point = {code: node.is_point for code, node in index.items()}
    parent_of = {node.code: (path[-1] if path else None)
                 for root in existing for node, path in root.walk()}
    for root in incoming:
        for node, path in root.walk():
            parent_code = path[-1] if path else None
            if node.code in was_point:
                target = index[node.code]
                if parent_of[node.code] != parent_code:
                    merge.problems.append(Problem(gettext(
                        "%(code)s is under %(bank)s in the bank but under %(file)s in the file.",
                        code=node.code, bank=parent_of[node.code] or gettext("the root"),
                        file=parent_code or gettext("the root")), node.location))
                    continue
                if was_point[node.code] != node.is_point:
                    merge.problems.append(Problem(gettext(
                        "%(code)s is an assessment point in the bank; the file makes it an area.",
                        code=node.code) if was_point[node.code] else gettext(
                        "%(code)s is an area in the bank; the file makes it an assessment point.",
                        code=node.code), node.location))
                    continue
                changes = {}
                for name in ("name", "importance", "weight"):
                    new = getattr(node, name)
                    old = getattr(target, name)
                    if new is not None and new != old and not (name == "importance" and not node.is_point):
                        changes[name] = (old, new)
                        setattr(target, name, new)
                if changes:
                    merge.changed[node.code] = changes
                continue
            if parent_code is not None and was_point.get(parent_code):
                merge.problems.append(Problem(gettext(
                    "%(code)s cannot be added under %(parent)s: it is an assessment point in the bank.",
                    code=node.code, parent=parent_code), node.location))
                continue
            if parent_code is not None and parent_code not in index:
                continue  # its parent was refused above
            fresh = ElementNode(code=node.code, name=node.name, importance=node.importance,
                                weight=node.weight, location=node.location)
            (index[parent_code].children if parent_code else merge.roots).append(fresh)
            index[node.code] = fresh
            merge.added.append(node.code)
    return merge


def place_by_category(items: list[ItemData], merge: TreeMerge) -> None:
    """Give items without a point one made from their category path.

    Each category becomes an area (matched by name among the areas at its level, else
    new, coded C1, C2 … and C1.1 below); each category that holds items gets one
    assessment point named like it, coded ``<area>.0``, importance Y. Items without a
    category go to the area 未分类.
    """
    index = merge.index()
    for item in items:
        if item.point_code:
            continue
        area = None
        for name in [p.strip()[:MAX_NAME] for p in item.category_path if p.strip()] or [UNCATEGORISED]:
            siblings = area.children if area is not None else merge.roots
            found = next((n for n in siblings if n.name == name and not n.is_point), None)
            if found is None:
                code = _free_code(area, siblings, index)
                found = ElementNode(code=code, name=name, location=item.location)
                siblings.append(found)
                index[code] = found
                merge.added.append(code)
            area = found
        point = next((n for n in area.children if n.is_point and n.name == area.name), None)
        if point is None:
            code, n = f"{area.code}.0", 0
            while code in index:
                n += 1
                code = f"{area.code}.0.{n}"
            # A new area's point is its only child for now; insert first so sub-areas follow it.
            point = ElementNode(code=code, name=area.name, importance="Y", location=item.location)
            area.children.insert(0, point)
            index[code] = point
            merge.added.append(code)
        item.point_code = point.code


def _free_code(parent: ElementNode | None, siblings: list[ElementNode], index: dict) -> str:
    n = len(siblings) + 1
    while True:
        code = f"{parent.code}.{n}" if parent is not None else f"{CATEGORY_PREFIX}{n}"
        if code not in index:
            return code
        n += 1


# --- items ----------------------------------------------------------------------------------------------

def check_items(items: list[ItemData], points: dict[str, ElementNode]) -> list[Problem]:
    """Each item's content against its type, and its point against the tree."""
    problems: list[Problem] = []
    ids: dict[str, str | None] = {}
    for item in items:
        problems += qtypes.validate_item(item, item.location)
        if not item.point_code:
            problems.append(Problem(gettext("The item names no assessment point."), item.location))
        elif item.point_code not in points:
            problems.append(Problem(gettext("The assessment point %(code)s is not in the element tree.",
                                            code=item.point_code), item.location))
        elif not points[item.point_code].is_point:
            problems.append(Problem(gettext("%(code)s is an area, not an assessment point.",
                                            code=item.point_code), item.location))
        if item.external_id:
            if len(item.external_id) > MAX_EXTERNAL_ID:
                problems.append(Problem(gettext("The id is longer than %(n)d characters.",
                                                n=MAX_EXTERNAL_ID), item.location))
            elif item.external_id in ids:
                problems.append(Problem(gettext("The id %(id)s is used twice (first at %(first)s).",
                                                id=item.external_id, first=ids[item.external_id] or "?"),
                                        item.location))
            ids.setdefault(item.external_id, item.location)
    return problems


@dataclass
class Duplicate:
    index: int  # position of the item in the document's items
    problem: Problem


def find_duplicates(items: list[ItemData], prints: list[str | None], bank_fingerprints: dict[str, int],
                    bank_external_ids: dict[str, int]) -> list[Duplicate]:
    """Items that are already in the bank (by id or content) or earlier in the file.

    ``prints`` are the items' fingerprints (None for items of unknown types).
    """
    found: list[Duplicate] = []
    first_at: dict[str, str | None] = {}
    for index, (item, print_) in enumerate(zip(items, prints)):
        if print_ is None:
            continue
        if item.external_id and item.external_id in bank_external_ids:
            found.append(Duplicate(index, Problem(gettext(
                "Already in the bank as item #%(id)d (same id %(ext)s); not added again.",
                id=bank_external_ids[item.external_id], ext=item.external_id), item.location)))
            continue
        if print_ in bank_fingerprints:
            found.append(Duplicate(index, Problem(gettext(
                "The same question is already in the bank as item #%(id)d; not added again.",
                id=bank_fingerprints[print_]), item.location)))
        elif print_ in first_at:
            found.append(Duplicate(index, Problem(gettext(
                "The same question as at %(first)s; only the first is imported.",
                first=first_at[print_] or "?"), item.location)))
        else:
            first_at[print_] = item.location
    return found
