"""``flask --app wsgi exam expire-overdue``: finalise attempts whose time is up (run from cron)."""
from __future__ import annotations

import click


@click.command("expire-overdue")
def expire_overdue():
    """Finalise every attempt past its deadline with the answers saved by then.

    Attempts are also finalised whenever they are touched (the exam page, a save, the
    live board); this catches those nobody touches, e.g. when the browser was closed.
    Meant for cron, e.g. every minute.
    """
    from . import services

    count = services.expire_overdue()
    click.echo(f"Finalised {count} attempt(s) past their deadline.")


COMMANDS = [expire_overdue]
