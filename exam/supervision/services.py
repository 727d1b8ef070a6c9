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
