"""Question banks: banks and their element trees, items and versions, coverage, the pool for
paper assembly.

Every function takes plain data and an ``Actor``; functions that change state check the
actor's role on the bank's organisation, record one audit event and commit once.
Importing and exporting files is in ``exam.banks.imports``.

For other domains:

* ``active_pool(bank_id)``: the active items' current versions with their point, areas,
  importance, difficulty and option keys (one query), for paper assembly;
* ``get_bank(actor, bank_id)`` and ``bank_for(org_id, occupation_id, level)``;
* ``version_usage(org_id, version_ids)``: which sessions' papers used these versions.
"""
from __future__ import annotations

import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..core import audit
from ..core.auth import ADMIN, BANK_EDITOR, Actor, require_org
from ..core.clock import now_utc
from ..core.errors import Conflict, NotFound, Problem, ProblemList, ValidationFailed
from ..core.files import StoredFile, store_file
from ..extensions import db
from . import qtypes
from .formats.fields import MAX_IMAGE_BYTES
from .checks import apply_defaults, fingerprint
from .interchange import IMPORTANCE, ElementNode, ItemData, OptionData
from .levels import LEVEL_NAMES_ZH
from .models import AssessmentElement, Bank, Item, ItemVersion, Occupation

#: Roles that maintain banks; the regulator reads them.
EDITORS = (ADMIN, BANK_EDITOR)
#: A bank should hold at least this many items per assessment point (随机组卷).
MIN_ITEMS_PER_POINT = 4
#: An area is highlighted when its share of the items is this many percentage points below its weight.
WEIGHT_GAP = Decimal("5")
LEVEL_LABELS = {5: _l("Level 5 / basic"), 4: _l("Level 4 / intermediate"), 3: _l("Level 3 / advanced"),
                2: _l("Level 2 / technician"), 1: _l("Level 1 / senior technician")}
#: How a level is written in bank names (data, so always Chinese).
IMPORTANCE_LABELS = {"X": _l("X core"), "Y": _l("Y general"), "Z": _l("Z auxiliary")}
IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


def level_label(level: int) -> str:
    return str(LEVEL_LABELS.get(level, gettext("Level %(n)d", n=level)))


def default_bank_name(occupation_name: str, level: int) -> str:
    return f"{occupation_name}（{LEVEL_NAMES_ZH.get(level, str(level))}）题库"


# --- banks ----------------------------------------------------------------------------------------

def get_bank(actor: Actor, bank_id: int, *, write: bool = False) -> Bank:
    """A bank the actor may read (editors and admins of its body, the regulator) or change.

    :raise NotFound: no such bank, or another organisation's.
    :raise PermissionDenied: the actor's role does not maintain banks.
    """
    bank = db.session.get(Bank, bank_id)
    if bank is None:
        raise NotFound(gettext("No such question bank."))
    require_org(actor, bank.org_id, *EDITORS, write=write)
    return bank


def bank_for(org_id: int, occupation_id: int, level: int) -> Bank | None:
    return db.session.scalar(select(Bank).where(Bank.org_id == org_id, Bank.occupation_id == occupation_id,
                                                Bank.level == level))


@dataclass
class BankSummary:
    bank: Bank
    org_name: str
    active_items: int
    retired_items: int
    points: int
    #: Assessment points with fewer than ``MIN_ITEMS_PER_POINT`` active items.
    short_points: int


def list_banks(actor: Actor, org_id: int | None) -> list[BankSummary]:
    """An organisation's banks with their counts; the regulator may pass None for every body's."""
    from ..accounts.models import Organisation

    if org_id is None and not actor.is_regulator:
        raise NotFound(gettext("Not found."))
    if org_id is not None:
        require_org(actor, org_id, *EDITORS, write=False)
    stmt = select(Bank, Organisation.name).join(Organisation, Organisation.id == Bank.org_id) \
        .join(Occupation, Occupation.id == Bank.occupation_id)
    if org_id is not None:
        stmt = stmt.where(Bank.org_id == org_id)
    rows = db.session.execute(stmt.order_by(Organisation.name, Occupation.code, Bank.level.desc())).all()
    bank_ids = [bank.id for bank, _ in rows]
    if not bank_ids:
        return []
    items = Counter()
    for bank_id, status, count in db.session.execute(
            select(Item.bank_id, Item.status, func.count()).where(Item.bank_id.in_(bank_ids))
            .group_by(Item.bank_id, Item.status)):
        items[(bank_id, status)] = count
    per_point = dict(db.session.execute(
        select(Item.point_id, func.count()).where(Item.bank_id.in_(bank_ids), Item.status == "active")
        .group_by(Item.point_id)).all())
    points, short = Counter(), Counter()
    for point_id, bank_id in db.session.execute(
            select(AssessmentElement.id, AssessmentElement.bank_id)
            .where(AssessmentElement.bank_id.in_(bank_ids), AssessmentElement.is_point.is_(True))):
        points[bank_id] += 1
        if per_point.get(point_id, 0) < MIN_ITEMS_PER_POINT:
            short[bank_id] += 1
    return [BankSummary(bank, org_name, items[(bank.id, "active")], items[(bank.id, "retired")],
                        points[bank.id], short[bank.id]) for bank, org_name in rows]


def occupations() -> list[Occupation]:
    """Every occupation known to the platform (shared by all bodies)."""
    return list(db.session.scalars(select(Occupation).order_by(Occupation.code)))


def get_occupation_by_code(code: str) -> Occupation | None:
    return db.session.scalar(select(Occupation).where(Occupation.code == (code or "").strip()))


@dataclass
class NewBank:
    occupation_code: str
    level: int
    name: str | None = None
    #: Needed only when the occupation is new to the platform.
    occupation_name: str | None = None
    occupation_name_en: str | None = None


def create_bank(actor: Actor, org_id: int, data: NewBank) -> Bank:
    """An empty bank for an occupation and level (the occupation is added when new).

    :raise ValidationFailed: missing occupation name for a new occupation, level not offered.
    :raise Conflict: the body already has a bank for this occupation and level.
    """
    require_org(actor, org_id, *EDITORS)
    problems = ProblemList()
    code = (data.occupation_code or "").strip()
    occupation = get_occupation_by_code(code)
    if not code:
        problems.add(gettext("Enter the occupation code, e.g. 6-31-01-03."), "occupation_code")
    elif occupation is None and not (data.occupation_name or "").strip():
        problems.add(gettext("This occupation is new to the platform: enter its name too."),
                     "occupation_name")
    levels = (occupation.levels if occupation else None) or [5, 4, 3, 2, 1]
    if data.level not in levels:
        problems.add(gettext("The occupation offers levels %(levels)s.",
                             levels=", ".join(str(n) for n in levels)), "level")
    problems.raise_if_any(gettext("The bank was not created."))
    if occupation is None:
        occupation = Occupation(code=code, name=data.occupation_name.strip(),
                                name_en=(data.occupation_name_en or "").strip() or None,
                                levels=[5, 4, 3, 2, 1], work_types=[])
        db.session.add(occupation)
        db.session.flush()
    elif bank_for(org_id, occupation.id, data.level) is not None:
        raise Conflict(gettext("There is already a bank for %(occupation)s at this level.",
                               occupation=occupation.name))
    bank = Bank(org_id=org_id, occupation_id=occupation.id, level=data.level,
                name=(data.name or "").strip() or default_bank_name(occupation.name, data.level))
    db.session.add(bank)
    db.session.flush()
    audit.record("bank.created", actor=actor, obj=bank,
                 data={"occupation": occupation.code, "level": data.level, "name": bank.name})
    db.session.commit()
    return bank


# --- the element tree -----------------------------------------------------------------------------------

@dataclass
class TreeNode:
    """An element of a bank's tree, for pages: its row, children and active items below it."""

    element: AssessmentElement
    children: list["TreeNode"] = field(default_factory=list)
    items: int = 0

    @property
    def is_point(self) -> bool:
        return self.element.is_point

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def _element_rows(bank_id: int) -> list[AssessmentElement]:
    return list(db.session.scalars(select(AssessmentElement).where(AssessmentElement.bank_id == bank_id)
                                   .order_by(AssessmentElement.position, AssessmentElement.id)))


def tree(bank_id: int, *, status: str = "active") -> list[TreeNode]:
    """The bank's tree (roots), each node with the number of items (of ``status``) below it."""
    rows = _element_rows(bank_id)
    counts = dict(db.session.execute(select(Item.point_id, func.count()).where(
        Item.bank_id == bank_id, Item.status == status).group_by(Item.point_id)).all())
    nodes = {row.id: TreeNode(row) for row in rows}
    roots = []
    for row in rows:
        node = nodes[row.id]
        (nodes[row.parent_id].children if row.parent_id in nodes else roots).append(node)

    def total(node: TreeNode) -> int:
        node.items = counts.get(node.element.id, 0) + sum(total(c) for c in node.children)
        return node.items

    for root in roots:
        total(root)
    return roots


def element_nodes(bank_id: int) -> list[ElementNode]:
    """The bank's tree in the interchange form (for merging imports and for exports)."""
    rows = _element_rows(bank_id)
    nodes = {row.id: ElementNode(code=row.code, name=row.name, importance=row.importance,
                                 weight=row.weight) for row in rows}
    roots = []
    for row in rows:
        (nodes[row.parent_id].children if row.parent_id in nodes else roots).append(nodes[row.id])
    return roots


def renumber(bank_id: int) -> None:
    """Recompute every element's position (depth-first order), depth and path. No commit."""
    rows = _element_rows(bank_id)
    children = defaultdict(list)
    for row in rows:
        children[row.parent_id].append(row)
    position = 0

    def visit(row: AssessmentElement, path: list[str]) -> None:
        nonlocal position
        if (row.position, row.depth, row.path) != (position, len(path), path):
            row.position, row.depth, row.path = position, len(path), list(path)
        position += 1
        for child in children[row.id]:
            visit(child, path + [row.code])

    for root in children[None]:
        visit(root, [])


@dataclass
class ElementInput:
    name: str
    #: Points: X, Y or Z. Areas: None.
    importance: str | None = None
    #: Areas: share of theory points in percent. Points: None.
    weight: Decimal | None = None
    code: str | None = None
    parent_id: int | None = None
    is_point: bool = True


def _check_element(problems: ProblemList, data: ElementInput, is_point: bool) -> None:
    if not (data.name or "").strip() or len(data.name.strip()) > 300:
        problems.add(gettext("Enter a name (at most 300 characters)."), "name")
    if is_point and data.importance not in IMPORTANCE:
        problems.add(gettext("Choose the importance: X, Y or Z."), "importance")
    if data.weight is not None and not Decimal("0") <= data.weight <= Decimal("100"):
        problems.add(gettext("A weight is a percentage from 0 to 100."), "weight")


def get_element(actor: Actor, element_id: int, *, write: bool = False) -> AssessmentElement:
    element = db.session.get(AssessmentElement, element_id)
    if element is None:
        raise NotFound(gettext("No such element."))
    get_bank(actor, element.bank_id, write=write)
    return element


def add_element(actor: Actor, bank_id: int, data: ElementInput) -> AssessmentElement:
    """Add an area or an assessment point under ``data.parent_id`` (None: at the top).

    A point that gets a child becomes an area, unless items are attached to it.
    """
    bank = get_bank(actor, bank_id, write=True)
    problems = ProblemList()
    code = (data.code or "").strip()
    if not code or len(code) > 40:
        problems.add(gettext("Enter a code (at most 40 characters), e.g. 2.3.1."), "code")
    elif db.session.scalar(select(AssessmentElement.id).where(AssessmentElement.bank_id == bank.id,
                                                             AssessmentElement.code == code)):
        problems.add(gettext("The code %(code)s is already in the tree.", code=code), "code")
    _check_element(problems, data, data.is_point)
    parent = None
    if data.parent_id is not None:
        parent = db.session.get(AssessmentElement, data.parent_id)
        if parent is None or parent.bank_id != bank.id:
            problems.add(gettext("Choose a parent from this bank's tree."), "parent_id")
        elif parent.is_point and db.session.scalar(select(Item.id).where(Item.point_id == parent.id).limit(1)):
            problems.add(gettext("%(code)s is an assessment point with items: it cannot have sub-elements.",
                                 code=parent.code), "parent_id")
    problems.raise_if_any(gettext("The element was not added."))
    if parent is not None and parent.is_point:
        parent.is_point, parent.importance = False, None
    element = AssessmentElement(
        bank_id=bank.id, parent_id=parent.id if parent else None, code=code, name=data.name.strip(),
        importance=data.importance if data.is_point else None,
        weight=None if data.is_point else data.weight, is_point=data.is_point,
        position=1_000_000, depth=0, path=[])
    db.session.add(element)
    db.session.flush()
    renumber(bank.id)
    audit.record("bank.element_added", actor=actor, obj=element,
                 data={"bank_id": bank.id, "code": code, "name": element.name, "point": data.is_point})
    db.session.commit()
    return element


def update_element(actor: Actor, element_id: int, data: ElementInput) -> AssessmentElement:
    """Rename an element and set a point's importance or an area's weight."""
    element = get_element(actor, element_id, write=True)
    problems = ProblemList()
    _check_element(problems, data, element.is_point)
    problems.raise_if_any(gettext("The element was not saved."))
    before = {"name": element.name, "importance": element.importance,
              "weight": None if element.weight is None else str(element.weight)}
    element.name = data.name.strip()
    if element.is_point:
        element.importance = data.importance
    else:
        element.weight = data.weight
    after = {"name": element.name, "importance": element.importance,
             "weight": None if element.weight is None else str(element.weight)}
    if before == after:
        return element
    audit.record("bank.element_updated", actor=actor, obj=element,
                 data={"code": element.code, "before": before, "after": after})
    db.session.commit()
    return element


# --- items ----------------------------------------------------------------------------------------------

@dataclass
class ItemRow:
    item: Item
    version: ItemVersion
    point: AssessmentElement


@dataclass
class ItemFilter:
    text: str | None = None
    type: str | None = None
    difficulty: int | None = None
    importance: str | None = None
    #: ``active``, ``retired`` or ``all``.
    status: str = "active"
    #: An area or point: items of its subtree.
    element_id: int | None = None


@dataclass
class ItemPage:
    rows: list[ItemRow]
    page: int
    pages: int
    total: int


def _subtree_ids(bank_id: int, element_id: int) -> list[int]:
    rows = db.session.execute(select(AssessmentElement.id, AssessmentElement.parent_id)
                              .where(AssessmentElement.bank_id == bank_id)).all()
    children = defaultdict(list)
    for row_id, parent_id in rows:
        children[parent_id].append(row_id)
    found, stack = [], [element_id]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children[current])
    return found


def search_items(actor: Actor, bank_id: int, filters: ItemFilter, page: int = 1,
                 per_page: int = 50) -> ItemPage:
    """The bank's items matching ``filters``, in tree order."""
    get_bank(actor, bank_id)
    stmt = (select(Item, ItemVersion, AssessmentElement)
            .join(ItemVersion, ItemVersion.id == Item.current_version_id)
            .join(AssessmentElement, AssessmentElement.id == Item.point_id)
            .where(Item.bank_id == bank_id))
    if filters.status in ("active", "retired"):
        stmt = stmt.where(Item.status == filters.status)
    if filters.type:
        stmt = stmt.where(ItemVersion.type == filters.type)
    if filters.difficulty:
        stmt = stmt.where(ItemVersion.difficulty == filters.difficulty)
    if filters.importance:
        stmt = stmt.where(AssessmentElement.importance == filters.importance)
    if filters.element_id:
        stmt = stmt.where(Item.point_id.in_(_subtree_ids(bank_id, filters.element_id)))
    if filters.text and filters.text.strip():
        words = filters.text.strip()
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        condition = ItemVersion.stem.ilike(pattern, escape="\\") | (Item.external_id == words)
        if words.lstrip("#").isdigit():  # "#123": the item number shown on the pages
            condition = condition | (Item.id == int(words.lstrip("#")))
        stmt = stmt.where(condition)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    rows = db.session.execute(stmt.order_by(AssessmentElement.position, Item.id)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return ItemPage([ItemRow(*row) for row in rows], page, pages, total)


def get_item(actor: Actor, item_id: int, *, write: bool = False) -> Item:
    """:raise NotFound: no such item, or another organisation's."""
    item = db.session.get(Item, item_id)
    if item is None:
        raise NotFound(gettext("No such item."))
    get_bank(actor, item.bank_id, write=write)
    return item


def versions(item: Item) -> list[ItemVersion]:
    """Newest first."""
    return sorted(item.versions, key=lambda v: v.version_no, reverse=True)


def author_names(item_versions: list[ItemVersion]) -> dict[int, str]:
    """user id → display name of the versions' authors (imports by the system have none)."""
    from ..accounts.models import User

    ids = {v.created_by for v in item_versions if v.created_by}
    if not ids:
        return {}
    return {u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def ancestors(element: AssessmentElement) -> list[AssessmentElement]:
    """The element's areas from the root."""
    if not element.path:
        return []
    rows = {e.code: e for e in db.session.scalars(select(AssessmentElement).where(
        AssessmentElement.bank_id == element.bank_id, AssessmentElement.code.in_(element.path)))}
    return [rows[code] for code in element.path if code in rows]


def check_image(content_type: str | None, data: bytes) -> tuple[str | None, str | None]:
    """(content type, problem): the image's real type from its bytes."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_IMAGE_BYTES:
        return None, gettext("The stem image is larger than 2 MB.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None, gettext("The stem image is not a PNG, JPEG, GIF or WebP picture.")
    if kind not in IMAGE_FORMATS:
        return None, gettext("The stem image is not a PNG, JPEG, GIF or WebP picture.")
    return IMAGE_FORMATS[kind], None


def _point_of(bank_id: int, point_id: int | None) -> AssessmentElement:
    point = db.session.get(AssessmentElement, point_id) if point_id else None
    if point is None or point.bank_id != bank_id or not point.is_point:
        raise ValidationFailed(gettext("The item was not saved."), problems=[
            Problem(gettext("Choose an assessment point of this bank."), "point_id")])
    return point


def _validated(bank_id: int, content: ItemData, exclude_item_id: int | None) -> str:
    """The content's fingerprint; :raise ValidationFailed: content or duplicate problems."""
    apply_defaults(content)
    problems = qtypes.validate_item(content)
    if problems:
        raise ValidationFailed(gettext("The item was not saved."), problems=problems)
    print_ = fingerprint(content)
    clash = db.session.scalar(
        select(Item.id).join(ItemVersion, ItemVersion.id == Item.current_version_id)
        .where(Item.bank_id == bank_id, Item.status == "active", ItemVersion.fingerprint == print_,
               Item.id != (exclude_item_id or -1)).limit(1))
    if clash is not None:
        raise ValidationFailed(gettext("The item was not saved."), problems=[Problem(gettext(
            "Item #%(id)d already asks the same question.", id=clash))])
    return print_


def _stored_image(content: ItemData) -> int | None:
    if content.stem_image is None:
        return None
    content_type, problem = check_image(*content.stem_image)
    if problem:
        raise ValidationFailed(gettext("The item was not saved."), problems=[Problem(problem, "stem_image")])
    stored = store_file(content.stem_image[1], content_type)
    db.session.flush()
    return stored.id


def _version(item_id: int | None, number: int, content: ItemData, print_: str, image_id: int | None,
             actor: Actor) -> ItemVersion:
    return ItemVersion(
        item_id=item_id, version_no=number, type=content.type, stem=content.stem,
        stem_image_file_id=image_id, options=options_json(content.options), answer=content.answer,
        points=content.points, difficulty=content.difficulty, explanation=content.explanation or None,
        config=dict(content.config or {}), fingerprint=print_, created_by=actor.user_id)


def options_json(options: list[OptionData]) -> list[dict]:
    return [{"key": o.key, "text": o.text, "pin_last": bool(o.pin_last)} for o in options]


def create_item(actor: Actor, bank_id: int, point_id: int, content: ItemData) -> Item:
    """Add an item (version 1) to an assessment point of the bank.

    :raise ValidationFailed: content that does not fit its type, a point of another bank, an
        item that asks the same question as an active one.
    """
    bank = get_bank(actor, bank_id, write=True)
    point = _point_of(bank.id, point_id)
    print_ = _validated(bank.id, content, None)
    image_id = _stored_image(content)
    item = Item(bank_id=bank.id, point_id=point.id, status="active",
                external_id=(content.external_id or None))
    db.session.add(item)
    db.session.flush()
    version = _version(item.id, 1, content, print_, image_id, actor)
    db.session.add(version)
    db.session.flush()
    item.current_version_id = version.id
    audit.record("item.created", actor=actor, obj=item, org_id=bank.org_id,
                 data={"bank_id": bank.id, "point": point.code, "type": content.type,
                       "version_id": version.id})
    db.session.commit()
    return item


def _same_content(version: ItemVersion, content: ItemData, image_id: int | None) -> bool:
    return (version.type, version.stem, version.options, version.answer, Decimal(version.points),
            version.difficulty, version.explanation or None, version.config or {},
            version.stem_image_file_id) == \
        (content.type, content.stem, options_json(content.options), content.answer,
         Decimal(content.points), content.difficulty, content.explanation or None, content.config or {},
         image_id)


def revise_item(actor: Actor, item_id: int, point_id: int, content: ItemData, *,
                keep_image: bool = True) -> ItemVersion | None:
    """Save an edit as a new version (versions never change); move the item to another point.

    ``content.stem_image`` replaces the image; without one, ``keep_image`` keeps the current
    version's. Returns the new version, or None when nothing changed.
    """
    item = get_item(actor, item_id, write=True)
    point = _point_of(item.bank_id, point_id)
    print_ = _validated(item.bank_id, content, item.id)
    current = item.current_version
    image_id = _stored_image(content) if content.stem_image else (
        current.stem_image_file_id if keep_image and current is not None else None)
    moved = point.id != item.point_id
    changed = current is None or not _same_content(current, content, image_id)
    if not moved and not changed:
        return None
    version = None
    if changed:
        number = max((v.version_no for v in item.versions), default=0) + 1
        version = _version(item.id, number, content, print_, image_id, actor)
        db.session.add(version)
        db.session.flush()
        item.current_version_id = version.id
    item.point_id = point.id
    item.updated_at = now_utc()
    audit.record("item.revised", actor=actor, obj=item, org_id=item.bank.org_id,
                 data={"version_no": version.version_no if version else None,
                       "version_id": version.id if version else None,
                       "point": point.code, "moved": moved})
    db.session.commit()
    return version


def retire_item(actor: Actor, item_id: int) -> Item:
    """Leave the item out of new papers; papers that used it keep it."""
    item = get_item(actor, item_id, write=True)
    if item.status == "retired":
        return item
    item.status, item.retired_at = "retired", now_utc()
    audit.record("item.retired", actor=actor, obj=item, org_id=item.bank.org_id)
    db.session.commit()
    return item


def reactivate_item(actor: Actor, item_id: int) -> Item:
    """:raise ValidationFailed: an active item already asks the same question."""
    item = get_item(actor, item_id, write=True)
    if item.status == "active":
        return item
    clash = db.session.scalar(
        select(Item.id).join(ItemVersion, ItemVersion.id == Item.current_version_id)
        .where(Item.bank_id == item.bank_id, Item.status == "active",
               ItemVersion.fingerprint == item.current_version.fingerprint).limit(1))
    if clash is not None:
        raise ValidationFailed(gettext("Item #%(id)d already asks the same question.", id=clash))
    item.status, item.retired_at = "active", None
    audit.record("item.reactivated", actor=actor, obj=item, org_id=item.bank.org_id)
    db.session.commit()
    return item


def content_of(version: ItemVersion) -> ItemData:
    """A version's content in the interchange form (for forms and exports)."""
    return ItemData(type=version.type, stem=version.stem,
                    options=[OptionData(o["key"], o["text"], bool(o.get("pin_last")))
                             for o in version.options or []],
                    answer=version.answer, points=Decimal(version.points), difficulty=version.difficulty,
                    explanation=version.explanation, config=dict(version.config or {}))


def stem_image(actor: Actor, version_id: int) -> StoredFile:
    """:raise NotFound: no such version, no image, or another organisation's."""
    version = db.session.get(ItemVersion, version_id)
    if version is None or version.stem_image_file_id is None:
        raise NotFound(gettext("No such image."))
    get_item(actor, version.item_id)
    return db.session.get(StoredFile, version.stem_image_file_id)


# --- where versions were used ---------------------------------------------------------------------------

@dataclass
class Usage:
    session_id: int
    session_label: str
    papers: int


def version_usage(org_id: int, version_ids: list[int], bank_id: int | None = None) -> dict[int, list[Usage]]:
    """For each version id: the sessions whose papers used it, with how many papers.

    Scans the organisation's papers (``Paper.items`` pins ``{"v": version_id, …}``); callers
    check the actor's access to the organisation first.
    """
    from ..papers.models import Blueprint, Paper
    from ..sessions.models import ExamSession

    wanted = set(version_ids)
    counts: dict[int, Counter] = defaultdict(Counter)
    stmt = select(Paper.session_id, Paper.items).join(Blueprint, Blueprint.id == Paper.blueprint_id) \
        .where(Blueprint.org_id == org_id)
    if bank_id is not None:
        stmt = stmt.where(Blueprint.bank_id == bank_id)
    for session_id, entries in db.session.execute(stmt):
        for version_id in {e.get("v") for e in entries or [] if isinstance(e, dict)} & wanted:
            counts[version_id][session_id] += 1
    session_ids = {s for counter in counts.values() for s in counter}
    labels = {}
    if session_ids:
        labels = {s.id: f"{s.code} {s.name}" for s in db.session.scalars(
            select(ExamSession).where(ExamSession.id.in_(session_ids)))}
    return {version_id: [Usage(s, labels.get(s, f"#{s}"), n) for s, n in sorted(counter.items())]
            for version_id, counter in counts.items()}


def item_usage(actor: Actor, item: Item) -> dict[int, list[Usage]]:
    get_bank(actor, item.bank_id)
    return version_usage(item.bank.org_id, [v.id for v in item.versions], item.bank_id)


# --- coverage ------------------------------------------------------------------------------------------

@dataclass
class PointCoverage:
    node: TreeNode
    by_type: Counter

    @property
    def short(self) -> bool:
        return self.node.items < MIN_ITEMS_PER_POINT


@dataclass
class AreaCoverage:
    node: TreeNode
    depth: int
    items: int
    item_share: Decimal
    points: Decimal
    points_share: Decimal
    short_points: int

    @property
    def weight(self) -> Decimal | None:
        return self.node.element.weight

    @property
    def gap(self) -> bool:
        return self.weight is not None and self.item_share < Decimal(self.weight) - WEIGHT_GAP


@dataclass
class Coverage:
    bank: Bank
    areas: list[AreaCoverage]
    points: list[PointCoverage]
    total_items: int
    total_points: Decimal
    #: Sum of the top-level areas' weights (100 when the table is complete).
    weight_total: Decimal | None

    @property
    def short_points(self) -> int:
        return sum(1 for p in self.points if p.short)


def _share(part, whole) -> Decimal:
    if not whole:
        return Decimal("0")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def coverage(actor: Actor, bank_id: int) -> Coverage:
    """Active items per assessment point (against the four-item rule) and each area's share of
    items and points against its weight (比重表)."""
    bank = get_bank(actor, bank_id)
    roots = tree(bank.id)
    by_point_type: dict[int, Counter] = defaultdict(Counter)
    points_by_point: dict[int, Decimal] = defaultdict(Decimal)
    for point_id, type_, count, points in db.session.execute(
            select(Item.point_id, ItemVersion.type, func.count(), func.sum(ItemVersion.points))
            .join(ItemVersion, ItemVersion.id == Item.current_version_id)
            .where(Item.bank_id == bank.id, Item.status == "active")
            .group_by(Item.point_id, ItemVersion.type)):
        by_point_type[point_id][type_] = count
        points_by_point[point_id] += Decimal(points or 0)
    total_items = sum(r.items for r in roots)
    total_points = sum(points_by_point.values(), Decimal("0"))
    areas, point_rows = [], []

    def visit(node: TreeNode, depth: int) -> tuple[Decimal, int]:
        if node.is_point:
            point_rows.append(PointCoverage(node, by_point_type[node.element.id]))
            return points_by_point[node.element.id], int(node.items < MIN_ITEMS_PER_POINT)
        row = AreaCoverage(node, depth, node.items, _share(node.items, total_items), Decimal("0"),
                           Decimal("0"), 0)
        areas.append(row)
        for child in node.children:
            points, short = visit(child, depth + 1)
            row.points += points
            row.short_points += short
        row.points_share = _share(row.points, total_points)
        return row.points, row.short_points

    for root in roots:
        visit(root, 0)
    weights = [r.element.weight for r in roots if not r.is_point and r.element.weight is not None]
    return Coverage(bank, areas, point_rows, total_items, total_points,
                    sum(weights, Decimal("0")) if weights else None)


# --- the pool for paper assembly ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PoolItem:
    """An active item's current version, as paper assembly needs it."""

    version_id: int
    item_id: int
    type: str
    point_code: str
    #: Codes of the point's ancestor areas, from the root.
    area_codes: tuple[str, ...]
    importance: str | None
    difficulty: int
    #: Option keys in their original order (choice types), else ().
    option_keys: tuple[str, ...]
    #: Keys of options that stay last when shuffled.
    pinned_keys: tuple[str, ...]
    points: Decimal


def active_pool(bank_id: int) -> list[PoolItem]:
    """Every active item's current version in the bank, in tree order (one query).

    No permission check: callers (paper assembly) have checked access to the bank.
    """
    rows = db.session.execute(
        select(ItemVersion.id, Item.id, ItemVersion.type, AssessmentElement.code, AssessmentElement.path,
               AssessmentElement.importance, ItemVersion.difficulty, ItemVersion.options, ItemVersion.points)
        .select_from(Item)
        .join(ItemVersion, ItemVersion.id == Item.current_version_id)
        .join(AssessmentElement, AssessmentElement.id == Item.point_id)
        .where(Item.bank_id == bank_id, Item.status == "active")
        .order_by(AssessmentElement.position, Item.id))
    return [PoolItem(version_id, item_id, type_, code, tuple(path or ()), importance, difficulty,
                     tuple(o["key"] for o in options or ()),
                     tuple(o["key"] for o in options or () if o.get("pin_last")), Decimal(points))
            for version_id, item_id, type_, code, path, importance, difficulty, options, points in rows]
