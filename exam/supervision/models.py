"""Incidents (违纪/异常) of an exam: what the candidate's browser reported, what proctors noted,
and what the system did (device takeovers, extensions, ended attempts)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import UTCDateTime
from ..extensions import db

#: Kinds the candidate's exam page reports.
BROWSER_KINDS = ("focus_lost", "tab_hidden", "copy", "paste", "fullscreen_exit")
#: Kinds recorded by proctors' actions and by the system.
PROCTOR_KINDS = ("proctor_note", "time_extended", "attempt_ended", "resume_allowed")
SYSTEM_KINDS = ("device_takeover",)
INCIDENT_KINDS = BROWSER_KINDS + PROCTOR_KINDS + SYSTEM_KINDS
SOURCES = ("browser", "proctor", "system")


class Incident(db.Model):
    """Something that happened to one candidate during an exam session."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), nullable=False,
                                            index=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), nullable=False,
                                              index=True)
    #: None for incidents before the candidate started (e.g. a proctor's note on arrival).
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"), index=True)
    #: One of ``INCIDENT_KINDS``.
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    #: ``browser`` (the exam page reported it), ``proctor`` or ``system``.
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    #: When it happened by the server's clock (for browser reports: the time of the report
    #: minus how long ago the page saw it, never the device's own clock).
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: The proctor who recorded it (None for browser and system incidents).
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Kind-specific facts: the proctor's note or reason, minutes added, device epoch…
    details: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
