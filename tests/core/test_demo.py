from sqlalchemy import func, select

from exam.accounts.models import Membership, Organisation, User
from exam.core.audit import verify_chain
from exam.core.auth import ORG_ROLES
from exam.extensions import db


def test_demo_is_idempotent_and_has_every_role(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["exam", "demo"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        counts = (db.session.scalar(select(func.count(User.id))),
                  db.session.scalar(select(func.count(Membership.id))))
    second = runner.invoke(args=["exam", "demo"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        assert counts == (db.session.scalar(select(func.count(User.id))),
                          db.session.scalar(select(func.count(Membership.id))))
        org = db.session.scalar(select(Organisation).where(Organisation.code == "DEMO"))
        roles = set(db.session.scalars(select(Membership.role).where(Membership.org_id == org.id)))
        assert roles == set(ORG_ROLES)
        assert db.session.scalar(select(User).where(User.is_regulator.is_(True))) is not None
        assert verify_chain().ok
    for username in ("admin", "editor", "proctor", "assessor", "supervisor", "candidate", "regulator"):
        assert f" {username} " in second.output
    # The printed password works.
    line = next(l for l in second.output.splitlines() if l.split()[:2] == ["admin", "admin"])
    password = line.split()[2]
    client = app.test_client()
    assert client.post("/login", data={"login": "admin", "password": password}).status_code == 302
