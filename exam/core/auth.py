"""Authorization: who is acting, and who may use a route.

Two layers, as in the design:

* Route level: every view function carries one declaration made by one of the
  decorators below (``public``, ``signed_in``, ``roles_required``). A test walks the
  whole URL map and fails for a route without one.
* Object level: services receive an ``Actor`` and call ``require_org`` (or their own
  checks) on the object they touch. Another organisation's objects answer 404, so
  their existence is not revealed.

The request's actor is built by ``exam.accounts`` (it knows users and memberships)
and kept in ``flask.g.actor``; this module only reads it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import wraps
from typing import Callable, Iterable

from flask import current_app, g, redirect, request, url_for
from flask_babel import gettext

from .errors import DomainError, NotFound, PermissionDenied

#: Roles held per organisation (a Membership row each).
ADMIN = "admin"
BANK_EDITOR = "bank_editor"
PROCTOR = "proctor"
ASSESSOR = "assessor"
SUPERVISOR = "supervisor"
CANDIDATE = "candidate"
ORG_ROLES = (ADMIN, BANK_EDITOR, PROCTOR, ASSESSOR, SUPERVISOR, CANDIDATE)
#: The platform-level, read-only role of the human-resources authority (人社部门).
REGULATOR = "regulator"
#: Staff roles: everyone in an organisation except candidates.
STAFF_ROLES = (ADMIN, BANK_EDITOR, PROCTOR, ASSESSOR, SUPERVISOR)


@dataclass(frozen=True)
class Actor:
    """Who performs an operation: passed explicitly to every service."""

    user_id: int | None
    org_id: int | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    is_regulator: bool = False
    is_system: bool = False
    #: What the audit log shows for this actor (username, or "system: cli").
    label: str = ""
    ip: str | None = None

    @classmethod
    def system(cls, label: str = "system", org_id: int | None = None) -> "Actor":
        """The actor of command-line tasks and scheduled jobs: may do anything."""
        return cls(user_id=None, org_id=org_id, roles=frozenset(ORG_ROLES), is_system=True,
                   label=label)

    @classmethod
    def anonymous(cls, ip: str | None = None) -> "Actor":
        return cls(user_id=None, label="anonymous", ip=ip)

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None or self.is_system

    def has(self, *roles: str) -> bool:
        return self.is_system or bool(self.roles.intersection(roles))

    def can_act_in(self, org_id: int | None, *roles: str) -> bool:
        """May change things in organisation ``org_id`` holding one of ``roles``."""
        if self.is_system:
            return True
        return org_id is not None and self.org_id == org_id and self.has(*roles)

    def can_read(self, org_id: int | None, *roles: str) -> bool:
        """May read organisation ``org_id``'s data (the regulator reads everything)."""
        return self.is_regulator or self.can_act_in(org_id, *roles)


def require_org(actor: Actor, org_id: int | None, *roles: str, write: bool = True) -> None:
    """Object-level check for an object owned by organisation ``org_id``.

    :raise NotFound: the object belongs to an organisation the actor cannot see.
    :raise PermissionDenied: the actor sees the organisation but lacks the role.
    """
    if actor.is_system:
        return
    if not write and actor.is_regulator:
        return
    if org_id is None or actor.org_id != org_id:
        raise NotFound(gettext("Not found."))
    if roles and not actor.has(*roles):
        raise PermissionDenied(gettext("Your role does not allow this."))


def require_user(actor: Actor) -> int:
    """:raise PermissionDenied: when the actor is not a signed-in user. Returns the user id."""
    if actor.user_id is None:
        raise PermissionDenied(gettext("Please sign in first."))
    return actor.user_id


# --- route-level declarations ------------------------------------------------------

@dataclass(frozen=True)
class AccessRule:
    """What a route declares. ``kind`` is ``public``, ``signed_in``, ``roles`` or ``regulator``."""

    kind: str
    roles: frozenset[str] = frozenset()
    #: The regulator may use the route for reading (GET/HEAD only).
    regulator: bool = False

    def allows(self, actor: Actor, method: str) -> bool:
        if self.kind == "public":
            return True
        if not actor.is_authenticated:
            return False
        if self.kind == "signed_in":
            return True
        if self.kind == "regulator":
            return actor.is_regulator and method in ("GET", "HEAD")
        if actor.is_regulator and self.regulator and method in ("GET", "HEAD"):
            return True
        return actor.org_id is not None and actor.has(*self.roles)


def current_actor() -> Actor:
    """The actor of the current request (anonymous when nobody is signed in).

    Built on first use by the loader ``exam.accounts`` registers, so requests that
    never ask (static files, the exam autosave) cost no user lookup.
    """
    actor = g.get("actor")
    if actor is None:
        loader = current_app.extensions.get("skillcert.actor_loader")
        actor = loader() if loader else Actor.anonymous(ip=request.remote_addr)
        g.actor = actor
    return actor


def wants_json() -> bool:
    """API routes and fetch() calls get JSON errors; browsers get pages."""
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"


def _declare(rule: AccessRule) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            actor = current_actor()
            if not rule.allows(actor, request.method):
                if not actor.is_authenticated:
                    if wants_json():
                        raise Unauthenticated(gettext("Please sign in first."))
                    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
                if rule.kind == "roles" and actor.org_id is None and not actor.is_regulator:
                    if wants_json():
                        raise PermissionDenied(gettext("Choose the organisation to act in first."))
                    return redirect(url_for("accounts.choose_organisation",
                                            next=request.full_path.rstrip("?")))
                raise PermissionDenied(gettext("Your role does not allow this page."))
            return view(*args, **kwargs)

        wrapped.access_rule = rule  # read by the URL-map test and the navigation
        return wrapped

    return decorator


def public(view: Callable) -> Callable:
    """Anyone, signed in or not (login page, certificate verification)."""
    return _declare(AccessRule("public"))(view)


def signed_in(view: Callable) -> Callable:
    """Any signed-in user, whatever their memberships."""
    return _declare(AccessRule("signed_in"))(view)


def roles_required(*roles: str, regulator: bool = False) -> Callable:
    """Members of the acting organisation holding one of ``roles``.

    ``regulator=True`` also lets the platform regulator read (GET) the route.
    """
    unknown = set(roles) - set(ORG_ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return _declare(AccessRule("roles", frozenset(roles), regulator))


def regulator_required(view: Callable) -> Callable:
    """The platform regulator only, for reading."""
    return _declare(AccessRule("regulator"))(view)


def access_rule_of(view: Callable) -> AccessRule | None:
    return getattr(view, "access_rule", None)


def roles_of(rule: AccessRule) -> Iterable[str]:
    return sorted(rule.roles)
