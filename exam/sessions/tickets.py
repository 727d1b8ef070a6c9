"""Admission tickets (准考证) as PDF, and checking candidates in at the room door.

A whole room's tickets are one WeasyPrint document (one page each), so printing a
room costs one layout pass. The QR carries the signed ticket code
(``ticketcodes.make_code``); the check-in page accepts that code or the typed number.
"""
from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import timedelta

import qrcode
import qrcode.image.svg
from flask import current_app, render_template
from flask_babel import gettext
from sqlalchemy import select

from ..accounts.idnumbers import ID_TYPE_NAMES_ZH, mask_id_number
from ..accounts.models import Organisation, User
from ..core import audit
from ..core.auth import ADMIN, PROCTOR, Actor, require_org, require_user
from ..core.clock import now_utc
from ..core.errors import Conflict, Gone, NotFound, PermissionDenied, ValidationFailed
from ..core.files import StoredFile
from ..core.web import localtime
from ..extensions import db
from . import ticketcodes, timing
from .enrolments import ticket_available
from ..banks.levels import LEVEL_NAMES_ZH
from .lookups import get_enrolment, get_room, own_enrolment, staff_of
from .models import Enrolment, ExamSession, Room, SessionStaff

PAGE_SIZES = ("A4", "A5")
#: Sessions whose candidates can be checked in.
CHECKIN_STATES = ("closed", "in_progress")


# --- the PDF -------------------------------------------------------------------------------------

def ticket_code(enrolment: Enrolment) -> str:
    return ticketcodes.make_code(current_app.config["SECRET_KEY"], enrolment.ticket_no)


def qr_data_uri(text: str) -> str:
    """An SVG QR code as a data URI (vector: sharp at any print resolution)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2,
                       image_factory=qrcode.image.svg.SvgPathImage)
    qr.add_data(text.upper(), optimize=0)
    qr.make(fit=True)
    out = io.BytesIO()
    qr.make_image().save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def _photo_uri(user: User) -> str | None:
    if not user.photo_file_id:
        return None
    stored = db.session.get(StoredFile, user.photo_file_id)
    return f"data:{stored.content_type};base64," + base64.b64encode(stored.data).decode()


@dataclass
class TicketView:
    enrolment: Enrolment
    user: User
    photo: str | None
    qr: str
    masked_id: str
    id_type_name: str


def render_tickets(session: ExamSession, enrolments: list[Enrolment], size: str = "A4") -> bytes:
    """One PDF with a page per ticket."""
    from weasyprint import HTML

    size = size if size in PAGE_SIZES else "A4"
    org = db.session.get(Organisation, session.org_id)
    views = [TicketView(e, e.user, _photo_uri(e.user), qr_data_uri(ticket_code(e)),
                        mask_id_number(e.user.id_number), ID_TYPE_NAMES_ZH.get(e.user.id_type or "", ""))
             for e in enrolments]
    start = session.theory_start_at
    theory_end = (start + timedelta(minutes=session.theory_duration_minutes or 0)) if start else None
    html = render_template(
        "sessions/ticket_pdf.html", session=session, org=org, tickets=views, size=size,
        level_name=LEVEL_NAMES_ZH.get(session.level, str(session.level)),
        theory_end=theory_end,
        entry_closes=timing.entry_closes_at(start, session.late_entry_minutes) if start else None,
        localtime=localtime)
    return HTML(string=html, base_url=None).write_pdf()


def candidate_ticket(actor: Actor, enrolment_id: int, size: str = "A4") -> tuple[Enrolment, bytes]:
    """The candidate's own ticket, once approved and seated."""
    enrolment = own_enrolment(actor, enrolment_id)
    if not ticket_available(enrolment):
        raise Conflict(gettext("The admission ticket is available once your application is approved "
                               "and you have a seat."))
    return enrolment, render_tickets(enrolment.session, [enrolment], size)


def admin_ticket(actor: Actor, enrolment_id: int, size: str = "A4") -> tuple[Enrolment, bytes]:
    enrolment = get_enrolment(actor, enrolment_id, ADMIN)
    if enrolment.status != "approved" or not enrolment.ticket_no:
        raise Conflict(gettext("Only approved candidates have an admission ticket."))
    return enrolment, render_tickets(enrolment.session, [enrolment], size)


def room_tickets(actor: Actor, room_id: int, size: str = "A4") -> tuple[Room, bytes]:
    """Every ticket of a room, in seat order, as one PDF (for printing)."""
    room = get_room(actor, room_id, ADMIN)
    enrolments = list(db.session.scalars(select(Enrolment).where(
        Enrolment.room_id == room.id, Enrolment.status == "approved", Enrolment.ticket_no.is_not(None))
        .order_by(Enrolment.seat_no)))
    if not enrolments:
        raise Conflict(gettext("Nobody is seated in %(room)s yet.", room=room.name))
    return room, render_tickets(room.session, enrolments, size)


# --- check-in ------------------------------------------------------------------------------------

def checkin_rooms(actor: Actor) -> list[Room]:
    """Rooms the actor checks candidates into: a proctor's own rooms; every room for admins."""
    require_user(actor)
    require_org(actor, actor.org_id, PROCTOR, ADMIN)
    stmt = (select(Room).join(ExamSession, ExamSession.id == Room.session_id)
            .where(ExamSession.org_id == actor.org_id, ExamSession.status.in_(CHECKIN_STATES + ("published",))))
    if not actor.has(ADMIN):
        stmt = stmt.join(SessionStaff, (SessionStaff.room_id == Room.id)
                         & (SessionStaff.role == "proctor")
                         & (SessionStaff.user_id == actor.user_id))
    return list(db.session.scalars(stmt.order_by(ExamSession.theory_start_at, Room.name)))


def checkin_room(actor: Actor, room_id: int) -> Room:
    """:raise NotFound: another body's room. :raise PermissionDenied: not this room's proctor."""
    room = get_room(actor, room_id, PROCTOR, ADMIN)
    if not actor.has(ADMIN) and not any(s.user_id == actor.user_id and s.room_id == room.id
                                        for s in staff_of(room.session_id, "proctor")):
        raise PermissionDenied(gettext("You are not a proctor of this room."))
    return room


def room_candidates(room: Room) -> list[Enrolment]:
    return list(db.session.scalars(select(Enrolment).where(
        Enrolment.room_id == room.id, Enrolment.status == "approved").order_by(Enrolment.seat_no)))


def _read(text: str) -> ticketcodes.TicketCode:
    try:
        return ticketcodes.read_code(current_app.config["SECRET_KEY"], text)
    except ticketcodes.BadTicketCode as exc:
        if exc.reason == "forged":
            raise ValidationFailed(gettext(
                "This QR code was altered or forged: it is not a genuine admission ticket. Do not "
                "admit the candidate on it; check their ID and ask the administrator.")) from None
        raise ValidationFailed(gettext("This is not an admission ticket number or ticket QR code.")) from None


def find_ticket(actor: Actor, room_id: int, text: str) -> Enrolment:
    """The candidate a scanned code or typed number names, if they may enter this room.

    :raise ValidationFailed: forged, altered or unreadable code.
    :raise NotFound: no ticket with that number.
    :raise Conflict: another session or room, or an application that is not approved.
    :raise Gone: entry is closed (the late-entry cut-off has passed).
    """
    room = checkin_room(actor, room_id)
    code = _read(text)
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.ticket_no == code.ticket_no))
    if enrolment is None or enrolment.session.org_id != room.session.org_id:
        raise NotFound(gettext("No admission ticket has the number %(number)s.", number=code.ticket_no))
    if enrolment.session_id != room.session_id:
        raise Conflict(gettext("This ticket is for another exam session (%(session)s).",
                               session=enrolment.session.name))
    if enrolment.status == "rejected":
        raise Conflict(gettext("This application was rejected: the candidate may not sit the exam."))
    if enrolment.status != "approved":
        raise Conflict(gettext("This application is not approved: the candidate may not sit the exam."))
    if enrolment.room_id != room.id:
        other = enrolment.room
        raise Conflict(gettext("This candidate sits in %(room)s, seat %(seat)s, not in this room.",
                               room=other.name if other else "—", seat=enrolment.seat_no or "—"))
    session = room.session
    if session.status not in CHECKIN_STATES:
        raise Conflict(gettext("Check-in opens when enrolment has closed."))
    if session.has("theory") and session.theory_start_at and enrolment.checked_in_at is None:
        closes = timing.entry_closes_at(session.theory_start_at, session.late_entry_minutes)
        if now_utc() > closes:
            raise Gone(gettext("Entry closed at %(time)s (%(n)d minutes after the start): the "
                               "candidate may no longer enter.", time=localtime(closes, "HH:mm"),
                               n=session.late_entry_minutes))
    return enrolment


def check_in(actor: Actor, room_id: int, text: str) -> tuple[Enrolment, bool]:
    """Confirm that the candidate is here (after comparing them with the photo and ID).

    Returns (enrolment, True) the first time; (enrolment, False) when already checked in.
    """
    enrolment = find_ticket(actor, room_id, text)
    if enrolment.checked_in_at is not None:
        return enrolment, False
    enrolment.checked_in_at = now_utc()
    enrolment.checked_in_by = actor.user_id
    audit.record("enrolment.checked_in", actor=actor, obj=enrolment, org_id=enrolment.session.org_id,
                 data={"room_id": room_id, "seat": enrolment.seat_no, "ticket_no": enrolment.ticket_no,
                       "by_qr": _read(text).signed})
    db.session.commit()
    return enrolment, True
