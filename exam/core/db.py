"""Database column types and mixins shared by every domain."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, TypeDecorator
from sqlalchemy.orm import Mapped, mapped_column

from .clock import now_utc


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime, always stored and returned in UTC.

    Naive datetimes are refused: they are the usual source of "the exam ended an
    hour early" bugs. SQLite has no timezone support, so values are stored there as
    naive UTC and made aware again on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use exam.core.clock.now_utc()")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class TimestampMixin:
    """``created_at`` and ``updated_at``, from the one clock."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now_utc, onupdate=now_utc, nullable=False
    )
