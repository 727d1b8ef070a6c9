"""Admission tickets as PDF with a signed QR, and checking candidates in at the room door."""
from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import select

from exam.core.audit import AuditEvent
from exam.core.errors import Conflict, Gone, NotFound, PermissionDenied, ValidationFailed
from exam.extensions import db
from exam.sessions import services, ticketcodes, tickets
from exam.sessions.models import Enrolment
from exam.sessions.services import RoomData

from ..factories import sign_in
from .conftest import actor_of, enrol, make_user, published_session

needs_poppler = pytest.mark.skipif(not (shutil.which("pdftoppm") and shutil.which("pdftotext")),
                                   reason="pdftoppm/pdftotext (poppler-utils) not installed")
needs_zbar = pytest.mark.skipif(not shutil.which("zbarimg"), reason="zbarimg (zbar-tools) not installed")


def two_rooms(world):
    p = world.proctors
    extra = make_user(world.org, "proctor")
    return [RoomData(name="第一考场", capacity=2, proctor_ids=[p[0].id, p[1].id]),
            RoomData(name="第二考场", capacity=20, proctor_ids=[p[2].id, extra.id])]


@pytest.fixture
def closed(world, factory):
    """A closed session with two rooms and three approved, seated candidates."""
    session = published_session(world, rooms=two_rooms(world))
    people = [enrol(world, factory, session, name) for name in ("周小明", "吴二", "郑三")]
    services.close_enrolment(world.admin_actor, session.id)
    db.session.expire_all()
    return session, [db.session.get(Enrolment, e.id) for e in people]


def proctor_of(world, room):
    staff = next(s for s in room.session.staff if s.role == "proctor" and s.room_id == room.id)
    return actor_of(staff.user, world.org)


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "t.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout


def qr_payloads(pdf: bytes, tmp_path) -> list[str]:
    path = tmp_path / "ticket.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "80", str(path), str(tmp_path / "page")], check=True)
    found = []
    for png in sorted(tmp_path.glob("page*.png")):
        out = subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True)
        found += [line for line in out.stdout.splitlines() if line]
    return found


@needs_poppler
@needs_zbar
def test_the_ticket_carries_the_name_and_a_qr_the_check_in_accepts(app, world, closed, tmp_path):
    session, people = closed
    candidate = people[0]
    with app.test_request_context():
        _, pdf = tickets.candidate_ticket(actor_of(candidate.user), candidate.id, "A5")
    text = pdf_text(pdf, tmp_path)
    assert "周小明" in text and candidate.ticket_no in text
    assert candidate.user.id_number not in text  # the ID is masked
    assert candidate.user.id_number[-4:] in text
    (payload,) = qr_payloads(pdf, tmp_path)
    assert payload == ticketcodes.make_code(app.config["SECRET_KEY"], candidate.ticket_no)
    proctor = proctor_of(world, candidate.room)
    with app.test_request_context():
        found = tickets.find_ticket(proctor, candidate.room_id, payload)
        assert found.id == candidate.id
        enrolment, first = tickets.check_in(proctor, candidate.room_id, payload)
    assert first and enrolment.checked_in_at is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "enrolment.checked_in"))
    assert event.details["by_qr"] is True and event.actor_user_id == proctor.user_id


@needs_poppler
def test_a_rooms_tickets_are_one_pdf_in_seat_order(app, world, closed, tmp_path):
    session, people = closed
    room = people[0].room
    with app.test_request_context():
        _, pdf = tickets.room_tickets(world.admin_actor, room.id)
    text = pdf_text(pdf, tmp_path)
    seated = sorted((e for e in people if e.room_id == room.id), key=lambda e: e.seat_no)
    assert text.count("\f") == len(seated) == 2  # one page each
    positions = [text.index(e.user.real_name) for e in seated]
    assert positions == sorted(positions)


def test_typed_number_check_in_through_the_page(app, world, closed, client):
    session, people = closed
    candidate = people[0]
    proctor = next(s.user for s in session.staff if s.role == "proctor" and s.room_id == candidate.room_id)
    sign_in(client, proctor, world.org)
    page = client.get(f"/checkin/rooms/{candidate.room_id}?code={candidate.ticket_no}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "周小明" in html and candidate.user.id_number not in html and candidate.user.id_number[-4:] in html
    done = client.post(f"/checkin/rooms/{candidate.room_id}", data={"code": candidate.ticket_no})
    assert done.status_code == 302
    assert db.session.get(Enrolment, candidate.id).checked_in_at is not None
    again = client.post(f"/checkin/rooms/{candidate.room_id}", data={"code": candidate.ticket_no},
                        follow_redirects=True)
    assert again.status_code == 200
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "enrolment.checked_in")).all()
    assert len(events) == 1 and events[0].details["by_qr"] is False


@pytest.mark.parametrize("mangle", [
    lambda code: code[:-2] + ("AA" if not code.endswith("AA") else "BB"),
    lambda code: code.replace(code.split(".")[1], str(int(code.split(".")[1]) + 1)),
    lambda code: "T1.GARBAGE",
])
def test_forged_or_altered_codes_are_refused_with_a_message(app, world, closed, client, mangle):
    session, people = closed
    candidate = people[0]
    proctor = next(s.user for s in session.staff if s.role == "proctor" and s.room_id == candidate.room_id)
    sign_in(client, proctor, world.org)
    code = mangle(ticketcodes.make_code(app.config["SECRET_KEY"], candidate.ticket_no))
    for response in (client.get(f"/checkin/rooms/{candidate.room_id}", query_string={"code": code}),
                     client.post(f"/checkin/rooms/{candidate.room_id}", data={"code": code})):
        assert response.status_code == 200
        assert "此二维码已被篡改或伪造" in response.get_data(as_text=True)
    assert db.session.get(Enrolment, candidate.id).checked_in_at is None


def test_refusals_say_why(app, world, factory, closed, frozen_clock):
    session, people = closed
    here, there = people[0], next(e for e in people if e.room_id != people[0].room_id)
    room_id = here.room_id
    late = next(e for e in people if e.room_id == room_id and e.id != here.id)
    proctor = proctor_of(world, here.room)
    with app.test_request_context():
        with pytest.raises(Conflict) as caught:
            tickets.find_ticket(proctor, room_id, there.ticket_no)
        assert caught.value.message == (f"This candidate sits in 第二考场, seat {there.seat_no}, not in this room.")
        with pytest.raises(NotFound):
            tickets.find_ticket(proctor, room_id, "269999990001")
        with pytest.raises(ValidationFailed):
            tickets.find_ticket(proctor, room_id, "hello")
        with pytest.raises(PermissionDenied):  # a proctor of another room
            tickets.find_ticket(proctor_of(world, there.room), room_id, here.ticket_no)
        # Another session of the same body.
        other = published_session(world, code="OTHER-BATCH")
        stranger = enrol(world, factory, other, "外场考生")
        with pytest.raises(Conflict) as caught:
            tickets.find_ticket(proctor, room_id, stranger.ticket_no)
        assert "another exam session" in caught.value.message
        # A rejected application.
        services.decide_enrolments(world.admin_actor, session.id, [here.id], False, "材料不实")
        with pytest.raises(Conflict) as caught:
            tickets.find_ticket(proctor, room_id, here.ticket_no)
        assert "rejected" in caught.value.message
        # After the late-entry cut-off nobody enters.
        frozen_clock.advance(session.theory_start_at - frozen_clock.now_utc() + timedelta(minutes=16))
        with pytest.raises(Gone) as caught:
            tickets.check_in(proctor, room_id, late.ticket_no)
        assert "Entry closed at" in caught.value.message


def test_who_may_start_the_theory_exam(app, world, factory, frozen_clock):
    session = published_session(world, requires_checkin=True, rooms=[
        RoomData(name="机房", capacity=20, ip_allowlist="192.168.10.0/24", access_code="7788",
                 proctor_ids=[world.proctors[0].id, world.proctors[1].id])])
    enrolment = enrol(world, factory, session)
    services.close_enrolment(world.admin_actor, session.id)
    services.start_session(world.admin_actor, session.id)
    start = session.theory_start_at
    check = services.theory_start_check
    with pytest.raises(Conflict):
        check(enrolment.id, now=start - timedelta(minutes=1), ip="192.168.10.5", access_code="7788")
    with pytest.raises(PermissionDenied) as caught:
        check(enrolment.id, now=start, ip="192.168.10.5", access_code="7788")
    assert "check you in" in caught.value.message
    frozen_clock.advance(start - frozen_clock.now_utc())
    with app.test_request_context():
        seated = db.session.get(Enrolment, enrolment.id)
        tickets.check_in(proctor_of(world, seated.room), seated.room_id, seated.ticket_no)
    with pytest.raises(PermissionDenied):
        check(enrolment.id, now=start, ip="10.0.0.1", access_code="7788")
    with pytest.raises(PermissionDenied):
        check(enrolment.id, now=start, ip="192.168.10.5", access_code="0000")
    allowed = check(enrolment.id, now=start + timedelta(minutes=5), ip="192.168.10.5", access_code="7788")
    assert allowed.deadline_for(start + timedelta(minutes=5)) == start + timedelta(minutes=95)
    with pytest.raises(Gone):
        check(enrolment.id, now=start + timedelta(minutes=16), ip="192.168.10.5", access_code="7788")
