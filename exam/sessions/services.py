"""Exam sessions (考试批次/场次): planning, staff, the rules checked before publishing, the
session's states, and the functions other domains call.

States: draft → published (enrolment open) → closed (enrolment closed) → in_progress →
finished → results_published. Each change has its own service and audit event.

For other domains:

* delivery: ``theory_start_check`` (who may start the theory exam, when, from where) and
  ``Enrolment.checked_in_at``; ``attempt_deadline_for``.
* scoring: ``related_pairs``, ``assessors_for_enrolment``, ``panelists_for_enrolment``,
  ``practical_groups``, ``mark_results_published``.
* certificates: ``enrolment_facts``.
* papers: the session calls ``exam.papers.services.lock_blueprint`` when it is published and
  ``prepare_session_papers`` when enrolment closes, when they exist.
"""
from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext
from sqlalchemy import func, select

from ..accounts.models import Organisation, User
from ..banks.models import Bank, Occupation
from ..core import audit
from ..core.auth import ADMIN, PROCTOR, SUPERVISOR, Actor, require_org
from ..core.clock import now_utc
from ..core.errors import (Conflict, DomainError, Gone, NotFound, PermissionDenied, Problem, ProblemList,
                           ValidationFailed)
from ..extensions import db
from ..papers.models import Blueprint, PracticalSpec, PracticalSpecVersion
from . import recusal, timing
from .checks import SECTIONS, session_problems
from ..banks.levels import LEVEL_NAMES_ZH
from .lookups import (enrolments_of, get_session, members_with_role, membership, staff_of)
from .models import COMPONENTS, SESSION_STATES, Enrolment, ExamSession, Room, SessionStaff

log = logging.getLogger(__name__)

#: Fields fixed once the session is published (candidates applied for exactly this).
FIXED_AFTER_PUBLISHING = ("code", "occupation_id", "level", "work_type", "components",
                          "blueprint_id", "practical_spec_version_id")
#: States in which the plan (schedule, rooms, staff) may still be edited.
EDITABLE_STATES = ("draft", "published", "closed")
MAX_ROOM_CAPACITY = 1000
MAX_GROUPS = 50


# --- reading ---------------------------------------------------------------------------

def list_sessions(actor: Actor, org_id: int | None, status: str | None = None) -> list[ExamSession]:
    """A body's sessions, newest first (admins, supervisors; the regulator reads every body's
    with ``org_id=None``)."""
    stmt = select(ExamSession)
    if org_id is None:
        if not (actor.is_regulator or actor.is_system):
            raise NotFound(gettext("Not found."))
    else:
        require_org(actor, org_id, ADMIN, SUPERVISOR, write=False)
        stmt = stmt.where(ExamSession.org_id == org_id)
    if status:
        stmt = stmt.where(ExamSession.status == status)
    return list(db.session.scalars(stmt.order_by(ExamSession.created_at.desc(), ExamSession.id.desc())))


def status_counts(actor: Actor, org_id: int | None) -> dict[str, int]:
    stmt = select(ExamSession.status, func.count(ExamSession.id)).group_by(ExamSession.status)
    if org_id is not None:
        require_org(actor, org_id, ADMIN, SUPERVISOR, write=False)
        stmt = stmt.where(ExamSession.org_id == org_id)
    return dict(db.session.execute(stmt).all())


def enrolment_counts(session_id: int) -> dict[str, int]:
    rows = db.session.execute(select(Enrolment.status, func.count(Enrolment.id))
                              .where(Enrolment.session_id == session_id).group_by(Enrolment.status))
    return dict(rows.all())


def occupations() -> list[Occupation]:
    return list(db.session.scalars(select(Occupation).order_by(Occupation.code)))


@dataclass
class BlueprintOption:
    blueprint: Blueprint
    bank: Bank
    occupation: Occupation


def blueprint_options(actor: Actor, org_id: int) -> list[BlueprintOption]:
    """The body's paper plans that a session may use (archived ones are left out)."""
    require_org(actor, org_id, ADMIN)
    rows = db.session.execute(
        select(Blueprint, Bank, Occupation).join(Bank, Bank.id == Blueprint.bank_id)
        .join(Occupation, Occupation.id == Bank.occupation_id)
        .where(Blueprint.org_id == org_id, Blueprint.status != "archived")
        .order_by(Occupation.code, Bank.level.desc(), Blueprint.name))
    return [BlueprintOption(*row) for row in rows]


@dataclass
class SpecOption:
    version: PracticalSpecVersion
    spec: PracticalSpec
    occupation: Occupation


def spec_options(actor: Actor, org_id: int) -> list[SpecOption]:
    require_org(actor, org_id, ADMIN)
    rows = db.session.execute(
        select(PracticalSpecVersion, PracticalSpec, Occupation)
        .join(PracticalSpec, PracticalSpec.id == PracticalSpecVersion.spec_id)
        .join(Occupation, Occupation.id == PracticalSpec.occupation_id)
        .where(PracticalSpec.org_id == org_id)
        .order_by(Occupation.code, PracticalSpec.level.desc(), PracticalSpecVersion.version_no.desc()))
    return [SpecOption(*row) for row in rows]


def staff_options(actor: Actor, org_id: int) -> dict[str, list]:
    """Members who may be assigned: role → [(user, membership)]."""
    require_org(actor, org_id, ADMIN)
    return {role: members_with_role(org_id, role) for role in ("proctor", "assessor", "supervisor")}


def problems_for(actor: Actor, session_id: int) -> list:
    """The rules the session breaks now (what publishing, closing or starting would refuse)."""
    session = get_session(actor, session_id)
    return session_problems(session, now=now_utc(), basis=_basis(session),
                            publishing=session.status == "draft")


def _basis(session: ExamSession) -> str:
    return "capacity" if session.status in ("draft", "published") else "enrolled"


# --- planning ---------------------------------------------------------------------------

@dataclass
class RoomData:
    name: str
    capacity: int
    location: str | None = None
    ip_allowlist: str | None = None
    access_code: str | None = None
    proctor_ids: list[int] = field(default_factory=list)
    #: An existing room's id; None for a new room.
    id: int | None = None


@dataclass
class SessionData:
    name: str
    code: str
    occupation_id: int
    level: int
    components: list[str]
    work_type: str | None = None
    blueprint_id: int | None = None
    practical_spec_version_id: int | None = None
    enrolment_opens_at: datetime | None = None
    enrolment_closes_at: datetime | None = None
    theory_start_at: datetime | None = None
    theory_hard_end_at: datetime | None = None
    late_entry_minutes: int = 15
    earliest_handin_minutes: int = 30
    requires_checkin: bool = True
    practical_at: datetime | None = None
    practical_place: str | None = None
    review_at: datetime | None = None
    review_place: str | None = None
    notes: str | None = None
    rooms: list[RoomData] = field(default_factory=list)
    #: Assessor user id → practical group number.
    assessor_groups: dict[int, int] = field(default_factory=dict)
    chief_assessor_id: int | None = None
    panelist_ids: list[int] = field(default_factory=list)
    supervisor_ids: list[int] = field(default_factory=list)


_SCALAR_FIELDS = ("name", "code", "occupation_id", "level", "components", "work_type", "blueprint_id",
                  "practical_spec_version_id", "enrolment_opens_at", "enrolment_closes_at",
                  "theory_start_at", "theory_hard_end_at", "late_entry_minutes",
                  "earliest_handin_minutes", "requires_checkin", "practical_at", "practical_place",
                  "review_at", "review_place", "notes")


def _clean(data: SessionData) -> None:
    data.name = (data.name or "").strip()
    data.code = (data.code or "").strip().upper()
    data.work_type = (data.work_type or "").strip() or None
    data.practical_place = (data.practical_place or "").strip() or None
    data.review_place = (data.review_place or "").strip() or None
    data.notes = (data.notes or "").strip() or None
    data.components = [c for c in COMPONENTS if c in set(data.components or ())]
    for room in data.rooms:
        room.name = (room.name or "").strip()
        room.location = (room.location or "").strip() or None
        room.access_code = (room.access_code or "").strip() or None
        room.ip_allowlist = timing.normalise_allowlist(room.ip_allowlist) \
            if not timing.parse_allowlist(room.ip_allowlist).problems else room.ip_allowlist
        room.proctor_ids = sorted(set(room.proctor_ids or ()))


def _validate(org_id: int, session: ExamSession | None, data: SessionData) -> ProblemList:
    problems = ProblemList()
    if not data.name or len(data.name) > 200:
        problems.add(gettext("Give the session a name."), "name")
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9_-]{1,39}", data.code):
        problems.add(gettext("Use 2–40 capital letters, digits, '-' or '_'."), "code")
    elif db.session.scalar(select(ExamSession.id).where(
            ExamSession.org_id == org_id, ExamSession.code == data.code,
            ExamSession.id != (session.id if session else 0))):
        problems.add(gettext("Another session of this body has this batch number."), "code")
    occupation = db.session.get(Occupation, data.occupation_id) if data.occupation_id else None
    if occupation is None:
        problems.add(gettext("Choose the occupation."), "occupation_id")
    if data.level not in LEVEL_NAMES_ZH:
        problems.add(gettext("Choose the level."), "level")
    if not data.components:
        problems.add(gettext("Choose at least one component."), "components")
    if data.blueprint_id is not None:
        blueprint = db.session.get(Blueprint, data.blueprint_id)
        if blueprint is None or blueprint.org_id != org_id:
            problems.add(gettext("Choose one of this body's paper plans."), "blueprint_id")
    if data.practical_spec_version_id is not None:
        version = db.session.get(PracticalSpecVersion, data.practical_spec_version_id)
        spec = db.session.get(PracticalSpec, version.spec_id) if version else None
        if spec is None or spec.org_id != org_id:
            problems.add(gettext("Choose one of this body's practical specifications."),
                         "practical_spec_version_id")
    if not 0 <= (data.late_entry_minutes or 0) <= timing.MAX_LATE_ENTRY:
        problems.add(gettext("Between 0 and %(max)d minutes.", max=timing.MAX_LATE_ENTRY),
                     "late_entry_minutes")
    if not 0 <= (data.earliest_handin_minutes or 0) <= 240:
        problems.add(gettext("Between 0 and 240 minutes."), "earliest_handin_minutes")
    if data.enrolment_opens_at and data.enrolment_closes_at and \
            data.enrolment_opens_at >= data.enrolment_closes_at:
        problems.add(gettext("Enrolment must open before it closes."), "enrolment_closes_at")
    if data.theory_hard_end_at and data.theory_start_at and data.theory_hard_end_at <= data.theory_start_at:
        problems.add(gettext("The hard end must be after the start."), "theory_hard_end_at")
    _validate_rooms(org_id, data, problems)
    _validate_staff(org_id, session, data, problems)
    return problems


def _validate_rooms(org_id: int, data: SessionData, problems: ProblemList) -> None:
    names = set()
    proctor_rooms: dict[int, str] = {}
    for number, room in enumerate(data.rooms, start=1):
        label = room.name or gettext("Room %(n)d", n=number)
        if not room.name:
            problems.add(gettext("Room %(n)d has no name.", n=number), "rooms")
        elif room.name in names:
            problems.add(gettext("Two rooms are called %(name)s.", name=room.name), "rooms")
        names.add(room.name)
        if not isinstance(room.capacity, int) or not 1 <= room.capacity <= MAX_ROOM_CAPACITY:
            problems.add(gettext("%(room)s: the capacity must be between 1 and %(max)d.",
                                 room=label, max=MAX_ROOM_CAPACITY), "rooms")
        if room.access_code and not re.fullmatch(r"[A-Za-z0-9]{4,32}", room.access_code):
            problems.add(gettext("%(room)s: the access code has 4–32 letters or digits.", room=label),
                         "rooms")
        for message in timing.parse_allowlist(room.ip_allowlist).problems:
            problems.add(gettext("%(room)s: %(problem)s", room=label, problem=message), "rooms")
        for user_id in room.proctor_ids:
            if membership(org_id, user_id, PROCTOR) is None:
                problems.add(gettext("%(room)s: a chosen proctor is not a proctor of this body.",
                                     room=label), "rooms")
            elif user_id in proctor_rooms:
                user = db.session.get(User, user_id)
                problems.add(gettext("%(name)s cannot watch two rooms (%(a)s and %(b)s) at once.",
                                     name=user.real_name, a=proctor_rooms[user_id], b=label), "rooms")
            else:
                proctor_rooms[user_id] = label


def _validate_staff(org_id: int, session: ExamSession | None, data: SessionData,
                    problems: ProblemList) -> None:
    for user_id, group in data.assessor_groups.items():
        if membership(org_id, user_id, "assessor") is None:
            problems.add(gettext("A chosen assessor is not an assessor of this body."), "assessors")
        if not isinstance(group, int) or not 1 <= group <= MAX_GROUPS:
            problems.add(gettext("Group numbers run from 1 to %(max)d.", max=MAX_GROUPS), "assessors")
    if data.chief_assessor_id is not None and data.chief_assessor_id not in data.assessor_groups:
        problems.add(gettext("The chief assessor must be one of the group assessors."), "assessors")
    for user_id in data.panelist_ids:
        if membership(org_id, user_id, "assessor") is None:
            problems.add(gettext("A chosen panelist is not an assessor of this body."), "panelists")
    examiners = ({p for r in data.rooms for p in r.proctor_ids} | set(data.assessor_groups)
                 | set(data.panelist_ids))
    for user_id in data.supervisor_ids:
        user = db.session.get(User, user_id)
        if membership(org_id, user_id, SUPERVISOR) is None:
            problems.add(gettext("A chosen supervisor is not a supervisor of this body."), "supervisors")
        elif user_id in examiners:
            problems.add(gettext("%(name)s cannot supervise a session in which they also proctor or "
                                 "assess.", name=user.real_name), "supervisors")
    if session is not None:  # recusal: nobody joins a group holding a candidate related to them
        placed = [e for e in enrolments_of(session.id, *recusal.ACTIVE) if e.practical_group]
        kinds = recusal.relation_kinds(org_id, data.assessor_groups, {e.user_id for e in placed})
        for enrolment in placed:
            for user_id, group in data.assessor_groups.items():
                kind = kinds.get((user_id, enrolment.user_id))
                if kind and group == enrolment.practical_group:
                    problems.add(gettext(
                        "%(assessor)s declared a relationship with %(candidate)s (%(kind)s), who is "
                        "in group %(group)d: put the assessor in another group.",
                        assessor=db.session.get(User, user_id).real_name,
                        candidate=enrolment.user.real_name, kind=recusal.KIND_LABELS[kind],
                        group=group), "assessors")


def _apply(session: ExamSession, data: SessionData) -> dict:
    changes = {}
    for name in _SCALAR_FIELDS:
        value = getattr(data, name)
        if getattr(session, name) != value:
            changes[name] = [getattr(session, name), value]
            setattr(session, name, value)
    _refresh_duration(session)
    return changes


def _refresh_duration(session: ExamSession) -> None:
    """The theory duration comes from the paper plan."""
    blueprint = db.session.get(Blueprint, session.blueprint_id) if session.blueprint_id else None
    session.theory_duration_minutes = blueprint.duration_minutes if blueprint else None


def _sync_rooms(session: ExamSession, rooms: list[RoomData], problems: ProblemList) -> list[Room]:
    existing = {room.id: room for room in session.rooms}
    kept: list[Room] = []
    seated = dict(db.session.execute(
        select(Enrolment.room_id, func.count(Enrolment.id))
        .where(Enrolment.session_id == session.id, Enrolment.room_id.is_not(None))
        .group_by(Enrolment.room_id)).all())
    for data in rooms:
        room = existing.pop(data.id, None) if data.id is not None else None
        if room is None:
            room = Room(session=session, name=data.name, capacity=data.capacity)
            db.session.add(room)
        elif data.capacity < seated.get(room.id, 0):
            problems.add(gettext("%(room)s has %(n)d seated candidates: move some before making it "
                                 "smaller.", room=room.name, n=seated[room.id]), "rooms")
        room.name, room.capacity, room.location = data.name, data.capacity, data.location
        room.ip_allowlist, room.access_code = data.ip_allowlist, data.access_code
        kept.append(room)
    for room in existing.values():
        if seated.get(room.id):
            problems.add(gettext("%(room)s has seated candidates: move them before removing the room.",
                                 room=room.name), "rooms")
        else:
            for staff in staff_of(session.id, "proctor"):
                if staff.room_id == room.id:
                    db.session.delete(staff)
            db.session.flush()  # the staff rows name the room: they go first
            session.rooms.remove(room)
            db.session.delete(room)
    return kept


def _sync_staff(session: ExamSession, data: SessionData, rooms: list[Room]) -> dict:
    wanted: dict[tuple[int, str], tuple[int | None, int | None]] = {}
    for room, room_data in zip(rooms, data.rooms):
        for user_id in room_data.proctor_ids:
            wanted[(user_id, "proctor")] = (room.id, None)
    for user_id, group in data.assessor_groups.items():
        wanted[(user_id, "assessor")] = (None, group)
    if data.chief_assessor_id is not None:
        wanted[(data.chief_assessor_id, "chief_assessor")] = (
            None, data.assessor_groups.get(data.chief_assessor_id))
    for user_id in data.panelist_ids:
        wanted[(user_id, "panelist")] = (None, None)
    for user_id in data.supervisor_ids:
        wanted[(user_id, "supervisor")] = (None, None)
    current = {(s.user_id, s.role): s for s in staff_of(session.id)}
    for key, staff in current.items():
        if key not in wanted:
            db.session.delete(staff)
    for (user_id, role), (room_id, group) in wanted.items():
        staff = current.get((user_id, role))
        if staff is None:
            staff = SessionStaff(session_id=session.id, user_id=user_id, role=role)
            db.session.add(staff)
        staff.room_id, staff.group_no = room_id, group
    return {role: sorted(u for (u, r) in wanted if r == role)
            for role in ("proctor", "assessor", "chief_assessor", "panelist", "supervisor")}


def create_session(actor: Actor, org_id: int, data: SessionData) -> ExamSession:
    """Plan a new session (a draft): details, schedule, rooms and staff."""
    require_org(actor, org_id, ADMIN)
    _clean(data)
    problems = _validate(org_id, None, data)
    problems.raise_if_any(gettext("Please correct the marked fields."))
    session = ExamSession(org_id=org_id, status="draft", name=data.name, code=data.code,
                          occupation_id=data.occupation_id, level=data.level,
                          components=data.components)
    db.session.add(session)
    _apply(session, data)
    db.session.flush()
    rooms = _sync_rooms(session, data.rooms, problems)
    db.session.flush()
    staff = _sync_staff(session, data, rooms)
    audit.record("session.created", actor=actor, obj=session,
                 data={"code": session.code, "level": session.level, "components": session.components,
                       "rooms": [[r.name, r.capacity] for r in rooms], "staff": staff})
    db.session.commit()
    return session


def update_session(actor: Actor, session_id: int, data: SessionData) -> ExamSession:
    """Change a session's plan. After publishing, what candidates applied for (occupation,
    level, components, paper plan) stays fixed, and the rules must still hold after the change.
    """
    session = get_session(actor, session_id, write=True)
    if session.status not in EDITABLE_STATES:
        raise Conflict(gettext("This session has started; its plan can no longer change."))
    _clean(data)
    problems = _validate(session.org_id, session, data)
    if session.status != "draft":
        for name in FIXED_AFTER_PUBLISHING:
            if getattr(session, name) != getattr(data, name):
                problems.add(gettext("This cannot change once the session is published."), name)
    problems.raise_if_any(gettext("Please correct the marked fields."))
    changes = _apply(session, data)
    rooms = _sync_rooms(session, data.rooms, problems)
    if problems:
        db.session.rollback()
        problems.raise_if_any(gettext("Please correct the marked fields."))
    db.session.flush()
    staff = _sync_staff(session, data, rooms)
    db.session.flush()
    db.session.expire(session, ["rooms", "staff"])
    if session.status != "draft":
        broken = session_problems(session, now=now_utc(), basis=_basis(session))
        if broken:
            db.session.rollback()
            raise ValidationFailed(gettext("The session is published: this change would break these "
                                           "rules, so it was not saved."), problems=broken)
    audit.record("session.updated", actor=actor, obj=session,
                 data={"changes": changes, "rooms": [[r.name, r.capacity] for r in rooms],
                       "staff": staff})
    db.session.commit()
    return session


# --- state changes --------------------------------------------------------------------------

def _papers_service(name: str):
    """A function of ``exam.papers.services``, when that domain provides it."""
    try:
        module = importlib.import_module("exam.papers.services")
    except ModuleNotFoundError as exc:
        if exc.name != "exam.papers.services":
            raise
        return None
    return getattr(module, name, None)


def _expect(session: ExamSession, status: str, message: str) -> None:
    if session.status != status:
        raise Conflict(message)


def _refuse(message: str, problems: list) -> None:
    db.session.rollback()
    raise ValidationFailed(message, problems=problems)


def publish_session(actor: Actor, session_id: int) -> ExamSession:
    """Publish a draft: enrolment opens. Refused, with every broken rule listed, until the plan
    meets the rules. The paper plan is locked from now on."""
    session = get_session(actor, session_id, write=True)
    _expect(session, "draft", gettext("Only a draft session can be published."))
    _refresh_duration(session)
    problems = session_problems(session, now=now_utc(), basis="capacity", publishing=True)
    if problems:
        _refuse(gettext("The session cannot be published yet. Fix these first:"), problems)
    session.status = "published"
    audit.record("session.published", actor=actor, obj=session,
                 data={"from": "draft", "to": "published", "blueprint_id": session.blueprint_id})
    if session.has("theory") and session.blueprint_id:
        lock = _papers_service("lock_blueprint")
        if lock is not None:
            db.session.flush()
            try:
                lock(actor, session.blueprint_id)  # commits our change with the lock, at once
            except DomainError as exc:
                _refuse(gettext("The session cannot be published yet. Fix these first:"),
                        [Problem(exc.message, str(SECTIONS["theory"]))] + list(exc.problems))
            return session
        blueprint = db.session.get(Blueprint, session.blueprint_id)
        if blueprint.status != "locked":
            blueprint.status = "locked"
            audit.record("blueprint.locked", actor=actor, obj=blueprint,
                         data={"by_session": session.id})
    db.session.commit()
    return session


@dataclass
class CloseResult:
    session: ExamSession
    seated: int
    grouped: int
    #: Messages for the administrator (e.g. papers could not be prepared yet).
    warnings: list[str] = field(default_factory=list)


def close_enrolment(actor: Actor, session_id: int) -> CloseResult:
    """Close enrolment: approved candidates without a seat or group get one; the rules are
    checked again with the real numbers; papers are prepared ahead of the exam."""
    from .enrolments import place_in_rooms

    session = get_session(actor, session_id, write=True)
    _expect(session, "published", gettext("Only a published session can close its enrolment."))
    seated, unseated = place_in_rooms(session) if session.has("theory") else (0, [])
    grouped = 0
    if session.has("practical") and recusal.group_members(session.id):
        grouped, _ = recusal.place_in_groups(session)
    db.session.flush()
    session.status = "closed"
    problems = session_problems(session, now=now_utc(), basis="enrolled")
    if problems:
        _refuse(gettext("Enrolment cannot close yet. Fix these first:"), problems)
    audit.record("session.enrolment_closed", actor=actor, obj=session,
                 data={"from": "published", "to": "closed", "seated": seated, "grouped": grouped,
                       "counts": enrolment_counts(session.id)})
    db.session.commit()
    return CloseResult(session, seated, grouped, _prepare_papers(actor, session))


def _prepare_papers(actor: Actor, session: ExamSession) -> list[str]:
    prepare = _papers_service("prepare_session_papers")
    if prepare is None or not session.has("theory"):
        return []
    try:
        prepare(actor, session.id)
    except DomainError as exc:
        db.session.rollback()
        log.warning("papers for session %s not prepared: %s", session.id, exc.message)
        return [gettext("The papers could not be prepared yet: %(reason)s", reason=exc.message)]
    return []


def start_session(actor: Actor, session_id: int) -> ExamSession:
    """The exam day begins: checked again with the real numbers, and every application decided."""
    session = get_session(actor, session_id, write=True)
    _expect(session, "closed", gettext("Close enrolment before starting the session."))
    problems = session_problems(session, now=now_utc(), basis="enrolled")
    undecided = enrolment_counts(session.id).get("applied", 0)
    if undecided:
        problems.append(Problem(gettext("%(n)d applications are still undecided: approve or "
                                        "reject them.", n=undecided), str(SECTIONS["enrolment"])))
    if problems:
        _refuse(gettext("The session cannot start yet. Fix these first:"), problems)
    session.status = "in_progress"
    audit.record("session.started", actor=actor, obj=session,
                 data={"from": "closed", "to": "in_progress", "counts": enrolment_counts(session.id)})
    db.session.commit()
    return session


def finish_session(actor: Actor, session_id: int) -> ExamSession:
    session = get_session(actor, session_id, write=True)
    _expect(session, "in_progress", gettext("Only a session in progress can finish."))
    session.status = "finished"
    audit.record("session.finished", actor=actor, obj=session,
                 data={"from": "in_progress", "to": "finished"})
    db.session.commit()
    return session


def mark_results_published(actor: Actor, session_id: int) -> ExamSession:
    """Set by the scoring domain when it publishes the results (成绩公示).

    :raise Conflict: the session is not finished, or a candidate sits in a group with a related
        assessor (recusal is checked once more before any result goes out).
    """
    session = get_session(actor, session_id, write=True)
    _expect(session, "finished", gettext("Results can be published only for a finished session."))
    found = recusal.violations(session)
    if found:
        raise Conflict(gettext("Results cannot be published: %(n)d candidates were placed with an "
                               "assessor who declared a relationship with them.", n=len(found)))
    session.status = "results_published"
    audit.record("session.results_published", actor=actor, obj=session,
                 data={"from": "finished", "to": "results_published"})
    db.session.commit()
    return session


# --- for the delivery domain: who may start the theory exam, and when ------------------------

@dataclass
class TheoryStart:
    """What delivery needs to open an attempt for an enrolment."""

    enrolment: Enrolment
    opens_at: datetime
    entry_closes_at: datetime
    duration_minutes: int
    extra_minutes: int
    multiplier: Decimal
    hard_end_at: datetime | None
    earliest_handin_minutes: int

    def deadline_for(self, started_at: datetime) -> datetime:
        return timing.attempt_deadline(started_at, self.duration_minutes,
                                       extra_minutes=self.extra_minutes, multiplier=self.multiplier,
                                       hard_end=self.hard_end_at)


def theory_start_check(enrolment_id: int, *, now: datetime, ip: str | None = None,
                       access_code: str | None = None) -> TheoryStart:
    """Whether the candidate may start the theory exam now, from this address.

    Rules: approved, the session in progress, within the start window (the start to the
    late-entry cut-off), checked in by a proctor when the session requires it, from an
    address on the room's allow-list, with the room's access code when it has one.

    :raise NotFound, Conflict, Gone, PermissionDenied: with the reason in words.
    """
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(gettext("No such enrolment."))
    session = enrolment.session
    if enrolment.status != "approved":
        raise Conflict(gettext("Your application has not been approved."))
    if not session.has("theory") or (enrolment.components and "theory" not in enrolment.components):
        raise Conflict(gettext("You do not sit a theory exam in this session."))
    if session.status != "in_progress" or session.theory_start_at is None:
        raise Conflict(gettext("The exam has not been opened yet."))
    closes = timing.entry_closes_at(session.theory_start_at, session.late_entry_minutes)
    if now < session.theory_start_at:
        raise Conflict(gettext("The exam has not started yet."))
    if now > closes or (session.theory_hard_end_at and now >= session.theory_hard_end_at):
        raise Gone(gettext("Entry closed %(n)d minutes after the start; you can no longer start.",
                           n=session.late_entry_minutes))
    if session.requires_checkin and enrolment.checked_in_at is None:
        raise PermissionDenied(gettext("A proctor must check you in first."))
    room = enrolment.room
    if room is None:
        raise Conflict(gettext("You have no seat in an exam room."))
    if not timing.ip_allowed(room.ip_allowlist, ip):
        raise PermissionDenied(gettext("Start the exam from a computer in your exam room."))
    if room.access_code and (access_code or "").strip().upper() != room.access_code.upper():
        raise PermissionDenied(gettext("Enter the access code the proctor announces in the room."))
    return TheoryStart(enrolment, session.theory_start_at, closes, session.theory_duration_minutes or 0,
                       enrolment.extra_minutes, enrolment.time_multiplier, session.theory_hard_end_at,
                       session.earliest_handin_minutes)


def attempt_deadline_for(enrolment: Enrolment, started_at: datetime) -> datetime:
    session = enrolment.session
    return timing.attempt_deadline(started_at, session.theory_duration_minutes or 0,
                                   extra_minutes=enrolment.extra_minutes,
                                   multiplier=enrolment.time_multiplier,
                                   hard_end=session.theory_hard_end_at)


# --- for the certificates domain -------------------------------------------------------------

@dataclass(frozen=True)
class EnrolmentFacts:
    enrolment_id: int
    session_id: int
    session_code: str
    org_id: int
    org_name: str
    user_id: int
    real_name: str
    id_type: str | None
    id_number: str | None
    photo_file_id: int | None
    occupation_code: str
    occupation_name: str
    work_type: str | None
    level: int
    level_name: str
    components: tuple[str, ...]
    status: str
    ticket_no: str | None


def enrolment_facts(enrolment_id: int) -> EnrolmentFacts:
    """What a certificate needs to know about an enrolment (a snapshot of plain values)."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(gettext("No such enrolment."))
    session, user = enrolment.session, enrolment.user
    org = db.session.get(Organisation, session.org_id)
    return EnrolmentFacts(
        enrolment_id=enrolment.id, session_id=session.id, session_code=session.code, org_id=org.id,
        org_name=org.name, user_id=user.id, real_name=user.real_name, id_type=user.id_type,
        id_number=user.id_number, photo_file_id=user.photo_file_id,
        occupation_code=session.occupation.code, occupation_name=session.occupation.name,
        work_type=session.work_type, level=session.level,
        level_name=LEVEL_NAMES_ZH.get(session.level, str(session.level)),
        components=tuple(enrolment.components or session.components), status=enrolment.status,
        ticket_no=enrolment.ticket_no)


# The domain's other services, so that other domains import them from one place.
from .enrolments import (apply_for_session, decide_enrolments, open_sessions,  # noqa: E402
                         prior_certificate_lookup, set_accommodation)
from .recusal import (assessors_for_enrolment, panelists_for_enrolment, practical_groups,  # noqa: E402
                      related_pairs)

__all__ = [
    "SESSION_STATES", "apply_for_session", "assessors_for_enrolment", "attempt_deadline_for",
    "close_enrolment", "create_session", "decide_enrolments", "enrolment_facts", "finish_session",
    "mark_results_published", "open_sessions", "panelists_for_enrolment", "practical_groups",
    "prior_certificate_lookup", "publish_session", "related_pairs", "set_accommodation",
    "start_session", "theory_start_check", "update_session",
]
