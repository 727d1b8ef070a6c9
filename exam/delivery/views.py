"""The timed theory exam: the candidate's exams, the page before the start, the exam page,
the confirmation after it, and the JSON the exam page talks to."""
from __future__ import annotations

from flask import (Blueprint, current_app, jsonify, make_response, redirect, render_template,
                   request, session, url_for)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ..core.auth import CANDIDATE, current_actor, roles_required
from ..core.errors import Conflict, ValidationFailed
from ..core.forms import apply_problems
from ..core.nav import nav_item
from ..extensions import limiter
from . import admission, autosave, services
from .access import candidate_light, remember_candidate
from .forms import StartForm

bp = Blueprint("delivery", __name__)

nav_item("delivery.my_exams", _l("My exams"), order=12, personal=True)

#: Header carrying the device token on the exam page's requests.
DEVICE_HEADER = "X-Exam-Device"
#: Session key handing a new attempt's device token to the exam page, once.
NEW_DEVICE = "exam_new_device"
#: Largest body the exam page sends (a batch of text answers).
MAX_SAVE_BYTES = 1024 * 1024


@bp.get("/exam")
@roles_required(CANDIDATE)
def my_exams():
    return render_template("delivery/my_exams.html", entries=services.my_exams(current_actor()))


@bp.route("/exam/enrolments/<int:enrolment_id>", methods=["GET", "POST"])
@roles_required(CANDIDATE)
def prestart(enrolment_id: int):
    actor = current_actor()
    form = StartForm()
    errors = []
    if form.validate_on_submit():
        with admission.start_slot() as admitted:
            if not admitted:
                return _busy(form)
            try:
                started = services.start_attempt(actor, enrolment_id, ip=request.remote_addr,
                                                 access_code=form.access_code.data,
                                                 pledge=form.pledge.data)
            except (ValidationFailed, Conflict) as exc:
                errors = apply_problems(form, exc)
            else:
                if started.device_token:
                    session[NEW_DEVICE] = [started.attempt.id, started.device_token]
                return redirect(url_for(".exam_page", attempt_id=started.attempt.id))
    info = services.prestart(actor, enrolment_id, request.remote_addr)
    errors = [e for e in errors if e not in info.problems]  # those are listed already
    return render_template("delivery/prestart.html", info=info, form=form, errors=errors)


@bp.get("/exam/attempts/<int:attempt_id>")
@roles_required(CANDIDATE)
def exam_page(attempt_id: int):
    attempt = services.own_attempt(current_actor(), attempt_id)
    if not attempt.is_open:
        return redirect(url_for(".done", attempt_id=attempt.id))
    with admission.start_slot() as admitted:
        if not admitted:
            return _busy()
        remember_candidate()
        handed = session.get(NEW_DEVICE)
        token = None
        if handed and handed[0] == attempt.id:
            token = handed[1]
            session.pop(NEW_DEVICE)
        page = services.exam_page(attempt, new_device_token=token)
        page["state"]["poll_ms"] = current_app.config.get("EXAM_STATUS_POLL_SECONDS", 30) * 1000
        return render_template("delivery/exam.html", page=page, attempt=attempt)


def _busy(form: StartForm | None = None):
    """Every start slot is busy: a small page that tries again by itself (``admission``)."""
    response = make_response(render_template("delivery/busy.html", form=form), 503)
    response.headers["Retry-After"] = "2"
    return response


@bp.get("/exam/attempts/<int:attempt_id>/done")
@roles_required(CANDIDATE)
def done(attempt_id: int):
    attempt = services.own_attempt(current_actor(), attempt_id)
    if attempt.is_open:
        return redirect(url_for(".exam_page", attempt_id=attempt.id))
    return render_template("delivery/done.html", summary=services.summary(attempt))


@bp.get("/exam/attempts/<int:attempt_id>/images/<int:position>")
@roles_required(CANDIDATE)
def stem_image(attempt_id: int, position: int):
    stored = services.stem_image(current_actor(), attempt_id, position)
    if request.if_none_match.contains(stored.sha256):
        return "", 304
    response = make_response(stored.data)
    response.headers["Content-Type"] = stored.content_type
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.set_etag(stored.sha256)
    return response


# --- JSON for the exam page ---------------------------------------------------------------

#: The exam page's frequent requests: no rate limit applies to them (a session starting at
#: the same minute must never be throttled), so the limiter is told to skip them at once.
LIGHT_ENDPOINTS = frozenset({"delivery.save", "delivery.status", "delivery.signals"})


@limiter.request_filter
def _not_rate_limited() -> bool:
    return request.endpoint in LIGHT_ENDPOINTS


def _json_body() -> dict:
    if request.content_length and request.content_length > MAX_SAVE_BYTES:
        raise ValidationFailed(gettext("Too much was sent at once."), code="too_large")
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@bp.post("/api/exam/attempts/<int:attempt_id>/save")
@candidate_light
def save(attempt_id: int):
    changes = _json_body().get("changes")
    return jsonify(autosave.save_responses(current_actor(), attempt_id,
                                           request.headers.get(DEVICE_HEADER), changes))


@bp.get("/api/exam/attempts/<int:attempt_id>/status")
@candidate_light
def status(attempt_id: int):
    return jsonify(autosave.attempt_status(current_actor(), attempt_id,
                                           request.headers.get(DEVICE_HEADER)))


@bp.post("/api/exam/attempts/<int:attempt_id>/signals")
@candidate_light
def signals(attempt_id: int):
    stored = autosave.record_signals(current_actor(), attempt_id, request.headers.get(DEVICE_HEADER),
                                     _json_body().get("events"))
    return jsonify(stored=stored)


@bp.post("/api/exam/attempts/<int:attempt_id>/device")
@roles_required(CANDIDATE)
def claim_device(attempt_id: int):
    body = _json_body()
    attempt, token = services.claim_device(current_actor(), attempt_id, ip=request.remote_addr,
                                           access_code=body.get("access_code"),
                                           confirm=body.get("confirm") is True)
    remember_candidate()
    return jsonify(token=token, epoch=attempt.device_epoch, **services.sync_state(attempt))


@bp.post("/api/exam/attempts/<int:attempt_id>/submit")
@roles_required(CANDIDATE)
def submit(attempt_id: int):
    body = _json_body()
    attempt = services.submit_attempt(current_actor(), attempt_id, request.headers.get(DEVICE_HEADER),
                                      body.get("changes"), at_deadline=body.get("at_deadline") is True)
    return jsonify(status=attempt.status, done_url=url_for(".done", attempt_id=attempt.id))
