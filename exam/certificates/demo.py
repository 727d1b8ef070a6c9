"""Demo content: a specimen seal (marked 样章) for the demo body, and certificates for any demo
session whose results are published (the scoring demo's finished session among them); it
names the verification link of one of them. Idempotent: nothing is added twice."""
from __future__ import annotations

from typing import Callable

from sqlalchemy import select

from ..accounts.models import User
from ..core.auth import Actor
from ..core.errors import DomainError
from ..extensions import db
from ..sessions.models import ExamSession
from . import services
from .branding import specimen_seal
from .models import Certificate


def load(org, echo: Callable[[str], None]) -> None:
    system = Actor.system("system: demo", org_id=org.id)
    if org.seal_file_id is None:
        services.update_branding(system, org.id, seal=specimen_seal(org.name))
        echo(f"Certificates of {org.code} carry a specimen seal (样章); replace it under 证书 → 标志与印章.")
    sessions = db.session.scalars(select(ExamSession).where(ExamSession.org_id == org.id,
                                                            ExamSession.status == "results_published"))
    for session in sessions:
        ids = services.issuable_enrolment_ids(session.id)
        if not ids:
            continue
        try:
            issued = services.issue_for_session(system, session.id, ids)
        except DomainError as exc:
            echo(f"Demo certificates for {session.code} not issued: {exc.message}")
            continue
        echo(f"Demo session {session.code}: issued {len(issued)} certificates.")
    shown = _certificate_to_show(org)
    if shown is not None:
        echo(f"Verify a demo certificate ({shown.holder_name}, {shown.number}): {services.link(shown)} "
             f"(or as candidate → 我的证书 for the PDF).")


def _certificate_to_show(org) -> Certificate | None:
    """A valid certificate of the body: the demo candidate's when they hold one."""
    candidate_id = db.session.scalar(select(User.id).where(User.username == "candidate"))
    return db.session.scalar(select(Certificate).where(Certificate.org_id == org.id,
                                                       Certificate.status == "valid")
                             .order_by((Certificate.holder_user_id == candidate_id).desc(),
                                       Certificate.id.desc()).limit(1))
