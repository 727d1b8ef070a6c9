from __future__ import annotations

from flask import (Blueprint, abort, current_app, flash, g, make_response, redirect, render_template,
                   request, session, url_for)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from ..core.auth import ADMIN, current_actor, public, regulator_required, roles_required, signed_in
from ..core.errors import DomainError, PermissionDenied
from ..core.forms import apply_problems
from ..core.nav import nav_item
from ..extensions import limiter, login_manager, rate_limits_off
from . import services
from .forms import (ROLE_LABELS, ChooseOrganisationForm, LanguageForm, LoginForm, OrganisationForm,
                    OwnPasswordForm, PasswordForm, PhotoForm, RegistrationForm, RolesForm, StaffUserForm)
from .idnumbers import ID_TYPES, mask_id_number, mask_phone

bp = Blueprint("accounts", __name__)

nav_item("accounts.members", _l("People"), order=80, hide_for_regulator=True, group="body")
nav_item("accounts.organisation_settings", _l("Organisation"), order=90, group="body")
nav_item("accounts.regulator_organisations", _l("Assessment bodies"), order=5)


# --- plumbing: who is signed in, and as whom they act ------------------------------------

@login_manager.user_loader
def _load_user(cookie_id: str):
    try:
        user_id, version = (int(part) for part in cookie_id.split(":"))
    except ValueError:
        return None
    user = services.load_user_for_session(user_id, version)
    if user is not None:
        g.user_locale = user.locale
    return user


def _actor_for_request():
    user = current_user if current_user.is_authenticated else None
    return services.build_actor(user, session.get("org_id"), request.remote_addr)


#: Session flag: the user signed in with a password someone else set and must choose their own.
#: Kept in the signed session cookie so the check costs no database query.
MUST_CHANGE_PASSWORD = "must_change_password"
_ALLOWED_BEFORE_OWN_PASSWORD = {"accounts.set_own_password", "accounts.logout", "accounts.set_language",
                                "static", "core.healthz", "core.readyz"}


@bp.before_app_request
def _require_own_password():
    if session.get(MUST_CHANGE_PASSWORD) and request.endpoint not in _ALLOWED_BEFORE_OWN_PASSWORD:
        if request.path.startswith("/api/") or request.is_json:
            raise PermissionDenied(gettext("Choose your own password first."))
        return redirect(url_for("accounts.set_own_password", next=request.full_path.rstrip("?")))
    return None


@bp.record_once
def _register_actor_loader(state):
    state.app.extensions["skillcert.actor_loader"] = _actor_for_request
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to continue.")


@bp.app_context_processor
def _current_org():
    actor = current_actor()
    if actor.org_id is None:
        return {"current_org_name": None}
    return {"current_org_name": services.get_organisation(actor.org_id).name}


@bp.app_template_filter()
def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


bp.add_app_template_filter(mask_id_number, "mask_id")
bp.add_app_template_filter(mask_phone, "mask_phone")


def _safe_next(target: str | None, default: str = "core.index") -> str:
    """Only local paths: never redirect to another site after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for(default)


# --- sign-in, sign-out, organisation, language ---------------------------------------------

def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], exempt_when=rate_limits_off)
def login():
    form = LoginForm(next=request.args.get("next", ""))
    errors = []
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.login.data, form.password.data, request.remote_addr)
        except DomainError as exc:
            errors = apply_problems(form, exc)
        else:
            lang = session.get("lang")
            session.clear()  # no session fixation across the sign-in
            session.permanent = True
            if user.locale or lang:
                session["lang"] = user.locale or lang
            login_user(user, remember=form.remember.data)
            org_id = services.default_organisation(user)
            if org_id is not None:
                session["org_id"] = org_id
            if user.must_change_password:
                session[MUST_CHANGE_PASSWORD] = True
                return redirect(url_for("accounts.set_own_password", next=form.next.data))
            if org_id is None and len({m.org_id for m in user.memberships if m.active}) > 1:
                return redirect(url_for("accounts.choose_organisation", next=form.next.data))
            return redirect(_safe_next(form.next.data))
    return render_template("accounts/login.html", form=form, errors=errors)


@bp.post("/logout")
@signed_in
def logout():
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(gettext("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/choose-organisation", methods=["GET", "POST"])
@signed_in
def choose_organisation():
    form = ChooseOrganisationForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        org = services.choose_organisation(current_user, int(form.org_id.data))
        session["org_id"] = org.id
        g.pop("actor", None)
        flash(gettext("You are now acting for %(name)s.", name=org.name), "info")
        return redirect(_safe_next(form.next.data))
    grouped = services.roles_by_organisation(current_user)
    return render_template("accounts/choose_organisation.html", form=form, grouped=grouped,
                           current_org_id=session.get("org_id"))


@bp.post("/language")
@public
def set_language():
    form = LanguageForm()
    if form.validate_on_submit():
        user = current_user if current_user.is_authenticated else None
        session["lang"] = services.set_locale(user, form.lang.data, current_app.config["LANGUAGES"])
        session.permanent = True
    return redirect(_safe_next(form.next.data))


# --- registration and the user's own account ---------------------------------------------------

@bp.route("/register", methods=["GET", "POST"])
@public
@limiter.limit("20 per hour", methods=["POST"], exempt_when=rate_limits_off)
def register():
    form = RegistrationForm(org_code=request.args.get("org", ""))
    form.org_code.choices = [("", _l("— later, when I apply —"))] + [
        (o.code, o.name) for o in services.open_organisations()]
    errors = []
    if form.validate_on_submit():
        photo = form.photo.data.read() if form.photo.data else None
        data = services.Registration(
            real_name=form.real_name.data, id_type=form.id_type.data, id_number=form.id_number.data,
            phone=form.phone.data, password=form.password.data, username=form.username.data,
            education=form.education.data, employer=form.employer.data,
            org_code=form.org_code.data or None)
        try:
            user = services.register_candidate(
                data, photo, photo_max_bytes=current_app.config["PHOTO_MAX_BYTES"],
                ip=request.remote_addr)
        except DomainError as exc:
            errors = apply_problems(form, exc)
        else:
            session.clear()
            session.permanent = True
            login_user(user)
            org_id = services.default_organisation(user)
            if org_id:
                session["org_id"] = org_id
            flash(gettext("Welcome, %(name)s. Your account is ready.", name=user.real_name), "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/register.html", form=form, errors=errors)


@bp.get("/account")
@signed_in
def account():
    return render_template("accounts/account.html", user=current_user,
                           grouped=services.roles_by_organisation(current_user),
                           password_form=PasswordForm(), photo_form=PhotoForm(),
                           id_types=ID_TYPES)


@bp.route("/account/set-password", methods=["GET", "POST"])
@signed_in
def set_own_password():
    """After signing in with an initial password (roster import): choose one's own."""
    form = OwnPasswordForm(next=request.args.get("next", ""))
    errors = []
    if form.validate_on_submit():
        try:
            user = services.set_own_password(current_actor(), form.new_password.data)
        except DomainError as exc:
            errors = apply_problems(form, exc)
        else:
            session.pop(MUST_CHANGE_PASSWORD, None)
            login_user(user)  # the new session version
            flash(gettext("Your password is set. Welcome, %(name)s.", name=user.real_name), "success")
            if len({m.org_id for m in user.memberships if m.active}) > 1:
                return redirect(url_for("accounts.choose_organisation", next=form.next.data))
            return redirect(_safe_next(form.next.data))
    return render_template("accounts/set_password.html", form=form, errors=errors)


@bp.post("/account/password")
@signed_in
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            user = services.change_password(current_actor(), form.current_password.data,
                                            form.new_password.data)
        except DomainError as exc:
            for message in apply_problems(form, exc):
                flash(message, "error")
        else:
            login_user(user)  # keep this session; the others end with the old version
            flash(gettext("Your password was changed; other devices are signed out."), "success")
            return redirect(url_for("accounts.account"))
    for field in form:
        for message in field.errors:
            flash(f"{field.label.text}: {message}", "error")
    return redirect(url_for("accounts.account"))


@bp.post("/account/photo")
@signed_in
def change_photo():
    form = PhotoForm()
    if form.validate_on_submit():
        try:
            services.update_photo(current_actor(), form.photo.data.read(),
                                  photo_max_bytes=current_app.config["PHOTO_MAX_BYTES"])
        except DomainError as exc:
            for message in apply_problems(form, exc):
                flash(message, "error")
            for message in form.photo.errors:
                flash(message, "error")
        else:
            flash(gettext("Your photo was updated."), "success")
    return redirect(url_for("accounts.account"))


@bp.get("/photos/<int:user_id>")
@signed_in
def photo(user_id: int):
    stored = services.photo_for(current_actor(), user_id)
    if request.if_none_match.contains(stored.sha256):
        return "", 304
    response = make_response(stored.data)
    response.headers["Content-Type"] = stored.content_type
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.set_etag(stored.sha256)
    return response


# --- the body's people and settings (admins) ---------------------------------------------------

@bp.get("/admin/people")
@roles_required(ADMIN, regulator=True)
def members():
    actor = current_actor()
    org_id = actor.org_id or request.args.get("org", type=int)
    if org_id is None:
        abort(404)
    role = request.args.get("role") or None
    return render_template("accounts/members.html", people=services.members(actor, org_id, role),
                           role=role, roles=ROLE_LABELS, org=services.get_organisation(org_id))


@bp.route("/admin/people/new", methods=["GET", "POST"])
@roles_required(ADMIN)
def new_member():
    form = StaffUserForm()
    errors = []
    if form.validate_on_submit():
        data = services.StaffAccount(real_name=form.real_name.data, username=form.username.data,
                                     password=form.password.data, roles=form.roles.data,
                                     phone=form.phone.data,
                                     qualification_level=form.qualification_level.data)
        try:
            user = services.create_staff_user(current_actor(), current_actor().org_id, data)
        except DomainError as exc:
            errors = apply_problems(form, exc)
        else:
            flash(gettext("%(name)s was added.", name=user.real_name), "success")
            return redirect(url_for("accounts.members"))
    return render_template("accounts/new_member.html", form=form, errors=errors)


@bp.route("/admin/people/<int:user_id>", methods=["GET", "POST"])
@roles_required(ADMIN)
def edit_member(user_id: int):
    actor = current_actor()
    user = services.get_user(user_id)
    current = [m.role for m in user.memberships if m.org_id == actor.org_id and m.active]
    if not any(m.org_id == actor.org_id for m in user.memberships):
        abort(404)
    form = RolesForm(roles=current)
    assessor = next((m for m in user.memberships if m.org_id == actor.org_id and m.role == "assessor"), None)
    if request.method == "GET" and assessor:
        form.qualification_level.data = assessor.qualification_level
    errors = []
    if form.validate_on_submit():
        try:
            services.set_roles(actor, actor.org_id, user.id, form.roles.data,
                               form.qualification_level.data)
        except DomainError as exc:
            errors = apply_problems(form, exc)
        else:
            flash(gettext("Roles saved."), "success")
            return redirect(url_for("accounts.members"))
    return render_template("accounts/edit_member.html", form=form, user=user, errors=errors)


@bp.route("/admin/organisation", methods=["GET", "POST"])
@roles_required(ADMIN, regulator=True)
def organisation_settings():
    actor = current_actor()
    org_id = actor.org_id or request.args.get("org", type=int)
    if org_id is None:
        abort(404)
    org = services.get_organisation(org_id)
    form = OrganisationForm(obj=org)
    errors = []
    if request.method == "POST" and form.validate_on_submit():
        data = services.OrganisationData(
            code=org.code, name=form.name.data, name_en=form.name_en.data or None, kind=form.kind.data,
            body_code=form.body_code.data, province_code=form.province_code.data,
            site_code=form.site_code.data, contact_phone=form.contact_phone.data or None,
            address=form.address.data or None, open_registration=form.open_registration.data)
        try:
            services.update_organisation(actor, org.id, data)
        except DomainError as exc:
            errors = apply_problems(form, exc)
        else:
            flash(gettext("Organisation saved."), "success")
            return redirect(url_for("accounts.organisation_settings"))
    return render_template("accounts/organisation.html", form=form, org=org, errors=errors,
                           read_only=not actor.can_act_in(org.id, ADMIN))


@bp.get("/regulator/organisations")
@regulator_required
def regulator_organisations():
    return render_template("accounts/regulator_organisations.html",
                           organisations=services.all_organisations())
