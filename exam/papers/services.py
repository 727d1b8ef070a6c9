"""Blueprints, papers and practical task specifications: the database side of ``exam.papers``.

Assembly itself is pure (``exam.papers.assembly``); these functions load what it needs,
check who may act, store the result, record the audit event and commit once.

Papers of a session are drawn from a frozen copy of the bank's pool (``PaperPool``), made
when the session's first paper is assembled, so bank edits never reach a session under
way and every paper can be rebuilt from its seed (``rebuild_paper``). A random-mode paper
also depends on the papers made before it in its session (exposure balancing): ``Paper.seq``
records that order.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Iterable, Mapping

from flask_babel import gettext
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import Organisation
from ..banks import qtypes
from ..banks.models import AssessmentElement, Bank, Item, ItemVersion, Occupation
from ..core import audit
from ..core.auth import ADMIN, BANK_EDITOR, PROCTOR, Actor, require_org
from ..core.clock import now_utc
from ..core.errors import Conflict, NotFound, Problem, ProblemList, ValidationFailed
from ..extensions import db
from ..sessions.models import Enrolment, ExamSession
from . import assembly, practical
from .assembly import (AssembledPaper, AssemblyError, BlueprintSpec, Issue, PoolItem, Section, SpecError,
                       code_key)
from .assembly import lazy_message as _l
from .models import Blueprint, Paper, PaperPool, PracticalSpec, PracticalSpecVersion

EDITORS = (ADMIN, BANK_EDITOR)
MODES = ("random", "fixed_ab")
STATUSES = ("draft", "ready", "locked", "archived")
#: Theory exams last at least this long (理论知识考试不少于 90 分钟).
MIN_THEORY_MINUTES = 90
#: Attempts at storing a paper when another request took the same position in the session.
STORE_ATTEMPTS = 5


# --- banks: pool, weights, names ---------------------------------------------------------------

@dataclass
class BankTree:
    """A bank's element tree as blueprints need it."""

    areas: list[dict]  # {"code", "name", "depth", "weight"} in tree order, areas only
    weights: dict[str, Decimal]
    names: dict[str, str]  # every element, areas and points
    parents: dict[str, str | None]  # area code → parent area code
    core_points: dict[str, str]  # X point code → its name
    point_area: dict[str, str | None]  # point code → its area's code


def bank_tree(bank_id: int) -> BankTree:
    rows = db.session.execute(
        select(AssessmentElement.id, AssessmentElement.parent_id, AssessmentElement.code,
               AssessmentElement.name, AssessmentElement.is_point, AssessmentElement.importance,
               AssessmentElement.weight, AssessmentElement.depth, AssessmentElement.position)
        .where(AssessmentElement.bank_id == bank_id)
        .order_by(AssessmentElement.position, AssessmentElement.id)).all()
    code_of = {r.id: r.code for r in rows}
    areas, weights, names, parents, core, point_area = [], {}, {}, {}, {}, {}
    for r in rows:
        names[r.code] = r.name
        if r.is_point:
            point_area[r.code] = code_of.get(r.parent_id)
            if r.importance == "X":
                core[r.code] = r.name
            continue
        parents[r.code] = code_of.get(r.parent_id)
        areas.append({"code": r.code, "name": r.name, "depth": r.depth,
                      "weight": Decimal(r.weight) if r.weight is not None else None})
        if r.weight is not None:
            weights[r.code] = Decimal(r.weight)
    return BankTree(areas, weights, names, parents, core, point_area)


def _banks_active_pool():
    """The banks domain's ``active_pool`` when it offers one."""
    try:
        module = importlib.import_module("exam.banks.services")
    except ModuleNotFoundError as exc:
        if exc.name != "exam.banks.services":
            raise
        return None
    return getattr(module, "active_pool", None)


def _as_pool_item(item) -> PoolItem:
    if isinstance(item, PoolItem):
        return item
    path = getattr(item, "area_path", None)
    if path is None:
        path = getattr(item, "area_codes", ())
    return PoolItem(int(item.version_id), int(item.item_id), item.type, item.point_code, tuple(path or ()),
                    item.importance or "", int(item.difficulty or 3), tuple(item.option_keys or ()),
                    frozenset(item.pinned_keys or ()))


def active_pool(bank_id: int) -> list[PoolItem]:
    """Every active item's current version, with its point's area path, by version id.

    Uses the banks domain's ``active_pool`` when it has one; otherwise one query joins
    items, current versions and points, and the element tree (loaded once) gives the paths.
    """
    provided = _banks_active_pool()
    if provided is not None:
        return sorted((_as_pool_item(i) for i in provided(bank_id)), key=lambda p: p.version_id)
    tree = db.session.execute(select(AssessmentElement.id, AssessmentElement.parent_id,
                                     AssessmentElement.code)
                              .where(AssessmentElement.bank_id == bank_id)).all()
    parent_of = {r.id: r.parent_id for r in tree}
    code_of = {r.id: r.code for r in tree}
    paths: dict[int, tuple[str, ...]] = {}

    def path(point_id: int) -> tuple[str, ...]:
        if point_id not in paths:
            codes, node, seen = [], parent_of.get(point_id), set()
            while node is not None and node not in seen:
                seen.add(node)
                codes.append(code_of[node])
                node = parent_of.get(node)
            paths[point_id] = tuple(reversed(codes))
        return paths[point_id]

    rows = db.session.execute(
        select(Item.id, Item.point_id, ItemVersion.id.label("version_id"), ItemVersion.type,
               ItemVersion.difficulty, ItemVersion.options, AssessmentElement.code,
               AssessmentElement.importance)
        .join(ItemVersion, ItemVersion.id == Item.current_version_id)
        .join(AssessmentElement, AssessmentElement.id == Item.point_id)
        .where(Item.bank_id == bank_id, Item.status == "active")
        .order_by(ItemVersion.id)).all()
    pool = []
    for r in rows:
        options = r.options or []
        pool.append(PoolItem(r.version_id, r.id, r.type, r.code, path(r.point_id), r.importance or "",
                             int(r.difficulty or 3), tuple(o["key"] for o in options),
                             frozenset(o["key"] for o in options if o.get("pin_last"))))
    return pool


# --- lookups -----------------------------------------------------------------------------------

def get_bank(actor: Actor, bank_id: int, *, write: bool = False) -> Bank:
    """:raise NotFound: no such bank, or another organisation's."""
    bank = db.session.get(Bank, bank_id)
    if bank is None:
        raise NotFound(gettext("No such question bank."))
    require_org(actor, bank.org_id, *EDITORS, write=write)
    return bank


def get_blueprint(actor: Actor, blueprint_id: int, *, write: bool = False) -> Blueprint:
    """:raise NotFound: no such blueprint, or another organisation's (the regulator reads all)."""
    blueprint = db.session.get(Blueprint, blueprint_id)
    if blueprint is None:
        raise NotFound(gettext("No such blueprint."))
    require_org(actor, blueprint.org_id, *EDITORS, write=write)
    return blueprint


def list_banks(actor: Actor) -> list[tuple[Bank, str, int]]:
    """The banks the actor may plan papers for: (bank, organisation name, blueprints)."""
    query = (select(Bank, Organisation.name, func.count(Blueprint.id))
             .join(Organisation, Organisation.id == Bank.org_id)
             .outerjoin(Blueprint, Blueprint.bank_id == Bank.id)
             .group_by(Bank.id, Organisation.name).order_by(Organisation.name, Bank.name))
    if not actor.is_regulator and not actor.is_system:
        require_org(actor, actor.org_id, *EDITORS, write=False)
        query = query.where(Bank.org_id == actor.org_id)
    return [tuple(row) for row in db.session.execute(query).all()]


def list_blueprints(actor: Actor, bank_id: int) -> tuple[Bank, list[Blueprint]]:
    bank = get_bank(actor, bank_id)
    blueprints = db.session.scalars(select(Blueprint).where(Blueprint.bank_id == bank.id)
                                    .order_by(Blueprint.created_at.desc(), Blueprint.id.desc())).all()
    return bank, list(blueprints)


def spec_of(blueprint: Blueprint) -> BlueprintSpec:
    """:raise Conflict: the stored spec is damaged (never for blueprints saved by this module)."""
    try:
        return BlueprintSpec.from_dict(blueprint.spec or {})
    except SpecError as exc:
        raise Conflict(gettext("The blueprint's plan cannot be read: %(error)s", error=str(exc))) from None


# --- blueprints ----------------------------------------------------------------------------------

@dataclass
class BlueprintData:
    """What the editor gives for a blueprint."""

    name: str
    spec: BlueprintSpec | Mapping
    mode: str = "random"
    duration_minutes: int = 90
    pass_mark: Decimal | str | int = Decimal("60")


def _check_data(data: BlueprintData) -> tuple[BlueprintSpec, Decimal]:
    problems = ProblemList()
    name = (data.name or "").strip()
    if not name or len(name) > 200:
        problems.add(gettext("Give the blueprint a name (at most 200 characters)."), "name")
    if data.mode not in MODES:
        problems.add(gettext("Choose one random paper per candidate, or fixed A/B papers."), "mode")
    if not isinstance(data.duration_minutes, int) or not 1 <= data.duration_minutes <= 600:
        problems.add(gettext("The duration is 1 to 600 minutes."), "duration_minutes")
    try:
        pass_mark = Decimal(str(data.pass_mark))
    except (InvalidOperation, ValueError):
        pass_mark = Decimal(-1)
    spec = None
    try:
        spec = data.spec if isinstance(data.spec, BlueprintSpec) else BlueprintSpec.from_dict(data.spec)
    except SpecError as exc:
        problems.add(gettext("The plan is not readable: %(error)s", error=str(exc)), "spec")
    if not pass_mark.is_finite() or pass_mark < 0 or (spec is not None and pass_mark > spec.total_points):
        problems.add(gettext("The pass mark is between 0 and the paper's total points."), "pass_mark")
    problems.raise_if_any(gettext("Please correct the marked fields."))
    return spec, pass_mark


def create_blueprint(actor: Actor, bank_id: int, data: BlueprintData) -> Blueprint:
    """A new draft blueprint for a bank (validate it to make it ready).

    :raise ValidationFailed: a field is wrong (name, mode, duration, pass mark, plan shape).
    """
    bank = get_bank(actor, bank_id, write=True)
    spec, pass_mark = _check_data(data)
    blueprint = Blueprint(org_id=bank.org_id, bank_id=bank.id, name=data.name.strip(), status="draft",
                          mode=data.mode, duration_minutes=data.duration_minutes, pass_mark=pass_mark,
                          spec=spec.to_dict(), created_by=actor.user_id)
    db.session.add(blueprint)
    db.session.flush()
    audit.record("blueprint.created", actor=actor, obj=blueprint,
                 data={"bank_id": bank.id, "name": blueprint.name, "mode": blueprint.mode})
    db.session.commit()
    return blueprint


def _refuse_if_locked(blueprint: Blueprint) -> None:
    if blueprint.status in ("locked", "archived"):
        raise Conflict(gettext("This blueprint is used by an exam session and can no longer change; "
                               "make a copy and edit that."), code="locked")


def get_editable_blueprint(actor: Actor, blueprint_id: int) -> Blueprint:
    """:raise Conflict: the blueprint is locked (a session uses it)."""
    blueprint = get_blueprint(actor, blueprint_id, write=True)
    _refuse_if_locked(blueprint)
    return blueprint


def update_blueprint(actor: Actor, blueprint_id: int, data: BlueprintData) -> Blueprint:
    """Change a blueprint; it goes back to draft until validated again.

    :raise Conflict: the blueprint is locked (a session uses it).
    """
    blueprint = get_blueprint(actor, blueprint_id, write=True)
    _refuse_if_locked(blueprint)
    spec, pass_mark = _check_data(data)
    fields = ("name", "mode", "duration_minutes", "pass_mark", "spec")
    before = {f: getattr(blueprint, f) for f in fields}
    blueprint.name = data.name.strip()
    blueprint.mode = data.mode
    blueprint.duration_minutes = data.duration_minutes
    blueprint.pass_mark = pass_mark
    blueprint.spec = spec.to_dict()
    blueprint.status = "draft"
    blueprint.validation = None
    changed = [f for f in fields if getattr(blueprint, f) != before[f]]
    audit.record("blueprint.updated", actor=actor, obj=blueprint, data={"changed": changed})
    db.session.commit()
    return blueprint


def copy_blueprint(actor: Actor, blueprint_id: int, name: str | None = None) -> Blueprint:
    """A draft copy (the way to change a locked blueprint)."""
    source = get_blueprint(actor, blueprint_id, write=True)
    copy = Blueprint(org_id=source.org_id, bank_id=source.bank_id,
                     name=(name or gettext("%(name)s (copy)", name=source.name))[:200], status="draft",
                     mode=source.mode, duration_minutes=source.duration_minutes, pass_mark=source.pass_mark,
                     spec=dict(source.spec), created_by=actor.user_id)
    db.session.add(copy)
    db.session.flush()
    audit.record("blueprint.copied", actor=actor, obj=copy, data={"from": source.id})
    db.session.commit()
    return copy


def _service_issues(blueprint: Blueprint, spec: BlueprintSpec, pool: list[PoolItem], tree: BankTree,
                    p: assembly.Plan) -> list[Issue]:
    """What the pure check cannot see: the exam rules, and core points without any items."""
    issues = []
    if blueprint.duration_minutes < MIN_THEORY_MINUTES:
        issues.append(Issue(_l("A theory exam lasts at least %(minutes)d minutes.", minutes=MIN_THEORY_MINUTES),
                            _l("Duration")))
    if Decimal(blueprint.pass_mark) > spec.total_points:
        issues.append(Issue(_l("The pass mark is higher than the paper's total points."), _l("Pass mark")))
    if blueprint.mode == "fixed_ab" and not spec.shuffle_items:
        issues.append(Issue(_l("With fixed A/B papers, shuffle the items: otherwise neighbours with the same "
                               "variant see the same order."), _l("Mode")))
    if spec.cover_all_x and p.shares:
        with_items = {i.point_code for i in pool}
        for code in sorted(tree.core_points, key=code_key):
            area = tree.point_area.get(code)
            path = [area] + assembly.ancestors(area, tree.parents) if area else []
            if code in with_items or not any(a in p.shares for a in path):
                continue
            issues.append(Issue(_l("Core point %(point)s has no active items, so it cannot be covered.",
                                   point=assembly.area_label(code, tree.names)), _l("Core points"), "coverage"))
    return issues


@dataclass
class Overview:
    """A blueprint with its bank and the plan the bank gives it now (for its page)."""

    blueprint: Blueprint
    bank: Bank
    spec: BlueprintSpec
    plan: assembly.Plan
    tree: BankTree
    pool_size: int
    problems: list[Problem]
    checked_at: datetime | None


def blueprint_overview(actor: Actor, blueprint_id: int) -> Overview:
    blueprint = get_blueprint(actor, blueprint_id)
    spec, pool, tree, p = _bank_plan(blueprint)
    checked = (blueprint.validation or {}).get("checked_at")
    return Overview(blueprint, db.session.get(Bank, blueprint.bank_id), spec, p, tree, len(pool),
                    validation_problems(blueprint), datetime.fromisoformat(checked) if checked else None)


def _bank_plan(blueprint: Blueprint, spec: BlueprintSpec | None = None):
    spec = spec or spec_of(blueprint)
    pool = active_pool(blueprint.bank_id)
    tree = bank_tree(blueprint.bank_id)
    p = assembly.plan(spec, pool, tree.weights, tree.names)
    return spec, pool, tree, p


def check_blueprint(blueprint: Blueprint) -> tuple[list[Issue], dict]:
    """Every issue of the blueprint against its bank now, and a few counts for the page."""
    spec, pool, tree, p = _bank_plan(blueprint)
    issues = list(p.issues) + _service_issues(blueprint, spec, pool, tree, p)
    return issues, {"items": len(pool), "cells": len(p.cells)}


def validate_blueprint(actor: Actor, blueprint_id: int) -> Blueprint:
    """Check the blueprint against its bank and store the outcome (``Blueprint.validation``).

    A clean draft becomes ``ready``; a ready blueprint with problems goes back to draft. A
    locked blueprint stays locked (the outcome is recorded for the editor to see).
    """
    blueprint = get_blueprint(actor, blueprint_id, write=True)
    issues, counts = check_blueprint(blueprint)
    blueprint.validation = {"checked_at": now_utc().isoformat(), "ok": not issues,
                            "issues": [i.to_dict() for i in issues], **counts}
    if blueprint.status in ("draft", "ready"):
        blueprint.status = "ready" if not issues else "draft"
    audit.record("blueprint.validated", actor=actor, obj=blueprint,
                 data={"ok": not issues, "problems": len(issues), "status": blueprint.status})
    db.session.commit()
    return blueprint


def validation_problems(blueprint: Blueprint) -> list[Problem]:
    """The stored validation's problems in the reader's language."""
    stored = (blueprint.validation or {}).get("issues") or []
    return [Issue.from_dict(i).problem(gettext) for i in stored]


def _lock(actor: Actor, blueprint: Blueprint) -> None:
    if blueprint.status == "locked":
        return
    if blueprint.status == "archived":
        raise Conflict(gettext("This blueprint is archived."))
    issues, counts = check_blueprint(blueprint)
    if issues:
        raise ValidationFailed(gettext("The blueprint cannot be used yet: the bank cannot satisfy it."),
                               problems=[i.problem(gettext) for i in issues])
    blueprint.status = "locked"
    blueprint.validation = {"checked_at": now_utc().isoformat(), "ok": True, "issues": [], **counts}
    audit.record("blueprint.locked", actor=actor, obj=blueprint, data={"items": counts["items"]})


def lock_blueprint(actor: Actor, blueprint_id: int) -> Blueprint:
    """Freeze a blueprint because a session uses it (idempotent).

    :raise ValidationFailed: the bank cannot satisfy it (every problem listed).
    """
    blueprint = get_blueprint(actor, blueprint_id, write=True)
    if blueprint.status != "locked":
        _lock(actor, blueprint)
        db.session.commit()
    return blueprint


# --- a sensible default ------------------------------------------------------------------------

#: Share of the theory points by item type in a typical paper (单选 60 %, 判断 20 %, 多选 20 %).
DEFAULT_TYPE_POINTS = (("single", 60), ("true_false", 20), ("multiple", 20))
DEFAULT_TITLES = {"single": "单项选择题", "true_false": "判断题", "multiple": "多项选择题"}
CHINESE_NUMERALS = "一二三四五六七八九十"
#: A common difficulty mix (易 : 较易 : 中 : 较难 : 难 = 1 : 2 : 4 : 2 : 1).
DEFAULT_MIX = {1: Decimal(10), 2: Decimal(20), 3: Decimal(40), 4: Decimal(20), 5: Decimal(10)}
_SCALES = (Decimal(1), Decimal("0.75"), Decimal("0.5"), Decimal("0.4"), Decimal("0.3"), Decimal("0.25"),
           Decimal("0.2"), Decimal("0.15"), Decimal("0.1"), Decimal("0.05"))


def _nice_counts(points: int) -> list[int]:
    """Item counts giving ``points`` with at most two decimals per item, largest first."""
    counts = [n for n in range(points * 2, 0, -1)
              if (Decimal(points) / n) == (Decimal(points) / n).quantize(Decimal("0.01"))]
    return counts


def _default_shares(tree: BankTree, pool: list[PoolItem]) -> dict[str, Decimal]:
    shares = assembly.shares_from_weights(tree.weights, tree.parents)
    if shares:
        return shares
    # No weight table: top-level areas by their number of items, adding up to 100.
    tops = [a["code"] for a in tree.areas if tree.parents.get(a["code"]) is None]
    counts = Counter(i.area_path[0] for i in pool if i.area_path)
    tops = [t for t in tops if counts.get(t)]
    if not tops:
        return {}
    quotas = assembly.apportion(100, [counts[t] for t in tops])
    return {t: Decimal(q) for t, q in zip(tops, quotas) if q}


#: Papers of 100 points tried first when the bank has all three objective types, nearest to the
#: usual 60 single × 1 + 20 true/false × 1 + 10 multiple × 2 first; then smaller ones.
PREFERRED_LAYOUTS = (
    (("single", 60, "1"), ("true_false", 20, "1"), ("multiple", 10, "2")),
    (("single", 50, "1"), ("true_false", 20, "1"), ("multiple", 15, "2")),
    (("single", 50, "1"), ("true_false", 30, "1"), ("multiple", 10, "2")),
    (("single", 40, "1"), ("true_false", 30, "1"), ("multiple", 15, "2")),
    (("single", 40, "1"), ("true_false", 20, "1"), ("multiple", 20, "2")),
    (("single", 30, "2"), ("true_false", 20, "1"), ("multiple", 10, "2")),
    (("single", 25, "2"), ("true_false", 15, "2"), ("multiple", 10, "2")),
    (("single", 20, "2"), ("true_false", 20, "2"), ("multiple", 10, "2")),
)


def default_spec_for_bank(bank_id: int) -> BlueprintSpec:
    """A sensible first blueprint of 100 points: single choice, true/false and multiple choice
    (60 × 1 + 20 × 1 + 10 × 2 when the bank can satisfy it, else the nearest smaller paper
    it can), area shares from the weight table, the common difficulty mix when the bank
    allows it, every core point covered when possible."""
    pool = active_pool(bank_id)
    tree = bank_tree(bank_id)
    shares = _default_shares(tree, pool)
    present = {i.type for i in pool}

    def spec_of_layout(layout, mix, cover: bool) -> BlueprintSpec:
        sections = tuple(Section(qtype, count, Decimal(points),
                                 f"{CHINESE_NUMERALS[n]}、{DEFAULT_TITLES.get(qtype, qtype)}")
                         for n, (qtype, count, points) in enumerate(layout))
        return BlueprintSpec(sections=sections, area_shares=shares, difficulty_mix=mix, cover_all_x=cover)

    layouts = [list(layout) for layout in PREFERRED_LAYOUTS if all(t in present for t, _, _ in layout)]
    # Any bank: the objective types it has, 60/20/20 of the points, fewer items step by step.
    types = [(t, p) for t, p in DEFAULT_TYPE_POINTS if t in present] or [("single", 100)]
    points = assembly.apportion(100, [p for _, p in types])
    wanted = {"single": 60, "true_false": 20, "multiple": 10}
    for scale in _SCALES:
        layout = []
        for (qtype, _), share in zip(types, points):
            target = max(1, int(Decimal(wanted.get(qtype, share)) * scale))
            count = next((n for n in _nice_counts(share) if n <= target), 1)
            layout.append((qtype, count, str(Decimal(share) / count)))
        if layout not in layouts:
            layouts.append(layout)
    for cover in (True, False):
        for layout in layouts:
            for mix in (DEFAULT_MIX, None):
                spec = spec_of_layout(layout, mix, cover)
                if assembly.plan(spec, pool, tree.weights, tree.names).ok:
                    return spec
    return spec_of_layout(layouts[-1], None, False)


# --- papers ---------------------------------------------------------------------------------------

def _pool_fingerprint(rows: list, weights: dict) -> str:
    payload = json.dumps([rows, weights], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _session_pool(session: ExamSession, blueprint: Blueprint) -> PaperPool:
    """The session's frozen pool, made now when it has none."""
    frozen = db.session.scalar(select(PaperPool).where(PaperPool.session_id == session.id,
                                                       PaperPool.blueprint_id == blueprint.id))
    if frozen is not None:
        return frozen
    pool = active_pool(blueprint.bank_id)
    weights = {code: assembly.fmt(v) for code, v in bank_tree(blueprint.bank_id).weights.items()}
    rows = [item.to_row() for item in pool]
    frozen = PaperPool(session_id=session.id, blueprint_id=blueprint.id, bank_id=blueprint.bank_id,
                       items=rows, weights=weights, item_count=len(rows),
                       fingerprint=_pool_fingerprint(rows, weights))
    db.session.add(frozen)
    db.session.flush()
    return frozen


def _pool_items(frozen: PaperPool) -> list[PoolItem]:
    return [PoolItem.from_row(r) for r in frozen.items]


def stored_paper(paper: Paper) -> AssembledPaper:
    return AssembledPaper.from_rows(paper.items, paper.seed, Decimal(paper.total_points))


@dataclass
class _SessionAssembly:
    """Everything needed to assemble a session's papers, loaded once."""

    session: ExamSession
    blueprint: Blueprint
    spec: BlueprintSpec
    frozen: PaperPool
    pool: list[PoolItem]
    plan: assembly.Plan
    next_seq: int
    exposure: Counter = field(default_factory=Counter)
    orders_by_room: dict = field(default_factory=dict)
    masters: dict[str, Paper] = field(default_factory=dict)
    taken: set = field(default_factory=set)  # enrolment ids with a paper

    @classmethod
    def load(cls, actor: Actor, session: ExamSession) -> "_SessionAssembly":
        if session.blueprint_id is None:
            raise Conflict(gettext("The session has no blueprint for its theory paper."))
        blueprint = db.session.get(Blueprint, session.blueprint_id)
        if blueprint is None or blueprint.org_id != session.org_id:
            raise Conflict(gettext("The session's blueprint does not exist."))
        if blueprint.status != "locked":
            _lock(actor, blueprint)
        spec = spec_of(blueprint)
        frozen = _session_pool(session, blueprint)
        pool = _pool_items(frozen)
        p = assembly.plan(spec, pool, frozen.weights)
        if p.issues:
            raise ValidationFailed(gettext("The session's papers cannot be assembled from the bank."),
                                   problems=[i.problem(gettext) for i in p.issues])
        context = cls(session, blueprint, spec, frozen, pool, p, next_seq=1)
        rows = db.session.execute(
            select(Paper.id, Paper.enrolment_id, Paper.variant, Paper.seq, Paper.items, Enrolment.room_id)
            .outerjoin(Enrolment, Enrolment.id == Paper.enrolment_id)
            .where(Paper.session_id == session.id)).all()
        for row in rows:
            context.next_seq = max(context.next_seq, (row.seq or 0) + 1)
            if row.enrolment_id is None:
                continue
            context.taken.add(row.enrolment_id)
            key = tuple(int(i["v"]) for i in row.items)
            context.orders_by_room.setdefault(row.room_id, set()).add(key)
            if blueprint.mode == "random":
                context.exposure.update(key)
        if blueprint.mode == "fixed_ab":
            for master in db.session.scalars(select(Paper).where(Paper.session_id == session.id,
                                                                 Paper.enrolment_id.is_(None))):
                context.masters[master.variant] = master
        return context

    def _row(self, assembled: AssembledPaper, enrolment_id: int | None, variant: str | None) -> dict:
        row = {"blueprint_id": self.blueprint.id, "session_id": self.session.id, "enrolment_id": enrolment_id,
               "variant": variant, "seed": assembled.seed, "items": assembled.to_rows(),
               "total_points": assembled.total_points, "pool_id": self.frozen.id, "seq": self.next_seq,
               "created_at": now_utc()}
        self.next_seq += 1
        return row

    def ensure_masters(self) -> list[dict]:
        """The A and B master papers (B prefers the items A did not show); rows to insert."""
        rows = []
        if "A" not in self.masters:
            a = assembly.assemble(self.spec, self.pool, self.frozen.weights, secrets.randbits(62),
                                  prepared=self.plan)
            rows.append(self._row(a, None, "A"))
        if "B" not in self.masters:
            source = self.masters.get("A")
            a_items = stored_paper(source) if source is not None else \
                AssembledPaper.from_rows(rows[0]["items"], rows[0]["seed"], rows[0]["total_points"])
            b = assembly.assemble(self.spec, self.pool, self.frozen.weights, secrets.randbits(62),
                                  assembly.exposure_of([a_items]), prepared=self.plan)
            rows.append(self._row(b, None, "B"))
        return rows

    def reload_masters(self) -> None:
        self.masters = {m.variant: m for m in db.session.scalars(
            select(Paper).where(Paper.session_id == self.session.id, Paper.enrolment_id.is_(None)))}

    def variant_for(self, enrolment: Enrolment, rank: int) -> str:
        """Neighbours get different variants: by seat number, else by order in the room."""
        if enrolment.seat_no is not None:
            return "A" if enrolment.seat_no % 2 == 1 else "B"
        return "A" if rank % 2 == 0 else "B"

    def paper_row(self, enrolment: Enrolment, rank: int = 0) -> dict:
        """:raise Conflict: every order the blueprint allows is already given in the room."""
        try:
            return self._paper_row(enrolment, rank)
        except AssemblyError as exc:
            raise Conflict(gettext("No paper in an order of its own is left for this room."),
                           problems=[i.problem(gettext) for i in exc.issues]) from None

    def _paper_row(self, enrolment: Enrolment, rank: int) -> dict:
        room_orders = self.orders_by_room.setdefault(enrolment.room_id, set())
        seed = secrets.randbits(62)
        if self.blueprint.mode == "fixed_ab":
            variant = self.variant_for(enrolment, rank)
            master = stored_paper(self.masters[variant])
            assembled = assembly.shuffle_fixed(master, self.spec, seed, room_orders, pool=self.pool)
        else:
            variant = None
            assembled = assembly.assemble(self.spec, self.pool, self.frozen.weights, seed, self.exposure,
                                          room_orders, prepared=self.plan)
            self.exposure.update(assembled.order_key())
        room_orders.add(assembled.order_key())
        self.taken.add(enrolment.id)
        return self._row(assembled, enrolment.id, variant)


def _require_paper_access(actor: Actor, session: ExamSession, enrolment: Enrolment | None = None) -> None:
    if actor.is_system:
        return
    if enrolment is not None and actor.user_id is not None and enrolment.user_id == actor.user_id:
        return
    if not actor.can_act_in(session.org_id, ADMIN, PROCTOR):
        raise NotFound(gettext("No such enrolment."))  # someone else's paper is not revealed


def _sits_theory(enrolment: Enrolment, session: ExamSession) -> bool:
    components = enrolment.components or session.components or []
    return "theory" in components and "theory" in (session.components or [])


def _rank_in_room(enrolment: Enrolment) -> int:
    """Position among the approved candidates of the room (seat, then enrolment order)."""
    ids = db.session.scalars(select(Enrolment.id).where(
        Enrolment.session_id == enrolment.session_id, Enrolment.status == "approved",
        Enrolment.room_id.is_(None) if enrolment.room_id is None else Enrolment.room_id == enrolment.room_id)
        .order_by(Enrolment.seat_no, Enrolment.id)).all()
    return ids.index(enrolment.id) if enrolment.id in ids else len(ids)


def _insert_papers(rows: list[dict]) -> None:
    if rows:
        db.session.execute(insert(Paper), rows)


def _assemble_one(actor: Actor, session: ExamSession, enrolment: Enrolment) -> Paper:
    context = _SessionAssembly.load(actor, session)
    rows = context.ensure_masters() if context.blueprint.mode == "fixed_ab" else []
    if rows:
        _insert_papers(rows)
        context.reload_masters()
    rank = _rank_in_room(enrolment) if context.blueprint.mode == "fixed_ab" else 0
    _insert_papers([context.paper_row(enrolment, rank)])
    paper = db.session.scalar(select(Paper).where(Paper.enrolment_id == enrolment.id))
    audit.record("paper.assembled", actor=actor, obj=paper, org_id=session.org_id,
                 data={"enrolment_id": enrolment.id, "session_id": session.id, "seed": str(paper.seed),
                       "variant": paper.variant, "items": len(paper.items), "seq": paper.seq})
    return paper


def assemble_paper_for_enrolment(actor: Actor, enrolment_id: int) -> Paper:
    """The candidate's theory paper for the enrolment's session, made now when it has none.

    Random mode: a paper of its own, preferring the items least shown in the session and
    never in the order of another paper in the same room. Fixed A/B: the session's A and B
    master papers are made once; the candidate gets one (by seat, else by order in the room),
    shuffled. Calling it again returns the same paper.

    :raise NotFound: no such enrolment (or another organisation's).
    :raise Conflict: the enrolment is not approved, sits no theory, or the session has no blueprint.
    :raise ValidationFailed: the bank cannot satisfy the blueprint.
    """
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(gettext("No such enrolment."))
    session = enrolment.session
    _require_paper_access(actor, session, enrolment)
    for _attempt in range(STORE_ATTEMPTS):
        existing = db.session.scalar(select(Paper).where(Paper.enrolment_id == enrolment.id))
        if existing is not None:
            return existing
        if enrolment.status != "approved":
            raise Conflict(gettext("Only approved enrolments get a paper."))
        if not _sits_theory(enrolment, session):
            raise Conflict(gettext("This candidate does not sit the theory exam in this session."))
        try:
            paper = _assemble_one(actor, session, enrolment)
            db.session.commit()
            return paper
        except IntegrityError:
            # Another request made this candidate's paper, or took the same position in the
            # session, at the same moment: start again from what is stored now.
            db.session.rollback()
    raise Conflict(gettext("The paper could not be stored; please try again."))


def prepare_session_papers(actor: Actor, session_id: int) -> dict:
    """Assemble every approved theory candidate's paper ahead of the exam, in one transaction.

    This is what makes a synchronised start of a thousand candidates cheap: starting an
    attempt then only reads its paper. Idempotent: candidates with a paper keep it.
    """
    session = db.session.get(ExamSession, session_id)
    if session is None:
        raise NotFound(gettext("No such session."))
    require_org(actor, session.org_id, ADMIN)
    context = _SessionAssembly.load(actor, session)
    enrolments = db.session.scalars(select(Enrolment).where(
        Enrolment.session_id == session.id, Enrolment.status == "approved")
        .order_by(Enrolment.room_id, Enrolment.seat_no, Enrolment.id)).all()
    rows = context.ensure_masters() if context.blueprint.mode == "fixed_ab" else []
    if rows:
        _insert_papers(rows)
        context.reload_masters()
    rows = []
    rank_in_room: Counter = Counter()
    existing = 0
    for enrolment in enrolments:
        rank = rank_in_room[enrolment.room_id]
        rank_in_room[enrolment.room_id] += 1
        if not _sits_theory(enrolment, session):
            continue
        if enrolment.id in context.taken:
            existing += 1
            continue
        rows.append(context.paper_row(enrolment, rank))
    _insert_papers(rows)
    audit.record("session.papers_prepared", actor=actor, obj=session,
                 data={"created": len(rows), "existing": existing, "blueprint_id": context.blueprint.id,
                       "pool_id": context.frozen.id})
    db.session.commit()
    return {"created": len(rows), "existing": existing}


def rebuild_paper(paper_id: int) -> AssembledPaper:
    """The paper recomputed from its seed, its session's frozen pool and the papers made
    before it: equal to the stored paper (``stored_paper``) unless something was tampered with.

    :raise NotFound: no such paper.
    :raise Conflict: the paper has no frozen pool (made by other means).
    """
    paper = db.session.get(Paper, paper_id)
    if paper is None:
        raise NotFound(gettext("No such paper."))
    frozen = db.session.get(PaperPool, paper.pool_id) if paper.pool_id else None
    if frozen is None or paper.seq is None:
        raise Conflict(gettext("This paper was not assembled from a frozen pool and cannot be rebuilt."))
    spec = spec_of(paper.blueprint)
    pool = _pool_items(frozen)
    masters = paper.enrolment_id is None
    if paper.variant and not masters:
        master = db.session.scalar(select(Paper).where(Paper.session_id == paper.session_id,
                                                       Paper.enrolment_id.is_(None),
                                                       Paper.variant == paper.variant))
        if master is None:
            raise Conflict(gettext("The session's master paper %(variant)s is missing.", variant=paper.variant))
        return assembly.shuffle_fixed(stored_paper(master), spec, paper.seed, pool=pool)
    before = db.session.scalars(select(Paper.items).where(
        Paper.session_id == paper.session_id, Paper.seq < paper.seq,
        Paper.enrolment_id.is_(None) if masters else Paper.enrolment_id.is_not(None))).all()
    exposure = Counter(int(i["v"]) for items in before for i in items)
    return assembly.assemble(spec, pool, frozen.weights, paper.seed, exposure)


def paper_matches_rebuild(paper_id: int) -> tuple[bool, AssembledPaper, AssembledPaper]:
    paper = db.session.get(Paper, paper_id)
    if paper is None:
        raise NotFound(gettext("No such paper."))
    rebuilt = rebuild_paper(paper_id)
    stored = stored_paper(paper)
    return stored == rebuilt, stored, rebuilt


def _item_views(rows: Iterable[Mapping], spec: BlueprintSpec) -> list[dict]:
    rows = list(rows)
    ids = [int(r["v"]) for r in rows]
    versions = {v.id: v for v in db.session.scalars(select(ItemVersion).where(ItemVersion.id.in_(ids)))}
    views = []
    for position, row in enumerate(rows):
        version = versions[int(row["v"])]
        view = qtypes.get_type(version.type).candidate_view(version, list(row.get("o") or []))
        section = spec.sections[int(row["s"])] if int(row["s"]) < len(spec.sections) else None
        view.update(position=position, number=position + 1, section=int(row["s"]),
                    section_title=(section.title if section else "") or "",
                    points=assembly.fmt(Decimal(str(row["p"]))),
                    image_file_id=version.stem_image_file_id)
        views.append(view)
    return views


def paper_view(paper: Paper) -> list[dict]:
    """What the candidate sees, item by item in order: stem, options by display label,
    blanks, points. Never the answers. (Callers check who is asking.)"""
    return _item_views(paper.items, spec_of(paper.blueprint))


@dataclass
class Sample:
    blueprint: Blueprint
    spec: BlueprintSpec
    plan: assembly.Plan
    paper: AssembledPaper | None
    views: list[dict]
    compliance: dict | None
    problems: list[Problem]


def sample_paper(actor: Actor, blueprint_id: int, seed: int | None = None) -> Sample:
    """A paper assembled from the bank as it is now, as a candidate would see it, with how it
    meets the blueprint. Nothing is stored."""
    blueprint = get_blueprint(actor, blueprint_id)
    spec, pool, tree, p = _bank_plan(blueprint)
    if p.issues:
        return Sample(blueprint, spec, p, None, [], None, [i.problem(gettext) for i in p.issues])
    seed = seed if seed is not None else secrets.randbits(62)
    try:
        paper = assembly.assemble(spec, pool, tree.weights, seed, prepared=p)
    except AssemblyError as exc:
        return Sample(blueprint, spec, p, None, [], None, [i.problem(gettext) for i in exc.issues])
    return Sample(blueprint, spec, p, paper, _item_views(paper.to_rows(), spec),
                  assembly.compliance(p, paper, pool), [])


# --- practical task specifications ------------------------------------------------------------------

def load_practical_spec_yaml(data: bytes) -> tuple[dict, list[Problem]]:
    """Parse and check a ``skillcert-practical/1`` file. The content carries the file's
    ``occupation`` and ``level`` besides ``choose`` and ``tasks``; problems are located by line."""
    content, header, problems = practical.load_yaml(data)
    return {**header, **content}, problems


def occupations() -> list[Occupation]:
    return list(db.session.scalars(select(Occupation).order_by(Occupation.code)))


def occupation_of(spec: PracticalSpec) -> Occupation:
    return db.session.get(Occupation, spec.occupation_id)


def list_practical_specs(actor: Actor) -> list[tuple[PracticalSpec, Occupation, PracticalSpecVersion | None]]:
    query = (select(PracticalSpec, Occupation, PracticalSpecVersion)
             .join(Occupation, Occupation.id == PracticalSpec.occupation_id)
             .outerjoin(PracticalSpecVersion, PracticalSpecVersion.id == PracticalSpec.current_version_id)
             .order_by(PracticalSpec.org_id, Occupation.code, PracticalSpec.level.desc()))
    if not actor.is_regulator and not actor.is_system:
        require_org(actor, actor.org_id, *EDITORS, write=False)
        query = query.where(PracticalSpec.org_id == actor.org_id)
    return [tuple(row) for row in db.session.execute(query).all()]


def get_practical_spec(actor: Actor, spec_id: int, *, write: bool = False) -> PracticalSpec:
    spec = db.session.get(PracticalSpec, spec_id)
    if spec is None:
        raise NotFound(gettext("No such practical specification."))
    require_org(actor, spec.org_id, *EDITORS, write=write)
    return spec


def practical_versions(spec: PracticalSpec) -> list[PracticalSpecVersion]:
    return list(db.session.scalars(select(PracticalSpecVersion).where(PracticalSpecVersion.spec_id == spec.id)
                                   .order_by(PracticalSpecVersion.version_no.desc())))


def get_practical_version(actor: Actor, spec_id: int, version_no: int) -> tuple[PracticalSpec, PracticalSpecVersion]:
    spec = get_practical_spec(actor, spec_id)
    version = db.session.scalar(select(PracticalSpecVersion).where(
        PracticalSpecVersion.spec_id == spec.id, PracticalSpecVersion.version_no == version_no))
    if version is None:
        raise NotFound(gettext("No such version."))
    return spec, version


def _checked_content(content: Mapping) -> dict:
    normalised, problems = practical.validate_content(dict(content))
    if problems:
        raise ValidationFailed(gettext("The practical specification has problems; nothing was saved."),
                               problems=problems)
    return normalised


def _new_version(actor: Actor, spec: PracticalSpec, content: dict) -> PracticalSpecVersion:
    number = (db.session.scalar(select(func.max(PracticalSpecVersion.version_no))
                                .where(PracticalSpecVersion.spec_id == spec.id)) or 0) + 1
    version = PracticalSpecVersion(spec_id=spec.id, version_no=number, content=content,
                                   created_by=actor.user_id)
    db.session.add(version)
    db.session.flush()
    spec.current_version_id = version.id
    return version


def _occupation_by_code(code: str) -> Occupation:
    occupation = db.session.scalar(select(Occupation).where(Occupation.code == (code or "").strip()))
    if occupation is None:
        raise ValidationFailed(gettext("Unknown occupation %(code)s: import its question bank first.",
                                       code=code), problems=[Problem(gettext("Unknown occupation."), "occupation")])
    return occupation


def _check_level(occupation: Occupation, level: int) -> None:
    if occupation.levels and level not in occupation.levels:
        raise ValidationFailed(gettext("%(occupation)s has no level %(level)s.", occupation=occupation.name,
                                       level=level), problems=[Problem(gettext("Unknown level."), "level")])


def import_practical_spec(actor: Actor, org_id: int, occupation_code: str, level: int,
                          content: Mapping) -> PracticalSpecVersion:
    """Create or update an organisation's practical spec for an occupation and level.

    A new immutable version is made only when the content differs from the current one.

    :raise ValidationFailed: the content breaks a rule (every problem listed), or the
        occupation or level is unknown.
    """
    require_org(actor, org_id, *EDITORS)
    normalised = _checked_content(content)
    occupation = _occupation_by_code(occupation_code)
    _check_level(occupation, level)
    spec = db.session.scalar(select(PracticalSpec).where(PracticalSpec.org_id == org_id,
                                                         PracticalSpec.occupation_id == occupation.id,
                                                         PracticalSpec.level == level))
    if spec is None:
        spec = PracticalSpec(org_id=org_id, occupation_id=occupation.id, level=level)
        db.session.add(spec)
        db.session.flush()
    elif spec.current_version is not None and spec.current_version.content == normalised:
        return spec.current_version
    version = _new_version(actor, spec, normalised)
    audit.record("practical_spec.imported", actor=actor, obj=spec, org_id=org_id,
                 data={"occupation": occupation.code, "level": level, "version": version.version_no,
                       **practical.summary(normalised)})
    db.session.commit()
    return version


def create_practical_spec(actor: Actor, org_id: int, occupation_code: str, level: int,
                          content: Mapping) -> PracticalSpecVersion:
    """A new practical spec from the editor.

    :raise Conflict: the organisation already has one for this occupation and level.
    """
    require_org(actor, org_id, *EDITORS)
    occupation = _occupation_by_code(occupation_code)
    exists = db.session.scalar(select(PracticalSpec.id).where(PracticalSpec.org_id == org_id,
                                                              PracticalSpec.occupation_id == occupation.id,
                                                              PracticalSpec.level == level))
    if exists is not None:
        raise Conflict(gettext("There is already a practical specification for this occupation and level; "
                               "edit it instead."))
    return import_practical_spec(actor, org_id, occupation_code, level, content)


def save_practical_spec_version(actor: Actor, spec_id: int, content: Mapping) -> PracticalSpecVersion:
    """Save an edit as a new immutable version (unchanged content makes none).

    :raise ValidationFailed: every problem, located by task and item code.
    """
    spec = get_practical_spec(actor, spec_id, write=True)
    normalised = _checked_content(content)
    if spec.current_version is not None and spec.current_version.content == normalised:
        return spec.current_version
    version = _new_version(actor, spec, normalised)
    audit.record("practical_spec.version_saved", actor=actor, obj=spec,
                 data={"version": version.version_no, **practical.summary(normalised)})
    db.session.commit()
    return version
