"""The exam page's light requests (autosave, status, signals) skip the user lookup.

Their declaration is ``roles_required(CANDIDATE)``, like any candidate route, and they
answer exactly as it does. The difference is the cost: once the exam page (a normal
request, with Flask-Login loading the user and the candidate role checked) has been
shown, it leaves a mark in the signed session cookie; requests carrying the mark for
the same user, password version and organisation are treated as that candidate
without loading the user or their memberships. The attempt itself is then checked in
the request's single statement (owner, device token, time).

Without the mark (another role, another user, a new sign-in), the full check runs.

These requests also skip two costs of every page: they are exempt from the CSRF token
check, because they must carry the attempt's device token in a custom header
(``X-Exam-Device``) — a header another site cannot make a browser send without a CORS
preflight, which this application never grants, so a forged cross-site request carries
no token and is refused by the attempt's own check; and they do not re-send the session
cookie (``exam.core.web.keep_session_cookie``).
"""
from __future__ import annotations

from functools import wraps
from typing import Callable

from flask import g, request, session

from ..core.auth import CANDIDATE, Actor, roles_required
from ..core.web import keep_session_cookie
from ..extensions import csrf

#: Session key of the mark: ``"<user id>:<session version>@<organisation id>"``.
MARK = "exam_candidate"


def _mark_value() -> str | None:
    user = session.get("_user_id")
    org_id = session.get("org_id")
    if not user or org_id is None:
        return None
    return f"{user}@{org_id}"


def remember_candidate() -> None:
    """Called by the exam page after the full check: later light requests skip the lookup."""
    value = _mark_value()
    if value is not None and session.get(MARK) != value:
        session[MARK] = value


def marked_candidate() -> Actor | None:
    """The candidate of a marked session, or None (then the full check decides)."""
    mark = session.get(MARK)
    if mark is None or mark != _mark_value():
        return None
    user_part = session["_user_id"].split(":", 1)[0]
    try:
        user_id = int(user_part)
    except ValueError:
        return None
    return Actor(user_id=user_id, org_id=session.get("org_id"), roles=frozenset({CANDIDATE}),
                 label=f"candidate #{user_id}", ip=request.remote_addr)


def candidate_light(view: Callable) -> Callable:
    """Declared as ``roles_required(CANDIDATE)``; marked sessions skip the user lookup."""
    checked = roles_required(CANDIDATE)(view)

    @wraps(view)
    def wrapped(*args, **kwargs):
        keep_session_cookie()
        actor = marked_candidate()
        if actor is None:
            return checked(*args, **kwargs)
        g.actor = actor
        return view(*args, **kwargs)

    wrapped.access_rule = checked.access_rule
    return csrf.exempt(wrapped)
