"""``flask --app wsgi exam rescore SESSION``: recompute a session's theory scores and show what
differs; ``--apply`` stores the recomputed scores (audited)."""
from __future__ import annotations

import click


def _find_session(reference: str, org_code: str | None):
    from sqlalchemy import select

    from ..accounts.models import Organisation
    from ..extensions import db
    from ..sessions.models import ExamSession

    stmt = select(ExamSession).where(ExamSession.code == reference)
    if org_code:
        stmt = stmt.join(Organisation, Organisation.id == ExamSession.org_id).where(Organisation.code == org_code)
    found = list(db.session.scalars(stmt))
    if not found and reference.isdigit():
        session = db.session.get(ExamSession, int(reference))
        found = [session] if session else []
    if not found:
        raise click.ClickException(f"no session {reference!r}")
    if len(found) > 1:
        raise click.ClickException(f"several bodies have a session {reference!r}: add --org CODE")
    return found[0]


@click.command("rescore")
@click.argument("session_ref", metavar="SESSION")
@click.option("--org", "org_code", help="The body's code, when several bodies use the session code.")
@click.option("--apply", "apply_changes", is_flag=True, help="Store the recomputed scores (audited).")
def rescore(session_ref: str, org_code: str | None, apply_changes: bool):
    """Recompute the theory scores of SESSION (code or id) and show stored vs recomputed."""
    from ..core.auth import Actor
    from .theory import rescore_session

    session = _find_session(session_ref, org_code)
    actor = Actor.system("system: cli rescore", org_id=session.org_id)
    lines = rescore_session(session.id, apply=apply_changes, actor=actor)
    if not lines:
        click.echo(f"Session {session.code}: every stored theory score equals its recomputation.")
        return
    for line in lines:
        who = line.enrolment.ticket_no or f"enrolment {line.enrolment.id}"
        before = "unscored" if line.before is None else f"{line.before}"
        click.echo(f"{who}: stored {before} → recomputed {line.fresh.score}"
                   f" ({line.fresh.raw}/{line.fresh.max_points} points)")
        for item in line.items:
            click.echo(f"    item {item['pos'] + 1} (version {item['v']}): "
                       f"stored {item['stored'] if item['stored'] is not None else '—'} → "
                       f"recomputed {item['fresh'] if item['fresh'] is not None else 'awaiting marks'}")
    if apply_changes:
        click.echo(f"Session {session.code}: {len(lines)} scores updated (audited).")
    else:
        click.echo(f"Session {session.code}: {len(lines)} scores differ; nothing changed "
                   f"(run again with --apply to store them).")


COMMANDS = [rescore]
