"""Migrations build the same schema as the models, on SQLite and on PostgreSQL."""
from __future__ import annotations

import json

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


def test_upgrading_a_database_with_banks_fills_in_element_paths(tmp_path):
    """0004 adds ``assessment_elements.path``: existing trees get their ancestors' codes."""
    app = make_test_app(f"sqlite:///{tmp_path / 'old.db'}", None, INSTANCE_PATH=str(tmp_path))
    with app.app_context():
        upgrade(revision="0002")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO organisations (id, code, name, kind, body_code, province_code, site_code, "
                              "open_registration, created_at, updated_at) VALUES (1, 'OLD', '旧机构', 'Y', '0001', "
                              "'11', '000001', 1, '2026-01-01', '2026-01-01')"))
            conn.execute(text("INSERT INTO occupations (id, code, name, levels, work_types, created_at, updated_at) "
                              "VALUES (1, '6-31-01-03', '电工', '[5]', '[]', '2026-01-01', '2026-01-01')"))
            conn.execute(text("INSERT INTO banks (id, org_id, occupation_id, level, name, created_at, updated_at) "
                              "VALUES (1, 1, 1, 5, '题库', '2026-01-01', '2026-01-01')"))
            for id_, parent, code in ((1, None, "2"), (2, 1, "2.1"), (3, 2, "2.1.1")):
                conn.execute(text("INSERT INTO assessment_elements (id, bank_id, parent_id, code, name, position, "
                                  "depth, is_point) VALUES (:id, 1, :parent, :code, 'x', 0, 0, 0)"),
                             {"id": id_, "parent": parent, "code": code})
        upgrade()
        paths = dict(db.session.execute(text("SELECT code, path FROM assessment_elements")).all())
        assert {code: json.loads(path) for code, path in paths.items()} == {
            "2": [], "2.1": ["2"], "2.1.1": ["2", "2.1"]}
        db.session.remove()
        db.engine.dispose()
