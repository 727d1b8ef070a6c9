"""Attempts at the theory exam: start, autosave, submit, expiry, device takeover, and the
proctor's actions on them (extend, end, let resume elsewhere).

Rules (DESIGN.md, "Time and answers"):

* The server's clock is the only clock. ``deadline_at`` is stored at the start and moved
  only by audited extensions; every answer carries the remaining time.
* A save is accepted while the attempt is in progress and ``now ≤ deadline_at + grace``;
  per item, a change with a lower sequence number than the stored one is ignored; a
  save is acknowledged only after its commit.
* An attempt past its deadline is finalised with what was saved by then, lazily
  whenever it is touched and by ``flask exam expire-overdue``.
* Submitted and finalised attempts never change; submitting twice is harmless.
* Correct answers are never read here: item versions are loaded without their answer.

The exam page's frequent requests (autosave, status, signals) are in ``autosave``.
"""
from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from flask_babel import get_locale, gettext
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..banks import qtypes
from ..banks.models import ItemVersion
from ..core import audit
from ..core.auth import ADMIN, Actor, require_org
from ..core.clock import now_utc
from ..core.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationFailed
from ..core.web import localtime
from ..extensions import db
from ..papers.models import Paper
from ..sessions.models import Enrolment, ExamSession, Room
from ..supervision import board
from ..supervision.services import add_incident
from . import autosave, rules
from .models import Attempt, Response

log = logging.getLogger(__name__)

#: Session states in which candidates may start: enrolment closed (``closed``) or the
#: session formally started (``in_progress``). The start window decides within them, so
#: an exam begins on time even when nobody pressed "start session".
STARTABLE_SESSION_STATES = ("closed", "in_progress")
MAX_EXTENSION_MINUTES = 240


# --- looking things up ----------------------------------------------------------------------

def _own_enrolment(actor: Actor, enrolment_id: int) -> Enrolment:
    """:raise NotFound: no such enrolment, or someone else's."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.user_id != actor.user_id or actor.user_id is None:
        raise NotFound(gettext("No such exam."))
    return enrolment


def own_attempt(actor: Actor, attempt_id: int, *, lock: bool = False) -> Attempt:
    """The candidate's own attempt, finalised first if its deadline has passed.

    :raise NotFound: no such attempt, or someone else's.
    """
    stmt = select(Attempt).where(Attempt.id == attempt_id)
    if lock:
        stmt = stmt.with_for_update()
    attempt = db.session.scalar(stmt)
    if attempt is None or actor.user_id is None or attempt.user_id != actor.user_id:
        raise NotFound(gettext("No such exam."))
    if is_overdue(attempt) and finalise_if_overdue(attempt.id):
        db.session.refresh(attempt)
    return attempt


def is_overdue(attempt: Attempt, now: datetime | None = None) -> bool:
    """In progress, but past its deadline and the grace: to be finalised."""
    return attempt.is_open and (now or now_utc()) > attempt.deadline_at + autosave.save_grace()


def attempt_for_enrolment(enrolment_id: int) -> Attempt | None:
    return db.session.scalar(select(Attempt).where(Attempt.enrolment_id == enrolment_id))


def duration_minutes(session: ExamSession, paper: Paper | None) -> int | None:
    """The session's theory duration, else the blueprint's."""
    if session.theory_duration_minutes:
        return session.theory_duration_minutes
    if paper is not None and paper.blueprint is not None:
        return paper.blueprint.duration_minutes
    return None


def _sits_theory(enrolment: Enrolment, session: ExamSession) -> bool:
    """The session has a theory exam and the candidate sits it (no components listed: all)."""
    return "theory" in (session.components or []) and \
        "theory" in (enrolment.components or session.components or [])


# --- before the start ---------------------------------------------------------------------------

@dataclass
class Prestart:
    """What the page before the start shows, and whether the candidate may start now."""

    enrolment: Enrolment
    session: ExamSession
    room: Room | None
    attempt: Attempt | None
    window: rules.StartWindow | None
    duration_minutes: int | None
    #: Reasons the candidate cannot start now (empty: the start button works).
    problems: list[str] = field(default_factory=list)
    needs_access_code: bool = False
    #: Milliseconds until the window opens / until the late-entry cut-off (None when unknown).
    opens_in_ms: int | None = None
    closes_in_ms: int | None = None
    #: Waiting for something that changes by itself (opening time, check-in): reload later.
    waiting: bool = False


def _start_problems(enrolment: Enrolment, session: ExamSession, room: Room | None,
                    window: rules.StartWindow | None, duration: int | None, now: datetime,
                    ip: str | None) -> tuple[list[str], bool]:
    problems, waiting = [], False
    if enrolment.status != "approved":
        problems.append(gettext("Your application has not been approved for this session."))
    if not _sits_theory(enrolment, session):
        problems.append(gettext("You do not sit the theory exam in this session."))
    if session.status in ("draft", "published"):
        problems.append(gettext("The exam has not been opened yet."))
        waiting = True
    elif session.status not in STARTABLE_SESSION_STATES:
        problems.append(gettext("This exam session is over."))
    if window is None or not duration:
        problems.append(gettext("The time of the exam has not been set yet."))
    else:
        state = window.state(now)
        if state == "not_yet":
            problems.append(gettext("The exam opens at %(time)s.",
                                    time=localtime(window.opens_at, "HH:mm")))
            waiting = True
        elif state == "closed":
            problems.append(gettext("Entry closed at %(time)s: candidates may not start later than "
                                    "%(minutes)d minutes after the exam began.",
                                    time=localtime(window.closes_at, "HH:mm"),
                                    minutes=session.late_entry_minutes))
    if session.requires_checkin and enrolment.checked_in_at is None:
        problems.append(gettext("A proctor must check you in first: show your admission ticket "
                                "and ID document in the exam room."))
        waiting = True
    if room is not None and not rules.address_allowed(ip, room.ip_allowlist):
        problems.append(gettext("This computer is not on the exam room's network. Use a computer "
                                "in the exam room."))
    return problems, waiting


def prestart(actor: Actor, enrolment_id: int, ip: str | None) -> Prestart:
    """The candidate's view before the start (rules, times, what still stops them).

    :raise NotFound: no such enrolment of the candidate.
    """
    enrolment = _own_enrolment(actor, enrolment_id)
    session = enrolment.session
    room = enrolment.room
    attempt = attempt_for_enrolment(enrolment.id)
    if attempt is not None and is_overdue(attempt) and finalise_if_overdue(attempt.id):
        db.session.refresh(attempt)
    paper = db.session.scalar(select(Paper).where(Paper.enrolment_id == enrolment.id))
    duration = duration_minutes(session, paper)
    window = rules.StartWindow.of(session.theory_start_at, session.late_entry_minutes,
                                  session.theory_hard_end_at)
    now = now_utc()
    problems, waiting = _start_problems(enrolment, session, room, window, duration, now, ip)
    info = Prestart(enrolment, session, room, attempt, window, duration, problems,
                    needs_access_code=bool(room is not None and room.access_code), waiting=waiting)
    if window is not None:
        info.opens_in_ms = autosave.ms(window.opens_at - now)
        info.closes_in_ms = autosave.ms(window.closes_at - now)
    return info


def _paper_for(enrolment: Enrolment) -> Paper:
    """The candidate's paper: normally prepared before the session, so this is a lookup.

    :raise Conflict: no paper and none can be assembled now.
    """
    paper = db.session.scalar(select(Paper).where(Paper.enrolment_id == enrolment.id))
    if paper is not None:
        return paper
    try:
        from ..papers import services as papers
    except ImportError:
        papers = None
    assemble = getattr(papers, "assemble_paper_for_enrolment", None)
    if assemble is not None:
        system = Actor.system("system: exam start", org_id=enrolment.session.org_id)
        try:
            assembled = assemble(system, enrolment.id)
        except Exception:
            log.exception("assembling the paper of enrolment %s at the start failed", enrolment.id)
            db.session.rollback()
            assembled = None
        if assembled is not None:
            return db.session.get(Paper, assembled.id) if isinstance(assembled, Paper) \
                else db.session.scalar(select(Paper).where(Paper.enrolment_id == enrolment.id))
    raise Conflict(gettext("Your paper is not ready. Tell the proctor; nothing has started."),
                   code="no_paper")


def paper_shape(paper: Paper) -> list[str]:
    """The shape code of every position of the paper (one query for the versions' types)."""
    ids = [entry["v"] for entry in paper.items]
    rows = db.session.execute(select(ItemVersion.id, ItemVersion.type, ItemVersion.options,
                                     ItemVersion.stem).where(ItemVersion.id.in_(ids)))
    by_id = {row.id: rules.shape_code(row.type, row.options, row.stem) for row in rows}
    return [by_id[version_id] for version_id in ids]


@dataclass
class Started:
    attempt: Attempt
    #: The new device's token (None when the attempt already existed: the page claims).
    device_token: str | None
    created: bool


def start_attempt(actor: Actor, enrolment_id: int, *, ip: str | None, access_code: str | None,
                  pledge: bool) -> Started:
    """Start the candidate's theory exam, or return the attempt they already started.

    :raise NotFound: no such enrolment of the candidate.
    :raise ValidationFailed: something stops the start (outside the window, not checked in,
        wrong address or access code, pledge not accepted); every reason is listed.
    :raise Conflict: the paper is not ready.
    """
    enrolment = _own_enrolment(actor, enrolment_id)
    existing = attempt_for_enrolment(enrolment.id)
    if existing is not None:
        return Started(existing, None, False)
    session, room = enrolment.session, enrolment.room
    now = now_utc()
    paper_row = db.session.scalar(select(Paper).where(Paper.enrolment_id == enrolment.id))
    duration = duration_minutes(session, paper_row)
    window = rules.StartWindow.of(session.theory_start_at, session.late_entry_minutes,
                                  session.theory_hard_end_at)
    messages, _ = _start_problems(enrolment, session, room, window, duration, now, ip)
    problems = [Problem(m) for m in messages]
    if room is not None and room.access_code and not rules.access_code_matches(room.access_code,
                                                                              access_code):
        problems.append(Problem(gettext("The access code is not right: the proctor announces it "
                                        "in the room."), "access_code"))
    if not pledge:
        problems.append(Problem(gettext("Accept the integrity pledge to start."), "pledge"))
    if problems:
        raise ValidationFailed(gettext("The exam cannot start yet."), problems=problems)
    paper = paper_row or _paper_for(enrolment)
    duration = duration or duration_minutes(session, paper)
    deadline = rules.compute_deadline(now, duration, multiplier=enrolment.time_multiplier or 1,
                                      extra_minutes=enrolment.extra_minutes or 0,
                                      hard_end_at=session.theory_hard_end_at)
    shape = paper_shape(paper)
    token = rules.new_device_token(1)
    attempt = Attempt(org_id=session.org_id, enrolment_id=enrolment.id, user_id=enrolment.user_id,
                      paper_id=paper.id, session_id=session.id, room_id=enrolment.room_id,
                      status="in_progress", started_at=now, deadline_at=deadline,
                      device_token_hash=rules.hash_token(token), device_epoch=1, start_ip=ip,
                      item_count=len(shape), shape=shape, max_seq=0, extended_minutes=0)
    db.session.add(attempt)
    try:
        db.session.flush()
    except IntegrityError:  # a second click of the same candidate won the race
        db.session.rollback()
        return Started(attempt_for_enrolment(enrolment.id), None, False)
    audit.record("attempt.started", actor=actor, obj=attempt,
                 data={"enrolment_id": enrolment.id, "paper_id": paper.id, "deadline_at": deadline,
                       "duration_minutes": duration, "ip": ip, "items": len(shape)})
    db.session.commit()
    return Started(attempt, token, True)


# --- the exam page ------------------------------------------------------------------------------

@dataclass
class SheetItem:
    position: int
    number: int
    type: str
    stem: str
    points: str
    options: list[dict] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    blanks: int = 0
    has_image: bool = False


@dataclass
class SheetSection:
    index: int
    #: The title with its part number ("一、单项选择题"): the blueprint's own when it numbers it.
    heading: str
    items: list[SheetItem]
    #: Points of every item when they are all the same (shown in the section title).
    points_each: str | None = None


_NUMBERED = re.compile(r"^\s*(?:[一二三四五六七八九十]+|\d+)\s*[、.．]")
_CHINESE_NUMERALS = "一二三四五六七八九十"


def section_heading(number: int, title: str) -> str:
    """``一、单项选择题`` (or ``Part 1. Single choice``), unless the title is numbered already."""
    if _NUMBERED.match(title):
        return title
    chinese = str(get_locale() or "zh").startswith("zh") and number <= len(_CHINESE_NUMERALS)
    numeral = _CHINESE_NUMERALS[number - 1] if chinese else str(number)
    return gettext("Part %(n)s. %(title)s", n=numeral, title=title)


def _points_text(value: Any) -> str:
    number = Decimal(str(value or "0")).normalize()
    return format(number, "f")


def _section_titles(paper: Paper) -> dict[int, str]:
    spec = (paper.blueprint.spec if paper.blueprint is not None else None) or {}
    sections = spec.get("sections") if isinstance(spec, dict) else None
    titles = {}
    for index, section in enumerate(sections or []):
        if isinstance(section, dict):
            title = section.get("title") or section.get("name")
            if title:
                titles[index] = str(title)
    return titles


def exam_sheet(attempt: Attempt) -> list[SheetSection]:
    """The paper as the candidate sees it, by section: stems, options in the paper's order
    under display labels, blanks. Versions are read without their answers."""
    paper = db.session.get(Paper, attempt.paper_id)
    ids = [entry["v"] for entry in paper.items]
    versions = {row.id: row for row in db.session.execute(
        select(ItemVersion.id, ItemVersion.type, ItemVersion.stem, ItemVersion.options,
               ItemVersion.config, ItemVersion.stem_image_file_id).where(ItemVersion.id.in_(ids)))}
    titles = _section_titles(paper)
    sections: dict[int, SheetSection] = {}
    for position, entry in enumerate(paper.items):
        row = versions[entry["v"]]
        content = SimpleNamespace(type=row.type, stem=row.stem, options=row.options or [],
                                  config=row.config or {}, answer=None)
        view = qtypes.get_type(row.type).candidate_view(content, entry.get("o") or [])
        item = SheetItem(position=position, number=position + 1, type=row.type, stem=view["stem"],
                         points=_points_text(entry.get("p")), options=view.get("options", []),
                         parts=view.get("parts", []), blanks=view.get("blanks", 0),
                         has_image=row.stem_image_file_id is not None)
        index = int(entry.get("s", 0) or 0)
        if index not in sections:
            title = titles.get(index) or str(qtypes.get_type(row.type).label)
            sections[index] = SheetSection(index, title, [])
        sections[index].items.append(item)
    result = [sections[i] for i in sorted(sections)]
    for number, section in enumerate(result, start=1):
        section.heading = section_heading(number, section.heading)
        points = {item.points for item in section.items}
        section.points_each = points.pop() if len(points) == 1 else None
    return result


def stem_image(actor: Actor, attempt_id: int, position: int):
    """The stored image of an item's stem (``StoredFile``).

    :raise NotFound: not the candidate's attempt, no such item, or the item has no image.
    """
    from ..core.files import StoredFile

    attempt = own_attempt(actor, attempt_id)
    paper = db.session.get(Paper, attempt.paper_id)
    if not 0 <= position < len(paper.items):
        raise NotFound(gettext("No such item."))
    file_id = db.session.scalar(select(ItemVersion.stem_image_file_id)
                                .where(ItemVersion.id == paper.items[position]["v"]))
    stored = db.session.get(StoredFile, file_id) if file_id else None
    if stored is None:
        raise NotFound(gettext("No such image."))
    return stored


def saved_responses(attempt_id: int) -> dict[int, tuple[Any, bool]]:
    """Position → (answer, flagged) of every acknowledged response."""
    rows = db.session.execute(select(Response.position, Response.answer, Response.flagged)
                              .where(Response.attempt_id == attempt_id))
    return {position: (answer, flagged) for position, answer, flagged in rows}


def answered_count(attempt_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Response).where(
        Response.attempt_id == attempt_id, Response.answered.is_(True))) or 0


def earliest_handin_at(attempt: Attempt, session: ExamSession) -> datetime:
    """No hand-in in the first minutes (the session's rule), unless the deadline comes first."""
    return min(attempt.started_at + timedelta(minutes=session.earliest_handin_minutes or 0),
               attempt.deadline_at)


def timing(attempt: Attempt, now: datetime | None = None) -> dict:
    """The times the page counts from (milliseconds from now, by the server's clock)."""
    now = now or now_utc()
    session = db.session.get(ExamSession, attempt.session_id)
    handin = earliest_handin_at(attempt, session)
    return {"remaining_ms": max(autosave.ms(attempt.deadline_at - now), 0),
            "handin_in_ms": max(autosave.ms(handin - now), 0), "handin_at": localtime(handin, "HH:mm"),
            "server_time": autosave.epoch_ms(now), "grace_ms": autosave.ms(autosave.save_grace()),
            "extended": attempt.extended_minutes}


def sync_state(attempt: Attempt, now: datetime | None = None) -> dict:
    """What the page re-synchronises from: state, highest sequence number, times."""
    return {"status": attempt.status, "seq": attempt.max_seq, **timing(attempt, now)}


def exam_page(attempt: Attempt, new_device_token: str | None = None) -> dict:
    """Everything the exam page shows: the candidate, the paper by section, and the state the
    page starts from (acknowledged answers, times, the new device's token after a start)."""
    from ..accounts.models import User

    session = db.session.get(ExamSession, attempt.session_id)
    state = sync_state(attempt)
    room = db.session.get(Room, attempt.room_id) if attempt.room_id else None
    state.update(attempt=attempt.id, items=attempt.item_count, epoch=attempt.device_epoch,
                 needs_code=bool(room is not None and room.access_code),
                 token=new_device_token, shape=attempt.shape,
                 answers=[[position, answer, flagged] for position, (answer, flagged)
                          in sorted(saved_responses(attempt.id).items())])
    return {"session": session, "enrolment": db.session.get(Enrolment, attempt.enrolment_id),
            "candidate": db.session.get(User, attempt.user_id), "sections": exam_sheet(attempt),
            "state": state}


def summary(attempt: Attempt) -> dict:
    """The confirmation after the exam: how many answered, when and how it ended (no score,
    no answer key)."""
    return {"attempt": attempt, "session": db.session.get(ExamSession, attempt.session_id),
            "answered": answered_count(attempt.id), "item_count": attempt.item_count}


# --- device binding -------------------------------------------------------------------------------

def claim_device(actor: Actor, attempt_id: int, *, ip: str | None, access_code: str | None,
                 confirm: bool) -> tuple[Attempt, str]:
    """Let this device save the attempt from now on; any other device is stopped.

    When no device holds the attempt (a proctor let the candidate resume elsewhere) it is
    taken without a question; otherwise only with ``confirm`` (the page warns first) and
    the room's access code. Either way it is recorded as an incident.

    :raise NotFound: not the candidate's attempt.
    :raise Gone: the attempt is over.
    :raise PermissionDenied: this address is not on the room's allow-list.
    :raise Conflict: ``device_in_use`` (ask the candidate to confirm first).
    :raise ValidationFailed: wrong access code.
    """
    attempt = own_attempt(actor, attempt_id, lock=True)
    if not attempt.is_open:
        raise autosave.closed()
    room = db.session.get(Room, attempt.room_id) if attempt.room_id else None
    if room is not None and not rules.address_allowed(ip, room.ip_allowlist):
        raise PermissionDenied(gettext("This computer is not on the exam room's network. Use a "
                                       "computer in the exam room."), code="address")
    was_bound = attempt.device_token_hash is not None
    if was_bound and not confirm:
        raise Conflict(gettext("Your exam is open on another device. If you continue here, the "
                               "other device stops saving, and the change is recorded."),
                       code="device_in_use")
    if was_bound and room is not None and room.access_code and \
            not rules.access_code_matches(room.access_code, access_code):
        raise ValidationFailed(gettext("The access code is not right: the proctor announces it in "
                                       "the room."), code="access_code",
                               problems=[Problem(gettext("Wrong code."), "access_code")])
    previous = attempt.device_epoch
    attempt.device_epoch = previous + 1
    token = rules.new_device_token(attempt.device_epoch)
    attempt.device_token_hash = rules.hash_token(token)
    now = now_utc()
    details = {"epoch": attempt.device_epoch, "previous_epoch": previous, "ip": ip,
               "allowed_by_proctor": not was_bound}
    add_incident(org_id=attempt.org_id, session_id=attempt.session_id, room_id=attempt.room_id,
                 enrolment_id=attempt.enrolment_id, attempt_id=attempt.id, kind="device_takeover",
                 source="system", occurred_at=now, details=details)
    audit.record("attempt.device_taken_over", actor=actor, obj=attempt, data=details)
    db.session.commit()
    return attempt, token


# --- handing in and finalising ------------------------------------------------------------------------

def _score_after_commit(attempt_id: int) -> None:
    """Score the attempt when the scoring domain offers ``score_attempt``; its failure never
    undoes the submission (it was committed before)."""
    try:
        scoring = importlib.import_module("exam.scoring.services")
    except ImportError as exc:
        if getattr(exc, "name", None) != "exam.scoring.services":
            log.exception("scoring could not be loaded; attempt %s stays unscored", attempt_id)
        return
    score = getattr(scoring, "score_attempt", None)
    if score is None:
        return
    try:
        score(attempt_id)
    except Exception:
        log.exception("scoring attempt %s failed; the attempt stays handed in", attempt_id)
        db.session.rollback()


def finalise_if_overdue(attempt_id: int, now: datetime | None = None) -> bool:
    """Finalise an attempt whose deadline (plus grace) has passed, with the responses saved by
    then. Safe to call from several places at once: only one of them finalises.

    Returns True when this call finalised it.
    """
    now = now or now_utc()
    # End any read transaction first: on SQLite the write must open the transaction.
    db.session.commit()
    result = db.session.execute(
        update(Attempt).where(Attempt.id == attempt_id, Attempt.status == "in_progress",
                              Attempt.deadline_at < now - autosave.save_grace())
        .values(status="expired", finalised_at=now, ended_by="server")
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.commit()
        return False
    attempt = db.session.get(Attempt, attempt_id, populate_existing=True)
    audit.record("attempt.expired", actor=Actor.system("system: deadline", org_id=attempt.org_id),
                 obj=attempt, data={"deadline_at": attempt.deadline_at,
                                    "answered": answered_count(attempt_id),
                                    "items": attempt.item_count})
    db.session.commit()
    _score_after_commit(attempt_id)
    return True


def expire_overdue(now: datetime | None = None) -> int:
    """Finalise every attempt past its deadline (for cron). Returns how many were finalised."""
    now = now or now_utc()
    ids = list(db.session.scalars(select(Attempt.id).where(
        Attempt.status == "in_progress", Attempt.deadline_at < now - autosave.save_grace())))
    return sum(1 for attempt_id in ids if finalise_if_overdue(attempt_id, now))


def submit_attempt(actor: Actor, attempt_id: int, device_token: str | None, raw_changes: Any = None,
                   *, at_deadline: bool = False) -> Attempt:
    """Hand in, saving the changes sent with the hand-in first (one transaction).

    Handing in an attempt that is already over changes nothing and returns it.

    :raise NotFound: not the candidate's attempt.
    :raise Conflict: ``device_replaced``; ``too_early`` before the earliest hand-in time.
    """
    changes = autosave.parse(raw_changes or [])
    attempt = own_attempt(actor, attempt_id, lock=True)
    if not attempt.is_open:
        return attempt
    now = now_utc()
    if not rules.device_matches(attempt.device_token_hash, device_token):
        raise autosave.device_replaced(attempt.device_token_hash is None)
    session = db.session.get(ExamSession, attempt.session_id)
    handin_at = earliest_handin_at(attempt, session)
    if now < handin_at:
        raise Conflict(gettext("You can hand in from %(time)s.", time=localtime(handin_at, "HH:mm")),
                       code="too_early")
    valid, rejected = rules.split_valid(changes, attempt.shape)
    if valid:
        db.session.execute(autosave.upsert_statement(db.engine.dialect.name),
                           autosave.response_rows(attempt.id, valid, attempt.shape, now))
        top = max(c.seq for c in valid)
        attempt.max_seq = max(attempt.max_seq, top)
    attempt.status = "submitted"
    attempt.submitted_at = attempt.finalised_at = now
    attempt.ended_by = "timer" if at_deadline else "candidate"
    attempt.last_save_at = now if valid else attempt.last_save_at
    db.session.flush()
    audit.record("attempt.submitted", actor=actor, obj=attempt,
                 data={"answered": answered_count(attempt.id), "items": attempt.item_count,
                       "at_deadline": at_deadline, "rejected": len(rejected)})
    db.session.commit()
    _score_after_commit(attempt.id)
    return attempt


# --- the proctor's actions ------------------------------------------------------------------------------

def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > 300:
        raise ValidationFailed(gettext("Give the reason (at most 300 characters)."),
                               problems=[Problem(gettext("Required."), "reason")])
    return reason


def _minutes(minutes: Any) -> int:
    if type(minutes) is not int or not 1 <= minutes <= MAX_EXTENSION_MINUTES:
        raise ValidationFailed(gettext("Extend by 1 to %(n)d minutes.", n=MAX_EXTENSION_MINUTES),
                               problems=[Problem(gettext("1 to %(n)d.", n=MAX_EXTENSION_MINUTES),
                                                 "minutes")])
    return minutes


def _attempt_for_proctor(actor: Actor, attempt_id: int) -> Attempt:
    """The attempt, locked, when ``actor`` may act on its room; finalised first when overdue.

    :raise NotFound / PermissionDenied: see ``board.require_room``.
    :raise Conflict: the attempt is already over.
    """
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(gettext("No such attempt."))
    if attempt.room_id is not None:
        board.require_room(actor, attempt.room_id, act=True)
    else:
        require_org(actor, attempt.org_id, ADMIN)
    if is_overdue(attempt):
        finalise_if_overdue(attempt.id)
    attempt = db.session.scalar(select(Attempt).where(Attempt.id == attempt_id).with_for_update()
                                .execution_options(populate_existing=True))
    if not attempt.is_open:
        raise Conflict(gettext("This attempt is already over."), code="closed")
    return attempt


def _extend(actor: Actor, attempt: Attempt, minutes: int, reason: str, now: datetime) -> None:
    old = attempt.deadline_at
    attempt.deadline_at = old + timedelta(minutes=minutes)
    attempt.extended_minutes += minutes
    add_incident(org_id=attempt.org_id, session_id=attempt.session_id, room_id=attempt.room_id,
                 enrolment_id=attempt.enrolment_id, attempt_id=attempt.id, kind="time_extended",
                 source="proctor", occurred_at=now, recorded_by=actor.user_id,
                 details={"minutes": minutes, "reason": reason,
                          "deadline_at": attempt.deadline_at.isoformat()})


def extend_attempt(actor: Actor, attempt_id: int, minutes: Any, reason: str | None) -> Attempt:
    """Give one candidate more time: moves ``deadline_at``; the page learns it at its next
    save or status check.

    :raise ValidationFailed: minutes out of range, no reason.
    :raise Conflict: the attempt is over.
    """
    minutes, reason = _minutes(minutes), _reason(reason)
    attempt = _attempt_for_proctor(actor, attempt_id)
    old = attempt.deadline_at
    _extend(actor, attempt, minutes, reason, now_utc())
    audit.record("attempt.extended", actor=actor, obj=attempt,
                 data={"minutes": minutes, "reason": reason, "from": old, "to": attempt.deadline_at})
    db.session.commit()
    return attempt


def extend_room(actor: Actor, room_id: int, minutes: Any, reason: str | None) -> int:
    """Give every attempt in progress in the room more time. Returns how many were extended."""
    minutes, reason = _minutes(minutes), _reason(reason)
    room = board.require_room(actor, room_id, act=True)
    ids = list(db.session.scalars(select(Attempt.id).where(Attempt.room_id == room.id,
                                                           Attempt.status == "in_progress")))
    for attempt_id in ids:
        finalise_if_overdue(attempt_id)
    attempts = list(db.session.scalars(
        select(Attempt).where(Attempt.room_id == room.id, Attempt.status == "in_progress")
        .order_by(Attempt.id).with_for_update().execution_options(populate_existing=True)))
    now = now_utc()
    for attempt in attempts:
        _extend(actor, attempt, minutes, reason, now)
    audit.record("attempt.extended_room", actor=actor, obj=room, org_id=room.session.org_id,
                 data={"minutes": minutes, "reason": reason,
                       "attempts": [a.id for a in attempts]})
    db.session.commit()
    return len(attempts)


def end_attempt(actor: Actor, attempt_id: int, reason: str | None) -> Attempt:
    """A proctor ends an attempt (e.g. a serious breach): finalised with what was saved."""
    reason = _reason(reason)
    attempt = _attempt_for_proctor(actor, attempt_id)
    now = now_utc()
    attempt.status = "ended"
    attempt.finalised_at = now
    attempt.ended_by = "proctor"
    attempt.end_reason = reason
    add_incident(org_id=attempt.org_id, session_id=attempt.session_id, room_id=attempt.room_id,
                 enrolment_id=attempt.enrolment_id, attempt_id=attempt.id, kind="attempt_ended",
                 source="proctor", occurred_at=now, recorded_by=actor.user_id,
                 details={"reason": reason})
    db.session.flush()
    audit.record("attempt.ended", actor=actor, obj=attempt,
                 data={"reason": reason, "answered": answered_count(attempt.id),
                       "items": attempt.item_count})
    db.session.commit()
    _score_after_commit(attempt.id)
    return attempt


def allow_resume(actor: Actor, attempt_id: int, reason: str | None) -> Attempt:
    """Let the candidate continue on another computer: the device binding is cleared, so the
    next device takes over without a warning (and the old one stops saving)."""
    reason = _reason(reason)
    attempt = _attempt_for_proctor(actor, attempt_id)
    attempt.device_token_hash = None
    add_incident(org_id=attempt.org_id, session_id=attempt.session_id, room_id=attempt.room_id,
                 enrolment_id=attempt.enrolment_id, attempt_id=attempt.id, kind="resume_allowed",
                 source="proctor", occurred_at=now_utc(), recorded_by=actor.user_id,
                 details={"reason": reason, "epoch": attempt.device_epoch})
    audit.record("attempt.resume_allowed", actor=actor, obj=attempt, data={"reason": reason})
    db.session.commit()
    return attempt


# --- the candidate's list of exams -----------------------------------------------------------------------

@dataclass
class ExamEntry:
    enrolment: Enrolment
    session: ExamSession
    attempt: Attempt | None


def my_exams(actor: Actor) -> list[ExamEntry]:
    """The candidate's approved theory exams: those open now first, then those to come (the
    next first), then the past ones (the latest first)."""
    rows = db.session.execute(
        select(Enrolment, ExamSession, Attempt)
        .join(ExamSession, ExamSession.id == Enrolment.session_id)
        .outerjoin(Attempt, Attempt.enrolment_id == Enrolment.id)
        .where(Enrolment.user_id == actor.user_id, Enrolment.status == "approved",
               ExamSession.status.in_(("published", "closed", "in_progress", "finished",
                                       "results_published")))
        .order_by(ExamSession.theory_start_at.desc(), Enrolment.id.desc()).limit(50)).all()
    entries = []
    for enrolment, session, attempt in rows:
        if not _sits_theory(enrolment, session):
            continue
        if attempt is not None and is_overdue(attempt) and finalise_if_overdue(attempt.id):
            db.session.refresh(attempt)
        entries.append(ExamEntry(enrolment, session, attempt))
    return sorted(entries, key=_listing_order)


def _listing_order(entry: ExamEntry) -> tuple[int, float]:
    at = entry.session.theory_start_at.timestamp() if entry.session.theory_start_at else 0.0
    if entry.session.status == "in_progress":
        return 0, at
    if entry.session.status in ("published", "closed"):
        return 1, at
    return 2, -at

