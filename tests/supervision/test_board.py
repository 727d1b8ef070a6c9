"""The proctor's live board: who sees which room, what it shows, and the proctor's actions."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from exam.accounts.models import Membership, User
from exam.core import clock
from exam.delivery.models import Attempt
from exam.extensions import db
from exam.sessions.models import SessionStaff
from exam.supervision.models import Incident

from ..delivery.builders import build_exam
from ..delivery.conftest import StatementCounter, audit_count


def board(client, world):
    response = client.get(f"/api/supervision/rooms/{world.room.id}/board")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def by_name(data):
    return {c["name"]: c for c in data["candidates"]}


def add_user(world, role, name):
    user = User(username=f"{role}-{name}", real_name=name, password_hash="x")
    db.session.add(user)
    db.session.flush()
    db.session.add(Membership(user_id=user.id, org_id=world.org.id, role=role))
    db.session.commit()
    return user


def test_the_board_shows_every_candidates_state(app, world, sitting, staff_client, frozen_clock):
    world.enrolments[2].checked_in_at = None
    db.session.commit()
    a, b = sitting(0, start=True), sitting(1, start=True)
    a.save(a.change(0, "A"), a.change(1, "B"), a.change(7, ["", ""]), a.change(2, None))
    frozen_clock.advance(timedelta(minutes=5))
    b.save(b.change(0, "C"))
    client = staff_client(world.proctor)
    data = board(client, world)
    rows = by_name(data)
    names = [c.real_name for c in world.candidates]
    assert [c["name"] for c in data["candidates"]] == names  # by seat
    assert rows[names[0]]["state"] == "in_progress" and rows[names[0]]["answered"] == 2
    assert rows[names[0]]["total"] == 9
    assert rows[names[0]]["remaining_ms"] == 55 * 60 * 1000
    assert rows[names[0]]["last_save_at"] == int((clock.now_utc() - timedelta(minutes=5)).timestamp() * 1000)
    assert rows[names[1]]["answered"] == 1
    assert rows[names[2]]["state"] == "absent" and rows[names[2]]["attempt_id"] is None
    assert data["counts"]["in_progress"] == 2 and data["counts"]["absent"] == 1
    assert data["can_act"] is True and data["can_note"] is True
    # Handed in, finalised at the deadline, ended by a proctor, checked in:
    frozen_clock.advance(timedelta(minutes=30))
    a.submit()
    world.enrolments[2].checked_in_at = clock.now_utc()
    db.session.commit()
    assert by_name(board(client, world))[names[2]]["state"] == "checked_in"
    frozen_clock.advance(timedelta(minutes=30))  # b's deadline passed with the browser gone
    rows = by_name(board(client, world))
    assert rows[names[0]]["state"] == "submitted" and rows[names[1]]["state"] == "expired"
    assert db.session.get(Attempt, b.attempt_id).status == "expired"


def test_one_query_for_the_rooms_candidates(app, world, sitting, staff_client):
    for i in range(3):
        sitting(i, start=True).save()
    client = staff_client(world.admin)
    board(client, world)  # warm up
    with StatementCounter(db.engine) as counter:
        board(client, world)
    candidate_queries = [s for s in counter.statements if "FROM enrolments" in s]
    assert len(candidate_queries) == 1
    assert counter.count <= 6, counter.statements  # user, roles, organisation, room, session


def test_sixty_candidates_on_one_board(app, app_ctx, frozen_clock, staff_client):
    world = build_exam(clock.now_utc(), candidates=60, code="big")
    client = staff_client(world.admin, world.org)
    data = board(client, world)
    assert len(data["candidates"]) == 60 and data["counts"]["checked_in"] == 60


def test_who_sees_which_room(app, world, staff_client):
    url = f"/api/supervision/rooms/{world.room.id}/board"
    other_proctor = add_user(world, "proctor", "李监考")
    assert staff_client(other_proctor).get(url).status_code == 403  # not assigned
    db.session.add(SessionStaff(session_id=world.session.id, user_id=other_proctor.id, role="proctor"))
    db.session.commit()
    assert staff_client(other_proctor).get(url).status_code == 200  # assigned to the session
    supervisor = board(staff_client(world.supervisor), world)
    assert supervisor["can_act"] is False and supervisor["can_note"] is True
    from ..factories import Factory, sign_in

    regulator = Factory().regulator()
    client = app.test_client()
    sign_in(client, regulator)
    data = board(client, world)
    assert data["can_act"] is False and data["can_note"] is False
    elsewhere = build_exam(clock.now_utc(), candidates=1, code="x2")
    assert staff_client(elsewhere.admin, elsewhere.org).get(url).status_code == 404
    rooms = staff_client(world.proctor).get("/board").get_data(as_text=True)
    assert world.room.name in rooms


def test_extending_one_candidate_reaches_their_timer(world, sitting, staff_client):
    s = sitting(0, start=True)
    other = sitting(1, start=True)
    proctor = staff_client(world.proctor)
    response = proctor.post(f"/api/supervision/attempts/{s.attempt_id}/extend",
                            json={"minutes": 10, "reason": "停电 10 分钟"})
    assert response.status_code == 200
    status = s.status().json
    assert status["remaining_ms"] == 70 * 60 * 1000 and status["extended"] == 10
    assert other.status().json["remaining_ms"] == 60 * 60 * 1000
    assert audit_count("attempt.extended") == 1
    [incident] = db.session.scalars(select(Incident).where(Incident.kind == "time_extended"))
    assert incident.details["minutes"] == 10 and incident.recorded_by == world.proctor.id


def test_extending_the_whole_room(world, sitting, staff_client, frozen_clock):
    a, b = sitting(0, start=True), sitting(1, start=True)
    frozen_clock.advance(timedelta(minutes=31))
    b.submit()
    response = staff_client(world.admin).post(f"/api/supervision/rooms/{world.room.id}/extend",
                                              json={"minutes": 5, "reason": "网络中断"})
    assert response.status_code == 200 and response.json["extended"] == 1
    assert a.status().json["remaining_ms"] == (60 + 5 - 31) * 60 * 1000
    assert b.attempt().deadline_at == b.attempt().started_at + timedelta(minutes=60)
    assert audit_count("attempt.extended_room") == 1


@pytest.mark.parametrize("body", [{"minutes": 0, "reason": "x"}, {"minutes": 241, "reason": "x"},
                                  {"minutes": "5", "reason": "x"}, {"minutes": 5, "reason": " "},
                                  {"minutes": 5}])
def test_an_extension_needs_minutes_and_a_reason(world, sitting, staff_client, body):
    s = sitting(0, start=True)
    response = staff_client(world.proctor).post(f"/api/supervision/attempts/{s.attempt_id}/extend",
                                                json=body)
    assert response.status_code == 422
    assert s.attempt().deadline_at == s.attempt().started_at + timedelta(minutes=60)


def test_ending_an_attempt(world, sitting, staff_client):
    s = sitting(0, start=True)
    s.save(s.change(0, "A"))
    response = staff_client(world.proctor).post(f"/api/supervision/attempts/{s.attempt_id}/end",
                                                json={"reason": "携带手机作弊"})
    assert response.status_code == 200 and response.json["status"] == "ended"
    attempt = s.attempt()
    assert attempt.ended_by == "proctor" and attempt.end_reason == "携带手机作弊"
    assert s.save(s.change(1, "B")).status_code == 410
    assert "ended by the proctor" in s.client.get(f"/exam/attempts/{s.attempt_id}/done").get_data(
        as_text=True).lower() or "监考" in s.client.get(f"/exam/attempts/{s.attempt_id}/done").get_data(as_text=True)
    again = staff_client(world.proctor).post(f"/api/supervision/attempts/{s.attempt_id}/extend",
                                             json={"minutes": 5, "reason": "x"})
    assert again.status_code == 409
    assert audit_count("attempt.ended") == 1


def test_who_may_act(app, world, sitting, staff_client):
    s = sitting(0, start=True)
    url = f"/api/supervision/attempts/{s.attempt_id}/extend"
    body = {"minutes": 5, "reason": "x"}
    assert staff_client(world.supervisor).post(url, json=body).status_code == 403
    assert staff_client(add_user(world, "proctor", "王")).post(url, json=body).status_code == 403
    assert s.client.post(url, json=body).status_code == 403  # the candidate
    elsewhere = build_exam(clock.now_utc(), candidates=1, code="x3")
    assert staff_client(elsewhere.admin, elsewhere.org).post(url, json=body).status_code == 404
    assert s.attempt().extended_minutes == 0


def test_recording_a_note(world, sitting, staff_client):
    s = sitting(0, start=True)
    enrolment = world.enrolments[1]  # not started: a note about a candidate before the start
    client = staff_client(world.supervisor)
    response = client.post(f"/api/supervision/enrolments/{enrolment.id}/incidents",
                           json={"note": "迟到 5 分钟，已核对身份证"})
    assert response.status_code == 200
    assert client.post(f"/api/supervision/enrolments/{enrolment.id}/incidents",
                       json={"note": ""}).status_code == 422
    listed = client.get(f"/api/supervision/enrolments/{enrolment.id}/incidents").json["incidents"]
    assert [i["kind"] for i in listed] == ["proctor_note"]
    assert listed[0]["details"]["note"] == "迟到 5 分钟，已核对身份证" and listed[0]["by"] == "孙督导"
    assert audit_count("incident.recorded") == 1
    data = board(staff_client(world.proctor), world)
    assert by_name(data)[world.candidates[1].real_name]["incidents"] == 1


def test_the_board_page_renders(world, staff_client):
    html = staff_client(world.proctor).get(f"/board/rooms/{world.room.id}").get_data(as_text=True)
    assert 'id="board-data"' in html and "board.js" in html and "style=" not in html
