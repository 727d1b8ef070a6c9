"""Forms of the scoring pages, and turning plain HTML inputs into the services' data."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional


COMPONENT_LABELS = {
    "theory": _l("Theory exam"),
    "practical": _l("Practical assessment"),
    "review": _l("Comprehensive review"),
}
STATE_LABELS = {
    "passed": _l("Passed"), "failed": _l("Failed"), "absent": _l("Absent (did not sit)"), "pending": _l("Pending"),
}
RULE_LABELS = {
    "mean": _l("Mean of all assessors"),
    "trimmed_mean": _l("Drop the highest and the lowest (5 or more assessors), then the mean"),
}
CHECK_LABELS = {
    "missed_items": _l("Items left unscored (漏评)"),
    "addition": _l("Adding up of points (合分)"),
    "transcription": _l("Transcription of scores (登分)"),
}
DOUBLE_CHOICES = [("", _l("As the paper plan says")), ("1", _l("Yes: two markers")),
                  ("0", _l("No: one marker"))]


class SettingsForm(FlaskForm):
    double_marking = SelectField(_l("Double marking of short answers"), choices=DOUBLE_CHOICES)
    marking_tolerance = StringField(_l("Tolerance between two marks (points)"),
                                    validators=[Optional(), Length(max=10)])
    practical_rule = SelectField(_l("Practical score from the assessors' totals"),
                                 choices=list(RULE_LABELS.items()))
    spread_threshold = StringField(_l("Spread that goes to the chief assessor (points)"),
                                   validators=[Length(max=10)])
    review_file_points = StringField(_l("Review: points of the file review (the defence has the rest)"),
                                     validators=[Length(max=10)])
    resit_days = IntegerField(_l("Days after publication to resit a failed component"),
                              validators=[Optional(), NumberRange(0, 3650)])


class PublishForm(FlaskForm):
    days = IntegerField(_l("Publication period (working days)"), default=5,
                        validators=[Optional(), NumberRange(1, 20)])
    appeal_days = IntegerField(_l("Appeals accepted for (working days, at most 10)"), default=5,
                               validators=[Optional(), NumberRange(1, 10)])
    note = StringField(_l("Note shown with the results (optional)"), validators=[Optional(), Length(max=500)])


class AppealForm(FlaskForm):
    reason = TextAreaField(_l("What should be rechecked, and why"), validators=[Length(max=2000)],
                           render_kw={"rows": 4})


class AnswerForm(FlaskForm):
    missed_items = BooleanField(CHECK_LABELS["missed_items"])
    addition = BooleanField(CHECK_LABELS["addition"])
    transcription = BooleanField(CHECK_LABELS["transcription"])
    answer = TextAreaField(_l("Answer to the candidate"), validators=[Length(max=2000)], render_kw={"rows": 5})
    score_theory = StringField(_l("Corrected theory score"), validators=[Optional(), Length(max=10)])
    score_practical = StringField(_l("Corrected practical score"), validators=[Optional(), Length(max=10)])
    score_review = StringField(_l("Corrected review score"), validators=[Optional(), Length(max=10)])

    def checks(self) -> dict[str, bool]:
        return {kind: bool(getattr(self, kind).data) for kind in CHECK_LABELS}

    def corrections(self) -> dict[str, str]:
        return {c: getattr(self, f"score_{c}").data for c in COMPONENT_LABELS if getattr(self, f"score_{c}").data}


class AbsenceForm(FlaskForm):
    component = SelectField(_l("Component"), choices=list(COMPONENT_LABELS.items()))
    reason = StringField(_l("Reason"), validators=[Length(max=300)])


def sheet_entries(formdata, items: list[dict]) -> dict[str, dict]:
    """The sheet's inputs (``deduction-<code>`` or ``points-<code>``, ``veto-<code>``) as entries."""
    entries: dict[str, dict] = {}
    for item in items:
        code = item["code"]
        entry = {}
        for kind in ("points", "deduction"):
            value = (formdata.get(f"{kind}-{code}") or "").strip()
            if value:
                entry[kind] = value
        if item.get("veto"):
            entry["veto"] = formdata.get(f"veto-{code}") in ("1", "on", "true")
        entries[code] = entry
    return entries


def veto_decisions(formdata, codes: list[str]) -> dict[str, bool]:
    """``veto-<code>`` = ``confirm`` or ``deny`` for each disputed veto item."""
    decisions = {}
    for code in codes:
        value = formdata.get(f"veto-{code}")
        if value in ("confirm", "deny"):
            decisions[code] = value == "confirm"
    return decisions
