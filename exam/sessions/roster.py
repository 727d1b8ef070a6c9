"""Candidate rosters in Excel (报名名册): the template, and reading a filled-in file.

Pure: no database. The reader checks every row (names, ID numbers with their check
character, phone numbers, duplicates inside the file) and reports each problem with
its row and column ("第 3 行 证件号码: …"); the service adds the checks that need the
database (already enrolled, an account with another name) and imports all or nothing.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext

from ..accounts import idnumbers
from ..core.errors import Problem
from ..banks.levels import LEVEL_NAMES_ZH, parse_level

MAX_ROWS = 2000

#: Column headers of the template, in order; the first three are required.
NAME, ID_TYPE, ID_NUMBER, PHONE = "姓名", "证件类型", "证件号码", "手机号"
EDUCATION, EMPLOYER, YEARS = "学历", "工作单位", "从事本职业年限"
PRIOR_NUMBER, PRIOR_LEVEL, PRIOR_OCCUPATION = "原证书编号", "原证书等级", "原证书职业"
APPRENTICESHIP, IN_FIELD, PREPARATORY = "学徒期满", "所学专业与本职业相关", "预备技师证书"
HEADERS = (NAME, ID_TYPE, ID_NUMBER, PHONE, EDUCATION, EMPLOYER, YEARS, PRIOR_NUMBER,
           PRIOR_LEVEL, PRIOR_OCCUPATION, APPRENTICESHIP, IN_FIELD, PREPARATORY)
REQUIRED_HEADERS = (NAME, ID_NUMBER, PHONE)

#: How the template writes education levels, and other spellings people use.
EDUCATION_NAMES_ZH = {
    "none": "初中以下",
    "junior_secondary": "初中",
    "senior_secondary": "高中/中专",
    "technical_school": "技工学校",
    "senior_technical_school": "高级技工学校/技师学院",
    "vocational_college": "大专/高职",
    "bachelor": "本科及以上",
}
_EDUCATION_SYNONYMS = {
    "小学": "none", "无": "none", "初中以下": "none",
    "初中": "junior_secondary",
    "高中": "senior_secondary", "中专": "senior_secondary", "职高": "senior_secondary",
    "中职": "senior_secondary", "高中/中专": "senior_secondary",
    "技工学校": "technical_school", "技校": "technical_school", "技工院校": "technical_school",
    "高级技工学校": "senior_technical_school", "技师学院": "senior_technical_school",
    "高级技工学校/技师学院": "senior_technical_school",
    "大专": "vocational_college", "高职": "vocational_college", "专科": "vocational_college",
    "大专/高职": "vocational_college",
    "本科": "bachelor", "本科及以上": "bachelor", "硕士": "bachelor", "研究生": "bachelor",
    "博士": "bachelor",
}
_ID_TYPE_SYNONYMS = {**{name: code for code, name in idnumbers.ID_TYPE_NAMES_ZH.items()},
                     **{code: code for code in idnumbers.ID_TYPES}, "身份证": "resident_id"}
_YES = {"是", "有", "y", "yes", "1", "√", "true"}
_NO = {"否", "无", "n", "no", "0", "×", "false"}


@dataclass
class RosterRow:
    row: int
    real_name: str
    id_type: str
    id_number: str
    phone: str
    birth_date: date | None = None
    education: str | None = None
    employer: str | None = None
    #: Eligibility evidence, in the shape of ``eligibility.Evidence``.
    evidence: dict = field(default_factory=dict)


@dataclass
class RosterFile:
    rows: list[RosterRow]
    problems: list[Problem]


def location(row: int, column: str) -> str:
    return gettext("Row %(row)d, %(column)s", row=row, column=column)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return re.sub(r"\s+", " ", str(value)).strip()


def _flag(value, problems: list[Problem], where: str) -> bool:
    text = _text(value).lower()
    if not text or text in _NO:
        return False
    if text in _YES:
        return True
    problems.append(Problem(gettext("Write 是 or 否."), where))
    return False


def read_roster(data: bytes, *, today: date) -> RosterFile:
    """Read a roster workbook (first sheet, headers in row 1)."""
    problems: list[Problem] = []
    try:
        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # zipfile, XML and openpyxl errors: any damaged or foreign file
        return RosterFile([], [Problem(gettext("This is not an Excel workbook (.xlsx). Download the "
                                               "template and fill it in."))])
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None) or ()
        columns = {}
        for index, title in enumerate(header):
            name = _text(title).replace(" ", "").rstrip("*＊")
            if name in HEADERS and name not in columns:
                columns[name] = index
        missing = [h for h in REQUIRED_HEADERS if h not in columns]
        if missing:
            return RosterFile([], [Problem(gettext(
                "Row 1 must have the column headers of the template; missing: %(columns)s.",
                columns="、".join(missing)))])
        parsed: list[RosterRow] = []
        seen: list[RosterRow] = []  # every row, valid or not, for the duplicate checks
        for row_no, values in enumerate(rows, start=2):
            if not any(_text(v) for v in values):
                continue
            if len(parsed) >= MAX_ROWS:
                problems.append(Problem(gettext("A roster has at most %(n)d candidates; split the "
                                                "file.", n=MAX_ROWS)))
                break

            def cell(column: str):
                index = columns.get(column)
                return values[index] if index is not None and index < len(values) else None

            row, ok = _read_row(row_no, cell, problems, today)
            seen.append(row)
            if ok:
                parsed.append(row)
    finally:
        workbook.close()
    _check_duplicates(seen, problems)
    if not parsed and not problems:
        problems.append(Problem(gettext("The file has no candidates below the header row.")))
    return RosterFile(parsed, problems)


def _read_row(row_no: int, cell, problems: list[Problem], today: date) -> tuple[RosterRow, bool]:
    """The row as read, and whether it has no problem."""
    before = len(problems)
    name = _text(cell(NAME))
    if not name:
        problems.append(Problem(gettext("The name is missing."), location(row_no, NAME)))
    elif len(name) > 50:
        problems.append(Problem(gettext("The name is longer than 50 characters."),
                                location(row_no, NAME)))
    type_text = _text(cell(ID_TYPE)) or "居民身份证"
    id_type = _ID_TYPE_SYNONYMS.get(type_text)
    if id_type is None:
        problems.append(Problem(gettext("Unknown ID type %(type)s; use one of: %(types)s.",
                                        type=type_text,
                                        types="、".join(idnumbers.ID_TYPE_NAMES_ZH.values())),
                                location(row_no, ID_TYPE)))
    raw_number = cell(ID_NUMBER)
    number, born = "", None
    if isinstance(raw_number, (int, float)) and not isinstance(raw_number, bool):
        problems.append(Problem(gettext("Excel stored this ID number as a number and may have "
                                        "changed its digits; format the column as text and type "
                                        "it again."), location(row_no, ID_NUMBER)))
    elif not _text(raw_number):
        problems.append(Problem(gettext("The ID number is missing."), location(row_no, ID_NUMBER)))
    elif id_type is not None:
        try:
            number, born = idnumbers.validate_id_number(id_type, _text(raw_number), today)
        except idnumbers.InvalidIdNumber as exc:
            problems.append(Problem(str(exc), location(row_no, ID_NUMBER)))
    phone = _text(cell(PHONE)).replace("-", "").replace(" ", "")
    if not phone:
        problems.append(Problem(gettext("The mobile number is missing."), location(row_no, PHONE)))
    elif not idnumbers.is_mobile_number(phone):
        problems.append(Problem(gettext("%(phone)s is not an 11-digit mainland mobile number.",
                                        phone=phone), location(row_no, PHONE)))
    education = None
    education_text = _text(cell(EDUCATION)).replace(" ", "")
    if education_text:
        education = _EDUCATION_SYNONYMS.get(education_text)
        if education is None:
            problems.append(Problem(gettext("Unknown education %(value)s; use one of: %(values)s.",
                                            value=education_text,
                                            values="、".join(EDUCATION_NAMES_ZH.values())),
                                    location(row_no, EDUCATION)))
    years = None
    years_text = _text(cell(YEARS)).rstrip("年").strip()
    if years_text:
        try:
            years = Decimal(years_text)
            if years.is_nan() or not 0 <= years <= 60:
                raise InvalidOperation
        except InvalidOperation:
            problems.append(Problem(gettext("Write the years as a number from 0 to 60."),
                                    location(row_no, YEARS)))
            years = None
    prior_number = _text(cell(PRIOR_NUMBER)).replace(" ", "").upper() or None
    prior_level = None
    level_text = _text(cell(PRIOR_LEVEL))
    if level_text:
        prior_level = parse_level(level_text)
        if prior_level is None:
            problems.append(Problem(gettext("Unknown level %(value)s; write e.g. %(example)s.",
                                            value=level_text, example=LEVEL_NAMES_ZH[5]),
                                    location(row_no, PRIOR_LEVEL)))
    if prior_level is not None and not prior_number:
        problems.append(Problem(gettext("A prior certificate level needs the certificate number."),
                                location(row_no, PRIOR_NUMBER)))
    evidence = {
        "years_in_occupation": float(years) if years is not None else None,
        "education": education,
        "education_in_field": _flag(cell(IN_FIELD), problems, location(row_no, IN_FIELD)),
        "apprenticeship_completed": _flag(cell(APPRENTICESHIP), problems,
                                          location(row_no, APPRENTICESHIP)),
        "preparatory_technician": _flag(cell(PREPARATORY), problems, location(row_no, PREPARATORY)),
        "prior_certificate_number": prior_number,
        "prior_certificate_level": prior_level,
        "prior_certificate_occupation": _text(cell(PRIOR_OCCUPATION)) or None,
    }
    row = RosterRow(row=row_no, real_name=name, id_type=id_type or "", id_number=number,
                    phone=phone if idnumbers.is_mobile_number(phone) else "", birth_date=born,
                    education=education, employer=_text(cell(EMPLOYER))[:200] or None, evidence=evidence)
    return row, len(problems) == before


def _check_duplicates(rows: list[RosterRow], problems: list[Problem]) -> None:
    seen_ids: dict[tuple[str, str], int] = {}
    seen_phones: dict[str, int] = {}
    for row in rows:
        key = (row.id_type, row.id_number)
        if row.id_number and key in seen_ids:
            problems.append(Problem(gettext("The same ID number as row %(other)d.", other=seen_ids[key]),
                                    location(row.row, ID_NUMBER)))
        elif row.id_number:
            seen_ids[key] = row.row
        if not row.phone:
            continue
        if row.phone in seen_phones:
            problems.append(Problem(gettext("The same mobile number as row %(other)d.",
                                            other=seen_phones[row.phone]), location(row.row, PHONE)))
        else:
            seen_phones[row.phone] = row.row


def template_workbook() -> bytes:
    """The roster template: headers, text-formatted ID column, drop-down lists, instructions."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "报名名册"
    sheet.append(list(HEADERS))
    bold = Font(bold=True)
    required = PatternFill("solid", fgColor="FFF4E0")
    for index, title in enumerate(HEADERS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = bold
        cell.alignment = Alignment(horizontal="center")
        if title in REQUIRED_HEADERS:
            cell.fill = required
        letter = cell.column_letter
        sheet.column_dimensions[letter].width = max(12, len(title) * 2 + 4)
    id_column = sheet.cell(row=1, column=HEADERS.index(ID_NUMBER) + 1).column_letter
    phone_column = sheet.cell(row=1, column=HEADERS.index(PHONE) + 1).column_letter
    sheet.column_dimensions[id_column].width = 24
    for letter in (id_column, phone_column):  # text: Excel must not turn IDs into numbers
        sheet.column_dimensions[letter].number_format = "@"
        for row in range(2, 202):
            sheet[f"{letter}{row}"].number_format = "@"
    lists = {
        ID_TYPE: list(idnumbers.ID_TYPE_NAMES_ZH.values()),
        EDUCATION: list(EDUCATION_NAMES_ZH.values()),
        PRIOR_LEVEL: list(LEVEL_NAMES_ZH.values()),
        APPRENTICESHIP: ["是", "否"], IN_FIELD: ["是", "否"], PREPARATORY: ["是", "否"],
    }
    for title, values in lists.items():
        letter = sheet.cell(row=1, column=HEADERS.index(title) + 1).column_letter
        validation = DataValidation(type="list", formula1='"' + ",".join(values) + '"',
                                    allow_blank=True)
        validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
        sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("填写说明")
    for line in (
        "每行一名考生；第一行为表头，请勿修改。姓名、证件号码、手机号为必填项（表头为橙色）。",
        "证件类型留空即为居民身份证；证件号码按文本填写，18 位身份证号会校验最后一位校验码。",
        "手机号为 11 位大陆手机号，用于考生登录；同一文件内证件号码、手机号不得重复。",
        "学历、原证书等级、是/否 各列请从下拉列表中选择。从事本职业年限填写数字，如 4 或 4.5。",
        "持有本平台颁发的原证书时填写证书编号，系统自动核验；其他证书按申报信息人工核验。",
        "任一行有误则整个文件不导入，系统会列出每一处错误（第几行、哪一列）。",
    ):
        notes.append([line])
    notes.column_dimensions["A"].width = 110
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
