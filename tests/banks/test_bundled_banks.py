"""Every bundled bank file ``question_banks/<occupation>/<level>.yaml`` goes through the importer
cleanly and is big enough for random papers."""
from __future__ import annotations

from collections import Counter

import pytest

from exam.banks.demo import BANKS_DIR, bundled_bank_files
from exam.banks.imports import ImportOptions, import_file

FILES = bundled_bank_files()
MIN_ITEMS = 120
MIN_PER_POINT = 4


def test_the_bank_folder_holds_only_bank_files_and_practical_specs():
    assert BANKS_DIR.is_dir()
    for path in BANKS_DIR.glob("*/*"):
        assert path.name.endswith(".yaml"), path
        stem = path.name.removesuffix(".practical.yaml").removesuffix(".yaml")
        assert stem.isdigit() and 1 <= int(stem) <= 5, path


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(BANKS_DIR)) for p in FILES])
def test_bundled_bank_imports_cleanly(path, actor, org):
    report = import_file(actor, org.id, path.read_bytes(), path.name, ImportOptions(dry_run=True))
    assert report.problems == [] and report.unsupported == []
    assert report.duplicates == [], "\n".join(str(p) for p in report.duplicates)
    assert report.warnings == [], "\n".join(str(p) for p in report.warnings)
    occupation_code, level = path.parent.name, int(path.name.removesuffix(".yaml"))
    assert (report.occupation_code, report.level) == (occupation_code, level)
    assert report.items_to_import >= MIN_ITEMS

    from exam.banks.formats.yaml_format import parse

    doc = parse(path.read_bytes(), path.name)
    per_point = Counter(item.point_code for item in doc.items)
    short = {p.code: per_point[p.code] for p in doc.points() if per_point[p.code] < MIN_PER_POINT}
    assert not short, f"assessment points with fewer than {MIN_PER_POINT} items: {short}"
