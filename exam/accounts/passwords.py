"""Password hashing with Argon2id (argon2-cffi's current recommended parameters)."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
#: Hash of a random password: verifying against it when the user does not exist keeps
#: the response time the same, so sign-in does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password-3f9a1c")
MIN_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    from flask_babel import gettext

    if len(password) < MIN_LENGTH:
        return gettext("Use at least %(n)d characters.", n=MIN_LENGTH)
    if password.isdigit() or password.isalpha():
        return gettext("Mix letters with digits or symbols.")
    return None
