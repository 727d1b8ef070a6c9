from __future__ import annotations

from sqlalchemy import func, select, update

from exam.extensions import db
from exam.papers import demo, services
from exam.papers.models import Blueprint, Paper, PracticalSpec

from .conftest import enrol, make_session
from .test_services import ready_blueprint


def test_paper_rebuild_command_tells_equal_from_tampered(env, factory, app):
    blueprint = ready_blueprint(env)
    session = make_session(env.org, blueprint.id)
    paper = services.assemble_paper_for_enrolment(env.admin_actor, enrol(session, factory.user(env.org, "candidate")).id)
    paper_id, seed = paper.id, paper.seed
    runner = app.test_cli_runner()
    result = runner.invoke(args=["exam", "paper", "rebuild", str(paper_id)])
    assert result.exit_code == 0, result.output
    assert f"Paper {paper_id} equals its rebuild from seed {seed}: 80 items" in result.output
    items = list(paper.items)
    items[0], items[1] = items[1], items[0]
    db.session.execute(update(Paper).where(Paper.id == paper_id).values(items=items),
                       execution_options={"synchronize_session": False})
    db.session.commit()
    result = runner.invoke(args=["exam", "paper", "rebuild", str(paper_id)])
    assert result.exit_code == 1 and "DIFFERS" in result.output and "2 of 80 items differ" in result.output
    assert runner.invoke(args=["exam", "paper", "rebuild", "999999"]).exit_code != 0


def test_prepare_command(env, factory, app):
    blueprint = ready_blueprint(env)
    session = make_session(env.org, blueprint.id)
    for _ in range(3):
        enrol(session, factory.user(env.org, "candidate"))
    result = app.test_cli_runner().invoke(args=["exam", "paper", "prepare", str(session.id)])
    assert result.exit_code == 0 and "3 papers made, 0 already there" in result.output


def test_demo_makes_one_checked_blueprint_per_bank_and_imports_specs_once(env):
    lines: list[str] = []
    demo.load(env.org, lines.append)
    demo.load(env.org, lines.append)
    blueprints = db.session.scalars(select(Blueprint)).all()
    assert len(blueprints) == 1 and blueprints[0].status == "ready"
    assert blueprints[0].spec["total_points"] == "100"
    bundled = demo.bundled_practical_files()
    assert db.session.scalar(select(func.count(PracticalSpec.id))) == len(bundled)
    assert sum(1 for line in lines if line.startswith("Blueprint for")) == 1
