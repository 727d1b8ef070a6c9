"""Demo content: every bundled bank ``question_banks/<occupation>/<level>.yaml`` in the DEMO body.

Idempotent: a bank that already has items is left alone.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from sqlalchemy import select

from .. import PROJECT_ROOT
from ..core.auth import Actor
from ..extensions import db

BANKS_DIR = PROJECT_ROOT / "question_banks"


def bundled_bank_files(directory: Path = BANKS_DIR) -> list[Path]:
    """``<occupation>/<level>.yaml`` files (practical specs ``*.practical.yaml`` excluded)."""
    return sorted(p for p in directory.glob("*/*.yaml") if not p.name.endswith(".practical.yaml"))


def load(org, echo: Callable[[str], None]) -> None:
    from .imports import ImportOptions, ImportRefused, import_document, read_file
    from .models import Bank, Item, Occupation

    actor = Actor.system("system: demo", org_id=org.id)
    for path in bundled_bank_files():
        doc = read_file(path.read_bytes(), path.name, "yaml")
        if doc.occupation is not None and doc.level is not None:
            has_items = db.session.scalar(
                select(Item.id).join(Bank, Bank.id == Item.bank_id)
                .join(Occupation, Occupation.id == Bank.occupation_id)
                .where(Bank.org_id == org.id, Occupation.code == doc.occupation.code,
                       Bank.level == doc.level).limit(1))
            if has_items is not None:
                continue
        try:
            report = import_document(actor, org.id, doc, ImportOptions(filename=path.name))
        except ImportRefused as exc:
            echo(f"Bank {path.relative_to(BANKS_DIR)} NOT loaded ({len(exc.problems)} problems):")
            for problem in exc.problems[:20]:
                echo(f"  {problem}")
            continue
        echo(f"Bank {path.relative_to(BANKS_DIR)}: {report.items_to_import} items.")
