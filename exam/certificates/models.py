"""Certificates, the organisations' signing keys and the serial counters of certificate numbers.

Certificates are never deleted and their numbers never reused: a certificate is
revoked (with a reason) or superseded by a reissue. The ORM refuses deletes and any
change to what a certificate says once issued; only its status fields move.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, event, inspect, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import now_utc
from ..core.db import UTCDateTime
from ..extensions import db

#: ``valid``; ``revoked`` (withdrawn, with a reason); ``superseded`` (replaced by a reissue).
CERTIFICATE_STATES = ("valid", "revoked", "superseded")
KEY_STATES = ("active", "retired")


class Certificate(db.Model):
    """A skill-level certificate (职业技能等级证书): a signed snapshot of who, what and when."""

    __tablename__ = "certificates"
    __table_args__ = (
        # One valid certificate per enrolment, even when two admins issue at the same moment.
        Index("uq_certificates_valid_enrolment", "enrolment_id", unique=True,
              sqlite_where=text("status = 'valid'"), postgresql_where=text("status = 'valid'")),
        Index("ix_certificates_org_status", "org_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    #: National 22-character number (``exam.certificates.numbers``); never reused.
    number: Mapped[str] = mapped_column(String(22), nullable=False, unique=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), nullable=False, index=True)
    #: The candidate; the fields below are what the certificate printed about them at issue.
    holder_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    holder_name: Mapped[str] = mapped_column(String(100), nullable=False)
    #: One of ``exam.accounts.idnumbers.ID_TYPES``.
    holder_id_type: Mapped[str] = mapped_column(String(32), nullable=False)
    holder_id_number: Mapped[str] = mapped_column(String(40), nullable=False)
    #: The photo as printed (a copy sized for print, kept even if the account's photo changes).
    holder_photo_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))
    #: The body's registered name at issue (the organisation may be renamed later).
    issuer_name: Mapped[str] = mapped_column(String(200), nullable=False)
    occupation_code: Mapped[str] = mapped_column(String(20), nullable=False)
    occupation_name: Mapped[str] = mapped_column(String(100), nullable=False)
    #: Work type or direction (工种/职业方向); "--" when the occupation has none.
    work_type: Mapped[str] = mapped_column(String(100), nullable=False, default="--")
    #: 1 (senior technician) … 5 (basic), position 16 of the number.
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    #: As printed, e.g. "四级/中级工" (``exam.banks.levels``).
    level_name: Mapped[str] = mapped_column(String(40), nullable=False)
    issued_on: Mapped[date] = mapped_column(Date, nullable=False)
    #: Key id of the signing key (``SigningKey.kid``).
    kid: Mapped[str] = mapped_column(String(16), nullable=False)
    #: Ed25519 signature of the canonical string (``exam.certificates.signing``), base64url.
    signature: Mapped[str] = mapped_column(String(100), nullable=False)
    #: One of ``CERTIFICATE_STATES``.
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="valid")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The certificate this one replaces (reissue), and the one that replaced this one.
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why it was reissued (e.g. a corrected name).
    superseded_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=now_utc)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    supersedes: Mapped["Certificate | None"] = relationship(
        foreign_keys=[supersedes_id], remote_side="Certificate.id")
    superseded_by: Mapped["Certificate | None"] = relationship(
        foreign_keys=[superseded_by_id], remote_side="Certificate.id")

    def __repr__(self) -> str:
        return f"<Certificate {self.number} {self.status}>"


#: What a certificate says; fixed at issue (its signature covers part of it).
IMMUTABLE_COLUMNS = (
    "org_id", "number", "enrolment_id", "holder_user_id", "holder_name", "holder_id_type",
    "holder_id_number", "holder_photo_file_id", "issuer_name", "occupation_code", "occupation_name",
    "work_type", "level", "level_name", "issued_on", "kid", "signature", "supersedes_id",
    "created_at", "created_by",
)


@event.listens_for(Certificate, "before_delete")
def _never_delete(mapper, connection, target):
    raise RuntimeError("certificates are never deleted: revoke or reissue instead")


@event.listens_for(Certificate, "before_update")
def _issued_facts_are_fixed(mapper, connection, target):
    state = inspect(target)
    changed = [name for name in IMMUTABLE_COLUMNS if state.attrs[name].history.has_changes()]
    if changed:
        raise RuntimeError(f"an issued certificate cannot change {', '.join(changed)}: reissue it")


class SigningKey(db.Model):
    """An organisation's Ed25519 public key. The private key is a file in ``KEYS_DIR``.

    Retired keys stay published: certificates they signed still verify.
    """

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    #: 8 characters of lower-case base32 of the SHA-256 of the public key; in every QR link.
    kid: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    #: Raw 32-byte public key, base64url (the JWK's ``x``).
    public_key: Mapped[str] = mapped_column(String(64), nullable=False)
    #: ``active`` (signs new certificates; one per organisation) or ``retired``.
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=now_utc)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("uq_signing_keys_active_org", "org_id", unique=True,
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
    )


@event.listens_for(SigningKey, "before_delete")
def _keys_stay_published(mapper, connection, target):
    raise RuntimeError("signing keys are never deleted: retire them (they stay published)")


class CertificateSerial(db.Model):
    """The last serial used per organisation, year and level (positions 17–22 of the number).

    Issuing increments it in the same transaction as the certificates, under the row's
    lock, so numbers are unique and gapless even when several admins issue at once.
    """

    __tablename__ = "certificate_serials"

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    #: Two-digit year of issue (positions 14–15).
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_serial: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
