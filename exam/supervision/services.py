"""Reading the audit trail (writing it is ``exam.core.audit.record``)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ..core.audit import AuditEvent
from ..core.auth import ADMIN, SUPERVISOR, Actor, require_org
from ..extensions import db


@dataclass
class AuditPage:
    events: list[AuditEvent]
    page: int
    pages: int
    total: int


def audit_trail(actor: Actor, org_id: int | None, *, action: str | None = None,
                object_type: str | None = None, object_id: str | None = None,
                page: int = 1, per_page: int = 50) -> AuditPage:
    """An organisation's audit events, newest first (admins and supervisors; the regulator reads
    every organisation's, or the whole platform's with ``org_id=None``)."""
    if org_id is None:
        if not (actor.is_regulator or actor.is_system):
            org_id = actor.org_id
    if org_id is not None:
        require_org(actor, org_id, ADMIN, SUPERVISOR, write=False)
    stmt = select(AuditEvent)
    if org_id is not None:
        stmt = stmt.where(AuditEvent.org_id == org_id)
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action))
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    events = list(db.session.scalars(stmt.order_by(AuditEvent.seq.desc())
                                      .limit(per_page).offset((page - 1) * per_page)))
    return AuditPage(events, page, pages, total)


# --- incidents -----------------------------------------------------------------------------

def add_incident(*, org_id: int, session_id: int, enrolment_id: int, kind: str, source: str,
                 occurred_at, room_id: int | None = None, attempt_id: int | None = None,
                 recorded_by: int | None = None, details: dict | None = None):
    """Add an incident to the caller's transaction (the caller audits and commits)."""
    from ..core.clock import now_utc
    from .models import INCIDENT_KINDS, SOURCES, Incident

    if kind not in INCIDENT_KINDS or source not in SOURCES:
        raise ValueError(f"unknown incident {kind!r} from {source!r}")
    incident = Incident(org_id=org_id, session_id=session_id, room_id=room_id,
                        enrolment_id=enrolment_id, attempt_id=attempt_id, kind=kind, source=source,
                        occurred_at=occurred_at, recorded_at=now_utc(), recorded_by=recorded_by,
                        details=details or {})
    db.session.add(incident)
    return incident


def record_note(actor: Actor, enrolment_id: int, note: str):
    """A proctor's or supervisor's note about a candidate (违纪/异常 record), audited.

    :raise NotFound: no such enrolment in a room the actor watches.
    :raise ValidationFailed: the note is empty or too long.
    """
    from flask_babel import gettext

    from ..core import audit
    from ..core.clock import now_utc
    from ..core.errors import Problem, ValidationFailed
    from . import board

    enrolment, room = board.enrolment_in_watched_room(actor, enrolment_id, note=True)
    note = (note or "").strip()
    if not note or len(note) > 1000:
        raise ValidationFailed(gettext("Write what happened (at most 1000 characters)."),
                               problems=[Problem(gettext("Required."), "note")])
    attempt_id = board.attempt_id_of(enrolment.id)
    incident = add_incident(org_id=room.session.org_id, session_id=room.session_id, room_id=room.id,
                            enrolment_id=enrolment.id, attempt_id=attempt_id, kind="proctor_note",
                            source="proctor", occurred_at=now_utc(), recorded_by=actor.user_id,
                            details={"note": note})
    audit.record("incident.recorded", actor=actor, obj=incident, org_id=room.session.org_id,
                 data={"enrolment_id": enrolment.id, "attempt_id": attempt_id, "note": note})
    db.session.commit()
    return incident
