from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (JSON, BigInteger, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint,
                        event, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import now_utc
from ..core.db import TimestampMixin, UTCDateTime
from ..extensions import db


class Blueprint(TimestampMixin, db.Model):
    """A theory paper plan (组卷方案) for one bank: sections by item type, how points spread over
    assessment areas, a difficulty mix, coverage of core points, duration and pass mark.

    ``spec`` holds the plan as data (see ``exam.papers.assembly.BlueprintSpec``). Once a
    session uses the blueprint it is locked: changes are made on a copy.
    """

    __tablename__ = "blueprints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    #: ``draft``, ``ready`` (validated against the bank), ``locked`` (used by a session), ``archived``.
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    #: ``random`` (one paper per candidate) or ``fixed_ab`` (A/B papers, shuffled per candidate).
    mode: Mapped[str] = mapped_column(String(16), nullable=False, default="random")
    duration_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=90)
    pass_mark: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False, default=Decimal("60"))
    #: The plan: sections, area shares, difficulty mix, X coverage (``assembly.BlueprintSpec``).
    spec: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    #: Result of the last validation against the bank: problems, checked_at.
    validation: Mapped[dict | None] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Paper(db.Model):
    """The paper one candidate sat (or an A/B master paper): pinned item versions, their order,
    points and option permutations. Rebuildable from the blueprint, the bank and ``seed``."""

    __tablename__ = "papers"
    __table_args__ = (
        UniqueConstraint("enrolment_id"),
        UniqueConstraint("session_id", "seq"),
        #: One A and one B master paper per session.
        Index("uq_papers_session_master_variant", "session_id", "variant", unique=True,
              sqlite_where=text("enrolment_id IS NULL"), postgresql_where=text("enrolment_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("blueprints.id"), nullable=False, index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), nullable=False, index=True)
    #: The candidate's enrolment; None for the A and B master papers of a ``fixed_ab`` session.
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id"))
    #: ``A`` or ``B`` for fixed papers (and for candidates' shuffles of them), else None.
    variant: Mapped[str | None] = mapped_column(String(1))
    seed: Mapped[int] = mapped_column(BigInteger, nullable=False)
    #: ``[{"v": item_version_id, "s": section index, "p": "0.50", "o": ["C", "A", "B", "D"]}, …]``
    #: in the order shown; ``o`` is the option order (original keys in display order).
    items: Mapped[list] = mapped_column(JSON, nullable=False)
    total_points: Mapped[Decimal] = mapped_column(Numeric(7, 2), nullable=False)
    #: The frozen item pool the paper was drawn from (``PaperPool``).
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("paper_pools.id"))
    #: Position in the session's assembly order (1, 2, …). A random-mode paper preferred the
    #: items least shown by the papers before it (the B master: by the A master), so ``seq``
    #: is what ``services.rebuild_paper`` needs besides the seed to re-derive it.
    seq: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=now_utc)

    blueprint: Mapped[Blueprint] = relationship()


class PaperPool(db.Model):
    """The item pool a session's papers are drawn from, frozen when its first paper is made.

    Later edits to the bank (new versions, retired items, a changed weight table) do not
    reach a session already under way, and every paper stays rebuildable from its seed.
    """

    __tablename__ = "paper_pools"
    __table_args__ = (UniqueConstraint("session_id", "blueprint_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), nullable=False, index=True)
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("blueprints.id"), nullable=False)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), nullable=False)
    #: ``assembly.PoolItem.to_row()`` of every active item's current version, by version id.
    items: Mapped[list] = mapped_column(JSON, nullable=False)
    #: The bank's weight table then: ``{area code: "percent"}``.
    weights: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    item_count: Mapped[int] = mapped_column(Integer, nullable=False)
    #: SHA-256 of ``items`` and ``weights`` (canonical JSON).
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=now_utc)


@event.listens_for(PaperPool, "before_update")
def _pools_are_immutable(mapper, connection, target):
    raise RuntimeError("paper pools are frozen")


@event.listens_for(Paper, "before_update")
def _papers_are_immutable(mapper, connection, target):
    raise RuntimeError("papers are immutable once assembled")


class PracticalSpec(TimestampMixin, db.Model):
    """The practical assessment (操作技能考核) of one occupation and level at one body."""

    __tablename__ = "practical_specs"
    __table_args__ = (UniqueConstraint("org_id", "occupation_id", "level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupations.id"), nullable=False)
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("practical_spec_versions.id", use_alter=True,
                   name="fk_practical_specs_current_version_id_practical_spec_versions"))

    current_version: Mapped["PracticalSpecVersion | None"] = relationship(
        foreign_keys=[current_version_id], post_update=True)


class PracticalSpecVersion(db.Model):
    """Immutable content of a practical spec: tasks (必考/选考) with weight and minutes, each with a
    scoring sheet (评分记录表) of items with maximum points, deduction criteria and veto (★) flags.

    ``content``: ``{"tasks": [{"code", "title", "required", "weight", "minutes",
    "sheet": [{"code", "description", "max_points", "criteria", "veto", "veto_rule"}]}], "choose": n}``
    (numbers as JSON numbers; ``veto_rule`` says which breach fails the practical, veto items
    only; checked by ``exam.papers.practical.validate_content``).
    """

    __tablename__ = "practical_spec_versions"
    __table_args__ = (UniqueConstraint("spec_id", "version_no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec_id: Mapped[int] = mapped_column(ForeignKey("practical_specs.id"), nullable=False)
    version_no: Mapped[int] = mapped_column(Integer, nullable=False)
    content: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=now_utc)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


@event.listens_for(PracticalSpecVersion, "before_update")
def _spec_versions_are_immutable(mapper, connection, target):
    raise RuntimeError("practical spec versions are immutable: create a new version instead")
