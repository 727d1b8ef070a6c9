from __future__ import annotations

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import TimestampMixin, UTCDateTime
from ..extensions import db


class Organisation(TimestampMixin, db.Model):
    """An assessment body (评价机构) and its registered codes for certificate numbers."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Short code used on the command line and in URLs, e.g. ``DEMO``.
    code: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(200))
    #: Certificate number position 1: Y = employer (用人单位), S = social training and
    #: assessment organisation (社会培训评价组织).
    kind: Mapped[str] = mapped_column(String(1), nullable=False, default="Y")
    #: Positions 2–5: ministry-assigned body code 0001–9999, or 0000 when filed with the province.
    body_code: Mapped[str] = mapped_column(String(4), nullable=False, default="0000")
    #: Positions 6–7: province code (e.g. 11 Beijing, 44 Guangdong).
    province_code: Mapped[str] = mapped_column(String(2), nullable=False)
    #: Positions 8–13: site serial assigned by the province.
    site_code: Mapped[str] = mapped_column(String(6), nullable=False)
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(300))
    #: Candidates may register themselves with this body from the registration page.
    open_registration: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    logo_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))
    seal_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))

    memberships: Mapped[list["Membership"]] = relationship(back_populates="organisation")

    @property
    def certificate_prefix(self) -> str:
        """The first 13 characters of this body's certificate numbers."""
        return f"{self.kind}{self.body_code}{self.province_code}{self.site_code}"

    def __repr__(self) -> str:
        return f"<Organisation {self.code}>"


class User(UserMixin, TimestampMixin, db.Model):
    """A person. Roles are held per organisation through ``Membership``."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("id_type", "id_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: Mainland mobile number, 11 digits; a second way to sign in.
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    #: Real name (实名) as on the ID document; printed on certificates.
    real_name: Mapped[str] = mapped_column(String(100), nullable=False)
    #: One of ``exam.accounts.idnumbers.ID_TYPES``.
    id_type: Mapped[str | None] = mapped_column(String(32))
    id_number: Mapped[str | None] = mapped_column(String(40))
    birth_date: Mapped[date | None] = mapped_column(Date)
    #: Highest education, used by eligibility rules (``exam.accounts.idnumbers.EDUCATION_LEVELS``).
    education: Mapped[str | None] = mapped_column(String(32))
    employer: Mapped[str | None] = mapped_column(String(200))
    photo_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))
    #: Platform-level read-only role of the authority (人社部门).
    is_regulator: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_active_account: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    #: Preferred interface language (``zh`` or ``en``); None means the default.
    locale: Mapped[str | None] = mapped_column(String(8))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Bumped when the password changes, which signs out other sessions.
    session_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    #: The password was set by someone else (a roster import): the user must choose their own
    #: before doing anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    memberships: Mapped[list["Membership"]] = relationship(back_populates="user")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account

    def get_id(self) -> str:  # Flask-Login: a password change invalidates old cookies
        return f"{self.id}:{self.session_version}"

    @property
    def display_name(self) -> str:
        return self.real_name or self.username or self.phone or f"#{self.id}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username or self.phone}>"


class Membership(TimestampMixin, db.Model):
    """A user holds a role in an organisation (one row per role)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "org_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    #: One of ``exam.core.auth.ORG_ROLES``.
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    #: For assessors: their own skill level in the occupation they assess (1 highest … 5),
    #: checked against the level of the sessions they are assigned to.
    qualification_level: Mapped[int | None] = mapped_column(Integer)
    #: For assessors: ``senior`` (高级考评员) or ``regular``.
    qualification_grade: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(back_populates="memberships")
