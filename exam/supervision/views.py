from flask import Blueprint, current_app, jsonify, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ..core.auth import ADMIN, PROCTOR, SUPERVISOR, current_actor, roles_required
from ..core.errors import ValidationFailed
from ..core.nav import nav_item
from ..delivery import autosave
from ..delivery import services as delivery
from . import board, services

bp = Blueprint("supervision", __name__)

nav_item("supervision.audit_log", _l("Audit trail"), order=95, group="body")


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


# --- the proctor's live board -------------------------------------------------------------

nav_item("supervision.rooms", _l("Live board"), order=31, group="exams")


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed(gettext("The request could not be read."), code="malformed")
    return body


@bp.get("/board")
@roles_required(PROCTOR, ADMIN, SUPERVISOR, regulator=True)
def rooms():
    return render_template("supervision/rooms.html", rooms=board.watched_rooms(current_actor()))


@bp.get("/board/rooms/<int:room_id>")
@roles_required(PROCTOR, ADMIN, SUPERVISOR, regulator=True)
def room_board(room_id: int):
    room = board.require_room(current_actor(), room_id)
    return render_template("supervision/board.html", room=room,
                           poll_ms=current_app.config.get("BOARD_POLL_SECONDS", 4) * 1000)


@bp.get("/api/supervision/rooms/<int:room_id>/board")
@roles_required(PROCTOR, ADMIN, SUPERVISOR, regulator=True)
def board_data(room_id: int):
    return jsonify(board.room_board(current_actor(), room_id, autosave.save_grace()))


@bp.get("/api/supervision/enrolments/<int:enrolment_id>/incidents")
@roles_required(PROCTOR, ADMIN, SUPERVISOR, regulator=True)
def incidents(enrolment_id: int):
    return jsonify(incidents=board.incidents_of(current_actor(), enrolment_id))


@bp.post("/api/supervision/enrolments/<int:enrolment_id>/incidents")
@roles_required(PROCTOR, ADMIN, SUPERVISOR)
def record_incident(enrolment_id: int):
    incident = services.record_note(current_actor(), enrolment_id, _json_body().get("note"))
    return jsonify(id=incident.id)


@bp.post("/api/supervision/attempts/<int:attempt_id>/extend")
@roles_required(PROCTOR, ADMIN)
def extend_attempt(attempt_id: int):
    body = _json_body()
    attempt = delivery.extend_attempt(current_actor(), attempt_id, body.get("minutes"),
                                      body.get("reason"))
    return jsonify(deadline_at=int(attempt.deadline_at.timestamp() * 1000))


@bp.post("/api/supervision/rooms/<int:room_id>/extend")
@roles_required(PROCTOR, ADMIN)
def extend_room(room_id: int):
    body = _json_body()
    return jsonify(extended=delivery.extend_room(current_actor(), room_id, body.get("minutes"),
                                                 body.get("reason")))


@bp.post("/api/supervision/attempts/<int:attempt_id>/end")
@roles_required(PROCTOR, ADMIN)
def end_attempt(attempt_id: int):
    attempt = delivery.end_attempt(current_actor(), attempt_id, _json_body().get("reason"))
    return jsonify(status=attempt.status)


@bp.post("/api/supervision/attempts/<int:attempt_id>/resume")
@roles_required(PROCTOR, ADMIN)
def allow_resume(attempt_id: int):
    attempt = delivery.allow_resume(current_actor(), attempt_id, _json_body().get("reason"))
    return jsonify(device_epoch=attempt.device_epoch)
