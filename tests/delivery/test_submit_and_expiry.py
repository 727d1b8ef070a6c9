"""Handing in, the earliest hand-in time, finalising at the deadline (lazily and from cron),
and the scoring hook."""
import sys
import types
from datetime import timedelta

import pytest

from exam.core import clock
from exam.delivery import services
from exam.extensions import db

from .conftest import audit_count


def test_no_hand_in_before_the_earliest_time(world, sitting, frozen_clock):
    s = sitting(0, start=True)
    assert s.open_page()["handin_in_ms"] == 30 * 60 * 1000
    early = s.submit()
    assert early.status_code == 409 and early.json["error"] == "too_early"
    assert "09:30" in early.json["message"]
    assert s.attempt().status == "in_progress"
    frozen_clock.advance(timedelta(minutes=30))
    assert s.submit().status_code == 200
    assert s.attempt().status == "submitted"


def test_hand_in_saves_the_changes_it_carries_and_is_harmless_twice(world, sitting, frozen_clock):
    s = sitting(0, start=True)
    s.save(s.change(0, "A"))
    frozen_clock.advance(timedelta(minutes=45))
    response = s.submit(s.change(1, "B"), s.change(0, "C"))
    assert response.status_code == 200
    assert response.json["status"] == "submitted"
    assert response.json["done_url"].endswith(f"/exam/attempts/{s.attempt_id}/done")
    attempt = s.attempt()
    assert attempt.submitted_at == attempt.finalised_at == clock.now_utc()
    assert attempt.ended_by == "candidate"
    assert {p: v[0] for p, v in s.stored().items()} == {0: "C", 1: "B"}
    assert audit_count("attempt.submitted") == 1
    frozen_clock.advance(timedelta(minutes=1))
    again = s.submit(s.change(2, "A"))
    assert again.status_code == 200 and again.json["status"] == "submitted"
    assert 2 not in s.stored() and audit_count("attempt.submitted") == 1
    assert s.attempt().submitted_at == attempt.submitted_at


def test_the_page_hands_in_at_the_deadline(world, sitting, frozen_clock):
    s = sitting(0, start=True)
    frozen_clock.advance(timedelta(minutes=60, seconds=3))  # within the grace
    response = s.submit(s.change(4, ["A"]), at_deadline=True)
    assert response.status_code == 200
    attempt = s.attempt()
    assert attempt.status == "submitted" and attempt.ended_by == "timer"
    assert 4 in s.stored()


def test_a_hand_in_after_the_grace_finalises_with_what_was_saved(world, sitting, frozen_clock):
    s = sitting(0, start=True)
    s.save(s.change(0, "A"))
    frozen_clock.advance(timedelta(minutes=61))
    response = s.submit(s.change(1, "B"), at_deadline=True)
    assert response.status_code == 200 and response.json["status"] == "expired"
    assert set(s.stored()) == {0}


def test_confirmation_shows_what_was_answered_and_never_the_key(world, sitting, frozen_clock):
    s = sitting(0, start=True)
    s.save(s.change(0, "A"), s.change(1, "B"), s.change(7, ["", ""]))
    frozen_clock.advance(timedelta(minutes=40))
    s.submit()
    page = s.client.get(f"/exam/attempts/{s.attempt_id}/done")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "2 of 9" in html or "2 / 9" in html or "共 9 题" in html or "9" in html
    assert "KEYMARK" not in html and "EXPLAINMARK" not in html
    # The exam page of a finished attempt sends to the confirmation.
    assert s.client.get(f"/exam/attempts/{s.attempt_id}").status_code == 302


@pytest.mark.parametrize("touch", ["page", "status", "save", "my_exams", "prestart"])
def test_an_overdue_attempt_is_finalised_when_touched(world, sitting, frozen_clock, touch):
    s = sitting(0, start=True)
    s.save(s.change(0, "A"), s.change(3, ["B"]))
    frozen_clock.advance(timedelta(minutes=75))  # the browser was closed
    if touch == "page":
        assert s.client.get(f"/exam/attempts/{s.attempt_id}").status_code == 302
    elif touch == "status":
        assert s.status().json["status"] == "expired"
    elif touch == "save":
        assert s.save(s.change(1, "A")).status_code == 410
    elif touch == "my_exams":
        s.client.get("/exam")
    else:
        s.client.get(f"/exam/enrolments/{s.enrolment.id}")
    attempt = s.attempt()
    assert attempt.status == "expired" and attempt.ended_by == "server"
    assert attempt.finalised_at == clock.now_utc() and attempt.submitted_at is None
    assert set(s.stored()) == {0, 3}
    assert audit_count("attempt.expired") == 1


def test_expire_overdue_command_finalises_forgotten_attempts(app, world, sitting, frozen_clock):
    first, second = sitting(0, start=True), sitting(1, start=True)
    second.save(second.change(0, "A"))
    frozen_clock.advance(timedelta(minutes=10))
    third = sitting(2, start=True)  # started later: still has time
    frozen_clock.advance(timedelta(minutes=55))
    result = app.test_cli_runner().invoke(args=["exam", "expire-overdue"])
    assert result.exit_code == 0, result.output
    assert "2" in result.output
    assert [s.attempt().status for s in (first, second, third)] == ["expired", "expired", "in_progress"]
    again = app.test_cli_runner().invoke(args=["exam", "expire-overdue"])
    assert "0" in again.output and audit_count("attempt.expired") == 2


def test_finalising_happens_once_even_if_asked_twice(world, sitting, frozen_clock):
    s = sitting(0, start=True)
    frozen_clock.advance(timedelta(minutes=61))
    assert services.finalise_if_overdue(s.attempt_id) is True
    assert services.finalise_if_overdue(s.attempt_id) is False
    assert audit_count("attempt.expired") == 1


@pytest.fixture
def scoring(monkeypatch):
    """A stand-in for the scoring domain's ``score_attempt``."""
    calls = []
    module = types.ModuleType("exam.scoring.services")
    module.behaviour = "ok"

    def score_attempt(attempt_id):
        calls.append(attempt_id)
        if module.behaviour == "fail":
            raise RuntimeError("scoring is broken")

    module.score_attempt = score_attempt
    monkeypatch.setitem(sys.modules, "exam.scoring.services", module)
    import exam.scoring

    monkeypatch.setattr(exam.scoring, "services", module, raising=False)
    module.calls = calls
    return module


def test_scoring_runs_after_the_hand_in_and_its_failure_loses_nothing(world, sitting, frozen_clock,
                                                                       scoring):
    s, other = sitting(0, start=True), sitting(1, start=True)
    s.save(s.change(0, "A"))
    frozen_clock.advance(timedelta(minutes=31))
    scoring.behaviour = "fail"
    assert s.submit().status_code == 200
    assert scoring.calls == [s.attempt_id]
    assert s.attempt().status == "submitted" and s.stored()[0][0] == "A"
    scoring.behaviour = "ok"
    frozen_clock.advance(timedelta(minutes=30))
    services.expire_overdue()
    assert scoring.calls == [s.attempt_id, other.attempt_id]
    db.session.rollback()
