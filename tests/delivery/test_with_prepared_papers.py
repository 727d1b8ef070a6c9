"""The exam with papers made by the papers domain (``prepare_session_papers``), not by hand."""
from datetime import timedelta

from sqlalchemy import select

from exam.core import clock
from exam.extensions import db
from exam.papers import services as papers
from exam.papers.models import Paper

from ..factories import sign_in
from ..papers.conftest import actor_for, add_room, enrol, make_bank, make_session
from ..papers.test_services import spec_80
from .conftest import Sitting, audit_count, page_state


def test_a_session_with_prepared_papers_is_sat_from_start_to_hand_in(app, factory, frozen_clock):
    org = factory.org()
    editor, admin = factory.user(org, "bank_editor"), factory.user(org, "admin")
    bank = make_bank(org)
    blueprint = papers.create_blueprint(actor_for(editor, org, "bank_editor"), bank.id, papers.BlueprintData(
        name="标准卷", spec=spec_80(), duration_minutes=100, pass_mark=60))
    papers.validate_blueprint(actor_for(editor, org, "bank_editor"), blueprint.id)
    session = make_session(org, blueprint.id)
    room = add_room(session)
    people = [factory.user(org, "candidate") for _ in range(3)]
    enrolments = [enrol(session, person, room=room, seat=n + 1) for n, person in enumerate(people)]
    assert papers.prepare_session_papers(actor_for(admin, org, "admin"), session.id)["created"] == 3
    session.status, session.theory_start_at, session.theory_duration_minutes = "in_progress", clock.now_utc(), None
    session.requires_checkin = False
    db.session.commit()

    client = app.test_client()
    sign_in(client, people[0], org)
    s = Sitting(client, None, 0)
    response = client.post(f"/exam/enrolments/{enrolments[0].id}", data={"pledge": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)
    s.attempt_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/exam/attempts/{s.attempt_id}")
    html = page.get_data(as_text=True)
    state = page_state(page)
    s.token = state["token"]
    paper = db.session.scalar(select(Paper).where(Paper.enrolment_id == enrolments[0].id))
    assert state["items"] == len(paper.items) == 80
    assert state["remaining_ms"] == 100 * 60 * 1000  # the blueprint's duration
    # The blueprint numbers its sections itself ("一、单项选择题"): shown as they are.
    assert "一、单项选择题" in html and "三、多项选择题" in html and "一、一、" not in html
    answer = {"single": "A", "multiple": ["A", "C"], "true_false": True}
    positions = [state["shape"].index(next(c for c in state["shape"] if c.startswith(kind)))
                 for kind in answer]
    saved = s.save(*[s.change(p, answer[state["shape"][p].split(":")[0]]) for p in positions])
    assert saved.status_code == 200 and len(saved.json["acked"]) == 3, saved.json
    frozen_clock.advance(timedelta(minutes=31))
    assert s.submit().json["status"] == "submitted"
    assert audit_count("attempt.submitted") == 1
