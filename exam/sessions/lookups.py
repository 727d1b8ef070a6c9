"""Finding sessions, rooms and enrolments with the actor's permission checked.

Another organisation's objects are "not found", so their existence is not revealed.
"""
from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import select

from ..accounts.models import Membership, User
from ..core.auth import ADMIN, SUPERVISOR, Actor, require_org
from ..core.errors import NotFound
from ..extensions import db
from .models import Enrolment, ExamSession, Room, SessionStaff

#: Who may read a session and its enrolments (the regulator reads too).
READERS = (ADMIN, SUPERVISOR)


def get_session(actor: Actor, session_id: int, *roles: str, write: bool = False) -> ExamSession:
    """:raise NotFound: no such session, or one of another organisation.
    :raise PermissionDenied: the actor lacks the role."""
    session = db.session.get(ExamSession, session_id)
    if session is None:
        raise NotFound(gettext("No such exam session."))
    require_org(actor, session.org_id, *(roles or ((ADMIN,) if write else READERS)), write=write)
    return session


def get_room(actor: Actor, room_id: int, *roles: str, write: bool = False) -> Room:
    room = db.session.get(Room, room_id)
    if room is None:
        raise NotFound(gettext("No such exam room."))
    require_org(actor, room.session.org_id, *(roles or ((ADMIN,) if write else READERS)), write=write)
    return room


def get_enrolment(actor: Actor, enrolment_id: int, *roles: str, write: bool = False) -> Enrolment:
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(gettext("No such enrolment."))
    require_org(actor, enrolment.session.org_id, *(roles or ((ADMIN,) if write else READERS)),
                write=write)
    return enrolment


def own_enrolment(actor: Actor, enrolment_id: int) -> Enrolment:
    """The actor's own enrolment. :raise NotFound: someone else's, or none."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None or actor.user_id is None or enrolment.user_id != actor.user_id:
        raise NotFound(gettext("No such enrolment."))
    return enrolment


def membership(org_id: int, user_id: int, role: str) -> Membership | None:
    """The user's active membership with ``role`` in the organisation, if any."""
    return db.session.scalar(select(Membership).where(
        Membership.org_id == org_id, Membership.user_id == user_id, Membership.role == role,
        Membership.active.is_(True)))


def members_with_role(org_id: int, role: str) -> list[tuple[User, Membership]]:
    rows = db.session.execute(
        select(User, Membership).join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id, Membership.role == role, Membership.active.is_(True),
               User.is_active_account.is_(True))
        .order_by(User.real_name))
    return [(user, m) for user, m in rows]


def staff_of(session_id: int, *roles: str) -> list[SessionStaff]:
    stmt = select(SessionStaff).where(SessionStaff.session_id == session_id)
    if roles:
        stmt = stmt.where(SessionStaff.role.in_(roles))
    return list(db.session.scalars(stmt.order_by(SessionStaff.id)))


def enrolments_of(session_id: int, *statuses: str) -> list[Enrolment]:
    stmt = select(Enrolment).where(Enrolment.session_id == session_id)
    if statuses:
        stmt = stmt.where(Enrolment.status.in_(statuses))
    return list(db.session.scalars(stmt.order_by(Enrolment.id)))
