"""The proctor's live board: every candidate of a room, refreshed every few seconds.

Who sees which room: proctors the rooms they are assigned to (``SessionStaff`` with
role ``proctor``; an assignment without a room covers every room of the session),
admins and supervisors every room of their body, the regulator every room, read-only.
Proctors of the room and admins act (extend, end, let resume); supervisors may also
record notes.

The board's data for a room is one query (enrolments, candidates, attempts, with the
answered and incident counts as correlated subqueries), cheap enough to poll every few
seconds with 60 candidates and several watchers.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext
from sqlalchemy import and_, func, or_, select

from ..accounts.models import Organisation, User
from ..core.auth import ADMIN, PROCTOR, SUPERVISOR, Actor, require_org
from ..core.clock import now_utc
from ..core.errors import NotFound, PermissionDenied
from ..delivery.models import Attempt, Response
from ..extensions import db
from ..sessions.models import Enrolment, ExamSession, Room, SessionStaff
from .models import Incident

#: Sessions whose rooms the board lists (enrolment closed, exam running, just finished).
BOARD_SESSION_STATES = ("closed", "in_progress", "finished")
CANDIDATE_STATES = ("absent", "checked_in", "in_progress", "submitted", "expired", "ended")


def _assigned_room_filter(actor: Actor):
    """SessionStaff rows that make ``actor`` a proctor of a room (as a SQL condition on Room)."""
    return select(SessionStaff.id).where(
        SessionStaff.session_id == Room.session_id, SessionStaff.user_id == actor.user_id,
        SessionStaff.role == PROCTOR,
        or_(SessionStaff.room_id == Room.id, SessionStaff.room_id.is_(None))).exists()


def _is_assigned(actor: Actor, room: Room) -> bool:
    if actor.user_id is None:
        return False
    return db.session.scalar(select(Room.id).where(Room.id == room.id, _assigned_room_filter(actor))) \
        is not None


@dataclass(frozen=True)
class RoomAccess:
    """What an actor may do in a room."""

    read: bool
    act: bool
    note: bool


def room_access(actor: Actor, room: Room) -> RoomAccess:
    """Reading, acting (extend, end, let resume) and noting rights, with at most one query."""
    org_id = room.session.org_id
    if actor.is_system:
        return RoomAccess(True, True, True)
    member = actor.org_id == org_id
    admin = member and actor.has(ADMIN)
    supervisor = member and actor.has(SUPERVISOR)
    proctor = member and actor.has(PROCTOR) and not admin and _is_assigned(actor, room)
    return RoomAccess(read=actor.is_regulator or admin or supervisor or proctor,
                      act=admin or proctor, note=admin or supervisor or proctor)


def require_room(actor: Actor, room_id: int, *, act: bool = False, note: bool = False) -> Room:
    """The room, when ``actor`` may watch it (``act``: extend, end, let resume; ``note``: record
    a note).

    :raise NotFound: no such room, or another body's.
    :raise PermissionDenied: a proctor not assigned to the room, or a role that may not act.
    """
    return watch_room(actor, room_id, act=act, note=note)[0]


def watch_room(actor: Actor, room_id: int, *, act: bool = False,
               note: bool = False) -> tuple[Room, RoomAccess]:
    """``require_room`` that also returns what the actor may do there."""
    room = db.session.get(Room, room_id)
    if room is None:
        raise NotFound(gettext("No such room."))
    roles = (ADMIN, PROCTOR) if act else (ADMIN, PROCTOR, SUPERVISOR)
    require_org(actor, room.session.org_id, *roles, write=act or note)
    access = room_access(actor, room)
    if not (access.act if act else access.note if note else access.read):
        raise PermissionDenied(gettext("You are not a proctor of this room."))
    return room, access


def enrolment_in_watched_room(actor: Actor, enrolment_id: int, *, act: bool = False,
                              note: bool = False) -> tuple[Enrolment, Room]:
    """:raise NotFound: no such enrolment, or not seated in a room the actor may watch."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.room_id is None:
        raise NotFound(gettext("No such candidate."))
    return enrolment, require_room(actor, enrolment.room_id, act=act, note=note)


def attempt_id_of(enrolment_id: int) -> int | None:
    return db.session.scalar(select(Attempt.id).where(Attempt.enrolment_id == enrolment_id))


# --- the list of rooms ------------------------------------------------------------------------------

@dataclass
class RoomLine:
    room_id: int
    room_name: str
    location: str | None
    session_id: int
    session_name: str
    session_code: str
    session_status: str
    org_name: str
    theory_start_at: datetime | None
    candidates: int
    started: int
    finished: int


def watched_rooms(actor: Actor, limit: int = 200) -> list[RoomLine]:
    """Rooms of running (or just finished) sessions the actor may watch, soonest exam first."""
    started = func.count(Attempt.id)
    finished = func.count(Attempt.id).filter(Attempt.status != "in_progress")
    stmt = (select(Room.id, Room.name, Room.location, ExamSession.id, ExamSession.name,
                   ExamSession.code, ExamSession.status, Organisation.name,
                   ExamSession.theory_start_at, func.count(Enrolment.id), started, finished)
            .join(ExamSession, ExamSession.id == Room.session_id)
            .join(Organisation, Organisation.id == ExamSession.org_id)
            .outerjoin(Enrolment, and_(Enrolment.room_id == Room.id, Enrolment.status == "approved"))
            .outerjoin(Attempt, Attempt.enrolment_id == Enrolment.id)
            .where(ExamSession.status.in_(BOARD_SESSION_STATES))
            .group_by(Room.id, Room.name, Room.location, ExamSession.id, ExamSession.name,
                      ExamSession.code, ExamSession.status, Organisation.name,
                      ExamSession.theory_start_at)
            .order_by(ExamSession.theory_start_at.desc(), Room.id)
            .limit(limit))
    if not actor.is_regulator and not actor.is_system:
        if actor.org_id is None:
            return []
        stmt = stmt.where(ExamSession.org_id == actor.org_id)
        if not actor.has(ADMIN, SUPERVISOR):
            stmt = stmt.where(_assigned_room_filter(actor))
    return [RoomLine(*row) for row in db.session.execute(stmt)]


# --- one room's board ---------------------------------------------------------------------------

def _board_rows(room_id: int):
    answered = (select(func.count()).select_from(Response)
                .where(Response.attempt_id == Attempt.id, Response.answered.is_(True))
                .scalar_subquery())
    incidents = (select(func.count()).select_from(Incident)
                 .where(Incident.enrolment_id == Enrolment.id).scalar_subquery())
    last_incident = (select(Incident.kind).where(Incident.enrolment_id == Enrolment.id)
                     .order_by(Incident.occurred_at.desc(), Incident.id.desc()).limit(1)
                     .scalar_subquery())
    stmt = (select(Enrolment.id, Enrolment.seat_no, Enrolment.ticket_no, Enrolment.checked_in_at,
                   Enrolment.components, User.real_name, Attempt.id, Attempt.status,
                   Attempt.started_at, Attempt.deadline_at, Attempt.last_save_at,
                   Attempt.item_count, Attempt.extended_minutes, Attempt.device_epoch,
                   Attempt.device_token_hash, Attempt.ended_by, answered, incidents, last_incident)
            .join(User, User.id == Enrolment.user_id)
            .outerjoin(Attempt, Attempt.enrolment_id == Enrolment.id)
            .where(Enrolment.room_id == room_id, Enrolment.status == "approved")
            .order_by(Enrolment.seat_no, Enrolment.id))
    return db.session.execute(stmt).all()


def _display_offset_ms(now: datetime) -> int:
    """Offset of the display time zone (Asia/Shanghai by default), for times the page formats."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    offset = now.astimezone(ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])).utcoffset()
    return int(offset.total_seconds() * 1000) if offset else 0


def _epoch_ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def room_board(actor: Actor, room_id: int, grace: timedelta) -> dict:
    """Everything the board shows for one room, as JSON-ready data.

    Attempts whose deadline (plus grace) has passed are finalised here if nobody else has
    (the candidate's browser may be gone), so the board never shows a stale "in progress".
    """
    room, access = watch_room(actor, room_id)
    session = room.session
    now = now_utc()
    rows = _board_rows(room.id)
    overdue = [r[6] for r in rows if r[7] == "in_progress" and r[9] + grace < now]
    if overdue:
        from ..delivery import services as delivery

        for attempt_id in overdue:
            delivery.finalise_if_overdue(attempt_id)
        now = now_utc()
        rows = _board_rows(room.id)
    candidates, counts = [], dict.fromkeys(CANDIDATE_STATES, 0)
    session_components = session.components or []
    for (enrolment_id, seat, ticket, checked_in_at, components, name, attempt_id, status, started_at,
         deadline_at, last_save_at, item_count, extended, epoch, device_hash, ended_by, answered,
         incident_count, last_kind) in rows:
        if "theory" not in (components or session_components):
            continue
        state = status or ("checked_in" if checked_in_at else "absent")
        counts[state] += 1
        candidates.append({
            "enrolment_id": enrolment_id, "attempt_id": attempt_id, "seat": seat, "ticket": ticket,
            "name": name, "state": state, "answered": answered or 0, "total": item_count,
            "remaining_ms": (max(int((deadline_at - now).total_seconds() * 1000), 0)
                             if state == "in_progress" else None),
            "deadline_at": _epoch_ms(deadline_at), "started_at": _epoch_ms(started_at),
            "last_save_at": _epoch_ms(last_save_at), "checked_in_at": _epoch_ms(checked_in_at),
            "extended_minutes": extended or 0, "device_epoch": epoch,
            "device_free": attempt_id is not None and device_hash is None,
            "ended_by": ended_by, "incidents": incident_count or 0, "last_incident": last_kind,
        })
    return {
        "room": {"id": room.id, "name": room.name, "location": room.location},
        "session": {"id": session.id, "name": session.name, "code": session.code,
                    "status": session.status},
        "server_time": _epoch_ms(now), "tz_offset_ms": _display_offset_ms(now),
        "counts": counts, "candidates": candidates,
        "can_act": access.act, "can_note": access.note,
    }


def incidents_of(actor: Actor, enrolment_id: int, limit: int = 200) -> list[dict]:
    """One candidate's incidents, newest first."""
    enrolment_in_watched_room(actor, enrolment_id)
    rows = db.session.execute(
        select(Incident.id, Incident.kind, Incident.source, Incident.occurred_at, Incident.details,
               User.real_name)
        .outerjoin(User, User.id == Incident.recorded_by)
        .where(Incident.enrolment_id == enrolment_id)
        .order_by(Incident.occurred_at.desc(), Incident.id.desc()).limit(limit))
    return [{"id": i, "kind": kind, "source": source, "occurred_at": _epoch_ms(at),
             "details": details or {}, "by": by} for i, kind, source, at, details, by in rows]
