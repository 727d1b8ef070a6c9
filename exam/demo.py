"""Demo data: the assessment body DEMO with a user of every role, and the bundled banks.

Idempotent: running it again finds what exists, resets the demo passwords and adds
what is missing. Every change goes through the domains' services, so the demo is
audited like real use.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import select

from .accounts import services as accounts
from .accounts.idnumbers import resident_id_check_char
from .accounts.models import Membership, Organisation, User
from .accounts.passwords import hash_password
from .core.auth import Actor
from .extensions import db

DEMO_CODE = "DEMO"


@dataclass
class DemoLogin:
    role: str
    username: str
    password: str
    real_name: str
    extra_roles: tuple[str, ...] = ()
    qualification_level: int | None = None


#: One user per role, plus what a realistic exam needs (2 proctors a room, 3 assessors).
DEMO_USERS = (
    DemoLogin("admin", "admin", "demo-admin-2026", "王建国"),
    DemoLogin("bank_editor", "editor", "demo-editor-2026", "李文静"),
    DemoLogin("proctor", "proctor", "demo-proctor-2026", "张伟"),
    DemoLogin("proctor", "proctor2", "demo-proctor-2026", "刘洋"),
    DemoLogin("assessor", "assessor", "demo-assessor-2026", "陈志强", qualification_level=2),
    DemoLogin("assessor", "assessor2", "demo-assessor-2026", "杨帆", qualification_level=3),
    DemoLogin("assessor", "assessor3", "demo-assessor-2026", "赵敏", qualification_level=3),
    DemoLogin("supervisor", "supervisor", "demo-supervisor-2026", "孙立"),
    DemoLogin("candidate", "candidate", "demo-candidate-2026", "周小明"),
    DemoLogin("regulator", "regulator", "demo-regulator-2026", "吴监管"),
)


def demo_resident_id(region: str, birth: str, seq: str) -> str:
    first17 = region + birth + seq
    return first17 + resident_id_check_char(first17)


@dataclass
class DemoSummary:
    logins: list[tuple[str, str, str, str]] = field(default_factory=list)


def _ensure_org(system: Actor) -> Organisation:
    org = db.session.scalar(select(Organisation).where(Organisation.code == DEMO_CODE))
    if org is not None:
        return org
    return accounts.create_organisation(system, accounts.OrganisationData(
        code=DEMO_CODE, name="示范技能人才评价中心", name_en="SkillCert Demonstration Assessment Centre",
        kind="Y", body_code="0001", province_code="11", site_code="010001",
        contact_phone="010-88886666", address="北京市朝阳区示范路 1 号"))


def _ensure_user(org: Organisation, login: DemoLogin, index: int) -> User:
    user = db.session.scalar(select(User).where(User.username == login.username))
    if user is None:
        user = User(username=login.username, real_name=login.real_name,
                    password_hash=hash_password(login.password),
                    phone=f"1380000{index:04d}")
        if login.role == "candidate":
            user.id_type = "resident_id"
            user.id_number = demo_resident_id("110105", "19950307", "123")
            user.education = "senior_secondary"
            user.employer = "示范电力装备有限公司"
        db.session.add(user)
        db.session.flush()
    else:
        user.password_hash = hash_password(login.password)
        user.is_active_account = True
    if login.role == "regulator":
        user.is_regulator = True
    else:
        for role in (login.role, *login.extra_roles):
            exists = db.session.scalar(select(Membership).where(
                Membership.user_id == user.id, Membership.org_id == org.id, Membership.role == role))
            if exists is None:
                db.session.add(Membership(user_id=user.id, org_id=org.id, role=role,
                                          qualification_level=login.qualification_level))
            else:
                exists.active = True
    return user


def load_demo(echo: Callable[[str], None] = print) -> DemoSummary:
    system = Actor.system("system: demo")
    org = _ensure_org(system)
    summary = DemoSummary()
    for index, login in enumerate(DEMO_USERS, start=1):
        _ensure_user(org, login, index)
        summary.logins.append((login.role, login.username, login.password, login.real_name))
    from .core import audit

    audit.record("demo.accounts_refreshed", actor=Actor.system("system: demo", org_id=org.id),
                 obj=org, data={"users": [u.username for u in DEMO_USERS]})
    db.session.commit()
    echo(f"Demo organisation {org.code}: {org.name}")
    # Each domain with demo content (bundled banks, a sample session…) has exam/<domain>/demo.py
    # with load(org, echo); they run in the order of DOMAINS.
    from . import domain_modules

    for module in domain_modules("demo"):
        module.load(org, echo)
    return summary
