"""The autosave: acknowledged only after commit, never an older change over a newer one, refused
after the deadline and its grace, from a replaced device or on a finished attempt; lean."""
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from exam.core import clock
from exam.delivery import autosave
from exam.delivery.models import Attempt, Response
from exam.extensions import db

from ..factories import sign_in
from .conftest import DriverTrace, StatementCounter, audit_count


def test_a_save_is_stored_and_acknowledged(world, sitting):
    s = sitting(0, start=True)
    response = s.save(s.change(0, "C"), s.change(3, ["A", "E"], flagged=True),
                      s.change(7, ["安培", ""]), s.change(8, "互锁防止短路"))
    assert response.status_code == 200
    body = response.json
    assert sorted(body["acked"]) == [[0, 1], [3, 2], [7, 3], [8, 4]]
    assert body["seq"] == 4 and body["status"] == "in_progress"
    assert body["remaining_ms"] == 60 * 60 * 1000
    assert body["server_time"] == int(clock.now_utc().timestamp() * 1000)
    stored = s.stored()
    assert stored[0] == ("C", False, 1) and stored[3] == (["A", "E"], True, 2)
    assert stored[7] == (["安培", ""], False, 3)
    attempt = s.attempt()
    assert attempt.last_save_at == clock.now_utc() and attempt.max_seq == 4


def test_saves_write_no_audit_events(world, sitting):
    s = sitting(0, start=True)
    before = audit_count()
    for _ in range(5):
        assert s.save(s.change(0, "A")).status_code == 200
    assert audit_count() == before


def test_an_older_change_never_overwrites_a_newer_one(world, sitting):
    s = sitting(0, start=True)
    assert s.save(s.change(0, "B", seq=10)).status_code == 200
    late = s.save(s.change(0, "A", seq=7))  # arrived late (sent before the other)
    assert late.status_code == 200
    assert late.json["acked"] == [[0, 7]]  # acknowledged: the server holds something newer
    assert s.stored()[0] == ("B", False, 10)
    assert s.save(s.change(0, "D", seq=10)).status_code == 200  # a replay of the same number
    assert s.stored()[0] == ("B", False, 10)
    assert s.save(s.change(0, "D", seq=11)).status_code == 200
    assert s.stored()[0] == ("D", False, 11)


def test_the_latest_change_of_a_batch_wins(world, sitting):
    s = sitting(0, start=True)
    s.save(s.change(1, "A", seq=3), s.change(1, "C", seq=5), s.change(1, "B", seq=4))
    assert s.stored()[1] == ("C", False, 5)


def test_answers_that_do_not_fit_are_refused_one_by_one(world, sitting):
    s = sitting(0, start=True)
    body = s.save(s.change(0, "Z"), s.change(1, "A"), s.change(99, "A"), s.change(5, "true")).json
    assert body["acked"] == [[1, 2]]
    assert sorted(r["p"] for r in body["rejected"]) == [0, 5, 99]
    assert all(r["message"] for r in body["rejected"])
    assert set(s.stored()) == {1}


@pytest.mark.parametrize("body", [{"changes": "nope"}, {"changes": [{"p": 0}]}, {}, None])
def test_a_malformed_body_is_refused_whole(world, sitting, body):
    s = sitting(0, start=True)
    response = s.client.post(f"/api/exam/attempts/{s.attempt_id}/save", json=body,
                             headers=s.headers())
    assert response.status_code == 422 and response.json["error"] == "malformed"
    assert s.stored() == {}


def test_saves_within_the_grace_are_accepted_then_refused_and_the_attempt_finalised(
        world, sitting, frozen_clock):
    s = sitting(0, start=True)
    s.save(s.change(0, "A"))
    frozen_clock.advance(timedelta(minutes=60, seconds=autosave.DEFAULT_GRACE_SECONDS))
    ok = s.save(s.change(1, "B"))
    assert ok.status_code == 200 and ok.json["remaining_ms"] == 0
    frozen_clock.advance(timedelta(seconds=1))
    late = s.save(s.change(2, "C"))
    assert late.status_code == 410 and late.json["error"] == "time_up" and late.json["message"]
    attempt = s.attempt()
    assert attempt.status == "expired" and attempt.ended_by == "server"
    assert set(s.stored()) == {0, 1}
    assert audit_count("attempt.expired") == 1


def test_the_grace_is_a_setting(app, world, sitting, frozen_clock):
    s = sitting(0, start=True)
    app.config["EXAM_SAVE_GRACE_SECONDS"] = 2
    try:
        frozen_clock.advance(timedelta(minutes=60, seconds=3))
        assert s.save(s.change(0, "A")).status_code == 410
    finally:
        del app.config["EXAM_SAVE_GRACE_SECONDS"]


def test_a_handed_in_attempt_never_changes(world, sitting, frozen_clock):
    s = sitting(0, start=True)
    s.save(s.change(0, "A"))
    frozen_clock.advance(timedelta(minutes=31))
    assert s.submit().status_code == 200
    refused = s.save(s.change(0, "B"))
    assert refused.status_code == 410 and refused.json["error"] == "closed"
    assert s.stored()[0][0] == "A"


@pytest.mark.parametrize("token", ["", "1.forged", "2.anything"])
def test_a_save_without_the_devices_token_is_refused(world, sitting, token):
    s = sitting(0, start=True)
    response = s.save(s.change(0, "A"), token=token)
    assert response.status_code == 409 and response.json["error"] == "device_replaced"
    assert s.stored() == {}


def test_another_candidates_attempt_is_not_found(world, sitting):
    owner = sitting(0, start=True)
    other = sitting(1)
    other.attempt_id, other.token = owner.attempt_id, owner.token  # even with the token
    assert other.save(other.change(0, "A")).status_code == 404
    assert other.status().status_code == 404
    assert owner.stored() == {}


def test_staff_get_403_on_the_candidates_api(world, sitting, staff_client):
    s = sitting(0, start=True)
    for user in (world.proctor, world.admin, world.supervisor):
        client = staff_client(user)
        response = client.post(f"/api/exam/attempts/{s.attempt_id}/save",
                               json={"changes": [s.change(0, "A")]}, headers=s.headers())
        assert response.status_code == 403
    assert s.stored() == {}


@contextmanager
def failing_response_writes(engine):
    """Writes of answers fail in the database: on PostgreSQL at commit (a deferred constraint
    trigger, as a full disk or a lost connection would), on SQLite at the insert (it has no
    deferred triggers)."""
    if engine.dialect.name == "postgresql":
        setup = ["CREATE FUNCTION fail_response_write() RETURNS trigger LANGUAGE plpgsql AS "
                 "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
                 "CREATE CONSTRAINT TRIGGER fail_response_write AFTER INSERT OR UPDATE ON responses "
                 "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_response_write()"]
        teardown = ["DROP TRIGGER fail_response_write ON responses", "DROP FUNCTION fail_response_write()"]
    else:
        setup = [f"CREATE TRIGGER fail_response_{when} BEFORE {when} ON responses "
                 "BEGIN SELECT RAISE(ABORT, 'disk full'); END" for when in ("INSERT", "UPDATE")]
        teardown = ["DROP TRIGGER fail_response_INSERT", "DROP TRIGGER fail_response_UPDATE"]
    with engine.begin() as conn:
        for statement in setup:
            conn.exec_driver_sql(statement)
    try:
        yield
    finally:
        with engine.begin() as conn:
            for statement in teardown:
                conn.exec_driver_sql(statement)


def test_nothing_is_acknowledged_before_the_commit(app, world, sitting):
    """A write that fails (at commit on PostgreSQL) answers an error, never an acknowledgement,
    and keeps nothing: neither the answers nor the attempt's sequence number."""
    s = sitting(0, start=True)
    assert s.save(s.change(1, "B")).status_code == 200
    db.session.commit()
    with failing_response_writes(db.engine):
        with pytest.raises(Exception, match="disk full"):
            s.save(s.change(0, "A"), s.change(1, "C"))
    db.session.rollback()
    assert {p: a for p, (a, _, _) in s.stored().items()} == {1: "B"}
    assert db.session.scalar(select(Attempt.max_seq).where(Attempt.id == s.attempt_id)) == 1
    assert s.save(s.change(0, "A")).status_code == 200  # and the next save goes through


def test_a_marked_session_saves_with_few_statements(app, world, sitting):
    """After the exam page, no user lookup. On PostgreSQL a save is one statement doing both the
    check and the upsert, in autocommit (after the attempt's first save, which also reads the
    paper's shape once); on SQLite one UPDATE … RETURNING and the upsert in one transaction
    (SQLite traces one INSERT per row)."""
    s = sitting(0, start=True)
    assert s.save(s.change(2, "A")).status_code == 200
    with DriverTrace(db.engine) as trace:
        assert s.save(s.change(0, "A"), s.change(1, "B")).status_code == 200
    statements = [" ".join(statement.split()).upper() for statement in trace.statements]
    if db.engine.dialect.name == "postgresql":
        assert len(statements) == 1, statements
        assert statements[0].startswith("WITH CHECKED AS (UPDATE ATTEMPTS") and "ON CONFLICT" in statements[0]
    else:
        assert [statement.split()[0] for statement in statements] == [
            "BEGIN", "UPDATE", "INSERT", "INSERT", "COMMIT"], statements
        assert statements[1].startswith("UPDATE ATTEMPTS")
    assert {p: a for p, (a, _, _) in s.stored().items()} == {0: "A", 1: "B", 2: "A"}
    # stored exactly as the ORM stores them: the same times compare equal in SQL
    now = clock.now_utc()
    assert db.session.scalar(select(func.count()).select_from(Response).where(
        Response.attempt_id == s.attempt_id, Response.saved_at == now, Response.answered.is_(True))) == 3
    assert db.session.scalar(select(Attempt.last_save_at).where(Attempt.id == s.attempt_id)) == now


def test_a_session_without_the_mark_is_checked_in_full(app, world, sitting):
    s = sitting(0, start=True)
    fresh = app.test_client()  # signed in elsewhere, never opened the exam page
    sign_in(fresh, s.user, world.org)
    with StatementCounter(db.engine) as counter:
        response = fresh.post(f"/api/exam/attempts/{s.attempt_id}/save",
                              json={"changes": [s.change(0, "A")]}, headers=s.headers())
    assert response.status_code == 200
    assert counter.count > 2  # the user and their roles were loaded
    assert s.stored()[0][0] == "A"


def test_the_mark_does_not_outlive_the_sign_in(app, world, sitting):
    s = sitting(0, start=True)
    with s.client.session_transaction() as session:
        session["_user_id"] = f"{world.proctor.id}:1"  # another user in the same browser
    response = s.save(s.change(0, "A"))
    assert response.status_code == 403


def test_status_reports_time_and_state(world, sitting, frozen_clock):
    s = sitting(0, start=True)
    frozen_clock.advance(timedelta(minutes=20))
    body = s.status().json
    assert body["remaining_ms"] == 40 * 60 * 1000 and body["status"] == "in_progress"
    assert s.status(token="1.other").status_code == 409


def test_a_new_sitting_continues_above_the_highest_sequence_number(world, sitting):
    s = sitting(0, start=True)
    s.save(s.change(0, "A", seq=41))
    state = s.open_page()
    assert state["seq"] == 41
    assert state["answers"] == [[0, "A", False]]
