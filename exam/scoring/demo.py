"""Demo content: a finished electrician level-5 session of the DEMO body (``DEMO-ELEC5-<year>A``)
with theory and practical, scored, its results published and the publication period (公示)
over, so that the certificates demo, which runs next, issues its candidates' certificates
(dated the day the demo runs).

The demo replays the session's history at its historical times, each step through the domains'
services with the clock (``exam.core.clock.shifted``) set to its moment for that step only:
planned and published three weeks before the exam; five candidates (the demo ``candidate``
among them) apply, are approved and seated; enrolment closes three days before; on exam day,
a Saturday at least four weeks ago, proctors check the candidates in and they sit the theory
exam (scored on hand-in); the next day the three demo assessors score the practical tasks
independently and sign their sheets; one spread too wide goes to the chief assessor, who
decides it; the session finishes, and the results are published on the Tuesday for five
working days (the day is moved earlier until that period was over by yesterday). One
candidate fails the theory exam and may resit it.

Idempotent: a second run finds the session complete and changes nothing (a run that stopped
half-way carries on from the step it reached).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Callable

from sqlalchemy import select

from ..core.clock import now_utc
from ..core.errors import DomainError
from ..delivery import services as delivery
from ..delivery.demo import EMPLOYER, schedule_sitting, spread
from ..extensions import db
from ..sessions import services as sessions
from ..sessions import tickets
from ..sessions.demo import (DemoPerson, Timeline, actor_of, approve_close_and_open, demo_people,
                             electrician_plan, ensure_applied, ensure_person, enrolment_of, local_date,
                             local_moment, record_replay, replayed_at, report_refusal, session_data)
from ..sessions.models import ExamSession
from . import services
from .lookups import calendar, display_zone
from .models import Publication, ScoreSheet, TaskOutcome
from .sheets import practical_plan

CODE_PATTERN = "DEMO-ELEC5-____A"
PUBLICATION_DAYS = 5
APPEAL_DAYS = 5
#: The practical group's assessors, in the order of each task's three scores below.
ASSESSORS = ("assessor", "assessor2", "assessor3")


@dataclass(frozen=True)
class Sheet:
    """One assessor's sheet for a task: a total out of 100 (spread over the items), or the
    points of every item; with a note."""

    total: int | None = None
    points: dict[str, int] | None = None
    note: str | None = None


@dataclass(frozen=True)
class Candidate:
    #: None: the demo user ``candidate``.
    person: DemoPerson | None
    theory_accuracy: float
    #: Task code → the sheets of ``ASSESSORS``.
    practical: dict[str, tuple[Sheet, Sheet, Sheet]]
    #: (task, score, reason) of the chief assessor's decision, when the task went to them.
    arbitration: tuple[str, int, str] | None = None


def _totals(*scores: tuple[int, int, int]) -> dict[str, tuple[Sheet, Sheet, Sheet]]:
    return {task: tuple(Sheet(total) for total in three) for task, three in zip(("T1", "T2", "T3"), scores)}


CANDIDATES = (
    Candidate(None, 0.86, _totals((88, 86, 90), (90, 92, 88), (85, 85, 87))),
    Candidate(DemoPerson("钱丽", "110102", "19960514", "082", "13910000201", EMPLOYER), 0.79,
              _totals((82, 80, 84), (86, 84, 88), (90, 88, 90))),
    Candidate(DemoPerson("吴刚", "130104", "19920809", "057", "13910000202", "京南建设工程有限公司"), 0.91,
              {"T1": (Sheet(92), Sheet(90), Sheet(points={"T1.1": 9, "T1.2": 9, "T1.3": 23, "T1.4": 5,
                                                                 "T1.5": 10, "T1.6": 5, "T1.7": 10, "T1.8": 3},
                                                         note="两次通电试车均未成功（T1.6 扣 20 分）。")),
               "T2": (Sheet(88), Sheet(90), Sheet(90)), "T3": (Sheet(92), Sheet(90), Sheet(94))},
              arbitration=("T1", 92, "调阅试车记录与现场视频：考生第一次通电试车即成功，赵敏所记两次试车不成功系与"
                                     "邻工位混淆，T1.6 应得满分；其余评分点三位考评员意见一致，本任务定为 92 分。")),
    Candidate(DemoPerson("郑伟", "370203", "19940302", "013", "13910000203", EMPLOYER), 0.72,
              _totals((76, 78, 74), (80, 78, 82), (70, 72, 70))),
    Candidate(DemoPerson("冯雪", "410102", "19990621", "044", "13910000204", "京南建设工程有限公司"), 0.48,
              _totals((72, 70, 74), (78, 76, 80), (74, 72, 76))),
)


def sheet_entries(items: list[dict], sheet: Sheet) -> dict:
    """The sheet's entries: each item's points, a total spread over the items in proportion to
    their maxima (whole points, the rest taken from the largest items)."""
    if sheet.points is not None:
        return {code: {"points": str(points)} for code, points in sheet.points.items()}
    maxima = {item["code"]: int(Decimal(str(item["max_points"]))) for item in items}
    deduction = sum(maxima.values()) - sheet.total
    taken = {code: deduction * top // sum(maxima.values()) for code, top in maxima.items()}
    for code in sorted(maxima, key=lambda c: -maxima[c]):
        if sum(taken.values()) >= deduction:
            break
        if taken[code] < maxima[code]:
            taken[code] += 1
    return {code: {"points": str(maxima[code] - taken[code])} for code in maxima}


def _planned_at(day: date) -> datetime:
    """The session was planned and published three weeks before the exam."""
    return local_moment(day - timedelta(days=21), 9, 30)


def _published_at(day: date) -> datetime:
    """Results are published on the Tuesday after the Saturday exam."""
    return local_moment(day + timedelta(days=3), 9, 30)


def exam_day(now: datetime) -> date:
    """A Saturday at least four weeks before ``now`` whose publication period was over a day
    before ``now`` (holidays can lengthen it)."""
    today = local_date(now)
    day = today - timedelta(days=28 + (today.weekday() - 5) % 7)
    cal, zone = calendar(), display_zone()
    while cal.period_end(_published_at(day), PUBLICATION_DAYS, zone) > now - timedelta(days=1):
        day -= timedelta(days=7)
    return day


def finished_session(org) -> ExamSession | None:
    return db.session.scalar(select(ExamSession).where(
        ExamSession.org_id == org.id, ExamSession.code.like(CODE_PATTERN)).order_by(ExamSession.id))


def load(org, echo: Callable[[str], None]) -> None:
    plan = electrician_plan(org)
    people, missing = demo_people()
    if plan is None or plan.practical_spec_version_id is None or missing:
        echo("Finished exam with results: skipped (no electrician level-5 blueprint and practical "
             "specification, or demo users missing).")
        return
    session = finished_session(org)
    created = session is None
    try:
        if created:
            session = _plan_session(org, plan, people)
        _complete(org, session, people)
        if created:
            record_replay(org, session, _planned_at(local_date(session.theory_start_at)))
    except DomainError as exc:
        report_refusal(echo, "Finished exam with results", exc)
        return
    publication = db.session.scalar(select(Publication).where(Publication.session_id == session.id))
    echo(f"Finished exam with results ({session.code}, exam on {local_date(session.theory_start_at)}, "
         f"results published {local_date(publication.published_at)}): sign in as candidate → 我的成绩 "
         f"and 我的证书; as admin → 成绩与证书; as assessor → 评分 for the sheets and the chief's decision.")


def _plan_session(org, plan, people) -> ExamSession:
    day = exam_day(now_utc())
    planned = _planned_at(day)
    data = session_data(
        f"DEMO-ELEC5-{day:%Y}A", f"电工五级（初级工）{day.year}年{day.month}月批次理论知识考试与操作技能考核", plan, people,
        enrolment_opens_at=planned, enrolment_closes_at=local_moment(day - timedelta(days=3), 17),
        theory_start_at=local_moment(day, 9), practical_at=local_moment(day + timedelta(days=1), 8, 30),
        notes="示范批次：已结束；成绩已公示，证书已发放。")
    with replayed_at(planned):
        return sessions.create_session(actor_of(people["admin"], org), org.id, data)


def _users(people) -> list:
    return [people["candidate"] if c.person is None else ensure_person(c.person) for c in CANDIDATES]


def _complete(org, session: ExamSession, people) -> None:
    """Bring the session to results published, each missing step at its time."""
    admin = actor_of(people["admin"], org)
    day = local_date(session.theory_start_at)
    if session.status == "draft":
        with replayed_at(_planned_at(day) + timedelta(minutes=10)):
            sessions.publish_session(admin, session.id)
    if session.status == "published":
        for number, candidate in enumerate(CANDIDATES):
            moment = local_moment(day - timedelta(days=20 - number), 19, 10 + 7 * number)
            with replayed_at(moment):
                user = people["candidate"] if candidate.person is None else ensure_person(candidate.person)
                ensure_applied(session, user)
    approve_close_and_open(admin, session, approved_at=local_moment(day - timedelta(days=14), 10))
    if session.status == "in_progress":
        _theory_day(org, session, people)
        _practical_day(org, session, people)
        with replayed_at(local_moment(day + timedelta(days=1), 17, 30)):
            sessions.finish_session(admin, session.id)
    if session.status == "finished":
        with replayed_at(local_moment(day + timedelta(days=2), 10)):
            services.compute_results(admin, session.id)
        with replayed_at(_published_at(day)):
            services.publish_results(admin, session.id, PUBLICATION_DAYS, APPEAL_DAYS,
                                     "成绩公示 5 个工作日；对成绩有异议的，可在公示期内申请复核。")


def _theory_day(org, session: ExamSession, people) -> None:
    start = session.theory_start_at
    proctors = [actor_of(people[name], org) for name in ("proctor", "proctor2")]
    timeline = Timeline()
    for number, (candidate, user) in enumerate(zip(CANDIDATES, _users(people))):
        enrolment = enrolment_of(session, user)
        if enrolment.checked_in_at is None:
            timeline.at(start - timedelta(minutes=25 - 3 * number),
                        lambda p=proctors[number % 2], e=enrolment: tickets.check_in(p, e.room_id, e.ticket_no))
        if delivery.attempt_for_enrolment(enrolment.id) is not None:
            continue
        began = start + timedelta(minutes=1 + number)
        schedule_sitting(timeline, user, enrolment.id, starts_at=began,
                         save_times=spread(began + timedelta(minutes=20), began + timedelta(minutes=50), 3),
                         accuracy=candidate.theory_accuracy, seed=f"{session.code}:{user.id_number}",
                         submit_at=began + timedelta(minutes=55 + 4 * number))
    timeline.replay()


def _practical_day(org, session: ExamSession, people) -> None:
    day = local_date(session.theory_start_at) + timedelta(days=1)
    tasks = {task.code: task for task in practical_plan(session).tasks}
    finish_at = {"T1": local_moment(day, 11), "T2": local_moment(day, 13, 40), "T3": local_moment(day, 15, 10)}
    assessors = [people[name] for name in ASSESSORS]
    timeline = Timeline()
    for number, (candidate, user) in enumerate(zip(CANDIDATES, _users(people))):
        enrolment = enrolment_of(session, user)
        signed = {(s.task_code, s.assessor_id) for s in db.session.scalars(select(ScoreSheet).where(
            ScoreSheet.enrolment_id == enrolment.id, ScoreSheet.status == "signed"))}
        for code, sheets in candidate.practical.items():
            for turn, (assessor, sheet) in enumerate(zip(assessors, sheets)):
                if (code, assessor.id) in signed:
                    continue
                entries = sheet_entries(tasks[code].items, sheet)
                timeline.at(finish_at[code] + timedelta(minutes=6 * number + turn),
                            lambda a=actor_of(assessor, org), e=enrolment.id, c=code, x=entries, n=sheet.note:
                            services.sign_sheet(a, e, "practical", c, x, n))
        if candidate.arbitration is not None:
            code, score, reason = candidate.arbitration
            timeline.at(local_moment(day, 16, 30), lambda e=enrolment.id, c=code, s=score, r=reason:
                        _arbitrate(actor_of(people["assessor"], org), e, c, s, r))
    timeline.replay()


def _arbitrate(chief, enrolment_id: int, task_code: str, score: int, reason: str) -> None:
    outcome = db.session.scalar(select(TaskOutcome).where(
        TaskOutcome.enrolment_id == enrolment_id, TaskOutcome.component == "practical",
        TaskOutcome.task_code == task_code))
    if outcome is not None and outcome.status == "awaiting_arbitration":
        services.arbitrate(chief, outcome.id, score, {}, reason)
