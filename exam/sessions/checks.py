"""The rules a session must meet before it is published, closed or started (考务流程规范).

``session_problems`` lists every broken rule in plain words; publishing, closing
enrolment and starting refuse while the list is not empty. Proctor numbers use the
rooms' capacity until enrolment closes, and the real number of seated candidates
after that.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ..accounts.forms import ROLE_LABELS
from ..accounts.models import User
from ..banks.models import Bank
from ..core.errors import Problem
from ..extensions import db
from ..papers.models import Blueprint, PracticalSpec, PracticalSpecVersion
from . import recusal, timing
from ..banks.levels import ASSESSOR_MIN_LEVEL, REVIEW_LEVELS, level_label
from .lookups import enrolments_of, membership, staff_of
from .models import ExamSession

#: At least one proctor per this many candidates, and at least ``MIN_PROCTORS_PER_ROOM``.
CANDIDATES_PER_PROCTOR = 15
MIN_PROCTORS_PER_ROOM = 2
MIN_ASSESSORS_PER_GROUP = 3
READY_BLUEPRINT_STATES = ("ready", "locked")

SECTIONS = {
    "general": _l("General"),
    "enrolment": _l("Enrolment"),
    "theory": _l("Theory exam"),
    "rooms": _l("Rooms and proctors"),
    "practical": _l("Practical assessment"),
    "review": _l("Comprehensive review"),
    "supervision": _l("Supervision"),
}


def proctors_needed(candidates: int) -> int:
    """1 per 15 candidates, and at least 2 in every room."""
    return max(MIN_PROCTORS_PER_ROOM, math.ceil(candidates / CANDIDATES_PER_PROCTOR))


class _Problems(list):
    def add(self, section: str, message: str) -> None:
        self.append(Problem(message, str(SECTIONS[section])))


def session_problems(session: ExamSession, *, now: datetime, basis: str = "capacity",
                     publishing: bool = False) -> list[Problem]:
    """Every rule the session breaks, in words, each located by section.

    ``basis`` is ``capacity`` (plan with room capacities) or ``enrolled`` (count the
    candidates actually seated and placed).
    """
    problems = _Problems()
    _general(session, problems)
    _enrolment_window(session, problems, now, publishing)
    if session.has("theory"):
        _theory(session, problems)
        _rooms(session, problems, basis)
    if session.has("practical"):
        _practical(session, problems, basis)
    if session.has("review"):
        _review(session, problems, basis)
    _supervision(session, problems)
    return list(problems)


def _general(session: ExamSession, problems: _Problems) -> None:
    occupation = session.occupation
    if occupation.levels and session.level not in occupation.levels:
        problems.add("general", gettext("The standard of %(occupation)s has no %(level)s.",
                                         occupation=occupation.name, level=level_label(session.level)))
    if occupation.work_types and session.work_type not in occupation.work_types:
        problems.add("general", gettext("Choose the work type: %(types)s.",
                                        types="、".join(occupation.work_types)))
    if not session.components:
        problems.add("general", gettext("Choose at least one component (theory, practical, review)."))
    if session.has("review") and session.level not in REVIEW_LEVELS:
        problems.add("general", gettext("A comprehensive review is held only for levels 2 and 1."))


def _first_exam_moment(session: ExamSession) -> datetime | None:
    moments = [m for m in (session.theory_start_at if session.has("theory") else None,
                           session.practical_at if session.has("practical") else None,
                           session.review_at if session.has("review") else None) if m]
    return min(moments) if moments else None


def _enrolment_window(session: ExamSession, problems: _Problems, now: datetime,
                      publishing: bool) -> None:
    opens, closes = session.enrolment_opens_at, session.enrolment_closes_at
    if closes is None:
        problems.add("enrolment", gettext("Set when enrolment closes."))
        return
    if opens is not None and opens >= closes:
        problems.add("enrolment", gettext("Enrolment must open before it closes."))
    first = _first_exam_moment(session)
    if first is not None and closes > first:
        problems.add("enrolment", gettext("Enrolment must close before the first exam begins."))
    if publishing and closes <= now:
        problems.add("enrolment", gettext("The enrolment period has already ended; set a later "
                                          "closing time."))


def _theory(session: ExamSession, problems: _Problems) -> None:
    blueprint = db.session.get(Blueprint, session.blueprint_id) if session.blueprint_id else None
    if blueprint is None or blueprint.org_id != session.org_id:
        problems.add("theory", gettext("Choose the paper plan (blueprint) of the theory exam."))
    else:
        bank = db.session.get(Bank, blueprint.bank_id)
        if bank is None or bank.occupation_id != session.occupation_id or bank.level != session.level:
            problems.add("theory", gettext("The paper plan %(name)s is for another occupation or "
                                           "level.", name=blueprint.name))
        if blueprint.status not in READY_BLUEPRINT_STATES:
            problems.add("theory", gettext("The paper plan %(name)s is %(status)s: it must be "
                                           "validated (ready) first.", name=blueprint.name,
                                           status=blueprint.status))
    duration = session.theory_duration_minutes or 0
    if session.theory_start_at is None:
        problems.add("theory", gettext("Set when the theory exam starts."))
    if blueprint is not None and duration <= 0:
        problems.add("theory", gettext("The paper plan has no duration."))
    if not 0 <= session.late_entry_minutes <= timing.MAX_LATE_ENTRY:
        problems.add("theory", gettext("Late entry must be between 0 and %(max)d minutes.",
                                       max=timing.MAX_LATE_ENTRY))
    elif duration and session.late_entry_minutes >= duration:
        problems.add("theory", gettext("Late entry must end before the exam's duration is over."))
    if session.earliest_handin_minutes < 0 or (duration and session.earliest_handin_minutes >= duration):
        problems.add("theory", gettext("The earliest hand-in must fall within the exam's duration "
                                       "(%(n)d minutes).", n=duration))
    if session.theory_hard_end_at and session.theory_start_at and duration and \
            session.theory_hard_end_at < session.theory_start_at + timedelta(minutes=duration):
        problems.add("theory", gettext("The hard end must not be earlier than the start plus the "
                                       "duration (%(n)d minutes).", n=duration))


def _rooms(session: ExamSession, problems: _Problems, basis: str) -> None:
    rooms = list(session.rooms)
    if not rooms:
        problems.add("rooms", gettext("Add at least one exam room."))
        return
    proctors = staff_of(session.id, "proctor")
    approved = enrolments_of(session.id, "approved")
    theory_candidates = [e for e in approved if not e.components or "theory" in e.components]
    seated: dict[int, int] = {}
    for enrolment in theory_candidates:
        if enrolment.room_id is not None:
            seated[enrolment.room_id] = seated.get(enrolment.room_id, 0) + 1
    active = {p.user_id for p in proctors if membership(session.org_id, p.user_id, "proctor")}
    for room in rooms:
        have = sum(1 for p in proctors if p.room_id == room.id and p.user_id in active)
        if basis == "capacity":
            need = proctors_needed(room.capacity)
            if have < need:
                problems.add("rooms", gettext(
                    "Room %(room)s holds %(n)d candidates: it needs at least %(need)d proctors "
                    "(1 per 15 candidates, at least 2 per room); %(have)d assigned.",
                    room=room.name, n=room.capacity, need=need, have=have))
        else:
            count = seated.get(room.id, 0)
            need = proctors_needed(count)
            if count and have < need:
                problems.add("rooms", gettext(
                    "Room %(room)s has %(n)d candidates: it needs at least %(need)d proctors "
                    "(1 per 15 candidates, at least 2 per room); %(have)d assigned.",
                    room=room.name, n=count, need=need, have=have))
            if count > room.capacity:
                problems.add("rooms", gettext("Room %(room)s has %(n)d candidates but only %(cap)d "
                                              "places.", room=room.name, n=count, cap=room.capacity))
        for message in timing.parse_allowlist(room.ip_allowlist).problems:
            problems.add("rooms", gettext("Room %(room)s: %(problem)s", room=room.name,
                                          problem=message))
    if basis == "enrolled":
        unseated = sum(1 for e in theory_candidates if e.room_id is None)
        if unseated:
            problems.add("rooms", gettext("%(n)d approved candidates have no seat yet: assign seats "
                                          "(add a room or places if they do not fit).", n=unseated))
    _check_staff_roles(session, proctors, "proctor", "rooms", problems)


def _qualification(session: ExamSession, user: User, section: str, problems: _Problems) -> None:
    member = membership(session.org_id, user.id, "assessor")
    if member is None:
        problems.add(section, gettext("%(name)s is not an assessor of this body.", name=user.real_name))
        return
    level = member.qualification_level
    if level is None:
        problems.add(section, gettext("%(name)s has no recorded skill level; record it under People "
                                      "first.", name=user.real_name))
    elif level > ASSESSOR_MIN_LEVEL:
        problems.add(section, gettext("%(name)s holds %(level)s: assessors need level 3 or higher.",
                                      name=user.real_name, level=level_label(level)))
    elif level > session.level:
        problems.add(section, gettext("%(name)s holds %(level)s, lower than this %(session_level)s "
                                      "session.", name=user.real_name, level=level_label(level),
                                      session_level=level_label(session.level)))


def _check_staff_roles(session: ExamSession, staff, role: str, section: str,
                       problems: _Problems) -> None:
    for member in staff:
        if membership(session.org_id, member.user_id, role) is None:
            problems.add(section, gettext("%(name)s no longer holds the role %(role)s in this body.",
                                          name=member.user.real_name,
                                          role=str(ROLE_LABELS.get(role, role))))


def _practical(session: ExamSession, problems: _Problems, basis: str) -> None:
    version = (db.session.get(PracticalSpecVersion, session.practical_spec_version_id)
               if session.practical_spec_version_id else None)
    spec = db.session.get(PracticalSpec, version.spec_id) if version else None
    if spec is None or spec.org_id != session.org_id:
        problems.add("practical", gettext("Choose the practical task specification."))
    elif spec.occupation_id != session.occupation_id or spec.level != session.level:
        problems.add("practical", gettext("The practical specification is for another occupation or "
                                          "level."))
    if session.practical_at is None or not (session.practical_place or "").strip():
        problems.add("practical", gettext("Set the date and place of the practical assessment."))
    assessors = staff_of(session.id, "assessor")
    groups = recusal.group_members(session.id)
    if not groups:
        problems.add("practical", gettext("Put assessors into at least one practical group."))
    for group_no, members in sorted(groups.items()):
        if len(members) < MIN_ASSESSORS_PER_GROUP or len(members) % 2 == 0:
            problems.add("practical", gettext(
                "Practical group %(group)d has %(n)d assessors: a group needs at least 3, and an "
                "odd number, so that they score independently and a majority decides.",
                group=group_no, n=len(members)))
    chiefs = staff_of(session.id, "chief_assessor")
    if len(chiefs) != 1:
        problems.add("practical", gettext("Name one chief assessor."))
    elif chiefs[0].user_id not in {a.user_id for a in assessors if a.group_no is not None}:
        problems.add("practical", gettext("The chief assessor must be one of the group assessors."))
    for staff in assessors:
        _qualification(session, staff.user, "practical", problems)
    for violation in recusal.violations(session):
        problems.add("practical", gettext(
            "%(candidate)s is in group %(group)d with %(assessor)s, who declared a relationship "
            "(%(kind)s): move the candidate.", candidate=violation.enrolment.user.real_name,
            group=violation.group_no, assessor=violation.assessor.real_name,
            kind=recusal.KIND_LABELS[violation.kind]))
    if basis == "enrolled" and groups:
        without = [e for e in enrolments_of(session.id, "approved")
                   if (not e.components or "practical" in e.components) and e.practical_group is None]
        if without:
            problems.add("practical", gettext("%(n)d approved candidates have no practical group yet.",
                                              n=len(without)))


def _review(session: ExamSession, problems: _Problems, basis: str) -> None:
    if session.review_at is None or not (session.review_place or "").strip():
        problems.add("review", gettext("Set the date and place of the comprehensive review."))
    panel = staff_of(session.id, "panelist")
    if len(panel) < MIN_ASSESSORS_PER_GROUP or len(panel) % 2 == 0:
        problems.add("review", gettext("The review panel has %(n)d members: it needs at least 3, and "
                                       "an odd number.", n=len(panel)))
    for staff in panel:
        _qualification(session, staff.user, "review", problems)
    if basis == "enrolled" and len(panel) >= MIN_ASSESSORS_PER_GROUP:
        approved = enrolments_of(session.id, "approved")
        kinds = recusal.relation_kinds(session.org_id, [s.user_id for s in panel],
                                       [e.user_id for e in approved])
        for enrolment in approved:
            left = sum(1 for s in panel if (s.user_id, enrolment.user_id) not in kinds)
            if left < MIN_ASSESSORS_PER_GROUP:
                problems.add("review", gettext(
                    "Only %(n)d panelists may review %(candidate)s (the others declared a "
                    "relationship): add panelists.", n=left, candidate=enrolment.user.real_name))


def _supervision(session: ExamSession, problems: _Problems) -> None:
    supervisors = staff_of(session.id, "supervisor")
    if not supervisors:
        problems.add("supervision", gettext("Assign at least one supervisor: every exam is "
                                            "supervised."))
    _check_staff_roles(session, supervisors, "supervisor", "supervision", problems)
    examiners = {s.user_id for s in staff_of(session.id, "proctor", "assessor", "panelist")}
    for staff in supervisors:
        if staff.user_id in examiners:
            problems.add("supervision", gettext("%(name)s cannot supervise a session in which they "
                                                "also proctor or assess.", name=staff.user.real_name))
