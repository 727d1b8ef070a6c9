"""Finding sessions, enrolments and staff with the actor's permission checked, and the session's
scoring settings. Another organisation's objects are "not found"."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import current_app, has_app_context
from flask_babel import gettext
from sqlalchemy import select

from ..core.auth import ADMIN, SUPERVISOR, Actor, require_org
from ..core.errors import NotFound
from ..extensions import db
from ..papers.models import Blueprint
from ..sessions.lookups import get_session  # noqa: F401  (the same rule: one place)
from ..sessions.models import AssessorRelation, Enrolment, ExamSession, SessionStaff
from . import workdays
from .models import ScoringSettings

#: Who reads a session's results and appeals (the regulator reads too).
READERS = (ADMIN, SUPERVISOR)
DEFAULT_TOLERANCE = Decimal("1")


def get_enrolment(enrolment_id: int) -> Enrolment:
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(gettext("No such candidate."))
    return enrolment


def staff_roles(session_id: int, user_id: int | None) -> dict[str, SessionStaff]:
    """The actor's staff rows in a session, by role."""
    if user_id is None:
        return {}
    rows = db.session.scalars(select(SessionStaff).where(SessionStaff.session_id == session_id,
                                                         SessionStaff.user_id == user_id))
    return {row.role: row for row in rows}


def is_related(org_id: int, assessor_id: int | None, candidate_user_id: int) -> bool:
    """The examiner declared a relationship with the candidate (回避)."""
    if assessor_id is None:
        return False
    return db.session.scalar(select(AssessorRelation.id).where(
        AssessorRelation.org_id == org_id, AssessorRelation.assessor_id == assessor_id,
        AssessorRelation.candidate_id == candidate_user_id).limit(1)) is not None


def components_of(enrolment: Enrolment, session: ExamSession) -> list[str]:
    """What the candidate sits: their own components (a resit), else the session's."""
    return [c for c in (enrolment.components or session.components or []) if c in (session.components or [])]


# --- settings -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """A session's scoring settings in effect (its own, the blueprint's, or the defaults)."""

    double_marking: bool
    marking_tolerance: Decimal
    practical_rule: str
    spread_threshold: Decimal
    review_file_points: Decimal
    resit_days: int
    row: ScoringSettings | None = None


def settings_row(session_id: int) -> ScoringSettings | None:
    return db.session.scalar(select(ScoringSettings).where(ScoringSettings.session_id == session_id))


def settings_for(session: ExamSession) -> Settings:
    row = settings_row(session.id)
    marking: dict = {}
    if session.blueprint_id:
        blueprint = db.session.get(Blueprint, session.blueprint_id)
        spec = (blueprint.spec or {}) if blueprint else {}
        marking = spec.get("marking") if isinstance(spec.get("marking"), dict) else {}
    double = row.double_marking if row and row.double_marking is not None else bool(marking.get("double"))
    if row and row.marking_tolerance is not None:
        tolerance = row.marking_tolerance
    else:
        try:
            tolerance = Decimal(str(marking.get("tolerance", DEFAULT_TOLERANCE)))
        except ArithmeticError:
            tolerance = DEFAULT_TOLERANCE
    return Settings(
        double_marking=double, marking_tolerance=tolerance,
        practical_rule=row.practical_rule if row else "mean",
        spread_threshold=row.spread_threshold if row else Decimal("10"),
        review_file_points=row.review_file_points if row else Decimal("40"),
        resit_days=row.resit_days if row else 365, row=row)


def calendar() -> workdays.WorkCalendar:
    """The working-day calendar (``SCORING_WORKDAYS_FILE`` when set, else the bundled one)."""
    path = current_app.config.get("SCORING_WORKDAYS_FILE") if has_app_context() else None
    return workdays.load_calendar(path)


def display_zone() -> str:
    return current_app.config.get("DISPLAY_TIMEZONE", "Asia/Shanghai") if has_app_context() \
        else "Asia/Shanghai"
