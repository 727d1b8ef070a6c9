"""``flask --app wsgi exam keys|verify-qr|issue`` commands."""
from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from ..cli import refused

keys_cli = AppGroup("keys", help="Organisations' certificate signing keys.")


def _system(org_id: int | None = None):
    from ..core.auth import Actor

    return Actor.system("system: cli", org_id=org_id)


def _fail(exc) -> None:
    raise refused(exc)


@keys_cli.command("rotate")
@click.option("--org", "code", required=True, help="Organisation code, e.g. DEMO.")
def rotate(code: str):
    """Add a new signing key and retire the current one (it stays published)."""
    from ..accounts.services import get_organisation_by_code
    from ..core.errors import DomainError
    from . import keys

    try:
        org = get_organisation_by_code(code)
        key = keys.rotate_key(_system(org.id), org.id)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"{org.code}: new signing key {key.kid} is active; the previous one is retired "
               f"and stays published.")


@keys_cli.command("list")
def list_keys():
    """Every published key: organisation, kid, status, dates, and whether the private key is here."""
    from . import keys

    rows = keys.published_keys()
    if not rows:
        click.echo("No signing keys yet (an organisation gets one when it first issues).")
    for key, org in rows:
        here = "private key here" if (keys.keys_dir() / f"{key.kid}.pem").exists() else "no private key here"
        retired = f" retired {key.retired_at:%Y-%m-%d}" if key.retired_at else ""
        click.echo(f"{org.code:<12} {key.kid}  {key.status:<8} created {key.created_at:%Y-%m-%d}"
                   f"{retired}  ({here})")


def _load_jwks(source: str) -> dict:
    if source.startswith(("https://", "http://")):
        with urllib.request.urlopen(source, timeout=15) as response:  # noqa: S310 (the operator's URL)
            return json.load(response)
    return json.loads(Path(source).read_text(encoding="utf-8"))


@click.command("verify-qr")
@click.argument("url")
@click.option("--jwks", "jwks_source", help="JWK Set file or URL instead of this database's keys.")
@click.option("--base-url", help="The address the QR links must start with "
                                 "(default: this installation's PUBLIC_BASE_URL).")
@click.option("--name", help="Holder's name as printed on the certificate.")
@click.option("--occupation-code", help="Occupation code as printed, e.g. 6-31-01-03.")
@click.option("--issued-on", help="Issue date as printed, YYYY-MM-DD.")
def verify_qr(url, jwks_source, base_url, name, occupation_code, issued_on):
    """Check a certificate QR link offline, with the public keys alone.

    The signature covers facts printed on the certificate: give them with --name,
    --occupation-code and --issued-on (as read from the paper), or, without --jwks,
    they are read from this installation's certificate records.
    Exit status 0: the signature verifies; 1: it does not; 2: the link or the input is unusable.
    """
    from datetime import date

    from . import signing

    base = (base_url or current_app.config["PUBLIC_BASE_URL"]).rstrip("/")
    try:
        link = signing.parse_qr_url(url.strip(), base)
    except signing.SignatureError as exc:
        click.echo(f"REFUSED: {exc}", err=True)
        sys.exit(2)
    if jwks_source:
        published = signing.keys_from_jwks(_load_jwks(jwks_source))
    else:
        from . import keys

        published = {k.kid: keys.jwk_of(k, o) for k, o in keys.published_keys()}
    entry = published.get(link.kid)
    if entry is None:
        click.echo(f"FAILED: no published key has the id {link.kid}.", err=True)
        sys.exit(1)
    printed = [name, occupation_code, issued_on]
    if all(v is not None for v in printed):
        try:
            facts = signing.SignedFacts(link.number, name, occupation_code,
                                        int(link.number[15]),  # the level is part of the number
                                        date.fromisoformat(issued_on))
        except ValueError as exc:
            click.echo(f"REFUSED: {exc}", err=True)
            sys.exit(2)
        source = "as printed"
    elif any(v is not None for v in printed):
        click.echo("REFUSED: give all of --name, --occupation-code and --issued-on.", err=True)
        sys.exit(2)
    elif jwks_source:
        click.echo("REFUSED: with --jwks, give the printed facts (--name, --occupation-code, "
                   "--issued-on).", err=True)
        sys.exit(2)
    else:
        from .models import Certificate
        from .services import signed_facts
        from ..extensions import db

        cert = db.session.query(Certificate).filter_by(number=link.number).one_or_none()
        if cert is None:
            click.echo(f"FAILED: no certificate {link.number} in this installation's records.", err=True)
            sys.exit(1)
        facts, source = signed_facts(cert), "from this installation's records"
    if not signing.verify_certificate(signing.public_key_from_jwk(entry), link.kid, facts, link.signature):
        click.echo(f"FAILED: the signature does not verify with key {link.kid} "
                   f"({entry.get('org', '?')}) for the facts {source}.", err=True)
        sys.exit(1)
    click.echo(f"OK: certificate {link.number} for {facts.holder_name}, occupation "
               f"{facts.occupation_code}, level {facts.level}, issued {facts.issued_on} (facts {source}),")
    click.echo(f"    signed by {entry.get('org', '?')} {entry.get('org_name', '')} with key {link.kid} "
               f"({entry.get('status', 'published')}).")


@click.command("issue")
@click.option("--session", "session_id", type=int, required=True, help="Exam session id.")
def issue(session_id: int):
    """Issue certificates, dated today, to every enrolment of a session that qualifies."""
    from ..core.errors import DomainError
    from ..sessions.models import ExamSession
    from ..extensions import db
    from . import services

    session = db.session.get(ExamSession, session_id)
    if session is None:
        raise click.ClickException(f"No session {session_id}.")
    ids = services.issuable_enrolment_ids(session_id)
    if not ids:
        click.echo(f"Session {session.code}: nothing to issue.")
        return
    try:
        issued = services.issue_for_session(_system(session.org_id), session_id, ids)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Session {session.code}: issued {len(issued)} certificates, "
               f"{issued[0].number} … {issued[-1].number}.")


COMMANDS = [keys_cli, verify_qr, issue]
