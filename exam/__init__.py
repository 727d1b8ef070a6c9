"""SkillCert: skill-level certification exams.

``create_app`` builds the Flask application: settings, extensions, the domains'
blueprints and commands, error pages and security headers.
"""
from __future__ import annotations

import importlib
import os
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import load_config
from .extensions import babel, csrf, db, limiter, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Domain packages, in the order their blueprints (``views.bp``), commands (``cli.COMMANDS``)
#: and demo content (``demo.load``) are registered.
DOMAINS = ("core", "accounts", "banks", "papers", "sessions", "delivery", "scoring",
           "certificates", "supervision")


def create_app(config: dict | None = None) -> Flask:
    """Create the application. ``config`` overrides settings read from the environment."""
    instance_path = Path((config or {}).get("INSTANCE_PATH")
                         or os.environ.get("SKILLCERT_INSTANCE_PATH") or PROJECT_ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    app.config.update(load_config(instance_path, config))
    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from .core import i18n

    import_models()
    i18n.compile_catalogs()
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            ping_idle_connections(engine, float(app.config["DATABASE_PING_AFTER_IDLE_SECONDS"]))
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=i18n.select_locale,
        timezone_selector=i18n.select_timezone,
        default_translation_directories=";".join(i18n.translation_directories()),
    )
    login_manager.init_app(app)

    from .core.web import (register_error_handlers, register_request_state, register_security_headers,
                           register_template_helpers)

    for name in DOMAINS:
        views = importlib.import_module(f"exam.{name}.views")
        app.register_blueprint(views.bp)
    register_request_state(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_template_helpers(app)

    from .cli import exam_cli, register_domain_commands

    register_domain_commands()
    app.cli.add_command(exam_cli)
    return app


def ping_idle_connections(engine: Engine, after_seconds: float) -> None:
    """Test a pooled connection that sat idle for ``after_seconds`` before handing it out (the
    database may have restarted meanwhile); a dead one is replaced before the request uses it.
    Connections in steady use are not pinged: under load, SQLAlchemy's ``pool_pre_ping`` would
    add a round trip to every request, the exam's autosave included."""

    @event.listens_for(engine, "checkin")
    def note_checkin(dbapi_connection, connection_record):
        connection_record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection, connection_record, connection_proxy):
        idle_since = connection_record.info.get("checked_in_at")
        if idle_since is None or time.monotonic() - idle_since < after_seconds:
            return
        # The dialect's own ping: on PostgreSQL it runs in autocommit, so the connection is not
        # left inside a transaction (the autosave switches it to autocommit itself).
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("stale pooled connection") from exc
        if not alive:
            raise DisconnectionError("stale pooled connection")


def _is_sqlite(dbapi_connection) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")


def domain_modules(module: str):
    """Each domain's ``exam.<domain>.<module>``, in the order of DOMAINS, for the domains that
    have one (``models``, ``cli``, ``demo``)."""
    for name in DOMAINS:
        qualified = f"exam.{name}.{module}"
        try:
            yield importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name != qualified:
                raise


def import_models() -> None:
    """Import every domain's models, so the metadata (create_all, Alembic) knows all tables."""
    importlib.import_module("exam.core.audit")
    importlib.import_module("exam.core.files")
    for _ in domain_modules("models"):
        pass


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL lets readers and the writer work at once; foreign keys are off by default in SQLite.

    synchronous=NORMAL in WAL mode keeps every commit through a crash or kill of the
    process (only a power cut can lose the last commits), at a fraction of FULL's cost.
    """
    if _is_sqlite(dbapi_connection):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection):
    """Requests that change state take SQLite's write lock when their transaction begins.

    A deferred transaction that reads and then writes fails at once with "database
    is locked" when another process committed in between (the busy timeout does not
    apply to that case). Requests that change state (anything but GET and HEAD)
    therefore begin with BEGIN IMMEDIATE and wait their turn instead. Pages that only
    read, and commands (which may read for a long time, e.g. exports), stay deferred
    so they never hold the write lock while reading.
    """
    if connection.dialect.name != "sqlite":
        return
    from flask import has_request_context, request

    if has_request_context() and request.method not in ("GET", "HEAD"):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")
