"""Bank pages: the body's banks, browsing and searching a bank, items, the element tree,
coverage, uploads with a preview, the Excel template and exports."""
from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ..core.auth import ADMIN, BANK_EDITOR, current_actor, roles_required
from ..core.errors import DomainError
from ..core.forms import apply_problems
from ..core.nav import nav_item
from . import imports, presenting, services
from .formats import MAX_FILE_BYTES
from .forms import (ConfirmForm, ElementEditForm, ElementForm, ItemForm, NewBankForm, UploadForm, content,
                    fill)
from .qtypes import REGISTRY

bp = Blueprint("banks", __name__, url_prefix="/banks")

nav_item("banks.bank_list", _l("Question banks"), order=20, group="banks")
presenting.register(bp)

EDITORS = (ADMIN, BANK_EDITOR)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(data: bytes, filename: str, media_type: str):
    response = make_response(data)
    response.headers["Content-Type"] = media_type
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return response


@bp.get("")
@roles_required(*EDITORS, regulator=True)
def bank_list():
    actor = current_actor()
    org_id = request.args.get("org", type=int) if actor.is_regulator else actor.org_id
    return render_template("banks/list.html", banks=services.list_banks(actor, org_id), org_id=org_id,
                           minimum=services.MIN_ITEMS_PER_POINT)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new_bank():
    form, errors = NewBankForm(), []
    if form.validate_on_submit():
        data = services.NewBank(form.occupation_code.data, form.level.data, form.name.data,
                                form.occupation_name.data, form.occupation_name_en.data)
        try:
            bank = services.create_bank(current_actor(), current_actor().org_id, data)
        except DomainError as exc:
            errors = apply_problems(form, exc)
        else:
            flash(gettext("The bank was created. Add its element tree, then items."), "success")
            return redirect(url_for("banks.elements", bank_id=bank.id))
    return render_template("banks/new_bank.html", form=form, errors=errors, occupations=services.occupations())


@bp.get("/<int:bank_id>")
@roles_required(*EDITORS, regulator=True)
def bank(bank_id: int):
    actor = current_actor()
    bank = services.get_bank(actor, bank_id)
    filters = presenting.item_filter(request.args)
    result = services.search_items(actor, bank.id, filters, page=request.args.get("page", 1, type=int))
    return render_template("banks/bank.html", bank=bank, tree=services.tree(bank.id), result=result,
                           filters=filters, types=REGISTRY, formats=imports.exportable_formats(),
                           minimum=services.MIN_ITEMS_PER_POINT)


@bp.get("/<int:bank_id>/coverage")
@roles_required(*EDITORS, regulator=True)
def coverage(bank_id: int):
    return render_template("banks/coverage.html", coverage=services.coverage(current_actor(), bank_id),
                           minimum=services.MIN_ITEMS_PER_POINT, gap=services.WEIGHT_GAP, types=REGISTRY)


@bp.get("/<int:bank_id>/elements")
@roles_required(*EDITORS)
def elements(bank_id: int):
    bank = services.get_bank(current_actor(), bank_id, write=True)
    form = presenting.element_form(ElementForm(parent_id=request.args.get("parent", "")), bank.id)
    return render_template("banks/elements.html", bank=bank, tree=services.tree(bank.id), form=form)


@bp.post("/<int:bank_id>/elements")
@roles_required(*EDITORS)
def add_element(bank_id: int):
    form = presenting.element_form(ElementForm(), bank_id)
    if form.validate_on_submit():
        try:
            element = services.add_element(current_actor(), bank_id, presenting.element_input(form))
        except DomainError as exc:
            for message in [str(p) for p in exc.problems] or [exc.message]:
                flash(message, "error")
        else:
            flash(gettext("%(code)s %(name)s was added.", code=element.code, name=element.name), "success")
    presenting.flash_form_errors(form)
    return redirect(url_for("banks.elements", bank_id=bank_id))


@bp.post("/elements/<int:element_id>")
@roles_required(*EDITORS)
def update_element(element_id: int):
    form = ElementEditForm()
    element = services.get_element(current_actor(), element_id, write=True)
    if form.validate_on_submit():
        try:
            services.update_element(current_actor(), element_id, services.ElementInput(
                name=form.name.data, importance=form.importance.data or None, weight=form.weight.data))
        except DomainError as exc:
            for message in [str(p) for p in exc.problems] or [exc.message]:
                flash(message, "error")
        else:
            flash(gettext("%(code)s was saved.", code=element.code), "success")
    presenting.flash_form_errors(form)
    return redirect(url_for("banks.elements", bank_id=element.bank_id, _anchor=f"e{element_id}"))


@bp.route("/<int:bank_id>/items/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new_item(bank_id: int):
    bank = services.get_bank(current_actor(), bank_id, write=True)
    form = presenting.item_form(ItemForm(), bank.id)
    if request.method == "GET" and request.args.get("point", type=int):
        form.point_id.data = request.args.get("point", type=int)
    errors = []
    if form.validate_on_submit():
        try:
            item = services.create_item(current_actor(), bank.id, form.point_id.data, content(form))
        except DomainError as exc:
            errors = apply_problems(form, exc)
        else:
            flash(gettext("Item #%(id)d was added.", id=item.id), "success")
            return redirect(url_for("banks.item", item_id=item.id))
    return render_template("banks/item_form.html", form=form, bank=bank, item=None, errors=errors)


@bp.get("/items/<int:item_id>")
@roles_required(*EDITORS, regulator=True)
def item(item_id: int):
    actor = current_actor()
    item = services.get_item(actor, item_id)
    versions = services.versions(item)
    return render_template("banks/item.html", item=item, bank=item.bank, versions=versions,
                           authors=services.author_names(versions), areas=services.ancestors(item.point),
                           usage=services.item_usage(actor, item))


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit_item(item_id: int):
    item = services.get_item(current_actor(), item_id, write=True)
    form = presenting.item_form(ItemForm(), item.bank_id)
    if request.method == "GET":
        fill(form, services.content_of(item.current_version), item.point_id)
    errors = []
    if form.validate_on_submit():
        try:
            version = services.revise_item(current_actor(), item.id, form.point_id.data, content(form),
                                           keep_image=not form.remove_image.data)
        except DomainError as exc:
            errors = apply_problems(form, exc)
        else:
            flash(gettext("Saved as version %(n)d.", n=version.version_no) if version else
                  gettext("Nothing changed."), "success" if version else "info")
            return redirect(url_for("banks.item", item_id=item.id))
    return render_template("banks/item_form.html", form=form, bank=item.bank, item=item, errors=errors)


@bp.post("/items/<int:item_id>/retire")
@roles_required(*EDITORS)
def retire_item(item_id: int):
    services.retire_item(current_actor(), item_id)
    flash(gettext("The item is retired: new papers leave it out."), "success")
    return redirect(url_for("banks.item", item_id=item_id))


@bp.post("/items/<int:item_id>/reactivate")
@roles_required(*EDITORS)
def reactivate_item(item_id: int):
    try:
        services.reactivate_item(current_actor(), item_id)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(gettext("The item is active again."), "success")
    return redirect(url_for("banks.item", item_id=item_id))


@bp.get("/images/<int:version_id>")
@roles_required(*EDITORS, regulator=True)
def image(version_id: int):
    stored = services.stem_image(current_actor(), version_id)
    response = make_response(stored.data)
    response.headers["Content-Type"] = stored.content_type
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.set_etag(stored.sha256)
    return response


@bp.get("/template.xlsx")
@roles_required(*EDITORS)
def template():
    return _download(imports.template_for(current_actor(), None), "question-bank-template.xlsx", XLSX)


@bp.get("/<int:bank_id>/template.xlsx")
@roles_required(*EDITORS)
def bank_template(bank_id: int):
    bank = services.get_bank(current_actor(), bank_id, write=True)
    return _download(imports.template_for(current_actor(), bank.id),
                     f"{bank.occupation.code}-{bank.level}-template.xlsx", XLSX)


@bp.get("/<int:bank_id>/export/<format_name>")
@roles_required(*EDITORS)
def export(bank_id: int, format_name: str):
    services.get_bank(current_actor(), bank_id, write=True)
    exported = imports.export_bank(current_actor(), bank_id, format_name)
    return _download(exported.data, exported.filename, exported.media_type)


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*EDITORS)
def upload():
    actor = current_actor()
    form = presenting.upload_form(UploadForm(), request.args.get("bank", type=int), actor)
    errors = []
    if form.validate_on_submit():
        try:
            staged = imports.stage_upload(
                actor, actor.org_id, form.file.data.read(), form.file.data.filename or "", format_name=form.format.data,
                occupation_code=form.occupation_code.data, level=int(form.level.data) if form.level.data else None,
                skip_unsupported=form.skip_unsupported.data)
        except DomainError as exc:
            errors = apply_problems(form, exc)
        else:
            return redirect(url_for("banks.preview", token=staged.token))
    return render_template("banks/upload.html", form=form, errors=errors, occupations=services.occupations(),
                           formats=imports.available_formats(), max_mb=MAX_FILE_BYTES // (1024 * 1024))


@bp.get("/import/<token>")
@roles_required(*EDITORS)
def preview(token: str):
    upload, report = imports.preview_upload(current_actor(), token)
    return render_template("banks/preview.html", upload=upload, report=report,
                           form=ConfirmForm(skip_unsupported=upload.skip_unsupported))


@bp.post("/import/<token>")
@roles_required(*EDITORS)
def confirm(token: str):
    form = ConfirmForm()
    try:
        report = imports.confirm_upload(current_actor(), token, skip_unsupported=form.skip_unsupported.data)
    except imports.ImportRefused as exc:
        flash(exc.message, "error")
        return redirect(url_for("banks.preview", token=token))
    flash(gettext("Imported %(n)d items.", n=report.items_to_import), "success")
    return redirect(url_for("banks.bank", bank_id=report.bank_id))


@bp.post("/import/<token>/discard")
@roles_required(*EDITORS)
def discard(token: str):
    imports.discard_upload(current_actor(), token)
    flash(gettext("The upload was discarded; nothing was imported."), "info")
    return redirect(url_for("banks.upload"))

