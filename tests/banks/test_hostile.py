"""Whatever bytes arrive, the readers report problems and never raise (an upload is never a 500)."""
from __future__ import annotations

import io
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st

from exam.banks.formats import spreadsheet, yaml_format

from .conftest import DATA

SMALL = (DATA / "small.yaml").read_bytes()
SHEET = spreadsheet.export_xlsx(yaml_format.parse(SMALL))
CSV = spreadsheet.export_csv(yaml_format.parse(SMALL))
READERS = (yaml_format.parse, spreadsheet.parse_xlsx, spreadsheet.parse_csv)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes(data):
    for parse in READERS:
        parse(data, "upload")


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([SMALL, SHEET, CSV]), st.integers(0, 10_000), st.binary(min_size=1, max_size=20))
def test_damaged_files(original, position, noise):
    position %= len(original)
    damaged = original[:position] + noise + original[position + len(noise):]
    for data in (damaged, original[:position]):
        for parse in READERS:
            doc = parse(data, "upload")
            assert all(p.message for p in doc.problems)


def test_a_workbook_with_a_broken_sheet_part_is_a_problem():
    source = zipfile.ZipFile(io.BytesIO(SHEET))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        for member in source.infolist():
            content = source.read(member)
            if member.filename == "xl/worksheets/sheet1.xml":
                content = content[: len(content) // 2]
            package.writestr(member, content)
    doc = spreadsheet.parse_xlsx(out.getvalue())
    assert doc.problems and "could not be read" in doc.problems[-1].message
