"""``flask --app wsgi exam paper …``: rebuild a paper from its seed; prepare a session's papers."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from ..cli import refused


@click.group("paper", cls=AppGroup)
def paper_cli():
    """Theory papers: rebuild from the seed, prepare a session."""


@paper_cli.command("rebuild")
@click.argument("paper_id", type=int)
def rebuild(paper_id: int):
    """Recompute a stored paper from its seed and say whether it equals the stored one."""
    from ..core.errors import DomainError
    from . import services

    try:
        same, stored, rebuilt = services.paper_matches_rebuild(paper_id)
    except DomainError as exc:
        raise click.ClickException(exc.message)
    if same:
        click.echo(f"Paper {paper_id} equals its rebuild from seed {stored.seed}: "
                   f"{len(stored.items)} items, {stored.total_points} points.")
        return
    differing = sum(1 for a, b in zip(stored.items, rebuilt.items) if a != b) + \
        abs(len(stored.items) - len(rebuilt.items))
    click.echo(f"Paper {paper_id} DIFFERS from its rebuild from seed {stored.seed}: "
               f"{differing} of {len(stored.items)} items differ.", err=True)
    sys.exit(1)


@paper_cli.command("prepare")
@click.argument("session_id", type=int)
def prepare(session_id: int):
    """Assemble every approved candidate's theory paper for a session ahead of the exam."""
    from ..core.auth import Actor
    from ..core.errors import DomainError
    from . import services

    try:
        result = services.prepare_session_papers(Actor.system("system: cli"), session_id)
    except DomainError as exc:
        raise refused(exc)
    click.echo(f"Session {session_id}: {result['created']} papers made, {result['existing']} already there.")


COMMANDS = [paper_cli]
