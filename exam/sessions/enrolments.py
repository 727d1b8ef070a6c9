"""Enrolment (报名): applying online, rosters from Excel, eligibility, decisions,
accommodations and seats.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from argon2 import PasswordHasher
from flask_babel import gettext
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import selectinload

from ..accounts import services as accounts
from ..accounts.idnumbers import EDUCATION_LEVELS
from ..accounts.models import User
from ..banks.models import Occupation
from ..core import audit
from ..core.auth import ADMIN, Actor, require_org, require_user
from ..core.clock import now_utc
from ..core.errors import Conflict, Gone, NotFound, Problem, ProblemList, ValidationFailed
from ..extensions import db
from . import eligibility, placement, recusal, roster, ticketcodes, timing
from .lookups import enrolments_of, get_enrolment, get_session, own_enrolment, staff_of
from .models import EligibilityPolicy, Enrolment, ExamSession, RosterUpload

log = logging.getLogger(__name__)

#: States in which decisions, seats and accommodations may still change.
DECIDING_STATES = ("published", "closed")
ROSTER_UPLOAD_TTL = timedelta(days=1)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- eligibility ---------------------------------------------------------------------------

def prior_certificate_lookup(number: str) -> eligibility.PriorCertificate | None:
    """The platform's own record of a certificate number, or None when it was not issued here.

    Reads ``exam.certificates.models.Certificate`` when the certificates domain is installed.
    """
    try:
        from ..certificates.models import Certificate
    except ImportError:
        return None
    record = db.session.scalar(select(Certificate).where(Certificate.number == number))
    if record is None:
        return None
    return eligibility.PriorCertificate(
        number=record.number, status=record.status, level=record.level,
        occupation_code=record.occupation_code, holder_id_number=record.holder_id_number,
        occupation_name=record.occupation_name)


@dataclass
class RuleSet:
    rules: list
    #: ``occupation`` (the body's rule for this occupation), ``body`` (the body's rule for the
    #: level) or ``default`` (the national typical table).
    source: str
    policy: EligibilityPolicy | None = None


def rules_for(org_id: int, occupation_id: int | None, level: int) -> RuleSet:
    policies = list(db.session.scalars(select(EligibilityPolicy).where(
        EligibilityPolicy.org_id == org_id, EligibilityPolicy.level == level,
        or_(EligibilityPolicy.occupation_id == occupation_id,
            EligibilityPolicy.occupation_id.is_(None)))))
    specific = next((p for p in policies if occupation_id is not None
                     and p.occupation_id == occupation_id), None)
    if specific is not None:
        return RuleSet(specific.rules, "occupation", specific)
    general = next((p for p in policies if p.occupation_id is None), None)
    if general is not None:
        return RuleSet(general.rules, "body", general)
    return RuleSet(eligibility.default_rules(level), "default")


def evaluate_for(session: ExamSession, user: User, evidence: dict) -> dict:
    """The evaluation stored on an enrolment: the rule's source, the result and when."""
    rule_set = rules_for(session.org_id, session.occupation_id, session.level)
    result = eligibility.evaluate(
        rule_set.rules, eligibility.Evidence.from_dict(evidence),
        occupation_code=session.occupation.code, occupation_name=session.occupation.name,
        candidate_id_number=user.id_number, prior_certificate_lookup=prior_certificate_lookup)
    return {**result.as_dict(), "rules": rule_set.rules, "source": rule_set.source,
            "evaluated_at": now_utc().isoformat()}


@dataclass
class PolicyRow:
    level: int
    occupation: Occupation | None
    rule_set: RuleSet


def policies(actor: Actor, org_id: int) -> list[PolicyRow]:
    """The body's rules per level (its own or the default), and its per-occupation rules."""
    require_org(actor, org_id, ADMIN, write=False)
    rows = [PolicyRow(level, None, rules_for(org_id, None, level)) for level in sorted(
        eligibility.DEFAULT_RULES, reverse=True)]
    specific = db.session.scalars(select(EligibilityPolicy).where(
        EligibilityPolicy.org_id == org_id, EligibilityPolicy.occupation_id.is_not(None))
        .order_by(EligibilityPolicy.level.desc()))
    for policy in specific:
        rows.append(PolicyRow(policy.level, db.session.get(Occupation, policy.occupation_id),
                              RuleSet(policy.rules, "occupation", policy)))
    return rows


def save_policy(actor: Actor, org_id: int, level: int, occupation_id: int | None,
                rules: list | None) -> EligibilityPolicy | None:
    """Set the body's rules for a level (optionally one occupation); ``None`` restores the
    default (or, for an occupation, the body's rule for the level)."""
    require_org(actor, org_id, ADMIN)
    if level not in eligibility.DEFAULT_RULES:
        raise NotFound(gettext("No such level."))
    if occupation_id is not None and db.session.get(Occupation, occupation_id) is None:
        raise NotFound(gettext("No such occupation."))
    current = db.session.scalar(select(EligibilityPolicy).where(
        EligibilityPolicy.org_id == org_id, EligibilityPolicy.level == level,
        EligibilityPolicy.occupation_id.is_(None) if occupation_id is None
        else EligibilityPolicy.occupation_id == occupation_id))
    if rules is None:
        if current is not None:
            audit.record("eligibility.policy_reset", actor=actor, obj=current,
                         data={"level": level, "occupation_id": occupation_id})
            db.session.delete(current)
            db.session.commit()
        return None
    problems = eligibility.validate_rules(rules)
    if problems:
        raise ValidationFailed(gettext("The rules were not saved."),
                               problems=[Problem(p) for p in problems])
    if current is None:
        current = EligibilityPolicy(org_id=org_id, occupation_id=occupation_id, level=level,
                                    rules=rules)
        db.session.add(current)
    else:
        current.rules = rules
    db.session.flush()
    audit.record("eligibility.policy_saved", actor=actor, obj=current,
                 data={"level": level, "occupation_id": occupation_id, "rules": rules})
    db.session.commit()
    return current


# --- applying -------------------------------------------------------------------------------

def _window_state(session: ExamSession, now) -> str:
    if session.status != "published":
        return "closed"
    if session.enrolment_opens_at and now < session.enrolment_opens_at:
        return "not_yet"
    if session.enrolment_closes_at and now >= session.enrolment_closes_at:
        return "closed"
    return "open"


def open_sessions(actor: Actor) -> list[ExamSession]:
    """Published sessions of every body whose enrolment is open now, soonest closing first."""
    require_user(actor)
    now = now_utc()
    stmt = select(ExamSession).where(
        ExamSession.status == "published",
        or_(ExamSession.enrolment_opens_at.is_(None), ExamSession.enrolment_opens_at <= now),
        ExamSession.enrolment_closes_at > now).order_by(ExamSession.enrolment_closes_at)
    return list(db.session.scalars(stmt))


def session_for_applicant(actor: Actor, session_id: int) -> ExamSession:
    """A published session a candidate may look at (drafts of any body are not found)."""
    require_user(actor)
    session = db.session.get(ExamSession, session_id)
    if session is None or session.status == "draft":
        raise NotFound(gettext("No such exam session."))
    return session


def applicant_rules(session: ExamSession) -> RuleSet:
    return rules_for(session.org_id, session.occupation_id, session.level)


def _check_evidence(evidence: dict, problems: ProblemList) -> dict:
    parsed = eligibility.Evidence.from_dict(evidence)
    raw_years = evidence.get("years_in_occupation")
    if raw_years not in (None, "") and parsed.years_in_occupation is None:
        problems.add(gettext("Write the years as a number from 0 to 60."), "years_in_occupation")
    if parsed.education and parsed.education not in EDUCATION_LEVELS:
        problems.add(gettext("Unknown education level."), "education")
    if parsed.prior_certificate_level is not None and not parsed.prior_certificate_number:
        problems.add(gettext("Give the number of the certificate you hold."), "prior_certificate_number")
    if parsed.prior_certificate_number and len(parsed.prior_certificate_number) > 40:
        problems.add(gettext("A certificate number has at most 40 characters."),
                     "prior_certificate_number")
    return parsed.as_dict()


def resit_components_for(user_id: int, session: ExamSession) -> list[str]:
    """Components of this session the candidate may sit alone (补考): those they failed last time
    at this occupation and level, within the resit period (``exam.scoring``)."""
    # Imported here: the scoring domain reads sessions' services when it is imported.
    from ..scoring.services import resit_components

    allowed = resit_components(user_id, session.occupation_id, session.level)
    return [c for c in session.components if c in allowed]


def apply_for_session(actor: Actor, session_id: int, evidence: dict, resit: bool = False) -> Enrolment:
    """A candidate applies online with the evidence the level requires.

    Applying again while the application is undecided (or after a rejection, while
    enrolment is open) replaces the evidence. Applying makes the candidate a member of
    the body. With ``resit``, the candidate sits only the components they failed last time
    (``resit_components_for``).

    :raise ValidationFailed: no ID number or no photo on the account, or bad evidence.
    :raise Gone: enrolment is not open.
    """
    user = db.session.get(User, require_user(actor))
    session = session_for_applicant(actor, session_id)
    state = _window_state(session, now_utc())
    if state == "not_yet":
        raise Conflict(gettext("Enrolment for this session has not opened yet."))
    if state == "closed":
        raise Gone(gettext("Enrolment for this session is closed."))
    problems = ProblemList()
    if not user.id_number:
        problems.add(gettext("Only real-name accounts (with an ID number) can apply; register as a "
                             "candidate first."))
    if not user.photo_file_id:
        problems.add(gettext("Upload your photo under My account first: the admission ticket needs "
                             "it."), "photo")
    if any(s.user_id == user.id for s in staff_of(session.id)):
        problems.add(gettext("You are on the staff of this session and cannot sit it."))
    cleaned = _check_evidence(evidence, problems)
    components = list(session.components)
    if resit:
        components = resit_components_for(user.id, session)
        if not components:
            problems.add(gettext("You have no failed component to resit in this session."), "resit")
        cleaned["resit"] = components
    problems.raise_if_any(gettext("The application was not sent."))
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.session_id == session.id,
                                                          Enrolment.user_id == user.id))
    if enrolment is not None and enrolment.status == "approved":
        raise Conflict(gettext("Your application for this session is already approved."))
    first = enrolment is None
    if first:
        enrolment = Enrolment(session_id=session.id, user_id=user.id, source="online",
                              components=components)
        db.session.add(enrolment)
    enrolment.components = components
    enrolment.status = "applied"
    enrolment.evidence = cleaned
    enrolment.decision_reason = enrolment.decided_by = enrolment.decided_at = None
    enrolment.eligibility = evaluate_for(session, user, cleaned)
    accounts.ensure_candidate_membership(user.id, session.org_id)
    db.session.flush()
    audit.record("enrolment.applied" if first else "enrolment.reapplied", actor=actor, obj=enrolment,
                 org_id=session.org_id,
                 data={"session_id": session.id, "eligible": enrolment.eligibility["eligible"],
                       "components": components})
    db.session.commit()
    return enrolment


def withdraw_enrolment(actor: Actor, enrolment_id: int) -> Enrolment:
    """The candidate withdraws while enrolment is open."""
    enrolment = own_enrolment(actor, enrolment_id)
    if enrolment.status not in ("applied", "approved"):
        raise Conflict(gettext("This application cannot be withdrawn."))
    if _window_state(enrolment.session, now_utc()) != "open":
        raise Gone(gettext("Enrolment has closed; ask the assessment body to withdraw you."))
    before = enrolment.status
    enrolment.status = "withdrawn"
    enrolment.room_id = enrolment.seat_no = enrolment.practical_group = None
    audit.record("enrolment.withdrawn", actor=actor, obj=enrolment, org_id=enrolment.session.org_id,
                 data={"from": before})
    db.session.commit()
    return enrolment


def my_enrolments(actor: Actor) -> list[Enrolment]:
    user_id = require_user(actor)
    return list(db.session.scalars(select(Enrolment).where(Enrolment.user_id == user_id)
                                   .order_by(Enrolment.created_at.desc())))


def ticket_available(enrolment: Enrolment) -> bool:
    """Whether the candidate can download the admission ticket now."""
    session = enrolment.session
    if enrolment.status != "approved" or not enrolment.ticket_no:
        return False
    if session.status not in ("published", "closed", "in_progress"):
        return False
    return not session.has("theory") or enrolment.room_id is not None


# --- deciding ---------------------------------------------------------------------------------

def _next_ticket_serial(session: ExamSession) -> int:
    numbers = db.session.scalars(select(Enrolment.ticket_no).where(
        Enrolment.session_id == session.id, Enrolment.ticket_no.is_not(None)))
    return max((int(n[-4:]) for n in numbers), default=0) + 1


@dataclass
class EnrolmentFilter:
    status: str | None = None
    eligible: str | None = None  # "yes" or "no"
    room_id: int | None = None
    query: str | None = None


def session_enrolments(actor: Actor, session_id: int, filters: EnrolmentFilter | None = None
                       ) -> list[Enrolment]:
    session = get_session(actor, session_id)
    filters = filters or EnrolmentFilter()
    stmt = select(Enrolment).join(User, User.id == Enrolment.user_id).where(
        Enrolment.session_id == session.id)
    if filters.status:
        stmt = stmt.where(Enrolment.status == filters.status)
    if filters.room_id:
        stmt = stmt.where(Enrolment.room_id == filters.room_id)
    if filters.query:
        q = filters.query.strip()
        stmt = stmt.where(or_(User.real_name.contains(q), User.id_number == q.upper(),
                              User.phone == q, Enrolment.ticket_no == q))
    stmt = stmt.options(selectinload(Enrolment.user), selectinload(Enrolment.room))
    rows = list(db.session.scalars(stmt.order_by(Enrolment.room_id, Enrolment.seat_no, User.real_name)))
    if filters.eligible in ("yes", "no"):
        want = filters.eligible == "yes"
        rows = [e for e in rows if bool((e.eligibility or {}).get("eligible")) == want]
    return rows


def decide_enrolments(actor: Actor, session_id: int, enrolment_ids: list[int], approve: bool,
                      reason: str | None = None) -> list[Enrolment]:
    """Approve or reject applications, one or many at once (all or none).

    A rejection needs a reason, which the candidate sees. Eligibility is evaluated again
    at the decision and kept with it. An approval gets an admission-ticket number; it is
    refused when the candidate is related to assessors of every practical group.
    """
    session = get_session(actor, session_id, write=True)
    if session.status not in DECIDING_STATES:
        raise Conflict(gettext("Applications can be decided only while the session is published or "
                               "enrolment has just closed."))
    reason = (reason or "").strip()[:500] or None
    if not approve and (reason is None or len(reason) < 2):
        raise ValidationFailed(gettext("Give the reason for the rejection; the candidate sees it."),
                               problems=[Problem(gettext("A reason is required."), "reason")])
    ids = sorted(set(enrolment_ids))
    if not ids:
        raise ValidationFailed(gettext("Choose at least one application."))
    enrolments = list(db.session.scalars(select(Enrolment).where(Enrolment.id.in_(ids),
                                                                 Enrolment.session_id == session.id)))
    if len(enrolments) != len(ids):
        raise NotFound(gettext("No such enrolment."))
    problems = ProblemList()
    groups = recusal.group_members(session.id) if session.has("practical") else {}
    kinds = recusal.relation_kinds(session.org_id, {a for g in groups.values() for a in g},
                                   {e.user_id for e in enrolments})
    serial = _next_ticket_serial(session)
    now = now_utc()
    for enrolment in sorted(enrolments, key=lambda e: e.id):
        name = enrolment.user.real_name
        if enrolment.status == "withdrawn":
            problems.add(gettext("%(name)s withdrew the application.", name=name))
            continue
        if approve:
            if groups and not placement.admissible_groups(enrolment.user_id, groups, set(kinds)):
                problems.add(gettext("%(name)s is related to assessors of every practical group: "
                                     "add a group or change its assessors first.", name=name))
                continue
            if enrolment.practical_group is not None and any(
                    (a, enrolment.user_id) in kinds for a in groups.get(enrolment.practical_group, ())):
                enrolment.practical_group = None
            if enrolment.ticket_no is None:
                enrolment.ticket_no = ticketcodes.ticket_number(now.year, session.id, serial)
                serial += 1
        else:
            enrolment.room_id = enrolment.seat_no = enrolment.practical_group = None
            enrolment.checked_in_at = enrolment.checked_in_by = None
        enrolment.eligibility = evaluate_for(session, enrolment.user, enrolment.evidence or {})
        before = enrolment.status
        enrolment.status = "approved" if approve else "rejected"
        enrolment.decision_reason = reason
        enrolment.decided_by, enrolment.decided_at = actor.user_id, now
        audit.record("enrolment.approved" if approve else "enrolment.rejected", actor=actor,
                     obj=enrolment, org_id=session.org_id,
                     data={"from": before, "reason": reason, "ticket_no": enrolment.ticket_no,
                           "eligible": enrolment.eligibility["eligible"]})
    if problems:
        db.session.rollback()
        problems.raise_if_any(gettext("Nothing was decided:"))
    late = approve and session.status == "closed"
    if late:  # enrolment closed: everyone else is placed, and has a paper, already
        db.session.flush()
        place_in_rooms(session)
        if session.has("practical"):
            recusal.place_in_groups(session)
    db.session.commit()
    if late:
        from .services import _prepare_papers

        for warning in _prepare_papers(actor, session):
            log.warning("session %s: %s", session.id, warning)
    return enrolments


def recheck_eligibility(actor: Actor, session_id: int) -> int:
    """Evaluate undecided applications again (after the rules changed). Returns how many."""
    session = get_session(actor, session_id, write=True)
    enrolments = enrolments_of(session.id, "applied")
    for enrolment in enrolments:
        enrolment.eligibility = evaluate_for(session, enrolment.user, enrolment.evidence or {})
    audit.record("session.eligibility_rechecked", actor=actor, obj=session,
                 data={"enrolments": [e.id for e in enrolments]})
    db.session.commit()
    return len(enrolments)


def evaluation_of(actor: Actor, enrolment_id: int) -> dict:
    """A fresh evaluation for the admin's page (not stored)."""
    enrolment = get_enrolment(actor, enrolment_id)
    return evaluate_for(enrolment.session, enrolment.user, enrolment.evidence or {})


# --- accommodations -----------------------------------------------------------------------------

def set_accommodation(actor: Actor, enrolment_id: int, extra_minutes: int | None,
                      multiplier: Decimal | str | None, reason: str | None) -> Enrolment:
    """Extra minutes or a time multiplier for one candidate, with the reason (audited)."""
    enrolment = get_enrolment(actor, enrolment_id, write=True)
    if enrolment.session.status not in ("draft",) + DECIDING_STATES:
        raise Conflict(gettext("The session has started: proctors extend time in the exam room."))
    problems = ProblemList()
    extra = extra_minutes or 0
    try:
        factor = Decimal(str(multiplier if multiplier not in (None, "") else "1")).quantize(
            Decimal("0.01"))
    except InvalidOperation:
        factor = None
    if not isinstance(extra, int) or not 0 <= extra <= timing.MAX_EXTRA_MINUTES:
        problems.add(gettext("Between 0 and %(max)d minutes.", max=timing.MAX_EXTRA_MINUTES),
                     "extra_minutes")
    if factor is None or not timing.MIN_MULTIPLIER <= factor <= timing.MAX_MULTIPLIER:
        problems.add(gettext("A multiplier from 1.00 to 3.00."), "time_multiplier")
    elif extra and factor != 1:
        problems.add(gettext("Give extra minutes or a multiplier, not both."), "time_multiplier")
    reason = (reason or "").strip()[:300] or None
    if (extra or (factor not in (None, Decimal("1.00")))) and not reason:
        problems.add(gettext("Give the reason (for example a medical certificate)."),
                     "accommodation_reason")
    problems.raise_if_any(gettext("The accommodation was not saved."))
    before = {"extra_minutes": enrolment.extra_minutes, "time_multiplier": str(enrolment.time_multiplier),
              "reason": enrolment.accommodation_reason}
    enrolment.extra_minutes, enrolment.time_multiplier = extra, factor
    enrolment.accommodation_reason = reason if (extra or factor != 1) else None
    audit.record("enrolment.accommodation_set", actor=actor, obj=enrolment,
                 org_id=enrolment.session.org_id,
                 data={"before": before, "after": {"extra_minutes": extra,
                                                   "time_multiplier": str(factor), "reason": reason}})
    db.session.commit()
    return enrolment


# --- seats ------------------------------------------------------------------------------------------

def place_in_rooms(session: ExamSession) -> tuple[int, list[Enrolment]]:
    """Seat approved theory candidates who have no seat (no commit).

    Returns (how many were seated, those left without a seat for lack of room).
    """
    approved = enrolments_of(session.id, "approved")
    waiting = sorted((e for e in approved if e.room_id is None
                      and (not e.components or "theory" in e.components)),
                     key=lambda e: (e.ticket_no or "", e.id))
    taken: dict[int, set[int]] = {}
    for e in approved:
        if e.room_id is not None and e.seat_no is not None:
            taken.setdefault(e.room_id, set()).add(e.seat_no)
    rooms = [placement.RoomSpace(r.id, r.capacity, frozenset(taken.get(r.id, ())))
             for r in session.rooms]
    placed, left = placement.allocate_seats(rooms, waiting)
    for enrolment, (room_id, seat) in placed.items():
        enrolment.room_id, enrolment.seat_no = room_id, seat
    return len(placed), left


def seat_counts(session_id: int) -> dict[int, int]:
    """Room id → how many approved candidates are seated there."""
    rows = db.session.execute(select(Enrolment.room_id, func.count(Enrolment.id)).where(
        Enrolment.session_id == session_id, Enrolment.status == "approved",
        Enrolment.room_id.is_not(None)).group_by(Enrolment.room_id))
    return dict(rows.all())


def assign_seats(actor: Actor, session_id: int) -> tuple[int, list[Enrolment]]:
    """Seat every approved candidate without a seat, filling the rooms in order."""
    session = get_session(actor, session_id, write=True)
    if session.status not in ("draft",) + DECIDING_STATES:
        raise Conflict(gettext("Seats can no longer change in this session."))
    if not session.rooms:
        raise Conflict(gettext("Add an exam room first."))
    seated, left = place_in_rooms(session)
    audit.record("session.seats_assigned", actor=actor, obj=session,
                 data={"seated": seated, "without_seat": [e.id for e in left]})
    db.session.commit()
    return seated, left


def move_candidate(actor: Actor, enrolment_id: int, room_id: int | None,
                   seat_no: int | None) -> Enrolment:
    """Put one candidate in a room and seat by hand (the first free seat when none is given)."""
    enrolment = get_enrolment(actor, enrolment_id, write=True)
    session = enrolment.session
    if session.status not in ("draft",) + DECIDING_STATES:
        raise Conflict(gettext("Seats can no longer change in this session."))
    if room_id is None:
        before = (enrolment.room_id, enrolment.seat_no)
        enrolment.room_id = enrolment.seat_no = None
    else:
        if enrolment.status != "approved":
            raise Conflict(gettext("Only approved candidates get a seat."))
        room = next((r for r in session.rooms if r.id == room_id), None)
        if room is None:
            raise NotFound(gettext("No such exam room."))
        others = {e.seat_no: e for e in enrolments_of(session.id, "approved")
                  if e.room_id == room.id and e.id != enrolment.id}
        if seat_no is None:
            seat_no = next((s for s in range(1, room.capacity + 1) if s not in others), None)
            if seat_no is None:
                raise Conflict(gettext("%(room)s is full.", room=room.name))
        if not 1 <= seat_no <= room.capacity:
            raise ValidationFailed(gettext("%(room)s has seats 1 to %(n)d.", room=room.name,
                                           n=room.capacity))
        if seat_no in others:
            raise Conflict(gettext("Seat %(seat)d in %(room)s is taken by %(name)s.", seat=seat_no,
                                   room=room.name, name=others[seat_no].user.real_name))
        before = (enrolment.room_id, enrolment.seat_no)
        enrolment.room_id, enrolment.seat_no = room.id, seat_no
    audit.record("enrolment.seat_changed", actor=actor, obj=enrolment, org_id=session.org_id,
                 data={"from": list(before), "to": [enrolment.room_id, enrolment.seat_no]})
    db.session.commit()
    return enrolment


# --- rosters ----------------------------------------------------------------------------------------

@dataclass
class RosterLine:
    row: roster.RosterRow
    existing: User | None
    eligibility: dict


@dataclass
class RosterPreview:
    token: str
    filename: str
    lines: list[RosterLine]


def _roster_lines(session: ExamSession, parsed: roster.RosterFile) -> tuple[list[RosterLine], list[Problem]]:
    problems = list(parsed.problems)
    lines = []
    enrolled = {e.user_id for e in enrolments_of(session.id, "applied", "approved", "rejected")}
    staff = {s.user_id for s in staff_of(session.id)}
    for row in parsed.rows:
        where = roster.location(row.row, roster.ID_NUMBER)
        existing = db.session.scalar(select(User).where(User.id_type == row.id_type,
                                                        User.id_number == row.id_number))
        if existing is not None and existing.real_name.replace(" ", "") != row.real_name.replace(" ", ""):
            problems.append(Problem(gettext("An account with this ID number exists under another name; "
                                            "check the name and the number."), where))
        elif existing is not None and existing.id in enrolled:
            problems.append(Problem(gettext("This candidate is already enrolled in this session."), where))
        elif existing is not None and existing.id in staff:
            problems.append(Problem(gettext("This person is on the staff of this session."), where))
        phone_owner = db.session.scalar(select(User.id).where(User.phone == row.phone))
        if phone_owner is not None and (existing is None or phone_owner != existing.id):
            problems.append(Problem(gettext("This mobile number belongs to another account."),
                                    roster.location(row.row, roster.PHONE)))
        probe = existing or User(real_name=row.real_name, id_type=row.id_type, id_number=row.id_number,
                                 password_hash="!")
        lines.append(RosterLine(row, existing, evaluate_for(session, probe, row.evidence)))
    return lines, problems


def _roster_session(actor: Actor, session_id: int) -> ExamSession:
    session = get_session(actor, session_id, write=True)
    if session.status not in ("draft",) + DECIDING_STATES:
        raise Conflict(gettext("Candidates can no longer be added to this session."))
    return session


def preview_roster(actor: Actor, session_id: int, filename: str, data: bytes) -> RosterPreview:
    """Read a roster and check every row; keep the file until the import is confirmed.

    :raise ValidationFailed: every problem with its row and column; nothing is kept.
    """
    session = _roster_session(actor, session_id)
    parsed = roster.read_roster(data, today=now_utc().date())
    lines, problems = _roster_lines(session, parsed)
    if problems:
        raise ValidationFailed(gettext("The roster has %(n)d problems; nothing was imported. Correct "
                                       "the file and upload it again.", n=len(problems)),
                               problems=problems)
    db.session.execute(delete(RosterUpload).where(RosterUpload.created_at < now_utc() - ROSTER_UPLOAD_TTL))
    upload = RosterUpload(token=secrets.token_urlsafe(24), session_id=session.id, user_id=actor.user_id,
                          filename=(filename or "roster.xlsx")[:255], data=data)
    db.session.add(upload)
    db.session.commit()  # a staging row, not yet a change to the session: no audit event
    return RosterPreview(upload.token, upload.filename, lines)


@dataclass
class RosterResult:
    enrolments: list[Enrolment]
    #: New accounts and their initial passwords, shown once to the administrator.
    new_accounts: list[tuple[User, str]] = field(default_factory=list)


#: Initial passwords are random (about 60 bits), so a light Argon2 setting suffices; the
#: accounts domain re-hashes with the full setting at the first sign-in (``needs_rehash``).
_initial_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def initial_password() -> str:
    """``xxxx-xxxx-xxxx``: letters and digits without look-alikes (l/1, o/0)."""
    while True:
        raw = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(12))
        if any(c.isdigit() for c in raw) and any(c.isalpha() for c in raw):
            return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def import_roster(actor: Actor, session_id: int, token: str) -> RosterResult:
    """Import a previewed roster: all rows or none. New candidates get an account with a random
    initial password (returned once, for the administrator to hand over)."""
    session = _roster_session(actor, session_id)
    upload = db.session.scalar(select(RosterUpload).where(RosterUpload.token == (token or ""),
                                                          RosterUpload.session_id == session.id))
    if upload is None:
        raise Gone(gettext("This upload has expired or was already imported; upload the file again."))
    parsed = roster.read_roster(upload.data, today=now_utc().date())
    lines, problems = _roster_lines(session, parsed)
    if problems:
        raise ValidationFailed(gettext("The roster has %(n)d problems; nothing was imported. Correct "
                                       "the file and upload it again.", n=len(problems)),
                               problems=problems)
    result = RosterResult([])
    for line in lines:
        row, user = line.row, line.existing
        new_account = user is None
        if new_account:
            password = initial_password()
            user = User(real_name=row.real_name, id_type=row.id_type, id_number=row.id_number,
                        birth_date=row.birth_date, phone=row.phone, education=row.education,
                        employer=row.employer, password_hash=_initial_hasher.hash(password),
                        must_change_password=True)
            db.session.add(user)
            db.session.flush()
            result.new_accounts.append((user, password))
        enrolment = db.session.scalar(select(Enrolment).where(Enrolment.session_id == session.id,
                                                              Enrolment.user_id == user.id))
        if enrolment is None:
            enrolment = Enrolment(session_id=session.id, user_id=user.id,
                                  components=list(session.components))
            db.session.add(enrolment)
        enrolment.status, enrolment.source = "applied", "roster"
        enrolment.evidence, enrolment.eligibility = row.evidence, line.eligibility
        accounts.ensure_candidate_membership(user.id, session.org_id)
        db.session.flush()
        audit.record("enrolment.imported", actor=actor, obj=enrolment, org_id=session.org_id,
                     data={"row": row.row, "user_id": user.id, "new_account": new_account,
                           "eligible": line.eligibility["eligible"]})
        result.enrolments.append(enrolment)
    audit.record("session.roster_imported", actor=actor, obj=session,
                 data={"file": upload.filename, "rows": len(lines),
                       "new_accounts": len(result.new_accounts)})
    db.session.delete(upload)
    db.session.commit()
    return result
