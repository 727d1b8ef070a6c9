"""Demo content: a published electrician level-5 session of the DEMO body, with a room, two
proctors, three assessors (one chief), the supervisor, and the demo candidate approved, seated
and holding an admission ticket.

Needs the electrician level-5 bank and a ready blueprint (the banks and papers demos, which
run first); without them it says so and does nothing. Idempotent: a second run finds the
session and the enrolment and changes nothing.
"""
from __future__ import annotations

import io
from datetime import datetime, time, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..accounts import services as accounts
from ..accounts.models import User
from ..banks.models import Bank, Occupation
from ..core.auth import Actor
from ..core.clock import now_utc
from ..core.errors import DomainError
from ..extensions import db
from ..papers.models import Blueprint, PracticalSpec
from . import enrolments, services
from .models import Enrolment, ExamSession

SESSION_CODE = "DEMO-ELEC5-01"
ELECTRICIAN = "6-31-01-03"
BEIJING = ZoneInfo("Asia/Shanghai")


def _user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def _at(day, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 0), BEIJING).astimezone(timezone.utc)


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


def load(org, echo: Callable[[str], None]) -> None:
    occupation = db.session.scalar(select(Occupation).where(Occupation.code == ELECTRICIAN))
    bank = occupation and db.session.scalar(select(Bank).where(
        Bank.org_id == org.id, Bank.occupation_id == occupation.id, Bank.level == 5))
    blueprint = bank and db.session.scalar(select(Blueprint).where(
        Blueprint.bank_id == bank.id, Blueprint.status.in_(("ready", "locked"))).order_by(Blueprint.id))
    if blueprint is None:
        echo("Demo session skipped: no electrician level-5 bank with a ready blueprint.")
        return
    people = {name: _user(name) for name in ("proctor", "proctor2", "assessor", "assessor2", "assessor3",
                                             "supervisor", "candidate")}
    missing = [name for name, user in people.items() if user is None]
    if missing:
        echo(f"Demo session skipped: demo users missing ({', '.join(missing)}).")
        return
    system = Actor.system("system: demo", org_id=org.id)
    try:
        session = _ensure_session(system, org, occupation, blueprint, people)
        _ensure_candidate(system, session, people["candidate"])
    except DomainError as exc:
        db.session.rollback()
        echo(f"Demo session NOT ready: {exc.message}")
        for problem in exc.problems[:20]:
            echo(f"  {problem}")
        return
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.session_id == session.id,
                                                          Enrolment.user_id == people["candidate"].id))
    echo(f"Demo session {session.code}: {session.name} ({session.status}); candidate ticket "
         f"{enrolment.ticket_no}, {enrolment.room.name} seat {enrolment.seat_no}.")


def _ensure_session(system: Actor, org, occupation, blueprint, people) -> ExamSession:
    session = db.session.scalar(select(ExamSession).where(ExamSession.org_id == org.id,
                                                          ExamSession.code == SESSION_CODE))
    if session is None:
        today = now_utc().astimezone(BEIJING).date()
        start = _at(today + timedelta(days=5), 9)
        spec = db.session.scalar(select(PracticalSpec).where(
            PracticalSpec.org_id == org.id, PracticalSpec.occupation_id == occupation.id,
            PracticalSpec.level == 5))
        practical = spec is not None and spec.current_version_id is not None
        data = services.SessionData(
            name="电工五级（初级工）理论知识考试与操作技能考核", code=SESSION_CODE,
            occupation_id=occupation.id, level=5,
            components=["theory", "practical"] if practical else ["theory"],
            blueprint_id=blueprint.id,
            practical_spec_version_id=spec.current_version_id if practical else None,
            enrolment_opens_at=now_utc() - timedelta(days=1), enrolment_closes_at=start - timedelta(days=1),
            theory_start_at=start, practical_at=_at(today + timedelta(days=6), 9) if practical else None,
            practical_place="实训楼 201 电工实训室" if practical else None,
            rooms=[services.RoomData(name="第一考场", capacity=30, location="教学楼 3 层 301 机房",
                                     proctor_ids=[people["proctor"].id, people["proctor2"].id])],
            assessor_groups={people[name].id: 1 for name in ("assessor", "assessor2", "assessor3")},
            chief_assessor_id=people["assessor"].id, supervisor_ids=[people["supervisor"].id],
            notes="示范批次：考前一天 16:00 前打印准考证；考场提前 30 分钟开放。")
        session = services.create_session(system, org.id, data)
    if session.status == "draft":
        services.publish_session(system, session.id)
    return session


def _ensure_candidate(system: Actor, session: ExamSession, candidate: User) -> None:
    if candidate.photo_file_id is None:
        accounts.update_photo(accounts.build_actor(candidate, None, None), demo_photo(),
                              photo_max_bytes=2 * 1024 * 1024)
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.session_id == session.id,
                                                          Enrolment.user_id == candidate.id))
    if enrolment is None and session.status == "published":
        enrolment = services.apply_for_session(accounts.build_actor(candidate, None, None), session.id,
                                               {"years_in_occupation": 3, "education": "senior_secondary"})
    if enrolment is not None and enrolment.status == "applied":
        services.decide_enrolments(system, session.id, [enrolment.id], True)
    if enrolment is not None and enrolment.room_id is None and session.status == "published":
        enrolments.assign_seats(system, session.id)
