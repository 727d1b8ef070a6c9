"""Certificate pages: the body's list, detail, sessions and branding; the candidate's own
certificates; public verification (QR link, lookup, bulk), the API and the published keys."""
from __future__ import annotations

from flask import (Blueprint, abort, current_app, flash, jsonify, make_response, redirect,
                   render_template, request, url_for)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.utils import secure_filename

from ..core.auth import ADMIN, current_actor, public, roles_required, signed_in
from ..core.errors import DomainError
from ..core.forms import apply_problems
from ..core.nav import nav_item
from ..extensions import limiter, rate_limits_off
from . import bulk, keys, services
from .forms import BrandingForm, BulkForm, ConfirmIdForm, IssueForm, LookupForm, ReasonForm
from .models import CERTIFICATE_STATES

bp = Blueprint("certificates", __name__)

nav_item("certificates.admin_list", _l("Certificates"), order=60, group="results")
nav_item("certificates.my_certificates", _l("My certificates"), order=30, personal=True)


def _verify_limit() -> str:
    return current_app.config.get("CERTIFICATE_VERIFY_RATE_LIMIT", "60 per minute;600 per hour")


def _confirm_limit() -> str:
    return current_app.config.get("CERTIFICATE_CONFIRM_RATE_LIMIT", "5 per minute;30 per hour")


def _bulk_limit() -> str:
    return current_app.config.get("CERTIFICATE_BULK_RATE_LIMIT", "6 per minute;60 per hour")


@bp.after_request
def _not_for_search_engines(response):
    """Certificate pages name people: search engines must not keep them."""
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _org_id() -> int:
    """The organisation an admin page is about: the actor's, or ``?org=`` for the regulator."""
    actor = current_actor()
    org_id = actor.org_id or request.args.get("org", type=int)
    if org_id is None:
        abort(404)
    return org_id


def _download(data: bytes, filename: str, mimetype: str, inline: bool = False):
    response = make_response(data)
    response.headers["Content-Type"] = mimetype
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- the body's certificates (admins; the regulator reads) -------------------------------------

@bp.get("/certificates")
@roles_required(ADMIN, regulator=True)
def admin_list():
    status = request.args.get("status") if request.args.get("status") in CERTIFICATE_STATES else None
    result = services.list_certificates(current_actor(), _org_id(), q=request.args.get("q"),
                                        status=status, page=request.args.get("page", 1, type=int))
    filter_args = {k: v for k, v in request.args.items() if k in ("q", "org")}
    return render_template("certificates/admin_list.html", result=result, status=status,
                           q=request.args.get("q", ""), states=CERTIFICATE_STATES,
                           filter_args=filter_args)


@bp.get("/certificates/<int:certificate_id>")
@roles_required(ADMIN, regulator=True)
def detail(certificate_id: int):
    cert = services.get_certificate(current_actor(), certificate_id)
    return render_template("certificates/detail.html", cert=cert, link=services.link(cert),
                           revoke_form=ReasonForm(prefix="revoke"), reissue_form=ReasonForm(prefix="reissue"),
                           can_act=current_actor().can_act_in(cert.org_id, ADMIN))


@bp.post("/certificates/<int:certificate_id>/revoke")
@roles_required(ADMIN)
def revoke(certificate_id: int):
    form = ReasonForm(prefix="revoke")
    try:
        cert = services.revoke_certificate(current_actor(), certificate_id,
                                           form.reason.data if form.validate_on_submit() else "")
    except DomainError as exc:
        for message in apply_problems(form, exc) + form.reason.errors:
            flash(message, "error")
    else:
        flash(gettext("Certificate %(number)s was revoked.", number=cert.number), "success")
    return redirect(url_for("certificates.detail", certificate_id=certificate_id))


@bp.post("/certificates/<int:certificate_id>/reissue")
@roles_required(ADMIN)
def reissue(certificate_id: int):
    form = ReasonForm(prefix="reissue")
    try:
        new = services.reissue_certificate(current_actor(), certificate_id,
                                           form.reason.data if form.validate_on_submit() else "")
    except DomainError as exc:
        for message in apply_problems(form, exc) + form.reason.errors:
            flash(message, "error")
        return redirect(url_for("certificates.detail", certificate_id=certificate_id))
    flash(gettext("Certificate %(number)s was issued in its place.", number=new.number), "success")
    return redirect(url_for("certificates.detail", certificate_id=new.id))


@bp.get("/certificates/<int:certificate_id>/pdf")
@roles_required(ADMIN)
def certificate_pdf(certificate_id: int):
    cert = services.get_certificate(current_actor(), certificate_id)
    return _download(services.certificate_pdf(cert), services.pdf_filename(cert), "application/pdf")


@bp.get("/certificates/sessions")
@roles_required(ADMIN, regulator=True)
def sessions():
    return render_template("certificates/sessions.html",
                           rows=services.sessions_overview(current_actor(), _org_id()))


@bp.get("/certificates/sessions/<int:session_id>")
@roles_required(ADMIN, regulator=True)
def session_page(session_id: int):
    actor = current_actor()
    session = services.get_session(actor, session_id)
    return render_template("certificates/session.html", session=session,
                           certificates=services.session_certificates(actor, session_id),
                           issuable=services.issuable_enrolment_ids(session_id), form=IssueForm(),
                           can_act=actor.can_act_in(session.org_id, ADMIN))


@bp.post("/certificates/sessions/<int:session_id>/issue")
@roles_required(ADMIN)
def issue(session_id: int):
    form = IssueForm()
    if form.validate_on_submit():
        try:
            issued = services.issue_for_session(current_actor(), session_id,
                                                services.issuable_enrolment_ids(session_id))
        except DomainError as exc:
            return render_template("errors/error.html", status=exc.status, message=exc.message,
                                   problems=exc.problems), exc.status
        flash(gettext("%(count)d certificates were issued.", count=len(issued)), "success")
    return redirect(url_for("certificates.session_page", session_id=session_id))


@bp.get("/certificates/sessions/<int:session_id>/pdf")
@roles_required(ADMIN)
def session_pdf(session_id: int):
    session, data = services.session_pdf(current_actor(), session_id)
    return _download(data, secure_filename(f"certificates-{session.code}.pdf") or "certificates.pdf",
                     "application/pdf")


@bp.route("/certificates/branding", methods=["GET", "POST"])
@roles_required(ADMIN)
def branding():
    actor = current_actor()
    form = BrandingForm()
    errors = []
    if form.validate_on_submit():
        try:
            services.update_branding(
                actor, actor.org_id, logo=form.logo.data.read() if form.logo.data else None,
                seal=form.seal.data.read() if form.seal.data else None,
                remove_logo=form.remove_logo.data, remove_seal=form.remove_seal.data)
        except DomainError as exc:
            errors = apply_problems(form, exc)
        else:
            flash(gettext("The certificate images were saved."), "success")
            return redirect(url_for("certificates.branding"))
    org = services.get_organisation_for_branding(actor, actor.org_id)
    return render_template("certificates/branding.html", form=form, errors=errors, org=org)


@bp.get("/certificates/branding/<which>.png")
@roles_required(ADMIN)
def branding_image(which: str):
    stored = services.branding_image(current_actor(), current_actor().org_id, which)
    return _download(stored.data, f"{which}.png", stored.content_type, inline=True)


@bp.get("/certificates/branding/specimen.pdf")
@roles_required(ADMIN)
def specimen():
    return _download(services.specimen_pdf(current_actor(), current_actor().org_id),
                     "specimen.pdf", "application/pdf", inline=True)


# --- the candidate's own certificates -----------------------------------------------------------

@bp.get("/my/certificates")
@signed_in
def my_certificates():
    return render_template("certificates/mine.html",
                           certificates=services.my_certificates(current_actor()))


@bp.get("/my/certificates/<int:certificate_id>/pdf")
@signed_in
def my_certificate_pdf(certificate_id: int):
    cert, data = services.own_certificate_pdf(current_actor(), certificate_id)
    return _download(data, services.pdf_filename(cert), "application/pdf")


@bp.get("/my/certificates/<int:certificate_id>/badge")
@signed_in
def my_badge(certificate_id: int):
    cert, token = services.open_badge(current_actor(), certificate_id)
    return _download(token.encode("ascii"), f"{cert.number}.ob3.jwt", "application/vc+jwt")


# --- public verification -------------------------------------------------------------------------

_STATUS_CODES = {"valid": 200, "revoked": 200, "superseded": 200, "unknown": 404, "malformed": 400,
                 "bad_signature": 422, "no_match": 404}


@bp.get("/c/<number>")
@public
@limiter.limit(_verify_limit, exempt_when=rate_limits_off)
def verify(number: str):
    kid, signature = request.args.get("k"), request.args.get("s")
    outcome = services.verify(number, kid, signature)
    form = ConfirmIdForm(k=kid, s=signature)
    return render_template("certificates/verify.html", outcome=outcome, form=form,
                           answer=None), _STATUS_CODES[outcome.result]


@bp.post("/c/<number>/confirm-id")
@public
@limiter.limit(_confirm_limit, exempt_when=rate_limits_off)
def confirm_id(number: str):
    form = ConfirmIdForm()
    outcome = services.verify(number, form.k.data or None, form.s.data or None)
    answer = None
    if form.validate_on_submit() and outcome.found:
        answer = services.confirm_id_number(outcome.number, form.id_number.data)
    form.id_number.data = ""  # never echo the number back
    return render_template("certificates/verify.html", outcome=outcome, form=form,
                           answer=answer), _STATUS_CODES[outcome.result]


@bp.get("/verify")
@public
@limiter.limit(_verify_limit, exempt_when=rate_limits_off)
def lookup():
    form = LookupForm(request.args)
    outcome = None
    if request.args and form.validate():
        outcome = services.lookup(form.number.data, form.name.data)
    return render_template("certificates/lookup.html", form=form, outcome=outcome)


@bp.route("/verify/bulk", methods=["GET", "POST"])
@public
@limiter.limit(_bulk_limit, methods=["POST"], exempt_when=rate_limits_off)
def bulk_verify():
    form = BulkForm()
    results, errors = None, []
    if form.validate_on_submit():
        upload = form.file.data
        try:
            rows = bulk.parse_upload(upload.filename if upload else "", upload.read() if upload else b"")
        except DomainError as exc:
            errors = [exc.message]
        else:
            results = services.verify_rows(rows)
            if request.form.get("format") == "xlsx":
                return _download(services.bulk_workbook(results), "verification.xlsx",
                                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return render_template("certificates/bulk.html", form=form, results=results, errors=errors)


@bp.get("/api/v1/certificates/<number>")
@public
@limiter.limit(_verify_limit, exempt_when=rate_limits_off)
def api_certificate(number: str):
    outcome = services.verify(number, request.args.get("k"), request.args.get("s"))
    return jsonify(services.verification_json(outcome)), _STATUS_CODES[outcome.result]


@bp.get("/.well-known/jwks.json")
@public
@limiter.limit(_verify_limit, exempt_when=rate_limits_off)
def jwks():
    response = jsonify(keys.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/issuers/<code>")
@public
@limiter.limit(_verify_limit, exempt_when=rate_limits_off)
def issuer(code: str):
    response = jsonify(services.issuer_profile(code))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
