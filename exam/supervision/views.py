from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l

from ..core.auth import ADMIN, SUPERVISOR, current_actor, roles_required
from ..core.nav import nav_item
from . import services

bp = Blueprint("supervision", __name__)

nav_item("supervision.audit_log", _l("Audit trail"), order=95)


@bp.get("/audit")
@roles_required(ADMIN, SUPERVISOR, regulator=True)
def audit_log():
    actor = current_actor()
    org_id = request.args.get("org", type=int) if actor.is_regulator else actor.org_id
    result = services.audit_trail(
        actor, org_id, action=request.args.get("action") or None,
        object_type=request.args.get("type") or None, object_id=request.args.get("id") or None,
        page=request.args.get("page", 1, type=int))
    return render_template("supervision/audit_log.html", result=result, org_id=org_id)
