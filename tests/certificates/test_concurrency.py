"""Several admins issuing at the same moment: numbers stay unique and gapless, an enrolment gets
one valid certificate, an organisation one active key. On PostgreSQL (row locks) and SQLite
(the write lock taken by requests that change state)."""
from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import create_engine, text

from exam.certificates import services
from exam.certificates.models import Certificate, SigningKey
from exam.config import normalise_database_url
from exam.extensions import db

from ..conftest import make_test_app, run_id
from ..factories import Factory
from .conftest import CertWorld

THREADS = 6
PER_THREAD = 4


def _prepare(world: CertWorld):
    org = world.org("RACE")
    admin = world.admin(org)
    sessions = [world.session(org, level=4), world.session(org, level=3)]
    slices = []
    for t in range(THREADS):
        session = sessions[t % 2]
        slices.append((session.id, [e.id for e in world.enrolled(session, [f"并发{t}号{i}" for i in range(PER_THREAD)])]))
    return org.id, world.actor(org, admin), slices


def _run_at_once(app, jobs, request_context: bool) -> list:
    """Run each job in its own thread and application context, all released together."""
    barrier = threading.Barrier(len(jobs))
    outcomes = [None] * len(jobs)

    def work(index, job):
        context = app.test_request_context(method="POST") if request_context else app.app_context()
        with context:
            try:
                barrier.wait(timeout=30)
                outcomes[index] = job()
            except Exception as exc:  # collected and asserted by the test
                outcomes[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return outcomes


def _check_race(app, request_context: bool) -> None:
    with app.app_context():
        org_id, actor, slices = _prepare(CertWorld(Factory()))
        db.session.remove()
    jobs = [lambda s=session_id, ids=ids: [c.number for c in services.issue_for_session(actor, s, ids)]
            for session_id, ids in slices]
    outcomes = _run_at_once(app, jobs, request_context)
    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert not failures, failures
    with app.app_context():
        rows = db.session.query(Certificate.number).all()
        numbers = [n for (n,) in rows]
        assert len(numbers) == len(set(numbers)) == THREADS * PER_THREAD
        by_level = Counter(n[15] for n in numbers)
        for level, count in by_level.items():
            serials = sorted(int(n[16:]) for n in numbers if n[15] == level)
            assert serials == list(range(1, count + 1)), f"level {level}: {serials}"
        assert db.session.query(SigningKey).filter_by(org_id=org_id, status="active").count() == 1
        # Each thread's numbers are one run: a batch is numbered together.
        for numbers_of_thread in outcomes:
            serials = [int(n[16:]) for n in numbers_of_thread]
            assert serials == list(range(serials[0], serials[0] + PER_THREAD))

        # The same enrolment issued twice at the same moment: one certificate, one conflict.
        session_id, ids = slices[0]
        cert = db.session.query(Certificate).filter_by(enrolment_id=ids[0]).one()
        services.revoke_certificate(actor, cert.id, "重新发证")
        level = cert.number[15]
        db.session.remove()
    twice = _run_at_once(app, [lambda: services.issue_for_session(actor, session_id, [ids[0]])] * 2,
                         request_context)
    assert sorted(type(o).__name__ for o in twice) in (["Conflict", "list"], ["ValidationFailed", "list"])
    with app.app_context():
        assert db.session.query(Certificate).filter_by(enrolment_id=ids[0], status="valid").count() == 1
        serials = sorted(int(n[16:]) for (n,) in db.session.query(Certificate.number) if n[15] == level)
        assert serials == list(range(1, len(serials) + 1))  # the loser's serial was given back
        db.session.remove()


@pytest.mark.postgres
def test_concurrent_issuing_on_postgresql(postgres_url, tmp_path, worker_name):
    schema = f"certrace_{run_id()}_{worker_name}".lower()
    admin = create_engine(normalise_database_url(postgres_url))
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    app = make_test_app(postgres_url, {"pool_size": THREADS + 2,
                                       "connect_args": {"options": f"-csearch_path={schema}"}},
                        INSTANCE_PATH=str(tmp_path))
    try:
        with app.app_context():
            db.create_all()
        _check_race(app, request_context=False)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def test_concurrent_issuing_on_sqlite(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the suite runs on PostgreSQL; the PostgreSQL race test covers it")
    _check_race(app, request_context=True)

