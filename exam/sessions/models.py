from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (JSON, Boolean, ForeignKey, Integer, LargeBinary, Numeric, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Organisation, User
from ..banks.models import Occupation
from ..core.clock import now_utc
from ..core.db import TimestampMixin, UTCDateTime
from ..extensions import db

#: Session states, in order (考试批次): every change is audited.
SESSION_STATES = ("draft", "published", "closed", "in_progress", "finished", "results_published")
COMPONENTS = ("theory", "practical", "review")
#: Enrolment states: ``applied`` → ``approved`` or ``rejected``; ``withdrawn`` by the candidate.
ENROLMENT_STATES = ("applied", "approved", "rejected", "withdrawn")
#: Staff roles within a session (``SessionStaff.role``).
STAFF_ROLES = ("proctor", "assessor", "chief_assessor", "panelist", "supervisor")
#: Relationships an assessor declares with a candidate (回避).
RELATION_KINDS = ("relative", "colleague", "trainer", "employer")


class ExamSession(TimestampMixin, db.Model):
    """An exam session (考试批次/场次) for one occupation and level."""

    __tablename__ = "exam_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupations.id"), nullable=False)
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    #: Work type or direction (工种/职业方向), when the occupation has them.
    work_type: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    #: Batch number shown on tickets and reports, e.g. ``DEMO-2026-03-01``; unique per body.
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    #: One of ``SESSION_STATES``.
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="draft")
    #: Components this session assesses: a subset of ``COMPONENTS``.
    components: Mapped[list] = mapped_column(JSON, nullable=False, default=lambda: ["theory", "practical"])

    blueprint_id: Mapped[int | None] = mapped_column(ForeignKey("blueprints.id"))
    practical_spec_version_id: Mapped[int | None] = mapped_column(ForeignKey("practical_spec_versions.id"))

    enrolment_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrolment_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Theory exam: the window opens at ``theory_start_at``; candidates may start until
    #: ``theory_start_at + late_entry_minutes``; each attempt's deadline is the earlier of its
    #: start + duration (+ accommodation) and ``theory_hard_end_at`` when set.
    theory_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    theory_duration_minutes: Mapped[int | None] = mapped_column(Integer)
    theory_hard_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    late_entry_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=15)
    #: No hand-in before this many minutes after the attempt started.
    earliest_handin_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=30)
    #: Candidates must be checked in by a proctor before they can start.
    requires_checkin: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    practical_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    practical_place: Mapped[str | None] = mapped_column(String(300))
    review_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_place: Mapped[str | None] = mapped_column(String(300))
    #: Pass marks per component (each scored out of 100).
    theory_pass_mark: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False, default=Decimal("60"))
    practical_pass_mark: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False, default=Decimal("60"))
    review_pass_mark: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False, default=Decimal("60"))
    notes: Mapped[str | None] = mapped_column(Text)

    rooms: Mapped[list["Room"]] = relationship(back_populates="session", order_by="Room.id")
    staff: Mapped[list["SessionStaff"]] = relationship(order_by="SessionStaff.id", viewonly=True)
    occupation: Mapped[Occupation] = relationship()
    organisation: Mapped[Organisation] = relationship()

    __table_args__ = (UniqueConstraint("org_id", "code"),)

    def has(self, component: str) -> bool:
        return component in (self.components or ())


class Room(db.Model):
    """A theory exam room (考场)."""

    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    location: Mapped[str | None] = mapped_column(String(300))
    capacity: Mapped[int] = mapped_column(Integer, nullable=False)
    #: Networks candidates may start from, one CIDR per line (empty: anywhere).
    ip_allowlist: Mapped[str | None] = mapped_column(Text)
    #: Code the proctor announces in the room; asked before starting when set.
    access_code: Mapped[str | None] = mapped_column(String(32))

    session: Mapped[ExamSession] = relationship(back_populates="rooms")


class SessionStaff(db.Model):
    """A staff member assigned to a session: proctor (per room), assessor (per practical group),
    chief assessor (arbitrates), supervisor."""

    __tablename__ = "session_staff"
    __table_args__ = (UniqueConstraint("session_id", "user_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    #: ``proctor``, ``assessor``, ``chief_assessor``, ``panelist`` (综合评审) or ``supervisor``.
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))
    #: Practical assessor group (考评小组) number.
    group_no: Mapped[int | None] = mapped_column(Integer)

    user: Mapped[User] = relationship()


class AssessorRelation(TimestampMixin, db.Model):
    """A relationship an assessor declared with a candidate (回避): they never examine them."""

    __tablename__ = "assessor_relations"
    __table_args__ = (UniqueConstraint("org_id", "assessor_id", "candidate_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    assessor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    #: ``relative``, ``colleague``, ``trainer`` or ``employer``.
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    note: Mapped[str | None] = mapped_column(String(300))

    candidate: Mapped[User] = relationship(foreign_keys=[candidate_id])


class EligibilityPolicy(TimestampMixin, db.Model):
    """Eligibility rules (申报条件) of a body for one level, optionally one occupation: data, not code.

    ``rules``: a list of alternatives (any one suffices), each a list of conditions that must
    all hold, e.g. ``[[{"prior_level": 5}, {"years": 4}], [{"years": 6}]]``.
    """

    __tablename__ = "eligibility_policies"
    __table_args__ = (UniqueConstraint("org_id", "occupation_id", "level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    #: None: the body's rule for every occupation at this level.
    occupation_id: Mapped[int | None] = mapped_column(ForeignKey("occupations.id"))
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    rules: Mapped[list] = mapped_column(JSON, nullable=False)


class Enrolment(TimestampMixin, db.Model):
    """A candidate's application (报名) for a session, and everything about their seat in it."""

    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    #: ``applied``, ``approved``, ``rejected`` or ``withdrawn``.
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="applied")
    #: ``online`` (the candidate applied) or ``roster`` (imported by an admin).
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="online")
    #: What the candidate declared: prior certificate number and level, years in the
    #: occupation, education, apprenticeship…
    evidence: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    #: The eligibility evaluation when decided: which rule was met or not, and why.
    eligibility: Mapped[dict | None] = mapped_column(JSON)
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Components this candidate sits (a resit may be one component only).
    components: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"), index=True)
    seat_no: Mapped[int | None] = mapped_column(Integer)
    #: Admission ticket number (准考证号), unique across the platform.
    ticket_no: Mapped[str | None] = mapped_column(String(32), unique=True)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Practical assessor group (考评小组).
    practical_group: Mapped[int | None] = mapped_column(Integer)
    #: Accommodations: extra minutes, or a multiplier of the duration, with the reason.
    extra_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    time_multiplier: Mapped[Decimal] = mapped_column(Numeric(4, 2), nullable=False, default=Decimal("1"))
    accommodation_reason: Mapped[str | None] = mapped_column(String(300))

    session: Mapped[ExamSession] = relationship()
    room: Mapped[Room | None] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class RosterUpload(db.Model):
    """A roster workbook uploaded for import, kept between the preview and the confirmation.

    The bytes live in the database so that the confirming request may reach another app
    server; the row is deleted when the import is confirmed, and uploads older than a day
    are purged on the next upload (a roster holds personal data: it is not kept longer).
    """

    __tablename__ = "roster_uploads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Random URL-safe token naming the upload in the confirmation form.
    token: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), nullable=False, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=now_utc)
