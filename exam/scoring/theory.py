"""Theory scores: automatic scoring of finalised attempts, anonymous manual marking of short
answers (single or double, with a tolerance), and rescoring.

``score_attempt`` is called by the delivery domain right after an attempt is finalised.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..banks.models import ItemVersion
from ..core import audit
from ..core.auth import ASSESSOR, Actor, require_user
from ..core.clock import now_utc
from ..core.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationFailed
from ..delivery.models import CLOSED_STATES, Attempt, Response
from ..extensions import db
from ..papers.models import Paper
from ..sessions.models import Enrolment, ExamSession
from . import rules
from .lookups import Settings, get_session, is_related, settings_for, staff_roles
from .models import ManualMark, TheoryScore

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
#: Staff roles of a session that mark short answers (the chief also decides disagreements).
MARKER_ROLES = ("assessor", "chief_assessor")


def _system(org_id: int) -> Actor:
    return Actor.system("system: scoring", org_id=org_id)


def _new_marking_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        if db.session.scalar(select(TheoryScore.id).where(TheoryScore.marking_code == code)) is None:
            return code


def _marks_by_position(attempt_id: int) -> dict[int, list[ManualMark]]:
    marks: dict[int, list[ManualMark]] = {}
    for mark in db.session.scalars(select(ManualMark).where(ManualMark.attempt_id == attempt_id)
                                   .order_by(ManualMark.round, ManualMark.id)):
        marks.setdefault(mark.position, []).append(mark)
    return marks


def _state(marks: list[ManualMark], settings: Settings) -> rules.MarkState:
    chief = next((m.points for m in marks if m.is_chief), None)
    return rules.resolve_marks([m.points for m in marks if not m.is_chief],
                               double=settings.double_marking, tolerance=settings.marking_tolerance,
                               chief=chief)


def tally(attempt: Attempt, settings: Settings | Callable[[], Settings]) -> rules.TheoryTally:
    """Score an attempt from what is stored: the paper's pinned versions and option orders, the
    responses, and the settled manual marks. One query each for the paper, the responses, the
    versions and the marks (``settings`` may be a function: read only when there are marks)."""
    paper = db.session.get(Paper, attempt.paper_id)
    responses = dict(db.session.execute(select(Response.position, Response.answer)
                                        .where(Response.attempt_id == attempt.id)).all())
    version_ids = {entry["v"] for entry in paper.items}
    versions = {v.id: v for v in db.session.scalars(select(ItemVersion)
                                                    .where(ItemVersion.id.in_(version_ids)))}
    marks = _marks_by_position(attempt.id)
    if marks and callable(settings):
        settings = settings()
    manual = {pos: _state(item_marks, settings).final for pos, item_marks in marks.items()}
    return rules.score_items(paper.items, versions, responses, manual)


def _store(score: TheoryScore, result: rules.TheoryTally) -> None:
    score.items = result.items
    score.raw_points = result.raw
    score.max_points = result.max_points
    score.score = result.score
    score.pending_count = len(result.pending)
    score.computed_at = now_utc()


def create_theory_score(attempt: Attempt, settings: Settings | Callable[[], Settings]) -> TheoryScore:
    """Score a finalised attempt and add the row (no commit)."""
    result = tally(attempt, settings)
    score = TheoryScore(org_id=attempt.org_id, session_id=attempt.session_id, attempt_id=attempt.id,
                        enrolment_id=attempt.enrolment_id, marking_code=_new_marking_code())
    _store(score, result)
    db.session.add(score)
    db.session.flush()
    audit.record("theory.scored", actor=_system(attempt.org_id), obj=score,
                 data={"attempt_id": attempt.id, "enrolment_id": attempt.enrolment_id,
                       "raw": rules.text(result.raw), "max": rules.text(result.max_points),
                       "score": rules.text(result.score), "awaiting_marks": result.pending})
    return score


def score_attempt(attempt_id: int) -> TheoryScore | None:
    """Score a finalised attempt, once: calling it again returns the stored score unchanged.

    Returns None while the attempt is still open.

    :raise NotFound: no such attempt.
    """
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(gettext("No such attempt."))
    if attempt.status not in CLOSED_STATES:
        return None
    existing = db.session.scalar(select(TheoryScore).where(TheoryScore.attempt_id == attempt_id))
    if existing is not None:
        return existing
    score = create_theory_score(
        attempt, lambda: settings_for(db.session.get(ExamSession, attempt.session_id)))
    try:
        db.session.commit()
    except IntegrityError:  # scored at the same moment by another request
        db.session.rollback()
        return db.session.scalar(select(TheoryScore).where(TheoryScore.attempt_id == attempt_id))
    return score


# --- rescoring --------------------------------------------------------------------------------

@dataclass
class RescoreLine:
    enrolment: Enrolment
    attempt: Attempt
    stored: TheoryScore | None
    fresh: rules.TheoryTally
    items: list[dict] = field(default_factory=list)
    #: The stored score before any change (None: the attempt had no score).
    before: Decimal | None = None

    def __post_init__(self):
        self.before = self.stored.score if self.stored is not None else None
        self.changed = self.stored is None or bool(self.items) or self.stored.score != self.fresh.score \
            or self.stored.pending_count != len(self.fresh.pending)


def rescore_session(session_id: int, *, apply: bool = False,
                    actor: Actor | None = None) -> list[RescoreLine]:
    """Recompute every finalised attempt of a session and compare with the stored scores.

    Changes nothing unless ``apply``; then every changed score is updated and audited
    (``theory.rescored`` with the items that changed) in one commit.
    """
    session = db.session.get(ExamSession, session_id)
    if session is None:
        raise NotFound(gettext("No such exam session."))
    actor = actor or Actor.system("system: rescore", org_id=session.org_id)
    settings = settings_for(session)
    stored = {s.attempt_id: s for s in db.session.scalars(
        select(TheoryScore).where(TheoryScore.session_id == session_id))}
    rows = db.session.execute(select(Attempt, Enrolment).join(Enrolment, Enrolment.id == Attempt.enrolment_id)
                              .where(Attempt.session_id == session_id,
                                     Attempt.status.in_(CLOSED_STATES)).order_by(Enrolment.id))
    lines = []
    for attempt, enrolment in rows:
        fresh = tally(attempt, settings)
        current = stored.get(attempt.id)
        line = RescoreLine(enrolment, attempt, current, fresh,
                           rules.item_differences(current.items if current else [], fresh.items))
        if line.changed:
            lines.append(line)
    if apply and lines:
        from .results import refresh_result  # results build on theory scores

        for line in lines:
            if line.stored is None:
                line.stored = create_theory_score(line.attempt, settings)
            else:
                _store(line.stored, line.fresh)
                audit.record("theory.rescored", actor=actor, obj=line.stored,
                             data={"enrolment_id": line.enrolment.id, "from": rules.text(line.before),
                                   "to": rules.text(line.fresh.score), "items": line.items})
            refresh_result(actor, line.enrolment.id, reason="rescore")
        db.session.commit()
    return lines


# --- manual marking (anonymous) ---------------------------------------------------------------

@dataclass
class MarkingEntry:
    """One answer to mark, as the marker sees it: a marking code, never a name or ticket."""

    marking_code: str
    position: int
    version: ItemVersion
    max_points: Decimal
    answer: str
    state: str
    #: The earlier marks, shown to the chief assessor only when they decide.
    earlier: list[Decimal] = field(default_factory=list)

    @property
    def number(self) -> int:
        return self.position + 1


@dataclass
class MarkingQueue:
    session: ExamSession
    settings: Settings
    is_chief: bool
    entries: list[MarkingEntry]
    marked_by_me: int


def _marker(actor: Actor, session_id: int) -> tuple[ExamSession, bool]:
    """:raise NotFound: another body's session, or the actor is not one of its markers."""
    session = get_session(actor, session_id, ASSESSOR)
    roles = staff_roles(session.id, actor.user_id)
    if not any(role in roles for role in MARKER_ROLES):
        raise NotFound(gettext("You do not mark this session."))
    return session, "chief_assessor" in roles


def _may_mark(state: rules.MarkState, marks: list[ManualMark], user_id: int, is_chief: bool) -> bool:
    if any(m.marker_id == user_id for m in marks):
        return False
    if state.state == "open":
        return True
    if state.state == "third":
        return True
    return state.state == "chief" and is_chief


def marking_queue(actor: Actor, session_id: int) -> MarkingQueue:
    """The answers the actor may mark now, by question: never another marker's mark (except for
    the chief deciding a disagreement), never a candidate the actor declared a relation with."""
    session, is_chief = _marker(actor, session_id)
    settings = settings_for(session)
    rows = list(db.session.execute(
        select(TheoryScore, Enrolment.user_id).join(Enrolment, Enrolment.id == TheoryScore.enrolment_id)
        .where(TheoryScore.session_id == session.id, TheoryScore.pending_count > 0)))
    related = {user_id for _, user_id in rows if is_related(session.org_id, actor.user_id, user_id)}
    scores = [score for score, user_id in rows if user_id not in related]
    attempt_ids = [s.attempt_id for s in scores]
    marks: dict[tuple[int, int], list[ManualMark]] = {}
    for mark in db.session.scalars(select(ManualMark).where(ManualMark.attempt_id.in_(attempt_ids))
                                   .order_by(ManualMark.round, ManualMark.id)):
        marks.setdefault((mark.attempt_id, mark.position), []).append(mark)
    answers = {(r.attempt_id, r.position): r.answer for r in db.session.scalars(
        select(Response).where(Response.attempt_id.in_(attempt_ids)))}
    wanted = [(s, row) for s in scores for row in s.items if row["manual"] and row["points"] is None]
    versions = {v.id: v for v in db.session.scalars(
        select(ItemVersion).where(ItemVersion.id.in_({row["v"] for _, row in wanted})))}
    entries = []
    for score, row in wanted:
        item_marks = marks.get((score.attempt_id, row["pos"]), [])
        state = _state(item_marks, settings)
        if not _may_mark(state, item_marks, actor.user_id, is_chief):
            continue
        earlier = [m.points for m in item_marks] if is_chief and state.state in ("third", "chief") else []
        entries.append(MarkingEntry(score.marking_code, row["pos"], versions[row["v"]],
                                    Decimal(row["max"]), answers.get((score.attempt_id, row["pos"])) or "",
                                    state.state, earlier))
    entries.sort(key=lambda e: (e.position, e.marking_code))
    mine = db.session.scalar(select(func.count(ManualMark.id)).where(
        ManualMark.session_id == session.id, ManualMark.marker_id == actor.user_id)) or 0
    return MarkingQueue(session, settings, is_chief, entries, mine)


def record_mark(actor: Actor, session_id: int, marking_code: str, position: int, points,
                note: str | None = None) -> ManualMark:
    """Mark one short answer. The item's points settle when the marks agree (see
    ``rules.resolve_marks``); the theory score is updated then.

    :raise NotFound: unknown code or position, or a candidate the actor may not mark.
    :raise Conflict: the actor already marked it, or it needs no more marks from them.
    :raise ValidationFailed: points not a number within the item's maximum.
    """
    user_id = require_user(actor)
    session, is_chief = _marker(actor, session_id)
    score = db.session.scalar(select(TheoryScore).where(TheoryScore.session_id == session.id,
                                                        TheoryScore.marking_code == (marking_code or "").strip()))
    if score is None or not isinstance(position, int) or not 0 <= position < len(score.items):
        raise NotFound(gettext("No such answer to mark."))
    enrolment = db.session.get(Enrolment, score.enrolment_id)
    if is_related(session.org_id, user_id, enrolment.user_id):
        raise NotFound(gettext("No such answer to mark."))
    row = score.items[position]
    if not row["manual"]:
        raise NotFound(gettext("No such answer to mark."))
    settings = settings_for(session)
    item_marks = _marks_by_position(score.attempt_id).get(position, [])
    state = _state(item_marks, settings)
    if row["points"] is not None or state.state == "resolved":
        raise Conflict(gettext("This answer's mark is already settled."))
    if not _may_mark(state, item_marks, user_id, is_chief):
        if any(m.marker_id == user_id for m in item_marks):
            raise Conflict(gettext("You have already marked this answer."))
        raise PermissionDenied(gettext("Only the chief assessor decides this answer now."))
    maximum = Decimal(row["max"])
    try:
        value = rules.parse_amount(points)
    except ValueError:
        value = None
    if value is None or value > maximum:
        raise ValidationFailed(gettext("Give the points, from 0 to %(max)s.", max=rules.text(maximum)),
                               problems=[Problem(gettext("From 0 to %(max)s.", max=rules.text(maximum)),
                                                 "points")])
    deciding = is_chief and state.state in ("third", "chief")
    regular = [m for m in item_marks if not m.is_chief]
    mark = ManualMark(org_id=session.org_id, session_id=session.id, attempt_id=score.attempt_id,
                      position=position, marker_id=user_id, round=len(regular) + 1, is_chief=deciding,
                      points=value, note=(note or "").strip()[:500] or None, created_at=now_utc())
    db.session.add(mark)
    db.session.flush()
    after = _state(item_marks + [mark], settings)
    data = {"marking_code": score.marking_code, "position": position, "round": mark.round,
            "points": rules.text(value), "chief": deciding, "state": after.state}
    if after.state == "resolved":
        attempt = db.session.get(Attempt, score.attempt_id)
        before = score.score
        _store(score, tally(attempt, settings))
        data.update(settled=rules.text(after.final), score_from=rules.text(before),
                    score_to=rules.text(score.score))
    audit.record("theory.marked", actor=actor, obj=mark, data=data)
    db.session.commit()
    return mark
