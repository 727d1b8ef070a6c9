"""Starting the exam: the window, the late-entry cut-off, where from, the access code, the
check-in, the pledge; the deadline stored at the start; starting twice."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exam.core import clock
from exam.delivery.models import Attempt
from exam.extensions import db
from exam.papers.models import Paper

from ..conftest import make_test_app
from ..factories import sign_in
from .builders import build_exam
from .conftest import Sitting, audit_count


def attempts() -> int:
    db.session.commit()  # a fresh read: requests may have run on other connections
    return db.session.scalar(select(func.count()).select_from(Attempt))


def test_start_stores_the_deadline_and_binds_the_device(world, sitting):
    s = sitting(0)
    page = s.client.get(f"/exam/enrolments/{s.enrolment.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="pledge"' in html and "access_code" not in html
    response = s.start()
    assert response.status_code == 302
    attempt = s.attempt()
    assert attempt.status == "in_progress" and attempt.user_id == s.user.id
    assert attempt.started_at == clock.now_utc()
    assert attempt.deadline_at == clock.now_utc() + timedelta(minutes=60)
    assert attempt.item_count == len(world.paper_of(s.enrolment).items) == 9
    assert attempt.shape[0] == "single:4" and "fill_blank:2" in attempt.shape
    assert s.token and attempt.device_token_hash and s.token not in attempt.device_token_hash
    assert audit_count("attempt.started") == 1


def test_accommodation_and_hard_end_shape_the_deadline(app_ctx, frozen_clock, app):
    now = clock.now_utc()
    world = build_exam(now, candidates=2, duration=90, hard_end=now + timedelta(minutes=120))
    world.enrolments[0].time_multiplier = Decimal("1.5")
    world.enrolments[0].extra_minutes = 10
    db.session.commit()
    for index in (0, 1):
        client = app.test_client()
        sign_in(client, world.candidates[index], world.org)
        assert Sitting(client, world, index).start().status_code == 302
    deadlines = sorted(a.deadline_at for a in db.session.scalars(select(Attempt)))
    # 90 minutes for the second candidate; 90 × 1.5 + 10 = 145 minutes capped by the hard end.
    assert deadlines == [now + timedelta(minutes=90), now + timedelta(minutes=120)]


def test_no_start_before_the_window_opens(app_ctx, frozen_clock, app):
    world = build_exam(clock.now_utc(), candidates=1, start_offset=timedelta(minutes=10))
    client = app.test_client()
    sign_in(client, world.candidates[0], world.org)
    s = Sitting(client, world, 0)
    page = client.get(f"/exam/enrolments/{s.enrolment.id}").get_data(as_text=True)
    assert 'data-opens-in="600000"' in page and "disabled" in page
    response = s.start()
    assert response.status_code == 200 and attempts() == 0
    frozen_clock.advance(timedelta(minutes=10))
    assert s.start().status_code == 302 and attempts() == 1


def test_late_entry_until_the_cut_off_then_no_more(world, sitting, frozen_clock):
    frozen_clock.advance(timedelta(minutes=15))
    late = sitting(0)
    assert late.start().status_code == 302
    # A late starter still gets the full duration.
    assert late.attempt().deadline_at == clock.now_utc() + timedelta(minutes=60)
    frozen_clock.advance(timedelta(seconds=1))
    too_late = sitting(1)
    response = too_late.start()
    assert response.status_code == 200 and attempts() == 1
    assert "09:15" in response.get_data(as_text=True)  # the cut-off, in Beijing time


@pytest.mark.parametrize("allowlist, address, ok", [
    ("10.8.0.0/16", "10.8.3.4", True),
    ("10.8.0.0/16", "192.0.2.1", False),
    (None, "192.0.2.1", True),
])
def test_start_only_from_the_rooms_network(world, sitting, allowlist, address, ok):
    world.room.ip_allowlist = allowlist
    db.session.commit()
    s = sitting(0)
    s.client.environ_base["REMOTE_ADDR"] = address
    response = s.start()
    assert (response.status_code == 302) is ok
    assert attempts() == (1 if ok else 0)
    if ok:
        assert s.attempt().start_ip == address


def test_forwarded_address_is_used_when_the_proxy_is_trusted(database, world, tmp_path):
    """Behind a proxy (``PROXY_FIX_HOPS``) the candidate's address comes from X-Forwarded-For."""
    url, options = database
    proxied = make_test_app(url, options, PROXY_FIX_HOPS=1, INSTANCE_PATH=str(tmp_path))
    world.room.ip_allowlist = "10.8.0.0/16"
    db.session.commit()
    client = proxied.test_client()
    sign_in(client, world.candidates[0], world.org)
    s = Sitting(client, world, 0)
    client.environ_base["REMOTE_ADDR"] = "127.0.0.1"
    refused = client.post(f"/exam/enrolments/{s.enrolment.id}", data={"pledge": "y"},
                          headers={"X-Forwarded-For": "198.51.100.7"})
    assert refused.status_code == 200 and attempts() == 0
    started = client.post(f"/exam/enrolments/{s.enrolment.id}", data={"pledge": "y"},
                          headers={"X-Forwarded-For": "10.8.1.2"})
    assert started.status_code == 302 and attempts() == 1
    assert db.session.scalar(select(Attempt.start_ip)) == "10.8.1.2"


def test_access_code_is_asked_when_the_room_has_one(world, sitting):
    world.room.access_code = "K7P2"
    db.session.commit()
    s = sitting(0)
    assert 'name="access_code"' in s.client.get(f"/exam/enrolments/{s.enrolment.id}").get_data(as_text=True)
    assert s.start().status_code == 200
    assert s.start(access_code="K7P3").status_code == 200
    assert attempts() == 0
    assert s.start(access_code=" k7p2 ").status_code == 302


def test_check_in_is_required_when_the_session_says_so(app_ctx, frozen_clock, app):
    world = build_exam(clock.now_utc(), candidates=2, checked_in=False)
    client = app.test_client()
    sign_in(client, world.candidates[0], world.org)
    s = Sitting(client, world, 0)
    response = s.start()
    assert response.status_code == 200 and attempts() == 0
    assert "check" in response.get_data(as_text=True).lower() or "签到" in response.get_data(as_text=True)
    world.enrolments[0].checked_in_at = clock.now_utc()
    db.session.commit()
    assert s.start().status_code == 302
    world.session.requires_checkin = False
    db.session.commit()
    client2 = app.test_client()
    sign_in(client2, world.candidates[1], world.org)
    assert Sitting(client2, world, 1).start().status_code == 302


def test_the_pledge_must_be_accepted(world, sitting):
    s = sitting(0)
    assert s.start(pledge="").status_code == 200
    assert attempts() == 0


@pytest.mark.parametrize("status, ok", [("draft", False), ("published", False), ("closed", True),
                                        ("in_progress", True), ("finished", False)])
def test_session_state(world, sitting, status, ok):
    world.session.status = status
    db.session.commit()
    assert (sitting(0).start().status_code == 302) is ok


def test_only_approved_theory_candidates_start(world, sitting):
    world.enrolments[0].status = "withdrawn"
    world.enrolments[1].components = ["practical"]
    db.session.commit()
    assert sitting(0).start().status_code == 200
    assert sitting(1).start().status_code == 200
    assert attempts() == 0


def test_starting_twice_returns_the_same_attempt(world, sitting):
    s = sitting(0, start=True)
    first = s.attempt_id
    again = s.client.post(f"/exam/enrolments/{s.enrolment.id}", data={"pledge": "y"})
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/exam/attempts/{first}")
    assert attempts() == 1 and audit_count("attempt.started") == 1
    # The second start hands out no new device token: the page keeps the one it has.
    assert s.open_page()["token"] is None
    assert s.save(s.change(0, "A")).status_code == 200


def test_someone_elses_enrolment_is_not_found(world, sitting):
    s = sitting(0)
    other = world.enrolments[1]
    assert s.client.get(f"/exam/enrolments/{other.id}").status_code == 404
    assert s.client.post(f"/exam/enrolments/{other.id}", data={"pledge": "y"}).status_code == 404


def test_a_missing_paper_stops_the_start_with_a_message(world, sitting, monkeypatch):
    import exam.papers.services as papers
    from exam.core.errors import Conflict

    def cannot(actor, enrolment_id):
        raise Conflict("no blueprint")

    monkeypatch.setattr(papers, "assemble_paper_for_enrolment", cannot)
    paper = world.paper_of(world.enrolments[0])
    db.session.execute(Paper.__table__.delete().where(Paper.id == paper.id))
    db.session.commit()
    response = sitting(0).start()
    assert response.status_code == 200 and attempts() == 0
    assert "alert" in response.get_data(as_text=True)


def test_a_paper_assembled_at_the_start_is_used(world, sitting, monkeypatch):
    """Papers are normally prepared before the session; a missing one is assembled at the start."""
    import exam.papers.services as papers

    paper = world.paper_of(world.enrolments[0])
    items = list(paper.items)
    db.session.execute(Paper.__table__.delete().where(Paper.id == paper.id))
    db.session.commit()
    calls = []

    def assemble(actor, enrolment_id):
        calls.append((actor.is_system, enrolment_id))
        new = Paper(blueprint_id=world.session.blueprint_id, session_id=world.session.id,
                    enrolment_id=enrolment_id, seed=1, items=items, total_points=Decimal("100"))
        db.session.add(new)
        db.session.commit()
        return new

    monkeypatch.setattr(papers, "assemble_paper_for_enrolment", assemble)
    s = sitting(0)
    assert s.start().status_code == 302
    assert calls == [(True, world.enrolments[0].id)]
    assert s.attempt().item_count == len(items)


def test_my_exams_lists_the_candidates_exams(world, sitting):
    s = sitting(0)
    assert world.session.status == "in_progress"
    html = s.client.get("/exam").get_data(as_text=True)
    assert world.session.name in html and f"/exam/enrolments/{s.enrolment.id}" in html
    assert "正在开考" in html and "进入考试" in html  # open now: a button to the exam
    s.start()
    html = s.client.get("/exam").get_data(as_text=True)
    assert f"/exam/attempts/{s.attempt_id}" in html
