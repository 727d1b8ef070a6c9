"""The scoring pages as each role sees them: navigation, the tablet sheet and its JSON drafts,
results, export, and read-only access for supervisors and the regulator."""
import io
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from exam.extensions import db
from exam.scoring import services
from exam.scoring.models import Publication, ScoreSheet, ScoringSettings

from ..factories import sign_in
from .test_results import finish, result_of


def _nav(client):
    return client.get("/").get_data(as_text=True)


def test_navigation_per_role(world, client, factory):
    sign_in(client, world.assessors[0], world.org)
    home = _nav(client)
    assert "/scoring" in home and "/scoring/results" not in home and "/scoring/my-results" not in home
    sign_in(client, world.admin, world.org)
    home = _nav(client)
    assert "/scoring/results" in home and "/scoring/appeals" in home
    sign_in(client, world.candidates[0], world.org)
    assert "/scoring/my-results" in _nav(client)
    regulator = factory.regulator()
    sign_in(client, regulator)
    home = _nav(client)
    assert "/scoring/results" in home and 'href="/scoring"' not in home


def test_assessor_pages(world, client):
    enrolment = world.enrolments[0]
    sign_in(client, world.chief, world.org)
    home = client.get("/scoring").get_data(as_text=True)
    assert world.session.name in home and f"/scoring/sessions/{world.session.id}/arbitration" in home
    listing = client.get(f"/scoring/sessions/{world.session.id}/practical").get_data(as_text=True)
    assert world.candidates[0].real_name in listing and f"/practical/T1" in listing
    sheet = client.get(f"/scoring/enrolments/{enrolment.id}/practical/T1")
    html = sheet.get_data(as_text=True)
    assert sheet.status_code == 200
    assert 'name="deduction-T1.1"' in html and 'name="veto-T1.3"' in html and "js/scoring.js" in html
    assert "style=" not in html and "<script>" not in html  # CSP: no inline styles or scripts


def test_json_draft_and_form_signing(world, client):
    enrolment = world.enrolments[0]
    sign_in(client, world.assessors[0], world.org)
    url = f"/scoring/enrolments/{enrolment.id}/practical/T1"
    saved = client.post(url + "/draft", json={"entries": {"T1.1": {"deduction": "2"}}, "note": "草稿", "seq": 3})
    assert saved.status_code == 200 and saved.get_json() == {**saved.get_json(), "status": "draft", "seq": 3,
                                                             "total": "28.00"}
    bad = client.post(url + "/draft", json={"entries": {"T1.1": {"deduction": "31"}}, "seq": 4})
    assert bad.status_code == 422 and bad.get_json()["problems"][0]["location"] == "T1.1"
    incomplete = client.post(url + "/sign", data={"deduction-T1.1": "2"})
    assert incomplete.status_code == 422
    assert 'value="2"' in incomplete.get_data(as_text=True)  # what was typed comes back
    signed = client.post(url + "/sign", data={"deduction-T1.1": "2", "deduction-T1.2": "5", "deduction-T1.3": "0",
                                              "veto-T1.3": "1", "note": "擅自通电"})
    assert signed.status_code == 302
    sheet = db.session.scalar(select(ScoreSheet))
    db.session.refresh(sheet)
    assert sheet.status == "signed" and sheet.total == sheet.total.__class__("93.00")
    assert sheet.entries["T1.3"]["veto"] is True and sheet.note == "擅自通电"
    locked = client.get(url).get_data(as_text=True)
    assert 'data-locked="true"' in locked and "readonly" in locked


def test_results_page_publish_and_export(world, client, frozen_clock):
    for enrolment in world.enrolments:
        finish(world, enrolment)
    sign_in(client, world.admin, world.org)
    assert client.post(f"/scoring/sessions/{world.session.id}/results/compute").status_code == 302
    page = client.get(f"/scoring/sessions/{world.session.id}/results").get_data(as_text=True)
    assert world.candidates[0].real_name in page and "80" in page and "76" in page
    saved = client.post(f"/scoring/sessions/{world.session.id}/settings",
                        data={"double_marking": "1", "marking_tolerance": "2", "practical_rule": "mean",
                              "spread_threshold": "10", "review_file_points": "40", "resit_days": "365"})
    assert saved.status_code == 302
    settings = db.session.scalar(select(ScoringSettings))
    assert settings.double_marking is True and settings.marking_tolerance == 2
    published = client.post(f"/scoring/sessions/{world.session.id}/results/publish",
                            data={"days": "5", "appeal_days": "7"})
    assert published.status_code == 302
    publication = db.session.scalar(select(Publication))
    assert publication.days == 5 and publication.appeal_days == 7
    export = client.get(f"/scoring/sessions/{world.session.id}/results.xlsx")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    first = next(r for r in rows if r[0] == world.enrolments[0].ticket_no)
    assert first[1] == world.candidates[0].real_name
    assert first[2] == world.candidates[0].id_number  # admins get the full ID
    assert first[3] == 80.0 and first[5] == 76.0


def test_supervisor_and_regulator_read_but_do_not_change(world, client, factory):
    for enrolment in world.enrolments:
        finish(world, enrolment)
    services.compute_results(world.admin_actor, world.session.id)
    sign_in(client, world.supervisor, world.org)
    page = client.get(f"/scoring/sessions/{world.session.id}/results")
    assert page.status_code == 200 and "results/publish" not in page.get_data(as_text=True)
    assert client.post(f"/scoring/sessions/{world.session.id}/results/publish").status_code == 403
    export = client.get(f"/scoring/sessions/{world.session.id}/results.xlsx")
    rows = [[c.value for c in row] for row in load_workbook(io.BytesIO(export.data)).active.iter_rows()]
    first = next(r for r in rows if r[0] == world.enrolments[0].ticket_no)
    assert first[2] != world.candidates[0].id_number and "*" in first[2]  # masked
    regulator = factory.regulator()
    sign_in(client, regulator)
    assert client.get(f"/scoring/results").status_code == 200
    assert client.get(f"/scoring/sessions/{world.session.id}/results").status_code == 200
    detail = client.get(f"/scoring/enrolments/{world.enrolments[0].id}/scores").get_data(as_text=True)
    assert world.candidates[0].id_number not in detail
    assert client.post(f"/scoring/sessions/{world.session.id}/results/compute").status_code == 403


def test_other_bodies_see_nothing(world, client):
    from .conftest import build_world

    other = build_world(candidates=1)
    sign_in(client, other.admin, other.org)
    assert client.get(f"/scoring/sessions/{world.session.id}/results").status_code == 404
    assert client.get(f"/scoring/enrolments/{world.enrolments[0].id}/scores").status_code == 404
    assert client.get(f"/scoring/sessions/{world.session.id}/results.xlsx").status_code == 404
    sign_in(client, other.assessors[0], other.org)
    assert client.get(f"/scoring/sessions/{world.session.id}/practical").status_code == 404
    assert client.get(f"/scoring/enrolments/{world.enrolments[0].id}/practical/T1").status_code == 404
    assert client.get(f"/scoring/sessions/{world.session.id}/marking").status_code == 404


def test_candidate_sees_own_results_only_after_publication(world, client, frozen_clock):
    for enrolment in world.enrolments:
        finish(world, enrolment)
    services.compute_results(world.admin_actor, world.session.id)
    sign_in(client, world.candidates[0], world.org)
    assert world.session.name not in client.get("/scoring/my-results").get_data(as_text=True)
    services.publish_results(world.admin_actor, world.session.id)
    page = client.get("/scoring/my-results").get_data(as_text=True)
    assert world.session.name in page and "76" in page
    assert world.candidates[1].real_name not in page
    frozen_clock.advance(timedelta(days=10))
    closed = client.get("/scoring/my-results").get_data(as_text=True)
    assert f"/scoring/my-results/{result_of(world.enrolments[0]).id}/appeal" not in closed


def test_bad_settings_are_refused_not_replaced(world, client):
    sign_in(client, world.admin, world.org)
    response = client.post(f"/scoring/sessions/{world.session.id}/settings",
                           data={"practical_rule": "mean", "spread_threshold": "abc", "review_file_points": "40",
                                 "resit_days": "x"})
    assert response.status_code == 302
    assert db.session.scalar(select(ScoringSettings)) is None
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "flash-error" in page
