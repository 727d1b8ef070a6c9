"""Navigation entries, shown to whoever the target route's access rule allows.

Domains register their entries at import time; ``visible_nav`` asks each entry's
route declaration (``exam.core.auth``), so the menu can never offer a page that
would answer 403. Staff pages sit in a few groups (a drop-down each); a candidate's
own pages (``personal=True``) are shown to candidates and to people without a role
in an organisation, not to staff who merely could open them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from flask_babel import lazy_gettext as _l

from .auth import CANDIDATE, Actor, access_rule_of

#: Menu groups: key → (label, order).
GROUPS = {
    "exams": (_l("Exams"), 20),
    "banks": (_l("Question banks"), 30),
    "results": (_l("Results and certificates"), 40),
    "body": (_l("Organisation"), 90),
}


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy gettext string
    order: int = 100
    #: Hide from users who could open the page but for whom it is not a daily tool.
    hide_for_regulator: bool = False
    #: A key of ``GROUPS``, or None for a top-level entry.
    group: str | None = None
    #: A candidate's own page (my exams, my results…).
    personal: bool = False


@dataclass
class NavGroup:
    key: str
    label: object
    order: int
    items: list[NavItem] = field(default_factory=list)


_ITEMS: dict[str, NavItem] = {}


def nav_item(endpoint: str, label, order: int = 100, hide_for_regulator: bool = False,
             group: str | None = None, personal: bool = False) -> None:
    if group is not None and group not in GROUPS:
        raise ValueError(f"unknown menu group {group!r}")
    _ITEMS[endpoint] = NavItem(endpoint, label, order, hide_for_regulator, group, personal)


def _shown(item: NavItem, actor: Actor) -> bool:
    view = current_app.view_functions.get(item.endpoint)
    rule = access_rule_of(view) if view else None
    if rule is None or rule.kind == "public" or not rule.allows(actor, "GET"):
        return False
    if actor.is_regulator and item.hide_for_regulator:
        return False
    if item.personal:
        return not actor.is_regulator and (CANDIDATE in actor.roles or actor.org_id is None)
    return True


def visible_nav(actor: Actor) -> list[NavItem | NavGroup]:
    """Top-level entries in menu order: items, and groups holding two or more items (a group
    with a single visible item shows that item directly)."""
    entries: list[NavItem | NavGroup] = []
    groups: dict[str, NavGroup] = {}
    for item in sorted(_ITEMS.values(), key=lambda i: i.order):
        if not _shown(item, actor):
            continue
        if item.group is None:
            entries.append(item)
            continue
        if item.group not in groups:
            label, order = GROUPS[item.group]
            groups[item.group] = NavGroup(item.group, label, order)
        groups[item.group].items.append(item)
    for group in groups.values():
        entries.append(group if len(group.items) > 1 else group.items[0])
    return sorted(entries, key=lambda e: e.order)


def flat(entries: list[NavItem | NavGroup]) -> list[NavItem]:
    """Every item of the entries, groups opened."""
    items: list[NavItem] = []
    for entry in entries:
        items.extend(entry.items if isinstance(entry, NavGroup) else [entry])
    return items
