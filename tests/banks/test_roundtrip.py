"""Exporting and importing again gives back the same bank, for generated banks.

At the interchange level: parse(export(doc)) equals doc (normalised) for YAML and Excel
(tree, occupation and items) and CSV (items). At the database level: import → export →
import into a second organisation gives the same tree and items.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from exam.banks.formats import spreadsheet, yaml_format
from exam.banks.imports import ImportOptions, bank_document, export_bank, import_file
from exam.core.auth import BANK_EDITOR, Actor

from .strategies import bank_document as banks
from .strategies import normalised


@settings(max_examples=80, deadline=None)
@given(banks())
def test_yaml_round_trip(doc):
    again = yaml_format.parse(yaml_format.export(doc))
    assert again.problems == [] and again.warnings == []
    assert normalised(again) == normalised(doc)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(banks(max_items=8))
def test_xlsx_round_trip(doc):
    again = spreadsheet.parse_xlsx(spreadsheet.export_xlsx(doc))
    assert again.problems == [] and again.warnings == []
    assert normalised(again) == normalised(doc)


@settings(max_examples=60, deadline=None)
@given(banks())
def test_csv_round_trip(doc):
    again = spreadsheet.parse_csv(spreadsheet.export_csv(doc))
    assert again.problems == [] and again.warnings == []
    assert normalised(again, tree=False, occupation=False) == normalised(doc, tree=False, occupation=False)


@pytest.mark.parametrize("format_name", ["yaml", "xlsx"])
def test_database_round_trip_into_a_second_organisation(factory, actor, org, bank, format_name):
    exported = export_bank(actor, bank.id, format_name)
    other = factory.org("OTHER")
    other_editor = factory.user(other, BANK_EDITOR)
    other_actor = Actor(user_id=other_editor.id, org_id=other.id, roles=frozenset({BANK_EDITOR}))
    report = import_file(other_actor, other.id, exported.data, exported.filename, ImportOptions())
    assert report.imported and report.items_to_import == 8 and report.duplicates == []
    first, second = bank_document(actor, bank.id), bank_document(other_actor, report.bank_id)
    assert report.bank_id != bank.id
    assert normalised(second) == normalised(first)
    # Importing the export into the same bank adds nothing: every item is a duplicate.
    again = import_file(actor, org.id, exported.data, exported.filename, ImportOptions())
    assert again.items_to_import == 0 and len(again.duplicates) == 8
