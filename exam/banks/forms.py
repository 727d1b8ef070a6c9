"""Forms of the bank pages. ``ItemForm`` fits every question type: the page shows the fields of
the chosen type (banks.js), and ``content()`` turns the form into interchange ``ItemData``."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, DecimalField, RadioField, SelectField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from .interchange import OPTION_KEYS, ItemData, OptionData
from .qtypes import REGISTRY

LEVEL_CHOICES = [(5, _l("Level 5 / basic")), (4, _l("Level 4 / intermediate")), (3, _l("Level 3 / advanced")),
                 (2, _l("Level 2 / technician")), (1, _l("Level 1 / senior technician"))]
IMPORTANCE_CHOICES = [("X", _l("X core")), ("Y", _l("Y general")), ("Z", _l("Z auxiliary"))]
DIFFICULTY_CHOICES = [(1, _l("1 easiest")), (2, "2"), (3, _l("3 medium")), (4, "4"), (5, _l("5 hardest"))]


def type_choices():
    return [(name, qtype.label) for name, qtype in REGISTRY.items()]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NewBankForm(FlaskForm):
    occupation_code = StringField(_l("Occupation code"), validators=[DataRequired(), Length(max=20)],
                                  render_kw={"list": "occupation-codes", "placeholder": "6-31-01-03",
                                             "autocomplete": "off"})
    occupation_name = StringField(_l("Occupation name (only for an occupation new to the platform)"),
                                  validators=[Optional(), Length(max=100)])
    occupation_name_en = StringField(_l("English name (optional)"), validators=[Optional(), Length(max=200)])
    level = SelectField(_l("Level"), choices=LEVEL_CHOICES, coerce=int, default=5)
    name = StringField(_l("Bank name (optional)"), validators=[Optional(), Length(max=200)])


class ElementForm(FlaskForm):
    parent_id = SelectField(_l("Under"), coerce=str, validators=[Optional()])
    kind = RadioField(_l("Kind"), choices=[("point", _l("Assessment point")), ("area", _l("Area"))],
                      default="point")
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)], render_kw={"placeholder": "2.3.1"})
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    importance = SelectField(_l("Importance (points)"), choices=IMPORTANCE_CHOICES, default="Y")
    weight = DecimalField(_l("Weight in % (areas)"), places=2, validators=[Optional(), NumberRange(0, 100)])


class ElementEditForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    importance = SelectField(_l("Importance"), choices=IMPORTANCE_CHOICES, validators=[Optional()])
    weight = DecimalField(_l("Weight in %"), places=2, validators=[Optional(), NumberRange(0, 100)])


class ItemForm(FlaskForm):
    point_id = SelectField(_l("Assessment point"), coerce=int)
    type = SelectField(_l("Question type"), choices=type_choices, default="single")
    stem = TextAreaField(_l("Stem (题干)"), validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 4})
    stem_image = FileField(_l("Stem image (PNG, JPEG, GIF or WebP, at most 2 MB; optional)"),
                           render_kw={"accept": "image/png,image/jpeg,image/gif,image/webp"})
    remove_image = BooleanField(_l("Remove the current image"))
    answer_single = RadioField(_l("Correct answer"), choices=[(k, k) for k in OPTION_KEYS],
                               validators=[Optional()], validate_choice=False)
    answer_multiple = MultiCheckboxField(_l("Correct answers"), choices=[(k, k) for k in OPTION_KEYS],
                                         validate_choice=False)
    partial = BooleanField(_l("Partial credit: fewer correct choices earn their share, a wrong one earns 0"))
    answer_true_false = RadioField(_l("Correct answer"), choices=[("true", _l("True (对)")),
                                                                  ("false", _l("False (错)"))],
                                   validators=[Optional()], validate_choice=False)
    blanks = TextAreaField(_l("Accepted answers: one line per blank, alternatives separated by |"),
                           validators=[Optional(), Length(max=5000)], render_kw={"rows": 3, "placeholder": "安培|A\n伏特|V"})
    case_sensitive = BooleanField(_l("Upper and lower case must match"))
    reference = TextAreaField(_l("Reference answer (for assessors)"), validators=[Optional(), Length(max=10000)],
                              render_kw={"rows": 4})
    points = DecimalField(_l("Default points"), places=2, validators=[Optional(), NumberRange(0, 100)])
    difficulty = SelectField(_l("Difficulty"), choices=DIFFICULTY_CHOICES, coerce=int, default=3)
    explanation = TextAreaField(_l("Explanation (shown after the exam)"), validators=[Optional(), Length(max=5000)],
                                render_kw={"rows": 3})


for _key in OPTION_KEYS:
    setattr(ItemForm, f"option_{_key}", StringField(_l("Option %(key)s", key=_key),
                                                    validators=[Optional(), Length(max=1000)]))
    setattr(ItemForm, f"pin_{_key}", BooleanField(_l("Keep last")))


def option_fields(form: ItemForm) -> list[tuple[str, object, object]]:
    """(key, text field, pin field) for A … F."""
    return [(key, form[f"option_{key}"], form[f"pin_{key}"]) for key in OPTION_KEYS]


def content(form: ItemForm) -> ItemData:
    """The item as the form describes it, in the interchange form (the service validates it)."""
    type_ = form.type.data
    item = ItemData(type=type_, stem=(form.stem.data or "").replace("\r\n", "\n").strip(),
                    points=form.points.data, difficulty=form.difficulty.data,
                    explanation=(form.explanation.data or "").replace("\r\n", "\n").strip() or None)
    if type_ in ("single", "multiple"):
        item.options = [OptionData(key, field.data.strip(), bool(pin.data))
                        for key, field, pin in option_fields(form) if (field.data or "").strip()]
    if type_ == "single":
        item.answer = form.answer_single.data or None
    elif type_ == "multiple":
        item.answer = sorted(form.answer_multiple.data or [])
        if form.partial.data:
            item.config["scoring"] = "partial"
    elif type_ == "true_false":
        item.answer = {"true": True, "false": False}.get(form.answer_true_false.data)
    elif type_ == "fill_blank":
        item.answer = [[a.strip() for a in line.split("|") if a.strip()]
                       for line in (form.blanks.data or "").splitlines() if line.strip()]
        if form.case_sensitive.data:
            item.config["case_sensitive"] = True
    else:
        item.answer = (form.reference.data or "").replace("\r\n", "\n").strip() or None
    if form.stem_image.data:
        data = form.stem_image.data.read()
        if data:
            item.stem_image = (form.stem_image.data.mimetype or "", data)
    return item


def fill(form: ItemForm, item: ItemData, point_id: int) -> None:
    """Put an item's content into the form (editing)."""
    form.point_id.data = point_id
    form.type.data = item.type
    form.stem.data = item.stem
    form.points.data = item.points
    form.difficulty.data = item.difficulty
    form.explanation.data = item.explanation
    for option in item.options:
        form[f"option_{option.key}"].data = option.text
        form[f"pin_{option.key}"].data = option.pin_last
    if item.type == "single":
        form.answer_single.data = item.answer
    elif item.type == "multiple":
        form.answer_multiple.data = list(item.answer or [])
        form.partial.data = item.config.get("scoring") == "partial"
    elif item.type == "true_false":
        form.answer_true_false.data = "true" if item.answer else "false"
    elif item.type == "fill_blank":
        form.blanks.data = "\n".join("|".join(alts) for alts in item.answer or [])
        form.case_sensitive.data = bool(item.config.get("case_sensitive"))
    else:
        form.reference.data = item.answer


class UploadForm(FlaskForm):
    file = FileField(_l("Question-bank file"), validators=[DataRequired(_l("Choose a file to upload."))])
    format = SelectField(_l("Format"), default="auto")
    occupation_code = StringField(_l("Occupation code (for files that do not name one)"),
                                  validators=[Optional(), Length(max=20)],
                                  render_kw={"list": "occupation-codes", "autocomplete": "off"})
    level = SelectField(_l("Level (for files that do not name one)"),
                        choices=[("", _l("— from the file —"))] + [(str(v), l) for v, l in LEVEL_CHOICES],
                        validators=[Optional()])
    skip_unsupported = BooleanField(_l("Import the rest when some questions are of types SkillCert does not have"))


class ConfirmForm(FlaskForm):
    skip_unsupported = BooleanField(_l("Skip the unsupported questions and import the rest"))
