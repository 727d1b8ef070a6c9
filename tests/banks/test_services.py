"""Banks, trees, items and versions, usage, coverage and the pool for paper assembly."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exam.banks import services
from exam.banks.interchange import ItemData, OptionData
from exam.banks.models import AssessmentElement, Bank, Item, ItemVersion
from exam.core.audit import AuditEvent
from exam.core.auth import Actor
from exam.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from exam.extensions import db


def point(bank, code) -> AssessmentElement:
    return db.session.scalar(select(AssessmentElement).where(AssessmentElement.bank_id == bank.id,
                                                             AssessmentElement.code == code))


def single(stem="新的单选题（　　）", answer="A"):
    return ItemData("single", stem, [OptionData("A", "甲"), OptionData("B", "乙"), OptionData("C", "丙")], answer)


def test_create_bank_adds_a_new_occupation_and_refuses_a_second_bank(actor, org):
    with pytest.raises(ValidationFailed) as caught:
        services.create_bank(actor, org.id, services.NewBank("4-03-02-01", 5))
    assert caught.value.problems[0].location == "occupation_name"
    bank = services.create_bank(actor, org.id, services.NewBank("4-03-02-01", 5, occupation_name="中式烹调师"))
    assert bank.name == "中式烹调师（五级/初级工）题库" and bank.occupation.levels == [5, 4, 3, 2, 1]
    with pytest.raises(Conflict):
        services.create_bank(actor, org.id, services.NewBank("4-03-02-01", 5))
    with pytest.raises(ValidationFailed):
        services.create_bank(actor, org.id, services.NewBank("4-03-02-01", 7))


def test_items_are_created_revised_as_new_versions_and_retired(actor, bank):
    item = services.create_item(actor, bank.id, point(bank, "1.1").id, single())
    assert item.current_version.version_no == 1 and item.current_version.points == 1
    unchanged = services.revise_item(actor, item.id, item.point_id, services.content_of(item.current_version))
    assert unchanged is None
    content = services.content_of(item.current_version)
    content.stem, content.answer = "改过的单选题（　　）", "B"
    version = services.revise_item(actor, item.id, point(bank, "1.2").id, content)
    assert version.version_no == 2 and item.current_version_id == version.id
    assert item.point.code == "1.2"
    first = db.session.scalar(select(ItemVersion).where(ItemVersion.item_id == item.id, ItemVersion.version_no == 1))
    assert first.stem == "新的单选题（　　）" and first.answer == "A"  # versions never change
    with pytest.raises(RuntimeError):
        first.stem = "改写历史"
        db.session.flush()
    db.session.rollback()
    services.retire_item(actor, item.id)
    assert db.session.get(Item, item.id).status == "retired"
    services.reactivate_item(actor, item.id)
    assert db.session.get(Item, item.id).status == "active"
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(item.id))
                                 .order_by(AuditEvent.seq)).all()
    assert actions == ["item.created", "item.revised", "item.retired", "item.reactivated"]


def test_item_content_and_duplicates_are_checked(actor, bank):
    with pytest.raises(ValidationFailed) as caught:
        services.create_item(actor, bank.id, point(bank, "1.1").id, single(answer="F"))
    assert "option letters" in caught.value.problems[0].message
    with pytest.raises(ValidationFailed) as caught:
        services.create_item(actor, bank.id, point(bank, "1").id, single())
    assert caught.value.problems[0].location == "point_id"
    copy = ItemData("single", "兆欧表用于测量（　　）。",
                    [OptionData("A", "电流"), OptionData("B", "电压"), OptionData("C", "绝缘电阻"), OptionData("D", "功率")], "C")
    with pytest.raises(ValidationFailed) as caught:
        services.create_item(actor, bank.id, point(bank, "1.1").id, copy)
    assert "already asks the same question" in caught.value.problems[0].message


def test_a_duplicate_cannot_be_reactivated(actor, bank):
    original = db.session.scalar(select(Item).where(Item.external_id == "T-004"))
    services.retire_item(actor, original.id)
    content = services.content_of(original.current_version)
    services.create_item(actor, bank.id, original.point_id, content)
    with pytest.raises(ValidationFailed):
        services.reactivate_item(actor, original.id)


def test_other_organisations_and_other_roles_are_kept_out(factory, bank, org):
    other = factory.org()
    stranger = Actor(user_id=None, org_id=other.id, roles=frozenset({"bank_editor"}))
    with pytest.raises(NotFound):
        services.get_bank(stranger, bank.id)
    proctor = Actor(user_id=None, org_id=org.id, roles=frozenset({"proctor"}))
    with pytest.raises(PermissionDenied):
        services.get_bank(proctor, bank.id)
    regulator = Actor(user_id=None, is_regulator=True)
    assert services.get_bank(regulator, bank.id) == bank
    with pytest.raises(NotFound):
        services.retire_item(regulator, db.session.scalar(select(Item.id)))


def test_search_filters(actor, bank):
    def search(**kw):
        return [r.item.external_id for r in services.search_items(actor, bank.id, services.ItemFilter(**kw)).rows]

    assert search() == [f"T-00{n}" for n in range(1, 9)]
    assert search(type="true_false") == ["T-002", "T-006"]
    assert search(text="兆欧表") == ["T-007", "T-008"]
    assert search(text="T-003") == ["T-003"]
    assert search(difficulty=4) == ["T-007"]
    assert search(importance="Z") == ["T-007", "T-008"]
    assert search(element_id=point(bank, "2").id) == ["T-005", "T-006", "T-007", "T-008"]
    assert search(text="100%_") == []
    services.retire_item(actor, db.session.scalar(select(Item.id).where(Item.external_id == "T-001")))
    assert search(status="retired") == ["T-001"] and len(search(status="all")) == 8
    page = services.search_items(actor, bank.id, services.ItemFilter(), page=2, per_page=3)
    assert (page.page, page.pages, page.total, len(page.rows)) == (2, 3, 7, 3)


def test_the_element_tree_can_be_edited(actor, bank):
    added = services.add_element(actor, bank.id, services.ElementInput(
        name="电桥", importance="Y", code="2.1.3", parent_id=point(bank, "2.1").id))
    assert added.path == ["2", "2.1"] and added.depth == 2
    codes = [e.code for e in db.session.scalars(select(AssessmentElement).where(
        AssessmentElement.bank_id == bank.id).order_by(AssessmentElement.position))]
    assert codes == ["1", "1.1", "1.2", "2", "2.1", "2.1.1", "2.1.2", "2.1.3"]
    with pytest.raises(ValidationFailed) as caught:
        services.add_element(actor, bank.id, services.ElementInput(name="x", importance="Y", code="2.1.3"))
    assert caught.value.problems[0].location == "code"
    with pytest.raises(ValidationFailed):  # a point with items cannot get children
        services.add_element(actor, bank.id, services.ElementInput(
            name="x", importance="Y", code="1.1.1", parent_id=point(bank, "1.1").id))
    services.add_element(actor, bank.id, services.ElementInput(  # an empty point can: it becomes an area
        name="细分", importance="X", code="2.1.3.1", parent_id=added.id))
    assert not point(bank, "2.1.3").is_point and point(bank, "2.1.3").importance is None
    services.update_element(actor, point(bank, "1").id, services.ElementInput(name="基本要求（新）",
                                                                               weight=Decimal("35")))
    assert point(bank, "1").name == "基本要求（新）" and point(bank, "1").weight == Decimal("35")
    with pytest.raises(ValidationFailed):
        services.update_element(actor, point(bank, "1.1").id, services.ElementInput(name="x", importance="W"))


def test_coverage_counts_items_per_point_and_area_shares(actor, bank):
    coverage = services.coverage(actor, bank.id)
    assert coverage.total_items == 8 and coverage.total_points == Decimal("13")
    assert [(p.node.element.code, p.node.items, p.short) for p in coverage.points] == \
        [("1.1", 2, True), ("1.2", 2, True), ("2.1.1", 2, True), ("2.1.2", 2, True)]
    assert coverage.points[1].by_type == {"multiple": 1, "single": 1}
    areas = {a.node.element.code: a for a in coverage.areas}
    assert areas["1"].item_share == Decimal("50.0") and areas["1"].points == Decimal("5")
    assert not areas["1"].gap and areas["2"].gap  # 50 % of the items against a weight of 70
    assert coverage.weight_total == Decimal("100") and coverage.short_points == 4


def test_active_pool_for_paper_assembly(actor, bank, app):
    services.retire_item(actor, db.session.scalar(select(Item.id).where(Item.external_id == "T-008")))
    pool = services.active_pool(bank.id)
    assert len(pool) == 7
    first = pool[0]
    item = db.session.scalar(select(Item).where(Item.external_id == "T-001"))
    assert (first.version_id, first.item_id, first.type, first.point_code, first.area_codes, first.importance,
            first.difficulty, first.option_keys, first.pinned_keys, first.points) == \
        (item.current_version_id, item.id, "single", "1.1", ("1",), "Y", 1, ("A", "B", "C", "D"), ("D",), Decimal("1"))
    fill = next(p for p in pool if p.type == "fill_blank")
    assert fill.area_codes == ("2", "2.1") and fill.option_keys == () and fill.importance == "X"
    from sqlalchemy import event

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        services.active_pool(bank.id)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_version_usage_scans_the_papers_of_the_organisation(actor, bank, org):
    from exam.papers.models import Blueprint, Paper
    from exam.sessions.models import ExamSession

    item = db.session.scalar(select(Item).where(Item.external_id == "T-001"))
    v1 = item.current_version_id
    content = services.content_of(item.current_version)
    content.explanation = "新的解析"
    v2 = services.revise_item(actor, item.id, item.point_id, content).id
    blueprint = Blueprint(org_id=org.id, bank_id=bank.id, name="方案")
    session = ExamSession(org_id=org.id, occupation_id=bank.occupation_id, level=5, name="第一批", code="B-1")
    db.session.add_all([blueprint, session])
    db.session.flush()
    for seed, entries in enumerate([[{"v": v1, "s": 0, "p": "1", "o": ["A", "B", "C", "D"]}],
                                    [{"v": v1}, {"v": 999}], [{"v": 998}]]):
        db.session.add(Paper(blueprint_id=blueprint.id, session_id=session.id, seed=seed, items=entries,
                             total_points=Decimal("1")))
    db.session.commit()
    usage = services.item_usage(actor, item)
    assert [(u.session_label, u.papers) for u in usage[v1]] == [("B-1 第一批", 2)]
    assert v2 not in usage


def test_list_banks_per_organisation_and_for_the_regulator(actor, org, bank, factory):
    summary = services.list_banks(actor, org.id)
    assert [(s.bank.id, s.active_items, s.points, s.short_points) for s in summary] == [(bank.id, 8, 4, 4)]
    other = factory.org()
    services.create_bank(Actor.system(org_id=other.id), other.id, services.NewBank("9-99-99-01", 4))
    regulator = Actor(user_id=None, is_regulator=True)
    assert len(services.list_banks(regulator, None)) == 2
    with pytest.raises(NotFound):
        services.list_banks(actor, None)
    assert db.session.scalar(select(func.count()).select_from(Bank)) == 2
