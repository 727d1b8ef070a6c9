"""What the bank pages need besides the services: form choices, filters from the query string,
and template helpers that show an item as a candidate sees it and its answer as an editor reads it."""
from __future__ import annotations

import math
import re
from decimal import Decimal

from flask import flash
from flask_babel import gettext

from ..core.auth import Actor
from . import imports, qtypes, services
from .interchange import IMPORTANCE, ItemData
from .models import ItemVersion


def register(bp) -> None:
    bp.add_app_template_filter(qtype_label, "qtype_label")
    bp.add_app_template_filter(services.level_label, "level_label")
    bp.add_app_template_filter(importance_label, "importance_label")
    bp.add_app_template_filter(points_text, "points")
    bp.add_app_template_filter(stem_excerpt, "stem_excerpt")
    bp.add_app_template_filter(bar_step, "bar_step")
    bp.add_app_template_global(candidate_view, "candidate_view")
    bp.add_app_template_global(answer_lines, "answer_lines")
    bp.add_app_template_global(can_edit_bank, "can_edit_bank")


def qtype_label(name: str) -> str:
    qtype = qtypes.REGISTRY.get(name)
    return str(qtype.label) if qtype else name


def importance_label(code: str | None) -> str:
    return str(services.IMPORTANCE_LABELS.get(code, "")) if code else ""


def points_text(value) -> str:
    """``1``, ``0.5``, ``2.25``: points without trailing zeros."""
    if value is None:
        return ""
    return format(Decimal(value).normalize(), "f")


def stem_excerpt(stem: str, length: int = 140) -> str:
    """A stem on one line, blanks shown as ____, cut at ``length`` characters."""
    text = re.sub(r"[ \t\r\n]+", " ", qtypes.BLANK.sub("____", stem or "")).strip()
    return text if len(text) <= length else text[: length - 1] + "…"


def bar_step(percent) -> int:
    """A share in percent rounded up to the CSS bar classes' steps of 5 (0 … 100)."""
    value = Decimal(percent or 0)
    return int(min(100, max(0, math.ceil(value / 5) * 5)))


def can_edit_bank(actor: Actor, bank) -> bool:
    return actor.can_act_in(bank.org_id, *services.EDITORS)


def _option(option, name: str):
    """A field of an option: a dict in saved versions, an ``OptionData`` in import previews."""
    return option.get(name) if isinstance(option, dict) else getattr(option, name)


def candidate_view(content: ItemVersion | ItemData) -> dict:
    """What a candidate's browser would receive, with options in their original order (a saved
    version or an item of an import preview)."""
    if content.type not in qtypes.REGISTRY:  # an import preview may show an item of an unknown type
        return {"type": content.type, "stem": content.stem}
    view = qtypes.get_type(content.type).candidate_view(content, qtypes.option_keys(content))
    if content.type in ("single", "multiple"):
        for option, original in zip(view["options"], content.options):
            option["pinned"] = bool(_option(original, "pin_last"))
    return view


def answer_lines(content: ItemVersion | ItemData) -> list[str]:
    """The correct answer in words: the chosen options with their text, one line per blank."""
    answer = content.answer
    if content.type in ("single", "multiple"):
        texts = {_option(o, "key"): _option(o, "text") for o in content.options or []}
        keys = [answer] if content.type == "single" else list(answer or [])
        return [f"{key}. {texts.get(key, '?')}" for key in keys if key]
    if content.type == "true_false":
        return [gettext("True (对)") if answer else gettext("False (错)")]
    if content.type == "fill_blank":
        return [gettext("Blank %(n)d: %(answers)s", n=n, answers=" | ".join(alts))
                for n, alts in enumerate(answer or [], start=1)]
    return [answer] if answer else []


def item_filter(args) -> services.ItemFilter:
    def number(name):
        value = args.get(name, type=int)
        return value if value else None

    status = args.get("status", "active")
    return services.ItemFilter(
        text=(args.get("q") or "").strip() or None,
        type=args.get("type") if args.get("type") in qtypes.REGISTRY else None,
        difficulty=number("difficulty"),
        importance=args.get("importance") if args.get("importance") in IMPORTANCE else None,
        status=status if status in ("active", "retired", "all") else "active",
        element_id=number("element"))


def _tree_choices(bank_id: int, points_only: bool) -> list[tuple[int, str]]:
    """(id, indented "code name") in tree order."""
    return [(node.element.id, "\u2003" * node.element.depth + f"{node.element.code} {node.element.name}")
            for root in services.tree(bank_id) for node in root.walk()
            if node.element.is_point or not points_only]


def item_form(form, bank_id: int):
    form.point_id.choices = _tree_choices(bank_id, points_only=True)
    return form


def element_form(form, bank_id: int):
    form.parent_id.choices = [("", gettext("— top level —"))] + [
        (str(value), label) for value, label in _tree_choices(bank_id, points_only=False)]
    return form


def element_input(form) -> services.ElementInput:
    point = form.kind.data == "point"
    return services.ElementInput(name=form.name.data, code=form.code.data,
                                 importance=form.importance.data if point else None,
                                 weight=None if point else form.weight.data,
                                 parent_id=int(form.parent_id.data) if form.parent_id.data else None,
                                 is_point=point)


def upload_form(form, bank_id: int | None, actor: Actor):
    form.format.choices = [("auto", gettext("Recognise from the file"))] + [
        (fmt.name, fmt.label) for fmt in imports.available_formats().values()]
    if bank_id and not form.is_submitted():
        bank = services.get_bank(actor, bank_id, write=True)
        form.occupation_code.data = bank.occupation.code
        form.level.data = str(bank.level)
    return form


def flash_form_errors(form) -> None:
    for field in form:
        for message in field.errors:
            flash(f"{field.label.text}: {message}", "error")
