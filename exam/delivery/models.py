"""Attempts at the timed theory exam and their responses.

The server's clock is the only clock: ``deadline_at`` is computed when the attempt
starts and moved only by audited proctor extensions. Responses are saved item by
item with the browser's sequence number, so an older change never overwrites a
newer one, and a save is acknowledged only after its commit.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import UTCDateTime
from ..extensions import db

#: ``in_progress`` until the candidate hands in (``submitted``), the deadline passes
#: (``expired``: finalised with the responses saved by then) or a proctor ends it (``ended``).
ATTEMPT_STATES = ("in_progress", "submitted", "expired", "ended")
CLOSED_STATES = ("submitted", "expired", "ended")


class Attempt(db.Model):
    """One candidate's sitting of the theory exam of a session (one per enrolment)."""

    __tablename__ = "attempts"
    __table_args__ = (Index("ix_attempts_status_deadline_at", "status", "deadline_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), nullable=False,
                                              unique=True)
    #: The candidate (the enrolment's user), kept here so that a save checks ownership
    #: in the same single-row statement that locks the attempt.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id"), nullable=False)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), nullable=False,
                                            index=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"), index=True)
    #: One of ``ATTEMPT_STATES``.
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="in_progress")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: Earlier of start + duration × multiplier + extra minutes and the session's hard end,
    #: plus any proctor extensions. Saves are accepted until this time plus a short grace.
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: Minutes added by proctors so far (already included in ``deadline_at``).
    extended_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: When the candidate handed in (None when the attempt expired or was ended).
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the attempt left ``in_progress``, whatever the way.
    finalised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: How it ended: ``candidate`` (handed in), ``timer`` (the page handed in at the deadline),
    #: ``server`` (finalised after the deadline without the page), ``proctor``.
    ended_by: Mapped[str | None] = mapped_column(String(16))
    #: The proctor's reason when a proctor ended the attempt.
    end_reason: Mapped[str | None] = mapped_column(String(500))
    #: SHA-256 (hex) of the random token of the device that may save; None when a proctor
    #: let the candidate resume elsewhere (the next device takes over without a warning).
    device_token_hash: Mapped[str | None] = mapped_column(String(64))
    #: Incremented each time a device takes the attempt over; the token starts with it.
    device_epoch: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    start_ip: Mapped[str | None] = mapped_column(String(45))
    last_save_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Highest sequence number any save has carried: a new device continues above it.
    max_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    item_count: Mapped[int] = mapped_column(Integer, nullable=False)
    #: Per position, what a response must look like: ``"single:4"``, ``"multiple:5"``,
    #: ``"true_false"``, ``"fill_blank:2"``, ``"short_answer"`` (type and option or blank
    #: count), so that saves validate answers without loading item versions.
    shape: Mapped[list] = mapped_column(JSON, nullable=False)

    @property
    def is_open(self) -> bool:
        return self.status == "in_progress"


class Response(db.Model):
    """The candidate's latest answer to one item of the paper (by position in ``Paper.items``).

    Answers use the display labels the candidate saw (``exam.banks.qtypes``)."""

    __tablename__ = "responses"

    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), primary_key=True)
    #: Index of the item in the paper's ``items`` list (0-based).
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    answer: Mapped[object | None] = mapped_column(JSON)
    #: Marked for review (标记) by the candidate.
    flagged: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: The question type's ``is_answered`` at save time (the live board counts these).
    answered: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: The browser's sequence number of this change; a save with a lower one is ignored.
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
