"""One device saves at a time: taking over on another device, being told, a proctor letting a
candidate resume elsewhere; browser signals."""
from datetime import timedelta

from sqlalchemy import select

from exam.core import clock
from exam.extensions import db
from exam.supervision.models import Incident

from ..factories import sign_in
from .conftest import Sitting, audit_count


def incidents(kind=None):
    db.session.commit()
    stmt = select(Incident).order_by(Incident.id)
    if kind:
        stmt = stmt.where(Incident.kind == kind)
    return list(db.session.scalars(stmt))


def second_device(app, first: Sitting) -> Sitting:
    client = app.test_client()
    sign_in(client, first.user, first.world.org)
    other = Sitting(client, first.world, first.index, attempt_id=first.attempt_id)
    state = other.open_page()
    assert state["token"] is None  # a reload elsewhere gets no token: it must claim
    return other


def test_a_second_device_takes_over_after_a_warning_and_the_first_is_stopped(app, world, sitting):
    first = sitting(0, start=True)
    first.save(first.change(0, "A"))
    second = second_device(app, first)
    warned = second.claim(confirm=False)
    assert warned.status_code == 409 and warned.json["error"] == "device_in_use"
    assert first.save(first.change(1, "B")).status_code == 200  # nothing changed yet
    taken = second.claim(confirm=True)
    assert taken.status_code == 200 and taken.json["epoch"] == 2
    assert taken.json["seq"] == first.seq and taken.json["remaining_ms"] == 60 * 60 * 1000
    stopped = first.save(first.change(2, "C"))
    assert stopped.status_code == 409 and stopped.json["error"] == "device_replaced"
    assert stopped.json["message"]
    assert first.status().status_code == 409
    second.seq = taken.json["seq"]
    assert second.save(second.change(2, "D")).status_code == 200
    assert {p: v[0] for p, v in first.stored().items()} == {0: "A", 1: "B", 2: "D"}
    [takeover] = incidents("device_takeover")
    assert takeover.attempt_id == first.attempt_id and takeover.source == "system"
    assert takeover.details["epoch"] == 2 and takeover.details["allowed_by_proctor"] is False
    assert audit_count("attempt.device_taken_over") == 1


def test_taking_over_asks_for_the_rooms_access_code(app, world, sitting):
    world.room.access_code = "Q9Z"
    db.session.commit()
    first = sitting(0, start=True, access_code="Q9Z")
    second = second_device(app, first)
    assert second.claim(confirm=True, access_code="nope").status_code == 422
    assert second.claim(confirm=True, access_code="q9z").status_code == 200


def test_taking_over_only_from_the_rooms_network(app, world, sitting):
    world.room.ip_allowlist = "10.8.0.0/16"
    db.session.commit()
    first = sitting(0)
    first.client.environ_base["REMOTE_ADDR"] = "10.8.0.5"
    assert first.start().status_code == 302
    second = second_device(app, first)
    second.client.environ_base["REMOTE_ADDR"] = "198.51.100.1"
    assert second.claim(confirm=True).status_code == 403
    assert first.save(first.change(0, "A")).status_code == 200


def test_a_proctor_lets_the_candidate_resume_without_a_warning(app, world, sitting, staff_client):
    first = sitting(0, start=True)
    proctor = staff_client(world.proctor)
    allowed = proctor.post(f"/api/supervision/attempts/{first.attempt_id}/resume",
                           json={"reason": "机器故障，换到 12 号机"})
    assert allowed.status_code == 200
    assert first.save(first.change(0, "A")).status_code == 409  # the old computer stops
    second = second_device(app, first)
    assert second.claim(confirm=False).status_code == 200  # no warning
    kinds = [i.kind for i in incidents()]
    assert kinds == ["resume_allowed", "device_takeover"]
    assert incidents("device_takeover")[0].details["allowed_by_proctor"] is True
    assert audit_count("attempt.resume_allowed") == 1


def test_no_takeover_of_a_finished_attempt(app, world, sitting, frozen_clock):
    first = sitting(0, start=True)
    frozen_clock.advance(timedelta(minutes=30))
    first.submit()
    client = app.test_client()
    sign_in(client, first.user, world.org)
    other = Sitting(client, world, 0, attempt_id=first.attempt_id)
    assert other.claim(confirm=True).status_code == 410


def test_browser_signals_become_incidents_with_server_times(world, sitting):
    s = sitting(0, start=True)
    response = s.client.post(f"/api/exam/attempts/{s.attempt_id}/signals", headers=s.headers(),
                             json={"events": [{"k": "focus_lost", "ago": 4000}, {"k": "paste", "ago": 0},
                                              {"k": "open_devtools", "ago": 0},
                                              {"k": "tab_hidden", "ago": -5}]})
    assert response.status_code == 200 and response.json["stored"] == 3
    found = incidents()
    assert [i.kind for i in found] == ["focus_lost", "paste", "tab_hidden"]
    assert found[0].occurred_at == clock.now_utc() - timedelta(seconds=4)
    assert found[2].occurred_at == clock.now_utc()
    assert all(i.source == "browser" and i.enrolment_id == s.enrolment.id for i in found)
    assert s.client.post(f"/api/exam/attempts/{s.attempt_id}/signals", headers=s.headers("1.x"),
                         json={"events": [{"k": "copy", "ago": 0}]}).status_code == 409
