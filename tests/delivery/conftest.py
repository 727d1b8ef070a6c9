"""Fixtures of the exam tests: an exam ready to sit (see ``builders``), and a candidate driving it
through the HTTP interface the exam page uses."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest
from sqlalchemy import event, func, select

from exam.core import clock
from exam.core.audit import AuditEvent
from exam.delivery.models import Attempt, Response
from exam.extensions import db

from ..factories import sign_in
from .builders import ExamWorld, build_exam

DATA = re.compile(r'<script type="application/json" id="exam-data">(.*?)</script>', re.S)


@pytest.fixture
def world(app_ctx, frozen_clock) -> ExamWorld:
    """An exam in progress since now (the frozen clock): 60 minutes, three checked-in candidates."""
    return build_exam(clock.now_utc(), candidates=3)


@dataclass
class Sitting:
    """One candidate in one browser (a test client with its own cookies)."""

    client: object
    world: ExamWorld
    index: int
    attempt_id: int | None = None
    token: str | None = None
    seq: int = 0
    responses: list = field(default_factory=list)

    @property
    def enrolment(self):
        return self.world.enrolments[self.index]

    @property
    def user(self):
        return self.world.candidates[self.index]

    def keep(self, response):
        self.responses.append(response)
        return response

    def start(self, **form):
        form.setdefault("pledge", "y")
        response = self.keep(self.client.post(f"/exam/enrolments/{self.enrolment.id}", data=form))
        if response.status_code == 302 and "/exam/attempts/" in response.headers["Location"]:
            self.attempt_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
            self.open_page()
        return response

    def open_page(self):
        response = self.keep(self.client.get(f"/exam/attempts/{self.attempt_id}"))
        if response.status_code == 200:
            state = page_state(response)
            if state["token"]:
                self.token = state["token"]
            self.seq = max(self.seq, state["seq"])
            return state
        return response

    def headers(self, token=None):
        return {"X-Exam-Device": token if token is not None else (self.token or "")}

    def change(self, position, answer, flagged=False, seq=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        return {"p": position, "a": answer, "f": flagged, "q": seq}

    def save(self, *changes, token=None):
        # As in production, the save request starts with no transaction of the test's open
        # (otherwise it would join it and skip PostgreSQL's one-statement save).
        db.session.commit()
        return self.keep(self.client.post(f"/api/exam/attempts/{self.attempt_id}/save",
                                          json={"changes": list(changes)},
                                          headers=self.headers(token)))

    def status(self, token=None):
        return self.keep(self.client.get(f"/api/exam/attempts/{self.attempt_id}/status",
                                         headers=self.headers(token)))

    def submit(self, *changes, at_deadline=False, token=None):
        return self.keep(self.client.post(f"/api/exam/attempts/{self.attempt_id}/submit",
                                          json={"changes": list(changes), "at_deadline": at_deadline},
                                          headers=self.headers(token)))

    def claim(self, confirm=False, access_code=None):
        response = self.keep(self.client.post(f"/api/exam/attempts/{self.attempt_id}/device",
                                              json={"confirm": confirm, "access_code": access_code}))
        if response.status_code == 200:
            self.token = response.json["token"]
        return response

    def attempt(self) -> Attempt:
        db.session.expire_all()
        return db.session.get(Attempt, self.attempt_id)

    def stored(self) -> dict:
        db.session.expire_all()
        rows = db.session.execute(select(Response.position, Response.answer, Response.flagged,
                                         Response.seq).where(Response.attempt_id == self.attempt_id))
        return {p: (a, f, q) for p, a, f, q in rows}


def page_state(response) -> dict:
    match = DATA.search(response.get_data(as_text=True))
    assert match, "the exam page carries its state"
    return json.loads(match.group(1))


@pytest.fixture
def sitting(app, world):
    """``sitting(i)``: candidate ``i`` signed in, in a browser of their own (not started)."""

    def make(index: int = 0, start: bool = False, **form) -> Sitting:
        client = app.test_client()
        sign_in(client, world.candidates[index], world.org)
        s = Sitting(client, world, index)
        if start:
            response = s.start(**form)
            assert response.status_code == 302, response.get_data(as_text=True)
        return s

    return make


@pytest.fixture
def staff_client(app, world):
    """``staff_client(user)``: a test client signed in as a staff member of the exam's body."""

    def make(user, org=None):
        client = app.test_client()
        sign_in(client, user, org if org is not None else world.org)
        return client

    return make


def audit_count(action: str | None = None) -> int:
    stmt = select(func.count()).select_from(AuditEvent)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return db.session.scalar(stmt)


class DriverTrace:
    """Every statement the database driver sends on the pool's connections, including those the
    application sends on the driver's connection directly (which SQLAlchemy's events do not
    see). SQLite reports them itself: one per row of an executemany, values filled in;
    psycopg's are recorded by a cursor class: one per execute."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def _checkout(self, dbapi_connection, record, proxy):
        if self.engine.dialect.name == "sqlite":
            dbapi_connection.set_trace_callback(self.statements.append)
            return
        import psycopg

        statements = self.statements

        class TracingCursor(psycopg.Cursor):
            def execute(self, query, params=None, **kwargs):
                statements.append(query if isinstance(query, str) else query.as_string(self))
                return super().execute(query, params, **kwargs)

        record.info["cursor_factory"] = dbapi_connection.cursor_factory
        dbapi_connection.cursor_factory = TracingCursor

    def _checkin(self, dbapi_connection, record):
        if dbapi_connection is None:
            return
        if self.engine.dialect.name == "sqlite":
            dbapi_connection.set_trace_callback(None)
        elif "cursor_factory" in record.info:
            dbapi_connection.cursor_factory = record.info.pop("cursor_factory")

    def __enter__(self):
        self.engine.dispose()  # only connections checked out from now on are traced
        event.listen(self.engine, "checkout", self._checkout)
        event.listen(self.engine, "checkin", self._checkin)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "checkout", self._checkout)
        event.remove(self.engine, "checkin", self._checkin)
        self.engine.dispose()


class StatementCounter:
    """Counts the SQL statements the application sends (BEGIN/COMMIT excluded)."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._before)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._before)

    @property
    def count(self) -> int:
        return len([s for s in self.statements
                    if not s.strip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT",
                                                         "RELEASE"))])
