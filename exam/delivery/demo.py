"""Demo content: an electrician level-5 theory exam of the DEMO body open right now, so that a
visitor can sign in as ``candidate`` and start it, or as ``proctor`` and watch the room live.

The demo replays the exam's history at its historical times: the session was planned and
published three days ago, the candidates registered and applied that day, the administrator
approved them the next day, enrolment closed yesterday at 17:00 (seats and papers), the
session began half an hour before the exam, proctors checked candidates in, and the exam
opened a few minutes before the demo ran. Of six other candidates, four started and saved
answers (one switched tabs, one got five more minutes from the proctor, one has handed in),
one is checked in and has not started, one has not arrived. Every step goes through the
domains' services with the clock (``exam.core.clock.shifted``) set to its moment for that
step only, so the audit trail, deadlines and the live board are what real use gives (an
audit event ``demo.showcase_replayed`` says so).

Entry closes ``timing.MAX_LATE_ENTRY`` (60) minutes after the start. A rerun while at least
``MIN_MINUTES_LEFT`` of that remain changes nothing; later (say ``make run`` the next day) it
plans a fresh session ``DEMO-ELEC5-NOW-<YYMMDDhhmm>``, and finishes the earlier ones whose
attempts are all over, as an administrator would after an exam (their candidates who never
started stay absent): the session list then shows one exam in progress, the current one.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import select

from ..accounts.models import User
from ..accounts.services import build_actor
from ..banks import qtypes
from ..banks.models import ItemVersion
from ..core.auth import Actor
from ..core.clock import now_utc
from ..core.errors import DomainError
from ..extensions import db
from ..papers.models import Paper
from ..sessions import services as sessions
from ..sessions import tickets, timing
from ..sessions.demo import (BEIJING, DemoPerson, Timeline, actor_of, approve_close_and_open, demo_people,
                             electrician_plan, ensure_applied, ensure_person, enrolment_of, local_date,
                             local_moment, record_replay, replayed_at, report_refusal, session_data)
from ..sessions.models import ExamSession
from . import autosave, services
from .models import Attempt

LIVE_PREFIX = "DEMO-ELEC5-NOW-"
#: The exam opened this many minutes before the demo runs.
STARTED_MINUTES_AGO = 12
#: A showcase with less time than this left to start the exam is replaced by a fresh one.
MIN_MINUTES_LEFT = 15
#: The body's rule is commonly 30 minutes; five let a visitor try handing in.
EARLIEST_HANDIN_MINUTES = 5
AUTO_SCORED = ("single", "multiple", "true_false")


# --- sitting the exam (shared with the scoring demo) ----------------------------------------------

def _wrong_answer(kind: str, right: Any, option_count: int, rng: random.Random) -> Any:
    labels = list(qtypes.OPTION_KEYS[:option_count])
    if kind == "single":
        return rng.choice([label for label in labels if label != right])
    if kind == "multiple":
        if len(right) > 1:
            return sorted(set(right) - {rng.choice(right)})
        return sorted(set(right) | {rng.choice([label for label in labels if label not in right])})
    return not right


def simulated_answers(attempt: Attempt, accuracy: float, seed: str) -> list[tuple[int, Any]]:
    """(position, answer in the labels the candidate saw), in paper order, of a candidate who
    knows about ``accuracy`` of the paper. Items a marker scores are left blank."""
    paper = db.session.get(Paper, attempt.paper_id)
    ids = [entry["v"] for entry in paper.items]
    versions = {v.id: v for v in db.session.scalars(select(ItemVersion).where(ItemVersion.id.in_(ids)))}
    rng = random.Random(seed)
    wrong = set(rng.sample(range(len(ids)), round(len(ids) * (1 - accuracy))))
    answers = []
    for position, entry in enumerate(paper.items):
        version = versions[entry["v"]]
        if version.type not in AUTO_SCORED:
            continue
        order = entry.get("o") or []
        right = qtypes.get_type(version.type).correct_response(version, order)
        answers.append((position, _wrong_answer(version.type, right, len(order), rng)
                        if position in wrong else right))
    return answers


@dataclass
class _Run:
    attempt_id: int | None = None
    token: str | None = None
    answers: list[tuple[int, Any]] = field(default_factory=list)


def schedule_sitting(timeline: Timeline, user: User, enrolment_id: int, *, starts_at: datetime,
                     save_times: list[datetime], accuracy: float, seed: str, answered: int | None = None,
                     submit_at: datetime | None = None, signals: tuple[tuple[datetime, str], ...] = (),
                     extension: tuple[datetime, Actor, int, str] | None = None) -> None:
    """Put a candidate's theory exam on the timeline, through the delivery services as the exam
    page would call them: the start (pledge accepted), saves of ``answered`` answers (all when
    None) spread over ``save_times``, browser signals, a proctor's extension, the hand-in."""
    actor = build_actor(db.session.get(User, user.id), None, None)
    run = _Run()

    def start() -> None:
        started = services.start_attempt(actor, enrolment_id, ip=None, access_code=None, pledge=True)
        run.attempt_id, run.token = started.attempt.id, started.device_token
        planned = simulated_answers(started.attempt, accuracy, seed)
        run.answers = planned if answered is None else planned[:answered]

    def save(batch: int) -> None:
        count = len(run.answers)
        first, last = count * batch // len(save_times), count * (batch + 1) // len(save_times)
        changes = [{"p": position, "a": answer, "f": False, "q": seq}
                   for seq, (position, answer) in enumerate(run.answers, start=1) if first < seq <= last]
        if changes:
            autosave.save_responses(actor, run.attempt_id, run.token, changes)

    timeline.at(starts_at, start)
    for batch, moment in enumerate(save_times):
        timeline.at(moment, lambda batch=batch: save(batch))
    for moment, kind in signals:
        timeline.at(moment, lambda kind=kind: autosave.record_signals(actor, run.attempt_id, run.token,
                                                                       [{"k": kind, "ago": 0}]))
    if extension is not None:
        moment, proctor, minutes, reason = extension
        timeline.at(moment, lambda: services.extend_attempt(proctor, run.attempt_id, minutes, reason))
    if submit_at is not None:
        timeline.at(submit_at, lambda: services.submit_attempt(actor, run.attempt_id, run.token, []))


def spread(first: datetime, last: datetime, count: int) -> list[datetime]:
    """``count`` moments evenly from ``first`` to ``last``."""
    if count == 1:
        return [last]
    return [first + (last - first) * i / (count - 1) for i in range(count)]


# --- the exam open now -----------------------------------------------------------------------------

@dataclass(frozen=True)
class LiveSitting:
    person: DemoPerson
    checked_in: bool = True
    #: Minutes after the exam opened that the candidate started (None: not started yet).
    started_after: float | None = None
    answered: int = 0
    accuracy: float = 0.8
    handed_in: bool = False
    #: Browser signals (``supervision.models.BROWSER_KINDS``) the exam page sent.
    signals: tuple[str, ...] = ()
    #: Minutes the proctor added, and why.
    extension: tuple[int, str] | None = None


EMPLOYER = "示范电力装备有限公司"
LIVE_SITTINGS = (
    LiveSitting(DemoPerson("赵鹏", "370102", "19930718", "031", "13910000104", EMPLOYER),
                started_after=0.5, answered=85, accuracy=0.9, handed_in=True),
    LiveSitting(DemoPerson("李娜", "110101", "19980412", "024", "13910000101", EMPLOYER),
                started_after=1, answered=38, accuracy=0.85),
    LiveSitting(DemoPerson("王磊", "130102", "19950923", "015", "13910000102", "京南建设工程有限公司"),
                started_after=2, answered=29, accuracy=0.7, signals=("tab_hidden", "focus_lost")),
    LiveSitting(DemoPerson("陈静", "120101", "20000105", "046", "13910000103", EMPLOYER),
                started_after=4, answered=17, accuracy=0.8,
                extension=(5, "考试机死机，更换备用机后继续作答，补时 5 分钟。")),
    LiveSitting(DemoPerson("孙浩", "410105", "19970227", "053", "13910000105", "京南建设工程有限公司")),
    LiveSitting(DemoPerson("周婷", "510104", "19991130", "068", "13910000106", EMPLOYER), checked_in=False),
)


def load(org, echo: Callable[[str], None]) -> None:
    plan = electrician_plan(org)
    people, missing = demo_people()
    if plan is None or missing:
        echo("Exam open now: skipped (no electrician level-5 blueprint or demo users missing).")
        return
    session = _usable_live_session(org, people["candidate"])
    created = session is None
    try:
        if created:
            session = _plan_session(org, plan, people)
        _complete(org, session, people)
        if created:
            _finish_earlier(org, people, session)
            record_replay(org, session, _planned_at(session.theory_start_at))
    except DomainError as exc:
        report_refusal(echo, "Exam open now", exc)
        return
    closes = timing.entry_closes_at(session.theory_start_at, session.late_entry_minutes)
    echo(f"Exam open now ({session.code}, entry until {closes.astimezone(BEIJING):%H:%M} Beijing time): "
         f"sign in as candidate → 我的考试 to start it; as proctor → 考务 → 实时监考 to watch the room.")


def live_sessions(org) -> list[ExamSession]:
    """The showcase exams, the latest first."""
    return list(db.session.scalars(select(ExamSession).where(
        ExamSession.org_id == org.id, ExamSession.code.like(f"{LIVE_PREFIX}%"))
        .order_by(ExamSession.theory_start_at.desc(), ExamSession.id.desc())))


def _usable_live_session(org, candidate: User) -> ExamSession | None:
    """The latest showcase exam when the visitor can still start it (or has started it)."""
    found = live_sessions(org)
    if not found:
        return None
    session = found[0]
    closes = timing.entry_closes_at(session.theory_start_at, session.late_entry_minutes)
    if session.status not in ("finished", "results_published") and \
            now_utc() <= closes - timedelta(minutes=MIN_MINUTES_LEFT):
        return session
    enrolment = enrolment_of(session, candidate)
    attempt = enrolment and services.attempt_for_enrolment(enrolment.id)
    if attempt is not None and attempt.is_open and not services.is_overdue(attempt):
        return session
    return None


def _planned_at(start: datetime) -> datetime:
    """The session was planned and published at 10:00 three days before the exam."""
    return local_moment(local_date(start) - timedelta(days=3), 10)


def _plan_session(org, plan, people) -> ExamSession:
    start = now_utc().replace(second=0, microsecond=0) - timedelta(minutes=STARTED_MINUTES_AGO)
    day, planned = local_date(start), _planned_at(start)
    data = session_data(
        f"{LIVE_PREFIX}{start.astimezone(BEIJING):%y%m%d%H%M}", "电工五级（初级工）理论知识考试（示范场次）",
        plan, people, enrolment_opens_at=planned, enrolment_closes_at=local_moment(day - timedelta(days=1), 17),
        theory_start_at=start, late_entry_minutes=timing.MAX_LATE_ENTRY,
        earliest_handin_minutes=EARLIEST_HANDIN_MINUTES,
        notes="示范批次：考试已开始，开考后 60 分钟内可入场；开考 5 分钟后可交卷。")
    with replayed_at(planned):
        return sessions.create_session(actor_of(people["admin"], org), org.id, data)


def _complete(org, session: ExamSession, people) -> None:
    """Bring the showcase to its state now, step by step at each step's time; steps already
    done are skipped, so a complete showcase is left unchanged."""
    admin = actor_of(people["admin"], org)
    start, day = session.theory_start_at, local_date(session.theory_start_at)
    planned = _planned_at(start)
    if session.status == "draft":
        with replayed_at(planned + timedelta(minutes=5)):
            sessions.publish_session(admin, session.id)
    if session.status == "published":
        with replayed_at(planned + timedelta(minutes=40)):
            ensure_applied(session, people["candidate"])
        for number, sitting in enumerate(LIVE_SITTINGS, start=1):
            with replayed_at(planned + timedelta(hours=1, minutes=47 * number)):
                ensure_applied(session, ensure_person(sitting.person))
    approve_close_and_open(admin, session, approved_at=local_moment(day - timedelta(days=2), 15))
    _exam_room(org, session, people)


def _exam_room(org, session: ExamSession, people) -> None:
    """Check-ins and attempts not there yet, in the order they happened."""
    start, now = session.theory_start_at, now_utc()
    proctors = [actor_of(people[name], org) for name in ("proctor", "proctor2")]
    timeline = Timeline()
    sitters = [(people["candidate"], None)] + [(ensure_person(s.person), s) for s in LIVE_SITTINGS]
    for number, (user, sitting) in enumerate(sitters):
        enrolment = enrolment_of(session, user)
        if enrolment is None or enrolment.room_id is None:
            continue
        if enrolment.checked_in_at is None and (sitting is None or sitting.checked_in):
            proctor = proctors[number % 2]
            timeline.at(start - timedelta(minutes=20) + timedelta(minutes=2 * number),
                        lambda p=proctor, e=enrolment: tickets.check_in(p, e.room_id, e.ticket_no))
        if sitting is None or sitting.started_after is None or services.attempt_for_enrolment(enrolment.id):
            continue
        began = start + timedelta(minutes=sitting.started_after)
        last = now - timedelta(seconds=25 + 19 * number)  # each page saved at its own moment
        saves = spread(began + timedelta(seconds=50), last, max(1, min(8, sitting.answered // 5)))
        signals = tuple((began + (last - began) * (i + 1) / (len(sitting.signals) + 1), kind)
                        for i, kind in enumerate(sitting.signals))
        extension = None
        if sitting.extension is not None:
            minutes, reason = sitting.extension
            extension = (began + (last - began) / 2, proctors[0], minutes, reason)
        schedule_sitting(timeline, user, enrolment.id, starts_at=began, save_times=saves,
                         accuracy=sitting.accuracy, seed=f"{session.code}:{sitting.person.id_number}",
                         answered=sitting.answered, signals=signals, extension=extension,
                         submit_at=last + timedelta(seconds=10) if sitting.handed_in else None)
    timeline.replay()


def _finish_earlier(org, people, current: ExamSession) -> None:
    """Finish earlier showcase exams whose attempts are all over (overdue ones are finalised
    first, as the ``expire-overdue`` job does)."""
    services.expire_overdue()
    admin = actor_of(people["admin"], org)
    for session in live_sessions(org):
        if session.id == current.id or session.status != "in_progress":
            continue
        closes = timing.entry_closes_at(session.theory_start_at, session.late_entry_minutes)
        still_open = db.session.scalar(select(Attempt.id).where(
            Attempt.session_id == session.id, Attempt.status == "in_progress").limit(1))
        if now_utc() > closes and still_open is None:
            sessions.finish_session(admin, session.id)
