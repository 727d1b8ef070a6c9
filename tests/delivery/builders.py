"""An exam ready to sit, built directly through the models (no other domain's services):
an organisation with staff, a bank with items of every type, a blueprint, a session with
a room, approved and checked-in candidates, and one paper per candidate with its own
option orders.

Used by the delivery and supervision tests and by the benchmarks (which build thousands
of candidates: users, enrolments and papers are inserted in bulk).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import insert, select

from exam.accounts.models import Membership, Organisation, User
from exam.accounts.passwords import hash_password
from exam.banks import qtypes
from exam.banks.models import AssessmentElement, Bank, Item, ItemVersion, Occupation
from exam.extensions import db
from exam.papers.models import Blueprint, Paper
from exam.sessions.models import Enrolment, ExamSession, Room, SessionStaff

PASSWORD = "correct-horse-7"

#: Markers that must never reach a candidate's browser (answer keys and explanations).
SECRET_MARKERS = ("KEYMARK", "EXPLAINMARK")

#: (type, stem, options, answer, points) of the bank's items, one section per type.
ITEMS = [
    ("single", "下列导线颜色中，哪一种用作保护接地线（PE）？",
     ["红色", "黄绿双色", "淡蓝色", "黑色"], "B", "1"),
    ("single", "测量交流电压时，万用表应选择哪一挡？",
     ["直流电压挡", "交流电压挡", "电阻挡", "电流挡"], "B", "1"),
    ("single", "触电急救时首先应当做什么？",
     ["拨打电话", "使触电者脱离电源", "人工呼吸", "离开现场"], "B", "1"),
    ("multiple", "以下哪些属于电气安全用具？",
     ["绝缘手套", "塑料尺", "绝缘靴", "木梯", "验电器"], ["A", "C", "E"], "2"),
    ("multiple", "星三角降压启动适用于哪些情况？",
     ["正常运行为三角形接法的电动机", "正常运行为星形接法的电动机", "空载或轻载启动", "重载启动"],
     ["A", "C"], "2"),
    ("true_false", "在带电设备上工作时，可以不办理工作票。", None, False, "1"),
    ("true_false", "熔断器在电路中起短路保护作用。", None, True, "1"),
    ("fill_blank", "电流的单位是[[1]]，电压的单位是[[2]]。", None,
     [["KEYMARK安培", "KEYMARK-A"], ["KEYMARK伏特"]], "2"),
    ("short_answer", "简述三相异步电动机正反转控制电路中互锁的作用。", None,
     "KEYMARK 参考答案：防止两个接触器同时吸合造成电源短路。", "5"),
]
SECTION_TITLES = {"single": "单项选择题", "multiple": "多项选择题", "true_false": "判断题",
                  "fill_blank": "填空题", "short_answer": "简答题"}
SECTION_OF = {"single": 0, "multiple": 1, "true_false": 2, "fill_blank": 3, "short_answer": 4}


@lru_cache(maxsize=1)
def shared_password_hash() -> str:
    """One hash for every test user (hashing is deliberately slow)."""
    return hash_password(PASSWORD)


@dataclass
class ExamWorld:
    org: Organisation
    admin: User
    proctor: User
    supervisor: User
    session: ExamSession
    room: Room
    versions: list[ItemVersion]
    #: Short code of this exam: usernames are ``cand-<code>-<n>``, ``proctor-<code>``…
    code: str = "e1"
    candidates: list[User] = field(default_factory=list)
    enrolments: list[Enrolment] = field(default_factory=list)
    papers: dict[int, Paper] = field(default_factory=dict)

    def paper_of(self, enrolment: Enrolment) -> Paper:
        return self.papers[enrolment.id]


def _version(item: Item, item_type: str, stem: str, options, answer, points: str) -> ItemVersion:
    option_rows = [{"key": qtypes.OPTION_KEYS[i], "text": t, "pin_last": False}
                   for i, t in enumerate(options or [])]
    version = ItemVersion(item_id=item.id, version_no=1, type=item_type, stem=stem,
                          options=option_rows, answer=answer, points=Decimal(points), difficulty=3,
                          explanation="EXPLAINMARK 解析", config={}, fingerprint=f"fp-{item.id}")
    return version


def paper_items(versions: list[ItemVersion], rng: random.Random, count: int | None = None) -> list[dict]:
    """Paper.items for ``count`` items (default: each version once) cycling through the versions,
    by section, with option orders shuffled per paper."""
    count = count or len(versions)
    entries = []
    for n in range(count):
        version = versions[n % len(versions)]
        order = qtypes.get_type(version.type).option_order(version, rng)
        entries.append({"v": version.id, "s": SECTION_OF[version.type],
                        "p": format(Decimal(version.points), ".2f"), "o": order})
    entries.sort(key=lambda e: e["s"])
    return entries


def build_exam(now: datetime, *, candidates: int = 2, code: str = "E1", start_offset=timedelta(0),
               duration: int = 60, late_entry: int = 15, earliest_handin: int = 30,
               hard_end: datetime | None = None, requires_checkin: bool = True,
               checked_in: bool = True, status: str = "in_progress", ip_allowlist: str | None = None,
               access_code: str | None = None, items: int | None = None, seed: int = 7,
               password_hash: str | None = None) -> ExamWorld:
    """Build and commit an exam whose theory part starts at ``now + start_offset``; papers have
    ``items`` items (default: one of each of the bank's nine)."""
    rng = random.Random(seed)
    password_hash = password_hash or shared_password_hash()
    org = Organisation(code=f"ORG{code}", name=f"示范评价机构 {code}", kind="Y", body_code="0012",
                       province_code="44", site_code="030001")
    db.session.add(org)
    db.session.flush()

    def staff(role: str, name: str) -> User:
        user = User(username=f"{role}-{code}".lower(), real_name=name, password_hash=password_hash)
        db.session.add(user)
        db.session.flush()
        db.session.add(Membership(user_id=user.id, org_id=org.id, role=role))
        return user

    admin = staff("admin", "王管理")
    proctor = staff("proctor", "张监考")
    supervisor = staff("supervisor", "孙督导")
    occupation = db.session.scalar(select(Occupation).where(Occupation.code == "6-31-01-03"))
    if occupation is None:
        occupation = Occupation(code="6-31-01-03", name="电工", levels=[5, 4, 3, 2, 1], work_types=[])
        db.session.add(occupation)
        db.session.flush()
    bank = Bank(org_id=org.id, occupation_id=occupation.id, level=4, name="电工四级题库")
    db.session.add(bank)
    db.session.flush()
    point = AssessmentElement(bank_id=bank.id, code="1.1.1", name="安全用电", importance="X",
                              is_point=True, position=0, depth=2)
    db.session.add(point)
    db.session.flush()
    versions = []
    for item_type, stem, options, answer, points in ITEMS:
        item = Item(bank_id=bank.id, point_id=point.id, status="active")
        db.session.add(item)
        db.session.flush()
        version = _version(item, item_type, stem, options, answer, points)
        db.session.add(version)
        db.session.flush()
        item.current_version_id = version.id
        versions.append(version)
    spec = {"sections": [{"type": t, "title": SECTION_TITLES[t]} for t in SECTION_OF]}
    blueprint = Blueprint(org_id=org.id, bank_id=bank.id, name="电工四级理论", status="locked",
                          duration_minutes=duration, spec=spec)
    db.session.add(blueprint)
    db.session.flush()
    session = ExamSession(org_id=org.id, occupation_id=occupation.id, level=4, name=f"电工四级 {code} 批次",
                          code=f"S-{code.upper()}", status=status, components=["theory", "practical"],
                          blueprint_id=blueprint.id, theory_start_at=now + start_offset,
                          theory_duration_minutes=duration, theory_hard_end_at=hard_end,
                          late_entry_minutes=late_entry, earliest_handin_minutes=earliest_handin,
                          requires_checkin=requires_checkin)
    db.session.add(session)
    db.session.flush()
    room = Room(session_id=session.id, name="第一考场", location="实训楼 301", capacity=max(candidates, 60),
                ip_allowlist=ip_allowlist, access_code=access_code)
    db.session.add(room)
    db.session.flush()
    db.session.add(SessionStaff(session_id=session.id, user_id=proctor.id, role="proctor",
                                room_id=room.id))
    db.session.commit()

    world = ExamWorld(org, admin, proctor, supervisor, session, room, versions, code=code.lower())
    add_candidates(world, candidates, rng=rng, checked_in_at=now if checked_in else None,
                   password_hash=password_hash, items=items)
    return world


def add_candidates(world: ExamWorld, count: int, *, rng: random.Random, checked_in_at: datetime | None,
                   password_hash: str, items: int | None = None, batch: int = 500) -> None:
    """Add ``count`` approved candidates with papers, in bulk."""
    code = world.code
    start = len(world.candidates)
    for offset in range(0, count, batch):
        numbers = range(start + offset, start + min(offset + batch, count))
        users = [{"username": f"cand-{code}-{n}".lower(), "real_name": f"考生{n:04d}",
                  "password_hash": password_hash, "is_regulator": False, "is_active_account": True,
                  "session_version": 1, "created_at": world.session.created_at,
                  "updated_at": world.session.created_at} for n in numbers]
        db.session.execute(insert(User), users)
        created = list(db.session.scalars(select(User).where(
            User.username.in_([u["username"] for u in users])).order_by(User.id)))
        db.session.execute(insert(Membership), [
            {"user_id": u.id, "org_id": world.org.id, "role": "candidate", "active": True,
             "created_at": world.session.created_at, "updated_at": world.session.created_at}
            for u in created])
        db.session.execute(insert(Enrolment), [
            {"session_id": world.session.id, "user_id": u.id, "status": "approved",
             "source": "roster", "evidence": {}, "components": ["theory"], "room_id": world.room.id,
             "seat_no": n + 1, "ticket_no": f"T{code.upper()}{n + 1:05d}", "checked_in_at": checked_in_at,
             "extra_minutes": 0, "time_multiplier": Decimal("1"),
             "created_at": world.session.created_at, "updated_at": world.session.created_at}
            for n, u in zip(numbers, created)])
        enrolments = list(db.session.scalars(select(Enrolment).where(
            Enrolment.session_id == world.session.id,
            Enrolment.user_id.in_([u.id for u in created])).order_by(Enrolment.id)))
        db.session.execute(insert(Paper), [
            {"blueprint_id": world.session.blueprint_id, "session_id": world.session.id,
             "enrolment_id": e.id, "seed": rng.randrange(2 ** 31),
             "items": paper_items(world.versions, rng, items),
             "total_points": Decimal("100"), "created_at": world.session.created_at}
            for e in enrolments])
        db.session.commit()
        world.candidates.extend(created)
        world.enrolments.extend(enrolments)
    for paper in db.session.scalars(select(Paper).where(Paper.session_id == world.session.id)):
        world.papers[paper.enrolment_id] = paper


def correct_display_answers(paper: Paper, versions: dict[int, ItemVersion]) -> list:
    """The right answer of each position, in the display labels the candidate sees."""
    return [qtypes.get_type(versions[e["v"]].type).correct_response(versions[e["v"]], e["o"])
            for e in paper.items]


def load_exam(code: str) -> ExamWorld:
    """The exam ``build_exam(code=code)`` made, read back from the database."""
    session = db.session.scalar(select(ExamSession).where(ExamSession.code == f"S-{code.upper()}"))
    org = db.session.get(Organisation, session.org_id)

    def staff(role: str) -> User:
        return db.session.scalar(select(User).where(User.username == f"{role}-{code}".lower()))

    room = db.session.scalar(select(Room).where(Room.session_id == session.id))
    blueprint = db.session.get(Blueprint, session.blueprint_id)
    versions = list(db.session.scalars(select(ItemVersion).join(Item, Item.id == ItemVersion.item_id)
                                       .where(Item.bank_id == blueprint.bank_id)
                                       .order_by(ItemVersion.id)))
    world = ExamWorld(org, staff("admin"), staff("proctor"), staff("supervisor"), session, room,
                      versions, code=code.lower())
    world.enrolments = list(db.session.scalars(select(Enrolment).where(
        Enrolment.session_id == session.id).order_by(Enrolment.id)))
    users = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_([e.user_id for e in world.enrolments])))}
    world.candidates = [users[e.user_id] for e in world.enrolments]
    for paper in db.session.scalars(select(Paper).where(Paper.session_id == session.id)):
        world.papers[paper.enrolment_id] = paper
    return world
