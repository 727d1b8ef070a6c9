from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, Numeric, String,
                        Text, UniqueConstraint, event)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import now_utc
from ..core.db import TimestampMixin, UTCDateTime
from ..extensions import db


class Occupation(TimestampMixin, db.Model):
    """An occupation of the national classification (国家职业分类大典); shared by all bodies."""

    __tablename__ = "occupations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: National code, e.g. ``6-31-01-03`` (电工).
    code: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(200))
    #: Levels the standard offers, e.g. ``[5, 4, 3, 2, 1]``.
    levels: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    #: Work types or directions (工种/职业方向); empty when the occupation has none.
    work_types: Mapped[list] = mapped_column(JSON, nullable=False, default=list)

    def __repr__(self) -> str:
        return f"<Occupation {self.code} {self.name}>"


class Bank(TimestampMixin, db.Model):
    """A body's question bank for one occupation and level, with its element tree."""

    __tablename__ = "banks"
    __table_args__ = (UniqueConstraint("org_id", "occupation_id", "level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupations.id"), nullable=False)
    #: Skill level 5 (basic) … 1 (senior technician).
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)

    occupation: Mapped[Occupation] = relationship()
    elements: Mapped[list["AssessmentElement"]] = relationship(
        back_populates="bank", order_by="AssessmentElement.position")


class AssessmentElement(db.Model):
    """A node of the assessment-element table (鉴定要素细目表): an area (鉴定范围) with children,
    or an assessment point (鉴定点), a leaf with an importance."""

    __tablename__ = "assessment_elements"
    __table_args__ = (UniqueConstraint("bank_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), nullable=False, index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("assessment_elements.id"), index=True)
    #: Code from the standard, e.g. ``2.3.1``; unique within the bank.
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    #: ``X`` core (核心), ``Y`` general (一般), ``Z`` auxiliary (辅助): points only.
    importance: Mapped[str | None] = mapped_column(String(1))
    #: Share of the theory points in percent (比重表): areas only.
    weight: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    #: Order among siblings, and depth-first order within the bank.
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    depth: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: True for assessment points (leaves).
    is_point: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: Codes of the ancestor areas from the root (``["1", "1.2"]`` for ``1.2.3``), so paper
    #: assembly reads an item's areas in the same query as the item.
    path: Mapped[list] = mapped_column(JSON, nullable=False, default=list)

    bank: Mapped[Bank] = relationship(back_populates="elements")
    parent: Mapped["AssessmentElement | None"] = relationship(remote_side="AssessmentElement.id")


class Item(TimestampMixin, db.Model):
    """A question. Its content lives in immutable versions; ``current_version`` is what new
    papers use. Retired items are left out of new papers but stay for papers that used them."""

    __tablename__ = "items"
    __table_args__ = (Index("ix_items_bank_status", "bank_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), nullable=False)
    #: The assessment point this item tests.
    point_id: Mapped[int] = mapped_column(ForeignKey("assessment_elements.id"), nullable=False, index=True)
    #: ``active`` or ``retired``.
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("item_versions.id", use_alter=True, name="fk_items_current_version_id_item_versions"))
    #: Identifier from the source file or system (kept across re-imports and exports).
    external_id: Mapped[str | None] = mapped_column(String(100))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    bank: Mapped[Bank] = relationship()
    point: Mapped[AssessmentElement] = relationship()
    current_version: Mapped["ItemVersion | None"] = relationship(foreign_keys=[current_version_id],
                                                                post_update=True)
    versions: Mapped[list["ItemVersion"]] = relationship(
        foreign_keys="ItemVersion.item_id", back_populates="item", order_by="ItemVersion.version_no")


class ItemVersion(db.Model):
    """Immutable content of an item. Papers pin versions, so a result can always be re-derived.

    Columns follow ``exam.banks.interchange.ItemData`` and ``exam.banks.qtypes``."""

    __tablename__ = "item_versions"
    __table_args__ = (UniqueConstraint("item_id", "version_no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), nullable=False)
    version_no: Mapped[int] = mapped_column(Integer, nullable=False)
    #: A name in ``exam.banks.qtypes.REGISTRY``.
    type: Mapped[str] = mapped_column(String(20), nullable=False)
    stem: Mapped[str] = mapped_column(Text, nullable=False)
    stem_image_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))
    #: ``[{"key": "A", "text": "…", "pin_last": false}, …]`` for choice types, else ``[]``.
    options: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    #: The correct answer in original option keys (see ``interchange``); never sent to candidates.
    answer: Mapped[Any] = mapped_column(JSON)
    #: Default points (a blueprint may set others).
    points: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False)
    #: 1 (easiest) … 5.
    difficulty: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    explanation: Mapped[str | None] = mapped_column(Text)
    #: Type-specific settings, e.g. ``{"scoring": "partial"}``.
    config: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    #: SHA-256 of the normalised stem and options, to find duplicates.
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=now_utc)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    item: Mapped[Item] = relationship(foreign_keys=[item_id], back_populates="versions")


@event.listens_for(ItemVersion, "before_update")
def _versions_are_immutable(mapper, connection, target):
    raise RuntimeError("item versions are immutable: create a new version instead")


class BankUpload(db.Model):
    """A file uploaded for import, kept until the user confirms or discards the preview.

    The bytes live in the database (not on one server's disk) so that the confirming request
    may reach another app server. Rows expire after ``UPLOAD_TTL`` and are purged on the
    next upload.
    """

    __tablename__ = "bank_uploads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Random URL-safe token that names the upload in the preview's address.
    token: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    #: Chosen format name, or None to detect it from the name and content.
    format: Mapped[str | None] = mapped_column(String(20))
    #: What the user gave for files that do not carry occupation and level.
    occupation_code: Mapped[str | None] = mapped_column(String(20))
    level: Mapped[int | None] = mapped_column(Integer)
    skip_unsupported: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=now_utc)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
