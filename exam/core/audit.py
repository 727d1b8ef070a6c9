"""The audit log: append-only, hash-chained, written in the same transaction as the change.

A service calls ``record(...)`` before it commits. The event is kept on the
session until the commit; just before the commit the pending events get their
sequence numbers and hashes and are inserted in the same transaction, so an event
exists if and only if its change does.

Chaining: each event stores the hash of the previous one and its own hash over
its fields and that previous hash. The chain head (``audit_chain_head``, one row)
holds the last sequence number and hash. Updating the head row first takes the
write lock (a row lock on PostgreSQL, the database lock on SQLite), so concurrent
transactions from several app servers append one after the other and never fork
the chain. The lock is held only from that update to the commit.

Append-only is enforced twice: the ORM refuses updates and deletes of events, and
database triggers refuse them for anyone connecting directly.
``flask --app wsgi exam verify-audit`` recomputes the chain and names the first
broken event.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import DDL, Integer, String, Text, event, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..extensions import db
from .auth import Actor
from .clock import now_utc
from .db import UTCDateTime

GENESIS_HASH = "0" * 64
_PENDING = "audit_pending"


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    #: Position in the chain: 1, 2, 3… without gaps (a gap means a removed event).
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    #: No foreign keys: the log must outlive anything it mentions.
    actor_user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: Username (or "system: …") at the time of the event.
    actor_label: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    org_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: Dotted verb, e.g. ``session.published`` or ``attempt.extended``.
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    #: Canonical JSON (sorted keys) of the details: what changed and why.
    data: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    ip: Mapped[str | None] = mapped_column(String(45))
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)

    @property
    def details(self) -> dict:
        return json.loads(self.data or "{}")


class AuditChainHead(db.Model):
    """One row: the last sequence number and hash of the chain."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), nullable=False, default=GENESIS_HASH)


# --- append-only at the database level ----------------------------------------------

SQLITE_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
)
POSTGRESQL_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$",
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
)

for _statement in SQLITE_TRIGGERS:
    event.listen(AuditEvent.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in POSTGRESQL_TRIGGERS:
    event.listen(AuditEvent.__table__, "after_create",
                 DDL(_statement).execute_if(dialect="postgresql"))


#: The head row exists from the start, so the first two events cannot race to create it.
CREATE_HEAD_ROW = f"INSERT INTO audit_chain_head (id, seq, last_hash) VALUES (1, 0, '{GENESIS_HASH}')"
event.listen(AuditChainHead.__table__, "after_create", DDL(CREATE_HEAD_ROW))


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_change(mapper, connection, target):
    raise RuntimeError("audit events are append-only")


# --- writing -------------------------------------------------------------------------

def canonical_json(data: Any) -> str:
    return json.dumps(data if data is not None else {}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"), default=_json_default)


def _json_default(value: Any):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def event_hash(*, seq: int, occurred_at: datetime, actor_user_id: int | None, actor_label: str,
               org_id: int | None, action: str, object_type: str | None, object_id: str | None,
               data: str, ip: str | None, prev_hash: str) -> str:
    """The hash of one event's fields and the previous hash (hex SHA-256)."""
    fields = [
        seq,
        occurred_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        actor_user_id, actor_label, org_id, action, object_type, object_id, data, ip, prev_hash,
    ]
    payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class _Pending:
    occurred_at: datetime
    actor: Actor
    action: str
    org_id: int | None
    obj: Any
    object_type: str | None
    object_id: str | None
    data: Any


def record(action: str, *, actor: Actor, obj: Any = None, org_id: int | None = None,
           object_type: str | None = None, object_id: Any = None, data: Any = None,
           session: Session | None = None) -> None:
    """Add an audit event to the current transaction; it is written when the transaction commits.

    ``obj`` is an ORM instance: its table name and primary key (known after the
    flush) become the event's object. ``org_id`` defaults to ``obj.org_id`` when
    the object has one, else to the actor's organisation.
    """
    session = session or db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback, even before any SQL, drops the event too
    pending = session.info.setdefault(_PENDING, [])
    pending.append(_Pending(now_utc(), actor, action, org_id, obj, object_type,
                            None if object_id is None else str(object_id), data))


def _object_ref(item: _Pending) -> tuple[str | None, str | None, int | None]:
    object_type, object_id, org_id = item.object_type, item.object_id, item.org_id
    obj = item.obj
    if obj is not None:
        object_type = object_type or getattr(obj, "__tablename__", type(obj).__name__)
        if object_id is None:
            identity = getattr(obj, "id", None)
            object_id = None if identity is None else str(identity)
        if org_id is None:
            org_id = getattr(obj, "org_id", None)
        if org_id is None and object_type == "organisations":
            org_id = getattr(obj, "id", None)
    if org_id is None:
        org_id = item.actor.org_id
    return object_type, object_id, org_id


def _write_pending(session: Session) -> None:
    pending: list[_Pending] = session.info.pop(_PENDING, [])
    if not pending:
        return
    session.flush()  # assigns primary keys of the objects the events name
    connection = session.connection()
    row = connection.execute(
        update(AuditChainHead).where(AuditChainHead.id == 1)
        .values(seq=AuditChainHead.seq + len(pending))
        .returning(AuditChainHead.seq, AuditChainHead.last_hash)
    ).first()
    if row is None:  # first event ever on this database
        connection.execute(insert(AuditChainHead).values(id=1, seq=len(pending),
                                                         last_hash=GENESIS_HASH))
        last_seq, prev_hash = len(pending), GENESIS_HASH
    else:
        last_seq, prev_hash = row
    seq = last_seq - len(pending)
    rows = []
    for item in pending:
        seq += 1
        object_type, object_id, org_id = _object_ref(item)
        values = dict(
            seq=seq, occurred_at=item.occurred_at, actor_user_id=item.actor.user_id,
            actor_label=(item.actor.label or "")[:120], org_id=org_id, action=item.action,
            object_type=object_type, object_id=object_id, data=canonical_json(item.data),
            ip=item.actor.ip, prev_hash=prev_hash,
        )
        values["hash"] = prev_hash = event_hash(**values)
        rows.append(values)
    connection.execute(insert(AuditEvent), rows)
    connection.execute(update(AuditChainHead).where(AuditChainHead.id == 1)
                       .values(last_hash=prev_hash))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.info.get(_PENDING):
        _write_pending(session)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:
    """Events of a rolled-back change are dropped with it."""
    session.info.pop(_PENDING, None)


# --- verifying ---------------------------------------------------------------------

@dataclass
class ChainReport:
    ok: bool
    count: int
    #: Sequence number of the first event that does not fit the chain.
    first_broken: int | None = None
    reason: str = ""


def verify_chain(session: Session | None = None, batch: int = 2000) -> ChainReport:
    """Recompute every hash; report the first event whose fields, link or position is wrong."""
    session = session or db.session()
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    stmt = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    for ev in session.scalars(stmt):
        if ev.seq != expected_seq:
            return ChainReport(False, count, expected_seq,
                               f"event {expected_seq} is missing (next is {ev.seq})")
        if ev.prev_hash != prev_hash:
            return ChainReport(False, count, ev.seq,
                               f"event {ev.seq} does not link to event {ev.seq - 1}")
        recomputed = event_hash(
            seq=ev.seq, occurred_at=ev.occurred_at, actor_user_id=ev.actor_user_id,
            actor_label=ev.actor_label, org_id=ev.org_id, action=ev.action,
            object_type=ev.object_type, object_id=ev.object_id, data=ev.data, ip=ev.ip,
            prev_hash=ev.prev_hash)
        if recomputed != ev.hash:
            return ChainReport(False, count, ev.seq, f"event {ev.seq} was altered")
        prev_hash, expected_seq, count = ev.hash, expected_seq + 1, count + 1
    head = session.get(AuditChainHead, 1)
    head_seq, head_hash = (head.seq, head.last_hash) if head else (0, GENESIS_HASH)
    if head_seq != count or head_hash != prev_hash:
        return ChainReport(False, count, count + 1,
                           f"the chain head says {head_seq} events but {count} remain: "
                           f"event {count + 1} onwards was removed")
    session.expire_all()
    return ChainReport(True, count)


def disable_triggers_sql(dialect: str) -> list[str]:
    """Statements that lift the append-only triggers (test clean-up and tamper tests only)."""
    if dialect == "sqlite":
        return ["DROP TRIGGER IF EXISTS audit_events_no_update",
                "DROP TRIGGER IF EXISTS audit_events_no_delete"]
    return ["SET session_replication_role = replica"]


def enable_triggers_sql(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return list(SQLITE_TRIGGERS)
    return ["SET session_replication_role = DEFAULT"]


