"""Roster import from Excel: every row checked, all or nothing, a preview before saving, and
accounts with a one-time initial password for new candidates."""
from __future__ import annotations

import io
from datetime import date

import pytest
from flask_babel import refresh
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from exam.accounts import services as accounts
from exam.accounts.idnumbers import InvalidIdNumber, parse_resident_id
from exam.accounts.models import User
from exam.accounts.passwords import needs_rehash
from exam.core.errors import Gone, ValidationFailed
from exam.extensions import db
from exam.sessions import enrolments, roster
from exam.sessions.models import Enrolment, RosterUpload

from ..factories import resident_id
from .conftest import enrol, make_candidate, published_session

HEADERS = ["姓名", "证件类型", "证件号码", "手机号", "学历", "工作单位", "从事本职业年限", "原证书编号", "原证书等级"]


def workbook(rows, headers=HEADERS) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def good_rows():
    return [
        ["李四", "居民身份证", resident_id("19880512"), "13600000001", "高中/中专", "示范电力", 3, None, None],
        ["王五", "", resident_id("19920101"), "13600000002", "技工学校", None, "2年", None, None],
    ]


def test_the_template_has_the_headers_and_reads_back(app_ctx):
    data = roster.template_workbook()
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert [c.value for c in sheet[1]][:len(HEADERS)] == HEADERS
    parsed = roster.read_roster(data, today=date(2026, 3, 2))
    assert parsed.rows == [] and parsed.problems[0].message.startswith("The file has no candidates")


def test_a_good_roster_is_previewed_then_imported_with_new_accounts(world, factory):
    session = published_session(world)
    existing = enrol(world, factory, session, "老考生", approve=False)
    other_session_user = existing.user
    rows = good_rows()
    users_before = db.session.scalar(select(func.count(User.id)))
    preview = enrolments.preview_roster(world.admin_actor, session.id, "名册.xlsx", workbook(rows))
    assert [line.row.real_name for line in preview.lines] == ["李四", "王五"]
    assert all(line.existing is None for line in preview.lines)
    assert [line.eligibility["eligible"] for line in preview.lines] == [True, True]
    assert db.session.scalar(select(func.count(User.id))) == users_before  # the preview saves no one

    result = enrolments.import_roster(world.admin_actor, session.id, preview.token)
    assert [e.status for e in result.enrolments] == ["applied", "applied"]
    assert {e.source for e in result.enrolments} == {"roster"}
    (li, password), _ = result.new_accounts
    assert li.real_name == "李四" and li.phone == "13600000001" and li.education == "senior_secondary"
    assert result.enrolments[1].evidence["years_in_occupation"] == 2.0
    # The new candidate signs in with the phone number and the initial password; the light
    # initial hash is replaced by a full one at that moment.
    user = accounts.authenticate("13600000001", password)
    assert not needs_rehash(user.password_hash)
    with pytest.raises(Gone):  # the upload is gone once imported
        enrolments.import_roster(world.admin_actor, session.id, preview.token)
    assert db.session.scalar(select(func.count(RosterUpload.id))) == 0
    assert other_session_user.id not in {e.user_id for e in result.enrolments}


def test_an_existing_account_is_enrolled_without_a_new_password(world, factory):
    session = published_session(world)
    person = factory.user(None, real_name="赵六", id_type="resident_id", id_number=resident_id("19850101"),
                          phone="13600000009")
    data = workbook([["赵六", "居民身份证", person.id_number, "13600000009", None, None, 5, None, None]])
    preview = enrolments.preview_roster(world.admin_actor, session.id, "a.xlsx", data)
    assert preview.lines[0].existing.id == person.id
    result = enrolments.import_roster(world.admin_actor, session.id, preview.token)
    assert result.new_accounts == [] and result.enrolments[0].user_id == person.id


def test_a_bad_roster_lists_every_row_problem_and_imports_nothing(app, world, factory):
    session = published_session(world)
    already = enrol(world, factory, session, "已报名")
    someone = make_candidate(factory, "本人")
    good_id = resident_id("19900101")
    bad_check = good_id[:-1] + ("0" if good_id[-1] != "0" else "1")
    rows = [
        ["甲", "居民身份证", bad_check, "13600000011", None, None, 2, None, None],            # row 2
        ["乙", "居民身份证", good_id, "1360000001", None, None, 2, None, None],               # row 3
        ["丙", "居民身份证", good_id, "13600000013", "博士后", None, "很多", None, "七级"],    # row 4
        ["", "居民身份证", 110105199001011234, "13600000013", None, None, None, None, None],  # row 5
        ["已报名", "居民身份证", already.user.id_number, already.user.phone, None, None, 1, None, None],  # row 6
        ["冒名", "居民身份证", someone.id_number, "13600000016", None, None, 1, None, None],  # row 7
    ]
    with app.test_request_context():  # Chinese, as a browser with no language chosen sees it
        refresh()  # forget the language cached in the test's application context
        with pytest.raises(ValidationFailed) as caught:
            enrolments.preview_roster(world.admin_actor, session.id, "bad.xlsx", workbook(rows))
        problems = [str(p) for p in caught.value.problems]
        with pytest.raises(InvalidIdNumber) as why:
            parse_resident_id(bad_check)
        check_character = str(why.value)
    expected = [
        "第 2 行 证件号码: ",  # check character
        "第 3 行 手机号: ",    # phone number
        "第 4 行 学历: ",
        "第 4 行 从事本职业年限: ",
        "第 4 行 原证书等级: ",
        "第 4 行 证件号码: ",  # same ID as row 3
        "第 5 行 姓名: ",
        "第 5 行 证件号码: ",  # stored as a number by Excel
        "第 6 行 证件号码: ",  # already enrolled in this session
        "第 7 行 证件号码: ",  # an account with this number exists under another name
    ]
    for prefix in expected:
        assert any(p.startswith(prefix) for p in problems), f"{prefix!r} not in {problems}"
    assert f"第 2 行 证件号码: {check_character}" in problems
    assert db.session.scalar(select(func.count(Enrolment.id))) == 1
    assert db.session.scalar(select(func.count(RosterUpload.id))) == 0


def test_missing_headers_and_foreign_files(world):
    session = published_session(world)
    with pytest.raises(ValidationFailed) as caught:
        enrolments.preview_roster(world.admin_actor, session.id, "x.xlsx", workbook([["甲"]], headers=["名字"]))
    assert "missing: 姓名、证件号码、手机号" in caught.value.problems[0].message
    with pytest.raises(ValidationFailed) as caught:
        enrolments.preview_roster(world.admin_actor, session.id, "x.xlsx", b"%PDF-1.7 not a workbook")
    assert "not an Excel workbook" in caught.value.problems[0].message
