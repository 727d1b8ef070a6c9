"""Small binary files kept in the database (photos, logos, seals, item images).

They live in the database rather than on a local disk so that several app servers
behind a load balancer see the same files, and a backup of the database is a
backup of everything. Files are content-addressed: the same bytes are stored once.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, select
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .clock import now_utc
from .db import UTCDateTime


class StoredFile(db.Model):
    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Hex SHA-256 of ``data``; also used as the file's ETag.
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)


def store_file(data: bytes, content_type: str) -> StoredFile:
    """Add ``data`` to the session (or return the identical file already stored). No commit."""
    digest = hashlib.sha256(data).hexdigest()
    existing = db.session.scalar(select(StoredFile).where(StoredFile.sha256 == digest))
    if existing is not None:
        return existing
    stored = StoredFile(sha256=digest, content_type=content_type, size=len(data), data=data)
    db.session.add(stored)
    return stored
