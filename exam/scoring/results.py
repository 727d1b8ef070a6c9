"""Results: each component's score and state, the overall pass, publication (成绩公示) for a
number of working days, appeals (复核) in the appeal window, and what other domains ask
(``issuable_enrolment_ids`` for certificates, ``resit_components`` for applications)."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext
from sqlalchemy import and_, exists, select

from ..accounts.models import User
from ..core import audit
from ..core.auth import ADMIN, Actor, require_org, require_user
from ..core.clock import now_utc
from ..core.errors import Conflict, Gone, NotFound, Problem, ValidationFailed
from ..delivery.models import CLOSED_STATES, Attempt
from ..extensions import db
from ..sessions.models import COMPONENTS, Enrolment, ExamSession
from . import rules
from .lookups import READERS, calendar, components_of, display_zone, get_session, settings_for
from .models import Appeal, Publication, Result, TaskOutcome, TheoryScore
from .sheets import practical_plan
from .theory import create_theory_score

#: Working days: publication default and bounds; the appeal window default and its maximum.
DEFAULT_DAYS = 5
MAX_DAYS = 20
DEFAULT_APPEAL_DAYS = 5
MAX_APPEAL_DAYS = 10
#: Working days within which an appeal is answered.
ANSWER_DAYS = 10
#: Session states after which a candidate who never started the theory exam is absent.
OVER = ("finished", "results_published")
MAX_TEXT = 2000
CHECK_KINDS = ("missed_items", "addition", "transcription")


def pass_mark(session: ExamSession, component: str) -> Decimal:
    return getattr(session, f"{component}_pass_mark", None) or Decimal("60")


# --- computing --------------------------------------------------------------------------------

@dataclass
class ComponentFacts:
    score: Decimal | None
    absent: bool = False
    veto: bool = False
    note: dict | None = None


def _theory_facts(session: ExamSession, attempt: Attempt | None, score: TheoryScore | None) -> ComponentFacts:
    if attempt is None:
        return ComponentFacts(None, absent=session.status in OVER)
    if score is None or not score.complete:
        return ComponentFacts(None)
    note = {"theory_scaled_from": rules.text(score.max_points)} if score.scaled else None
    return ComponentFacts(score.score, note=note)


def _practical_facts(session: ExamSession, outcomes: dict[str, TaskOutcome]) -> ComponentFacts:
    plan = practical_plan(session)
    if not plan.tasks:
        return ComponentFacts(None)
    taken = [t for t in plan.tasks if t.required or t.code in outcomes]
    optional_taken = [t for t in taken if not t.required]
    if len(optional_taken) != plan.choose:
        return ComponentFacts(None)
    if any(t.code not in outcomes or not outcomes[t.code].final for t in taken):
        return ComponentFacts(None)
    scores = {t.code: outcomes[t.code].score for t in taken}
    weights = {t.code: t.weight for t in taken}
    veto = any(outcomes[t.code].veto for t in taken)
    return ComponentFacts(rules.weighted_practical(scores, weights), veto=veto)


def _review_facts(outcome: TaskOutcome | None) -> ComponentFacts:
    if outcome is None or not outcome.final:
        return ComponentFacts(None)
    return ComponentFacts(outcome.score)


def _evaluate(result: Result, session: ExamSession, facts: dict[str, ComponentFacts]) -> None:
    """Set the result's scores, states and pass from the components' facts, corrections and
    recorded absences."""
    states, notes = {}, {}
    absent = set((result.notes or {}).get("absent", []))
    for component in COMPONENTS:
        setattr(result, f"{component}_score", None)
    result.practical_veto = False
    for component in result.components:
        fact = facts.get(component) or ComponentFacts(None)
        score = fact.score
        correction = (result.corrections or {}).get(component)
        if correction:
            score = Decimal(correction["score"])
        is_absent = (fact.absent or component in absent) and not correction
        setattr(result, f"{component}_score", None if is_absent else score)
        if component == "practical":
            result.practical_veto = fact.veto
        states[component] = rules.component_state(None if is_absent else score, pass_mark(session, component),
                                                  absent=is_absent, veto=fact.veto)
        if fact.note and not correction:
            notes.update(fact.note)
    if absent:
        notes["absent"] = sorted(absent)
    result.states = states
    result.notes = notes
    result.passed = rules.overall(states)
    result.computed_at = now_utc()


def _snapshot(result: Result) -> dict:
    return {"theory": rules.text(result.theory_score), "practical": rules.text(result.practical_score),
            "review": rules.text(result.review_score), "states": dict(result.states or {}),
            "passed": result.passed, "veto": result.practical_veto}


class _SessionFacts:
    """Everything a session's results need, loaded in a few queries."""

    def __init__(self, session: ExamSession):
        self.session = session
        self.attempts = {a.enrolment_id: a for a in db.session.scalars(
            select(Attempt).where(Attempt.session_id == session.id))}
        self.scores = {s.enrolment_id: s for s in db.session.scalars(
            select(TheoryScore).where(TheoryScore.session_id == session.id))}
        self.outcomes: dict[int, dict[tuple[str, str], TaskOutcome]] = {}
        for outcome in db.session.scalars(select(TaskOutcome).where(TaskOutcome.session_id == session.id)):
            self.outcomes.setdefault(outcome.enrolment_id, {})[(outcome.component, outcome.task_code)] = outcome
        self._settings = None

    def settings(self):
        if self._settings is None:
            self._settings = settings_for(self.session)
        return self._settings

    def facts(self, enrolment: Enrolment) -> dict[str, ComponentFacts]:
        components = components_of(enrolment, self.session)
        found: dict[str, ComponentFacts] = {}
        outcomes = self.outcomes.get(enrolment.id, {})
        if "theory" in components:
            attempt = self.attempts.get(enrolment.id)
            score = self.scores.get(enrolment.id)
            if attempt is not None and attempt.status in CLOSED_STATES and score is None:
                score = create_theory_score(attempt, self.settings)
                self.scores[enrolment.id] = score
            if attempt is not None and attempt.status not in CLOSED_STATES:
                found["theory"] = ComponentFacts(None)
            else:
                found["theory"] = _theory_facts(self.session, attempt, score)
        if "practical" in components:
            found["practical"] = _practical_facts(
                self.session, {code: o for (c, code), o in outcomes.items() if c == "practical"})
        if "review" in components:
            found["review"] = _review_facts(next((o for (c, _), o in outcomes.items() if c == "review"), None))
        return found


def _result_for(enrolment: Enrolment, session: ExamSession) -> Result:
    result = db.session.scalar(select(Result).where(Result.enrolment_id == enrolment.id))
    if result is None:
        result = Result(org_id=session.org_id, session_id=session.id, enrolment_id=enrolment.id,
                        user_id=enrolment.user_id, components=components_of(enrolment, session),
                        states={}, notes={}, corrections={})
        db.session.add(result)
    return result


def _compute(actor: Actor, session: ExamSession, *, reason: str) -> list[Result]:
    facts = _SessionFacts(session)
    results = []
    for enrolment in db.session.scalars(select(Enrolment).where(
            Enrolment.session_id == session.id, Enrolment.status == "approved").order_by(Enrolment.id)):
        result = _result_for(enrolment, session)
        before = _snapshot(result) if result.id else None
        result.components = components_of(enrolment, session)
        _evaluate(result, session, facts.facts(enrolment))
        db.session.flush()
        after = _snapshot(result)
        if before != after:
            audit.record("result.computed", actor=actor, obj=result,
                         data={"enrolment_id": enrolment.id, "from": before, "to": after, "reason": reason})
        results.append(result)
    return results


def refresh_result(actor: Actor, enrolment_id: int, *, reason: str) -> Result | None:
    """Recompute one existing result (after a rescore or a correction); no commit."""
    result = db.session.scalar(select(Result).where(Result.enrolment_id == enrolment_id))
    if result is None:
        return None
    enrolment = db.session.get(Enrolment, enrolment_id)
    session = enrolment.session
    before = _snapshot(result)
    _evaluate(result, session, _SessionFacts(session).facts(enrolment))
    after = _snapshot(result)
    if before != after:
        audit.record("result.computed", actor=actor, obj=result,
                     data={"enrolment_id": enrolment_id, "from": before, "to": after, "reason": reason})
    return result


def _publication(session_id: int) -> Publication | None:
    return db.session.scalar(select(Publication).where(Publication.session_id == session_id))


def compute_results(actor: Actor, session_id: int) -> list[Result]:
    """Compute (or refresh) the result of every approved candidate of the session.

    :raise Conflict: the results are published: corrections go through appeals.
    """
    session = get_session(actor, session_id, write=True)
    if _publication(session.id) is not None:
        raise Conflict(gettext("The results are published; corrections go through appeals."))
    results = _compute(actor, session, reason="computed")
    audit.record("results.computed", actor=actor, obj=session,
                 data={"results": len(results), "passed": sum(1 for r in results if r.passed),
                       "pending": sum(1 for r in results if r.passed is None)})
    db.session.commit()
    return results


def record_absence(actor: Actor, enrolment_id: int, component: str, reason: str | None) -> Result:
    """Record that a candidate did not sit a component (缺考), with the reason: the component fails."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(gettext("No such candidate."))
    session = get_session(actor, enrolment.session_id, write=True)
    if _publication(session.id) is not None:
        raise Conflict(gettext("The results are published; corrections go through appeals."))
    if enrolment.status != "approved" or component not in components_of(enrolment, session):
        raise NotFound(gettext("No such candidate."))
    reason = (reason or "").strip()
    if not reason or len(reason) > 300:
        raise ValidationFailed(gettext("Give the reason (at most 300 characters)."),
                               problems=[Problem(gettext("Required."), "reason")])
    result = _result_for(enrolment, session)
    notes = dict(result.notes or {})
    notes["absent"] = sorted(set(notes.get("absent", [])) | {component})
    result.notes = notes
    result.components = components_of(enrolment, session)
    _evaluate(result, session, _SessionFacts(session).facts(enrolment))
    db.session.flush()
    audit.record("result.absence_recorded", actor=actor, obj=result,
                 data={"enrolment_id": enrolment.id, "component": component, "reason": reason})
    db.session.commit()
    return result


# --- reading ------------------------------------------------------------------------------------

@dataclass
class ResultRow:
    enrolment: Enrolment
    user: User
    result: Result | None
    appeal: Appeal | None


@dataclass
class SessionResults:
    session: ExamSession
    rows: list[ResultRow]
    publication: Publication | None

    @property
    def counts(self) -> dict[str, int]:
        results = [r.result for r in self.rows]
        return {"total": len(self.rows),
                "computed": sum(1 for r in results if r is not None),
                "passed": sum(1 for r in results if r is not None and r.passed),
                "failed": sum(1 for r in results if r is not None and r.passed is False),
                "pending": sum(1 for r in results if r is None or r.passed is None)}


def session_results(actor: Actor, session_id: int) -> SessionResults:
    """Every approved candidate of the session with their result (admins, supervisors; the
    regulator reads)."""
    session = get_session(actor, session_id)
    results = {r.enrolment_id: r for r in db.session.scalars(select(Result).where(Result.session_id == session.id))}
    appeals = {a.result_id: a for a in db.session.scalars(select(Appeal).where(Appeal.session_id == session.id))}
    rows = []
    for enrolment, user in db.session.execute(
            select(Enrolment, User).join(User, User.id == Enrolment.user_id)
            .where(Enrolment.session_id == session.id, Enrolment.status == "approved")
            .order_by(Enrolment.ticket_no, Enrolment.id)):
        result = results.get(enrolment.id)
        rows.append(ResultRow(enrolment, user, result, appeals.get(result.id) if result else None))
    return SessionResults(session, rows, _publication(session.id))


@dataclass
class SessionSummary:
    session: ExamSession
    publication: Publication | None
    results: int
    passed: int


def results_sessions(actor: Actor, org_id: int | None) -> list[SessionSummary]:
    """Sessions whose results can be worked on (in progress or later), newest first. The
    regulator reads every body's with ``org_id=None``."""
    stmt = select(ExamSession).where(ExamSession.status.in_(("in_progress", "finished", "results_published")))
    if org_id is None:
        if not (actor.is_regulator or actor.is_system):
            raise NotFound(gettext("Not found."))
    else:
        require_org(actor, org_id, *READERS, write=False)
        stmt = stmt.where(ExamSession.org_id == org_id)
    sessions = list(db.session.scalars(stmt.order_by(ExamSession.id.desc()).limit(200)))
    ids = [s.id for s in sessions]
    publications = {p.session_id: p for p in db.session.scalars(select(Publication).where(
        Publication.session_id.in_(ids)))}
    counts: dict[int, list[int]] = {}
    for session_id, passed in db.session.execute(select(Result.session_id, Result.passed).where(
            Result.session_id.in_(ids))):
        entry = counts.setdefault(session_id, [0, 0])
        entry[0] += 1
        entry[1] += bool(passed)
    return [SessionSummary(s, publications.get(s.id), *counts.get(s.id, [0, 0])) for s in sessions]


# --- publication ------------------------------------------------------------------------------

def _days(value: Any, default: int, maximum: int, field: str) -> int:
    if value in (None, ""):
        return default
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= maximum:
        raise ValidationFailed(gettext("From 1 to %(n)d working days.", n=maximum),
                               problems=[Problem(gettext("From 1 to %(n)d working days.", n=maximum), field)])
    return days


def publish_results(actor: Actor, session_id: int, days: Any = None, appeal_days: Any = None,
                    note: str | None = None) -> Publication:
    """Publish the session's results (成绩公示) for ``days`` working days; appeals are accepted for
    ``appeal_days`` working days from now. The results are computed once more first; every
    candidate must have a complete result. Sets the session's state through the sessions
    domain (``mark_results_published``) in the same transaction.

    :raise Conflict: already published, or results still pending.
    """
    session = get_session(actor, session_id, write=True)
    days = _days(days, DEFAULT_DAYS, MAX_DAYS, "days")
    appeal_days = _days(appeal_days, DEFAULT_APPEAL_DAYS, MAX_APPEAL_DAYS, "appeal_days")
    if _publication(session.id) is not None:
        raise Conflict(gettext("The results of this session are already published."))
    results = _compute(actor, session, reason="publication")
    pending = sum(1 for r in results if r.passed is None)
    if pending:
        db.session.rollback()
        raise Conflict(gettext("%(n)d candidates' results are not complete yet.", n=pending))
    if not results:
        db.session.rollback()
        raise Conflict(gettext("There are no results to publish."))
    now = now_utc()
    cal, zone = calendar(), display_zone()
    publication = Publication(org_id=session.org_id, session_id=session.id, published_at=now,
                              published_by=actor.user_id, days=days, appeal_days=appeal_days,
                              ends_at=cal.period_end(now, days, zone),
                              appeal_ends_at=cal.period_end(now, appeal_days, zone),
                              note=(note or "").strip()[:500] or None)
    db.session.add(publication)
    db.session.flush()
    audit.record("results.published", actor=actor, obj=publication,
                 data={"session_id": session.id, "days": days, "appeal_days": appeal_days,
                       "ends_at": publication.ends_at, "appeal_ends_at": publication.appeal_ends_at,
                       "results": len(results), "passed": sum(1 for r in results if r.passed)})
    mark = _sessions_hook("mark_results_published")
    if mark is None:
        db.session.commit()
        return publication
    try:
        mark(actor, session.id)  # commits, with our changes, in one transaction
    except Exception:
        db.session.rollback()
        raise
    return publication


def _sessions_hook(name: str):
    module = importlib.import_module("exam.sessions.services")
    return getattr(module, name, None)


# --- candidates ------------------------------------------------------------------------------

@dataclass
class MyResult:
    result: Result
    session: ExamSession
    publication: Publication
    appeal: Appeal | None

    def can_appeal(self, now: datetime) -> bool:
        return self.appeal is None and self.publication.published_at <= now < self.publication.appeal_ends_at


def my_results(actor: Actor) -> list[MyResult]:
    """The actor's published results, from every body, newest first."""
    user_id = require_user(actor)
    rows = db.session.execute(
        select(Result, ExamSession, Publication)
        .join(ExamSession, ExamSession.id == Result.session_id)
        .join(Publication, Publication.session_id == Result.session_id)
        .where(Result.user_id == user_id).order_by(Publication.published_at.desc()))
    found = [MyResult(r, s, p, None) for r, s, p in rows]
    appeals = {a.result_id: a for a in db.session.scalars(select(Appeal).where(
        Appeal.result_id.in_([m.result.id for m in found])))}
    for entry in found:
        entry.appeal = appeals.get(entry.result.id)
    return found


def _clean_text(value: str | None, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > MAX_TEXT:
        raise ValidationFailed(message, problems=[Problem(message, field)])
    return value


def file_appeal(actor: Actor, result_id: int, reason: str | None, components: list[str] | None = None) -> Appeal:
    """A candidate asks for a recheck (复核) of their published result, with a reason, within the
    appeal window.

    :raise NotFound: not the actor's result, or not published.
    :raise Gone: the appeal window has closed.
    :raise Conflict: an appeal was already filed.
    """
    user_id = require_user(actor)
    result = db.session.get(Result, result_id)
    publication = _publication(result.session_id) if result is not None else None
    if result is None or result.user_id != user_id or publication is None:
        raise NotFound(gettext("No such result."))
    now = now_utc()
    if now < publication.published_at or now >= publication.appeal_ends_at:
        raise Gone(gettext("Appeals were accepted until %(time)s.", time=_last_day(publication.appeal_ends_at)))
    if db.session.scalar(select(Appeal.id).where(Appeal.result_id == result.id)) is not None:
        raise Conflict(gettext("You have already asked for a recheck of this result."))
    reason = _clean_text(reason, "reason", gettext("Explain what should be rechecked (at most %(n)d "
                                                   "characters).", n=MAX_TEXT))
    chosen = [c for c in (components or []) if c in result.components]
    appeal = Appeal(org_id=result.org_id, session_id=result.session_id, result_id=result.id, user_id=user_id,
                    components=chosen, reason=reason, filed_at=now, status="open",
                    due_at=calendar().period_end(now, ANSWER_DAYS, display_zone()))
    db.session.add(appeal)
    db.session.flush()
    audit.record("appeal.filed", actor=actor, obj=appeal,
                 data={"result_id": result.id, "components": chosen, "reason": reason})
    db.session.commit()
    return appeal


def _last_day(value: datetime) -> str:
    """A period ending at local midnight, named by its last day."""
    from ..core.web import localtime

    return localtime(value - timedelta(seconds=1), "yyyy-MM-dd")


# --- answering appeals -----------------------------------------------------------------------------

@dataclass
class AppealRow:
    appeal: Appeal
    result: Result
    enrolment: Enrolment
    user: User
    session: ExamSession


def appeals_queue(actor: Actor, org_id: int | None, status: str | None = None) -> list[AppealRow]:
    """A body's appeals, open ones first (admins, supervisors; the regulator reads)."""
    if org_id is None:
        if not (actor.is_regulator or actor.is_system):
            raise NotFound(gettext("Not found."))
    else:
        require_org(actor, org_id, *READERS, write=False)
    stmt = (select(Appeal, Result, Enrolment, User, ExamSession)
            .join(Result, Result.id == Appeal.result_id)
            .join(Enrolment, Enrolment.id == Result.enrolment_id)
            .join(User, User.id == Appeal.user_id)
            .join(ExamSession, ExamSession.id == Appeal.session_id))
    if org_id is not None:
        stmt = stmt.where(Appeal.org_id == org_id)
    if status in ("open", "answered"):
        stmt = stmt.where(Appeal.status == status)
    rows = db.session.execute(stmt.order_by((Appeal.status == "answered"), Appeal.filed_at).limit(500))
    return [AppealRow(*row) for row in rows]


def get_appeal(actor: Actor, appeal_id: int, *, write: bool = False) -> AppealRow:
    appeal = db.session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(gettext("No such appeal."))
    require_org(actor, appeal.org_id, *((ADMIN,) if write else READERS), write=write)
    result = db.session.get(Result, appeal.result_id)
    enrolment = db.session.get(Enrolment, result.enrolment_id)
    return AppealRow(appeal, result, enrolment, db.session.get(User, appeal.user_id), enrolment.session)


def answer_appeal(actor: Actor, appeal_id: int, *, checks: dict[str, bool], answer: str | None,
                  corrections: dict[str, Any] | None = None) -> Appeal:
    """Record the recheck: what was checked (missed items, addition, transcription) and found,
    the answer to the candidate, and any corrected component score. A correction recomputes
    the result and is audited with the answer as its reason.

    :raise Conflict: already answered.
    :raise ValidationFailed: no answer, or a corrected score outside 0–100.
    """
    row = get_appeal(actor, appeal_id, write=True)
    appeal, result = row.appeal, row.result
    if appeal.status != "open":
        raise Conflict(gettext("This appeal was already answered."))
    answer = _clean_text(answer, "answer", gettext("Write the answer to the candidate (at most %(n)d "
                                                   "characters).", n=MAX_TEXT))
    changes: dict[str, Decimal] = {}
    problems = []
    for component, raw in (corrections or {}).items():
        if raw in (None, ""):
            continue
        try:
            value = rules.parse_amount(raw)
        except ValueError:
            value = None
        if component not in result.components or value is None or value > rules.HUNDRED:
            problems.append(Problem(gettext("A score from 0 to 100."), f"score_{component}"))
            continue
        if value != result.score_of(component):
            changes[component] = rules.money(value)
    if problems:
        raise ValidationFailed(gettext("Check the corrected scores."), problems=problems)
    now = now_utc()
    recorded = {}
    if changes:
        stored = dict(result.corrections or {})
        for component, value in changes.items():
            before = result.score_of(component)
            stored[component] = {"score": rules.text(value), "from": rules.text(before), "appeal_id": appeal.id}
            recorded[component] = {"from": rules.text(before), "to": rules.text(value)}
        result.corrections = stored
        refresh_result(actor, result.enrolment_id, reason="appeal")
        audit.record("result.corrected", actor=actor, obj=result,
                     data={"appeal_id": appeal.id, "corrections": recorded, "reason": answer,
                           "passed": result.passed})
    appeal.checks = {kind: bool(checks.get(kind)) for kind in CHECK_KINDS}
    appeal.answer = answer
    appeal.corrections = recorded
    appeal.outcome = "corrected" if recorded else "unchanged"
    appeal.status = "answered"
    appeal.answered_by = actor.user_id
    appeal.answered_at = now
    audit.record("appeal.answered", actor=actor, obj=appeal,
                 data={"result_id": result.id, "checks": appeal.checks, "outcome": appeal.outcome,
                       "corrections": recorded, "answer": answer})
    db.session.commit()
    return appeal


# --- for other domains ----------------------------------------------------------------------------

def issuable_enrolment_ids(session_id: int, at: datetime | None = None) -> list[int]:
    """Enrolments of a session whose result passed, whose publication period has ended, and that
    have no open appeal: the certificates domain issues to these (it leaves out those that
    already have a certificate)."""
    at = at or now_utc()
    open_appeal = exists().where(and_(Appeal.result_id == Result.id, Appeal.status == "open"))
    return list(db.session.scalars(
        select(Result.enrolment_id).join(Publication, Publication.session_id == Result.session_id)
        .where(Result.session_id == session_id, Result.passed.is_(True), Publication.ends_at <= at,
               ~open_appeal).order_by(Result.enrolment_id)))


def resit_components(user_id: int, occupation_id: int, level: int, at: datetime | None = None) -> list[str]:
    """Components the candidate may sit alone (补考), from their latest published result for this
    occupation and level: the failed components of a failed result in which at least one
    component passed, within the session's resit period (default 365 days after publication).
    A resit is allowed once: a failed resit gives no further resit."""
    at = at or now_utc()
    row = db.session.execute(
        select(Result, ExamSession, Publication)
        .join(ExamSession, ExamSession.id == Result.session_id)
        .join(Publication, Publication.session_id == Result.session_id)
        .where(Result.user_id == user_id, ExamSession.occupation_id == occupation_id,
               ExamSession.level == level, Publication.published_at <= at)
        .order_by(Publication.published_at.desc(), Result.id.desc()).limit(1)).first()
    if row is None:
        return []
    result, session, publication = row
    if result.passed is not False:
        return []
    if at > publication.published_at + timedelta(days=settings_for(session).resit_days):
        return []
    if set(result.components) < set(session.components or []):
        return []  # this was already a resit
    states = result.states or {}
    failed = [c for c in COMPONENTS if c in result.components and states.get(c) != "passed"]
    if len(failed) == len(result.components):
        return []
    return failed
