"""Demo content: a published electrician level-5 session of the DEMO body, with a room, two
proctors, three assessors (one chief), the supervisor, and the demo candidate approved, seated
and holding an admission ticket.

Needs the electrician level-5 bank and a ready blueprint (the banks and papers demos, which
run first); without them it says so and does nothing. Idempotent: a second run finds the
session and the enrolment and changes nothing.

The helpers below are shared with the showcase sessions of the delivery and scoring demos
(an exam open now, a session with published results): the electrician plan, the demo staff,
session data, extra candidates registered through the accounts services, and ``replayed_at``,
which runs a step with the clock set to the moment it happened.
"""
from __future__ import annotations

import io
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..accounts import services as accounts
from ..accounts.models import User
from ..banks.models import Bank, Occupation
from ..core import audit, clock
from ..core.auth import Actor
from ..core.clock import now_utc
from ..core.errors import DomainError
from ..demo import demo_resident_id
from ..extensions import db
from ..papers.models import Blueprint, PracticalSpec
from . import enrolments, services
from .models import Enrolment, ExamSession

SESSION_CODE = "DEMO-ELEC5-01"
ELECTRICIAN = "6-31-01-03"
BEIJING = ZoneInfo("Asia/Shanghai")
#: The demo users a session of the DEMO body needs (``exam.demo.DEMO_USERS``).
SESSION_PEOPLE = ("admin", "proctor", "proctor2", "assessor", "assessor2", "assessor3", "supervisor",
                  "candidate")
#: What candidates declare when they apply for level 5 (one year in the occupation suffices).
LEVEL5_EVIDENCE = {"years_in_occupation": 3, "education": "senior_secondary"}


# --- shared with the showcase demos -----------------------------------------------------------

def _user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def local_moment(day: date, hour: int, minute: int = 0) -> datetime:
    """``day`` at ``hour:minute`` Beijing time, in UTC."""
    return datetime.combine(day, time(hour, minute), BEIJING).astimezone(timezone.utc)


def local_date(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


@contextmanager
def replayed_at(moment: datetime) -> Iterator[datetime]:
    """Run a step as if the clock showed ``moment`` (the clock is put back afterwards)."""
    with clock.shifted(moment - now_utc()) as shifted:
        yield shifted


class Timeline:
    """Steps to replay in the order they happened, each with the clock at its moment."""

    def __init__(self) -> None:
        self._steps: list[tuple[datetime, int, Callable[[], object]]] = []

    def at(self, moment: datetime, step: Callable[[], object]) -> None:
        self._steps.append((moment, len(self._steps), step))

    def replay(self) -> None:
        for moment, _, step in sorted(self._steps, key=lambda s: (s[0], s[1])):
            with replayed_at(moment):
                step()
        self._steps.clear()


def record_replay(org, session: ExamSession, since: datetime) -> None:
    """Say in the audit trail that this showcase's events since ``since`` were replayed by the
    demo with the clock set to their moments (their times are earlier than this event's)."""
    audit.record("demo.showcase_replayed", actor=Actor.system("system: demo", org_id=org.id), obj=session,
                 data={"code": session.code, "replayed_from": since, "replayed_until": now_utc()})
    db.session.commit()


def actor_of(user: User, org) -> Actor:
    """The user acting in the demo body (their roles there)."""
    return accounts.build_actor(db.session.get(User, user.id), org.id, None)


@dataclass
class ElectricianPlan:
    occupation: Occupation
    blueprint: Blueprint
    #: The current version of the level-5 practical specification, when there is one.
    practical_spec_version_id: int | None


def electrician_plan(org) -> ElectricianPlan | None:
    """The demo body's electrician level-5 bank's ready (or locked) blueprint and practical
    specification; None without them."""
    occupation = db.session.scalar(select(Occupation).where(Occupation.code == ELECTRICIAN))
    bank = occupation and db.session.scalar(select(Bank).where(
        Bank.org_id == org.id, Bank.occupation_id == occupation.id, Bank.level == 5))
    blueprint = bank and db.session.scalar(select(Blueprint).where(
        Blueprint.bank_id == bank.id, Blueprint.status.in_(("ready", "locked"))).order_by(Blueprint.id))
    if blueprint is None:
        return None
    spec = db.session.scalar(select(PracticalSpec).where(
        PracticalSpec.org_id == org.id, PracticalSpec.occupation_id == occupation.id,
        PracticalSpec.level == 5))
    return ElectricianPlan(occupation, blueprint, spec.current_version_id if spec else None)


def demo_people(names=SESSION_PEOPLE) -> tuple[dict[str, User], list[str]]:
    """(username → user, usernames missing) of the demo users."""
    people = {name: _user(name) for name in names}
    return ({name: user for name, user in people.items() if user is not None},
            [name for name, user in people.items() if user is None])


def session_data(code: str, name: str, plan: ElectricianPlan, people: dict[str, User], *,
                 enrolment_opens_at: datetime, enrolment_closes_at: datetime, theory_start_at: datetime,
                 practical_at: datetime | None = None, notes: str | None = None,
                 late_entry_minutes: int = 15, earliest_handin_minutes: int = 30) -> services.SessionData:
    """An electrician level-5 session of the demo body: theory in one room watched by both demo
    proctors, supervised by the demo supervisor; with ``practical_at``, a practical assessment by
    the three demo assessors (the first one chief)."""
    practical = practical_at is not None
    return services.SessionData(
        name=name, code=code, occupation_id=plan.occupation.id, level=5,
        components=["theory", "practical"] if practical else ["theory"],
        blueprint_id=plan.blueprint.id,
        practical_spec_version_id=plan.practical_spec_version_id if practical else None,
        enrolment_opens_at=enrolment_opens_at, enrolment_closes_at=enrolment_closes_at,
        theory_start_at=theory_start_at, late_entry_minutes=late_entry_minutes,
        earliest_handin_minutes=earliest_handin_minutes,
        practical_at=practical_at, practical_place="实训楼 201 电工实训室" if practical else None,
        rooms=[services.RoomData(name="第一考场", capacity=30, location="教学楼 3 层 301 机房",
                                 proctor_ids=[people["proctor"].id, people["proctor2"].id])],
        assessor_groups=({people[n].id: 1 for n in ("assessor", "assessor2", "assessor3")}
                         if practical else {}),
        chief_assessor_id=people["assessor"].id if practical else None,
        supervisor_ids=[people["supervisor"].id], notes=notes)


def demo_photo() -> bytes:
    """A plain head-and-shoulders silhouette on a white background (a stand-in 1-inch photo)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (300, 400), (250, 251, 253))
    draw = ImageDraw.Draw(image)
    draw.ellipse((95, 70, 205, 190), fill=(176, 186, 199))
    draw.rounded_rectangle((45, 215, 255, 420), radius=90, fill=(176, 186, 199))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


PHOTO_MAX_BYTES = 2 * 1024 * 1024


def ensure_photo(user: User) -> None:
    if user.photo_file_id is None:
        accounts.update_photo(accounts.build_actor(user, None, None), demo_photo(),
                              photo_max_bytes=PHOTO_MAX_BYTES)


@dataclass(frozen=True)
class DemoPerson:
    """A demo candidate without a login of their own (they only sit the showcase exams)."""

    real_name: str
    #: Resident ID: region code, birth date (YYYYMMDD), sequence (odd last digit: male).
    region: str
    birth: str
    seq: str
    phone: str
    employer: str
    education: str = "senior_secondary"

    @property
    def id_number(self) -> str:
        return demo_resident_id(self.region, self.birth, self.seq)


def ensure_person(person: DemoPerson) -> User:
    """The person's candidate account, registered through the accounts service (with a photo and
    a random password nobody knows: they never sign in) when it does not exist yet."""
    user = db.session.scalar(select(User).where(User.id_type == "resident_id",
                                                User.id_number == person.id_number))
    if user is not None:
        return user
    return accounts.register_candidate(
        accounts.Registration(real_name=person.real_name, id_type="resident_id",
                              id_number=person.id_number, phone=person.phone,
                              password=f"x{secrets.token_urlsafe(18)}7", education=person.education,
                              employer=person.employer),
        demo_photo(), photo_max_bytes=PHOTO_MAX_BYTES)


def enrolment_of(session: ExamSession, user: User) -> Enrolment | None:
    return db.session.scalar(select(Enrolment).where(Enrolment.session_id == session.id,
                                                     Enrolment.user_id == user.id))


def ensure_applied(session: ExamSession, user: User, evidence: dict | None = None) -> Enrolment:
    """The candidate's application, sent by themselves (online) when there is none yet."""
    enrolment = enrolment_of(session, user)
    if enrolment is None:
        ensure_photo(user)
        enrolment = services.apply_for_session(accounts.build_actor(user, None, None), session.id,
                                               dict(evidence or LEVEL5_EVIDENCE))
    return enrolment


# --- the published session ------------------------------------------------------------------------

def report_refusal(echo: Callable[[str], None], title: str, exc: DomainError) -> None:
    """A showcase step was refused: undo the showcase's unsaved work and say why."""
    db.session.rollback()
    echo(f"{title} NOT ready: {exc.message}")
    for problem in exc.problems[:20]:
        echo(f"  {problem}")


def approve_close_and_open(admin: Actor, session: ExamSession, *, approved_at: datetime) -> None:
    """The steps between applications and the exam, each at its time: approve every pending
    application, close enrolment the evening it closes (which prepares the papers), and open
    the session half an hour before the theory exam. Steps already done are skipped."""
    if session.status == "published":
        applied = [e.id for e in db.session.scalars(select(Enrolment).where(
            Enrolment.session_id == session.id, Enrolment.status == "applied"))]
        if applied:
            with replayed_at(approved_at):
                services.decide_enrolments(admin, session.id, applied, True)
        with replayed_at(session.enrolment_closes_at + timedelta(minutes=5)):
            result = services.close_enrolment(admin, session.id)
        if result.warnings:  # the papers could not be prepared
            raise DomainError(" ".join(result.warnings))
    if session.status == "closed":
        with replayed_at(session.theory_start_at - timedelta(minutes=30)):
            services.start_session(admin, session.id)


def load(org, echo: Callable[[str], None]) -> None:
    plan = electrician_plan(org)
    if plan is None:
        echo("Demo session skipped: no electrician level-5 bank with a ready blueprint.")
        return
    people, missing = demo_people()
    if missing:
        echo(f"Demo session skipped: demo users missing ({', '.join(missing)}).")
        return
    system = Actor.system("system: demo", org_id=org.id)
    try:
        session = _ensure_session(system, org, plan, people)
        _ensure_candidate(system, session, people["candidate"])
    except DomainError as exc:
        report_refusal(echo, "Demo session", exc)
        return
    enrolment = enrolment_of(session, people["candidate"])
    echo(f"Demo session {session.code}: {session.name} ({session.status}); candidate ticket "
         f"{enrolment.ticket_no}, {enrolment.room.name} seat {enrolment.seat_no}.")


def _ensure_session(system: Actor, org, plan: ElectricianPlan, people) -> ExamSession:
    session = db.session.scalar(select(ExamSession).where(ExamSession.org_id == org.id,
                                                          ExamSession.code == SESSION_CODE))
    if session is None:
        today = local_date(now_utc())
        start = local_moment(today + timedelta(days=5), 9)
        practical = plan.practical_spec_version_id is not None
        data = session_data(
            SESSION_CODE, "电工五级（初级工）理论知识考试与操作技能考核", plan, people,
            enrolment_opens_at=now_utc() - timedelta(days=1), enrolment_closes_at=start - timedelta(days=1),
            theory_start_at=start,
            practical_at=local_moment(today + timedelta(days=6), 9) if practical else None,
            notes="示范批次：考前一天 16:00 前打印准考证；考场提前 30 分钟开放。")
        session = services.create_session(system, org.id, data)
    if session.status == "draft":
        services.publish_session(system, session.id)
    return session


def _ensure_candidate(system: Actor, session: ExamSession, candidate: User) -> None:
    ensure_photo(candidate)
    enrolment = enrolment_of(session, candidate)
    if enrolment is None and session.status == "published":
        enrolment = ensure_applied(session, candidate)
    if enrolment is not None and enrolment.status == "applied":
        services.decide_enrolments(system, session.id, [enrolment.id], True)
    if enrolment is not None and enrolment.room_id is None and session.status == "published":
        enrolments.assign_seats(system, session.id)
