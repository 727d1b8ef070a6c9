"""Migrations build the same schema as the models, on SQLite and on PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text

from exam.config import normalise_database_url
from exam.extensions import db

from ..conftest import make_test_app, run_id


def _diff(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def _upgrade_and_compare(url: str, engine_options: dict | None, instance) -> None:
    app = make_test_app(url, engine_options, INSTANCE_PATH=str(instance))
    with app.app_context():
        upgrade()
        diff = _diff(db.engine)
        assert diff == [], f"models and migrations differ: {diff}"
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "organisations", "memberships", "audit_events"} <= tables
        head = db.session.execute(text("SELECT seq FROM audit_chain_head WHERE id = 1")).scalar_one()
        assert head == 0
        db.session.remove()
        db.engine.dispose()


def test_sqlite_upgrade_to_head_matches_models(tmp_path):
    _upgrade_and_compare(f"sqlite:///{tmp_path / 'migrated.db'}", None, tmp_path)


def test_postgresql_upgrade_to_head_matches_models(postgres_url, tmp_path, worker_name):
    schema = f"migrations_{run_id()}_{worker_name}".lower()
    admin = create_engine(normalise_database_url(postgres_url))
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        options = {"connect_args": {"options": f"-csearch_path={schema}"}}
        _upgrade_and_compare(postgres_url, options, tmp_path)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()
