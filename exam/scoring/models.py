"""Scores and results: theory scores item by item, manual marks of short answers, practical and
review score sheets, their reconciliation and arbitration, results, publication and appeals.

Amounts are ``Numeric(…, 2)`` columns; JSON holds amounts as text (``"12.50"``).
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (JSON, Boolean, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.clock import now_utc
from ..core.db import TimestampMixin, UTCDateTime
from ..extensions import db

#: ``ScoreSheet.component`` values.
SHEET_COMPONENTS = ("practical", "review")
#: ``ScoreSheet.task_code`` of the comprehensive review's one sheet.
REVIEW_TASK = "REVIEW"


class ScoringSettings(TimestampMixin, db.Model):
    """How a session is scored, when it differs from the defaults."""

    __tablename__ = "scoring_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), nullable=False, unique=True)
    #: Short answers are marked by two markers. None: the blueprint's ``marking.double``, else no.
    double_marking: Mapped[bool | None] = mapped_column(Boolean)
    #: Largest difference of two marks (points) that is averaged; beyond it a third mark or the
    #: chief decides. None: the blueprint's ``marking.tolerance``, else 1 point.
    marking_tolerance: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    #: Practical reconciliation: ``mean`` or ``trimmed_mean`` (drop highest and lowest, 5+ assessors).
    practical_rule: Mapped[str] = mapped_column(String(16), nullable=False, default="mean")
    #: Highest − lowest assessor total (out of 100) above which the chief arbitrates.
    spread_threshold: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False, default=Decimal("10"))
    #: The review sheet: points of the file review (申报材料评审); the defence (答辩) has the rest of 100.
    review_file_points: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False, default=Decimal("40"))
    #: Days after publication during which a failed component may be resat alone.
    resit_days: Mapped[int] = mapped_column(Integer, nullable=False, default=365)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class TheoryScore(db.Model):
    """The automatic score of one finalised attempt, item by item, so that any score can be
    explained and recomputed (``flask exam rescore``)."""

    __tablename__ = "theory_scores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), nullable=False, index=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), nullable=False, unique=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), nullable=False, unique=True)
    #: Anonymous name of the script for markers (阅卷密号): never the candidate's name or ticket.
    marking_code: Mapped[str] = mapped_column(String(12), nullable=False, unique=True)
    #: Points earned on the paper (before scaling) and the paper's total.
    raw_points: Mapped[Decimal] = mapped_column(Numeric(7, 2), nullable=False)
    max_points: Mapped[Decimal] = mapped_column(Numeric(7, 2), nullable=False)
    #: Out of 100: ``raw_points`` scaled when the paper's total is not 100.
    score: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False)
    #: Per position: ``{"pos", "v" (version id), "t" (type), "max", "points" (None while a
    #: short answer waits for its marks), "correct", "manual"}``.
    items: Mapped[list] = mapped_column(JSON, nullable=False)
    #: Answered short answers whose marks are not settled yet.
    pending_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=now_utc)

    @property
    def complete(self) -> bool:
        return self.pending_count == 0

    @property
    def scaled(self) -> bool:
        return self.max_points != Decimal("100")


class ManualMark(db.Model):
    """One marker's mark of one short answer (anonymous marking: by marking code)."""

    __tablename__ = "manual_marks"
    __table_args__ = (UniqueConstraint("attempt_id", "position", "marker_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), nullable=False, index=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), nullable=False, index=True)
    #: Position of the item in the paper.
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    marker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    #: 1, 2, 3 in the order marks were given; ``chief`` marks decide (``is_chief``).
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    is_chief: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    points: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False)
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=now_utc)


class ScoreSheet(TimestampMixin, db.Model):
    """One assessor's scoring sheet (评分记录表) of one candidate's practical task, or one panelist's
    review sheet. Private to its assessor until every assessor of the candidate has signed."""

    __tablename__ = "score_sheets"
    __table_args__ = (UniqueConstraint("enrolment_id", "component", "task_code", "assessor_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), nullable=False, index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), nullable=False, index=True)
    #: ``practical`` or ``review``.
    component: Mapped[str] = mapped_column(String(16), nullable=False)
    #: The spec's task code (``T1``…), or ``REVIEW`` for the review sheet.
    task_code: Mapped[str] = mapped_column(String(40), nullable=False)
    assessor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    #: The practical spec version whose sheet this follows (None for the review).
    spec_version_id: Mapped[int | None] = mapped_column(ForeignKey("practical_spec_versions.id"))
    #: ``{item code: {"points": "8.00", "deduction": "2.00", "veto": false}}``.
    entries: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    #: Sum of the points awarded; ``score`` is the same out of 100.
    total: Mapped[Decimal] = mapped_column(Numeric(7, 2), nullable=False, default=Decimal("0"))
    #: ``draft`` until the assessor signs, then ``signed`` (locked for them).
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The browser's counter of draft saves: an older save never overwrites a newer one.
    client_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class TaskOutcome(TimestampMixin, db.Model):
    """The reconciled score of one candidate's task (practical) or review, once every assessor signed,
    and the chief assessor's arbitration when the assessors disagree."""

    __tablename__ = "task_outcomes"
    __table_args__ = (UniqueConstraint("enrolment_id", "component", "task_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), nullable=False, index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), nullable=False, index=True)
    component: Mapped[str] = mapped_column(String(16), nullable=False)
    task_code: Mapped[str] = mapped_column(String(40), nullable=False)
    #: ``mean`` or ``trimmed_mean``: the rule applied.
    rule: Mapped[str] = mapped_column(String(16), nullable=False)
    #: Every assessor's total out of 100: ``{assessor user id: "82.00"}``.
    totals: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    #: The rule's result (before any arbitration).
    reconciled_score: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False)
    spread: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False)
    #: Why the chief must arbitrate: ``["spread"]``, ``["veto"]``, both, or empty.
    arbitration_reasons: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    #: Veto items every assessor checked, and those they disagreed on.
    vetoes_agreed: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    vetoes_disputed: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    #: ``awaiting_arbitration`` or ``final``.
    status: Mapped[str] = mapped_column(String(24), nullable=False)
    #: The final score (the reconciled one, or the chief's).
    score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    #: True when a veto item stands (agreed, or confirmed by the chief): the practical fails.
    veto: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    arbitrated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    arbitrated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The chief's written reason.
    arbitration_reason: Mapped[str | None] = mapped_column(Text)
    #: The chief's decision on disputed veto items: ``{item code: true (confirmed) | false}``.
    veto_decisions: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)

    @property
    def final(self) -> bool:
        return self.status == "final"


class Result(TimestampMixin, db.Model):
    """A candidate's result in a session: each required component's score and state, and whether
    the result passes (all required components pass)."""

    __tablename__ = "results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), nullable=False, index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), nullable=False, unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    #: The components this candidate sat (a resit may be one).
    components: Mapped[list] = mapped_column(JSON, nullable=False)
    #: Scores out of 100 (None: not sat, or not scored yet).
    theory_score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    practical_score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    review_score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    #: ``{component: "passed" | "failed" | "absent" | "pending"}``.
    states: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    #: A veto item (★) failed the practical.
    practical_veto: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: None while a component is pending.
    passed: Mapped[bool | None] = mapped_column(Boolean)
    #: Explanations shown with the scores, e.g. ``{"theory_scaled_from": "120.00"}``.
    notes: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    #: Scores corrected on appeal, which take precedence: ``{component: {"score", "appeal_id",
    #: "from"}}``.
    corrections: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=now_utc)

    def score_of(self, component: str) -> Decimal | None:
        return getattr(self, f"{component}_score", None)


class Publication(db.Model):
    """The publication of a session's results (成绩公示) and the appeal window (复核)."""

    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), nullable=False, unique=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Working days of publication and of the appeal window, as chosen when publishing.
    days: Mapped[int] = mapped_column(Integer, nullable=False)
    appeal_days: Mapped[int] = mapped_column(Integer, nullable=False)
    #: End of the publication period and of the appeal window (midnight, local time).
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    appeal_ends_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    note: Mapped[str | None] = mapped_column(String(500))


class Appeal(db.Model):
    """A candidate's request for a recheck (复核) of their result, and the body's answer."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), nullable=False, index=True)
    #: One appeal per result.
    result_id: Mapped[int] = mapped_column(ForeignKey("results.id"), nullable=False, unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    #: Components the candidate questions (empty: the whole result).
    components: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: The answer is due by then (working days after filing).
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: ``open`` or ``answered``.
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    #: What the recheck found: ``{"missed_items": bool, "addition": bool, "transcription": bool}``
    #: (True: an error of that kind was found).
    checks: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    #: ``unchanged`` or ``corrected``.
    outcome: Mapped[str | None] = mapped_column(String(16))
    answer: Mapped[str | None] = mapped_column(Text)
    #: ``{component: {"from": "58.00", "to": "61.00"}}``.
    corrections: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
