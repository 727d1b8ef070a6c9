"""Accounts: registration, sign-in, organisations, memberships.

Every function takes plain data and an ``Actor``, checks permission, changes state,
records one audit event and commits once; problems are raised as domain errors.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..core import audit
from ..core.auth import ADMIN, CANDIDATE, ORG_ROLES, Actor, require_org, require_user
from ..core.clock import now_utc
from ..core.errors import Conflict, NotFound, PermissionDenied, Problem, ProblemList, ValidationFailed
from ..core.files import StoredFile, store_file
from ..extensions import db
from . import idnumbers, passwords
from .models import Membership, Organisation, User
from .photos import PhotoRejected, normalise_photo

_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{2,63}$")
_PROVINCE_CODES = {p for p in idnumbers._PROVINCE_PREFIXES if p not in {"71", "81", "82", "83"}}


# --- lookups -------------------------------------------------------------------------

def get_user(user_id: int) -> User:
    """:raise NotFound: no such user."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(gettext("No such user."))
    return user


def get_organisation_by_code(code: str) -> Organisation:
    """:raise NotFound: no organisation with this code."""
    org = db.session.scalar(select(Organisation).where(func.upper(Organisation.code) == code.upper()))
    if org is None:
        raise NotFound(gettext("No organisation with code %(code)s.", code=code))
    return org


def get_organisation(org_id: int) -> Organisation:
    org = db.session.get(Organisation, org_id)
    if org is None:
        raise NotFound(gettext("No such organisation."))
    return org


def find_user_by_login(login: str) -> User | None:
    """A user by username (any case) or phone number."""
    login = (login or "").strip()
    if not login:
        return None
    return db.session.scalar(select(User).where(
        or_(func.lower(User.username) == login.lower(), User.phone == login)))


def roles_by_organisation(user: User) -> dict[Organisation, set[str]]:
    """The user's active roles, grouped by organisation."""
    grouped: dict[Organisation, set[str]] = {}
    for m in user.memberships:
        if m.active:
            grouped.setdefault(m.organisation, set()).add(m.role)
    return grouped


def load_user_for_session(user_id: int, session_version: int) -> User | None:
    """The signed-in user, or None when the account is disabled or the password changed since."""
    user = db.session.scalar(select(User).where(User.id == user_id)
                             .options(selectinload(User.memberships)))
    if user is None or user.session_version != session_version or not user.is_active_account:
        return None
    return user


def build_actor(user: User | None, org_id: int | None, ip: str | None) -> Actor:
    """The actor for a request: the user's roles in the organisation they act in."""
    if user is None:
        return Actor.anonymous(ip=ip)
    roles = frozenset(m.role for m in user.memberships if m.active and m.org_id == org_id)
    return Actor(user_id=user.id, org_id=org_id if roles else None, roles=roles,
                 is_regulator=user.is_regulator, label=user.username or user.phone or str(user.id),
                 ip=ip)


def default_organisation(user: User) -> int | None:
    """The organisation to act in right after sign-in, when there is only one."""
    org_ids = {m.org_id for m in user.memberships if m.active}
    return org_ids.pop() if len(org_ids) == 1 else None


# --- sign-in -----------------------------------------------------------------------

def authenticate(login: str, password: str, ip: str | None = None) -> User:
    """Check a password; on success record the sign-in.

    :raise PermissionDenied: wrong login or password (the message does not say which).
    """
    user = find_user_by_login(login)
    if user is None or not passwords.verify_password(user.password_hash, password) \
            or not user.is_active_account:
        if user is None:
            passwords.verify_password(None, password)  # same time either way
        raise PermissionDenied(gettext("The phone number, username or password is not right."),
                               code="bad_credentials")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = now_utc()
    audit.record("account.signed_in", actor=build_actor(user, None, ip), obj=user)
    db.session.commit()
    return user


def choose_organisation(user: User, org_id: int) -> Organisation:
    """:raise PermissionDenied: the user holds no role in that organisation."""
    if not any(m.org_id == org_id and m.active for m in user.memberships):
        raise PermissionDenied(gettext("You are not a member of this organisation."))
    return get_organisation(org_id)


def set_locale(user: User | None, lang: str, languages: dict) -> str:
    """Remember the interface language on the account (the view keeps it in the session too)."""
    if lang not in languages:
        raise ValidationFailed(gettext("Unknown language."))
    if user is not None and user.locale != lang:
        user.locale = lang
        db.session.commit()  # a preference, not a state change worth an audit event
    return lang


# --- registration --------------------------------------------------------------------

@dataclass
class Registration:
    real_name: str
    id_type: str
    id_number: str
    phone: str
    password: str
    username: str | None = None
    education: str | None = None
    employer: str | None = None
    org_code: str | None = None


def _check_person(problems: ProblemList, *, real_name: str, id_type: str, id_number: str,
                  phone: str | None, today: date, exclude_user_id: int | None = None
                  ) -> tuple[str, date | None]:
    real_name = (real_name or "").strip()
    if not real_name or len(real_name) > 50:
        problems.add(gettext("Enter the name exactly as on the ID document."), "real_name")
    number, born = "", None
    try:
        number, born = idnumbers.validate_id_number(id_type, id_number, today)
    except idnumbers.InvalidIdNumber as exc:
        problems.add(str(exc), "id_number")
    if number:
        clash = db.session.scalar(select(User.id).where(User.id_type == id_type,
                                                        User.id_number == number))
        if clash is not None and clash != exclude_user_id:
            problems.add(gettext("An account with this ID number already exists; sign in instead."),
                         "id_number")
    if phone is not None:
        if not idnumbers.is_mobile_number(phone):
            problems.add(gettext("Enter an 11-digit mainland mobile number."), "phone")
        else:
            clash = db.session.scalar(select(User.id).where(User.phone == phone))
            if clash is not None and clash != exclude_user_id:
                problems.add(gettext("This phone number is already registered."), "phone")
    return number, born


def _check_username(problems: ProblemList, username: str | None) -> str | None:
    username = (username or "").strip() or None
    if username is None:
        return None
    if not _USERNAME.match(username):
        problems.add(gettext("A username starts with a letter and has 3–64 letters, digits, "
                             "'.', '_' or '-'."), "username")
    elif db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        problems.add(gettext("This username is taken."), "username")
    return username


def _store_photo(photo: bytes | None, max_bytes: int, problems: ProblemList) -> StoredFile | None:
    if not photo:
        return None
    try:
        stored = store_file(normalise_photo(photo, max_bytes), "image/jpeg")
        db.session.flush()
        return stored
    except PhotoRejected as exc:
        problems.add(str(exc), "photo")
        return None


def register_candidate(reg: Registration, photo: bytes | None, *, photo_max_bytes: int,
                       ip: str | None = None) -> User:
    """Create a candidate account with real-name details (实名注册).

    With ``org_code`` the candidate joins that body as a candidate (when it accepts
    registrations); otherwise they join when they first apply for a session.

    :raise ValidationFailed: every problem, each with the field it concerns.
    """
    problems = ProblemList()
    today = now_utc().date()
    phone = (reg.phone or "").strip()
    number, born = _check_person(problems, real_name=reg.real_name, id_type=reg.id_type,
                                 id_number=reg.id_number, phone=phone, today=today)
    username = _check_username(problems, reg.username)
    weak = passwords.password_problem(reg.password or "")
    if weak:
        problems.add(weak, "password")
    if reg.education and reg.education not in idnumbers.EDUCATION_LEVELS:
        problems.add(gettext("Unknown education level."), "education")
    org = None
    if reg.org_code:
        org = db.session.scalar(select(Organisation).where(Organisation.code == reg.org_code))
        if org is None or not org.open_registration:
            problems.add(gettext("This organisation does not accept registrations here."), "org_code")
    stored = _store_photo(photo, photo_max_bytes, problems)
    problems.raise_if_any(gettext("Please correct the marked fields."))

    user = User(real_name=reg.real_name.strip(), id_type=reg.id_type, id_number=number,
                birth_date=born, phone=phone, username=username,
                password_hash=passwords.hash_password(reg.password),
                education=reg.education or None, employer=(reg.employer or "").strip() or None,
                photo_file_id=stored.id if stored else None)
    db.session.add(user)
    db.session.flush()
    if org is not None:
        db.session.add(Membership(user_id=user.id, org_id=org.id, role=CANDIDATE))
    audit.record("account.registered", actor=build_actor(user, None, ip), obj=user,
                 org_id=org.id if org else None,
                 data={"id_type": reg.id_type, "org": org.code if org else None})
    db.session.commit()
    return user


def update_photo(actor: Actor, photo: bytes, *, photo_max_bytes: int) -> User:
    user = get_user(require_user(actor))
    problems = ProblemList()
    stored = _store_photo(photo, photo_max_bytes, problems)
    problems.raise_if_any(gettext("The photo was not accepted."))
    user.photo_file_id = stored.id
    audit.record("account.photo_changed", actor=actor, obj=user, data={"sha256": stored.sha256})
    db.session.commit()
    return user


def change_password(actor: Actor, current: str, new: str) -> User:
    """Change the actor's password; other signed-in sessions end."""
    user = get_user(require_user(actor))
    problems = ProblemList()
    if not passwords.verify_password(user.password_hash, current):
        problems.add(gettext("The current password is not right."), "current_password")
    weak = passwords.password_problem(new)
    if weak:
        problems.add(weak, "new_password")
    problems.raise_if_any(gettext("The password was not changed."))
    user.password_hash = passwords.hash_password(new)
    user.session_version += 1
    user.must_change_password = False
    audit.record("account.password_changed", actor=actor, obj=user)
    db.session.commit()
    return user


def set_own_password(actor: Actor, new: str) -> User:
    """Replace a password someone else set (roster import), right after signing in with it.

    :raise Conflict: the account's password is already the user's own (use change_password).
    """
    user = get_user(require_user(actor))
    if not user.must_change_password:
        raise Conflict(gettext("Your password is already your own; change it from your account page."))
    weak = passwords.password_problem(new)
    if weak:
        raise ValidationFailed(weak, problems=[Problem(weak, "new_password")])
    user.password_hash = passwords.hash_password(new)
    user.session_version += 1
    user.must_change_password = False
    audit.record("account.password_set", actor=actor, obj=user)
    db.session.commit()
    return user


def photo_for(actor: Actor, user_id: int) -> StoredFile:
    """A user's photo, for the user, and for staff of a body the user is a member of.

    :raise NotFound: no photo, or the actor may not see it.
    """
    user = get_user(user_id)
    allowed = actor.user_id == user.id or actor.is_regulator or actor.is_system or (
        actor.org_id is not None
        and actor.has("admin", "proctor", "supervisor", "assessor")
        and any(m.org_id == actor.org_id for m in user.memberships))
    if not allowed or user.photo_file_id is None:
        raise NotFound(gettext("No photo."))
    return db.session.get(StoredFile, user.photo_file_id)


# --- organisations and memberships ----------------------------------------------------

@dataclass
class OrganisationData:
    code: str
    name: str
    kind: str
    body_code: str
    province_code: str
    site_code: str
    name_en: str | None = None
    contact_phone: str | None = None
    address: str | None = None
    open_registration: bool = True


def _check_organisation(data: OrganisationData, exclude_id: int | None) -> None:
    problems = ProblemList()
    if not re.fullmatch(r"[A-Z0-9_-]{2,32}", data.code or ""):
        problems.add(gettext("Use 2–32 capital letters, digits, '-' or '_'."), "code")
    elif db.session.scalar(select(Organisation.id).where(Organisation.code == data.code,
                                                         Organisation.id != (exclude_id or 0))):
        problems.add(gettext("This code is taken."), "code")
    if not (data.name or "").strip():
        problems.add(gettext("Enter the registered name."), "name")
    if data.kind not in ("Y", "S"):
        problems.add(gettext("Y for an employer, S for a social training and assessment "
                             "organisation."), "kind")
    if not re.fullmatch(r"\d{4}", data.body_code or ""):
        problems.add(gettext("Four digits (0000 when filed with the province)."), "body_code")
    if data.province_code not in _PROVINCE_CODES:
        problems.add(gettext("A two-digit province code such as 11 or 44."), "province_code")
    if not re.fullmatch(r"\d{6}", data.site_code or ""):
        problems.add(gettext("Six digits, as assigned by the province."), "site_code")
    problems.raise_if_any(gettext("Please correct the marked fields."))


def create_organisation(actor: Actor, data: OrganisationData) -> Organisation:
    """Register a new assessment body (platform operators, from the command line)."""
    if not actor.is_system:
        raise PermissionDenied(gettext("Only the platform operator registers organisations."))
    _check_organisation(data, None)
    org = Organisation(**data.__dict__)
    db.session.add(org)
    db.session.flush()
    audit.record("organisation.created", actor=actor, obj=org, org_id=org.id, data=data.__dict__)
    db.session.commit()
    return org


def update_organisation(actor: Actor, org_id: int, data: OrganisationData) -> Organisation:
    org = get_organisation(org_id)
    require_org(actor, org.id, ADMIN)
    _check_organisation(data, org.id)
    before = {k: getattr(org, k) for k in data.__dict__}
    changes = {k: [before[k], v] for k, v in data.__dict__.items() if before[k] != v}
    for key, value in data.__dict__.items():
        setattr(org, key, value)
    audit.record("organisation.updated", actor=actor, obj=org, data={"changes": changes})
    db.session.commit()
    return org


def members(actor: Actor, org_id: int, role: str | None = None) -> list[tuple[User, list[str]]]:
    """Users with a role in the organisation and their roles (admins; the regulator reads)."""
    require_org(actor, org_id, ADMIN, write=False)
    stmt = (select(Membership).where(Membership.org_id == org_id, Membership.active.is_(True))
            .options(selectinload(Membership.user)))
    if role:
        stmt = stmt.where(Membership.role == role)
    grouped: dict[int, tuple[User, list[str]]] = {}
    for m in db.session.scalars(stmt):
        grouped.setdefault(m.user_id, (m.user, []))[1].append(m.role)
    return sorted(grouped.values(), key=lambda pair: pair[0].real_name)


@dataclass
class StaffAccount:
    real_name: str
    username: str
    password: str
    roles: list[str]
    phone: str | None = None
    qualification_level: int | None = None


def create_staff_user(actor: Actor, org_id: int, data: StaffAccount) -> User:
    """An admin adds a staff member (proctor, assessor, …) with their roles."""
    require_org(actor, org_id, ADMIN)
    problems = ProblemList()
    if not (data.real_name or "").strip():
        problems.add(gettext("Enter the person's name."), "real_name")
    username = _check_username(problems, data.username)
    if username is None:
        problems.add(gettext("Enter a username."), "username")
    phone = (data.phone or "").strip() or None
    if phone is not None:
        if not idnumbers.is_mobile_number(phone):
            problems.add(gettext("Enter an 11-digit mainland mobile number."), "phone")
        elif db.session.scalar(select(User.id).where(User.phone == phone)):
            problems.add(gettext("This phone number is already registered."), "phone")
    weak = passwords.password_problem(data.password or "")
    if weak:
        problems.add(weak, "password")
    bad_roles = [r for r in data.roles if r not in ORG_ROLES]
    if not data.roles or bad_roles:
        problems.add(gettext("Choose at least one role."), "roles")
    problems.raise_if_any(gettext("Please correct the marked fields."))
    user = User(real_name=data.real_name.strip(), username=username, phone=phone,
                password_hash=passwords.hash_password(data.password))
    db.session.add(user)
    db.session.flush()
    for role in sorted(set(data.roles)):
        db.session.add(Membership(user_id=user.id, org_id=org_id, role=role,
                                  qualification_level=data.qualification_level
                                  if role == "assessor" else None))
    audit.record("account.staff_created", actor=actor, obj=user, org_id=org_id,
                 data={"roles": sorted(set(data.roles))})
    db.session.commit()
    return user


def set_roles(actor: Actor, org_id: int, user_id: int, roles: list[str],
              qualification_level: int | None = None) -> User:
    """Replace a member's roles in the organisation (an empty list removes them)."""
    require_org(actor, org_id, ADMIN)
    user = get_user(user_id)
    if not any(m.org_id == org_id for m in user.memberships):
        raise NotFound(gettext("No such member."))
    roles = set(roles)
    if roles - set(ORG_ROLES):
        raise ValidationFailed(gettext("Unknown role."))
    if user.id == actor.user_id and ADMIN not in roles:
        raise Conflict(gettext("You cannot remove your own admin role."))
    current = {m.role: m for m in user.memberships if m.org_id == org_id}
    for role, m in current.items():
        m.active = role in roles
        if role == "assessor" and qualification_level is not None:
            m.qualification_level = qualification_level
    for role in roles - set(current):
        db.session.add(Membership(user_id=user.id, org_id=org_id, role=role,
                                  qualification_level=qualification_level
                                  if role == "assessor" else None))
    audit.record("account.roles_changed", actor=actor, obj=user, org_id=org_id,
                 data={"roles": sorted(roles)})
    db.session.commit()
    return user


def ensure_candidate_membership(user_id: int, org_id: int) -> Membership:
    """Make the user a candidate of the organisation (no commit: part of the caller's change)."""
    existing = db.session.scalar(select(Membership).where(
        Membership.user_id == user_id, Membership.org_id == org_id, Membership.role == CANDIDATE))
    if existing is not None:
        existing.active = True
        return existing
    membership = Membership(user_id=user_id, org_id=org_id, role=CANDIDATE)
    db.session.add(membership)
    return membership


def all_organisations() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).order_by(Organisation.name)))


def open_organisations() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).where(Organisation.open_registration)
                                   .order_by(Organisation.name)))
