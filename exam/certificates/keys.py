"""Organisations' signing keys: private keys in files, public keys in ``SigningKey`` rows.

Private keys never enter the database: each is a PEM file ``<kid>.pem`` (mode 0600) in
``current_app.config["KEYS_DIR"]`` (mode 0700; ``SKILLCERT_KEYS_DIR``). With several
app servers, every server that issues certificates needs the same directory (a shared
volume, or the files deployed with the configuration). An organisation gets its first
key when it first needs one; rotating adds a new key and retires the old one, which
stays published so the certificates it signed keep verifying.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import Organisation
from ..core import audit
from ..core.auth import ADMIN, Actor, require_org
from ..core.clock import now_utc
from ..core.errors import Conflict
from ..extensions import db
from . import signing
from .models import SigningKey


def keys_dir() -> Path:
    return Path(current_app.config["KEYS_DIR"])


def _key_path(kid: str) -> Path:
    if not signing.KID_RE.fullmatch(kid):
        raise ValueError(f"bad key id {kid!r}")
    return keys_dir() / f"{kid}.pem"


def _write_private_key(kid: str, key: Ed25519PrivateKey) -> Path:
    directory = keys_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    path = _key_path(kid)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(signing.private_key_pem(key))
    return path


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    private_key: Ed25519PrivateKey


def load_private_key(kid: str) -> LoadedKey:
    """:raise Conflict: the key's file is not on this server."""
    try:
        data = _key_path(kid).read_bytes()
    except OSError:
        raise Conflict(gettext("The signing key %(kid)s is not available on this server; "
                               "certificates cannot be signed here.", kid=kid)) from None
    return LoadedKey(kid, signing.load_private_key_pem(data))


def active_key_row(org_id: int) -> SigningKey | None:
    return db.session.scalar(select(SigningKey).where(SigningKey.org_id == org_id,
                                                      SigningKey.status == "active"))


def _new_key_row(org_id: int) -> tuple[SigningKey, Path]:
    while True:
        private = signing.generate_private_key()
        kid = signing.key_id(private.public_key())
        if not _key_path(kid).exists() and db.session.scalar(
                select(SigningKey.id).where(SigningKey.kid == kid)) is None:
            break
    path = _write_private_key(kid, private)
    row = SigningKey(org_id=org_id, kid=kid, status="active",
                     public_key=signing.b64url_encode(signing.public_bytes(private.public_key())))
    db.session.add(row)
    return row, path


def ensure_active_key(actor: Actor, org_id: int) -> SigningKey:
    """The organisation's active key, created (and committed) when it has none yet.

    Call it before a transaction that signs: it may commit. Two first uses at once both
    make a key; the partial unique index keeps one and the other's file is removed.
    """
    row = active_key_row(org_id)
    if row is not None:
        return row
    row, path = _new_key_row(org_id)
    audit.record("signing_key.created", actor=actor, obj=row, data={"kid": row.kid})
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        path.unlink(missing_ok=True)
        row = active_key_row(org_id)
        if row is None:
            raise
    return row


def rotate_key(actor: Actor, org_id: int) -> SigningKey:
    """Retire the organisation's active key (it stays published) and make a new one."""
    require_org(actor, org_id, ADMIN)
    old = db.session.scalar(select(SigningKey).where(SigningKey.org_id == org_id,
                                                     SigningKey.status == "active")
                            .with_for_update())
    if old is not None:
        old.status = "retired"
        old.retired_at = now_utc()
        db.session.flush()
    row, path = _new_key_row(org_id)
    audit.record("signing_key.rotated", actor=actor, obj=row,
                 data={"kid": row.kid, "retired": old.kid if old else None})
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        path.unlink(missing_ok=True)
        raise
    return row


def published_keys() -> list[tuple[SigningKey, Organisation]]:
    """Every key of every organisation, current and retired, oldest first."""
    rows = db.session.execute(select(SigningKey, Organisation)
                              .join(Organisation, Organisation.id == SigningKey.org_id)
                              .order_by(SigningKey.id))
    return [(key, org) for key, org in rows]


def jwk_of(key: SigningKey, org: Organisation) -> dict:
    """The key as published: RFC 8037 members, plus the organisation's code and name."""
    return signing.jwk(key.public_key, key.kid, org=org.code, org_name=org.name,
                       status=key.status)


def jwks() -> dict:
    """The JWK Set of ``/.well-known/jwks.json``."""
    return {"keys": [jwk_of(key, org) for key, org in published_keys()]}


def public_key_for(kid: str) -> tuple[SigningKey, Organisation] | None:
    row = db.session.execute(select(SigningKey, Organisation)
                             .join(Organisation, Organisation.id == SigningKey.org_id)
                             .where(SigningKey.kid == kid)).first()
    return (row[0], row[1]) if row else None
