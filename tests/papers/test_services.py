from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exam.banks.models import AssessmentElement, Item
from exam.core.audit import AuditEvent
from exam.core.auth import Actor
from exam.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from exam.extensions import db
from exam.papers import assembly, services
from exam.papers.assembly import BlueprintSpec, Section
from exam.papers.models import Blueprint, Paper, PaperPool

from .conftest import actor_for, add_item, add_room, enrol, make_bank, make_session


def spec_80(**kw) -> BlueprintSpec:
    base = dict(sections=(Section("single", 40, "1", "一、单项选择题"), Section("true_false", 20, "1", "二、判断题"),
                          Section("multiple", 20, "2", "三、多项选择题")),
                difficulty_mix={1: 10, 2: 20, 3: 40, 4: 20, 5: 10})
    base.update(kw)
    return BlueprintSpec(**base)


def ready_blueprint(env, **kw) -> Blueprint:
    data = services.BlueprintData(name="标准卷", spec=kw.pop("spec", spec_80()), mode=kw.pop("mode", "random"),
                                  duration_minutes=kw.pop("duration", 100), pass_mark=60)
    blueprint = services.create_blueprint(env.editor_actor, env.bank.id, data)
    services.validate_blueprint(env.editor_actor, blueprint.id)
    assert blueprint.status == "ready", services.validation_problems(blueprint)
    return blueprint


def candidates(factory, org, n):
    return [factory.user(org, "candidate") for _ in range(n)]


# --- pool ------------------------------------------------------------------------------------

def test_active_pool_reads_current_versions_with_paths(env):
    point = db.session.scalar(select(AssessmentElement).where(AssessmentElement.bank_id == env.bank.id,
                                                              AssessmentElement.code == "2.1.1"))
    pinned = add_item(env.bank, point, "single", 3, pin_last=True)
    add_item(env.bank, point, "single", 3, status="retired")
    db.session.commit()
    pool = services.active_pool(env.bank.id)
    assert len(pool) == 10 * 3 * 5 * 2 + 1  # points × types × difficulties × per cell, + pinned
    assert [p.version_id for p in pool] == sorted(p.version_id for p in pool)
    item = next(p for p in pool if p.item_id == pinned.id)
    assert item.area_path == ("2", "2.1") and item.point_code == "2.1.1" and item.importance == "X"
    assert item.option_keys == ("A", "B", "C", "D") and item.pinned_keys == frozenset({"D"})
    assert Counter(p.type for p in pool) == {"single": 101, "true_false": 100, "multiple": 100}


def test_default_spec_is_100_points_from_the_weight_table_and_satisfiable(env):
    spec = services.default_spec_for_bank(env.bank.id)
    assert spec.section_points == Decimal(100)
    assert dict(spec.area_shares) == {"1.1": 10, "1.2": 20, "2.1": 40, "2.2": 30}
    tree = services.bank_tree(env.bank.id)
    assert assembly.plan(spec, services.active_pool(env.bank.id), tree.weights).ok
    assert [s.type for s in spec.sections] == ["single", "true_false", "multiple"]


def test_default_spec_of_a_big_bank_is_the_standard_paper(factory):
    org = factory.org()
    bank = make_bank(org, per_cell=5)
    spec = services.default_spec_for_bank(bank.id)
    assert [(s.type, s.count, s.points) for s in spec.sections] == [
        ("single", 60, 1), ("true_false", 20, 1), ("multiple", 10, 2)]
    assert spec.difficulty_mix == services.DEFAULT_MIX and spec.cover_all_x


# --- blueprints -------------------------------------------------------------------------------

def test_blueprint_life_cycle(env, frozen_clock):
    blueprint = ready_blueprint(env)
    assert blueprint.validation["ok"] and blueprint.validation["items"] == 300
    # an edit sends it back to draft
    data = services.BlueprintData(name="标准卷 2", spec=spec_80(), duration_minutes=120, pass_mark=60)
    services.update_blueprint(env.editor_actor, blueprint.id, data)
    assert blueprint.status == "draft" and blueprint.validation is None and blueprint.name == "标准卷 2"
    services.lock_blueprint(env.editor_actor, blueprint.id)
    assert blueprint.status == "locked"
    with pytest.raises(Conflict):
        services.update_blueprint(env.editor_actor, blueprint.id, data)
    copy = services.copy_blueprint(env.editor_actor, blueprint.id)
    assert copy.status == "draft" and copy.spec == blueprint.spec and copy.id != blueprint.id
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions == ["blueprint.created", "blueprint.validated", "blueprint.updated", "blueprint.locked",
                       "blueprint.copied"]


def test_validation_stores_every_problem_and_keeps_the_blueprint_draft(env):
    spec = spec_80(sections=(Section("single", 90, "1"), Section("true_false", 10, "1")),
                   difficulty_mix={3: 50, 4: 50}, area_shares={"2.1": 100})
    data = services.BlueprintData(name="太难的卷", spec=spec, duration_minutes=60, pass_mark=60)
    blueprint = services.create_blueprint(env.editor_actor, env.bank.id, data)
    services.validate_blueprint(env.editor_actor, blueprint.id)
    assert blueprint.status == "draft" and not blueprint.validation["ok"]
    messages = [str(p) for p in services.validation_problems(blueprint)]
    assert "Section 1 (Single choice): Area 2.1 电工仪表 needs 90 single-choice items of difficulty 3–4; " \
           "the bank has 12." in messages
    assert "Duration: A theory exam lasts at least 90 minutes." in messages


def test_create_refuses_bad_fields_with_their_names(env):
    with pytest.raises(ValidationFailed) as caught:
        services.create_blueprint(env.editor_actor, env.bank.id, services.BlueprintData(
            name=" ", spec={"sections": [{"type": "single", "count": "many", "points": 1}]}, mode="odd",
            duration_minutes=0, pass_mark="x"))
    assert {p.location for p in caught.value.problems} == {"name", "mode", "duration_minutes", "spec", "pass_mark"}


def test_other_organisations_cannot_see_a_blueprint_and_the_regulator_only_reads(env, factory):
    blueprint = ready_blueprint(env)
    other = factory.org()
    stranger = factory.user(other, "bank_editor")
    with pytest.raises(NotFound):
        services.get_blueprint(actor_for(stranger, other, "bank_editor"), blueprint.id)
    with pytest.raises(NotFound):
        services.list_blueprints(actor_for(stranger, other, "bank_editor"), env.bank.id)
    proctor = factory.user(env.org, "proctor")
    with pytest.raises(PermissionDenied):
        services.get_blueprint(actor_for(proctor, env.org, "proctor"), blueprint.id)
    regulator = Actor(user_id=factory.regulator().id, is_regulator=True)
    assert services.get_blueprint(regulator, blueprint.id) is blueprint
    with pytest.raises(NotFound):
        services.validate_blueprint(regulator, blueprint.id)
    assert services.list_banks(actor_for(stranger, other, "bank_editor")) == []
    assert [row[0] for row in services.list_banks(regulator)] == [env.bank]


def test_lock_refuses_a_blueprint_the_bank_cannot_satisfy(env):
    data = services.BlueprintData(name="x", spec=spec_80(sections=(Section("single", 100, 1), )), pass_mark=60)
    blueprint = services.create_blueprint(env.editor_actor, env.bank.id, data)
    with pytest.raises(ValidationFailed) as caught:
        services.lock_blueprint(env.editor_actor, blueprint.id)
    assert any("needs" in p.message for p in caught.value.problems)
    assert blueprint.status == "draft"


# --- papers ------------------------------------------------------------------------------------

def test_paper_for_an_enrolment_is_made_once_and_rebuilds_from_its_seed(env, factory):
    blueprint = ready_blueprint(env)
    session = make_session(env.org, blueprint.id)
    room = add_room(session)
    a, b = candidates(factory, env.org, 2)
    first = enrol(session, a, room=room, seat=1)
    second = enrol(session, b, room=room, seat=2)
    paper = services.assemble_paper_for_enrolment(actor_for(a, env.org, "candidate"), first.id)
    assert services.assemble_paper_for_enrolment(env.admin_actor, first.id).id == paper.id
    assert db.session.scalar(select(func.count(Paper.id))) == 1
    assert blueprint.status == "locked" and paper.seq == 1 and paper.pool_id is not None
    assert len(paper.items) == 80 and paper.total_points == Decimal(100)
    other = services.assemble_paper_for_enrolment(env.admin_actor, second.id)
    assert [i["v"] for i in other.items] != [i["v"] for i in paper.items]
    for p in (paper, other):
        same, stored, rebuilt = services.paper_matches_rebuild(p.id)
        assert same, (stored, rebuilt)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "paper.assembled")).all()
    assert len(events) == 2 and events[0].details["seed"] == str(paper.seed)
    # a tampered paper no longer equals its rebuild
    assert services.rebuild_paper(other.id) != services.stored_paper(paper)


def test_candidates_cannot_get_someone_elses_paper(env, factory):
    blueprint = ready_blueprint(env)
    session = make_session(env.org, blueprint.id)
    a, b = candidates(factory, env.org, 2)
    enrolment = enrol(session, a)
    with pytest.raises(NotFound):
        services.assemble_paper_for_enrolment(actor_for(b, env.org, "candidate"), enrolment.id)
    pending = enrol(session, b, status="applied")
    with pytest.raises(Conflict):
        services.assemble_paper_for_enrolment(env.admin_actor, pending.id)


def test_bank_edits_after_the_first_paper_do_not_reach_the_session(env, factory):
    blueprint = ready_blueprint(env)
    session = make_session(env.org, blueprint.id)
    people = candidates(factory, env.org, 3)
    enrolments = [enrol(session, person) for person in people]
    first = services.assemble_paper_for_enrolment(env.admin_actor, enrolments[0].id)
    point = db.session.scalar(select(AssessmentElement).where(AssessmentElement.bank_id == env.bank.id,
                                                              AssessmentElement.code == "1.1.2"))
    new_items = [add_item(env.bank, point, "single", 3) for _ in range(30)]
    db.session.execute(Item.__table__.update().where(Item.id == db.session.scalar(
        select(Item.id).where(Item.current_version_id == first.items[0]["v"]))).values(status="retired"))
    db.session.commit()
    later = [services.assemble_paper_for_enrolment(env.admin_actor, e.id) for e in enrolments[1:]]
    new_versions = {i.current_version_id for i in new_items}
    assert not any(row["v"] in new_versions for paper in later for row in paper.items)
    assert db.session.scalar(select(func.count(PaperPool.id))) == 1
    assert all(services.paper_matches_rebuild(p.id)[0] for p in [first, *later])


def test_fixed_ab_papers_share_master_items_and_alternate_by_seat(env, factory):
    blueprint = ready_blueprint(env, mode="fixed_ab")
    session = make_session(env.org, blueprint.id)
    room = add_room(session)
    people = candidates(factory, env.org, 6)
    enrolments = [enrol(session, person, room=room, seat=n + 1) for n, person in enumerate(people)]
    papers = [services.assemble_paper_for_enrolment(env.admin_actor, e.id) for e in enrolments]
    masters = {m.variant: m for m in db.session.scalars(select(Paper).where(Paper.enrolment_id.is_(None)))}
    assert set(masters) == {"A", "B"}
    assert [p.variant for p in papers] == ["A", "B", "A", "B", "A", "B"]
    master_items = {v: sorted(i["v"] for i in m.items) for v, m in masters.items()}
    assert master_items["A"] != master_items["B"]
    orders = [tuple(i["v"] for i in p.items) for p in papers]
    assert len(set(orders)) == len(orders)
    for paper in papers:
        assert sorted(i["v"] for i in paper.items) == master_items[paper.variant]
        assert services.paper_matches_rebuild(paper.id)[0]
    for master in masters.values():
        assert services.paper_matches_rebuild(master.id)[0]


def test_prepare_session_papers_in_bulk_is_idempotent_and_balanced(env, factory):
    blueprint = ready_blueprint(env)
    session = make_session(env.org, blueprint.id)
    rooms = [add_room(session, "第一考场"), add_room(session, "第二考场")]
    people = candidates(factory, env.org, 12)
    enrolments = [enrol(session, person, room=rooms[n % 2], seat=n // 2 + 1) for n, person in enumerate(people)]
    enrol(session, factory.user(env.org, "candidate"), status="rejected")
    early = services.assemble_paper_for_enrolment(env.admin_actor, enrolments[0].id)
    result = services.prepare_session_papers(env.admin_actor, session.id)
    assert result == {"created": 11, "existing": 1}
    assert services.prepare_session_papers(env.admin_actor, session.id) == {"created": 0, "existing": 12}
    papers = db.session.scalars(select(Paper).order_by(Paper.seq)).all()
    assert [p.seq for p in papers] == list(range(1, 13)) and papers[0].id == early.id
    assert all(services.paper_matches_rebuild(p.id)[0] for p in papers)
    exposure = Counter(i["v"] for p in papers for i in p.items)
    assert max(exposure.values()) - min(exposure.values()) <= 12  # nothing shown to everyone while others wait
    with pytest.raises(PermissionDenied):
        services.prepare_session_papers(env.editor_actor, session.id)


def test_paper_view_shows_no_answers(env, factory):
    blueprint = ready_blueprint(env)
    session = make_session(env.org, blueprint.id)
    person = factory.user(env.org, "candidate")
    paper = services.assemble_paper_for_enrolment(env.admin_actor, enrol(session, person).id)
    views = services.paper_view(paper)
    assert [v["number"] for v in views] == list(range(1, 81))
    assert {v["type"] for v in views} == {"single", "true_false", "multiple"}
    assert views[0]["section_title"] == "一、单项选择题" and views[0]["points"] == "1"
    flat = repr(views)
    assert "answer" not in flat and "'B'" not in flat.replace("'label': 'B'", "")
    first = views[0]
    assert [o["label"] for o in first["options"]] == ["A", "B", "C", "D"]


def test_session_without_blueprint_or_satisfiable_bank_is_refused(env, factory):
    session = make_session(env.org, None)
    person = factory.user(env.org, "candidate")
    with pytest.raises(Conflict):
        services.assemble_paper_for_enrolment(env.admin_actor, enrol(session, person).id)


def test_a_different_bank_per_organisation(env, factory):
    other = factory.org()
    bank = make_bank(other, per_cell=1)
    assert len(services.active_pool(bank.id)) == 150 and len(services.active_pool(env.bank.id)) == 300


def test_a_room_with_more_candidates_than_orders_is_refused_cleanly(env, factory):
    spec = spec_80(sections=(Section("single", 1, 100),), area_shares={"1.1": 100}, difficulty_mix={1: 100},
                   cover_all_x=False)
    blueprint = ready_blueprint(env, spec=spec)
    session = make_session(env.org, blueprint.id)
    room = add_room(session)
    # area 1.1 has 2 points × 2 single-choice items of difficulty 1: four different papers
    enrolments = [enrol(session, person, room=room) for person in candidates(factory, env.org, 5)]
    orders = {tuple(i["v"] for i in services.assemble_paper_for_enrolment(env.admin_actor, e.id).items)
              for e in enrolments[:4]}
    assert len(orders) == 4
    with pytest.raises(Conflict):
        services.assemble_paper_for_enrolment(env.admin_actor, enrolments[4].id)
