from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from exam.accounts.models import Membership, Organisation, User
from exam.accounts.services import build_actor
from exam.certificates import services as certificates
from exam.certificates.models import Certificate
from exam.certificates.signing import parse_qr_url
from exam.core import clock
from exam.core.audit import AuditEvent, verify_chain
from exam.core.auth import ORG_ROLES
from exam.delivery import services as delivery
from exam.delivery.demo import LIVE_PREFIX, live_sessions
from exam.delivery.models import Attempt, Response
from exam.demo import load_demo
from exam.extensions import db
from exam.scoring import services as scoring
from exam.scoring.demo import finished_session
from exam.scoring.models import Appeal, Publication, Result, ScoreSheet, TaskOutcome
from exam.sessions import timing
from exam.sessions.models import Enrolment, ExamSession
from exam.supervision import board

from ..conftest import FROZEN_AT


def test_demo_is_idempotent_and_has_every_role(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["exam", "demo"])
    assert first.exit_code == 0, first.output
    # The demo replays its showcases with the clock set back; the real time is back afterwards.
    assert not clock.is_frozen()
    assert abs(clock.now_utc() - datetime.now(timezone.utc)) < timedelta(seconds=5)
    with app.app_context():
        counts = (db.session.scalar(select(func.count(User.id))),
                  db.session.scalar(select(func.count(Membership.id))))
    second = runner.invoke(args=["exam", "demo"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        assert counts == (db.session.scalar(select(func.count(User.id))),
                          db.session.scalar(select(func.count(Membership.id))))
        org = db.session.scalar(select(Organisation).where(Organisation.code == "DEMO"))
        roles = set(db.session.scalars(select(Membership.role).where(Membership.org_id == org.id)))
        assert roles == set(ORG_ROLES)
        assert db.session.scalar(select(User).where(User.is_regulator.is_(True))) is not None
        assert verify_chain().ok
    for username in ("admin", "editor", "proctor", "assessor", "supervisor", "candidate", "regulator"):
        assert f" {username} " in second.output
    for showcase in ("Exam open now (", "Finished exam with results (", "Verify a demo certificate ("):
        assert showcase in second.output
    # The printed password works.
    line = next(l for l in second.output.splitlines() if l.split()[:2] == ["admin", "admin"])
    password = line.split()[2]
    client = app.test_client()
    assert client.post("/login", data={"login": "admin", "password": password}).status_code == 302
    # The demo's audit trail runs to several pages, and each page renders.
    for page in ("/audit", "/audit?page=2"):
        response = client.get(page)
        assert response.status_code == 200 and "page=" in response.get_data(as_text=True)


def _actor(username: str, org: Organisation):
    return build_actor(db.session.scalar(select(User).where(User.username == username)), org.id, None)


def _counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (User, ExamSession, Enrolment, Attempt, Response, ScoreSheet, TaskOutcome,
                          Result, Publication, Certificate, AuditEvent)}


def test_demo_showcases_an_open_exam_and_a_finished_one(app_ctx, frozen_clock):
    lines: list[str] = []
    load_demo(echo=lines.append)
    assert clock.is_frozen() and clock.now_utc() == FROZEN_AT
    org = db.session.scalar(select(Organisation).where(Organisation.code == "DEMO"))
    candidate = _actor("candidate", org)

    # An exam open now: in progress, its entry window open, the demo candidate ready to start.
    live = live_sessions(org)[0]
    assert live.code.startswith(LIVE_PREFIX) and live.status == "in_progress"
    assert live.components == ["theory"]
    closes = timing.entry_closes_at(live.theory_start_at, live.late_entry_minutes)
    assert live.theory_start_at < FROZEN_AT < closes - timedelta(minutes=30)
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.session_id == live.id,
                                                          Enrolment.user_id == candidate.user_id))
    assert enrolment.status == "approved" and enrolment.checked_in_at is not None
    assert delivery.prestart(candidate, enrolment.id, "127.0.0.1").problems == []
    # 我的考试 lists the exam open now first, then the one to come, then the finished one
    listed = [entry.session for entry in delivery.my_exams(candidate)]
    assert listed[0].id == live.id and listed[0].status == "in_progress"
    assert [s.status for s in listed[1:]] == sorted((s.status for s in listed[1:]),
                                                    key=lambda status: status not in ("published", "closed"))
    # The proctor's live board shows a room in several states, with answers saved and incidents.
    room = next(line for line in board.watched_rooms(_actor("proctor", org)) if line.session_id == live.id)
    shown = board.room_board(_actor("proctor", org), room.room_id, timedelta(seconds=10))
    states = {state for state, count in shown["counts"].items() if count}
    assert {"absent", "checked_in", "in_progress", "submitted"} <= states
    assert any(c["state"] == "in_progress" and c["answered"] > 10 for c in shown["candidates"])
    assert any(c["extended_minutes"] for c in shown["candidates"])
    assert any(c["incidents"] for c in shown["candidates"])

    # A finished session: results published, the publication period over, no appeal open.
    finished = finished_session(org)
    assert finished.status == "results_published" and finished.components == ["theory", "practical"]
    publication = db.session.scalar(select(Publication).where(Publication.session_id == finished.id))
    assert publication.ends_at <= FROZEN_AT
    assert db.session.scalar(select(Appeal.id).where(Appeal.session_id == finished.id)) is None
    results = list(db.session.scalars(select(Result).where(Result.session_id == finished.id)))
    assert len(results) == 5 and sum(r.passed is False for r in results) == 1
    mine = [r for r in scoring.my_results(candidate) if r.session.id == finished.id]
    assert len(mine) == 1 and mine[0].result.passed
    assert mine[0].result.theory_score >= 60 and mine[0].result.practical_score >= 60
    decided = db.session.scalar(select(TaskOutcome).where(TaskOutcome.session_id == finished.id,
                                                          TaskOutcome.arbitrated_by.is_not(None)))
    assert decided is not None and decided.status == "final" and "spread" in decided.arbitration_reasons
    signed = db.session.scalar(select(func.count(ScoreSheet.id)).where(
        ScoreSheet.session_id == finished.id, ScoreSheet.status == "signed"))
    assert signed == 5 * 3 * 3

    # The certificates demo issued the passes; the demo candidate's verifies by its QR link.
    issued = list(db.session.scalars(select(Certificate).where(Certificate.org_id == org.id)))
    assert len(issued) == 4 and {c.status for c in issued} == {"valid"}
    own = certificates.my_certificates(candidate)
    assert len(own) == 1
    line = next(l for l in lines if l.startswith("Verify a demo certificate"))
    url = line.split(": ", 1)[1].split()[0]
    assert url == certificates.link(own[0])
    link = parse_qr_url(url, app_ctx.config["PUBLIC_BASE_URL"])
    outcome = certificates.verify(link.number, link.kid, link.signature)
    assert (outcome.result, outcome.signature) == ("valid", "valid")
    assert outcome.certificate.holder_name == "周小明"
    assert any(l.startswith("Exam open now (") and live.code in l for l in lines)
    assert any(l.startswith("Finished exam with results (") and finished.code in l for l in lines)
    assert verify_chain().ok

    # A second run adds nothing to the showcases: one audit event says the accounts were refreshed.
    before = _counts()
    last_seq = db.session.scalar(select(func.max(AuditEvent.seq)))
    load_demo(echo=lambda line: None)
    after = _counts()
    assert after == {**before, "AuditEvent": before["AuditEvent"] + 1}
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.seq > last_seq)) == \
        "demo.accounts_refreshed"
    assert clock.now_utc() == FROZEN_AT

    # And the visitor can start the exam now.
    started = delivery.start_attempt(candidate, enrolment.id, ip="127.0.0.1", access_code=None, pledge=True)
    assert started.created and started.attempt.deadline_at > FROZEN_AT


def test_demo_plans_a_fresh_exam_once_the_last_one_is_over(app_ctx, frozen_clock):
    load_demo(echo=lambda line: None)
    org = db.session.scalar(select(Organisation).where(Organisation.code == "DEMO"))
    first = live_sessions(org)[0]
    certificates_before = db.session.scalar(select(func.count(Certificate.id)))
    frozen_clock.advance(timedelta(days=1))
    load_demo(echo=lambda line: None)
    latest, earlier = live_sessions(org)[:2]
    assert earlier.id == first.id and earlier.status == "finished"
    assert db.session.scalar(select(func.count(Attempt.id)).where(
        Attempt.session_id == first.id, Attempt.status == "in_progress")) == 0
    assert latest.status == "in_progress" and latest.code != first.code
    assert latest.theory_start_at < clock.now_utc() < timing.entry_closes_at(latest.theory_start_at,
                                                                             latest.late_entry_minutes)
    assert db.session.scalar(select(func.count(ExamSession.id)).where(
        ExamSession.code.like("DEMO-ELEC5-____A"))) == 1
    assert db.session.scalar(select(func.count(Certificate.id))) == certificates_before
    assert verify_chain().ok
