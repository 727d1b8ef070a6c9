"""Recusal (回避): relationships assessors declare with candidates, and practical groups.

The rule held at all times: no candidate is placed in a practical group with an
assessor who declared a relationship with them. It is checked when groups are
assigned (automatically or by hand), when assessors are put into groups, when
enrolments are approved and before results are published; a relationship declared
after the groups were formed takes the candidate out of that group at once.

The scoring domain reads ``related_pairs``, ``assessors_for_enrolment``,
``panelists_for_enrolment`` and ``practical_groups``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from ..accounts import idnumbers
from ..accounts.models import Membership, User
from ..core import audit
from ..core.auth import ADMIN, ASSESSOR, CANDIDATE, SUPERVISOR, Actor, require_org, require_user
from ..core.errors import Conflict, NotFound, ValidationFailed
from ..extensions import db
from . import placement
from .lookups import enrolments_of, get_enrolment, get_session, staff_of
from .models import RELATION_KINDS, AssessorRelation, Enrolment, ExamSession, SessionStaff

KIND_LABELS = {
    "relative": _l("Close relative"),
    "colleague": _l("Close colleague"),
    "trainer": _l("Trained or taught the candidate"),
    "employer": _l("Employer or direct manager"),
}
#: Enrolments that still take part in the session.
ACTIVE = ("applied", "approved")
#: Session states in which groups may still change.
OPEN_STATES = ("draft", "published", "closed", "in_progress")
EXAMINER_ROLES = ("assessor", "chief_assessor", "panelist")


# --- reading -------------------------------------------------------------------------

def relation_kinds(org_id: int, assessor_ids, candidate_ids) -> dict[tuple[int, int], str]:
    """(assessor, candidate) → kind of the declared relationships among these people."""
    assessor_ids, candidate_ids = set(assessor_ids), set(candidate_ids)
    if not assessor_ids or not candidate_ids:
        return {}
    rows = db.session.execute(select(AssessorRelation.assessor_id, AssessorRelation.candidate_id,
                                     AssessorRelation.kind)
                              .where(AssessorRelation.org_id == org_id,
                                     AssessorRelation.assessor_id.in_(assessor_ids),
                                     AssessorRelation.candidate_id.in_(candidate_ids)))
    return {(a, c): kind for a, c, kind in rows}


def group_members(session_id: int) -> dict[int, list[int]]:
    """Practical group number → assessor user ids (the chief is one of the assessors)."""
    groups: dict[int, list[int]] = {}
    for staff in staff_of(session_id, "assessor"):
        if staff.group_no is not None:
            groups.setdefault(staff.group_no, []).append(staff.user_id)
    return groups


def related_pairs(session_id: int) -> set[tuple[int, int]]:
    """(assessor user id, enrolment id) for every declared relationship between an examiner of
    the session (assessor, chief assessor, review panelist) and one of its candidates."""
    session = db.session.get(ExamSession, session_id)
    if session is None:
        return set()
    examiners = {s.user_id for s in staff_of(session_id, *EXAMINER_ROLES)}
    enrolments = enrolments_of(session_id, *ACTIVE)
    by_user = {e.user_id: e.id for e in enrolments}
    kinds = relation_kinds(session.org_id, examiners, by_user)
    return {(assessor, by_user[candidate]) for assessor, candidate in kinds}


@dataclass
class PracticalGroup:
    group_no: int
    assessors: list[User]
    chief_id: int | None
    enrolment_ids: list[int] = field(default_factory=list)


def practical_groups(session_id: int) -> list[PracticalGroup]:
    """The session's practical groups, their assessors and their (approved) candidates."""
    chief = next((s for s in staff_of(session_id, "chief_assessor")), None)
    groups: dict[int, PracticalGroup] = {}
    for staff in staff_of(session_id, "assessor"):
        if staff.group_no is None:
            continue
        group = groups.setdefault(staff.group_no, PracticalGroup(staff.group_no, [], None))
        group.assessors.append(staff.user)
        if chief is not None and chief.user_id == staff.user_id:
            group.chief_id = staff.user_id
    for enrolment in enrolments_of(session_id, "approved"):
        if enrolment.practical_group in groups:
            groups[enrolment.practical_group].enrolment_ids.append(enrolment.id)
    return [groups[g] for g in sorted(groups)]


def assessors_for_enrolment(enrolment_id: int) -> list[User]:
    """The assessors who score this candidate's practical: their group's assessors.

    :raise NotFound: no such enrolment.
    :raise Conflict: the candidate has no group, or (never expected) a related assessor
        sits in their group.
    """
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(gettext("No such enrolment."))
    if enrolment.practical_group is None:
        raise Conflict(gettext("This candidate has no practical group yet."))
    staff = [s for s in staff_of(enrolment.session_id, "assessor")
             if s.group_no == enrolment.practical_group]
    kinds = relation_kinds(enrolment.session.org_id, [s.user_id for s in staff], [enrolment.user_id])
    if kinds:
        raise Conflict(gettext("An assessor of this candidate's group declared a relationship with "
                               "them; the group must be changed before scoring."))
    return [s.user for s in staff]


def panelists_for_enrolment(enrolment_id: int) -> list[User]:
    """The review panel for this candidate, without any panelist related to them."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(gettext("No such enrolment."))
    staff = staff_of(enrolment.session_id, "panelist")
    kinds = relation_kinds(enrolment.session.org_id, [s.user_id for s in staff], [enrolment.user_id])
    return [s.user for s in staff if (s.user_id, enrolment.user_id) not in kinds]


@dataclass
class Violation:
    enrolment: Enrolment
    group_no: int
    assessor: User
    kind: str


def violations(session: ExamSession) -> list[Violation]:
    """Candidates placed with a related assessor (the rule says: never; this proves it)."""
    groups = group_members(session.id)
    enrolments = [e for e in enrolments_of(session.id, *ACTIVE) if e.practical_group is not None]
    kinds = relation_kinds(session.org_id, {a for g in groups.values() for a in g},
                           {e.user_id for e in enrolments})
    found = []
    for enrolment in enrolments:
        for assessor_id in groups.get(enrolment.practical_group, ()):
            kind = kinds.get((assessor_id, enrolment.user_id))
            if kind:
                found.append(Violation(enrolment, enrolment.practical_group,
                                       db.session.get(User, assessor_id), kind))
    return found


def admissible_groups(session: ExamSession, candidate_user_id: int) -> list[int]:
    groups = group_members(session.id)
    kinds = relation_kinds(session.org_id, {a for g in groups.values() for a in g}, [candidate_user_id])
    return placement.admissible_groups(candidate_user_id, groups, set(kinds))


# --- declaring -------------------------------------------------------------------------

def find_people(actor: Actor, query: str) -> list[User]:
    """People an assessor may declare a relationship with: the body's candidates by name, or
    anyone on the platform by their full ID number (which only those who know them have)."""
    require_org(actor, actor.org_id, ASSESSOR, ADMIN)
    query = (query or "").strip()
    if len(query) < 2:
        return []
    number = idnumbers.normalise_id_number("resident_id", query)
    by_number = select(User).where(User.id_number == number)
    by_name = (select(User).join(Membership, Membership.user_id == User.id)
               .where(Membership.org_id == actor.org_id, Membership.role == CANDIDATE,
                      User.real_name.contains(query)))
    found = {u.id: u for u in db.session.scalars(by_number)}
    for user in db.session.scalars(by_name.limit(20)):
        found.setdefault(user.id, user)
    return [u for u in found.values() if u.id != actor.user_id][:20]


def declare_relation(actor: Actor, candidate_user_id: int, kind: str,
                     note: str | None = None) -> AssessorRelation:
    """An assessor declares a relationship with a candidate (回避).

    Any placement that now breaks the rule is undone at once: the candidate leaves the
    practical group of that assessor in every session still running (audited), and
    the administrator assigns another group.
    """
    assessor_id = require_user(actor)
    require_org(actor, actor.org_id, ASSESSOR)
    org_id = actor.org_id
    candidate = db.session.get(User, candidate_user_id)
    if candidate is None or candidate.id == assessor_id:
        raise NotFound(gettext("No such person."))
    if kind not in RELATION_KINDS:
        raise ValidationFailed(gettext("Choose the kind of relationship."))
    note = (note or "").strip()[:300] or None
    exists = db.session.scalar(select(AssessorRelation).where(
        AssessorRelation.org_id == org_id, AssessorRelation.assessor_id == assessor_id,
        AssessorRelation.candidate_id == candidate.id, AssessorRelation.kind == kind))
    if exists is not None:
        raise Conflict(gettext("You have already declared this relationship."))
    relation = AssessorRelation(org_id=org_id, assessor_id=assessor_id, candidate_id=candidate.id,
                                kind=kind, note=note)
    db.session.add(relation)
    db.session.flush()
    audit.record("recusal.declared", actor=actor, obj=relation,
                 data={"candidate_id": candidate.id, "kind": kind})
    _undo_conflicting_placements(actor, org_id, assessor_id, candidate.id)
    db.session.commit()
    return relation


def _undo_conflicting_placements(actor: Actor, org_id: int, assessor_id: int, candidate_id: int) -> None:
    rows = db.session.execute(
        select(Enrolment, SessionStaff)
        .join(ExamSession, ExamSession.id == Enrolment.session_id)
        .join(SessionStaff, (SessionStaff.session_id == Enrolment.session_id)
              & (SessionStaff.group_no == Enrolment.practical_group))
        .where(ExamSession.org_id == org_id, ExamSession.status.in_(OPEN_STATES),
               Enrolment.user_id == candidate_id, Enrolment.status.in_(ACTIVE),
               SessionStaff.user_id == assessor_id, SessionStaff.role == "assessor"))
    for enrolment, staff in rows:
        audit.record("enrolment.group_cleared_for_recusal", actor=actor, obj=enrolment,
                     org_id=org_id, data={"group": enrolment.practical_group,
                                          "assessor_id": assessor_id})
        enrolment.practical_group = None


def my_relations(actor: Actor) -> list[AssessorRelation]:
    require_org(actor, actor.org_id, ASSESSOR)
    return list(db.session.scalars(select(AssessorRelation).where(
        AssessorRelation.org_id == actor.org_id, AssessorRelation.assessor_id == actor.user_id)
        .order_by(AssessorRelation.created_at.desc())))


@dataclass
class RelationRow:
    relation: AssessorRelation
    assessor: User
    candidate: User


def org_relations(actor: Actor, org_id: int | None, query: str | None = None) -> list[RelationRow]:
    """Every declaration of the body (admins and supervisors; the regulator reads)."""
    if org_id is None:
        raise NotFound(gettext("Not found."))
    require_org(actor, org_id, ADMIN, SUPERVISOR, write=False)
    assessor = aliased(User)
    candidate = aliased(User)
    stmt = (select(AssessorRelation, assessor, candidate)
            .join(assessor, assessor.id == AssessorRelation.assessor_id)
            .join(candidate, candidate.id == AssessorRelation.candidate_id)
            .where(AssessorRelation.org_id == org_id))
    if query:
        stmt = stmt.where(or_(assessor.real_name.contains(query), candidate.real_name.contains(query)))
    rows = db.session.execute(stmt.order_by(AssessorRelation.created_at.desc()).limit(500))
    return [RelationRow(r, a, c) for r, a, c in rows]


def relation_count(org_id: int) -> int:
    return db.session.scalar(select(func.count(AssessorRelation.id))
                             .where(AssessorRelation.org_id == org_id)) or 0


# --- placing candidates in groups --------------------------------------------------------

def place_in_groups(session: ExamSession) -> tuple[int, list[Enrolment]]:
    """Put approved practical candidates without an admissible group into one (no commit).

    Returns (how many were placed, enrolments that have no admissible group).
    """
    groups = group_members(session.id)
    enrolments = [e for e in enrolments_of(session.id, "approved")
                  if not e.components or "practical" in e.components]
    if not groups:
        return 0, [e for e in enrolments if e.practical_group is None]
    kinds = relation_kinds(session.org_id, {a for g in groups.values() for a in g},
                           {e.user_id for e in enrolments})
    by_user = {e.user_id: e for e in enrolments}
    assignment, unplaced = placement.assign_groups(
        [e.user_id for e in enrolments], groups, set(kinds),
        {e.user_id: e.practical_group for e in enrolments})
    moved = 0
    for user_id, group in assignment.items():
        if by_user[user_id].practical_group != group:
            by_user[user_id].practical_group = group
            moved += 1
    for user_id in unplaced:
        by_user[user_id].practical_group = None
    return moved, [by_user[u] for u in unplaced]


def assign_groups(actor: Actor, session_id: int) -> tuple[int, list[Enrolment]]:
    """Place every approved candidate without a group, respecting recusal."""
    session = get_session(actor, session_id, write=True)
    if not session.has("practical"):
        raise Conflict(gettext("This session has no practical component."))
    if session.status not in OPEN_STATES:
        raise Conflict(gettext("Groups can no longer change in this session."))
    if not group_members(session.id):
        raise Conflict(gettext("Assign assessors to practical groups first."))
    moved, unplaced = place_in_groups(session)
    audit.record("session.groups_assigned", actor=actor, obj=session,
                 data={"placed": moved, "without_group": [e.id for e in unplaced]})
    db.session.commit()
    return moved, unplaced


def set_practical_group(actor: Actor, enrolment_id: int, group_no: int | None) -> Enrolment:
    """Move one candidate to a group by hand (or out of any group).

    :raise Conflict: an assessor of that group declared a relationship with the candidate.
    """
    enrolment = get_enrolment(actor, enrolment_id, write=True)
    session = enrolment.session
    if session.status not in OPEN_STATES:
        raise Conflict(gettext("Groups can no longer change in this session."))
    if group_no is not None:
        if enrolment.status != "approved":
            raise Conflict(gettext("Only approved candidates are placed in groups."))
        groups = group_members(session.id)
        if group_no not in groups:
            raise ValidationFailed(gettext("Practical group %(n)d has no assessors.", n=group_no))
        kinds = relation_kinds(session.org_id, groups[group_no], [enrolment.user_id])
        if kinds:
            (assessor_id, _), kind = next(iter(kinds.items()))
            assessor = db.session.get(User, assessor_id)
            raise Conflict(gettext(
                "%(assessor)s declared a relationship with this candidate (%(kind)s) and assesses "
                "group %(group)d: choose another group.", assessor=assessor.real_name,
                kind=KIND_LABELS[kind], group=group_no))
    before = enrolment.practical_group
    enrolment.practical_group = group_no
    audit.record("enrolment.group_changed", actor=actor, obj=enrolment,
                 data={"from": before, "to": group_no})
    db.session.commit()
    return enrolment
