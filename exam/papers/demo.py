"""Demo content: a checked blueprint for every bank of the DEMO body, and the bundled
practical task specifications (``question_banks/<occupation>/<level>.practical.yaml``).

Idempotent: a bank that has a blueprint gets no other; a specification that exists is left
alone (editors may have changed it).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from sqlalchemy import select

from .. import PROJECT_ROOT
from ..core.auth import Actor
from ..core.errors import DomainError
from ..extensions import db

BANKS_DIR = PROJECT_ROOT / "question_banks"


def bundled_practical_files(directory: Path = BANKS_DIR) -> list[Path]:
    return sorted(directory.glob("*/*.practical.yaml"))


def load(org, echo: Callable[[str], None]) -> None:
    from ..banks.models import Bank, Occupation
    from . import services
    from .models import Blueprint, PracticalSpec

    actor = Actor.system("system: demo", org_id=org.id)
    for bank in db.session.scalars(select(Bank).where(Bank.org_id == org.id).order_by(Bank.id)).all():
        if db.session.scalar(select(Blueprint.id).where(Blueprint.bank_id == bank.id).limit(1)) is not None:
            continue
        spec = services.default_spec_for_bank(bank.id)
        blueprint = services.create_blueprint(actor, bank.id, services.BlueprintData(
            name=f"{bank.name}·标准组卷方案", spec=spec, mode="random",
            duration_minutes=max(services.MIN_THEORY_MINUTES, 90), pass_mark=60))
        services.validate_blueprint(actor, blueprint.id)
        sections = " + ".join(f"{s.count} {s.type} × {s.points}" for s in spec.sections)
        echo(f"Blueprint for {bank.name}: {sections} ({blueprint.status}).")
    for path in bundled_practical_files():
        content, problems = services.load_practical_spec_yaml(path.read_bytes())
        where = path.relative_to(BANKS_DIR)
        if problems:
            echo(f"Practical spec {where} NOT loaded ({len(problems)} problems):")
            for problem in problems[:20]:
                echo(f"  {problem}")
            continue
        occupation = db.session.scalar(select(Occupation).where(Occupation.code == content["occupation"]))
        if occupation is None:
            echo(f"Practical spec {where} skipped: occupation {content['occupation']} has no bank.")
            continue
        exists = db.session.scalar(select(PracticalSpec.id).where(
            PracticalSpec.org_id == org.id, PracticalSpec.occupation_id == occupation.id,
            PracticalSpec.level == content["level"]))
        if exists is not None:
            continue
        try:
            version = services.import_practical_spec(actor, org.id, content["occupation"], content["level"], content)
        except DomainError as exc:
            echo(f"Practical spec {where} NOT loaded: {exc.message}")
            for problem in exc.problems[:20]:
                echo(f"  {problem}")
            continue
        echo(f"Practical spec {where}: {len(version.content['tasks'])} tasks.")
