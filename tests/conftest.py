"""Test fixtures: one application and database per test worker, wiped after every test.

The database is SQLite by default. With ``TEST_DATABASE_URL=postgresql://…`` the
whole suite runs against PostgreSQL instead, each xdist worker in its own schema.
Tests that need PostgreSQL whatever the suite runs on use ``postgres_url``.
"""
from __future__ import annotations

import os
import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from exam import create_app
from exam.core import clock
from exam.core.audit import disable_triggers_sql, enable_triggers_sql
from exam.extensions import db

from .factories import Factory

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
#: A Monday morning in Beijing (01:00 UTC = 09:00 CST): the frozen clock's default.
FROZEN_AT = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


def postgres_unreachable_reason(url: str) -> str | None:
    """None when PostgreSQL answers at ``url``, else why not."""
    from exam.config import normalise_database_url

    try:
        engine = create_engine(normalise_database_url(url), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any driver error means "not usable here"
        return f"PostgreSQL not reachable at {url}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"


def run_id() -> str:
    """Same for every worker of one pytest run, different between runs that overlap."""
    return (os.environ.get("PYTEST_XDIST_TESTRUNUID") or str(os.getpid()))[:10]


@pytest.fixture(scope="session")
def worker_name(request) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL URL for tests that need PostgreSQL itself; skips when none is reachable."""
    url = os.environ.get("POSTGRES_TEST_URL", DEFAULT_POSTGRES_URL)
    reason = postgres_unreachable_reason(url)
    if reason:
        pytest.skip(reason)
    return url


def _pg_schema_engine_options(schema: str) -> dict:
    return {"pool_pre_ping": True, "connect_args": {"options": f"-csearch_path={schema}"}}


def make_test_app(database_url: str, engine_options: dict | None = None, **overrides):
    config = {
        "ENV_NAME": "testing",
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PUBLIC_BASE_URL": "https://verify.example.test",
        **overrides,
    }
    if engine_options:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options
    return create_app(config)


@pytest.fixture(scope="session")
def database(tmp_path_factory, worker_name):
    """(url, engine options) of this worker's database, created empty."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        path = tmp_path_factory.mktemp("db") / f"test-{worker_name}.db"
        yield f"sqlite:///{path}", None
        return
    reason = postgres_unreachable_reason(url)
    if reason:
        pytest.skip(reason)
    from exam.config import normalise_database_url

    schema = f"skillcert_{run_id()}_{worker_name}".lower()
    engine = create_engine(normalise_database_url(url))
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield url, _pg_schema_engine_options(schema)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def app(database, tmp_path_factory):
    url, options = database
    application = make_test_app(url, options, INSTANCE_PATH=str(tmp_path_factory.mktemp("instance")))
    with application.app_context():
        db.create_all()
    return application


def wipe_database(application) -> None:
    """Empty every table (audit events included) and reset the audit chain."""
    with application.app_context():
        db.session.remove()
        engine = db.engine
        dialect = engine.dialect.name
        tables = [t.name for t in db.metadata.sorted_tables]
        with engine.begin() as conn:
            if dialect == "postgresql":
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                                  + " RESTART IDENTITY CASCADE"))
            else:
                # Some tables point at each other (items ↔ item versions): check foreign keys
                # only at the end of the clean-up transaction.
                conn.execute(text("PRAGMA defer_foreign_keys = ON"))
                for statement in disable_triggers_sql(dialect):
                    conn.execute(text(statement))
                for table in reversed(tables):
                    conn.execute(text(f'DELETE FROM "{table}"'))
                for statement in enable_triggers_sql(dialect):
                    conn.execute(text(statement))
            conn.execute(text("INSERT INTO audit_chain_head (id, seq, last_hash) "
                              f"VALUES (1, 0, '{'0' * 64}')"))


@pytest.fixture(autouse=True)
def _isolate(request):
    """After a test that used the database: empty it; always: real time again."""
    yield
    clock.unfreeze()
    if "app" in request.fixturenames:
        wipe_database(request.getfixturevalue("app"))


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def frozen_clock():
    """The one clock, frozen at ``FROZEN_AT``; ``frozen_clock.advance(timedelta)`` moves it."""
    clock.freeze(FROZEN_AT)
    yield clock
    clock.unfreeze()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def factory(app_ctx):
    return Factory()


# --- real browser --------------------------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not installed at {CHROMIUM} (make setup installs it as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e .[dev])")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class LiveServer:
    """The test application served over HTTP from a thread of the test process.

    Same process, so tests can move the one clock and read the database directly.
    CSRF protection is on, as in production.
    """

    def __init__(self, application):
        from werkzeug.serving import make_server

        self.app = application
        self.server = make_server("127.0.0.1", 0, application, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture(scope="session")
def live_app(database, app, tmp_path_factory):
    url, options = database
    return make_test_app(url, options, WTF_CSRF_ENABLED=True, FRIENDLY_500_IN_TESTS=True,
                         INSTANCE_PATH=str(tmp_path_factory.mktemp("live-instance")))


@pytest.fixture(scope="session")
def live_server(live_app):
    server = LiveServer(live_app)
    yield server
    server.stop()


@pytest.fixture
def page(browser, live_server, app):
    """A fresh browser context (no cookies) and page, at a desktop size."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    context.close()


def pytest_collection_modifyitems(config, items):
    """On a PostgreSQL run (TEST_DATABASE_URL set), run only the tests that use the database:
    the others were already run on SQLite and do not depend on it."""
    if not os.environ.get("TEST_DATABASE_URL"):
        return
    uses_db = {"app", "database", "postgres_url"}
    selected, deselected = [], []
    for item in items:
        (selected if uses_db & set(getattr(item, "fixturenames", ())) else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
