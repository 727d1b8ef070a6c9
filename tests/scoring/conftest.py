"""Test data for scoring, inserted directly as rows (no other domain's services): a body with an
admin, a supervisor, a practical group of three assessors (one of them the chief), a review
panel of three, candidates, an occupation and a bank with items of every type, a blueprint,
a practical spec with required and optional tasks and a veto item, a session, papers with
shuffled options, and helpers to sit the theory exam and to fill score sheets."""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

import pytest
from sqlalchemy import select

from exam.accounts.models import Membership, Organisation, User
from exam.accounts.passwords import hash_password
from exam.accounts.services import build_actor
from exam.banks import qtypes
from exam.banks.models import AssessmentElement, Bank, Item, ItemVersion, Occupation
from exam.core import clock
from exam.core.auth import Actor
from exam.delivery.models import Attempt, Response
from exam.extensions import db
from exam.papers.models import Blueprint, Paper, PracticalSpec, PracticalSpecVersion
from exam.scoring import services
from exam.sessions.models import AssessorRelation, Enrolment, ExamSession, SessionStaff

from ..factories import PASSWORD, resident_id

_serial = itertools.count(1)

#: (type, stem, options, answer, points): 100 points; the second single-choice item pins its last option.
ITEMS = [
    ("single", "保护接地线（PE）的颜色是？", ["红色", "黄绿双色", "淡蓝色", "黑色"], "B", "20"),
    ("single", "下列说法正确的是？", ["电流单位是伏特", "电压单位是安培", "电阻单位是欧姆", "以上都不对"], "C", "20"),
    ("multiple", "以下哪些属于电气安全用具？", ["绝缘手套", "塑料尺", "绝缘靴", "验电器"], ["A", "C", "D"], "20"),
    ("true_false", "熔断器在电路中起短路保护作用。", None, True, "10"),
    ("fill_blank", "电流的单位是[[1]]。", None, [["安培", "A"]], "10"),
    ("short_answer", "简述互锁的作用。", None, "防止两个接触器同时吸合造成电源短路。", "20"),
]
PINNED = {1: {"D"}}  # item index → option keys pinned last

SPEC = {
    "choose": 1,
    "tasks": [
        {"code": "T1", "title": "星三角降压启动线路安装", "required": True, "weight": 60, "minutes": 120,
         "sheet": [
             {"code": "T1.1", "description": "元件选择与检查", "max_points": 30, "criteria": "错一处扣 2 分",
              "veto": False, "veto_rule": None},
             {"code": "T1.2", "description": "布线与接线", "max_points": 50, "criteria": "错一处扣 5 分",
              "veto": False, "veto_rule": None},
             {"code": "T1.3", "description": "安全文明生产", "max_points": 20, "criteria": "违规扣分",
              "veto": True, "veto_rule": "未经允许擅自通电，判为不合格"},
         ]},
        {"code": "T2", "title": "故障排除", "required": False, "weight": 40, "minutes": 40,
         "sheet": [{"code": "T2.1", "description": "查找并排除故障", "max_points": 100, "criteria": "每处扣 10 分",
                    "veto": False, "veto_rule": None}]},
        {"code": "T3", "title": "仪表使用", "required": False, "weight": 40, "minutes": 40,
         "sheet": [{"code": "T3.1", "description": "万用表与兆欧表", "max_points": 100, "criteria": "每处扣 10 分",
                    "veto": False, "veto_rule": None}]},
    ],
}


@lru_cache(maxsize=1)
def password_hash() -> str:
    return hash_password(PASSWORD)


def make_user(org: Organisation | None, *roles: str, **kw) -> User:
    n = next(_serial)
    kw.setdefault("username", f"sc{n}")
    kw.setdefault("real_name", f"人员{n}")
    if "candidate" in roles:
        kw.setdefault("id_type", "resident_id")
        kw.setdefault("id_number", resident_id())
    user = User(password_hash=password_hash(), **kw)
    db.session.add(user)
    db.session.flush()
    for role in roles:
        db.session.add(Membership(user_id=user.id, org_id=org.id, role=role,
                                  qualification_level=2 if role == "assessor" else None))
    db.session.flush()
    return user


def actor_of(user: User, org: Organisation) -> Actor:
    return build_actor(db.session.get(User, user.id), org.id, "127.0.0.1")


def occupation() -> Occupation:
    found = db.session.scalar(select(Occupation).where(Occupation.code == "6-31-01-03"))
    if found is None:
        found = Occupation(code="6-31-01-03", name="电工", levels=[5, 4, 3, 2, 1], work_types=[])
        db.session.add(found)
        db.session.flush()
    return found


@dataclass
class World:
    org: Organisation
    admin: User
    supervisor: User
    assessors: list[User]
    chief: User
    panelists: list[User]
    session: ExamSession
    versions: list[ItemVersion]
    spec_version: PracticalSpecVersion
    blueprint: Blueprint
    candidates: list[User] = field(default_factory=list)
    enrolments: list[Enrolment] = field(default_factory=list)
    papers: dict[int, Paper] = field(default_factory=dict)

    @property
    def admin_actor(self) -> Actor:
        return actor_of(self.admin, self.org)

    def actor(self, user: User) -> Actor:
        return actor_of(user, self.org)

    @property
    def group(self) -> list[User]:
        """The practical group's three assessors (the chief is one of them)."""
        return self.assessors[:2] + [self.chief]


def build_world(*, candidates: int = 2, components=("theory", "practical"), level: int = 4,
                status: str = "finished", code: str | None = None, spec: dict | None = None,
                group_size: int = 3, seed: int = 11) -> World:
    """A finished session with a practical group of ``group_size`` assessors (the chief among
    them), a review panel of three, and ``candidates`` approved candidates in group 1 with
    their papers (option orders shuffled, one option pinned)."""
    n = next(_serial)
    code = code or f"SC{n}"
    rng = random.Random(seed)
    org = Organisation(code=f"ORG-{code}", name=f"评价机构 {code}", kind="Y", body_code="0012",
                       province_code="44", site_code="030001")
    db.session.add(org)
    db.session.flush()
    admin = make_user(org, "admin", real_name="王管理")
    supervisor = make_user(org, "supervisor", real_name="孙督导")
    assessors = [make_user(org, "assessor", real_name=f"考评员{i}") for i in range(1, group_size)]
    chief = make_user(org, "assessor", real_name="李组长")
    panelists = [make_user(org, "assessor", real_name=f"评委{i}") for i in range(1, 4)]
    occ = occupation()
    bank = Bank(org_id=org.id, occupation_id=occ.id, level=level, name=f"电工题库 {code}")
    db.session.add(bank)
    db.session.flush()
    point = AssessmentElement(bank_id=bank.id, code="1.1.1", name="安全用电", importance="X", is_point=True,
                              position=0, depth=2)
    db.session.add(point)
    db.session.flush()
    versions = []
    for index, (item_type, stem, options, answer, points) in enumerate(ITEMS):
        item = Item(bank_id=bank.id, point_id=point.id, status="active")
        db.session.add(item)
        db.session.flush()
        pinned = PINNED.get(index, set())
        version = ItemVersion(item_id=item.id, version_no=1, type=item_type, stem=stem,
                              options=[{"key": qtypes.OPTION_KEYS[i], "text": t,
                                        "pin_last": qtypes.OPTION_KEYS[i] in pinned}
                                       for i, t in enumerate(options or [])],
                              answer=answer, points=Decimal(points), difficulty=3, config={},
                              fingerprint=f"fp-{code}-{index}")
        db.session.add(version)
        db.session.flush()
        item.current_version_id = version.id
        versions.append(version)
    blueprint = Blueprint(org_id=org.id, bank_id=bank.id, name="理论试卷", status="locked", duration_minutes=90,
                          spec={"sections": []})
    db.session.add(blueprint)
    practical = PracticalSpec(org_id=org.id, occupation_id=occ.id, level=level)
    db.session.add(practical)
    db.session.flush()
    spec_version = PracticalSpecVersion(spec_id=practical.id, version_no=1, content=spec or SPEC)
    db.session.add(spec_version)
    db.session.flush()
    practical.current_version_id = spec_version.id
    now = clock.now_utc()
    session = ExamSession(org_id=org.id, occupation_id=occ.id, level=level, name=f"电工批次 {code}",
                          code=code, status=status, components=list(components), blueprint_id=blueprint.id,
                          practical_spec_version_id=spec_version.id, theory_start_at=now - timedelta(days=2),
                          theory_duration_minutes=90, practical_at=now - timedelta(days=1),
                          practical_place="实训楼")
    db.session.add(session)
    db.session.flush()
    for user in assessors:
        db.session.add(SessionStaff(session_id=session.id, user_id=user.id, role="assessor", group_no=1))
    db.session.add(SessionStaff(session_id=session.id, user_id=chief.id, role="assessor", group_no=1))
    db.session.add(SessionStaff(session_id=session.id, user_id=chief.id, role="chief_assessor", group_no=1))
    for user in panelists:
        db.session.add(SessionStaff(session_id=session.id, user_id=user.id, role="panelist"))
    db.session.add(SessionStaff(session_id=session.id, user_id=supervisor.id, role="supervisor"))
    db.session.commit()
    world = World(org, admin, supervisor, assessors, chief, panelists, session, versions, spec_version, blueprint)
    for _ in range(candidates):
        add_candidate(world, rng)
    db.session.commit()
    return world


def add_candidate(world: World, rng: random.Random | None = None, *, components=None) -> Enrolment:
    rng = rng or random.Random(next(_serial))
    number = len(world.enrolments) + 1
    user = make_user(world.org, "candidate", real_name=f"考生{number:03d}{world.session.code}")
    enrolment = Enrolment(session_id=world.session.id, user_id=user.id, status="approved", source="roster",
                          evidence={}, components=list(components or []), practical_group=1,
                          ticket_no=f"T{world.session.code}{number:04d}")
    db.session.add(enrolment)
    db.session.flush()
    items = []
    for version in world.versions:
        order = qtypes.get_type(version.type).option_order(version, rng)
        items.append({"v": version.id, "s": 0, "p": format(version.points, ".2f"), "o": order})
    paper = Paper(blueprint_id=world.blueprint.id, session_id=world.session.id, enrolment_id=enrolment.id,
                  seed=rng.randrange(2 ** 31), items=items,
                  total_points=sum((Decimal(e["p"]) for e in items), Decimal(0)), seq=number)
    db.session.add(paper)
    db.session.flush()
    world.candidates.append(user)
    world.enrolments.append(enrolment)
    world.papers[enrolment.id] = paper
    return enrolment


def set_paper(world: World, enrolment: Enrolment, items: list[dict]) -> Paper:
    """Give the candidate another paper (papers are immutable: the old one is replaced)."""
    old = world.papers.get(enrolment.id)
    if old is not None:
        db.session.delete(old)
        db.session.flush()
    paper = Paper(blueprint_id=world.blueprint.id, session_id=world.session.id, enrolment_id=enrolment.id,
                  seed=next(_serial), items=items, total_points=sum((Decimal(e["p"]) for e in items), Decimal(0)),
                  seq=1000 + next(_serial))
    db.session.add(paper)
    db.session.commit()
    world.papers[enrolment.id] = paper
    return paper


def entry(version: ItemVersion, order=None, points=None) -> dict:
    return {"v": version.id, "s": 0, "p": format(Decimal(points or version.points), ".2f"),
            "o": list(order or [o["key"] for o in version.options])}


def right_answers(world: World, enrolment: Enrolment) -> dict[int, object]:
    """Position → the right answer in the display labels this candidate saw."""
    paper = world.papers[enrolment.id]
    versions = {v.id: v for v in world.versions}
    return {i: qtypes.get_type(versions[e["v"]].type).correct_response(versions[e["v"]], e["o"])
            for i, e in enumerate(paper.items)}


def sit(world: World, enrolment: Enrolment, answers: dict[int, object], *, status: str = "submitted") -> Attempt:
    """The candidate's attempt, finished with these answers (display labels by position)."""
    paper = world.papers[enrolment.id]
    now = clock.now_utc()
    attempt = Attempt(org_id=world.org.id, enrolment_id=enrolment.id, user_id=enrolment.user_id, paper_id=paper.id,
                      session_id=world.session.id, status=status, started_at=now - timedelta(minutes=60),
                      deadline_at=now + timedelta(minutes=30), item_count=len(paper.items), shape=[],
                      submitted_at=now if status == "submitted" else None,
                      finalised_at=None if status == "in_progress" else now)
    db.session.add(attempt)
    db.session.flush()
    for position, answer in answers.items():
        db.session.add(Response(attempt_id=attempt.id, position=position, answer=answer, answered=True,
                                seq=position + 1, saved_at=now))
    db.session.commit()
    return attempt


def fill(points: dict[str, object], vetoes: tuple[str, ...] = ()) -> dict:
    """Sheet entries: item code → points awarded; ``vetoes`` are checked veto items."""
    entries = {code: {"points": str(value)} for code, value in points.items()}
    for code in vetoes:
        entries.setdefault(code, {})["veto"] = True
    return entries


def t1(total: int, *, veto: bool = False) -> dict:
    """T1 entries adding up to ``total`` (out of 100)."""
    first = min(total, 30)
    second = min(total - first, 50)
    third = total - first - second
    return fill({"T1.1": first, "T1.2": second, "T1.3": third}, ("T1.3",) if veto else ())


def sign_all(world: World, enrolment: Enrolment, task: str, entries_by_assessor: list[dict], assessors=None):
    assessors = assessors or world.group
    for user, entries in zip(assessors, entries_by_assessor):
        services.sign_sheet(world.actor(user), enrolment.id, "practical", task, entries)


def relate(world: World, assessor: User, candidate: User, kind: str = "relative") -> None:
    db.session.add(AssessorRelation(org_id=world.org.id, assessor_id=assessor.id, candidate_id=candidate.id,
                                    kind=kind))
    db.session.commit()


@pytest.fixture
def world(app_ctx, frozen_clock) -> World:
    return build_world()
