import pytest
from sqlalchemy import select, text

from exam.accounts.models import Organisation
from exam.core import audit
from exam.core.audit import AuditChainHead, AuditEvent, GENESIS_HASH, verify_chain
from exam.core.auth import Actor
from exam.extensions import db


def _record_n(n: int, org: Organisation) -> None:
    actor = Actor(user_id=7, org_id=org.id, roles=frozenset({"admin"}), label="admin", ip="10.0.0.1")
    for i in range(n):
        org.name = f"评价机构 v{i}"
        audit.record("organisation.renamed", actor=actor, obj=org, data={"name": org.name, "i": i})
        db.session.commit()


def test_events_are_written_with_the_change_and_chained(factory):
    org = factory.org()
    _record_n(3, org)
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    assert events[2].object_type == "organisations" and events[2].object_id == str(org.id)
    assert events[2].org_id == org.id and events[2].actor_label == "admin" and events[2].ip == "10.0.0.1"
    assert events[2].details == {"name": "评价机构 v2", "i": 2}
    head = db.session.get(AuditChainHead, 1)
    assert head.seq == 3 and head.last_hash == events[2].hash
    report = verify_chain()
    assert report.ok and report.count == 3


def test_rolled_back_change_leaves_no_event(factory):
    org = factory.org()
    audit.record("organisation.renamed", actor=Actor.system(), obj=org)
    db.session.rollback()
    _record_n(1, org)
    assert db.session.scalar(select(AuditEvent.seq)) == 1
    assert verify_chain().count == 1


def test_object_id_is_known_after_flush_for_new_rows(factory):
    org = Organisation(code="NEWORG", name="新机构", kind="S", body_code="0000",
                       province_code="31", site_code="000001")
    db.session.add(org)
    audit.record("organisation.created", actor=Actor.system(), obj=org)
    db.session.commit()
    event = db.session.scalar(select(AuditEvent))
    assert event.object_id == str(org.id) and event.org_id == org.id


def test_orm_refuses_to_update_or_delete_events(factory):
    org = factory.org()
    _record_n(1, org)
    event = db.session.scalar(select(AuditEvent))
    event.action = "something.else"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.scalar(select(AuditEvent)))
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()


def test_database_trigger_refuses_direct_updates(factory):
    org = factory.org()
    _record_n(1, org)
    with pytest.raises(Exception, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE audit_events SET action = 'x'"))
    with pytest.raises(Exception, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_events"))


def _tamper(statement: str) -> None:
    """What someone with database rights could do: lift the triggers and change rows."""
    dialect = db.engine.dialect.name
    db.session.rollback()  # end the test's own read transaction (and its snapshot)
    with db.engine.begin() as conn:
        for s in audit.disable_triggers_sql(dialect):
            conn.execute(text(s))
        conn.execute(text(statement))
        for s in audit.enable_triggers_sql(dialect):
            conn.execute(text(s))


def test_verify_names_the_altered_event(factory):
    org = factory.org()
    _record_n(5, org)
    _tamper("UPDATE audit_events SET data = '{\"name\":\"forged\"}' WHERE seq = 3")
    report = verify_chain()
    assert not report.ok and report.first_broken == 3 and "altered" in report.reason


def test_verify_names_a_removed_event(factory):
    org = factory.org()
    _record_n(5, org)
    _tamper("DELETE FROM audit_events WHERE seq = 2")
    report = verify_chain()
    assert not report.ok and report.first_broken == 2 and "missing" in report.reason


def test_verify_notices_removed_latest_events(factory):
    org = factory.org()
    _record_n(4, org)
    _tamper("DELETE FROM audit_events WHERE seq = 4")
    report = verify_chain()
    assert not report.ok and report.first_broken == 4


def test_verify_notices_a_rehashed_forgery(factory):
    """Changing a row and recomputing its own hash still breaks the next link."""
    org = factory.org()
    _record_n(3, org)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.seq == 2))
    forged = audit.event_hash(seq=2, occurred_at=event.occurred_at, actor_user_id=event.actor_user_id,
                              actor_label=event.actor_label, org_id=event.org_id, action="forged",
                              object_type=event.object_type, object_id=event.object_id,
                              data=event.data, ip=event.ip, prev_hash=event.prev_hash)
    _tamper(f"UPDATE audit_events SET action = 'forged', hash = '{forged}' WHERE seq = 2")
    report = verify_chain()
    assert not report.ok and report.first_broken == 3


def test_verify_audit_command_exit_codes(app, factory):
    org = factory.org()
    _record_n(3, org)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["exam", "verify-audit"])
    assert ok.exit_code == 0 and "3 events" in ok.output
    _tamper("UPDATE audit_events SET actor_label = 'someone else' WHERE seq = 2")
    broken = runner.invoke(args=["exam", "verify-audit"])
    assert broken.exit_code == 1
    assert "event 2" in broken.output
