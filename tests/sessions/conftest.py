"""Test data for exam sessions: a body with staff, an occupation, a bank with a few items, a
ready blueprint and a practical specification, inserted directly (other domains' services are
not needed), and a helper that plans a session that meets every rule."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest

from exam.accounts.models import Organisation, User
from exam.accounts.services import build_actor
from exam.banks.models import AssessmentElement, Bank, Item, ItemVersion, Occupation
from exam.core.auth import Actor
from exam.core.clock import now_utc
from exam.core.files import store_file
from exam.extensions import db
from exam.papers.models import Blueprint, PracticalSpec, PracticalSpecVersion
from exam.sessions import services

from exam.accounts.models import Membership
from exam.accounts.passwords import hash_password

from ..factories import PASSWORD, png_bytes, resident_id

_PASSWORD_HASH: list[str] = []
_counter = iter(range(1, 10**6))


def make_user(org: Organisation | None, *roles: str, qualification_level: int | None = None, **kw) -> User:
    """Like ``factory.user`` (same password), hashing the password once per test run."""
    if not _PASSWORD_HASH:
        _PASSWORD_HASH.append(hash_password(PASSWORD))
    n = next(_counter)
    kw.setdefault("username", f"sess{n}")
    kw.setdefault("real_name", f"用户{n}")
    kw.setdefault("phone", f"137{n:08d}")
    user = User(password_hash=_PASSWORD_HASH[0], **kw)
    db.session.add(user)
    db.session.flush()
    for role in roles:
        db.session.add(Membership(user_id=user.id, org_id=org.id, role=role,
                                  qualification_level=qualification_level if role == "assessor" else None))
    db.session.commit()
    return user


def actor_of(user: User, org: Organisation | None = None) -> Actor:
    """The actor ``user`` is when acting for ``org`` (their roles there)."""
    db.session.refresh(user)
    return build_actor(user, org.id if org else None, "127.0.0.1")


@dataclass
class World:
    org: Organisation
    admin: User
    proctors: list[User]
    assessors: list[User]
    supervisor: User
    occupation: Occupation
    bank: Bank
    blueprint: Blueprint
    spec_version: PracticalSpecVersion
    candidates: list[User] = field(default_factory=list)

    @property
    def admin_actor(self) -> Actor:
        return actor_of(self.admin, self.org)


def make_occupation(code="6-31-01-03", name="电工") -> Occupation:
    occupation = db.session.query(Occupation).filter_by(code=code).one_or_none()
    if occupation is None:
        occupation = Occupation(code=code, name=name, name_en="Electrician", levels=[5, 4, 3, 2, 1],
                                work_types=[])
        db.session.add(occupation)
        db.session.flush()
    return occupation


def make_bank_and_blueprint(org: Organisation, occupation: Occupation, level: int = 5,
                            status: str = "ready") -> tuple[Bank, Blueprint]:
    bank = Bank(org_id=org.id, occupation_id=occupation.id, level=level, name=f"{occupation.name}{level}级题库")
    db.session.add(bank)
    db.session.flush()
    area = AssessmentElement(bank_id=bank.id, code="1", name="基础知识", weight=Decimal("100"), position=0,
                             depth=0, is_point=False)
    db.session.add(area)
    db.session.flush()
    point = AssessmentElement(bank_id=bank.id, parent_id=area.id, code="1.1", name="安全用电", importance="X",
                              position=1, depth=1, is_point=True)
    db.session.add(point)
    db.session.flush()
    for n in range(2):
        item = Item(bank_id=bank.id, point_id=point.id)
        db.session.add(item)
        db.session.flush()
        version = ItemVersion(item_id=item.id, version_no=1, type="true_false", stem=f"判断题 {n}",
                              options=[], answer=True, points=Decimal("1"), difficulty=3, config={},
                              fingerprint=f"{bank.id}-{n}".ljust(64, "0"))
        db.session.add(version)
        db.session.flush()
        item.current_version_id = version.id
    blueprint = Blueprint(org_id=org.id, bank_id=bank.id, name=f"{occupation.name}{level}级理论", status=status,
                          duration_minutes=90, spec={})
    db.session.add(blueprint)
    db.session.flush()
    return bank, blueprint


def make_spec_version(org: Organisation, occupation: Occupation, level: int = 5) -> PracticalSpecVersion:
    spec = PracticalSpec(org_id=org.id, occupation_id=occupation.id, level=level)
    db.session.add(spec)
    db.session.flush()
    version = PracticalSpecVersion(spec_id=spec.id, version_no=1, content={"tasks": [
        {"code": "T1", "title": "三相异步电动机正反转控制线路安装", "required": True, "weight": 100, "minutes": 120,
         "sheet": [{"code": "1", "description": "安全文明生产", "max_points": 10, "criteria": "", "veto": True}]}],
        "choose": 0})
    db.session.add(version)
    db.session.flush()
    spec.current_version_id = version.id
    return version


def make_candidate(factory, name: str | None = None, photo: bool = True, **kw) -> User:
    user = make_user(None, real_name=name or "考生", id_type="resident_id", id_number=resident_id(), **kw)
    if photo:
        stored = store_file(png_bytes(), "image/png")
        db.session.flush()
        user.photo_file_id = stored.id
        db.session.commit()
    return user


def make_world(factory, code: str = "SESS") -> World:
    org = factory.org(code)
    admin = make_user(org, "admin", real_name="管理员")
    proctors = [make_user(org, "proctor", real_name=f"监考员{i}") for i in range(1, 4)]
    assessors = [make_user(org, "assessor", real_name=f"考评员{i}", qualification_level=3) for i in range(1, 6)]
    supervisor = make_user(org, "supervisor", real_name="督导员")
    occupation = make_occupation()
    bank, blueprint = make_bank_and_blueprint(org, occupation)
    spec_version = make_spec_version(org, occupation)
    db.session.commit()
    return World(org, admin, proctors, assessors, supervisor, occupation, bank, blueprint, spec_version)


@pytest.fixture
def world(factory, frozen_clock) -> World:
    return make_world(factory)


def session_data(world: World, **overrides) -> services.SessionData:
    """A plan that meets every rule: theory and practical, one room of 30 with 2 proctors, a group
    of 3 assessors with a chief, a supervisor, enrolment open now and closing before the exam."""
    now = now_utc()
    data = services.SessionData(
        name="电工五级 三月批次", code=overrides.pop("code", "2026-ELEC5-03"),
        occupation_id=world.occupation.id, level=5, components=["theory", "practical"],
        blueprint_id=world.blueprint.id, practical_spec_version_id=world.spec_version.id,
        enrolment_opens_at=now - timedelta(days=1), enrolment_closes_at=now + timedelta(days=5),
        theory_start_at=now + timedelta(days=7), practical_at=now + timedelta(days=8),
        practical_place="实训楼 201",
        rooms=[services.RoomData(name="第一考场", capacity=30, location="教学楼 101",
                                 proctor_ids=[world.proctors[0].id, world.proctors[1].id])],
        assessor_groups={a.id: 1 for a in world.assessors[:3]}, chief_assessor_id=world.assessors[0].id,
        supervisor_ids=[world.supervisor.id])
    for key, value in overrides.items():
        setattr(data, key, value)
    return data


def published_session(world: World, **overrides):
    session = services.create_session(world.admin_actor, world.org.id, session_data(world, **overrides))
    return services.publish_session(world.admin_actor, session.id)


EVIDENCE_LEVEL5 = {"years_in_occupation": 2, "education": "senior_secondary"}


def enrol(world: World, factory, session, name: str = "考生", evidence=None, approve=True):
    """A candidate with a photo applies online; approved unless told otherwise."""
    candidate = make_candidate(factory, name)
    world.candidates.append(candidate)
    enrolment = services.apply_for_session(actor_of(candidate), session.id, evidence or EVIDENCE_LEVEL5)
    if approve:
        services.decide_enrolments(world.admin_actor, session.id, [enrolment.id], True)
    return db.session.get(type(enrolment), enrolment.id)


@pytest.fixture(autouse=True)
def papers_calls(monkeypatch):
    """Stand-ins for ``exam.papers.services`` (its own tests cover it): they record the calls the
    sessions domain makes. ``lock_blueprint`` locks and commits, as the real one does."""
    calls: list[tuple[str, int]] = []

    def lock_blueprint(actor, blueprint_id):
        calls.append(("lock_blueprint", blueprint_id))
        blueprint = db.session.get(Blueprint, blueprint_id)
        blueprint.status = "locked"
        db.session.commit()
        return blueprint

    def prepare_session_papers(actor, session_id):
        calls.append(("prepare_session_papers", session_id))
        return {"created": 0, "existing": 0}

    fakes = {"lock_blueprint": lock_blueprint, "prepare_session_papers": prepare_session_papers}
    monkeypatch.setattr(services, "_papers_service", fakes.get)
    return calls
