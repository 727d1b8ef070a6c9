"""The pages, as a browser without JavaScript uses them (the test client; CSRF is off)."""
from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import Workbook
from sqlalchemy import select

from exam.core.clock import now_utc
from exam.extensions import db
from exam.sessions.models import AssessorRelation, EligibilityPolicy, Enrolment, ExamSession
from exam.sessions.forms import utc_to_local

from ..factories import resident_id, sign_in
from .conftest import enrol, make_candidate, published_session


def local(value):
    return utc_to_local(value).strftime("%Y-%m-%dT%H:%M")


def form_of(world, **overrides):
    now = now_utc()
    a = world.assessors
    data = {
        "name": "电工五级 四月批次", "code": "2026-ELEC5-04", "occupation_id": world.occupation.id, "level": 5,
        "components": ["theory", "practical"], "requires_checkin": "y", "blueprint_id": world.blueprint.id,
        "theory_start_at": local(now + timedelta(days=7)), "late_entry_minutes": 15,
        "earliest_handin_minutes": 30, "practical_spec_version_id": world.spec_version.id,
        "practical_at": local(now + timedelta(days=8)), "practical_place": "实训楼",
        "enrolment_opens_at": "", "enrolment_closes_at": local(now + timedelta(days=5)),
        "rooms-0-name": "第一考场", "rooms-0-capacity": 30, "rooms-0-location": "101",
        "rooms-0-proctors": [world.proctors[0].id, world.proctors[1].id],
        "rooms-1-name": "", "rooms-1-capacity": "",
        f"group-{a[0].id}": "1", f"group-{a[1].id}": "1", f"group-{a[2].id}": "1", "chief": str(a[0].id),
        "supervisors": [world.supervisor.id],
    }
    data.update(overrides)
    return data


def test_an_admin_plans_and_publishes_a_session_through_the_pages(app, world, client):
    sign_in(client, world.admin, world.org)
    assert client.get("/admin/sessions/new").status_code == 200
    response = client.post("/admin/sessions/new", data=form_of(world))
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    session = db.session.scalar(select(ExamSession))
    assert [r.name for r in session.rooms] == ["第一考场"]  # the empty extra row is ignored
    assert utc_to_local(session.theory_start_at).strftime("%Y-%m-%dT%H:%M") == form_of(world)["theory_start_at"]
    assert {(s.role, s.group_no) for s in session.staff if s.role != "proctor"} == {
        ("assessor", 1), ("chief_assessor", 1), ("supervisor", None)}
    detail = client.get(f"/admin/sessions/{session.id}").get_data(as_text=True)
    assert "各项规则均已满足" in detail
    assert client.get(f"/admin/sessions/{session.id}/edit").status_code == 200
    assert client.post(f"/admin/sessions/{session.id}/state/publish").status_code == 302
    db.session.expire_all()
    assert db.session.get(ExamSession, session.id).status == "published"
    listing = client.get("/admin/sessions?status=published").get_data(as_text=True)
    assert "2026-ELEC5-04" in listing


def test_the_form_shows_field_problems_and_the_publish_problems_are_listed(app, world, client):
    sign_in(client, world.admin, world.org)
    bad = client.post("/admin/sessions/new", data=form_of(world, code="bad code!", **{"rooms-0-ip_allowlist": "10.0.0.1/8"}))
    assert bad.status_code == 422
    assert db.session.scalar(select(ExamSession)) is None
    client.post("/admin/sessions/new", data=form_of(world, supervisors=[]))
    session = db.session.scalar(select(ExamSession))
    response = client.post(f"/admin/sessions/{session.id}/state/publish", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert session.status == "draft"
    assert "请至少安排一名督导员" in page


def test_a_candidate_applies_and_downloads_the_ticket(app, world, factory, client):
    session = published_session(world)
    candidate = make_candidate(factory, "周小明")
    sign_in(client, candidate)
    assert "电工" in client.get("/exams").get_data(as_text=True)
    assert client.get(f"/exams/{session.id}/apply").status_code == 200
    refused = client.post(f"/exams/{session.id}/apply", data={"years_in_occupation": "2"})
    assert refused.status_code == 200 and db.session.scalar(select(Enrolment)) is None  # no pledge ticked
    sent = client.post(f"/exams/{session.id}/apply", data={"years_in_occupation": "2", "pledge": "y"})
    assert sent.status_code == 302
    enrolment = db.session.scalar(select(Enrolment))
    admin = app.test_client()
    sign_in(admin, world.admin, world.org)
    assert admin.post(f"/admin/sessions/{session.id}/enrolments/decide",
                      data={"enrolment_id": [enrolment.id], "decision": "approve"}).status_code == 302
    assert admin.post(f"/admin/sessions/{session.id}/seats").status_code == 302
    mine = client.get("/my/enrolments").get_data(as_text=True)
    assert f"/my/enrolments/{enrolment.id}/ticket.pdf" in mine
    pdf = client.get(f"/my/enrolments/{enrolment.id}/ticket.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    other = app.test_client()
    sign_in(other, make_candidate(factory, "别人"))
    assert other.get(f"/my/enrolments/{enrolment.id}/ticket.pdf").status_code == 404
    room_pdf = admin.get(f"/admin/rooms/{db.session.get(Enrolment, enrolment.id).room_id}/tickets.pdf")
    assert room_pdf.status_code == 200 and room_pdf.data.startswith(b"%PDF")


def test_full_id_numbers_only_for_the_bodys_admins(app, world, factory, client):
    session = published_session(world)
    enrolment = enrol(world, factory, session, "周小明")
    number = enrolment.user.id_number
    sign_in(client, world.admin, world.org)
    assert number in client.get(f"/admin/sessions/{session.id}/enrolments").get_data(as_text=True)
    supervisor = app.test_client()
    sign_in(supervisor, world.supervisor, world.org)
    page = supervisor.get(f"/admin/sessions/{session.id}/enrolments").get_data(as_text=True)
    assert "周小明" in page and number not in page and number[-4:] in page
    detail = supervisor.get(f"/admin/enrolments/{enrolment.id}").get_data(as_text=True)
    assert number not in detail
    assert supervisor.post(f"/admin/enrolments/{enrolment.id}/decide", data={"decision": "reject"}).status_code == 403


def roster_file(rows) -> bytes:
    book = Workbook()
    book.active.append(["姓名", "证件号码", "手机号", "从事本职业年限"])
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_roster_upload_preview_confirm_and_passwords(app, world, client):
    session = published_session(world)
    sign_in(client, world.admin, world.org)
    template = client.get("/admin/sessions/roster-template.xlsx")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    good_number = resident_id("19900101")
    bad_number = good_number[:-1] + ("0" if good_number[-1] != "0" else "1")
    bad = client.post(f"/admin/sessions/{session.id}/roster", content_type="multipart/form-data",
                      data={"file": (io.BytesIO(roster_file([["甲", bad_number, "13600000001", 2]])), "r.xlsx")})
    assert bad.status_code == 422 and "第 2 行" in bad.get_data(as_text=True)
    good = client.post(f"/admin/sessions/{session.id}/roster", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(roster_file([["甲", resident_id("19900101"), "13600000001", 2]])),
                                      "r.xlsx")})
    assert good.status_code == 200
    token = good.get_data(as_text=True).split('name="token" type="hidden" value="')[1].split('"')[0]
    result = client.post(f"/admin/sessions/{session.id}/roster/confirm", data={"token": token})
    page = result.get_data(as_text=True)
    assert result.status_code == 200 and "13600000001" in page and 'class="password"' in page
    assert db.session.scalar(select(Enrolment)).source == "roster"


def test_eligibility_policy_editor(app, world, client):
    sign_in(client, world.admin, world.org)
    assert client.get("/admin/eligibility").status_code == 200
    assert client.get("/admin/eligibility/4").status_code == 200
    saved = client.post("/admin/eligibility/5", data={"rows": 3, "alt-0-years": "3", "alt-1-apprenticeship": "1",
                                                      "action": "save"})
    assert saved.status_code == 302
    policy = db.session.scalar(select(EligibilityPolicy))
    assert policy.rules == [[{"years": 3}], [{"apprenticeship": True}]] and policy.occupation_id is None
    wrong = client.post(f"/admin/eligibility/5?occupation={world.occupation.id}",
                        data={"rows": 1, "alt-0-years": "99", "action": "save"})
    assert wrong.status_code == 422
    assert client.post("/admin/eligibility/5", data={"action": "reset"}).status_code == 302
    assert db.session.scalar(select(EligibilityPolicy)) is None


def test_an_assessor_declares_and_admins_and_supervisors_see_it(app, world, factory, client):
    session = published_session(world)
    enrolment = enrol(world, factory, session, "李雷")
    sign_in(client, world.assessors[0], world.org)
    found = client.get("/recusal?q=李雷").get_data(as_text=True)
    assert "李雷" in found and enrolment.user.id_number not in found
    assert client.post("/recusal", data={"candidate_id": enrolment.user_id, "kind": "relative",
                                         "note": "表弟"}).status_code == 302
    assert db.session.scalar(select(AssessorRelation)).note == "表弟"
    for user in (world.admin, world.supervisor):
        reader = app.test_client()
        sign_in(reader, user, world.org)
        page = reader.get("/admin/recusal").get_data(as_text=True)
        assert "李雷" in page and "表弟" in page
    proctor = app.test_client()
    sign_in(proctor, world.proctors[0], world.org)
    assert proctor.get("/admin/recusal").status_code == 403


def test_proctors_see_their_rooms(app, world, factory, client):
    session = published_session(world)
    enrol(world, factory, session)
    sign_in(client, world.proctors[0], world.org)
    assert "第一考场" in client.get("/checkin").get_data(as_text=True)
    outsider = app.test_client()
    sign_in(outsider, world.proctors[2], world.org)  # not a proctor of that room
    assert "第一考场" not in outsider.get("/checkin").get_data(as_text=True)
    assert outsider.get(f"/checkin/rooms/{session.rooms[0].id}").status_code == 403
