"""Reading bulk verification lists (pure, in an application context for the messages)."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from exam.certificates import bulk
from exam.core.errors import ValidationFailed


def _xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_chinese_headers_anywhere_and_blank_rows_skipped(app_ctx):
    data = _xlsx([[None], ["序号", "姓名", "证书编号"], [1, "王小明", "Y000111010001264000001"], [None, None, None],
                  [2, "李娜", " y0001110100012640 00002 "]])
    rows = bulk.parse_upload("名单.xlsx", data)
    assert [(r.row, r.number, r.name, r.problem) for r in rows] == [
        (3, "Y000111010001264000001", "王小明", None), (5, "Y000111010001264000002", "李娜", None)]


def test_gb18030_csv_with_english_headers_and_row_problems(app_ctx):
    text = "Certificate Number;Name\nY000111010001264000001;王小明\nY123;李娜\nY000111010001264000002;\n"
    rows = bulk.parse_upload("list.csv", text.encode("gb18030"))
    assert [r.problem is None for r in rows] == [True, False, False]
    assert "22 characters" in rows[1].problem and "name" in rows[2].problem


@pytest.mark.parametrize("name, data", [
    ("list.csv", b""), ("list.csv", "编号,备注\n1,2\n".encode()), ("list.csv", "证书编号,姓名\n".encode()),
    ("list.xlsx", b"PK\x03\x04broken"), ("list.doc", b"hello"), ("list.csv", b"\xff\xfe\x00\x00\xff")])
def test_unusable_files_are_refused_with_a_reason(app_ctx, name, data):
    with pytest.raises(ValidationFailed):
        bulk.parse_upload(name, data)


def test_too_many_rows(app_ctx):
    text = "证书编号,姓名\n" + "Y000111010001264000001,王小明\n" * (bulk.MAX_ROWS + 1)
    with pytest.raises(ValidationFailed, match="2000"):
        bulk.parse_upload("list.csv", text.encode())


def test_names_compare_as_printed():
    assert bulk.same_name("阿依古丽·买买提", "阿依古丽•买买提")
    assert bulk.same_name("王小明", " 王 小明 ")
    assert not bulk.same_name("王小明", "王晓明")
    assert not bulk.same_name("王小明", "")
