"""Bulk verification files: reading a list of numbers and names, writing the results (pure).

Accepted: Excel (.xlsx) or CSV (UTF-8, with or without BOM, or GB18030 as Excel saves it
in China). The first non-empty row is the header; the columns are found by name, in
Chinese (证书编号, 姓名) or English (number, name). Problems with a single row are
reported on that row and the other rows are still checked; only a file that cannot be
read at all, or lacks the columns, is refused.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from flask_babel import gettext

from ..core.errors import ValidationFailed
from .numbers import is_well_formed, normalise_typed

MAX_ROWS = 2000
NUMBER_HEADERS = {"证书编号", "证书号", "证书号码", "编号", "number", "certificatenumber", "certificateno",
                  "certificate", "no"}
NAME_HEADERS = {"姓名", "持证人", "持证人姓名", "name", "holder", "holdername", "fullname"}
_MIDDLE_DOTS = "·•・‧∙⋅．."


@dataclass(frozen=True)
class BulkRow:
    """One data row: its row number in the file (header = 1 when it is the first row)."""

    row: int
    number: str
    name: str
    #: Why the row cannot be checked, or None.
    problem: str | None = None


def same_name(printed: str, given: str) -> bool:
    """Whether a typed name is the printed one: Unicode-compatible forms, spaces and the
    different middle dots of minority names (阿依古丽·买买提) do not matter."""
    return bool(given) and _name_key(printed) == _name_key(given)


def _name_key(name: str) -> str:
    text = unicodedata.normalize("NFKC", name or "")
    text = re.sub(r"\s+", "", text)
    return "".join("·" if ch in _MIDDLE_DOTS else ch for ch in text).casefold()


def _header_key(value) -> str:
    return re.sub(r"[\s_\-:：()（）]+", "", str(value or "")).casefold()


def _rows_from_xlsx(data: bytes) -> list[list]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ValidationFailed(gettext("This is not an Excel (.xlsx) file that can be read.")) from None
    try:
        sheet = book.worksheets[0]
        rows = []
        for values in sheet.iter_rows(values_only=True):
            rows.append(list(values))
            if len(rows) > MAX_ROWS + 50:
                break
        return rows
    finally:
        book.close()


def _rows_from_csv(data: bytes) -> list[list]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed(gettext("The CSV file is neither UTF-8 nor GB18030 text."))
    if "\0" in text:
        raise ValidationFailed(gettext("This is not a CSV text file."))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)]


def parse_upload(filename: str, data: bytes) -> list[BulkRow]:
    """The rows of an uploaded list.

    :raise ValidationFailed: the file cannot be read, has no header with a number and a name
        column, or has no rows or too many.
    """
    name = (filename or "").lower()
    if data[:4] == b"PK\x03\x04" or name.endswith(".xlsx"):
        table = _rows_from_xlsx(data)
    elif name.endswith((".csv", ".txt")) or not name:
        table = _rows_from_csv(data)
    else:
        raise ValidationFailed(gettext("Upload an Excel (.xlsx) or CSV file."))
    start = next((i for i, row in enumerate(table) if any(str(v or "").strip() for v in row)), None)
    if start is None:
        raise ValidationFailed(gettext("The file is empty."))
    header = [_header_key(v) for v in table[start]]
    number_col = next((i for i, h in enumerate(header) if h in NUMBER_HEADERS), None)
    name_col = next((i for i, h in enumerate(header) if h in NAME_HEADERS), None)
    if number_col is None or name_col is None:
        raise ValidationFailed(gettext(
            "The first row must name the columns 证书编号 (number) and 姓名 (name)."))
    rows = []
    for index in range(start + 1, len(table)):
        values = table[index]
        cell = lambda col: str(values[col]).strip() if col < len(values) and values[col] is not None else ""  # noqa: E731
        number, holder = cell(number_col), cell(name_col)
        if not number and not holder:
            continue
        rows.append(_checked_row(index + 1, number, holder))
    if not rows:
        raise ValidationFailed(gettext("The file has a header but no rows to check."))
    if len(rows) > MAX_ROWS:
        raise ValidationFailed(gettext("At most %(max)d rows can be checked at once.", max=MAX_ROWS))
    return rows


def _checked_row(row: int, number: str, name: str) -> BulkRow:
    typed = normalise_typed(number)
    if not typed:
        return BulkRow(row, number, name, gettext("The certificate number is missing."))
    if not is_well_formed(typed):
        return BulkRow(row, number, name,
                       gettext("This is not a certificate number (22 characters, e.g. Y000111010001264000001)."))
    if not name:
        return BulkRow(row, typed, name, gettext("The name is missing."))
    return BulkRow(row, typed, name)


@dataclass(frozen=True)
class BulkResult:
    row: int
    number: str
    name: str
    #: ``valid``, ``revoked``, ``superseded``, ``unknown``, ``name_mismatch`` or ``error``.
    result: str
    #: What to tell the reader about this row (already translated).
    message: str
    occupation: str = ""
    level_name: str = ""
    issued_on: str = ""
    issuer: str = ""


def results_workbook(results: list[BulkResult], headers: list[str]) -> bytes:
    """The results as an Excel workbook, one row per checked row."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = "results"
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    fills = {"valid": "E3F5E9", "revoked": "FDECEA", "superseded": "FFF4E0", "unknown": "FDECEA",
             "name_mismatch": "FDECEA", "error": "EEEEEE"}
    for r in results:
        sheet.append([r.row, r.number, r.name, r.message, r.occupation, r.level_name, r.issued_on, r.issuer])
        fill = PatternFill("solid", fgColor=fills.get(r.result, "FFFFFF"))
        sheet.cell(row=sheet.max_row, column=4).fill = fill
    for column, width in zip("ABCDEFGH", (8, 26, 14, 40, 16, 16, 14, 28)):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
