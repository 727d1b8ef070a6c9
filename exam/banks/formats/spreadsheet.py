"""Excel (.xlsx) and CSV question sheets with Chinese column headers.

The conventions (column names, how types, answers, pinned options and scoring are
written, the element-tree and occupation sheets) are documented in
``question_banks/README.md``; ``COLUMNS`` and ``ELEMENT_COLUMNS`` below are the source of
truth for the headers, in Chinese and English.

Hostile files: an .xlsx is a zip, so its members are counted and their declared sizes
added up before openpyxl opens it (openpyxl itself parses the XML with defusedxml).
Spreadsheets and CSV files have a row limit; every problem names its row and column.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Iterator

from flask_babel import gettext

from ..interchange import OPTION_KEYS, BankDocument, ElementNode, ItemData, OptionData
from . import MAX_FILE_BYTES, MAX_MEMBER_BYTES, MAX_MEMBERS, MAX_UNZIPPED_BYTES, Format, register
from .fields import (FieldError, decimal, difficulty, importance, integer, is_unsupported_type,
                     level, normalise_word, option_letters, question_type, text, weight)

MAX_ROWS = 100_000
#: Stop reading a sheet after this many empty rows in a row (formatted but empty sheets
#: can claim a million rows).
EMPTY_ROWS_STOP = 200

ITEMS_SHEET = "试题"
ELEMENTS_SHEET = "鉴定要素"
OCCUPATION_SHEET = "职业信息"
GUIDE_SHEET = "说明"

#: Item columns: field → accepted headers (the first is written by exports and the template).
COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("编号", "id", "试题编号", "questionname"),
    "point": ("鉴定点代码", "鉴定点", "point", "point code", "鉴定点编码"),
    "type": ("题型", "type", "question type"),
    "stem": ("题干", "stem", "question", "questiontext", "题目"),
    **{key: (f"选项{key}", key, f"option {key}", f"选项 {key}") for key in OPTION_KEYS},
    "answer": ("答案", "answer", "正确答案", "参考答案"),
    "points": ("分值", "points", "score", "分数", "defaultmark"),
    "difficulty": ("难度", "difficulty"),
    "explanation": ("解析", "explanation", "答案解析", "generalfeedback"),
    "pin_last": ("固定末位", "pin last", "pin_last", "末位固定"),
    "scoring": ("计分方式", "scoring"),
    "case_sensitive": ("区分大小写", "case sensitive", "case_sensitive"),
    "category": ("分类", "category"),
}
#: Columns of other systems' sheets that carry nothing SkillCert keeps (reported once as ignored).
_ANSWER_N = re.compile(r"^(?:answer|答案)\s*(\d+)$")

ELEMENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("代码", "code", "鉴定要素代码", "编码"),
    "name": ("名称", "name", "鉴定要素名称"),
    "importance": ("重要程度", "importance", "重要性"),
    "weight": ("比重", "weight", "比重(%)", "比重（%）"),
    "parent": ("上级代码", "parent", "parent code"),
}

OCCUPATION_KEYS: dict[str, tuple[str, ...]] = {
    "code": ("职业代码", "occupation code", "职业编码"),
    "name": ("职业名称", "occupation name", "职业"),
    "name_en": ("英文名称", "english name", "name_en"),
    "level": ("等级", "level", "职业等级"),
    "levels": ("可申报等级", "levels", "等级范围"),
    "work_types": ("工种", "work types", "职业方向", "工种/职业方向"),
    "bank_name": ("题库名称", "bank name", "题库"),
}

TYPE_WRITTEN = {"single": "单选", "multiple": "多选", "true_false": "判断", "fill_blank": "填空",
                "short_answer": "简答"}
_TRUE_WORDS = {"对", "正确", "√", "✓", "✔", "t", "true", "是", "y", "yes", "1"}
_FALSE_WORDS = {"错", "错误", "×", "✗", "✘", "x", "f", "false", "否", "n", "no", "0"}
_PARTIAL_WORDS = {"部分得分", "少选得分", "少选得部分分", "partial", "按比例"}
_ALL_WORDS = {"全对得分", "全部正确得分", "all_or_nothing", "all or nothing"}
_YES_WORDS = {"是", "y", "yes", "true", "1", "√", "区分"}
_NO_WORDS = {"否", "n", "no", "false", "0", "不区分"}
_UNDERSCORES = re.compile(r"[_＿]{3,}")
#: CSV cells that a spreadsheet would run as a formula get a leading apostrophe on export.
_FORMULA_START = re.compile(r"^'*[=+\-@]")


def _lookup(aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    table = {}
    for name, words in aliases.items():
        for word in words:
            table[normalise_word(word)] = name
            table[normalise_word(word).replace(" ", "")] = name
    return table


_ITEM_HEADERS = _lookup(COLUMNS)
_ELEMENT_HEADERS = _lookup(ELEMENT_COLUMNS)
_OCCUPATION_ROWS = _lookup(OCCUPATION_KEYS)


def row_location(row: int, column: str | None = None, sheet: str | None = None) -> str:
    """``row 7, 答案`` (第 7 行，答案), with the sheet's name when it is not the items sheet."""
    if column:
        where = gettext("row %(n)d, %(column)s", n=row, column=column)
    else:
        where = gettext("row %(n)d", n=row)
    return gettext("sheet %(sheet)s, %(where)s", sheet=sheet, where=where) if sheet else where


# --- reading rows ---------------------------------------------------------------------------------

@dataclass
class _Header:
    fields: dict[str, int]  # field → column index
    names: dict[str, str]  # field → header as written
    answer_columns: list[int]  # "Answer 1", "Answer 2" … (Moodle CSV sheets)


def _header(cells: tuple, lookup: dict[str, str], doc: BankDocument, row: int,
            sheet: str | None) -> _Header:
    fields, names, answers = {}, {}, []
    ignored = []
    for index, cell in enumerate(cells):
        written = text(cell)
        if written is None:
            continue
        word = normalise_word(written)
        name = lookup.get(word) or lookup.get(word.replace(" ", ""))
        if name is None and lookup is _ITEM_HEADERS and _ANSWER_N.match(word):
            answers.append(index)
            names.setdefault("answer", written)
            continue
        if name is None:
            ignored.append(written)
        elif name in fields:
            doc.error(gettext("The column %(column)s appears twice.", column=written),
                      row_location(row, written, sheet))
        else:
            fields[name], names[name] = index, written
    if ignored:
        doc.warn(gettext("Columns SkillCert does not read were ignored: %(columns)s.",
                         columns="、".join(ignored)), row_location(row, None, sheet))
    return _Header(fields, names, answers)


def _rows(rows: Iterable[tuple]) -> Iterator[tuple[int, tuple]]:
    """(row number, cells) of the non-empty rows, stopping after a long run of empty rows."""
    empty = 0
    for number, cells in enumerate(rows, start=1):
        if not any(text(c) is not None for c in cells):
            empty += 1
            if empty >= EMPTY_ROWS_STOP:
                return
            continue
        empty = 0
        yield number, cells


class _ItemRows:
    """Reads the items sheet (or a CSV file) into ``ItemData``."""

    def __init__(self, doc: BankDocument, sheet: str | None = None, strip_apostrophe: bool = False):
        self.doc, self.sheet = doc, sheet
        self.strip_apostrophe = strip_apostrophe

    def read(self, rows: Iterable[tuple]) -> None:
        iterator = _rows(rows)
        first = next(iterator, None)
        if first is None:
            self.doc.error(gettext("The items sheet is empty: the first row must name the columns "
                                   "(题型, 题干, 选项A … 答案)."), self.sheet)
            return
        header_row, cells = first
        self.header = _header(cells, _ITEM_HEADERS, self.doc, header_row, self.sheet)
        missing = [COLUMNS[f][0] for f in ("stem",) if f not in self.header.fields]
        if "answer" not in self.header.fields and not self.header.answer_columns:
            missing.append(COLUMNS["answer"][0])
        if missing:
            self.doc.error(gettext("Required columns are missing: %(columns)s.",
                                   columns="、".join(missing)), row_location(header_row, None, self.sheet))
            return
        for count, (number, cells) in enumerate(iterator, start=1):
            if count > MAX_ROWS:
                self.doc.error(gettext("The sheet has more than %(n)d rows.", n=MAX_ROWS),
                               row_location(number, None, self.sheet))
                return
            self.row(number, cells)

    def cell(self, cells: tuple, field: str):
        index = self.header.fields.get(field)
        if index is None or index >= len(cells):
            return None
        value = cells[index]
        if self.strip_apostrophe and isinstance(value, str) and _FORMULA_START.match(value) \
                and value.startswith("'"):
            value = value[1:]
        return value

    def where(self, row: int, field: str) -> str:
        return row_location(row, self.header.names.get(field, COLUMNS[field][0]), self.sheet)

    def convert(self, row: int, cells: tuple, column: str, reader, *args, **kwargs):
        try:
            return reader(self.cell(cells, column), *args, **kwargs)
        except FieldError as exc:
            self.doc.error(str(exc), self.where(row, column))
            return None

    def row(self, row: int, cells: tuple) -> None:
        doc = self.doc
        options = self.options(row, cells)
        answer_cell = self.cell(cells, "answer")
        if answer_cell is None and self.header.answer_columns:
            parts = [text(cells[i]) for i in self.header.answer_columns if i < len(cells)]
            answer_cell = ",".join(p for p in parts if p)
        written_type = text(self.cell(cells, "type"))
        if written_type is None and "type" not in self.header.fields and options:
            # Sheets without a type column (Moodle's CSV layout): the number of answers decides.
            try:
                written_type = "multiple" if len(option_letters(answer_cell)) > 1 else "single"
            except FieldError:
                written_type = "single"
        if written_type is None:
            doc.error(gettext("The question type is empty (单选, 多选, 判断, 填空 or 简答)."),
                      self.where(row, "type"))
            return
        type_ = question_type(written_type)
        if type_ is None:
            if is_unsupported_type(written_type):
                doc.not_supported(written_type, row_location(row, None, self.sheet))
            else:
                doc.error(gettext("Unknown question type “%(type)s”: write 单选, 多选, 判断, 填空 or 简答.",
                                  type=written_type), self.where(row, "type"))
            return
        item = ItemData(type=type_, stem=text(self.cell(cells, "stem")) or "",
                        location=row_location(row, None, self.sheet))
        if type_ == "fill_blank" and "[[" not in item.stem:
            counter = iter(range(1, 100))
            item.stem = _UNDERSCORES.sub(lambda m: f"[[{next(counter)}]]", item.stem)
        item.options = options
        item.external_id = text(self.cell(cells, "id"))
        item.point_code = text(self.cell(cells, "point"))
        category = text(self.cell(cells, "category"))
        if category:
            item.category_path = [p.strip() for p in re.split(r"[/>＞]", category) if p.strip()]
        item.points = self.convert(row, cells, "points", decimal, field=self.header.names.get(
            "points", COLUMNS["points"][0]))
        item.difficulty = self.convert(row, cells, "difficulty", difficulty)
        item.explanation = text(self.cell(cells, "explanation"))
        try:
            item.answer = self.answer(type_, answer_cell)
        except FieldError as exc:
            doc.error(str(exc), self.where(row, "answer"))
        pinned = self.convert(row, cells, "pin_last", option_letters) or []
        keys = {o.key for o in options}
        for key in pinned:
            if key not in keys:
                doc.error(gettext("Option %(key)s is pinned last but the row has no option %(key)s.",
                                  key=key), self.where(row, "pin_last"))
        for option in options:
            option.pin_last = option.key in pinned
        scoring = normalise_word(self.cell(cells, "scoring"))
        if scoring in _PARTIAL_WORDS:
            item.config["scoring"] = "partial"
        elif scoring and scoring not in _ALL_WORDS:
            doc.error(gettext("Scoring is written 全对得分 (all or nothing) or 部分得分 (partial), not "
                              "“%(value)s”.", value=self.cell(cells, "scoring")), self.where(row, "scoring"))
        case = normalise_word(self.cell(cells, "case_sensitive"))
        if case in _YES_WORDS:
            item.config["case_sensitive"] = True
        elif case and case not in _NO_WORDS:
            doc.error(gettext("Write 是 or 否 here."), self.where(row, "case_sensitive"))
        doc.items.append(item)

    def options(self, row: int, cells: tuple) -> list[OptionData]:
        found = [(key, text(self.cell(cells, key))) for key in OPTION_KEYS]
        while found and found[-1][1] is None:
            found.pop()
        for key, value in found:
            if value is None:
                self.doc.error(gettext("Option %(key)s is empty but a later option is filled in.", key=key),
                               self.where(row, key))
        return [OptionData(key, value or "") for key, value in found]

    @staticmethod
    def answer(type_: str, cell):
        if type_ == "single":
            letters = option_letters(cell)
            if len(letters) > 1:
                raise FieldError(gettext("A single-choice question has one answer letter, not "
                                         "“%(value)s”.", value=cell))
            return letters[0] if letters else None
        if type_ == "multiple":
            return option_letters(cell) or None
        if type_ == "true_false":
            if isinstance(cell, bool):
                return cell
            word = normalise_word(cell)
            if word in _TRUE_WORDS:
                return True
            if word in _FALSE_WORDS:
                return False
            if not word:
                return None
            raise FieldError(gettext("Write a true-or-false answer as 对 or 错 (also √/×, 正确/错误, T/F), "
                                     "not “%(value)s”.", value=cell))
        if type_ == "fill_blank":
            value = text(cell)
            if value is None:
                return None
            return [[a.strip() for a in re.split(r"[|｜]", blank) if a.strip()]
                    for blank in re.split(r"[;；]", value) if blank.strip()]
        return text(cell)


def _elements(rows: Iterable[tuple], doc: BankDocument, sheet: str) -> list[ElementNode]:
    iterator = _rows(rows)
    first = next(iterator, None)
    if first is None:
        return []
    header = _header(first[1], _ELEMENT_HEADERS, doc, first[0], sheet)
    if "code" not in header.fields or "name" not in header.fields:
        doc.error(gettext("The %(sheet)s sheet needs the columns 代码 and 名称.", sheet=sheet),
                  row_location(first[0], None, sheet))
        return []

    def cell(cells, field):
        index = header.fields.get(field)
        return cells[index] if index is not None and index < len(cells) else None

    def where(row, field):
        return row_location(row, header.names.get(field, ELEMENT_COLUMNS[field][0]), sheet)

    nodes: dict[str, ElementNode] = {}
    parents: dict[str, tuple[str | None, int]] = {}
    order = []
    for row, cells in iterator:
        code = text(cell(cells, "code"))
        if code is None:
            doc.error(gettext("The code is empty."), where(row, "code"))
            continue
        if code in nodes:
            doc.error(gettext("The code %(code)s appears twice.", code=code), where(row, "code"))
            continue
        node = ElementNode(code=code, name=text(cell(cells, "name")) or "",
                           location=row_location(row, None, sheet))
        if not node.name:
            doc.error(gettext("Element %(code)s has no name.", code=code), where(row, "name"))
        for field, reader in (("importance", importance), ("weight", weight)):
            try:
                setattr(node, field, reader(cell(cells, field)))
            except FieldError as exc:
                doc.error(str(exc), where(row, field))
        nodes[code] = node
        parents[code] = (text(cell(cells, "parent")), row)
        order.append(code)
    roots = []
    for code in order:
        explicit, row = parents[code]
        parent = explicit
        if parent is None:  # 1.2.3 belongs to the longest code it extends: 1.2, else 1
            parts = code.split(".")
            parent = next((".".join(parts[:n]) for n in range(len(parts) - 1, 0, -1)
                           if ".".join(parts[:n]) in nodes), None)
        if parent is None:
            roots.append(nodes[code])
        elif parent not in nodes or parent == code:
            doc.error(gettext("The parent code %(parent)s is not in the sheet.", parent=parent),
                      where(row, "parent"))
        else:
            nodes[parent].children.append(nodes[code])
    reachable = {node.code for root in roots for node, _ in root.walk()}
    for code in order:
        if code not in reachable and parents[code][0] in nodes:
            doc.error(gettext("Element %(code)s is its own ancestor.", code=code),
                      where(parents[code][1], "parent"))
    return roots


def _occupation(rows: Iterable[tuple], doc: BankDocument, sheet: str) -> None:
    from ..interchange import OccupationData

    values: dict[str, tuple[object, int]] = {}
    for row, cells in _rows(rows):
        key = normalise_word(cells[0] if cells else None)
        field = _OCCUPATION_ROWS.get(key) or _OCCUPATION_ROWS.get(key.replace(" ", ""))
        if field is not None:
            values[field] = (cells[1] if len(cells) > 1 else None, row)
    if not any(text(v) for v, _ in values.values()):
        return

    def value(field):
        return values.get(field, (None, 0))[0]

    def where(field):
        return row_location(values.get(field, (None, 1))[1], OCCUPATION_KEYS[field][0], sheet)

    code, name = text(value("code")), text(value("name"))
    if not code:
        doc.error(gettext("The occupation code is missing."), where("code"))
    if not name:
        doc.error(gettext("The occupation name is missing."), where("name"))
    levels = []
    for part in re.split(r"[\s,，、;；]+", text(value("levels")) or ""):
        if part:
            try:
                levels.append(integer(part, field=OCCUPATION_KEYS["levels"][0]))
            except FieldError as exc:
                doc.error(str(exc), where("levels"))
    work_types = [w.strip() for w in re.split(r"[,，、;；\n]+", text(value("work_types")) or "")
                  if w.strip() and w.strip() != "--"]
    doc.occupation = OccupationData(code=code or "", name=name or "",
                                    name_en=text(value("name_en")), levels=levels,
                                    work_types=work_types)
    try:
        doc.level = level(value("level"), levels or None)
    except FieldError as exc:
        doc.error(str(exc), where("level"))
    doc.bank_name = text(value("bank_name"))


# --- xlsx -------------------------------------------------------------------------------------

def zip_problem(data: bytes) -> str | None:
    """Why a zip package may not be opened (member count, sizes), or None when it is fine."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            members = package.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return gettext("This is not an Excel .xlsx workbook. Old .xls files: open them in Excel or WPS "
                       "and save as .xlsx.")
    if len(members) > MAX_MEMBERS:
        return gettext("The workbook holds too many parts (%(n)d).", n=len(members))
    total = 0
    for member in members:
        if member.file_size > MAX_MEMBER_BYTES:
            return gettext("A part of the workbook unpacks to more than %(mb)d MB.",
                           mb=MAX_MEMBER_BYTES // (1024 * 1024))
        total += member.file_size
    if total > MAX_UNZIPPED_BYTES:
        return gettext("The workbook unpacks to more than %(mb)d MB.",
                       mb=MAX_UNZIPPED_BYTES // (1024 * 1024))
    return None


def _find_sheet(names: list[str], *wanted: str) -> str | None:
    normalised = {normalise_word(n): n for n in names}
    for word in wanted:
        if normalise_word(word) in normalised:
            return normalised[normalise_word(word)]
    return None


def parse_xlsx(data: bytes, filename: str = "") -> BankDocument:
    """Read a workbook: the items sheet, and the element-tree and occupation sheets when present."""
    import openpyxl

    doc = BankDocument(source_format="xlsx")
    if len(data) > MAX_FILE_BYTES:
        doc.error(gettext("The file is larger than %(mb)d MB.", mb=MAX_FILE_BYTES // (1024 * 1024)))
        return doc
    problem = zip_problem(data)
    if problem:
        doc.error(problem)
        return doc
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for broken packages; none may become a 500
        doc.error(gettext("The workbook could not be opened; save it again from Excel or WPS as .xlsx."))
        return doc
    try:
        names = workbook.sheetnames
        items_name = _find_sheet(names, ITEMS_SHEET, "items", "题目", "题库") or \
            next((n for n in names if n not in (ELEMENTS_SHEET, OCCUPATION_SHEET, GUIDE_SHEET)), None)
        elements_name = _find_sheet(names, ELEMENTS_SHEET, "elements", "鉴定要素细目表")
        occupation_name = _find_sheet(names, OCCUPATION_SHEET, "occupation")
        if occupation_name:
            _occupation(_sheet_rows(workbook, occupation_name, doc), doc, occupation_name)
        if elements_name:
            doc.elements = _elements(_sheet_rows(workbook, elements_name, doc), doc, elements_name)
        if items_name is None:
            doc.error(gettext("The workbook has no %(sheet)s sheet.", sheet=ITEMS_SHEET))
        else:
            sheet_label = items_name if len(names) > 1 and normalise_word(items_name) != \
                normalise_word(ITEMS_SHEET) else None
            _ItemRows(doc, sheet_label).read(_sheet_rows(workbook, items_name, doc))
    finally:
        workbook.close()
    return doc


def _sheet_rows(workbook, name: str, doc: BankDocument) -> Iterator[tuple]:
    """The sheet's rows as values; a malformed sheet part becomes a problem, not an exception."""
    try:
        rows = workbook[name].iter_rows(values_only=True)
    except Exception:  # openpyxl raises many kinds for broken parts; none may become a 500
        rows = None
    while rows is not None:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception:
            break
        yield row
    doc.error(gettext("The sheet %(sheet)s could not be read; save the workbook again from Excel or "
                      "WPS as .xlsx.", sheet=name))


# --- csv --------------------------------------------------------------------------------------------

def decode_csv(data: bytes) -> tuple[str | None, str]:
    """(text, encoding name): UTF-8 with or without BOM, UTF-16 with BOM, else GB18030."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            return None, "UTF-16"
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "GB18030"
    except UnicodeDecodeError:
        return None, "GB18030"


def parse_csv(data: bytes, filename: str = "") -> BankDocument:
    """Read a CSV file with the items sheet's columns."""
    doc = BankDocument(source_format="csv")
    if len(data) > MAX_FILE_BYTES:
        doc.error(gettext("The file is larger than %(mb)d MB.", mb=MAX_FILE_BYTES // (1024 * 1024)))
        return doc
    content, _encoding = decode_csv(data)
    if content is None:
        doc.error(gettext("The file is neither UTF-8 nor GB18030 text; save it as “CSV UTF-8”."))
        return doc
    first_line = content.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)

    def rows():
        try:
            yield from reader
        except csv.Error as exc:
            doc.error(gettext("The CSV file is malformed: %(problem)s.", problem=str(exc)),
                      row_location(reader.line_num))

    _ItemRows(doc, strip_apostrophe=True).read(rows())
    return doc


# --- writing ------------------------------------------------------------------------------------------

def _item_row(item: ItemData) -> list:
    """The items sheet's cells for one item, in ``COLUMNS`` order."""
    answer = item.answer
    if item.type == "true_false":
        answer = "对" if answer else ("错" if answer is False else None)
    elif item.type == "multiple":
        answer = "".join(answer or [])
    elif item.type == "fill_blank":
        answer = "；".join("|".join(alts) for alts in answer or [])
    options = {o.key: o.text for o in item.options}
    row = [item.external_id, item.point_code, TYPE_WRITTEN.get(item.type, item.type), item.stem,
           *[options.get(key) for key in OPTION_KEYS], answer,
           None if item.points is None else _number(item.points), item.difficulty, item.explanation,
           "".join(o.key for o in item.options if o.pin_last) or None,
           "部分得分" if item.config.get("scoring") == "partial" else None,
           "是" if item.config.get("case_sensitive") else None,
           "/".join(item.category_path) or None]
    return row


def _number(value: Decimal):
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


HEADERS = [words[0] for words in COLUMNS.values()]


def _element_rows(doc: BankDocument) -> list[list]:
    rows = []
    for root in doc.elements:
        for node, path in root.walk():
            rows.append([node.code, node.name, node.importance if node.is_point else None,
                         None if node.weight is None else _number(node.weight),
                         path[-1] if path else None])
    return rows


def _safe_csv(value):
    if isinstance(value, str) and _FORMULA_START.match(value):
        return "'" + value
    return value


def export_csv(doc: BankDocument) -> bytes:
    """The items as CSV (UTF-8 with BOM, so Excel opens it with the right characters)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for item in doc.items:
        writer.writerow(["" if v is None else _safe_csv(v) for v in _item_row(item)])
    return out.getvalue().encode("utf-8-sig")


def export_xlsx(doc: BankDocument) -> bytes:
    """A workbook with the items, the element tree and the occupation (the template's layout)."""
    return workbook_bytes(doc, with_items=True)


def template(doc: BankDocument | None = None) -> bytes:
    """The empty template; with ``doc``, its element tree and occupation are filled in."""
    return workbook_bytes(doc or BankDocument(), with_items=False)


def _set(ws, row: int, column: int, value) -> None:
    cell = ws.cell(row=row, column=column)
    if value is None:
        return
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # text starting with "=" stays text, never a formula


def workbook_bytes(doc: BankDocument, with_items: bool) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="E6EEFA")
    workbook = Workbook()
    items = workbook.active
    items.title = ITEMS_SHEET
    for column, header in enumerate(HEADERS, start=1):
        _set(items, 1, column, header)
        items.cell(row=1, column=column).font = bold
        items.cell(row=1, column=column).fill = fill
    items.freeze_panes = "A2"
    widths = {"编号": 12, "鉴定点代码": 12, "题型": 8, "题干": 48, "答案": 12, "解析": 30}
    for column, header in enumerate(HEADERS, start=1):
        letter = get_column_letter(column)
        items.column_dimensions[letter].width = widths.get(header, 14 if header.startswith("选项") else 10)
        if header in ("编号", "鉴定点代码", "答案", "固定末位"):
            items.column_dimensions[letter].number_format = "@"
    type_list = DataValidation(type="list", formula1='"单选,多选,判断,填空,简答"', allow_blank=True)
    type_list.add(f"C2:C{max(len(doc.items) + 1, 2000)}")
    difficulty_list = DataValidation(type="whole", operator="between", formula1="1", formula2="5",
                                     allow_blank=True)
    difficulty_list.add(f"{get_column_letter(HEADERS.index('难度') + 1)}2:"
                        f"{get_column_letter(HEADERS.index('难度') + 1)}{max(len(doc.items) + 1, 2000)}")
    items.add_data_validation(type_list)
    items.add_data_validation(difficulty_list)
    wrap = Alignment(wrap_text=True, vertical="top")
    if with_items:
        for row, item in enumerate(doc.items, start=2):
            for column, value in enumerate(_item_row(item), start=1):
                _set(items, row, column, value)
            items.cell(row=row, column=4).alignment = wrap

    elements = workbook.create_sheet(ELEMENTS_SHEET)
    for column, header in enumerate(words[0] for words in ELEMENT_COLUMNS.values()):
        _set(elements, 1, column + 1, header)
        elements.cell(row=1, column=column + 1).font = bold
        elements.cell(row=1, column=column + 1).fill = fill
    for letter, width in zip("ABCDE", (12, 40, 10, 8, 12)):
        elements.column_dimensions[letter].width = width
        if letter in "AE":
            elements.column_dimensions[letter].number_format = "@"
    for row, values in enumerate(_element_rows(doc), start=2):
        for column, value in enumerate(values, start=1):
            _set(elements, row, column, value)
    elements.freeze_panes = "A2"

    occupation = workbook.create_sheet(OCCUPATION_SHEET)
    occ = doc.occupation
    facts = [("code", occ.code if occ else None), ("name", occ.name if occ else None),
             ("name_en", occ.name_en if occ else None), ("level", doc.level),
             ("levels", "、".join(str(n) for n in occ.levels) if occ and occ.levels else None),
             ("work_types", "、".join(occ.work_types) if occ and occ.work_types else None),
             ("bank_name", doc.bank_name)]
    _set(occupation, 1, 1, "项目")
    _set(occupation, 1, 2, "内容")
    occupation.cell(row=1, column=1).font = bold
    occupation.cell(row=1, column=2).font = bold
    for row, (field, value) in enumerate(facts, start=2):
        _set(occupation, row, 1, OCCUPATION_KEYS[field][0])
        _set(occupation, row, 2, value)
    occupation.column_dimensions["A"].width = 14
    occupation.column_dimensions["B"].width = 40
    occupation.column_dimensions["B"].number_format = "@"

    guide = workbook.create_sheet(GUIDE_SHEET)
    for row, line in enumerate(GUIDE, start=1):
        for column, value in enumerate(line, start=1):
            _set(guide, row, column, value)
    guide.column_dimensions["A"].width = 16
    guide.column_dimensions["B"].width = 90
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


#: The template's 说明 sheet (Chinese, like the headers: the sheet is for the bank's editors).
GUIDE = [
    ("列", "怎么填"),
    ("编号", "可选。试题的固定编号，导出、再导入时保留，用来识别重复试题。"),
    ("鉴定点代码", "试题所属鉴定点的代码（见“鉴定要素”表）。设置为文本格式，避免 1.10 被改成 1.1。"),
    ("题型", "单选、多选、判断、填空、简答（也可写 单项选择题、多选题、判断题、填空题、简答题 或 single 等英文名）。"),
    ("题干", "题目正文。填空题用 [[1]]、[[2]] 标出各空；也可用三个以上下划线 ___ 表示空，依次编号。"),
    ("选项A…选项F", "选择题的选项，从 A 开始连续填写，2 至 6 个。判断、填空、简答题不填。"),
    ("答案", "单选：一个字母，如 B。多选：ABD 或 A,B,D 或 A、B、D。判断：对/错（也可 √/×、正确/错误、T/F）。"
             "填空：各空之间用 ；或 ; 分隔，同一空的多个可接受答案用 | 分隔，如 安培|A；伏特|V。简答：参考答案。"),
    ("分值", "可选。默认单选、多选、判断、填空 1 分，简答 5 分。"),
    ("难度", "可选。1（最易）至 5（最难），也可写 易、较易、中、较难、难。默认 3。"),
    ("解析", "可选。答案解析，考后可见。"),
    ("固定末位", "可选。打乱选项顺序时保持在最后的选项字母，如 D（“以上都对”）。"),
    ("计分方式", "可选，仅多选题：全对得分（默认）或 部分得分（少选按比例得分，错选不得分）。"),
    ("区分大小写", "可选，仅填空题：是 或 否（默认否）。全角与半角总是视为相同。"),
    ("分类", "可选。没有鉴定要素表时使用，如 电工基础/安全用电，会生成对应的鉴定范围和鉴定点。"),
    ("", ""),
    ("“鉴定要素”表", "鉴定要素细目表：代码、名称、重要程度（鉴定点填 X 核心、Y 一般、Z 辅助）、比重（鉴定范围占理论知识的百分比）。"
                   "上级代码可不填：1.2.3 自动归入 1.2。没有下级的行是鉴定点。"),
    ("“职业信息”表", "职业代码（如 6-31-01-03）、职业名称、英文名称、等级（5 至 1）、可申报等级、工种、题库名称。"
                   "填写后导入时无需再选择职业和等级。"),
]


def sniff_csv(data: bytes) -> bool:
    first = data[:4000].decode("utf-8", "ignore").split("\n", 1)[0]
    return "题干" in first or "questiontext" in first.lower()


register(Format(name="xlsx", label="Excel (.xlsx)", extensions=(".xlsx",), parse=parse_xlsx,
                export=export_xlsx, carries_occupation=True,
                media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
register(Format(name="csv", label="CSV", extensions=(".csv",), parse=parse_csv, export=export_csv,
                sniff=sniff_csv, media_type="text/csv"))
