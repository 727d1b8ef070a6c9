"""Pooled PostgreSQL connections that died while idle (a database restart, an idle timeout)
are replaced before a request uses them; busy connections are not pinged."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from exam.config import normalise_database_url
from exam.extensions import db

from ..conftest import make_test_app


def _kill_pooled_connection(app, admin_url: str) -> int:
    """Check a connection out and back in, then terminate its server process from outside."""
    with app.app_context(), db.engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    admin = create_engine(admin_url)
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
    admin.dispose()
    return pid


def _backend_pid(app) -> int:
    with app.app_context(), db.engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar()


def test_an_idle_connection_that_died_is_replaced(postgres_url, tmp_path):
    url = normalise_database_url(postgres_url)
    app = make_test_app(url, INSTANCE_PATH=str(tmp_path), DATABASE_PING_AFTER_IDLE_SECONDS=0)
    try:
        dead = _kill_pooled_connection(app, url)
        assert _backend_pid(app) != dead
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(postgres_url, tmp_path):
    """The counterpart: within the idle threshold the pool hands the connection out as it is
    (no round trip), so a connection killed that very moment fails once and is then replaced."""
    url = normalise_database_url(postgres_url)
    app = make_test_app(url, INSTANCE_PATH=str(tmp_path), DATABASE_PING_AFTER_IDLE_SECONDS=3600)
    try:
        dead = _kill_pooled_connection(app, url)
        with pytest.raises(OperationalError):
            _backend_pid(app)
        assert _backend_pid(app) != dead
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_pinged_connection_is_not_left_in_a_transaction(postgres_url, tmp_path):
    """The autosave switches its connection to autocommit, which PostgreSQL's driver refuses
    inside a transaction: the idle ping must not leave one open."""
    import psycopg

    url = normalise_database_url(postgres_url)
    app = make_test_app(url, INSTANCE_PATH=str(tmp_path), DATABASE_PING_AFTER_IDLE_SECONDS=0)
    try:
        with app.app_context():
            with db.engine.connect():
                pass  # checked in: the next checkout pings it
            connection = db.engine.raw_connection()
            try:
                driver = connection.dbapi_connection
                assert driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
                driver.autocommit = True
                driver.autocommit = False
            finally:
                connection.close()
    finally:
        with app.app_context():
            db.engine.dispose()
