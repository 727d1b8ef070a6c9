"""Fixtures of the question-bank tests: a small bank file, an organisation with a bank editor,
and that bank imported."""
from __future__ import annotations

from pathlib import Path

import pytest

from exam.banks.imports import ImportOptions, import_file
from exam.core.auth import BANK_EDITOR, Actor

DATA = Path(__file__).parent / "data"


@pytest.fixture
def small_yaml() -> bytes:
    """9-99-99-01 level 5: two areas (weights 30/70), four points, eight items of all five types."""
    return (DATA / "small.yaml").read_bytes()


@pytest.fixture
def org(factory):
    return factory.org("BANKS")


@pytest.fixture
def editor(factory, org):
    return factory.user(org, BANK_EDITOR, username="bankeditor")


@pytest.fixture
def actor(editor, org) -> Actor:
    return Actor(user_id=editor.id, org_id=org.id, roles=frozenset({BANK_EDITOR}), label=editor.username)


@pytest.fixture
def bank(actor, org, small_yaml):
    """The small bank, imported into ``org``."""
    from exam.banks.models import Bank
    from exam.extensions import db

    report = import_file(actor, org.id, small_yaml, "small.yaml", ImportOptions())
    return db.session.get(Bank, report.bank_id)

