"""Fixtures for the papers domain: banks, sessions and enrolments inserted directly as rows."""
from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import insert, select, update

from exam.banks.models import AssessmentElement, Bank, Item, ItemVersion, Occupation
from exam.core.auth import Actor
from exam.extensions import db
from exam.sessions.models import Enrolment, ExamSession, Room

_serial = itertools.count(1)

#: (code, name, weight, children) — the electrician level-5 outline, shortened.
TREE = [
    ("1", "基本要求", Decimal(30), [
        ("1.1", "职业道德", Decimal(10), [("1.1.1", "职业道德基本知识", "X"), ("1.1.2", "职业守则", "Y")]),
        ("1.2", "基础知识", Decimal(20), [("1.2.1", "电工基础知识", "X"), ("1.2.2", "电子技术基础", "Y"),
                                       ("1.2.3", "安全知识", "Z")]),
    ]),
    ("2", "相关知识", Decimal(70), [
        ("2.1", "电工仪表", Decimal(40), [("2.1.1", "万用表的使用", "X"), ("2.1.2", "兆欧表的使用", "Y"),
                                      ("2.1.3", "钳形电流表", "Y")]),
        ("2.2", "电气控制", Decimal(30), [("2.2.1", "低压电器", "X"), ("2.2.2", "控制线路", "Y")]),
    ]),
]


def actor_for(user, org, *roles: str) -> Actor:
    return Actor(user_id=user.id, org_id=org.id, roles=frozenset(roles), label=user.username)


def occupation(code: str = "6-31-01-03", name: str = "电工") -> Occupation:
    found = db.session.scalar(select(Occupation).where(Occupation.code == code))
    if found is None:
        found = Occupation(code=code, name=name, levels=[5, 4, 3, 2, 1], work_types=[])
        db.session.add(found)
        db.session.flush()
    return found


def make_bank(org, *, level: int = 5, per_cell: int = 2, types=("single", "true_false", "multiple"),
              difficulties=(1, 2, 3, 4, 5), tree=TREE, weights: bool = True) -> Bank:
    """A bank with the outline above and ``per_cell`` items per point, type and difficulty."""
    occ = occupation()
    bank = Bank(org_id=org.id, occupation_id=occ.id, level=level, name=f"电工（{level}级）题库 {next(_serial)}")
    db.session.add(bank)
    db.session.flush()
    position = itertools.count()
    has_path = hasattr(AssessmentElement, "path")

    def element(code, name, parent, depth, path, **kw):
        node = AssessmentElement(bank_id=bank.id, parent_id=parent.id if parent else None, code=code, name=name,
                                 position=next(position), depth=depth, **kw)
        if has_path:
            node.path = list(path)
        db.session.add(node)
        db.session.flush()
        return node

    points = []
    for code, name, weight, children in tree:
        top = element(code, name, None, 0, (), weight=weight if weights else None)
        for sub_code, sub_name, sub_weight, leaves in children:
            sub = element(sub_code, sub_name, top, 1, (code,), weight=sub_weight if weights else None)
            for leaf_code, leaf_name, importance in leaves:
                points.append(element(leaf_code, leaf_name, sub, 2, (code, sub_code), importance=importance,
                                      is_point=True))
    specs = [(point, qtype, difficulty) for point in points for qtype in types for difficulty in difficulties
             for _ in range(per_cell)]
    item_ids = db.session.scalars(
        insert(Item).returning(Item.id, sort_by_parameter_order=True),
        [{"bank_id": bank.id, "point_id": point.id, "status": "active", "external_id": f"T-{next(_serial)}"}
         for point, _, _ in specs]).all()
    version_ids = db.session.scalars(
        insert(ItemVersion).returning(ItemVersion.id, sort_by_parameter_order=True),
        [{"item_id": item_id, "version_no": 1, **_content(point, qtype, difficulty)}
         for item_id, (point, qtype, difficulty) in zip(item_ids, specs)]).all()
    db.session.execute(update(Item), [{"id": i, "current_version_id": v} for i, v in zip(item_ids, version_ids)])
    db.session.commit()
    return bank


def _content(point: AssessmentElement, qtype: str, difficulty: int, pin_last: bool = False) -> dict:
    n = next(_serial)
    stem = f"{point.name}：第 {n} 题（　　）。"
    if qtype in ("single", "multiple"):
        options = [{"key": k, "text": f"选项{k}{n}", "pin_last": pin_last and k == "D"} for k in "ABCD"]
        answer = "B" if qtype == "single" else ["A", "C"]
    elif qtype == "true_false":
        options, answer = [], n % 2 == 0
    elif qtype == "fill_blank":
        stem, options, answer = f"{point.name}的单位是[[1]]（{n}）。", [], [["安培"]]
    else:
        options, answer = [], "参考答案"
    return {"type": qtype, "stem": stem, "options": options, "answer": answer, "points": Decimal(1),
            "difficulty": difficulty, "config": {}, "fingerprint": hashlib.sha256(stem.encode()).hexdigest()}


def add_item(bank: Bank, point: AssessmentElement, qtype: str, difficulty: int = 3, *, pin_last: bool = False,
             status: str = "active") -> Item:
    item = Item(bank_id=bank.id, point_id=point.id, status=status, external_id=f"T-{next(_serial)}")
    db.session.add(item)
    db.session.flush()
    version = ItemVersion(item_id=item.id, version_no=1, **_content(point, qtype, difficulty, pin_last))
    db.session.add(version)
    db.session.flush()
    item.current_version_id = version.id
    return item


def make_session(org, blueprint_id: int | None, *, code: str | None = None) -> ExamSession:
    session = ExamSession(org_id=org.id, occupation_id=occupation().id, level=5, name="电工五级理论考试",
                          code=code or f"S-{next(_serial)}", status="published", components=["theory", "practical"],
                          blueprint_id=blueprint_id)
    db.session.add(session)
    db.session.commit()
    return session


def add_room(session: ExamSession, name: str = "第一考场", capacity: int = 40) -> Room:
    room = Room(session_id=session.id, name=name, capacity=capacity)
    db.session.add(room)
    db.session.commit()
    return room


def enrol(session: ExamSession, user, *, room: Room | None = None, seat: int | None = None,
          status: str = "approved") -> Enrolment:
    enrolment = Enrolment(session_id=session.id, user_id=user.id, status=status, components=["theory"],
                          room_id=room.id if room else None, seat_no=seat)
    db.session.add(enrolment)
    db.session.commit()
    return enrolment


@dataclass
class Env:
    org: object
    editor: object
    admin: object
    bank: Bank
    editor_actor: Actor
    admin_actor: Actor


@pytest.fixture
def env(factory) -> Env:
    org = factory.org()
    editor = factory.user(org, "bank_editor")
    admin = factory.user(org, "admin")
    bank = make_bank(org)
    return Env(org, editor, admin, bank, actor_for(editor, org, "bank_editor"), actor_for(admin, org, "admin"))


@pytest.fixture(autouse=True)
def _break_item_version_cycle(request):
    """Items and their current versions refer to each other; the shared clean-up deletes
    table by table, which SQLite's foreign keys refuse while ``current_version_id`` is set."""
    yield
    if "app" not in request.fixturenames:
        return
    with request.getfixturevalue("app").app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            connection.execute(update(Item).values(current_version_id=None))


@pytest.fixture
def system() -> Actor:
    return Actor.system("system: test")
