"""The exam page's frequent requests: autosave, status, browser signals.

This is the hot path, kept lean: SQLAlchemy Core on one connection; for a save, one
single-row ``UPDATE … RETURNING`` that checks the owner, the device and the time and takes
the attempt's row lock (a save and a hand-in of the same attempt never interleave), one
``INSERT … ON CONFLICT DO UPDATE … WHERE responses.seq < excluded.seq`` of the batch, one
commit, and only then the acknowledgement. No audit event per save: the responses table,
with each change's sequence number and time, is its own record. The user and the paper are
never loaded (the attempt carries the paper's ``shape``).
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask import current_app
from flask_babel import gettext
from sqlalchemy import BigInteger, Integer, bindparam, case, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..core.auth import Actor
from ..core.clock import now_utc
from ..core.db import UTCDateTime
from ..core.errors import Conflict, Gone, NotFound, ValidationFailed
from ..extensions import db
from ..supervision.models import BROWSER_KINDS, Incident
from . import rules
from .models import Attempt, Response

DEFAULT_GRACE_SECONDS = 10
#: Browser signals accepted per request (the page batches them).
MAX_SIGNALS = 50


def save_grace() -> timedelta:
    """How long after ``deadline_at`` a save is still accepted: covers a save sent just before
    the deadline on a slow network (setting ``EXAM_SAVE_GRACE_SECONDS``, default 10)."""
    return timedelta(seconds=current_app.config.get("EXAM_SAVE_GRACE_SECONDS",
                                                    DEFAULT_GRACE_SECONDS))


def ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)


def epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


# --- errors the exam page understands -----------------------------------------------------------

def device_replaced(unbound: bool) -> Conflict:
    """This device no longer holds the attempt (``unbound``: a proctor freed it)."""
    if unbound:
        message = gettext("The proctor moved your exam to another computer. This page no longer "
                          "saves. To continue on this computer, reload the page.")
    else:
        message = gettext("Your exam was continued on another device. This page no longer saves "
                          "your answers; continue on the other device or ask the proctor.")
    return Conflict(message, code="device_replaced")


class TimeUp(Gone):
    code = "time_up"


def time_up() -> TimeUp:
    return TimeUp(gettext("Time is up. Your exam was handed in with the answers saved by the "
                          "deadline."))


def closed() -> Gone:
    return Gone(gettext("This exam is over: it was handed in or ended. Nothing more can be "
                        "saved."), code="closed")


# --- statements -------------------------------------------------------------------------------

_statements: dict[str, Any] = {}


@contextmanager
def transaction():
    """A Core connection in a transaction, committed on success, rolled back on any error.

    When the request already opened the ORM session's transaction (the full access check
    loaded the user), its connection is used: on SQLite a second connection would wait for
    the write lock the first one holds. Otherwise a connection of its own, without the
    session's bookkeeping.
    """
    registry = db.session.registry
    if registry.has() and registry().in_transaction():
        session = registry()
        try:
            yield session.connection()
        except BaseException:
            session.rollback()
            raise
        session.commit()
        return
    with db.engine.begin() as conn:
        yield conn


def _lock_for_save():
    """UPDATE … RETURNING: checks ownership, reads what the save needs, and takes the attempt's
    row lock (so a save and a submission of the same attempt never interleave)."""
    stmt = _statements.get("lock")
    if stmt is None:
        t = Attempt.__table__
        top = bindparam("b_top", type_=BigInteger)
        stmt = (update(t).where(t.c.id == bindparam("b_attempt_id", type_=Integer),
                                t.c.user_id == bindparam("b_user_id", type_=Integer))
                .values(last_save_at=bindparam("b_now", type_=UTCDateTime),
                        max_seq=case((t.c.max_seq < top, top), else_=t.c.max_seq))
                .returning(t.c.status, t.c.deadline_at, t.c.device_token_hash, t.c.device_epoch,
                           t.c.shape, t.c.max_seq, t.c.extended_minutes))
        _statements["lock"] = stmt
    return stmt


def upsert_statement(dialect: str):
    """INSERT … ON CONFLICT (attempt_id, position) DO UPDATE … WHERE responses.seq < excluded.seq."""
    stmt = _statements.get(f"upsert-{dialect}")
    if stmt is None:
        table = Response.__table__
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        stmt = ins.on_conflict_do_update(
            index_elements=[table.c.attempt_id, table.c.position],
            set_={"answer": ins.excluded.answer, "flagged": ins.excluded.flagged,
                  "answered": ins.excluded.answered, "seq": ins.excluded.seq,
                  "saved_at": ins.excluded.saved_at},
            where=table.c.seq < ins.excluded.seq)
        _statements[f"upsert-{dialect}"] = stmt
    return stmt


def _status_select():
    stmt = _statements.get("status")
    if stmt is None:
        t = Attempt.__table__
        stmt = (select(t.c.status, t.c.deadline_at, t.c.device_token_hash, t.c.device_epoch,
                       t.c.max_seq, t.c.extended_minutes, t.c.org_id, t.c.session_id, t.c.room_id,
                       t.c.enrolment_id)
                .where(t.c.id == bindparam("attempt_id", type_=Integer),
                       t.c.user_id == bindparam("user_id", type_=Integer)))
        _statements["status"] = stmt
    return stmt


def _check_open(row, device_token: str | None, now: datetime, grace: timedelta) -> None:
    """:raise NotFound / Gone / TimeUp / Conflict: why this request may not change the attempt."""
    if row is None:
        raise NotFound(gettext("No such exam."))
    if row.status != "in_progress":
        raise closed()
    if now > row.deadline_at + grace:
        raise time_up()
    if not rules.device_matches(row.device_token_hash, device_token):
        raise device_replaced(row.device_token_hash is None)


def _sync_payload(row, now: datetime, status: str | None = None) -> dict:
    return {"status": status or row.status, "seq": row.max_seq,
            "remaining_ms": max(ms(row.deadline_at - now), 0), "server_time": epoch_ms(now),
            "extended": row.extended_minutes}


def response_rows(attempt_id: int, changes: list[rules.Change], shape: list[str],
                   now: datetime) -> list[dict]:
    return [{"attempt_id": attempt_id, "position": c.position, "answer": c.answer,
             "flagged": c.flagged, "answered": rules.is_answered(shape[c.position], c.answer),
             "seq": c.seq, "saved_at": now} for c in changes]


def parse(raw_changes: Any) -> list[rules.Change]:
    try:
        return rules.parse_changes(raw_changes)
    except rules.MalformedChanges:
        raise ValidationFailed(gettext("The answers sent could not be read."), code="malformed")


def save_responses(actor: Actor, attempt_id: int, device_token: str | None,
                   raw_changes: Any) -> dict:
    """Save a batch of changes; acknowledge them only once committed.

    Every change that fits its item is acknowledged (applied, or already superseded by a
    change with a higher sequence number); changes that do not fit are returned as
    ``rejected`` with the reason.

    :raise NotFound: not the candidate's attempt.
    :raise Gone: the attempt is over (``closed``) or its time is up (``time_up``; the
        attempt is then finalised with what was saved before).
    :raise Conflict: ``device_replaced``: another device took the attempt over.
    :raise ValidationFailed: the body is not a list of changes.
    """
    changes = parse(raw_changes)
    now = now_utc()
    try:
        dialect = db.engine.dialect.name
        if dialect == "postgresql" and not _session_in_transaction():
            row, valid, rejected = _save_in_one_statement(actor, attempt_id, device_token, changes, now)
        elif dialect == "sqlite" and not _session_in_transaction():
            row, valid, rejected = _save_on_sqlite(actor, attempt_id, device_token, changes, now)
        else:
            row, valid, rejected = _save_in_a_transaction(actor, attempt_id, device_token, changes, now)
    except TimeUp:
        from .services import finalise_if_overdue  # services build on this module

        finalise_if_overdue(attempt_id)
        raise
    payload = _sync_payload(row, now)
    payload["acked"] = [[c.position, c.seq] for c in valid]
    if rejected:
        payload["rejected"] = [{"p": c.position, "q": c.seq, "message": message}
                               for c, message in rejected]
    return payload


def _session_in_transaction() -> bool:
    registry = db.session.registry
    return registry.has() and registry().in_transaction()


def _save_in_a_transaction(actor: Actor, attempt_id: int, device_token: str | None,
                           changes: list[rules.Change], now: datetime):
    """Lock and check the attempt (UPDATE … RETURNING), upsert the valid changes, commit."""
    params = {"b_attempt_id": attempt_id, "b_user_id": actor.user_id, "b_now": now,
              "b_top": max((c.seq for c in changes), default=0)}
    with transaction() as conn:
        row = conn.execute(_lock_for_save(), params).first()
        _check_open(row, device_token, now, save_grace())
        valid, rejected = rules.split_valid(changes, row.shape)
        if valid:
            conn.execute(upsert_statement(conn.dialect.name),
                         response_rows(attempt_id, valid, row.shape, now))
    return row, valid, rejected


class _SaveRow(NamedTuple):
    status: str
    deadline_at: datetime
    device_token_hash: str | None
    device_epoch: int
    shape: list[str]
    max_seq: int
    extended_minutes: int


_SQLITE_LOCK = ("UPDATE {attempts} SET last_save_at = ?, max_seq = MAX(max_seq, ?) "
                "WHERE id = ? AND user_id = ? RETURNING status, deadline_at, device_token_hash, "
                "device_epoch, shape, max_seq, extended_minutes")
_SQLITE_UPSERT = ("INSERT INTO {responses} (attempt_id, position, answer, flagged, answered, seq, saved_at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (attempt_id, position) DO UPDATE SET "
                  "answer = excluded.answer, flagged = excluded.flagged, answered = excluded.answered, "
                  "seq = excluded.seq, saved_at = excluded.saved_at WHERE {responses}.seq < excluded.seq")


def _sqlite_codecs(dialect) -> dict:
    """The column types' own converters (datetimes as naive UTC, JSON), taken from SQLAlchemy
    once, so that the raw statements store exactly what the ORM stores."""
    codecs = _statements.get("sqlite-codecs")
    if codecs is None:
        a, r = Attempt.__table__.c, Response.__table__.c
        identity = lambda value: value  # noqa: E731 - a type without a converter
        codecs = {
            "time_in": a.last_save_at.type.dialect_impl(dialect).bind_processor(dialect) or identity,
            "time_out": a.deadline_at.type.dialect_impl(dialect).result_processor(dialect, None) or identity,
            "shape_out": a.shape.type.dialect_impl(dialect).result_processor(dialect, None) or identity,
            "answer_in": r.answer.type.dialect_impl(dialect).bind_processor(dialect) or identity,
            "lock": _SQLITE_LOCK.format(attempts=Attempt.__tablename__),
            "upsert": _SQLITE_UPSERT.format(responses=Response.__tablename__),
        }
        _statements["sqlite-codecs"] = codecs
    return codecs


def _save_on_sqlite(actor: Actor, attempt_id: int, device_token: str | None,
                    changes: list[rules.Change], now: datetime):
    """SQLite: the same two statements as ``_save_in_a_transaction`` (UPDATE … RETURNING, then
    the upsert) in one BEGIN IMMEDIATE transaction, sent on the driver's connection directly.
    This is the hot path of a whole session saving at once: SQLAlchemy's execution machinery
    costs more than SQLite itself here, and the write lock is held for less time without it."""
    codecs = _sqlite_codecs(db.engine.dialect)
    top = max((c.seq for c in changes), default=0)
    stored_now = codecs["time_in"](now)
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            found = cursor.execute(codecs["lock"], (stored_now, top, attempt_id, actor.user_id)).fetchone()
            row = None if found is None else _SaveRow(
                found[0], codecs["time_out"](found[1]), found[2], found[3], codecs["shape_out"](found[4]),
                found[5], found[6])
            _check_open(row, device_token, now, save_grace())
            valid, rejected = rules.split_valid(changes, row.shape)
            if valid:
                answer_in = codecs["answer_in"]
                cursor.executemany(codecs["upsert"], [
                    (attempt_id, c.position, answer_in(c.answer), c.flagged,
                     rules.is_answered(row.shape[c.position], c.answer), c.seq, stored_now)
                    for c in valid])
            cursor.execute("COMMIT")
        except BaseException:
            if connection.dbapi_connection.in_transaction:
                connection.rollback()
            raise
        finally:
            cursor.close()
    finally:
        connection.close()
    return row, valid, rejected


#: The paper's shape per attempt and device (it never changes once the attempt exists): saves
#: on PostgreSQL validate answers before their single statement, without reading the attempt.
#: Keyed with the device token's hash too, which is random per attempt, so a cached shape can
#: never be taken for another attempt's (were an id ever reused, e.g. a restored database).
_shapes: dict[tuple[int, str], list[str]] = {}
_SHAPES_KEPT = 20_000


def _shape_of(attempt_id: int, user_id: int, token_hash: str) -> list[str]:
    shape = _shapes.get((attempt_id, token_hash))
    if shape is None:
        t = Attempt.__table__
        with db.engine.connect() as conn:
            shape = conn.execute(select(t.c.shape).where(t.c.id == attempt_id, t.c.user_id == user_id)).scalar()
        if shape is None:
            raise NotFound(gettext("No such exam."))
        if len(_shapes) >= _SHAPES_KEPT:
            _shapes.clear()
        _shapes[(attempt_id, token_hash)] = shape
    return shape


class _SavedRow(NamedTuple):
    status: str
    deadline_at: datetime
    max_seq: int
    extended_minutes: int


def _one_statement_save(valid_count: int) -> str:
    """PostgreSQL: the whole save as one statement in autocommit — the UPDATE that checks owner,
    device, state and time (and takes the row lock), then the upsert, which runs only when
    the UPDATE found the attempt open. One round trip instead of BEGIN, UPDATE, INSERT, COMMIT.

    Written as SQL once per batch size: the statement is the hot path, and SQLAlchemy does
    not cache the compilation of a VALUES list inside a data-modifying CTE.
    """
    sql = _statements.get(f"one-{valid_count}")
    if sql is not None:
        return sql
    attempts, responses = Attempt.__tablename__, Response.__tablename__
    sql = (f"WITH checked AS (UPDATE {attempts} SET last_save_at = %(now)s, "
           f"max_seq = GREATEST(max_seq, %(top)s) "
           f"WHERE id = %(attempt_id)s AND user_id = %(user_id)s AND status = 'in_progress' "
           f"AND deadline_at >= %(cutoff)s AND device_token_hash = %(hash)s "
           f"RETURNING status, deadline_at, max_seq, extended_minutes)")
    if valid_count:
        rows = ", ".join(f"(%(p_{i})s::integer, %(v_{i})s::json, %(f_{i})s::boolean, %(d_{i})s::boolean, "
                         f"%(q_{i})s::bigint)" for i in range(valid_count))
        sql += (f", written AS (INSERT INTO {responses} (attempt_id, position, answer, flagged, answered, "
                f"seq, saved_at) SELECT %(attempt_id)s, v.position, v.answer, v.flagged, v.answered, v.seq, "
                f"%(now)s FROM (VALUES {rows}) AS v (position, answer, flagged, answered, seq) "
                f"WHERE EXISTS (SELECT 1 FROM checked) "
                f"ON CONFLICT (attempt_id, position) DO UPDATE SET answer = EXCLUDED.answer, "
                f"flagged = EXCLUDED.flagged, answered = EXCLUDED.answered, seq = EXCLUDED.seq, "
                f"saved_at = EXCLUDED.saved_at WHERE {responses}.seq < EXCLUDED.seq)")
    sql += " SELECT status, deadline_at, max_seq, extended_minutes FROM checked"
    _statements[f"one-{valid_count}"] = sql
    return sql


def _save_in_one_statement(actor: Actor, attempt_id: int, device_token: str | None,
                           changes: list[rules.Change], now: datetime):
    """Sent on the driver's connection in autocommit: SQLAlchemy's execution machinery would
    cost more than the statement itself on this path."""
    token_hash = rules.hash_token(device_token) if device_token else ""
    shape = _shape_of(attempt_id, actor.user_id, token_hash)
    valid, rejected = rules.split_valid(changes, shape)
    params = {"attempt_id": attempt_id, "user_id": actor.user_id, "now": now,
              "cutoff": now - save_grace(), "top": max((c.seq for c in changes), default=0),
              "hash": token_hash}
    for i, change in enumerate(valid):
        params.update({f"p_{i}": change.position,
                       f"v_{i}": json.dumps(change.answer, ensure_ascii=False),
                       f"f_{i}": change.flagged,
                       f"d_{i}": rules.is_answered(shape[change.position], change.answer),
                       f"q_{i}": change.seq})
    connection = db.engine.raw_connection()
    try:
        driver = connection.dbapi_connection
        driver.autocommit = True
        try:
            with driver.cursor() as cursor:
                cursor.execute(_one_statement_save(len(valid)), params)
                found = cursor.fetchone()
        finally:
            if not driver.closed:
                driver.autocommit = False
    except Exception as exc:
        if db.engine.dialect.is_disconnect(exc, connection.dbapi_connection, None):
            connection.invalidate(exc)  # never hand a dead connection to the next request
        raise
    finally:
        connection.close()
    if found is None:  # not open, not this device, or time is up: say which
        with db.engine.connect() as conn:
            _check_open(conn.execute(_status_select(), {"attempt_id": attempt_id,
                                                         "user_id": actor.user_id}).first(),
                        device_token, now, save_grace())
        raise device_replaced(False)  # pragma: no cover - _check_open always raises here
    return _SavedRow(*found), valid, rejected


def attempt_status(actor: Actor, attempt_id: int, device_token: str | None) -> dict:
    """The attempt's state and remaining time (the page's idle re-synchronisation).

    :raise NotFound: not the candidate's attempt.
    :raise Conflict: ``device_replaced`` while the attempt is in progress.
    """
    now = now_utc()
    with transaction() as conn:
        row = conn.execute(_status_select(), {"attempt_id": attempt_id,
                                              "user_id": actor.user_id}).first()
    if row is None:
        raise NotFound(gettext("No such exam."))
    if row.status == "in_progress" and now > row.deadline_at + save_grace():
        from .services import finalise_if_overdue

        finalise_if_overdue(attempt_id)
        return _sync_payload(row, now, status="expired")
    if row.status == "in_progress" and not rules.device_matches(row.device_token_hash, device_token):
        raise device_replaced(row.device_token_hash is None)
    return _sync_payload(row, now)


def record_signals(actor: Actor, attempt_id: int, device_token: str | None, raw_events: Any) -> int:
    """Store what the exam page noticed (focus lost, tab hidden, copy, paste, full screen
    left) as incidents. Each event carries how many milliseconds ago the page saw it; the
    time recorded is the server's. Returns how many were stored (0 once the attempt is over).

    :raise NotFound / Conflict: as for a save.
    """
    if not isinstance(raw_events, list):
        raise ValidationFailed(gettext("The events sent could not be read."), code="malformed")
    now = now_utc()
    events = []
    for event in raw_events[:MAX_SIGNALS]:
        if not isinstance(event, dict) or event.get("k") not in BROWSER_KINDS:
            continue
        ago = event.get("ago")
        ago = min(max(ago, 0), 3_600_000) if type(ago) is int else 0
        events.append((event["k"], now - timedelta(milliseconds=ago)))
    with transaction() as conn:
        row = conn.execute(_status_select(), {"attempt_id": attempt_id,
                                              "user_id": actor.user_id}).first()
        if row is None:
            raise NotFound(gettext("No such exam."))
        if row.status != "in_progress" or not events:
            return 0
        if not rules.device_matches(row.device_token_hash, device_token):
            raise device_replaced(row.device_token_hash is None)
        conn.execute(insert(Incident.__table__), [
            {"org_id": row.org_id, "session_id": row.session_id, "room_id": row.room_id,
             "enrolment_id": row.enrolment_id, "attempt_id": attempt_id, "kind": kind,
             "source": "browser", "occurred_at": at, "recorded_at": now, "recorded_by": None,
             "details": {}} for kind, at in events])
    return len(events)
