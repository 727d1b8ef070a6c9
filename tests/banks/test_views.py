"""The bank pages through the test client: browsing, items, the tree, uploads with a preview."""
from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from exam.banks.models import AssessmentElement, BankUpload, Item, ItemVersion
from exam.extensions import db

from ..factories import png_bytes, sign_in


def signed_in(client, user, org):
    """Signed in, with the English interface (the assertions read English text)."""
    sign_in(client, user, org)
    with client.session_transaction() as session:
        session["lang"] = "en"
    return client


def test_the_bank_list_and_browser(client, editor, org, bank):
    signed_in(client, editor, org)
    page = client.get("/banks").get_data(as_text=True)
    assert "测试工（五级）题库" in page and f"/banks/{bank.id}" in page
    page = client.get(f"/banks/{bank.id}").get_data(as_text=True)
    assert "兆欧表用于测量" in page and "2.1.1" in page and "8 items" in page
    point = db.session.scalar(select(AssessmentElement).where(AssessmentElement.code == "2.1.2"))
    page = client.get(f"/banks/{bank.id}?element={point.id}&type=single").get_data(as_text=True)
    assert "兆欧表用于测量" in page and "简述兆欧表" not in page
    assert "职业道德" in client.get(f"/banks/{bank.id}?q=职业").get_data(as_text=True)


def test_an_item_page_shows_it_as_the_candidate_sees_it(client, editor, org, bank):
    signed_in(client, editor, org)
    item = db.session.scalar(select(Item).where(Item.external_id == "T-001"))
    page = client.get(f"/banks/items/{item.id}").get_data(as_text=True)
    assert "职业道德是从业人员应当遵循的" in page and "以上都不对" in page and "kept last" in page
    assert "职业道德是行为准则和规范" in page  # explanation for editors
    fill = db.session.scalar(select(Item).where(Item.external_id == "T-005"))
    page = client.get(f"/banks/items/{fill.id}").get_data(as_text=True)
    assert page.count('class="blank"') == 2 * 2 and "Blank 1: 安培 | A" in page  # current version and history


def test_regulator_reads_but_cannot_edit(client, factory, bank):
    regulator = factory.regulator()
    signed_in(client, regulator, None)
    assert "测试工（五级）题库" in client.get("/banks").get_data(as_text=True)
    item = db.session.scalar(select(Item).where(Item.external_id == "T-001"))
    page = client.get(f"/banks/items/{item.id}").get_data(as_text=True)
    assert "职业道德" in page and f"/banks/items/{item.id}/edit" not in page
    assert client.get(f"/banks/{bank.id}/coverage").status_code == 200
    assert client.post(f"/banks/items/{item.id}/retire").status_code == 403


def test_other_organisations_banks_are_not_found(client, factory, bank):
    stranger_org = factory.org()
    stranger = factory.user(stranger_org, "bank_editor")
    signed_in(client, stranger, stranger_org)
    assert client.get(f"/banks/{bank.id}").status_code == 404
    assert "测试工" not in client.get("/banks").get_data(as_text=True)


def test_create_and_edit_an_item_through_the_form(client, editor, org, bank):
    signed_in(client, editor, org)
    point = db.session.scalar(select(AssessmentElement).where(AssessmentElement.code == "1.2"))
    assert "Keep last" in client.get(f"/banks/{bank.id}/items/new?point={point.id}").get_data(as_text=True)
    form = {"point_id": point.id, "type": "multiple", "stem": "下列哪些是绝缘材料？", "option_A": "橡胶",
            "option_B": "陶瓷", "option_C": "铜", "option_D": "以上都是", "pin_D": "y",
            "answer_multiple": ["A", "B"], "partial": "y", "difficulty": 2, "points": "2",
            "stem_image": (io.BytesIO(png_bytes(40, 30)), "pic.png")}
    response = client.post(f"/banks/{bank.id}/items/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 302
    item = db.session.scalar(select(Item).order_by(Item.id.desc()))
    version = item.current_version
    assert (version.answer, version.config, version.options[3]["pin_last"]) == (["A", "B"], {"scoring": "partial"}, True)
    assert version.stem_image_file_id is not None
    image = client.get(f"/banks/images/{version.id}")
    assert image.status_code == 200 and image.mimetype == "image/png"
    edit = client.get(f"/banks/items/{item.id}/edit").get_data(as_text=True)
    assert 'value="以上都是"' in edit
    form.update(stem="下列哪些是绝缘材料？（多选）", stem_image=(io.BytesIO(b""), ""))
    response = client.post(f"/banks/items/{item.id}/edit", data=form, content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    assert item.current_version.version_no == 2 and item.current_version.stem_image_file_id is not None
    assert db.session.scalar(select(func.count()).select_from(ItemVersion).where(ItemVersion.item_id == item.id)) == 2


def test_a_wrong_item_form_shows_the_problem(client, editor, org, bank):
    signed_in(client, editor, org)
    point = db.session.scalar(select(AssessmentElement).where(AssessmentElement.code == "1.2"))
    response = client.post(f"/banks/{bank.id}/items/new", data={
        "point_id": point.id, "type": "fill_blank", "stem": "没有空", "blanks": "答案", "difficulty": 3})
    assert response.status_code == 200 and "[[1]]" in response.get_data(as_text=True)


def test_retire_and_reactivate(client, editor, org, bank):
    signed_in(client, editor, org)
    item = db.session.scalar(select(Item).where(Item.external_id == "T-002"))
    client.post(f"/banks/items/{item.id}/retire")
    assert db.session.get(Item, item.id).status == "retired"
    client.post(f"/banks/items/{item.id}/reactivate")
    db.session.expire_all()
    assert db.session.get(Item, item.id).status == "active"


def test_new_bank_and_element_tree_pages(client, editor, org):
    signed_in(client, editor, org)
    response = client.post("/banks/new", data={"occupation_code": "4-10-01-05", "occupation_name": "养老护理员",
                                               "level": 5})
    assert response.status_code == 302
    location = response.headers["Location"]
    bank_id = int(re.search(r"/banks/(\d+)/elements", location).group(1))
    client.post(f"/banks/{bank_id}/elements", data={"kind": "area", "code": "1", "name": "基本要求",
                                                    "weight": "30", "importance": "Y", "parent_id": ""})
    area = db.session.scalar(select(AssessmentElement).where(AssessmentElement.code == "1"))
    client.post(f"/banks/{bank_id}/elements", data={"kind": "point", "code": "1.1", "name": "职业道德",
                                                    "importance": "X", "parent_id": str(area.id)})
    point = db.session.scalar(select(AssessmentElement).where(AssessmentElement.code == "1.1"))
    assert point.parent_id == area.id and point.importance == "X" and area.weight == 30
    client.post(f"/banks/elements/{point.id}", data={"name": "职业道德基本知识", "importance": "Y"})
    db.session.expire_all()
    assert (point.name, point.importance) == ("职业道德基本知识", "Y")
    page = client.get(f"/banks/{bank_id}/elements").get_data(as_text=True)
    assert "职业道德基本知识" in page


def test_upload_preview_confirm(client, editor, org, small_yaml):
    signed_in(client, editor, org)
    response = client.post("/banks/import", data={"file": (io.BytesIO(small_yaml), "small.yaml"), "format": "auto",
                                                  "level": ""}, content_type="multipart/form-data")
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "The file can be imported: 8 items." in page and "职业道德是从业人员应当遵循的" in page
    assert db.session.scalar(select(func.count()).select_from(Item)) == 0
    response = client.post(preview_url, data={})
    assert response.status_code == 302 and db.session.scalar(select(func.count()).select_from(Item)) == 8
    assert client.get(preview_url).status_code == 404


def test_upload_preview_lists_every_error_with_its_location(client, editor, org, small_yaml):
    signed_in(client, editor, org)
    broken = small_yaml.replace(b"answer: C\n", b"answer: Q\n").replace(b"difficulty: 4", b"difficulty: 9")
    response = client.post("/banks/import", data={"file": (io.BytesIO(broken), "broken.yaml")},
                           content_type="multipart/form-data")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "cannot be imported: it has 3 problems" in page
    assert "line 29" in page and "line 76" in page and "line 73" in page
    assert "Upload a corrected file" in page
    response = client.post(response.headers["Location"], data={})
    assert response.status_code == 302 and db.session.scalar(select(func.count()).select_from(Item)) == 0


def test_sheet_uploads_need_occupation_and_level_and_can_skip_unsupported(client, editor, org, bank):
    signed_in(client, editor, org)
    rows = "题型,题干,选项A,选项B,答案\n判断,新判断题,,,对\n匹配题,连线,甲,乙,A\n"
    response = client.post("/banks/import", data={"file": (io.BytesIO(rows.encode("gb18030")), "题库.csv"),
                                                  "occupation_code": "9-99-99-01", "level": "5"},
                           content_type="multipart/form-data")
    token_url = response.headers["Location"]
    page = client.get(token_url).get_data(as_text=True)
    assert "匹配题" in page and "row 3" in page and "Import the other 1 items" in page
    assert client.post(token_url, data={}).status_code == 302  # without skipping: refused, back to the preview
    assert db.session.scalar(select(func.count()).select_from(BankUpload)) == 1
    client.post(token_url, data={"skip_unsupported": "y"})
    assert db.session.scalar(select(Item).where(Item.bank_id == bank.id).order_by(Item.id.desc())) \
        .current_version.stem == "新判断题"


def test_template_and_export_downloads(client, editor, org, bank):
    from exam.banks.formats import spreadsheet

    signed_in(client, editor, org)
    blank = client.get("/banks/template.xlsx")
    assert blank.status_code == 200 and blank.data[:2] == b"PK"
    prefilled = spreadsheet.parse_xlsx(client.get(f"/banks/{bank.id}/template.xlsx").data)
    assert prefilled.occupation.code == "9-99-99-01" and prefilled.items == []
    assert [r.code for r in prefilled.elements] == ["1", "2"]
    exported = client.get(f"/banks/{bank.id}/export/yaml")
    assert exported.status_code == 200 and b"T-008" in exported.data
    assert "attachment" in exported.headers["Content-Disposition"]
    assert client.get(f"/banks/{bank.id}/export/pdf").status_code == 404


def test_coverage_page(client, editor, org, bank):
    signed_in(client, editor, org)
    page = client.get(f"/banks/{bank.id}/coverage").get_data(as_text=True)
    assert "too few items" in page and "2 missing" in page and "w-50" in page and "m-70" in page


def test_an_area_weight_is_saved_from_the_tree_editor(client, editor, org, bank):
    signed_in(client, editor, org)
    area = db.session.scalar(select(AssessmentElement).where(AssessmentElement.code == "2.1"))
    response = client.post(f"/banks/elements/{area.id}", data={"name": "仪表", "weight": "65"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (area.name, area.weight) == ("仪表", 65)
