"""Admission of starts: when every start slot of the server is busy, the candidate gets a page
that tries again, and nothing is started twice or lost."""
from sqlalchemy import func, select

from exam.delivery import admission
from exam.delivery.models import Attempt
from exam.extensions import db


def attempts() -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(Attempt))


def test_a_start_waits_for_a_free_slot(app, world, sitting):
    s = sitting(0)
    with admission.start_slot() as held:  # another worker is starting someone
        assert held
        busy = s.client.post(f"/exam/enrolments/{s.enrolment.id}",
                             data={"pledge": "y", "access_code": "K7"})
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "2"
        html = busy.get_data(as_text=True)
        assert 'id="busy-form"' in html and 'name="pledge" value="y"' in html
        assert 'name="access_code" value="K7"' in html and 'data-page="busy"' in html
        assert attempts() == 0
    assert s.start().status_code == 302 and attempts() == 1


def test_opening_the_exam_page_waits_for_a_free_slot(app, world, sitting):
    s = sitting(0, start=True)
    with admission.start_slot():
        busy = s.client.get(f"/exam/attempts/{s.attempt_id}")
        assert busy.status_code == 503 and 'data-page="busy"' in busy.get_data(as_text=True)
    assert s.client.get(f"/exam/attempts/{s.attempt_id}").status_code == 200


def test_slots_are_a_setting(app, world, sitting):
    app.config["EXAM_START_SLOTS"] = 2
    try:
        with admission.start_slot() as first:
            with admission.start_slot() as second:
                with admission.start_slot() as third:
                    assert (first, second, third) == (True, True, False)
        app.config["EXAM_START_SLOTS"] = 0  # admit everyone
        with admission.start_slot() as a, admission.start_slot() as b:
            assert a and b
    finally:
        del app.config["EXAM_START_SLOTS"]


def test_by_default_one_worker_stays_free_for_saves(app, monkeypatch):
    with app.app_context():
        monkeypatch.delenv("EXAM_START_SLOTS", raising=False)
        monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
        assert admission.slot_count() == 1
        monkeypatch.setenv("WEB_CONCURRENCY", "4")
        assert admission.slot_count() == 3
        monkeypatch.setenv("EXAM_START_SLOTS", "2")
        assert admission.slot_count() == 2
