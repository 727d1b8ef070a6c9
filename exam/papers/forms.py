"""Forms of the papers pages: the blueprint editor and the practical spec editor.

Both work without JavaScript: the blueprint form has one row per question type and one per
area; the practical editor shows the existing rows plus blank ones (JavaScript adds more).
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, DecimalField, FieldList, Form, FormField, HiddenField, IntegerField,
                     SelectField, StringField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .assembly import QUESTION_TYPES, BlueprintSpec, Section, SpecError, fmt

MODE_LABELS = {"random": _l("One random paper per candidate"),
               "fixed_ab": _l("Fixed A/B papers, shuffled per candidate")}
STATUS_LABELS = {"draft": _l("Draft"), "ready": _l("Ready"), "locked": _l("In use (locked)"),
                 "archived": _l("Archived")}
TYPE_LABELS = {"single": _l("Single choice"), "multiple": _l("Multiple choice"),
               "true_false": _l("True or false"), "fill_blank": _l("Fill in the blank"),
               "short_answer": _l("Short answer")}
DEFAULT_TITLES = {"single": "单项选择题", "multiple": "多项选择题", "true_false": "判断题",
                  "fill_blank": "填空题", "short_answer": "简答题"}
DIFFICULTY_LABELS = {1: _l("1 easy"), 2: _l("2 fairly easy"), 3: _l("3 medium"), 4: _l("4 fairly hard"),
                     5: _l("5 hard")}
LEVELS = [(5, _l("Level 5 / basic")), (4, _l("Level 4 / intermediate")), (3, _l("Level 3 / advanced")),
          (2, _l("Level 2 / technician")), (1, _l("Level 1 / senior technician"))]


class SectionForm(Form):
    qtype = HiddenField()
    count = IntegerField(_l("Items"), validators=[Optional(), NumberRange(0, 1000)])
    points = DecimalField(_l("Points each"), places=None, validators=[Optional(), NumberRange(0, 100)])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=60)])
    order = IntegerField(_l("Order"), validators=[Optional(), NumberRange(1, 9)])


class ShareForm(Form):
    code = HiddenField()
    percent = DecimalField(_l("Share"), places=None, validators=[Optional(), NumberRange(0, 100)])


class BlueprintForm(FlaskForm):
    name = StringField(_l("Blueprint name"), validators=[DataRequired(), Length(max=200)])
    mode = SelectField(_l("Papers"), choices=list(MODE_LABELS.items()), default="random")
    duration_minutes = IntegerField(_l("Duration (minutes)"), default=90,
                                    validators=[DataRequired(), NumberRange(1, 600)])
    pass_mark = DecimalField(_l("Pass mark"), places=None, default=Decimal(60),
                             validators=[DataRequired(), NumberRange(0, 1000)])
    total_points = DecimalField(_l("Total points"), places=None, default=Decimal(100),
                                validators=[DataRequired(), NumberRange(0, 1000)])
    cover_all_x = BooleanField(_l("Cover every core (X) assessment point"), default=True)
    shuffle_items = BooleanField(_l("Shuffle items within each section"), default=True)
    shuffle_options = BooleanField(_l("Shuffle options (options marked “keep last” stay last)"), default=True)
    sections = FieldList(FormField(SectionForm), min_entries=0)
    shares = FieldList(FormField(ShareForm), min_entries=0)
    d1 = DecimalField(DIFFICULTY_LABELS[1], places=None, validators=[Optional(), NumberRange(0, 100)])
    d2 = DecimalField(DIFFICULTY_LABELS[2], places=None, validators=[Optional(), NumberRange(0, 100)])
    d3 = DecimalField(DIFFICULTY_LABELS[3], places=None, validators=[Optional(), NumberRange(0, 100)])
    d4 = DecimalField(DIFFICULTY_LABELS[4], places=None, validators=[Optional(), NumberRange(0, 100)])
    d5 = DecimalField(DIFFICULTY_LABELS[5], places=None, validators=[Optional(), NumberRange(0, 100)])

    def difficulty_fields(self):
        return [self.d1, self.d2, self.d3, self.d4, self.d5]


def _plain(value: Decimal) -> Decimal:
    """``Decimal("5.00")`` → ``Decimal("5")``, so inputs show 5, not 5.00."""
    return Decimal(fmt(Decimal(value)))


def prepare_blueprint_form(form: BlueprintForm, areas: list[dict], spec: BlueprintSpec | None,
                           default_shares: dict, *, fill: bool) -> None:
    """Give the form one section row per question type and one share row per area.

    ``fill``: also set the values from ``spec`` (a GET); on a POST the submitted values stay.
    """
    if fill and form.pass_mark.data is not None:
        form.pass_mark.data = _plain(form.pass_mark.data)
    if fill and spec is not None:
        form.total_points.data = _plain(spec.total_points)
        form.cover_all_x.data = spec.cover_all_x
        form.shuffle_items.data = spec.shuffle_items
        form.shuffle_options.data = spec.shuffle_options
        for d, field in enumerate(form.difficulty_fields(), start=1):
            value = (spec.difficulty_mix or {}).get(d) if spec.difficulty_mix is not None else None
            field.data = _plain(value) if value is not None else None
    if fill or not form.sections.entries:
        while form.sections.entries:
            form.sections.pop_entry()
        by_type = {s.type: (n, s) for n, s in enumerate(spec.sections)} if spec else {}
        for qtype in QUESTION_TYPES:
            entry = form.sections.append_entry()
            entry.qtype.data = qtype
            if qtype in by_type:
                n, section = by_type[qtype]
                entry.count.data, entry.points.data = section.count, _plain(section.points)
                entry.title.data, entry.order.data = section.title, n + 1
            else:
                entry.title.data = DEFAULT_TITLES[qtype]
    if fill or not form.shares.entries:
        while form.shares.entries:
            form.shares.pop_entry()
        shares = (spec.area_shares if spec and spec.area_shares else default_shares) or {}
        for area in areas:
            entry = form.shares.append_entry()
            entry.code.data = area["code"]
            value = shares.get(area["code"])
            entry.percent.data = _plain(Decimal(str(value))) if value is not None else None


def spec_from_form(form: BlueprintForm) -> BlueprintSpec:
    """The plan the form describes. Rows with no items are left out.

    :raise SpecError: a section with items but no points (the view shows it at the row).
    """
    rows = []
    for n, entry in enumerate(form.sections.entries):
        count = entry.count.data or 0
        if count <= 0 or entry.qtype.data not in QUESTION_TYPES:
            continue
        if entry.points.data is None:
            entry.points.errors = list(entry.points.errors) + [str(_l("Give the points per item."))]
            raise SpecError("points missing")
        order = entry.order.data or (n + 1)
        rows.append((order, n, Section(entry.qtype.data, count, entry.points.data, (entry.title.data or "").strip())))
    rows.sort(key=lambda r: (r[0], r[1]))
    shares = {e.code.data: e.percent.data for e in form.shares.entries if e.percent.data}
    mix_values = [f.data for f in form.difficulty_fields()]
    mix = None if all(v is None for v in mix_values) else \
        {d: (v or Decimal(0)) for d, v in enumerate(mix_values, start=1) if v}
    return BlueprintSpec(sections=tuple(r[2] for r in rows), area_shares=shares, difficulty_mix=mix,
                         cover_all_x=form.cover_all_x.data, shuffle_items=form.shuffle_items.data,
                         shuffle_options=form.shuffle_options.data, total_points=form.total_points.data)


# --- practical specifications --------------------------------------------------------------------

class PracticalUploadForm(FlaskForm):
    file = FileField(_l("Specification file (skillcert-practical/1 YAML)"),
                     render_kw={"accept": ".yaml,.yml,text/yaml"})


class PracticalForm(FlaskForm):
    """``choose``; the tasks are rows parsed by ``practical_content_from_form``."""

    choose = IntegerField(_l("Optional tasks each candidate takes"), default=0,
                          validators=[Optional(), NumberRange(0, 20)])


class NewPracticalForm(PracticalForm):
    occupation_code = SelectField(_l("Occupation"), choices=[], validators=[DataRequired()])
    level = SelectField(_l("Level"), choices=LEVELS, coerce=int, default=5)


def _number(text: str):
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text  # the validator reports it at its row
    return int(value) if value == value.to_integral_value() else float(value)


_TASK_KEY = re.compile(r"^tasks-(\d+)-")
_ITEM_KEY = re.compile(r"^tasks-(\d+)-sheet-(\d+)-")


def practical_content_from_form(data, choose: int | None) -> dict:
    """Tasks and sheet items from the editor's rows (``tasks-0-title``,
    ``tasks-0-sheet-2-max_points`` …), in row order; wholly blank rows are ignored."""
    task_rows = sorted({int(m.group(1)) for key in data if (m := _TASK_KEY.match(key))})
    item_rows: dict[int, set[int]] = {}
    for key in data:
        if m := _ITEM_KEY.match(key):
            item_rows.setdefault(int(m.group(1)), set()).add(int(m.group(2)))
    tasks = []
    for t in task_rows:
        prefix = f"tasks-{t}-"
        sheet = []
        for i in sorted(item_rows.get(t, ())):
            item_prefix = f"{prefix}sheet-{i}-"
            row = {
                "code": data.get(item_prefix + "code", "").strip(),
                "description": data.get(item_prefix + "description", "").strip(),
                "max_points": _number(data.get(item_prefix + "max_points", "")),
                "criteria": data.get(item_prefix + "criteria", "").strip(),
                "veto": data.get(item_prefix + "veto") in ("y", "on", "true", "1"),
                "veto_rule": data.get(item_prefix + "veto_rule", "").strip() or None,
            }
            if row["veto"] or any(v not in (None, "") for k, v in row.items() if k != "veto"):
                sheet.append(row)
        task = {
            "code": data.get(prefix + "code", "").strip(),
            "title": data.get(prefix + "title", "").strip(),
            "required": data.get(prefix + "required", "1") == "1",
            "weight": _number(data.get(prefix + "weight", "")),
            "minutes": _number(data.get(prefix + "minutes", "")),
            "sheet": sheet,
        }
        if task["code"] or task["title"] or task["weight"] is not None or task["minutes"] is not None or sheet:
            tasks.append(task)
    return {"choose": choose or 0, "tasks": tasks}


def practical_rows(content: dict, blank_tasks: int = 1, blank_items: int = 2) -> list[dict]:
    """Rows for the editor: the content's tasks and items plus blank ones to fill in."""
    blank_item = {"code": "", "description": "", "max_points": "", "criteria": "", "veto": False, "veto_rule": ""}
    tasks = []
    for task in content.get("tasks", []):
        tasks.append({**task, "sheet": list(task.get("sheet", [])) + [dict(blank_item) for _ in range(blank_items)]})
    for _ in range(blank_tasks):
        tasks.append({"code": "", "title": "", "required": True, "weight": "", "minutes": "",
                      "sheet": [dict(blank_item) for _ in range(blank_items + 2)]})
    return tasks
