"""parse(export(doc)) gives back the same items, for the foreign formats that can write
every question type.

Moodle XML and QTI carry everything SkillCert has. GIFT carries the assessment point,
difficulty, pinned options and external id in Moodle's ``[id:]``/``[tag:]`` comments, but
has no points, no reference answer for short answers, no case-sensitive blanks and no
images; a multiple-choice question with several right answers comes back with partial
scoring; a blank at the very end of a stem comes back separated by one space (none after
Chinese text); questions with several blanks are refused.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from exam.banks import qtypes
from exam.banks.formats import gift, moodle_xml, qti
from exam.banks.formats._foreign import append_blank, category_paths
from exam.core.errors import ValidationFailed

from .strategies import bank_documents

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def expected(item, paths, fmt):
    """What the item should look like after a round trip through ``fmt``."""
    in_tree = item.point_code in paths
    shape = {
        "type": item.type,
        "stem": item.stem,
        "options": [(o.key, o.text, o.pin_last) for o in item.options],
        "answer": item.answer,
        "points": item.points if item.points is not None else qtypes.get_type(item.type).default_points,
        "config": item.config,
        "point_code": item.point_code,
        "difficulty": item.difficulty,
        "explanation": item.explanation,
        "category_path": paths[item.point_code] if in_tree else [],
        "external_id": item.external_id,
        "stem_image": item.stem_image,
    }
    if fmt == "gift":
        shape.update(points=None, stem_image=None)
        if item.type == "multiple":
            shape["config"] = {"scoring": "partial"} if len(item.answer) > 1 else {}
        if item.type == "fill_blank":
            shape["config"] = {}
            if item.stem.endswith("[[1]]"):
                shape["stem"] = append_blank(item.stem[:-len("[[1]]")])
        if item.type == "short_answer":
            shape["answer"] = None
    if fmt == "qti" and item.external_id is None:
        shape.pop("external_id")
    return shape


def actual(item, keys):
    shape = {"options": [(o.key, o.text, o.pin_last) for o in item.options]}
    shape.update({k: getattr(item, k) for k in keys if k != "options"})
    return shape


def round_trip(fmt_module, doc, fmt):
    back = fmt_module.parse(fmt_module.export(doc), "bank")
    assert back.problems == [] and back.unsupported == [], (back.problems, back.unsupported)
    assert back.warnings == []
    assert len(back.items) == len(doc.items)
    paths = category_paths(doc)
    for original, item in zip(doc.items, back.items):
        want = expected(original, paths, fmt)
        assert actual(item, want.keys()) == want


@SETTINGS
@given(bank_documents())
def test_moodle_xml_round_trip_is_lossless(doc):
    round_trip(moodle_xml, doc, "moodle")


@SETTINGS
@given(bank_documents())
def test_qti_round_trip_is_lossless(doc):
    round_trip(qti, doc, "qti")


def _gift_exportable(item):
    return item.type != "fill_blank" or len(item.answer) == 1


@SETTINGS
@given(bank_documents())
def test_gift_round_trip_keeps_what_gift_can_carry(doc):
    several_blanks = [i for i, item in enumerate(doc.items) if not _gift_exportable(item)]
    if several_blanks:
        with pytest.raises(ValidationFailed) as refused:
            gift.export(doc)
        assert [p.location for p in refused.value.problems] == [f"question {i + 1}" for i in several_blanks]
        doc.items = [item for item in doc.items if _gift_exportable(item)]
        if not doc.items:
            return
    round_trip(gift, doc, "gift")
