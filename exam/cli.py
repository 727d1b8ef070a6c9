"""``flask --app wsgi exam …`` commands.

Domains with commands of their own keep them in ``exam/<domain>/cli.py`` and are
added to the ``exam`` group here.
"""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

exam_cli = AppGroup("exam", help="SkillCert commands: demo data, audit checks, imports, jobs.")


def refused(exc) -> click.ClickException:
    """A domain error as the command's failure: the message, then each problem on its own line."""
    return click.ClickException("\n".join([exc.message] + [f"  {p}" for p in exc.problems]))


def register_domain_commands() -> None:
    """Add each domain's ``exam/<domain>/cli.py`` ``COMMANDS`` to the ``exam`` group."""
    from . import domain_modules

    for module in domain_modules("cli"):
        for command in getattr(module, "COMMANDS", ()):
            exam_cli.add_command(command)


@exam_cli.command("verify-audit")
def verify_audit():
    """Recompute the audit log's hash chain; exit 1 naming the first broken event."""
    from .core.audit import verify_chain

    report = verify_chain()
    if report.ok:
        click.echo(f"Audit chain intact: {report.count} events.")
        return
    click.echo(f"Audit chain BROKEN at event {report.first_broken}: {report.reason} "
               f"({report.count} events verified before it).", err=True)
    sys.exit(1)


@exam_cli.command("demo")
@click.option("--force", is_flag=True, help="Allow demo accounts in production (never do this).")
def demo(force: bool):
    """Create (or refresh) the demo assessment body DEMO with a user of every role."""
    from flask import current_app

    from .demo import load_demo

    if current_app.config["ENV_NAME"] == "production" and not force:
        raise click.ClickException("demo accounts have well-known passwords; not in production")
    summary = load_demo(echo=click.echo)
    click.echo("")
    click.echo("Demo logins (username / password):")
    for role, username, password, name in summary.logins:
        click.echo(f"  {role:<12} {username:<12} {password:<16} {name}")


@exam_cli.command("create-organisation")
@click.option("--code", required=True)
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice(["Y", "S"]), required=True)
@click.option("--body-code", required=True, help="4 digits; 0000 when filed with the province")
@click.option("--province-code", required=True, help="2 digits, e.g. 44")
@click.option("--site-code", required=True, help="6 digits assigned by the province")
@click.option("--admin-username", required=True)
@click.option("--admin-name", required=True)
@click.password_option("--admin-password")
def create_organisation(code, name, kind, body_code, province_code, site_code,
                        admin_username, admin_name, admin_password):
    """Register an assessment body and its first administrator."""
    from .accounts import services
    from .core.auth import Actor
    from .core.errors import DomainError

    system = Actor.system("system: cli")
    try:
        org = services.create_organisation(system, services.OrganisationData(
            code=code, name=name, kind=kind, body_code=body_code, province_code=province_code,
            site_code=site_code))
        services.create_staff_user(Actor.system("system: cli", org_id=org.id), org.id,
                                   services.StaffAccount(real_name=admin_name, username=admin_username,
                                                         password=admin_password, roles=["admin"]))
    except DomainError as exc:
        raise refused(exc)
    click.echo(f"Created {org.code} ({org.name}) with administrator {admin_username}.")
