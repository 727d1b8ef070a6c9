"""Navigation entries, shown to whoever the target route's access rule allows.

Domains register their entries at import time; ``visible_nav`` asks each entry's
route declaration (``exam.core.auth``), so the menu can never offer a page that
would answer 403.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from .auth import Actor, access_rule_of


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy gettext string
    order: int = 100
    #: Hide from users who could open the page but for whom it is not a daily tool.
    hide_for_regulator: bool = False


_ITEMS: dict[str, NavItem] = {}


def nav_item(endpoint: str, label, order: int = 100, hide_for_regulator: bool = False) -> None:
    _ITEMS[endpoint] = NavItem(endpoint, label, order, hide_for_regulator)


def visible_nav(actor: Actor) -> list[NavItem]:
    items = []
    for item in sorted(_ITEMS.values(), key=lambda i: i.order):
        view = current_app.view_functions.get(item.endpoint)
        rule = access_rule_of(view) if view else None
        if rule is None or rule.kind == "public":
            continue
        if rule.allows(actor, "GET") and not (actor.is_regulator and item.hide_for_regulator):
            items.append(item)
    return items
