"""Pages of scoring: assessors' candidates and scoring sheets (tablet-first), anonymous marking,
the chief assessor's arbitration, the review panel, results and publication (admins;
supervisors and the regulator read), appeals, and the candidate's own results."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

from flask import Blueprint, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ..core.auth import ADMIN, ASSESSOR, CANDIDATE, SUPERVISOR, current_actor, roles_required
from ..core.clock import now_utc
from ..core.errors import DomainError
from ..core.forms import apply_problems
from ..core.nav import nav_item
from ..core.web import flash_error
from ..core.web import localtime
from . import export, services
from .forms import (CHECK_LABELS, COMPONENT_LABELS, RULE_LABELS, STATE_LABELS, AbsenceForm, AnswerForm,
                    AppealForm, PublishForm, SettingsForm, sheet_entries, veto_decisions)
from .models import REVIEW_TASK

bp = Blueprint("scoring", __name__)

nav_item("scoring.my_results", _l("My results"), order=21, personal=True)
nav_item("scoring.results_home", _l("Results"), order=24, group="results")
nav_item("scoring.appeals", _l("Appeals"), order=25, group="results")
nav_item("scoring.assessor_home", _l("Scoring"), order=35, hide_for_regulator=True, group="results")


def _score(value) -> str:
    """82.50 → 82.5, 80.00 → 80 (as scores are written on results lists)."""
    if value is None or value == "":
        return "—"
    try:
        text = format(Decimal(str(value)), "f")
    except ArithmeticError:
        return str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


bp.add_app_template_filter(_score, "score")


def _last_day(value) -> str:
    """A period ending at local midnight is shown by its last day (公示期至 11 月 27 日)."""
    return localtime(value - timedelta(seconds=1), "yyyy-MM-dd") if value else ""


bp.add_app_template_filter(_last_day, "last_day")
bp.add_app_template_filter(lambda c: str(COMPONENT_LABELS.get(c, c)), "scoring_component")
bp.add_app_template_filter(lambda s: str(STATE_LABELS.get(s, s)), "result_state")
bp.add_app_template_filter(lambda r: str(RULE_LABELS.get(r, r)), "practical_rule")


def _org_id():
    actor = current_actor()
    return actor.org_id or request.args.get("org", type=int)


# --- assessors: candidates and sheets --------------------------------------------------------------

@bp.get("/scoring")
@roles_required(ASSESSOR)
def assessor_home():
    return render_template("scoring/assessor_home.html", rows=services.my_sessions(current_actor()))


@bp.get("/scoring/sessions/<int:session_id>/practical")
@roles_required(ASSESSOR)
def practical_candidates(session_id: int):
    listing = services.my_candidates(current_actor(), session_id, "practical")
    return render_template("scoring/candidates.html", listing=listing)


@bp.get("/scoring/sessions/<int:session_id>/review")
@roles_required(ASSESSOR)
def review_candidates(session_id: int):
    listing = services.my_candidates(current_actor(), session_id, "review")
    return render_template("scoring/candidates.html", listing=listing)


def _sheet_page(enrolment_id: int, component: str, task_code: str):
    view = services.my_sheet(current_actor(), enrolment_id, component, task_code)
    return render_template("scoring/sheet.html", view=view, values=view.sheet.entries if view.sheet else {},
                           note=(view.sheet.note if view.sheet else "") or "", errors=[], problems={})


def _sign(enrolment_id: int, component: str, task_code: str):
    """Sign with the inputs of the form (so signing works even when the last draft save did not
    reach the server); on a problem the sheet comes back with the typed values."""
    actor = current_actor()
    view = services.my_sheet(actor, enrolment_id, component, task_code)
    entries = sheet_entries(request.form, view.task.items)
    try:
        services.sign_sheet(actor, enrolment_id, component, task_code, entries, request.form.get("note"))
    except DomainError as exc:
        problems = {p.location: p.message for p in exc.problems}
        return render_template("scoring/sheet.html", view=view, values=entries, note=request.form.get("note", ""),
                               errors=[exc.message], problems=problems), exc.status
    flash(gettext("Signed. Your sheet is locked."), "success")
    endpoint = ".practical_candidates" if component == "practical" else ".review_candidates"
    return redirect(url_for(endpoint, session_id=view.session.id))


def _draft(enrolment_id: int, component: str, task_code: str):
    body = request.get_json(silent=True) or {}
    sheet = services.save_draft(current_actor(), enrolment_id, component, task_code, body.get("entries"),
                                body.get("note"), body.get("seq"))
    return jsonify(status=sheet.status, seq=sheet.client_seq, total=format(sheet.total, "f"),
                   saved_at=sheet.updated_at.isoformat() if sheet.updated_at else None)


@bp.get("/scoring/enrolments/<int:enrolment_id>/practical/<task_code>")
@roles_required(ASSESSOR)
def practical_sheet(enrolment_id: int, task_code: str):
    return _sheet_page(enrolment_id, "practical", task_code)


@bp.post("/scoring/enrolments/<int:enrolment_id>/practical/<task_code>/draft")
@roles_required(ASSESSOR)
def practical_draft(enrolment_id: int, task_code: str):
    return _draft(enrolment_id, "practical", task_code)


@bp.post("/scoring/enrolments/<int:enrolment_id>/practical/<task_code>/sign")
@roles_required(ASSESSOR)
def practical_sign(enrolment_id: int, task_code: str):
    return _sign(enrolment_id, "practical", task_code)


@bp.get("/scoring/enrolments/<int:enrolment_id>/review")
@roles_required(ASSESSOR)
def review_sheet(enrolment_id: int):
    return _sheet_page(enrolment_id, "review", REVIEW_TASK)


@bp.post("/scoring/enrolments/<int:enrolment_id>/review/draft")
@roles_required(ASSESSOR)
def review_draft(enrolment_id: int):
    return _draft(enrolment_id, "review", REVIEW_TASK)


@bp.post("/scoring/enrolments/<int:enrolment_id>/review/sign")
@roles_required(ASSESSOR)
def review_sign(enrolment_id: int):
    return _sign(enrolment_id, "review", REVIEW_TASK)


# --- anonymous marking and arbitration --------------------------------------------------------

@bp.get("/scoring/sessions/<int:session_id>/marking")
@roles_required(ASSESSOR)
def marking(session_id: int):
    return render_template("scoring/marking.html", queue=services.marking_queue(current_actor(), session_id))


@bp.post("/scoring/sessions/<int:session_id>/marking")
@roles_required(ASSESSOR)
def mark(session_id: int):
    try:
        services.record_mark(current_actor(), session_id, request.form.get("marking_code", ""),
                             request.form.get("position", type=int), request.form.get("points"),
                             request.form.get("note"))
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash_error(exc)
    else:
        flash(gettext("Mark recorded."), "success")
    return redirect(url_for(".marking", session_id=session_id))


@bp.get("/scoring/sessions/<int:session_id>/arbitration")
@roles_required(ASSESSOR)
def arbitration(session_id: int):
    session, open_cases, done = services.arbitration_queue(current_actor(), session_id)
    return render_template("scoring/arbitration.html", session=session, open_cases=open_cases, done=done)


@bp.post("/scoring/cases/<int:outcome_id>/arbitrate")
@roles_required(ASSESSOR)
def arbitrate(outcome_id: int):
    form = request.form
    codes = [k[5:] for k in form if k.startswith("veto-")]
    try:
        outcome = services.arbitrate(current_actor(), outcome_id, form.get("score"),
                                     veto_decisions(form, codes), form.get("reason"))
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash_error(exc)
        back = request.referrer or ""
        return redirect(back if back.startswith(request.host_url) else url_for(".assessor_home"))
    flash(gettext("Decision recorded."), "success")
    return redirect(url_for(".arbitration", session_id=outcome.session_id))


# --- results (admins; supervisors and the regulator read) ---------------------------------------------

@bp.get("/scoring/results")
@roles_required(ADMIN, SUPERVISOR, regulator=True)
def results_home():
    return render_template("scoring/results_home.html",
                           rows=services.results_sessions(current_actor(), _org_id()))


@bp.get("/scoring/sessions/<int:session_id>/results")
@roles_required(ADMIN, SUPERVISOR, regulator=True)
def session_results(session_id: int):
    actor = current_actor()
    data = services.session_results(actor, session_id)
    settings = services.session_settings(actor, session_id)
    form = SettingsForm(data={
        "double_marking": "" if settings.row is None or settings.row.double_marking is None
        else ("1" if settings.row.double_marking else "0"),
        "marking_tolerance": settings.row.marking_tolerance if settings.row else "",
        "practical_rule": settings.practical_rule, "spread_threshold": settings.spread_threshold,
        "review_file_points": settings.review_file_points, "resit_days": settings.resit_days})
    return render_template("scoring/results.html", data=data, settings=settings, settings_form=form,
                           publish_form=PublishForm(), rule_labels=RULE_LABELS,
                           can_edit=actor.can_act_in(data.session.org_id, ADMIN))


@bp.post("/scoring/sessions/<int:session_id>/results/compute")
@roles_required(ADMIN)
def compute(session_id: int):
    try:
        results = services.compute_results(current_actor(), session_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash_error(exc)
    else:
        flash(gettext("%(n)d results computed.", n=len(results)), "success")
    return redirect(url_for(".session_results", session_id=session_id))


@bp.post("/scoring/sessions/<int:session_id>/results/publish")
@roles_required(ADMIN)
def publish(session_id: int):
    form = request.form  # the service checks the numbers (a bad one is not silently replaced)
    try:
        publication = services.publish_results(current_actor(), session_id, form.get("days"),
                                               form.get("appeal_days"), form.get("note"))
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash_error(exc)
    else:
        flash(gettext("Results published; the publication period ends %(end)s.",
                      end=_last_day(publication.ends_at)), "success")
    return redirect(url_for(".session_results", session_id=session_id))


@bp.post("/scoring/sessions/<int:session_id>/settings")
@roles_required(ADMIN)
def update_settings(session_id: int):
    form = request.form
    data = services.SettingsData({"1": True, "0": False}.get(form.get("double_marking")),
                                 form.get("marking_tolerance"), form.get("practical_rule"),
                                 form.get("spread_threshold"), form.get("review_file_points"),
                                 form.get("resit_days") or 365)
    try:
        services.update_settings(current_actor(), session_id, data)
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash_error(exc)
    else:
        flash(gettext("Scoring settings saved."), "success")
    return redirect(url_for(".session_results", session_id=session_id))


@bp.get("/scoring/sessions/<int:session_id>/results.xlsx")
@roles_required(ADMIN, SUPERVISOR, regulator=True)
def export_results(session_id: int):
    actor = current_actor()
    data = services.session_results(actor, session_id)
    body = export.results_workbook(data, full_ids=actor.can_act_in(data.session.org_id, ADMIN))
    response = make_response(body)
    response.headers["Content-Type"] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = f"{data.session.code}-成绩.xlsx"
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


@bp.get("/scoring/enrolments/<int:enrolment_id>/scores")
@roles_required(ADMIN, SUPERVISOR, regulator=True)
def candidate_scores(enrolment_id: int):
    actor = current_actor()
    detail = services.candidate_detail(actor, enrolment_id)
    return render_template("scoring/candidate.html", detail=detail, absence_form=AbsenceForm(),
                           can_edit=actor.can_act_in(detail.session.org_id, ADMIN))


@bp.post("/scoring/enrolments/<int:enrolment_id>/absence")
@roles_required(ADMIN)
def record_absence(enrolment_id: int):
    form = AbsenceForm()
    try:
        services.record_absence(current_actor(), enrolment_id, form.component.data, form.reason.data)
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash_error(exc)
    else:
        flash(gettext("Absence recorded."), "success")
    return redirect(url_for(".candidate_scores", enrolment_id=enrolment_id))


# --- appeals ------------------------------------------------------------------------------------------

@bp.get("/scoring/appeals")
@roles_required(ADMIN, SUPERVISOR, regulator=True)
def appeals():
    status = request.args.get("status") if request.args.get("status") in ("open", "answered") else None
    return render_template("scoring/appeals.html", status=status,
                           rows=services.appeals_queue(current_actor(), _org_id(), status))


@bp.get("/scoring/appeals/<int:appeal_id>")
@roles_required(ADMIN, SUPERVISOR, regulator=True)
def appeal(appeal_id: int, form: AnswerForm | None = None, errors=None):
    actor = current_actor()
    row = services.get_appeal(actor, appeal_id)
    return render_template("scoring/appeal.html", row=row, form=form or AnswerForm(), errors=errors or [],
                           check_labels=CHECK_LABELS, can_edit=actor.can_act_in(row.appeal.org_id, ADMIN))


@bp.post("/scoring/appeals/<int:appeal_id>/answer")
@roles_required(ADMIN)
def answer_appeal(appeal_id: int):
    form = AnswerForm()
    try:
        services.answer_appeal(current_actor(), appeal_id, checks=form.checks(), answer=form.answer.data,
                               corrections=form.corrections())
    except DomainError as exc:
        if exc.status == 404:
            raise
        return appeal(appeal_id, form=form, errors=apply_problems(form, exc)), exc.status
    flash(gettext("The answer was recorded; the candidate can read it now."), "success")
    return redirect(url_for(".appeal", appeal_id=appeal_id))


# --- the candidate ---------------------------------------------------------------------------------

@bp.get("/scoring/my-results")
@roles_required(CANDIDATE)
def my_results():
    return render_template("scoring/my_results.html", rows=services.my_results(current_actor()),
                           now=now_utc(), form=AppealForm())


@bp.post("/scoring/my-results/<int:result_id>/appeal")
@roles_required(CANDIDATE)
def file_appeal(result_id: int):
    form = AppealForm()
    try:
        services.file_appeal(current_actor(), result_id, form.reason.data, request.form.getlist("components"))
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash_error(exc)
    else:
        flash(gettext("Your request for a recheck was received."), "success")
    return redirect(url_for(".my_results"))
