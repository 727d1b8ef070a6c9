"""The scoring domain's operations.

For other domains:

* delivery: ``score_attempt(attempt_id)``, called right after an attempt is finalised
  (idempotent).
* certificates: ``issuable_enrolment_ids(session_id, at=None)``.
* sessions (the application form): ``resit_components(user_id, occupation_id, level, at)``.

The work is spread over ``theory`` (automatic scores, manual marking, rescoring), ``sheets``
(practical and review sheets, reconciliation, arbitration) and ``results`` (results,
publication, appeals); this module gathers them and holds the session's scoring settings.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, select

from ..accounts.models import User
from ..core import audit
from ..core.auth import ASSESSOR, Actor, require_org, require_user
from ..core.errors import Conflict, Problem, ValidationFailed
from ..extensions import db
from ..sessions.models import Enrolment, ExamSession, SessionStaff
from . import rules
from .lookups import Settings, get_session, settings_for, settings_row
from .models import Appeal, ManualMark, Publication, Result, ScoringSettings, TaskOutcome, TheoryScore
from .results import (answer_appeal, appeals_queue, compute_results, file_appeal, get_appeal,  # noqa: F401
                      issuable_enrolment_ids, my_results, publish_results, record_absence, refresh_result,
                      resit_components, results_sessions, session_results)
from .sheets import (SealedTask, arbitrate, arbitration_queue, my_candidates, my_sheet,  # noqa: F401
                     save_draft, sealed_sheets, sign_sheet)
from .theory import marking_queue, record_mark, rescore_session, score_attempt  # noqa: F401


@dataclass
class SettingsData:
    #: None: follow the blueprint (``marking.double``), else no.
    double_marking: bool | None
    marking_tolerance: Any
    practical_rule: str
    spread_threshold: Any
    review_file_points: Any
    resit_days: Any


def session_settings(actor: Actor, session_id: int) -> Settings:
    """The settings in effect for a session (admins, supervisors; the regulator reads)."""
    return settings_for(get_session(actor, session_id))


def _amount(value: Any, field: str, maximum: Decimal, problems: list[Problem],
            allow_empty: bool = False) -> Decimal | None:
    try:
        number = rules.parse_amount(value)
    except ValueError:
        number = Decimal(-1)
    if number is None and allow_empty:
        return None
    if number is None or number < 0 or number > maximum:
        problems.append(Problem(gettext("A number from 0 to %(max)s.", max=maximum), field))
        return None
    return number


def update_settings(actor: Actor, session_id: int, data: SettingsData) -> ScoringSettings:
    """Change how a session is scored. Rules already applied stay fixed: the practical rule and
    spread threshold once a task was reconciled, marking settings once an answer was marked.

    :raise Conflict: results published, or a setting already in use.
    :raise ValidationFailed: a value out of range.
    """
    session = get_session(actor, session_id, write=True)
    if db.session.scalar(select(Publication.id).where(Publication.session_id == session.id)):
        raise Conflict(gettext("The results are published; the scoring settings are fixed."))
    problems: list[Problem] = []
    tolerance = _amount(data.marking_tolerance, "marking_tolerance", rules.HUNDRED, problems, allow_empty=True)
    spread = _amount(data.spread_threshold, "spread_threshold", rules.HUNDRED, problems)
    file_points = _amount(data.review_file_points, "review_file_points", rules.HUNDRED, problems)
    if data.practical_rule not in rules.RULES:
        problems.append(Problem(gettext("Choose a rule."), "practical_rule"))
    try:
        resit_days = int(data.resit_days)
    except (TypeError, ValueError):
        resit_days = -1
    if not 0 <= resit_days <= 3650:
        problems.append(Problem(gettext("From 0 to 3650 days."), "resit_days"))
    if problems:
        raise ValidationFailed(gettext("Check the settings."), problems=problems)
    row = settings_row(session.id)
    current = settings_for(session)
    if row is None:
        row = ScoringSettings(org_id=session.org_id, session_id=session.id)
        db.session.add(row)
    wanted = {"double_marking": data.double_marking, "marking_tolerance": tolerance,
              "practical_rule": data.practical_rule, "spread_threshold": rules.money(spread),
              "review_file_points": rules.money(file_points), "resit_days": resit_days}
    changes = {k: {"from": getattr(row, k, None), "to": v} for k, v in wanted.items()
               if getattr(row, k, None) != v}
    reconciled = db.session.scalar(select(TaskOutcome.id).where(TaskOutcome.session_id == session.id).limit(1))
    marked = db.session.scalar(select(ManualMark.id).where(ManualMark.session_id == session.id).limit(1))
    in_use = []
    if reconciled and (data.practical_rule != current.practical_rule
                       or rules.money(spread) != current.spread_threshold
                       or rules.money(file_points) != current.review_file_points):
        in_use.append(gettext("practical and review sheets are already reconciled"))
    if marked and ((data.double_marking if data.double_marking is not None else current.double_marking)
                   != current.double_marking or (tolerance is not None and tolerance != current.marking_tolerance)):
        in_use.append(gettext("answers are already marked"))
    if in_use:
        db.session.rollback()
        raise Conflict(gettext("These settings are already in use: %(why)s.", why="; ".join(in_use)))
    for key, value in wanted.items():
        setattr(row, key, value)
    row.updated_by = actor.user_id
    db.session.flush()
    if changes:
        audit.record("scoring.settings_changed", actor=actor, obj=row,
                     data={"session_id": session.id, "changes": changes})
    db.session.commit()
    return row


# --- overviews ----------------------------------------------------------------------------------

@dataclass
class AssessorSession:
    session: ExamSession
    roles: set[str]
    group_no: int | None
    #: Answers waiting for marks in the session, and practical cases awaiting the chief.
    to_mark: int
    to_arbitrate: int


def my_sessions(actor: Actor) -> list[AssessorSession]:
    """The sessions of the acting body in which the actor assesses, marks, chairs or sits on the
    review panel (drafts left out), newest first."""
    user_id = require_user(actor)
    require_org(actor, actor.org_id, ASSESSOR)
    rows = db.session.execute(
        select(ExamSession, SessionStaff).join(SessionStaff, SessionStaff.session_id == ExamSession.id)
        .where(ExamSession.org_id == actor.org_id, ExamSession.status != "draft",
               SessionStaff.user_id == user_id,
               SessionStaff.role.in_(("assessor", "chief_assessor", "panelist")))
        .order_by(ExamSession.id.desc()))
    found: dict[int, AssessorSession] = {}
    for session, staff in rows:
        entry = found.setdefault(session.id, AssessorSession(session, set(), None, 0, 0))
        entry.roles.add(staff.role)
        if staff.role == "assessor":
            entry.group_no = staff.group_no
    ids = list(found)
    for session_id, count in db.session.execute(
            select(TheoryScore.session_id, func.count(TheoryScore.id))
            .where(TheoryScore.session_id.in_(ids), TheoryScore.pending_count > 0)
            .group_by(TheoryScore.session_id)):
        found[session_id].to_mark = count
    for session_id, count in db.session.execute(
            select(TaskOutcome.session_id, func.count(TaskOutcome.id))
            .where(TaskOutcome.session_id.in_(ids), TaskOutcome.status == "awaiting_arbitration")
            .group_by(TaskOutcome.session_id)):
        found[session_id].to_arbitrate = count
    return list(found.values())


@dataclass
class CandidateDetail:
    enrolment: Enrolment
    session: ExamSession
    user: User
    theory: TheoryScore | None
    tasks: list[SealedTask]
    result: Result | None
    appeal: Appeal | None


def candidate_detail(actor: Actor, enrolment_id: int) -> CandidateDetail:
    """One candidate's scores for the body's admins and supervisors (the regulator reads): the
    theory score item by item, each practical task and the review (sheets only once every
    examiner signed), the result and any appeal."""
    enrolment, session, tasks = sealed_sheets(actor, enrolment_id)
    theory = db.session.scalar(select(TheoryScore).where(TheoryScore.enrolment_id == enrolment.id))
    result = db.session.scalar(select(Result).where(Result.enrolment_id == enrolment.id))
    appeal = db.session.scalar(select(Appeal).where(Appeal.result_id == result.id)) if result else None
    return CandidateDetail(enrolment, session, enrolment.user, theory, tasks, result, appeal)
