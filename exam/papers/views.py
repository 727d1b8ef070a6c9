"""Blueprint and practical-spec pages: for bank editors and administrators; the regulator reads."""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ..core.auth import ADMIN, BANK_EDITOR, current_actor, roles_required
from ..core.errors import DomainError, Problem
from ..core.forms import apply_problems
from ..core.nav import nav_item
from . import practical, services
from .assembly import ANY, TYPE_NAMES, SpecError, area_label
from .forms import (DIFFICULTY_LABELS, MODE_LABELS, STATUS_LABELS, TYPE_LABELS, BlueprintForm, NewPracticalForm,
                    PracticalForm, PracticalUploadForm, practical_content_from_form, practical_rows,
                    prepare_blueprint_form, spec_from_form)

bp = Blueprint("papers", __name__, url_prefix="/papers")

nav_item("papers.index", _l("Blueprints"), order=21, group="banks")

EDITORS = (ADMIN, BANK_EDITOR)
MAX_SPEC_FILE = 512 * 1024


@bp.app_context_processor
def _labels():
    return {"paper_mode_labels": MODE_LABELS, "blueprint_status_labels": STATUS_LABELS,
            "qtype_labels": TYPE_LABELS, "difficulty_labels": DIFFICULTY_LABELS}


# --- blueprints ------------------------------------------------------------------------------

@bp.get("/blueprints")
@roles_required(*EDITORS, regulator=True)
def index():
    return render_template("papers/index.html", banks=services.list_banks(current_actor()))


@bp.get("/banks/<int:bank_id>/blueprints")
@roles_required(*EDITORS, regulator=True)
def bank_blueprints(bank_id: int):
    bank, blueprints = services.list_blueprints(current_actor(), bank_id)
    return render_template("papers/bank_blueprints.html", bank=bank, blueprints=blueprints)


def _blueprint_form_page(bank, form, errors, blueprint=None):
    tree = services.bank_tree(bank.id)
    return render_template("papers/edit.html", bank=bank, form=form, errors=errors, blueprint=blueprint,
                           areas=tree.areas, weights=tree.weights,
                           rows=list(zip(tree.areas, form.shares.entries)))


def _save_blueprint(form, save):
    """Run ``save(data)`` with the form's data; returns (blueprint or None, general errors)."""
    try:
        spec = spec_from_form(form)
    except SpecError:
        return None, [gettext("Please correct the marked fields.")]
    data = services.BlueprintData(form.name.data, spec, form.mode.data, form.duration_minutes.data,
                                  form.pass_mark.data)
    try:
        return save(data), []
    except DomainError as exc:
        return None, apply_problems(form, exc)


@bp.route("/banks/<int:bank_id>/blueprints/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new_blueprint(bank_id: int):
    bank = services.get_bank(current_actor(), bank_id, write=True)
    form, errors = BlueprintForm(), []
    default = services.default_spec_for_bank(bank.id) if request.method == "GET" else None
    prepare_blueprint_form(form, services.bank_tree(bank.id).areas, default, {}, fill=request.method == "GET")
    if request.method == "GET":
        form.name.data = gettext("%(bank)s theory paper", bank=bank.name)
    if form.validate_on_submit():
        blueprint, errors = _save_blueprint(
            form, lambda data: services.create_blueprint(current_actor(), bank.id, data))
        if blueprint is not None:
            services.validate_blueprint(current_actor(), blueprint.id)
            flash(gettext("The blueprint was saved and checked against the bank."), "success")
            return redirect(url_for("papers.blueprint", blueprint_id=blueprint.id))
    return _blueprint_form_page(bank, form, errors)


@bp.route("/blueprints/<int:blueprint_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit_blueprint(blueprint_id: int):
    blueprint = services.get_editable_blueprint(current_actor(), blueprint_id)
    form, errors = BlueprintForm(obj=blueprint if request.method == "GET" else None), []
    spec = services.spec_of(blueprint)
    prepare_blueprint_form(form, services.bank_tree(blueprint.bank_id).areas, spec, {},
                           fill=request.method == "GET")
    if form.validate_on_submit():
        saved, errors = _save_blueprint(
            form, lambda data: services.update_blueprint(current_actor(), blueprint.id, data))
        if saved is not None:
            services.validate_blueprint(current_actor(), blueprint.id)
            flash(gettext("The blueprint was saved and checked against the bank."), "success")
            return redirect(url_for("papers.blueprint", blueprint_id=blueprint.id))
    bank = services.get_bank(current_actor(), blueprint.bank_id)
    return _blueprint_form_page(bank, form, errors, blueprint)


@bp.get("/blueprints/<int:blueprint_id>")
@roles_required(*EDITORS, regulator=True)
def blueprint(blueprint_id: int):
    overview = services.blueprint_overview(current_actor(), blueprint_id)
    return render_template("papers/blueprint.html", o=overview, area_label=area_label,
                           can_edit=current_actor().can_act_in(overview.blueprint.org_id, *EDITORS))


@bp.post("/blueprints/<int:blueprint_id>/validate")
@roles_required(*EDITORS)
def validate(blueprint_id: int):
    item = services.validate_blueprint(current_actor(), blueprint_id)
    if item.validation["ok"]:
        flash(gettext("The bank can satisfy this blueprint."), "success")
    else:
        flash(gettext("The bank cannot satisfy this blueprint yet: see the problems below."), "warning")
    return redirect(url_for("papers.blueprint", blueprint_id=blueprint_id))


@bp.post("/blueprints/<int:blueprint_id>/copy")
@roles_required(*EDITORS)
def copy(blueprint_id: int):
    item = services.copy_blueprint(current_actor(), blueprint_id)
    flash(gettext("This is a copy you can edit."), "success")
    return redirect(url_for("papers.edit_blueprint", blueprint_id=item.id))


@bp.get("/blueprints/<int:blueprint_id>/sample")
@roles_required(*EDITORS, regulator=True)
def sample(blueprint_id: int):
    result = services.sample_paper(current_actor(), blueprint_id, request.args.get("seed", type=int))
    return render_template("papers/sample.html", sample=result, ANY=ANY, type_names=TYPE_NAMES,
                           area_label=area_label)


# --- practical specifications ------------------------------------------------------------------------

@bp.get("/practical")
@roles_required(*EDITORS, regulator=True)
def practical_specs():
    return render_template("papers/practical_list.html", specs=services.list_practical_specs(current_actor()),
                           form=PracticalUploadForm(), summary=practical.summary, problems=[])


@bp.post("/practical/import")
@roles_required(*EDITORS)
def practical_import():
    form, actor, problems = PracticalUploadForm(), current_actor(), []
    upload = form.file.data
    data = upload.read(MAX_SPEC_FILE + 1) if upload else b""
    if not data or len(data) > MAX_SPEC_FILE:
        flash(gettext("Choose a specification file of at most 512 KB."), "error")
        return redirect(url_for("papers.practical_specs"))
    content, problems = services.load_practical_spec_yaml(data)
    if not problems:
        try:
            version = services.import_practical_spec(actor, actor.org_id, content.get("occupation"),
                                                     content.get("level"), content)
        except DomainError as exc:
            problems = exc.problems or [Problem(exc.message)]
        else:
            flash(gettext("Imported: version %(n)d.", n=version.version_no), "success")
            return redirect(url_for("papers.practical_spec", spec_id=version.spec_id))
    return render_template("papers/practical_list.html", specs=services.list_practical_specs(actor),
                           form=form, summary=practical.summary, problems=problems), 422


@bp.get("/practical/<int:spec_id>")
@roles_required(*EDITORS, regulator=True)
def practical_spec(spec_id: int):
    spec = services.get_practical_spec(current_actor(), spec_id)
    return _practical_page(spec, spec.current_version)


@bp.get("/practical/<int:spec_id>/versions/<int:version_no>")
@roles_required(*EDITORS, regulator=True)
def practical_version(spec_id: int, version_no: int):
    spec, version = services.get_practical_version(current_actor(), spec_id, version_no)
    return _practical_page(spec, version)


def _practical_page(spec, version):
    return render_template("papers/practical.html", spec=spec, version=version,
                           content=version.content if version else {"tasks": [], "choose": 0},
                           versions=services.practical_versions(spec), summary=practical.summary,
                           occupation=services.occupation_of(spec),
                           can_edit=current_actor().can_act_in(spec.org_id, *EDITORS))


@bp.get("/practical/<int:spec_id>/download")
@roles_required(*EDITORS, regulator=True)
def practical_download(spec_id: int):
    spec = services.get_practical_spec(current_actor(), spec_id)
    if spec.current_version is None:
        abort(404)
    occupation = services.occupation_of(spec)
    response = make_response(practical.dump_yaml(spec.current_version.content, occupation.code, spec.level))
    response.headers["Content-Type"] = "text/yaml; charset=utf-8"
    response.headers["Content-Disposition"] = f"attachment; filename={spec.level}.practical.yaml"
    return response


def _practical_editor(form, content, problems, spec=None, status=200):
    occupation = services.occupation_of(spec) if spec else None
    return render_template("papers/practical_edit.html", form=form, spec=spec, occupation=occupation,
                           tasks=practical_rows(content), problems=problems), status


@bp.route("/practical/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new_practical():
    actor, form = current_actor(), NewPracticalForm()
    form.occupation_code.choices = [(o.code, f"{o.code} {o.name}") for o in services.occupations()]
    if not form.validate_on_submit():
        return _practical_editor(form, {"tasks": [], "choose": 0}, [])
    content = practical_content_from_form(request.form, form.choose.data)
    try:
        version = services.create_practical_spec(actor, actor.org_id, form.occupation_code.data,
                                                 form.level.data, content)
    except DomainError as exc:
        return _practical_editor(form, content, exc.problems or [Problem(exc.message)], status=422)
    flash(gettext("Saved as version %(n)d.", n=version.version_no), "success")
    return redirect(url_for("papers.practical_spec", spec_id=version.spec_id))


@bp.route("/practical/<int:spec_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit_practical(spec_id: int):
    actor = current_actor()
    spec = services.get_practical_spec(actor, spec_id, write=True)
    current = spec.current_version.content if spec.current_version else {"tasks": [], "choose": 0}
    form = PracticalForm(data={"choose": current.get("choose", 0)} if request.method == "GET" else None)
    if not form.validate_on_submit():
        return _practical_editor(form, current, [], spec)
    content = practical_content_from_form(request.form, form.choose.data)
    try:
        version = services.save_practical_spec_version(actor, spec.id, content)
    except DomainError as exc:
        return _practical_editor(form, content, exc.problems or [Problem(exc.message)], spec, 422)
    flash(gettext("Saved as version %(n)d.", n=version.version_no), "success")
    return redirect(url_for("papers.practical_spec", spec_id=spec.id))
