"""Practical score sheets (评分记录表) and review panel sheets: independent scoring, signing,
reconciliation, and the chief assessor's arbitration.

Independence is enforced here, not in the pages:

* an assessor sees and scores only the candidates of their practical group (a panelist: the
  review candidates), never one they declared a relationship with (回避): anything else is 404;
* a sheet is private to its assessor; once signed it is locked for them;
* nobody — assessors, the chief, admins — sees another assessor's marks for a candidate's
  task until every assessor of the group has signed it. Only then is the task reconciled
  (``TaskOutcome``) and its sheets readable (``sealed_sheets``).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import User
from ..core import audit
from ..core.audit import canonical_json
from ..core.auth import ASSESSOR, Actor, require_org, require_user
from ..core.clock import now_utc
from ..core.errors import Conflict, NotFound, Problem, ValidationFailed
from ..extensions import db
from ..papers.models import PracticalSpecVersion
from ..sessions import services as sessions
from ..sessions.models import Enrolment, ExamSession
from . import rules
from .lookups import (READERS, Settings, components_of, get_enrolment, get_session, is_related, settings_for,
                      staff_roles)
from .models import REVIEW_TASK, ScoreSheet, TaskOutcome

MAX_NOTE = 2000
MAX_REASON = 2000
PROBLEM_MESSAGES = {
    "number": _l("Enter a number (at most two decimals)."),
    "range": _l("Within 0 and the item's maximum."),
    "missing": _l("Score this item before signing."),
}


@dataclass(frozen=True)
class TaskDef:
    """A task's scoring sheet as the assessor fills it."""

    code: str
    title: str
    required: bool
    weight: Decimal
    minutes: int
    items: list[dict]

    @property
    def max_total(self) -> Decimal:
        return sum((Decimal(str(i["max_points"])) for i in self.items), rules.ZERO)

    @property
    def veto_items(self) -> list[dict]:
        return [i for i in self.items if i.get("veto")]


@dataclass(frozen=True)
class PracticalPlan:
    version: PracticalSpecVersion | None
    tasks: list[TaskDef]
    #: Optional tasks (选考) each candidate takes.
    choose: int

    def task(self, code: str) -> TaskDef | None:
        return next((t for t in self.tasks if t.code == code), None)


def practical_plan(session: ExamSession) -> PracticalPlan:
    version = (db.session.get(PracticalSpecVersion, session.practical_spec_version_id)
               if session.practical_spec_version_id else None)
    content = version.content if version else {}
    tasks = [TaskDef(t["code"], t.get("title") or t["code"], bool(t.get("required", True)),
                     Decimal(str(t.get("weight") or 0)), int(t.get("minutes") or 0), list(t.get("sheet") or []))
             for t in content.get("tasks", [])]
    return PracticalPlan(version, tasks, int(content.get("choose") or 0))


def review_task(settings: Settings) -> TaskDef:
    """The review panel's sheet: the file review (申报材料评审) and the defence (答辩), 100 points."""
    file_points = rules.money(settings.review_file_points)
    return TaskDef(REVIEW_TASK, str(_l("Comprehensive review")), True, rules.HUNDRED, 0, [
        {"code": "FILE", "description": str(_l("File review")), "max_points": str(file_points),
         "criteria": str(_l("Work record, achievements, technical summary or paper.")), "veto": False},
        {"code": "DEFENCE", "description": str(_l("Defence")), "max_points": str(rules.HUNDRED - file_points),
         "criteria": str(_l("Answers to the panel's questions on theory and practice.")), "veto": False},
    ])


def task_for(session: ExamSession, component: str, task_code: str) -> TaskDef:
    """:raise NotFound: no such task in the session's practical spec."""
    if component == "review":
        return review_task(settings_for(session))
    task = practical_plan(session).task(task_code)
    if task is None:
        raise NotFound(gettext("No such task."))
    return task


# --- who examines whom ------------------------------------------------------------------------

def examiners_of(enrolment: Enrolment, component: str) -> list[int]:
    """User ids of everyone who must sign this candidate's sheets.

    :raise Conflict: the candidate has no group, or a related assessor sits in it.
    """
    if component == "practical":
        return [u.id for u in sessions.assessors_for_enrolment(enrolment.id)]
    return [u.id for u in sessions.panelists_for_enrolment(enrolment.id)]


def _examined(actor: Actor, enrolment_id: int, component: str) -> tuple[Enrolment, ExamSession, list[int]]:
    """The candidate the actor examines, the session, and all of the candidate's examiners.

    :raise NotFound: another body's candidate, one outside the actor's group or panel, or one the
        actor declared a relationship with.
    """
    require_user(actor)
    enrolment = get_enrolment(enrolment_id)
    session = enrolment.session
    require_org(actor, session.org_id, ASSESSOR)
    not_yours = NotFound(gettext("This candidate is not assigned to you."))
    if component not in ("practical", "review") or enrolment.status != "approved" \
            or component not in components_of(enrolment, session):
        raise not_yours
    if is_related(session.org_id, actor.user_id, enrolment.user_id):
        raise not_yours
    roles = staff_roles(session.id, actor.user_id)
    if component == "practical":
        staff = roles.get("assessor")
        if staff is None or staff.group_no is None or staff.group_no != enrolment.practical_group:
            raise not_yours
    elif "panelist" not in roles:
        raise not_yours
    examiners = examiners_of(enrolment, component)
    if actor.user_id not in examiners:
        raise not_yours
    return enrolment, session, examiners


def _sheets(enrolment_id: int, component: str, task_code: str) -> list[ScoreSheet]:
    return list(db.session.scalars(select(ScoreSheet).where(
        ScoreSheet.enrolment_id == enrolment_id, ScoreSheet.component == component,
        ScoreSheet.task_code == task_code).order_by(ScoreSheet.id)))


def _outcome(enrolment_id: int, component: str, task_code: str) -> TaskOutcome | None:
    return db.session.scalar(select(TaskOutcome).where(
        TaskOutcome.enrolment_id == enrolment_id, TaskOutcome.component == component,
        TaskOutcome.task_code == task_code))


# --- the assessor's own sheets -------------------------------------------------------------------

@dataclass
class TaskStatus:
    task: TaskDef
    #: The actor's sheet: ``none``, ``draft`` or ``signed``.
    mine: str
    #: Reconciled (every assessor signed).
    sealed: bool
    #: An optional task this candidate does not take (another one was chosen).
    closed: bool = False


@dataclass
class CandidateRow:
    enrolment: Enrolment
    user: User
    tasks: list[TaskStatus]

    @property
    def done(self) -> bool:
        return all(t.mine == "signed" or t.closed for t in self.tasks)


@dataclass
class CandidateList:
    session: ExamSession
    component: str
    group_no: int | None
    plan: PracticalPlan | None
    rows: list[CandidateRow]


def my_candidates(actor: Actor, session_id: int, component: str) -> CandidateList:
    """The candidates the actor scores in a session: their practical group's (``practical``) or
    the review candidates (``review``), without anyone they declared a relationship with."""
    user_id = require_user(actor)
    session = get_session(actor, session_id, ASSESSOR)
    roles = staff_roles(session.id, user_id)
    group_no = None
    if component == "practical":
        staff = roles.get("assessor")
        if staff is None or staff.group_no is None or not session.has("practical"):
            raise NotFound(gettext("You do not assess a practical group in this session."))
        group_no = staff.group_no
        plan = practical_plan(session)
        tasks = plan.tasks
    elif component == "review" and "panelist" in roles and session.has("review"):
        plan = None
        tasks = [review_task(settings_for(session))]
    else:
        raise NotFound(gettext("You are not on this session's review panel."))
    stmt = select(Enrolment, User).join(User, User.id == Enrolment.user_id).where(
        Enrolment.session_id == session.id, Enrolment.status == "approved")
    if group_no is not None:
        stmt = stmt.where(Enrolment.practical_group == group_no)
    related = {e for a, e in sessions.related_pairs(session.id) if a == user_id}
    pairs = [(e, u) for e, u in db.session.execute(stmt.order_by(Enrolment.ticket_no, Enrolment.id))
             if e.id not in related and component in components_of(e, session)]
    ids = [e.id for e, _ in pairs]
    sheets = list(db.session.scalars(select(ScoreSheet).where(
        ScoreSheet.enrolment_id.in_(ids), ScoreSheet.component == component)))
    sealed = {(o.enrolment_id, o.task_code) for o in db.session.scalars(select(TaskOutcome).where(
        TaskOutcome.enrolment_id.in_(ids), TaskOutcome.component == component))}
    mine = {(s.enrolment_id, s.task_code): s.status for s in sheets if s.assessor_id == user_id}
    optional_taken: dict[int, set[str]] = {}
    optional = {t.code for t in tasks if not t.required}
    for s in sheets:
        if s.task_code in optional:
            optional_taken.setdefault(s.enrolment_id, set()).add(s.task_code)
    choose = plan.choose if plan else 0
    rows = []
    for enrolment, user in pairs:
        taken = optional_taken.get(enrolment.id, set())
        statuses = [TaskStatus(t, mine.get((enrolment.id, t.code), "none"), (enrolment.id, t.code) in sealed,
                               closed=not t.required and t.code not in taken and len(taken) >= choose)
                    for t in tasks]
        rows.append(CandidateRow(enrolment, user, statuses))
    return CandidateList(session, component, group_no, plan, rows)


@dataclass
class SheetView:
    session: ExamSession
    enrolment: Enrolment
    user: User
    component: str
    task: TaskDef
    #: The actor's own sheet (None before their first save). Never anyone else's.
    sheet: ScoreSheet | None
    signed_count: int
    examiner_count: int
    #: The reconciled outcome, once every examiner signed.
    outcome: TaskOutcome | None

    @property
    def locked(self) -> bool:
        return self.sheet is not None and self.sheet.status == "signed"


def my_sheet(actor: Actor, enrolment_id: int, component: str, task_code: str) -> SheetView:
    """The actor's sheet for a candidate's task, and how many examiners signed (never their marks)."""
    enrolment, session, examiners = _examined(actor, enrolment_id, component)
    task = task_for(session, component, task_code)
    sheets = [s for s in _sheets(enrolment.id, component, task.code) if s.assessor_id in examiners]
    own = next((s for s in sheets if s.assessor_id == actor.user_id), None)
    signed = sum(1 for s in sheets if s.status == "signed")
    return SheetView(session, enrolment, enrolment.user, component, task, own, signed, len(examiners),
                     _outcome(enrolment.id, component, task.code))


def _check_entries(task: TaskDef, entries: Any, *, require_all: bool) -> rules.SheetCheck:
    checked = rules.check_sheet(task.items, entries if isinstance(entries, dict) else {},
                                require_all=require_all)
    if checked.problems:
        raise ValidationFailed(
            gettext("Some items of the sheet need attention."),
            problems=[Problem(str(PROBLEM_MESSAGES[kind]), code) for code, kind in checked.problems])
    return checked


def _own_sheet(actor: Actor, enrolment: Enrolment, session: ExamSession, component: str,
               task: TaskDef) -> ScoreSheet:
    """The actor's sheet, created on first use (audited). An optional task (选考) can be started
    only while the candidate has fewer optional tasks than they take."""
    sheet = db.session.scalar(select(ScoreSheet).where(
        ScoreSheet.enrolment_id == enrolment.id, ScoreSheet.component == component,
        ScoreSheet.task_code == task.code, ScoreSheet.assessor_id == actor.user_id))
    if sheet is not None:
        return sheet
    if component == "practical" and not task.required:
        plan = practical_plan(session)
        optional = {t.code for t in plan.tasks if not t.required}
        taken = set(db.session.scalars(select(ScoreSheet.task_code).where(
            ScoreSheet.enrolment_id == enrolment.id, ScoreSheet.component == "practical",
            ScoreSheet.task_code.in_(optional)).distinct()))
        if task.code not in taken and len(taken) >= plan.choose:
            raise Conflict(gettext("This candidate takes %(n)d optional task(s), already being scored: "
                                   "%(tasks)s.", n=plan.choose, tasks="、".join(sorted(taken))))
    plan_version = session.practical_spec_version_id if component == "practical" else None
    sheet = ScoreSheet(org_id=session.org_id, session_id=session.id, enrolment_id=enrolment.id,
                       component=component, task_code=task.code, assessor_id=actor.user_id,
                       spec_version_id=plan_version, entries={}, total=rules.ZERO, status="draft")
    db.session.add(sheet)
    db.session.flush()
    audit.record("sheet.started", actor=actor, obj=sheet,
                 data={"enrolment_id": enrolment.id, "component": component, "task": task.code})
    return sheet


def _clean_note(note: Any) -> str | None:
    note = (note if isinstance(note, str) else "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed(gettext("The note is too long (at most %(n)d characters).", n=MAX_NOTE),
                               problems=[Problem(gettext("Too long."), "note")])
    return note or None


def save_draft(actor: Actor, enrolment_id: int, component: str, task_code: str, entries: Any,
               note: Any = None, seq: Any = None) -> ScoreSheet:
    """Save the actor's draft (the tablet saves as they type). A save carrying an older ``seq``
    than the last one stored changes nothing (a retried request that arrives late).

    Drafts are the assessor's private working copy: the audit log records when a sheet is
    started and, in full, when it is signed.

    :raise Conflict: the sheet is signed.
    """
    enrolment, session, _ = _examined(actor, enrolment_id, component)
    task = task_for(session, component, task_code)
    checked = _check_entries(task, entries, require_all=False)
    clean_note = _clean_note(note)
    sheet = _own_sheet(actor, enrolment, session, component, task)
    if sheet.status == "signed":
        raise Conflict(gettext("You signed this sheet; it can no longer change."), code="signed")
    seq = seq if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 else None
    if seq is not None and seq <= sheet.client_seq:
        db.session.commit()
        return sheet
    sheet.entries = checked.entries
    sheet.total = checked.total
    sheet.note = clean_note
    if seq is not None:
        sheet.client_seq = seq
    db.session.commit()
    return sheet


def sign_sheet(actor: Actor, enrolment_id: int, component: str, task_code: str, entries: Any,
               note: Any = None) -> ScoreSheet:
    """Sign the actor's sheet with these entries (every item scored): it is locked for them. When
    it is the last examiner's signature, the task is reconciled.

    :raise Conflict: already signed.
    :raise ValidationFailed: an item is missing or out of range.
    """
    enrolment, session, examiners = _examined(actor, enrolment_id, component)
    task = task_for(session, component, task_code)
    checked = _check_entries(task, entries, require_all=True)
    clean_note = _clean_note(note)
    sheet = _own_sheet(actor, enrolment, session, component, task)
    if sheet.status == "signed":
        raise Conflict(gettext("You signed this sheet; it can no longer change."), code="signed")
    sheet.entries = checked.entries
    sheet.total = checked.total
    sheet.note = clean_note
    sheet.status = "signed"
    sheet.signed_at = now_utc()
    db.session.flush()
    # The marks stay sealed until every examiner has signed, in the audit log too (admins read
    # it): the signature records a digest; the reconciliation records every sheet in full.
    audit.record("sheet.signed", actor=actor, obj=sheet,
                 data={"enrolment_id": enrolment.id, "component": component, "task": task.code,
                       "digest": sheet_digest(sheet)})
    _reconcile_if_complete(actor, enrolment, session, component, task, examiners)
    db.session.commit()
    return sheet


def sheet_digest(sheet: ScoreSheet) -> str:
    """SHA-256 of what the assessor signed (entries, total, note): recorded when they sign, it
    proves the sheets disclosed at reconciliation are the ones signed."""
    payload = canonical_json({"entries": sheet.entries, "total": rules.text(sheet.total), "note": sheet.note})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _reconcile_if_complete(actor: Actor, enrolment: Enrolment, session: ExamSession, component: str,
                           task: TaskDef, examiners: list[int]) -> TaskOutcome | None:
    signed = {s.assessor_id: s for s in _sheets(enrolment.id, component, task.code)
              if s.status == "signed" and s.assessor_id in examiners}
    if len(signed) < len(examiners) or not examiners or _outcome(enrolment.id, component, task.code):
        return None
    settings = settings_for(session)
    max_total = task.max_total
    totals = {uid: rules.task_score(s.total, max_total) for uid, s in signed.items()}
    vetoes = [[code for code, e in s.entries.items() if e.get("veto")] for s in signed.values()]
    rule = settings.practical_rule if component == "practical" else "mean"
    result = rules.reconcile(list(totals.values()), vetoes, rule=rule,
                             threshold=settings.spread_threshold)
    reasons = list(result.reasons) if component == "practical" else []
    outcome = TaskOutcome(
        org_id=session.org_id, session_id=session.id, enrolment_id=enrolment.id, component=component,
        task_code=task.code, rule=result.rule, totals={str(k): rules.text(v) for k, v in totals.items()},
        reconciled_score=result.score, spread=result.spread, arbitration_reasons=reasons,
        vetoes_agreed=list(result.vetoes_agreed), vetoes_disputed=list(result.vetoes_disputed),
        status="awaiting_arbitration" if reasons else "final",
        score=None if reasons else result.score, veto=bool(result.vetoes_agreed))
    db.session.add(outcome)
    db.session.flush()
    audit.record(f"{component}.reconciled", actor=actor, obj=outcome,
                 data={"enrolment_id": enrolment.id, "task": task.code, "rule": result.rule,
                       "sheets": {str(uid): {"entries": s.entries, "total": rules.text(s.total),
                                             "note": s.note, "digest": sheet_digest(s)}
                                  for uid, s in signed.items()},
                       "totals": outcome.totals, "score": rules.text(result.score),
                       "spread": rules.text(result.spread), "arbitration": reasons,
                       "vetoes_agreed": outcome.vetoes_agreed, "vetoes_disputed": outcome.vetoes_disputed})
    return outcome


# --- reading sealed sheets ---------------------------------------------------------------------

@dataclass
class SealedTask:
    component: str
    task: TaskDef
    examiner_count: int
    signed_count: int
    outcome: TaskOutcome | None
    #: (assessor, sheet) side by side: only once every examiner signed.
    sheets: list[tuple[User, ScoreSheet]] = field(default_factory=list)


def _sealed_tasks(enrolment: Enrolment, session: ExamSession) -> list[SealedTask]:
    components = components_of(enrolment, session)
    tasks: list[tuple[str, TaskDef]] = []
    if "practical" in components:
        tasks += [("practical", t) for t in practical_plan(session).tasks]
    if "review" in components:
        tasks.append(("review", review_task(settings_for(session))))
    sheets = list(db.session.scalars(select(ScoreSheet).where(ScoreSheet.enrolment_id == enrolment.id)
                                     .order_by(ScoreSheet.id)))
    outcomes = {(o.component, o.task_code): o for o in db.session.scalars(
        select(TaskOutcome).where(TaskOutcome.enrolment_id == enrolment.id))}
    users = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_({s.assessor_id for s in sheets})))}
    found = []
    for component, task in tasks:
        try:
            examiners = examiners_of(enrolment, component)
        except (Conflict, NotFound):
            examiners = []
        mine = [s for s in sheets if s.component == component and s.task_code == task.code]
        outcome = outcomes.get((component, task.code))
        entry = SealedTask(component, task, len(examiners),
                           sum(1 for s in mine if s.status == "signed" and s.assessor_id in examiners), outcome)
        if outcome is not None:  # sealed: every examiner had signed
            entry.sheets = [(users[s.assessor_id], s) for s in mine if s.status == "signed"]
        if outcome is not None or mine or task.required or component == "review":
            found.append(entry)
    return found


def sealed_sheets(actor: Actor, enrolment_id: int) -> tuple[Enrolment, ExamSession, list[SealedTask]]:
    """A candidate's practical and review tasks for the body's admins and supervisors (the
    regulator reads): how many examiners signed, and the sheets once all of them did."""
    enrolment = get_enrolment(enrolment_id)
    session = enrolment.session
    require_org(actor, session.org_id, *READERS, write=False)
    return enrolment, session, _sealed_tasks(enrolment, session)


# --- arbitration (the chief assessor) ------------------------------------------------------------

@dataclass
class ArbitrationCase:
    outcome: TaskOutcome
    enrolment: Enrolment
    user: User
    task: TaskDef
    sheets: list[tuple[User, ScoreSheet]]


def _chief(actor: Actor, session_id: int) -> ExamSession:
    session = get_session(actor, session_id, ASSESSOR)
    if "chief_assessor" not in staff_roles(session.id, actor.user_id):
        raise NotFound(gettext("You are not the chief assessor of this session."))
    return session


def arbitration_queue(actor: Actor, session_id: int) -> tuple[ExamSession, list[ArbitrationCase],
                                                              list[ArbitrationCase]]:
    """Cases awaiting the chief's decision, and those decided, with every signed sheet side by
    side (they exist only once all assessors signed). Candidates the chief declared a
    relationship with are left out."""
    session = _chief(actor, session_id)
    outcomes = list(db.session.scalars(select(TaskOutcome).where(
        TaskOutcome.session_id == session.id, TaskOutcome.component == "practical",
        (TaskOutcome.status == "awaiting_arbitration") | TaskOutcome.arbitrated_by.is_not(None))
        .order_by(TaskOutcome.id)))
    plan = practical_plan(session)
    open_cases, done = [], []
    for outcome in outcomes:
        enrolment = db.session.get(Enrolment, outcome.enrolment_id)
        if is_related(session.org_id, actor.user_id, enrolment.user_id):
            continue
        task = plan.task(outcome.task_code)
        sheets = [s for s in _sheets(enrolment.id, "practical", outcome.task_code) if s.status == "signed"]
        users = {u.id: u for u in db.session.scalars(select(User).where(
            User.id.in_([s.assessor_id for s in sheets])))}
        case = ArbitrationCase(outcome, enrolment, enrolment.user, task,
                               [(users[s.assessor_id], s) for s in sheets])
        (open_cases if outcome.status == "awaiting_arbitration" else done).append(case)
    return session, open_cases, done


def arbitrate(actor: Actor, outcome_id: int, score: Any, veto_decisions: dict[str, bool],
              reason: str | None) -> TaskOutcome:
    """The chief assessor decides a case: the task's score and, for each disputed veto item,
    whether the breach is confirmed, with a written reason.

    :raise NotFound: no such case, or the chief declared a relationship with the candidate.
    :raise Conflict: the case is not awaiting arbitration.
    :raise ValidationFailed: no reason, a score outside 0–100, a disputed veto left undecided.
    """
    outcome = db.session.get(TaskOutcome, outcome_id)
    if outcome is None or outcome.component != "practical":
        raise NotFound(gettext("No such case."))
    session = _chief(actor, outcome.session_id)
    enrolment = db.session.get(Enrolment, outcome.enrolment_id)
    if is_related(session.org_id, actor.user_id, enrolment.user_id):
        raise NotFound(gettext("No such case."))
    if outcome.status != "awaiting_arbitration":
        raise Conflict(gettext("This case was already decided."))
    problems = []
    try:
        value = rules.parse_amount(score)
    except ValueError:
        value = None
    if value is None or value > rules.HUNDRED:
        problems.append(Problem(gettext("A score from 0 to 100."), "score"))
    decisions = {code: veto_decisions.get(code) for code in outcome.vetoes_disputed}
    for code, decision in decisions.items():
        if decision not in (True, False):
            problems.append(Problem(gettext("Confirm or deny the veto item %(code)s.", code=code), f"veto-{code}"))
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        problems.append(Problem(gettext("Write the reason for your decision."), "reason"))
    if problems:
        raise ValidationFailed(gettext("The decision is incomplete."), problems=problems)
    outcome.score = rules.money(value)
    outcome.veto_decisions = decisions
    outcome.veto = bool(outcome.vetoes_agreed) or any(decisions.values())
    outcome.status = "final"
    outcome.arbitrated_by = actor.user_id
    outcome.arbitrated_at = now_utc()
    outcome.arbitration_reason = reason
    audit.record("practical.arbitrated", actor=actor, obj=outcome,
                 data={"enrolment_id": enrolment.id, "task": outcome.task_code,
                       "reconciled": rules.text(outcome.reconciled_score), "score": rules.text(outcome.score),
                       "veto_decisions": decisions, "veto": outcome.veto, "reason": reason})
    db.session.commit()
    return outcome
