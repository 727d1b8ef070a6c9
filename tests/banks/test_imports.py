"""Importing into the database: all or nothing, merging, duplicates, occupations, uploads."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from exam.banks import services
from exam.banks.imports import (ImportOptions, ImportRefused, confirm_upload, discard_upload, get_upload,
                                import_document, import_file, preview_upload, read_file, stage_upload)
from exam.banks.interchange import BankDocument, ItemData, OccupationData
from exam.banks.models import AssessmentElement, Bank, BankUpload, Item, ItemVersion, Occupation
from exam.core.audit import AuditEvent, verify_chain
from exam.core.auth import Actor
from exam.core.errors import Gone, NotFound, PermissionDenied
from exam.extensions import db


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_bank_file_imports_its_tree_and_items_with_one_audit_event(actor, org, small_yaml):
    report = import_file(actor, org.id, small_yaml, "small.yaml", ImportOptions())
    assert report.imported and report.items_to_import == 8 and report.elements_added == 7
    assert dict(report.by_type) == {"single": 3, "multiple": 1, "true_false": 2, "fill_blank": 1,
                                    "short_answer": 1}
    assert [(a.code, a.items) for a in report.by_area] == [("1", 4), ("2", 4)]
    bank = db.session.get(Bank, report.bank_id)
    assert bank.name == "测试工（五级）题库" and bank.occupation.code == "9-99-99-01"
    assert bank.occupation.work_types == ["甲方向", "乙方向"]
    elements = {e.code: e for e in db.session.scalars(select(AssessmentElement))}
    assert elements["2.1.1"].path == ["2", "2.1"] and elements["2.1.1"].depth == 2
    assert elements["2.1.1"].parent_id == elements["2.1"].id and elements["2.1.1"].is_point
    assert not elements["2"].is_point and str(elements["2"].weight) in ("70", "70.00")
    assert [e.code for e in sorted(elements.values(), key=lambda e: e.position)] == \
        ["1", "1.1", "1.2", "2", "2.1", "2.1.1", "2.1.2"]
    items = db.session.scalars(select(Item).order_by(Item.id)).all()
    assert all(i.current_version is not None and i.current_version.version_no == 1 for i in items)
    first = items[0].current_version
    assert first.options[3] == {"key": "D", "text": "以上都不对", "pin_last": True}
    assert first.points == 1 and first.difficulty == 1 and items[0].external_id == "T-001"
    assert items[2].current_version.config == {"scoring": "partial"}
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "bank.imported")).all()
    assert len(events) == 1 and events[0].details["items"] == 8 and events[0].details["bank_created"]
    assert verify_chain().ok


def test_a_file_with_any_error_imports_nothing_and_lists_every_error(actor, org, small_yaml):
    broken = small_yaml.replace(b"answer: C\n", b"answer: Q\n").replace(b'point: "2.1.2"', b'point: "9.9"')
    with pytest.raises(ImportRefused) as caught:
        import_file(actor, org.id, broken, "broken.yaml", ImportOptions())
    found = [str(p) for p in caught.value.report.problems]
    assert any(p.startswith("line 29:") and "option letters" in p for p in found)  # T-001
    assert any(p.startswith("line 76:") and "option letters" in p for p in found)  # T-008
    assert sum("9.9 is not in the element tree" in p for p in found) == 2
    assert (count(Bank), count(Item), count(AssessmentElement), count(Occupation)) == (0, 0, 0, 0)
    assert count(AuditEvent) == 0


def test_dry_run_reports_and_saves_nothing(actor, org, small_yaml):
    report = import_file(actor, org.id, small_yaml, "small.yaml", ImportOptions(dry_run=True))
    assert report.ok and not report.imported and report.items_to_import == 8
    assert [i.external_id for i in report.sample[:2]] == ["T-001", "T-002"]
    assert count(Item) == 0 and count(Bank) == 0


def test_reimport_merges_the_tree_and_skips_duplicates(actor, org, bank, small_yaml):
    more = small_yaml.replace(b"name: \xe4\xbb\xaa\xe8\xa1\xa8\xe4\xbd\xbf\xe7\x94\xa8", "name: 仪器仪表".encode()) \
        .replace(b"          - {code: \"2.1.2\"", b"          - {code: \"2.1.3\", name: \xe7\x94\xb5\xe6\xa1\xa5, importance: Y}\n"
                 b"          - {code: \"2.1.2\"") + "\n".join([
                     "  - id: T-009", "    point: \"2.1.3\"", "    type: true_false",
                     "    stem: 电桥可以测量电阻。", "    answer: true", ""]).encode()
    report = import_file(actor, org.id, more, "more.yaml", ImportOptions())
    assert report.items_to_import == 1 and len(report.duplicates) == 8
    assert report.elements_added == 1 and report.elements_changed == 1
    assert any("仪器仪表" in w.message for w in report.warnings)
    tree = {e.code: e for e in db.session.scalars(select(AssessmentElement).where(AssessmentElement.bank_id == bank.id))}
    assert tree["2.1"].name == "仪器仪表" and tree["2.1.3"].path == ["2", "2.1"]
    # Known codes keep their place; new ones follow their siblings.
    assert [c for c, _ in sorted(((c, e.position) for c, e in tree.items()), key=lambda p: p[1])][-2:] == \
        ["2.1.2", "2.1.3"]
    assert count(Item) == 9


def test_a_retired_item_with_the_same_id_is_still_a_duplicate(actor, org, bank, small_yaml):
    item = db.session.scalar(select(Item).where(Item.external_id == "T-001"))
    services.retire_item(actor, item.id)
    report = import_file(actor, org.id, small_yaml, "small.yaml", ImportOptions(dry_run=True))
    assert report.items_to_import == 0 and len(report.duplicates) == 8


def test_occupation_and_level_from_the_user_must_match_the_file(actor, org, small_yaml):
    with pytest.raises(ImportRefused) as caught:
        import_file(actor, org.id, small_yaml, "small.yaml", ImportOptions(occupation_code="6-31-01-03", level=4))
    text = " ".join(p.message for p in caught.value.report.problems)
    assert "9-99-99-01" in text and "6-31-01-03" in text and "level 5" in text and "level 4" in text


def test_files_without_occupation_take_it_from_the_user(actor, org, bank):
    doc = BankDocument(source_format="gift", items=[
        ItemData("true_false", "新题一", answer=True, category_path=["安全"], location="question 1"),
        ItemData("true_false", "新题二", answer=False, location="question 2")])
    with pytest.raises(ImportRefused) as caught:
        import_document(actor, org.id, doc, ImportOptions())
    assert {"This file does not name its occupation: choose one.",
            "This file does not name its level: choose one."} <= {p.message for p in caught.value.problems}
    report = import_document(actor, org.id, doc, ImportOptions(occupation_code="9-99-99-01", level=5))
    assert report.bank_id == bank.id and report.items_to_import == 2
    areas = {e.code: e.name for e in db.session.scalars(select(AssessmentElement).where(
        AssessmentElement.bank_id == bank.id, AssessmentElement.code.startswith("C")))}
    assert areas == {"C3": "安全", "C3.0": "安全", "C4": "未分类", "C4.0": "未分类"}


def test_an_unknown_occupation_needs_a_file_that_names_it(actor, org):
    doc = BankDocument(items=[ItemData("true_false", "题", answer=True)])
    with pytest.raises(ImportRefused) as caught:
        import_document(actor, org.id, doc, ImportOptions(occupation_code="1-01-01-01", level=5))
    assert "not known yet" in caught.value.problems[0].message


def test_known_occupation_names_are_not_overwritten_with_empty_values(actor, org, small_yaml):
    db.session.add(Occupation(code="9-99-99-01", name="旧名", name_en="Old", levels=[5, 4, 3], work_types=["甲方向"]))
    db.session.commit()
    doc = read_file(small_yaml, "small.yaml")
    doc.occupation = OccupationData(code="9-99-99-01", name="测试工", name_en=None, levels=[], work_types=[])
    import_document(actor, org.id, doc, ImportOptions())
    occupation = db.session.scalar(select(Occupation))
    assert (occupation.name, occupation.name_en, occupation.levels, occupation.work_types) == \
        ("测试工", "Old", [5, 4, 3], ["甲方向"])


def test_unsupported_questions_stop_the_import_unless_skipped(actor, org, bank):
    doc = BankDocument(source_format="qti", items=[ItemData("true_false", "可导入的题", answer=True)])
    doc.not_supported("orderInteraction", "question 2")
    with pytest.raises(ImportRefused) as caught:
        import_document(actor, org.id, doc, ImportOptions(occupation_code="9-99-99-01", level=5))
    assert [str(p) for p in caught.value.problems] == ["question 2: question type “orderInteraction” is not supported"]
    report = import_document(actor, org.id, doc, ImportOptions(occupation_code="9-99-99-01", level=5,
                                                               skip_unsupported=True))
    assert report.imported and report.items_to_import == 1 and len(report.unsupported) == 1
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "bank.imported")
                               .order_by(AuditEvent.seq.desc())).first()
    assert json.loads(event.data)["unsupported_skipped"] == 1


def test_only_editors_of_the_organisation_import(factory, org, small_yaml):
    proctor = factory.user(org, "proctor")
    with pytest.raises(PermissionDenied):
        import_file(Actor(proctor.id, org.id, frozenset({"proctor"})), org.id, small_yaml, "s.yaml", ImportOptions())
    other = factory.org()
    with pytest.raises(NotFound):
        import_file(Actor(proctor.id, other.id, frozenset({"bank_editor"})), org.id, small_yaml, "s.yaml",
                    ImportOptions())


def test_uploads_wait_in_the_database_for_confirmation(actor, org, small_yaml, frozen_clock):
    upload = stage_upload(actor, org.id, small_yaml, "small.yaml", format_name="auto", occupation_code=None,
                          level=None, skip_unsupported=False)
    assert len(upload.token) >= 40 and upload.data == small_yaml
    _, report = preview_upload(actor, upload.token)
    assert report.ok and report.items_to_import == 8 and count(Item) == 0
    confirmed = confirm_upload(actor, upload.token)
    assert confirmed.imported and count(Item) == 8 and count(BankUpload) == 0
    with pytest.raises(NotFound):
        get_upload(actor, upload.token)


def test_uploads_expire_and_are_purged(actor, org, small_yaml, frozen_clock):
    old = stage_upload(actor, org.id, small_yaml, "a.yaml", format_name=None, occupation_code=None, level=None,
                       skip_unsupported=False)
    frozen_clock.advance(timedelta(hours=25))
    with pytest.raises(Gone):
        get_upload(actor, old.token)
    stage_upload(actor, org.id, small_yaml, "b.yaml", format_name=None, occupation_code=None, level=None,
                 skip_unsupported=False)
    assert [u.filename for u in db.session.scalars(select(BankUpload))] == ["b.yaml"]


def test_a_refused_confirmation_keeps_the_upload(actor, org, small_yaml, factory):
    broken = small_yaml.replace(b"answer: C\n", b"answer: Q\n")
    upload = stage_upload(actor, org.id, broken, "broken.yaml", format_name=None, occupation_code=None,
                          level=None, skip_unsupported=False)
    with pytest.raises(ImportRefused):
        confirm_upload(actor, upload.token)
    assert count(BankUpload) == 1 and count(Item) == 0
    other = factory.org()
    stranger = Actor(user_id=None, org_id=other.id, roles=frozenset({"bank_editor"}))
    with pytest.raises(NotFound):
        get_upload(stranger, upload.token)
    discard_upload(actor, upload.token)
    assert count(BankUpload) == 0


def test_stem_images_are_stored_once_and_checked(actor, org, small_yaml):
    import base64

    from ..factories import png_bytes

    picture = base64.b64encode(png_bytes(30, 20)).decode()
    extra = (f"  - point: \"1.1\"\n    type: true_false\n    stem: 看图一\n    answer: true\n"
             f"    stem_image: data:image/jpeg;base64,{picture}\n"
             f"  - point: \"1.1\"\n    type: true_false\n    stem: 看图二\n    answer: true\n"
             f"    stem_image: data:image/png;base64,{base64.b64encode(b'not a picture').decode()}\n")
    with pytest.raises(ImportRefused) as caught:
        import_file(actor, org.id, small_yaml + extra.encode(), "img.yaml", ImportOptions())
    assert [p.message for p in caught.value.problems] == ["The stem image is not a PNG, JPEG, GIF or WebP picture."]
    good = small_yaml + extra.split("  - point: \"1.1\"\n    type: true_false\n    stem: 看图二")[0].encode()
    import_file(actor, org.id, good, "img.yaml", ImportOptions())
    version = db.session.scalar(select(ItemVersion).where(ItemVersion.stem == "看图一"))
    stored = services.stem_image(actor, version.id)
    assert stored.content_type == "image/png"  # what the bytes are, not what the file claimed


CONFORMANCE = __import__("pathlib").Path(__file__).resolve().parents[3] / "shared" / "conformance"


@pytest.mark.skipif(not (CONFORMANCE / "moodle-xml").exists(),
                    reason="the shared conformance files are not present here")
def test_moodle_categories_become_the_element_tree(actor, org, bank):
    from exam.banks.imports import available_formats

    if "moodle-xml" not in available_formats():
        pytest.skip(reason="the Moodle XML format module is not installed yet")
    data = (CONFORMANCE / "moodle-xml" / "nested_categories_with_questions.xml").read_bytes()
    report = import_file(actor, org.id, data, "nested.xml", ImportOptions(occupation_code="9-99-99-01", level=5))
    assert report.imported and report.items_to_import == 5
    tree = {e.code: (e.name, e.path, e.is_point, e.importance) for e in db.session.scalars(
        select(AssessmentElement).where(AssessmentElement.bank_id == bank.id, AssessmentElement.code.startswith("C")))}
    assert tree["C3"] == ("Iota", [], False, None)
    assert tree["C3.0"] == ("Iota", ["C3"], True, "Y")
    kappa = next(code for code, (name, *_) in tree.items() if name == "Kappa" and not tree[code][2])
    assert tree[f"{kappa}.0"][:3] == ("Kappa", ["C3", kappa], True)
    lambda_ = next(code for code, (name, *_) in tree.items() if name == "Lambda" and not tree[code][2])
    assert tree[lambda_][1] == ["C3", kappa]
    counts = dict(db.session.execute(select(AssessmentElement.code, func.count(Item.id))
                                     .join(Item, Item.point_id == AssessmentElement.id)
                                     .where(AssessmentElement.code.startswith("C")).group_by(AssessmentElement.code)).all())
    assert counts == {"C3.0": 1, f"{kappa}.0": 2, f"{lambda_}.0": 1,
                      next(c for c, v in tree.items() if v[0] == "Mu" and v[2]): 1}
