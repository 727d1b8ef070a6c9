"""Web plumbing shared by every domain: error pages, security headers, template helpers."""
from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask, flash, g, jsonify, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import format_datetime, get_locale, gettext, lazy_gettext
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .auth import current_actor, wants_json
from .errors import DomainError
from .nav import visible_nav

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

_HTTP_MESSAGES = {
    400: lazy_gettext("The request could not be understood."),
    404: lazy_gettext("This page does not exist, or you cannot see it."),
    405: lazy_gettext("This action is not available here."),
    413: lazy_gettext("The file is too large."),
    429: lazy_gettext("Too many attempts. Please wait a minute and try again."),
}


def _error_response(status: int, message: str, code: str, problems=None):
    if wants_json():
        body = {"error": code, "message": str(message)}
        if problems:
            body["problems"] = [p.as_dict() for p in problems]
        return jsonify(body), status
    return render_template("errors/error.html", status=status, message=message,
                           problems=problems or []), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        return _error_response(error.status, error.message, error.code, error.problems)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return _error_response(400, gettext(
            "This form has expired or did not come from this site. "
            "Reload the page and try again; nothing was saved."), "csrf")

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded):
        response, status = _error_response(429, _HTTP_MESSAGES[429], "rate_limited")
        response = app.make_response((response, status))
        response.headers["Retry-After"] = "60"
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        message = _HTTP_MESSAGES.get(status) or error.description or error.name
        return _error_response(status, str(message), error.name.lower().replace(" ", "_"))

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, HTTPException):  # pragma: no cover - handled above
            return http_error(error)
        if app.testing and not app.config.get("FRIENDLY_500_IN_TESTS"):
            raise error  # let the test show the traceback
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error_response(500, gettext(
            "Something went wrong on our side. Nothing you saved was lost; please try again."),
            "server_error")


def flash_error(exc: DomainError) -> None:
    """Show a refused action on the next page: its message, then each problem it names."""
    flash(exc.message, "error")
    for problem in exc.problems:
        flash(str(problem), "error")


class LeanSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions that a view can ask not to re-send.

    Flask re-signs and re-sends a permanent session's cookie on every response (to slide its
    expiry). The exam's autosave runs every few seconds per candidate and never changes the
    session: views that call ``keep_session_cookie()`` skip that work unless the session
    was modified (the exam page itself, loaded normally, keeps sliding the expiry).
    """

    def should_set_cookie(self, app: Flask, session) -> bool:
        if g.get("keep_session_cookie") and not session.modified:
            return False
        return super().should_set_cookie(app, session)


def keep_session_cookie() -> None:
    """This response need not re-send the session cookie (see ``LeanSessionInterface``)."""
    g.keep_session_cookie = True


def register_request_state(app: Flask) -> None:
    app.session_interface = LeanSessionInterface()

    @app.before_request
    def fresh_request_state():
        """Per-request values live on ``g``; a request inside an outer application context
        (tests, background jobs) would otherwise see the previous request's user."""
        for key in ("actor", "user_locale", "_login_user", "_flask_babel", "keep_session_cookie"):
            g.pop(key, None)


def register_security_headers(app: Flask) -> None:
    production = app.config["ENV_NAME"] == "production"

    @app.after_request
    def headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("X-Content-Type-Options", "nosniff")
        # Certificate links carry signatures: never send them to other sites.
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if production:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static" and "Cache-Control" not in h:
            h["Cache-Control"] = "no-store"
        return response


def localtime(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A UTC datetime shown in the display time zone (Asia/Shanghai by default)."""
    if value is None:
        return ""
    return format_datetime(value, fmt)


def join_local(items) -> str:
    """Join a list the way the current language writes lists (、 in Chinese)."""
    separator = "、" if get_locale().language == "zh" else ", "
    return separator.join(str(i) for i in items)


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["join_local"] = join_local

    @app.context_processor
    def inject():
        actor = current_actor()
        return {
            "actor": actor,
            "nav_items": visible_nav(actor),
            "languages": app.config["LANGUAGES"],
            "get_locale": get_locale,
            "url_endpoints": app.view_functions,
        }
