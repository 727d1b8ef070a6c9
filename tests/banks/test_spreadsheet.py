"""Excel and CSV sheets: how cells are written, located problems, encodings, hostile workbooks."""
from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from exam.banks.formats import spreadsheet

CONFORMANCE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "csv"
HEADER = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "分值", "难度", "鉴定点代码", "解析"]


def workbook(items: list[list], elements: list[list] | None = None, occupation: list[list] | None = None,
             header=HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "试题"
    for row in [header] + items:
        sheet.append(row)
    if elements is not None:
        tree = book.create_sheet("鉴定要素")
        for row in [["代码", "名称", "重要程度", "比重"]] + elements:
            tree.append(row)
    if occupation is not None:
        info = book.create_sheet("职业信息")
        for row in occupation:
            info.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list], encoding="utf-8") -> bytes:
    import csv

    out = io.StringIO()
    csv.writer(out).writerows([HEADER] + rows)
    return out.getvalue().encode(encoding)


def located(doc) -> list[tuple[str | None, str]]:
    return [(p.location, p.message) for p in doc.problems]


def test_types_and_answers_are_read_the_ways_sheets_write_them():
    doc = spreadsheet.parse_xlsx(workbook([
        ["单选", "安全电压上限（　　）", "12", "24", "36", "50", "d", 1, 2, "1.1", "解析"],
        ["多选题", "属于导体的有", "铜", "铝", "橡胶", None, "A、B", None, "较难", "1.1"],
        ["multiple", "属于绝缘体的有", "铜", "橡胶", "陶瓷", None, "B,C", None, None, "1.1"],
        ["判断", "对吗一", None, None, None, None, "√", None, None, "1.1"],
        ["判断题", "对吗二", None, None, None, None, "错误", None, None, "1.1"],
        ["true_false", "对吗三", None, None, None, None, "T", None, None, "1.1"],
        ["判断", "对吗四", None, None, None, None, True, None, None, "1.1"],
        ["填空", "电流单位____，电压单位____。", None, None, None, None, "安培|A；伏特|V", None, None, "1.1"],
        ["简答", "简述步骤", None, None, None, None, "参考答案", 5, None, 1.1],
    ]))
    assert doc.problems == []
    answers = [(i.type, i.answer) for i in doc.items]
    assert answers == [("single", "D"), ("multiple", ["A", "B"]), ("multiple", ["B", "C"]),
                       ("true_false", True), ("true_false", False), ("true_false", True),
                       ("true_false", True), ("fill_blank", [["安培", "A"], ["伏特", "V"]]),
                       ("short_answer", "参考答案")]
    assert doc.items[1].difficulty == 4 and doc.items[0].points == Decimal("1")
    assert doc.items[7].stem == "电流单位[[1]]，电压单位[[2]]。"
    assert doc.items[8].point_code == "1.1" and doc.items[8].location == "row 10"


def test_pin_last_scoring_case_and_id_columns():
    header = ["编号", "题型", "题干", "选项A", "选项B", "选项C", "答案", "固定末位", "计分方式", "区分大小写"]
    doc = spreadsheet.parse_xlsx(workbook([
        ["Q1", "多选", "选哪些", "甲", "乙", "以上都对", "ABC", "C", "部分得分", None],
        ["Q2", "填空", "符号是[[1]]", None, None, None, "Ω", None, None, "是"],
    ], header=header))
    assert doc.problems == []
    first, second = doc.items
    assert first.external_id == "Q1" and [o.pin_last for o in first.options] == [False, False, True]
    assert first.config == {"scoring": "partial"} and second.config == {"case_sensitive": True}


def test_problems_name_the_row_and_the_column():
    doc = spreadsheet.parse_xlsx(workbook([
        ["单选", "题一", "甲", "乙", None, None, "AB", None, None, "1"],
        ["判断", "题二", None, None, None, None, "也许", None, None, "1"],
        ["单远", "题三", "甲", "乙", None, None, "A", None, None, "1"],
        ["单选", "题四", "甲", None, "丙", None, "A", "一分", 7, "1"],
        ["匹配题", "题五", None, None, None, None, "A-1", None, None, "1"],
    ]))
    found = located(doc)
    assert any(loc == "row 2, 答案" and "one answer letter" in msg for loc, msg in found)
    assert any(loc == "row 3, 答案" and "对 or 错" in msg for loc, msg in found)
    assert any(loc == "row 4, 题型" and "单远" in msg for loc, msg in found)
    assert any(loc == "row 5, 选项B" for loc, _ in found)
    assert any(loc == "row 5, 分值" for loc, _ in found)
    assert any(loc == "row 5, 难度" and "1 to 5" in msg for loc, msg in found)
    assert [(p.location, "匹配题" in p.message) for p in doc.unsupported] == [("row 6", True)]


def test_the_element_and_occupation_sheets():
    doc = spreadsheet.parse_xlsx(workbook(
        [["单选", "题", "甲", "乙", None, None, "A", None, None, "1.2.1"]],
        elements=[["1", "基本要求", None, 40], ["1.1", "职业道德", "Y", None], ["1.2", "基础知识", None, None],
                  ["1.2.1", "电工基础", "核心", None], ["2", "相关知识", None, 60], ["2.1", "仪表", "Z", None]],
        occupation=[["项目", "内容"], ["职业代码", "6-31-01-03"], ["职业名称", "电工"], ["等级", 4],
                    ["可申报等级", "5、4、3"], ["工种", "--"], ["题库名称", "电工四级"]]))
    assert doc.problems == []
    assert (doc.occupation.code, doc.occupation.levels, doc.occupation.work_types) == ("6-31-01-03", [5, 4, 3], [])
    assert doc.level == 4 and doc.bank_name == "电工四级"
    assert [r.code for r in doc.elements] == ["1", "2"]
    assert [c.code for c in doc.elements[0].children] == ["1.1", "1.2"]
    assert doc.elements[0].children[1].children[0].importance == "X"
    assert doc.elements[0].weight == Decimal("40")


def test_element_sheet_problems_name_the_sheet():
    doc = spreadsheet.parse_xlsx(workbook([], elements=[["1", "甲", None, None], ["1", "乙", "W", 200]]))
    found = located(doc)
    assert ("sheet 鉴定要素, row 3, 代码", "The code 1 appears twice.") in found


def test_csv_in_utf8_with_and_without_bom_and_in_gb18030():
    rows = [["单选", "安全电压（　　）", "12", "24", "36", "50", "D", "1", "3", "1.1", "“引号”, 逗号"]]
    for data in (csv_bytes(rows), b"\xef\xbb\xbf" + csv_bytes(rows), csv_bytes(rows, "gb18030")):
        doc = spreadsheet.parse_csv(data)
        assert doc.problems == [], doc.problems
        assert doc.items[0].stem == "安全电压（　　）" and doc.items[0].explanation == "“引号”, 逗号"


def test_csv_export_guards_against_formulas_and_reads_back():
    from exam.banks.interchange import BankDocument, ItemData

    doc = BankDocument(items=[ItemData(type="short_answer", stem="=1+1 是公式吗", answer="-不是", point_code="1")])
    data = spreadsheet.export_csv(doc)
    assert data.startswith(b"\xef\xbb\xbf") and b"'=1+1" in data
    again = spreadsheet.parse_csv(data)
    assert again.items[0].stem == "=1+1 是公式吗" and again.items[0].answer == "-不是"
    book = load_workbook(io.BytesIO(spreadsheet.export_xlsx(doc)))
    assert book["试题"]["D2"].data_type == "s"
    assert spreadsheet.parse_xlsx(spreadsheet.export_xlsx(doc)).items[0].stem == "=1+1 是公式吗"


def test_the_template_has_the_documented_columns_and_reads_as_empty():
    data = spreadsheet.template()
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["试题", "鉴定要素", "职业信息", "说明"]
    headers = [c.value for c in book["试题"][1]]
    assert headers[:4] == ["编号", "鉴定点代码", "题型", "题干"] and "选项F" in headers and "解析" in headers
    doc = spreadsheet.parse_xlsx(data)
    assert doc.problems == [] and doc.items == [] and doc.occupation is None


def zip_with(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, content in members.items():
            package.writestr(name, content)
    return out.getvalue()


def test_hostile_workbooks_are_refused_before_opening(monkeypatch):
    assert "not an Excel" in located(spreadsheet.parse_xlsx(b"\xd0\xcf\x11\xe0 old xls"))[0][1]
    bomb = zip_with({"xl/worksheets/sheet1.xml": b"<a/>" + b" " * (spreadsheet.MAX_MEMBER_BYTES + 10)})
    assert len(bomb) < 200_000
    assert "unpacks to more than" in located(spreadsheet.parse_xlsx(bomb))[0][1]
    monkeypatch.setattr(spreadsheet, "MAX_MEMBERS", 5)
    many = zip_with({f"part{i}.xml": b"<a/>" for i in range(6)})
    assert "too many parts" in located(spreadsheet.parse_xlsx(many))[0][1]
    broken = zip_with({"[Content_Types].xml": b"<not-closed"})
    monkeypatch.setattr(spreadsheet, "MAX_MEMBERS", 10_000)
    assert "could not be" in located(spreadsheet.parse_xlsx(broken))[0][1]


@pytest.mark.skipif(not CONFORMANCE.exists(), reason="the shared conformance files are not present here")
@pytest.mark.parametrize("name", ["sample.csv", "extended_sample.csv"])
def test_moodle_csv_layout(name):
    doc = spreadsheet.parse_csv((CONFORMANCE / name).read_bytes(), name)
    assert doc.problems == []
    assert len(doc.items) == 10
    assert doc.items[1].type == "multiple" and doc.items[1].answer == ["A", "B"]
    assert doc.items[1].options[3].text == "None ,of the mentioned"
    assert doc.items[1].stem == "The command “mknod myfifo b 4 16”"
    assert doc.items[0].type == "single" and doc.items[0].answer == "C" and doc.items[0].external_id == "Question1"
    if name == "extended_sample.csv":
        assert doc.items[0].points == Decimal("1") and doc.warnings
