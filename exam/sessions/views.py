"""Pages of exam sessions: planning and publishing (admins), enrolments and tickets,
eligibility rules, applying (candidates), check-in (proctors) and recusal (assessors)."""
from __future__ import annotations

from urllib.parse import quote

from flask import (Blueprint, abort, flash, make_response, redirect, render_template, request,
                   url_for)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..accounts.idnumbers import EDUCATION_LEVELS
from ..banks.levels import LEVEL_LABELS, level_label
from ..core.auth import ADMIN, ASSESSOR, PROCTOR, SUPERVISOR, current_actor, roles_required, signed_in
from ..core.errors import DomainError
from ..core.forms import apply_problems
from ..core.nav import nav_item
from ..core.web import flash_error
from . import enrolments, recusal, roster, services, tickets
from .checks import proctors_needed
from .eligibility import describe_alternative, describe_requirement, describe_result, evidence_fields
from .forms import (COMPONENT_LABELS, EXTRA_POLICY_ROWS, AccommodationForm, ApplyForm, CheckinForm,
                    DecisionForm, GroupForm, PlacementForm, RelationForm, RosterConfirmForm,
                    RosterUploadForm, SessionForm, assessor_assignment, level_choices, local_to_utc,
                    rows_for_editor, rules_from_form, utc_to_local)
from .models import SESSION_STATES

bp = Blueprint("sessions", __name__)

nav_item("sessions.open_sessions", _l("Apply for an exam"), order=10, personal=True)
nav_item("sessions.my_enrolments", _l("My applications"), order=11, personal=True)
nav_item("sessions.admin_sessions", _l("Exam sessions"), order=20, group="exams")
nav_item("sessions.checkin_home", _l("Check-in"), order=30, hide_for_regulator=True, group="exams")
nav_item("sessions.my_relations", _l("Recusal"), order=40, hide_for_regulator=True, group="exams")
nav_item("sessions.relations", _l("Recusal declarations"), order=41, group="exams")
nav_item("sessions.policies", _l("Eligibility rules"), order=42, group="exams")

SESSION_STATUS_LABELS = {
    "draft": _l("Draft"), "published": _l("Enrolment open"), "closed": _l("Enrolment closed"),
    "in_progress": _l("In progress"), "finished": _l("Finished"),
    "results_published": _l("Results published"),
}
ENROLMENT_STATUS_LABELS = {
    "applied": _l("Awaiting review"), "approved": _l("Approved"), "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"),
}
SOURCE_LABELS = {"default": _l("national typical rules"), "body": _l("this body's rules for the level"),
                 "occupation": _l("this body's rules for the occupation")}
TRANSITIONS = {
    "publish": (services.publish_session, _l("Published: enrolment is open.")),
    "close": (services.close_enrolment, _l("Enrolment closed; seats and groups were assigned.")),
    "start": (services.start_session, _l("The session is in progress.")),
    "finish": (services.finish_session, _l("The session is finished.")),
}

bp.add_app_template_filter(lambda s: str(SESSION_STATUS_LABELS.get(s, s)), "session_status_label")
bp.add_app_template_filter(lambda s: str(ENROLMENT_STATUS_LABELS.get(s, s)), "enrolment_status_label")
bp.add_app_template_filter(level_label, "level_label")
bp.add_app_template_filter(describe_result, "describe_condition_result")
bp.add_app_template_filter(describe_alternative, "describe_alternative")
bp.add_app_template_filter(lambda c: str(COMPONENT_LABELS.get(c, c)), "component_label")
bp.add_app_template_filter(lambda k: str(recusal.KIND_LABELS.get(k, k)), "relation_kind_label")


def _org_id():
    """The organisation a page is about: the actor's, or for the regulator ``?org=``."""
    actor = current_actor()
    return actor.org_id or request.args.get("org", type=int)


def _pdf(data: bytes, filename: str):
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    return response


# --- sessions (admins; supervisors and the regulator read) ------------------------------------

@bp.get("/admin/sessions")
@roles_required(ADMIN, SUPERVISOR, regulator=True)
def admin_sessions():
    actor = current_actor()
    status = request.args.get("status") if request.args.get("status") in SESSION_STATES else None
    org_id = _org_id()
    return render_template("sessions/list.html", status=status, states=SESSION_STATES,
                           sessions=services.list_sessions(actor, org_id, status),
                           counts=services.status_counts(actor, org_id), org_id=org_id)


def _session_form(actor, org_id: int, formdata=None, data=None) -> tuple[SessionForm, dict]:
    options = services.staff_options(actor, org_id)
    form = SessionForm(formdata=formdata, data=data) if formdata is not None or data else SessionForm()
    form.occupation_id.choices = [("", _l("— choose —"))] + [
        (o.id, f"{o.name}（{o.code}）") for o in services.occupations()]
    form.level.choices = level_choices()
    form.blueprint_id.choices = [("", _l("— none —"))] + [
        (b.blueprint.id, f"{b.occupation.name} · {level_label(b.bank.level)} · {b.blueprint.name} "
                         f"({b.blueprint.duration_minutes} min, {b.blueprint.status})")
        for b in services.blueprint_options(actor, org_id)]
    form.practical_spec_version_id.choices = [("", _l("— none —"))] + [
        (s.version.id, f"{s.occupation.name} · {level_label(s.spec.level)} · v{s.version.version_no}")
        for s in services.spec_options(actor, org_id)]
    proctor_choices = [(u.id, u.real_name) for u, _ in options["proctor"]]
    for entry in form.rooms:
        entry.form.proctors.choices = proctor_choices
    form.supervisors.choices = [(u.id, u.real_name) for u, _ in options["supervisor"]]
    return form, options


def _session_data(form: SessionForm, options: dict) -> services.SessionData:
    groups, chief, panelists = assessor_assignment(request.form, [u.id for u, _ in options["assessor"]])
    rooms = [services.RoomData(
        id=int(r.form.id.data) if (r.form.id.data or "").isdigit() else None, name=r.form.name.data,
        capacity=r.form.capacity.data or 0, location=r.form.location.data,
        ip_allowlist=r.form.ip_allowlist.data, access_code=r.form.access_code.data,
        proctor_ids=r.form.proctors.data or []) for r in form.rooms
        if not r.form.is_blank and not r.form.remove.data]
    return services.SessionData(
        name=form.name.data, code=form.code.data, occupation_id=form.occupation_id.data,
        level=form.level.data, components=form.components.data or [], work_type=form.work_type.data,
        blueprint_id=form.blueprint_id.data, practical_spec_version_id=form.practical_spec_version_id.data,
        enrolment_opens_at=local_to_utc(form.enrolment_opens_at.data),
        enrolment_closes_at=local_to_utc(form.enrolment_closes_at.data),
        theory_start_at=local_to_utc(form.theory_start_at.data),
        theory_hard_end_at=local_to_utc(form.theory_hard_end_at.data),
        late_entry_minutes=form.late_entry_minutes.data, requires_checkin=form.requires_checkin.data,
        earliest_handin_minutes=form.earliest_handin_minutes.data,
        practical_at=local_to_utc(form.practical_at.data), practical_place=form.practical_place.data,
        review_at=local_to_utc(form.review_at.data), review_place=form.review_place.data,
        notes=form.notes.data, rooms=rooms, assessor_groups=groups, chief_assessor_id=chief,
        panelist_ids=panelists, supervisor_ids=form.supervisors.data or [])


def _form_data_of(session) -> dict:
    staff = session.staff
    rooms = [{"id": str(r.id), "name": r.name, "location": r.location, "capacity": r.capacity,
              "access_code": r.access_code, "ip_allowlist": r.ip_allowlist,
              "proctors": [s.user_id for s in staff if s.role == "proctor" and s.room_id == r.id]}
             for r in session.rooms]
    data = {name: getattr(session, name) for name in (
        "name", "code", "occupation_id", "level", "work_type", "components", "requires_checkin",
        "blueprint_id", "late_entry_minutes", "earliest_handin_minutes", "practical_spec_version_id",
        "practical_place", "review_place", "notes")}
    for name in ("theory_start_at", "theory_hard_end_at", "practical_at", "review_at",
                 "enrolment_opens_at", "enrolment_closes_at"):
        data[name] = utc_to_local(getattr(session, name))
    data["rooms"] = rooms + [{}]
    data["supervisors"] = [s.user_id for s in staff if s.role == "supervisor"]
    return data


def _assessor_state(session=None) -> dict:
    """What the assessor table shows: groups, chief and panelists (from the form or the session)."""
    if request.method == "POST":
        groups = {int(k[6:]): v for k, v in request.form.items() if k.startswith("group-") and k[6:].isdigit()}
        return {"groups": groups, "chief": request.form.get("chief", type=int),
                "panelists": {int(k[9:]) for k in request.form if k.startswith("panelist-") and k[9:].isdigit()}}
    staff = session.staff if session else []
    return {"groups": {s.user_id: str(s.group_no) for s in staff if s.role == "assessor" and s.group_no},
            "chief": next((s.user_id for s in staff if s.role == "chief_assessor"), None),
            "panelists": {s.user_id for s in staff if s.role == "panelist"}}


def _render_edit(form, options, session, errors):
    return render_template("sessions/edit.html", form=form, options=options, session=session,
                           errors=errors, assessors=_assessor_state(session),
                           proctors_needed=proctors_needed), 422 if errors else 200


@bp.route("/admin/sessions/new", methods=["GET", "POST"])
@roles_required(ADMIN)
def new_session():
    actor = current_actor()
    form, options = _session_form(actor, actor.org_id, request.form if request.method == "POST" else None)
    errors = []
    if form.validate_on_submit():
        try:
            session = services.create_session(actor, actor.org_id, _session_data(form, options))
        except DomainError as exc:
            errors = apply_problems(form, exc) or [exc.message]
        else:
            flash(gettext("The session %(code)s was saved as a draft.", code=session.code), "success")
            return redirect(url_for("sessions.session_detail", session_id=session.id))
    elif request.method == "POST":
        errors = [gettext("Please correct the marked fields.")]
    return _render_edit(form, options, None, errors)


@bp.route("/admin/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@roles_required(ADMIN)
def edit_session(session_id: int):
    actor = current_actor()
    session = services.get_session(actor, session_id, write=True)
    posted = request.method == "POST"
    form, options = _session_form(actor, session.org_id, request.form if posted else None,
                                  None if posted else _form_data_of(session))
    errors = []
    if form.validate_on_submit():
        try:
            services.update_session(actor, session.id, _session_data(form, options))
        except DomainError as exc:
            errors = apply_problems(form, exc) or [exc.message]
        else:
            flash(gettext("Saved."), "success")
            return redirect(url_for("sessions.session_detail", session_id=session.id))
    elif posted:
        errors = [gettext("Please correct the marked fields.")]
    return _render_edit(form, options, session, errors)


@bp.get("/admin/sessions/<int:session_id>")
@roles_required(ADMIN, SUPERVISOR, regulator=True)
def session_detail(session_id: int):
    actor = current_actor()
    session = services.get_session(actor, session_id)
    return render_template("sessions/detail.html", session=session,
                           problems=services.problems_for(actor, session.id),
                           counts=services.enrolment_counts(session.id),
                           groups=recusal.practical_groups(session.id),
                           seated=enrolments.seat_counts(session.id),
                           can_edit=actor.can_act_in(session.org_id, ADMIN))


@bp.post("/admin/sessions/<int:session_id>/state/<action>")
@roles_required(ADMIN)
def transition(session_id: int, action: str):
    if action not in TRANSITIONS:
        abort(404)
    service, done = TRANSITIONS[action]
    try:
        result = service(current_actor(), session_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash_error(exc)
    else:
        flash(str(done), "success")
        for warning in getattr(result, "warnings", []):
            flash(warning, "warning")
    return redirect(url_for("sessions.session_detail", session_id=session_id))


# --- enrolments of a session ----------------------------------------------------------------

@bp.get("/admin/sessions/<int:session_id>/enrolments")
@roles_required(ADMIN, SUPERVISOR, regulator=True)
def session_enrolments(session_id: int):
    actor = current_actor()
    session = services.get_session(actor, session_id)
    filters = enrolments.EnrolmentFilter(
        status=request.args.get("status") or None, eligible=request.args.get("eligible") or None,
        room_id=request.args.get("room", type=int), query=request.args.get("q") or None)
    return render_template("sessions/enrolments.html", session=session, filters=filters,
                           rows=enrolments.session_enrolments(actor, session.id, filters),
                           counts=services.enrolment_counts(session.id), form=DecisionForm(),
                           full_ids=actor.can_act_in(session.org_id, ADMIN))


@bp.post("/admin/sessions/<int:session_id>/enrolments/decide")
@roles_required(ADMIN)
def decide_bulk(session_id: int):
    ids = [int(i) for i in request.form.getlist("enrolment_id") if i.isdigit()]
    approve = request.form.get("decision") == "approve"
    try:
        done = enrolments.decide_enrolments(current_actor(), session_id, ids, approve,
                                            request.form.get("reason"))
    except DomainError as exc:
        flash_error(exc)
    else:
        flash(gettext("%(n)d applications approved.", n=len(done)) if approve else
              gettext("%(n)d applications rejected.", n=len(done)), "success")
    return redirect(url_for("sessions.session_enrolments", session_id=session_id,
                            **{k: v for k, v in request.args.items()}))


@bp.post("/admin/sessions/<int:session_id>/seats")
@roles_required(ADMIN)
def assign_seats(session_id: int):
    try:
        seated, left = enrolments.assign_seats(current_actor(), session_id)
    except DomainError as exc:
        flash_error(exc)
    else:
        flash(gettext("%(n)d candidates were given a seat.", n=seated), "success")
        if left:
            flash(gettext("%(n)d candidates did not fit: add a room or places.", n=len(left)), "warning")
    return redirect(url_for("sessions.session_detail", session_id=session_id))


@bp.post("/admin/sessions/<int:session_id>/groups")
@roles_required(ADMIN)
def assign_groups(session_id: int):
    try:
        placed, left = recusal.assign_groups(current_actor(), session_id)
    except DomainError as exc:
        flash_error(exc)
    else:
        flash(gettext("%(n)d candidates were placed in practical groups.", n=placed), "success")
        for enrolment in left:
            flash(gettext("%(name)s is related to assessors of every group: add a group or change "
                          "its assessors.", name=enrolment.user.real_name), "warning")
    return redirect(url_for("sessions.session_detail", session_id=session_id))


@bp.post("/admin/sessions/<int:session_id>/eligibility")
@roles_required(ADMIN)
def recheck_eligibility(session_id: int):
    count = enrolments.recheck_eligibility(current_actor(), session_id)
    flash(gettext("Eligibility was evaluated again for %(n)d applications.", n=count), "success")
    return redirect(url_for("sessions.session_enrolments", session_id=session_id))


@bp.get("/admin/enrolments/<int:enrolment_id>")
@roles_required(ADMIN, SUPERVISOR, regulator=True)
def enrolment_detail(enrolment_id: int):
    actor = current_actor()
    enrolment = enrolments.get_enrolment(actor, enrolment_id)
    session = enrolment.session
    placement = PlacementForm(room_id=enrolment.room_id, seat_no=enrolment.seat_no)
    placement.room_id.choices = [("", _l("— no seat —"))] + [(r.id, r.name) for r in session.rooms]
    group = GroupForm(practical_group=enrolment.practical_group)
    group.practical_group.choices = [("", _l("— no group —"))] + [
        (g.group_no, gettext("Group %(n)d", n=g.group_no)) for g in recusal.practical_groups(session.id)]
    return render_template("sessions/enrolment.html", enrolment=enrolment, session=session,
                           evaluation=enrolments.evaluation_of(actor, enrolment.id),
                           decision=DecisionForm(), placement=placement, group=group,
                           accommodation=AccommodationForm(obj=enrolment),
                           full_ids=actor.can_act_in(session.org_id, ADMIN),
                           education=EDUCATION_LEVELS, sources=SOURCE_LABELS)


@bp.post("/admin/enrolments/<int:enrolment_id>/decide")
@roles_required(ADMIN)
def decide_one(enrolment_id: int):
    actor = current_actor()
    enrolment = enrolments.get_enrolment(actor, enrolment_id, write=True)
    approve = request.form.get("decision") == "approve"
    try:
        enrolments.decide_enrolments(actor, enrolment.session_id, [enrolment.id], approve,
                                     request.form.get("reason"))
    except DomainError as exc:
        flash_error(exc)
    else:
        flash(gettext("Approved.") if approve else gettext("Rejected."), "success")
    return redirect(url_for("sessions.enrolment_detail", enrolment_id=enrolment_id))


@bp.post("/admin/enrolments/<int:enrolment_id>/accommodation")
@roles_required(ADMIN)
def accommodation(enrolment_id: int):
    form = AccommodationForm()
    if not form.validate_on_submit():
        for field in form:
            for message in field.errors:
                flash(f"{field.label.text}: {message}", "error")
        return redirect(url_for("sessions.enrolment_detail", enrolment_id=enrolment_id))
    try:
        enrolments.set_accommodation(current_actor(), enrolment_id, form.extra_minutes.data,
                                     form.time_multiplier.data, form.accommodation_reason.data)
    except DomainError as exc:
        flash_error(exc)
    else:
        flash(gettext("The accommodation was saved."), "success")
    return redirect(url_for("sessions.enrolment_detail", enrolment_id=enrolment_id))


@bp.post("/admin/enrolments/<int:enrolment_id>/seat")
@roles_required(ADMIN)
def move_seat(enrolment_id: int):
    room_id = request.form.get("room_id", type=int)
    try:
        enrolments.move_candidate(current_actor(), enrolment_id, room_id,
                                  request.form.get("seat_no", type=int))
    except DomainError as exc:
        flash_error(exc)
    else:
        flash(gettext("The seat was changed."), "success")
    return redirect(url_for("sessions.enrolment_detail", enrolment_id=enrolment_id))


@bp.post("/admin/enrolments/<int:enrolment_id>/group")
@roles_required(ADMIN)
def change_group(enrolment_id: int):
    try:
        recusal.set_practical_group(current_actor(), enrolment_id,
                                    request.form.get("practical_group", type=int))
    except DomainError as exc:
        flash_error(exc)
    else:
        flash(gettext("The practical group was changed."), "success")
    return redirect(url_for("sessions.enrolment_detail", enrolment_id=enrolment_id))


@bp.get("/admin/enrolments/<int:enrolment_id>/ticket.pdf")
@roles_required(ADMIN)
def admin_ticket_pdf(enrolment_id: int):
    enrolment, pdf = tickets.admin_ticket(current_actor(), enrolment_id, request.args.get("size", "A4"))
    return _pdf(pdf, f"准考证-{enrolment.ticket_no}.pdf")


@bp.get("/admin/rooms/<int:room_id>/tickets.pdf")
@roles_required(ADMIN)
def room_tickets_pdf(room_id: int):
    room, pdf = tickets.room_tickets(current_actor(), room_id, request.args.get("size", "A4"))
    return _pdf(pdf, f"准考证-{room.session.code}-{room.name}.pdf")


# --- rosters ------------------------------------------------------------------------------------

@bp.get("/admin/sessions/roster-template.xlsx")
@roles_required(ADMIN)
def roster_template():
    response = make_response(roster.template_workbook())
    response.headers["Content-Type"] = enrolments.XLSX
    response.headers["Content-Disposition"] = "attachment; filename*=UTF-8''" + quote("报名名册模板.xlsx")
    return response


@bp.route("/admin/sessions/<int:session_id>/roster", methods=["GET", "POST"])
@roles_required(ADMIN)
def roster_upload(session_id: int):
    actor = current_actor()
    session = services.get_session(actor, session_id, write=True)
    form = RosterUploadForm()
    preview, failure = None, None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            preview = enrolments.preview_roster(actor, session.id, upload.filename, upload.read())
        except DomainError as exc:
            failure = exc
    return render_template("sessions/roster.html", session=session, form=form, preview=preview,
                           failure=failure, confirm=RosterConfirmForm(token=preview.token if preview else "")
                           ), 422 if failure else 200


@bp.post("/admin/sessions/<int:session_id>/roster/confirm")
@roles_required(ADMIN)
def roster_confirm(session_id: int):
    actor = current_actor()
    session = services.get_session(actor, session_id, write=True)
    form = RosterConfirmForm()
    try:
        result = enrolments.import_roster(actor, session.id, form.token.data if form.validate_on_submit()
                                          else "")
    except DomainError as exc:
        return render_template("sessions/roster.html", session=session, form=RosterUploadForm(),
                               preview=None, failure=exc, confirm=None), 422
    return render_template("sessions/roster_result.html", session=session, result=result)


# --- eligibility rules ----------------------------------------------------------------------------

@bp.get("/admin/eligibility")
@roles_required(ADMIN, regulator=True)
def policies():
    actor = current_actor()
    org_id = _org_id()
    if org_id is None:
        abort(404)
    return render_template("sessions/policies.html", rows=enrolments.policies(actor, org_id),
                           sources=SOURCE_LABELS, occupations=services.occupations(),
                           can_edit=actor.can_act_in(org_id, ADMIN))


@bp.route("/admin/eligibility/<int:level>", methods=["GET", "POST"])
@roles_required(ADMIN)
def edit_policy(level: int):
    actor = current_actor()
    occupation_id = request.args.get("occupation", type=int)
    if level not in LEVEL_LABELS:
        abort(404)
    errors = []
    if request.method == "POST":
        reset = request.form.get("action") == "reset"
        rules = None if reset else rules_from_form(request.form, request.form.get("rows", 0, type=int))
        try:
            enrolments.save_policy(actor, actor.org_id, level, occupation_id, rules)
        except DomainError as exc:
            errors = [exc.message] + [str(p) for p in exc.problems]
        else:
            flash(gettext("The default rules apply again.") if reset else gettext("The rules were saved."),
                  "success")
            return redirect(url_for("sessions.policies"))
    rule_set = enrolments.rules_for(actor.org_id, occupation_id, level)
    rows = rows_for_editor(rules_from_form(request.form, request.form.get("rows", 0, type=int))
                           if errors else rule_set.rules)
    occupation = next((o for o in services.occupations() if o.id == occupation_id), None)
    if occupation_id is not None and occupation is None:
        abort(404)
    return render_template("sessions/policy_edit.html", level=level, occupation=occupation, rows=rows,
                           rule_set=rule_set, errors=errors, education=EDUCATION_LEVELS,
                           levels=LEVEL_LABELS, sources=SOURCE_LABELS,
                           extra=EXTRA_POLICY_ROWS), 422 if errors else 200


# --- recusal ---------------------------------------------------------------------------------------

@bp.route("/recusal", methods=["GET", "POST"])
@roles_required(ASSESSOR)
def my_relations():
    actor = current_actor()
    form = RelationForm()
    if form.validate_on_submit():
        try:
            recusal.declare_relation(actor, int(form.candidate_id.data), form.kind.data, form.note.data)
        except (DomainError, ValueError) as exc:
            flash(getattr(exc, "message", str(exc)), "error")
        else:
            flash(gettext("Your declaration was recorded. You will not assess this person."), "success")
            return redirect(url_for("sessions.my_relations"))
    query = request.args.get("q", "").strip()
    return render_template("sessions/my_relations.html", form=form, query=query,
                           found=recusal.find_people(actor, query) if query else [],
                           relations=recusal.my_relations(actor))


@bp.get("/admin/recusal")
@roles_required(ADMIN, SUPERVISOR, regulator=True)
def relations():
    actor = current_actor()
    query = request.args.get("q", "").strip() or None
    return render_template("sessions/relations.html", query=query,
                           rows=recusal.org_relations(actor, _org_id(), query),
                           full_ids=actor.has(ADMIN) and not actor.is_regulator)


# --- candidates ------------------------------------------------------------------------------------

@bp.get("/exams")
@signed_in
def open_sessions():
    actor = current_actor()
    return render_template("sessions/open.html", sessions=enrolments.open_sessions(actor),
                           mine={e.session_id: e for e in enrolments.my_enrolments(actor)})


@bp.route("/exams/<int:session_id>/apply", methods=["GET", "POST"])
@signed_in
def apply(session_id: int):
    actor = current_actor()
    session = enrolments.session_for_applicant(actor, session_id)
    rule_set = enrolments.applicant_rules(session)
    form = ApplyForm()
    form.prior_certificate_level.choices = [("", _l("— none —"))] + level_choices()
    errors = []
    if form.validate_on_submit():
        try:
            enrolments.apply_for_session(actor, session.id, form.evidence(), resit=form.resit.data)
        except DomainError as exc:
            errors = apply_problems(form, exc) or [exc.message]
        else:
            flash(gettext("Your application was sent. The assessment body will review it."), "success")
            return redirect(url_for("sessions.my_enrolments"))
    elif request.method == "GET":
        form.education.data = current_user.education or ""
    return render_template("sessions/apply.html", session=session, form=form, errors=errors,
                           rules=rule_set.rules, fields=evidence_fields(rule_set.rules),
                           resit=enrolments.resit_components_for(current_user.id, session),
                           describe_requirement=describe_requirement), 422 if errors else 200


@bp.get("/my/enrolments")
@signed_in
def my_enrolments():
    return render_template("sessions/my_enrolments.html",
                           rows=enrolments.my_enrolments(current_actor()),
                           ticket_available=enrolments.ticket_available)


@bp.post("/my/enrolments/<int:enrolment_id>/withdraw")
@signed_in
def withdraw(enrolment_id: int):
    try:
        enrolments.withdraw_enrolment(current_actor(), enrolment_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash_error(exc)
    else:
        flash(gettext("Your application was withdrawn."), "success")
    return redirect(url_for("sessions.my_enrolments"))


@bp.get("/my/enrolments/<int:enrolment_id>/ticket.pdf")
@signed_in
def my_ticket(enrolment_id: int):
    enrolment, pdf = tickets.candidate_ticket(current_actor(), enrolment_id, request.args.get("size", "A4"))
    return _pdf(pdf, f"准考证-{enrolment.ticket_no}.pdf")


# --- check-in (proctors) -----------------------------------------------------------------------------

@bp.get("/checkin")
@roles_required(PROCTOR, ADMIN)
def checkin_home():
    return render_template("sessions/checkin_rooms.html", rooms=tickets.checkin_rooms(current_actor()))


def _checkin_page(room, form, candidate=None, failure=None, done=None):
    people = tickets.room_candidates(room)
    return render_template("sessions/checkin.html", room=room, form=form, candidate=candidate,
                           failure=failure, done=done, people=people,
                           checked=sum(1 for p in people if p.checked_in_at)), 200


@bp.get("/checkin/rooms/<int:room_id>")
@roles_required(PROCTOR, ADMIN)
def checkin(room_id: int):
    actor = current_actor()
    room = tickets.checkin_room(actor, room_id)
    code = request.args.get("code", "").strip()
    form = CheckinForm(formdata=None, code=code)
    candidate, failure = None, None
    if code:
        try:
            candidate = tickets.find_ticket(actor, room.id, code)
        except DomainError as exc:
            failure = exc.message
    return _checkin_page(room, form, candidate, failure)


@bp.post("/checkin/rooms/<int:room_id>")
@roles_required(PROCTOR, ADMIN)
def checkin_confirm(room_id: int):
    actor = current_actor()
    room = tickets.checkin_room(actor, room_id)
    form = CheckinForm()
    if not form.validate_on_submit():
        return _checkin_page(room, form, failure=gettext("Scan the QR code or type the ticket number."))
    try:
        enrolment, first = tickets.check_in(actor, room.id, form.code.data)
    except DomainError as exc:
        return _checkin_page(room, form, failure=exc.message)
    flash(gettext("%(name)s is checked in (seat %(seat)s).", name=enrolment.user.real_name,
                  seat=enrolment.seat_no) if first else
          gettext("%(name)s was already checked in.", name=enrolment.user.real_name),
          "success" if first else "info")
    return redirect(url_for("sessions.checkin", room_id=room.id))
