"""``flask --app wsgi exam bank import|export``."""
from __future__ import annotations

import sys
from pathlib import Path

import click

FORMAT_CHOICES = ["auto", "yaml", "xlsx", "csv", "gift", "aiken", "moodle-xml", "qti"]


@click.group("bank")
def bank_cli():
    """Question banks: import files into a body's bank, export a bank to a file."""


def _organisation(code: str):
    from ..accounts.services import get_organisation_by_code
    from ..core.errors import NotFound

    try:
        return get_organisation_by_code(code)
    except NotFound as exc:
        raise click.ClickException(exc.message) from None


def _echo_problems(title: str, problems) -> None:
    if problems:
        click.echo(f"{title} ({len(problems)}):")
        for problem in problems:
            click.echo(f"  {problem}")


def echo_report(report) -> None:
    """The summary of an import: what goes where, and everything worth telling."""
    from .services import level_label

    click.echo(f"File: {report.filename} ({report.source_format or '?'})")
    if report.occupation_code:
        click.echo(f"Bank: {report.occupation_code} {report.occupation_name or ''}, "
                   f"{level_label(report.level) if report.level else '?'} — {report.bank_name or ''}"
                   f" ({'existing' if report.bank_exists else 'new'})")
    click.echo(f"Items: {report.items_to_import} to import of {report.items_in_file} in the file; "
               f"elements: {report.elements_added} new, {report.elements_changed} changed")
    for type_, count in sorted(report.by_type.items()):
        click.echo(f"  {type_:<14} {count}")
    if report.by_area:
        click.echo("Per area:")
        for area in report.by_area:
            click.echo(f"  {area.code:<10} {area.name:<30} {area.items}")
    _echo_problems("Duplicates, not imported", report.duplicates)
    _echo_problems("Unsupported questions", report.unsupported)
    _echo_problems("Warnings", report.warnings)


def _echo_refusal(report) -> None:
    echo_report(report)
    _echo_problems("Problems", report.problems)
    if report.unsupported and not report.skip_unsupported:
        click.echo("Unsupported questions stop the import; --skip-unsupported imports the rest.")


@bank_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_code", required=True, help="The assessment body's code, e.g. DEMO.")
@click.option("--occupation", "occupation_code", help="Occupation code, for files that do not name one.")
@click.option("--level", type=int, help="Level 5 … 1, for files that do not name one.")
@click.option("--format", "format_name", type=click.Choice(FORMAT_CHOICES), default="auto",
              show_default=True)
@click.option("--dry-run", is_flag=True, help="Check everything, save nothing.")
@click.option("--skip-unsupported", is_flag=True,
              help="Import the rest when some questions are of types SkillCert does not have.")
def import_command(path: Path, org_code, occupation_code, level, format_name, dry_run, skip_unsupported):
    """Import a question-bank file (all or nothing); print a summary, or every problem and exit 1."""
    from ..core.auth import Actor
    from ..core.errors import DomainError
    from .imports import ImportOptions, ImportRefused, import_file

    org = _organisation(org_code)
    actor = Actor.system(f"system: cli bank import {path.name}", org_id=org.id)
    options = ImportOptions(occupation_code=occupation_code, level=level, dry_run=dry_run,
                            skip_unsupported=skip_unsupported, filename=path.name)
    try:
        report = import_file(actor, org.id, path.read_bytes(), path.name, options, format_name)
    except ImportRefused as exc:
        _echo_refusal(exc.report)
        click.echo(f"Nothing was imported from {path.name}.", err=True)
        sys.exit(1)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    if dry_run and not report.ok:
        _echo_refusal(report)
        click.echo("Dry run: the file would NOT import.", err=True)
        sys.exit(1)
    echo_report(report)
    if dry_run:
        click.echo("Dry run: nothing was saved; the file would import.")
    else:
        click.echo(f"Imported {report.items_to_import} items into bank #{report.bank_id}.")


@bank_cli.command("export")
@click.argument("output", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--org", "org_code", required=True)
@click.option("--occupation", "occupation_code", required=True)
@click.option("--level", type=int, required=True)
@click.option("--format", "format_name", required=True,
              type=click.Choice([c for c in FORMAT_CHOICES if c != "auto"]))
def export_command(output: Path, org_code, occupation_code, level, format_name):
    """Export a bank's tree and active items to OUTPUT ("-" for standard output)."""
    from ..core.auth import Actor
    from ..core.errors import DomainError
    from .imports import export_bank
    from .services import bank_for, get_occupation_by_code

    org = _organisation(org_code)
    occupation = get_occupation_by_code(occupation_code)
    bank = bank_for(org.id, occupation.id, level) if occupation else None
    if bank is None:
        raise click.ClickException(f"{org.code} has no bank for {occupation_code} level {level}.")
    try:
        exported = export_bank(Actor.system("system: cli bank export", org_id=org.id), bank.id, format_name)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    if str(output) == "-":
        sys.stdout.buffer.write(exported.data)
    else:
        output.write_bytes(exported.data)
        click.echo(f"Wrote {output} ({len(exported.data)} bytes).", err=True)
    if exported.images_dropped:
        click.echo(f"Warning: {exported.images_dropped} stem images are not carried by {format_name}.", err=True)


COMMANDS = [bank_cli]
