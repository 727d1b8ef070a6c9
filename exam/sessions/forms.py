"""Forms of the sessions pages, and turning their input into the services' plain data."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, DateTimeLocalField, DecimalField, FieldList, Form, FormField,
                     HiddenField, IntegerField, SelectField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..accounts.idnumbers import EDUCATION_LEVELS
from ..banks.levels import LEVEL_LABELS
from .models import RELATION_KINDS
from .recusal import KIND_LABELS

COMPONENT_LABELS = {
    "theory": _l("Theory exam"),
    "practical": _l("Practical assessment"),
    "review": _l("Comprehensive review (levels 2 and 1)"),
}
#: What datetime-local inputs send (browsers add seconds when a step below a minute is set).
LOCAL_FORMAT = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


def optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


def level_choices():
    return [(level, label) for level, label in LEVEL_LABELS.items()]


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])


def local_to_utc(value: datetime | None) -> datetime | None:
    """A time typed in the display time zone (Beijing time) → UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=_zone()).astimezone(timezone.utc)


def utc_to_local(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(_zone()).replace(tzinfo=None)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RoomForm(Form):
    id = HiddenField()
    name = StringField(_l("Room name"), validators=[Optional(), Length(max=100)])
    location = StringField(_l("Where"), validators=[Optional(), Length(max=300)])
    capacity = IntegerField(_l("Places"), validators=[Optional(), NumberRange(1, 1000)])
    access_code = StringField(_l("Access code (optional)"), validators=[Optional(), Length(max=32)])
    ip_allowlist = TextAreaField(_l("Allowed networks (optional, one per line)"),
                                 validators=[Optional(), Length(max=2000)],
                                 render_kw={"rows": 2, "placeholder": "192.168.10.0/24"})
    proctors = MultiCheckboxField(_l("Proctors"), coerce=int, choices=[])
    remove = BooleanField(_l("Remove this room"))

    @property
    def is_blank(self) -> bool:
        return not (self.name.data or "").strip() and not self.capacity.data and not self.id.data


class SessionForm(FlaskForm):
    name = StringField(_l("Session name"), validators=[DataRequired(), Length(max=200)],
                       render_kw={"placeholder": _l("e.g. Electrician level 5, March batch")})
    code = StringField(_l("Batch number"), validators=[DataRequired(), Length(max=40)],
                       render_kw={"placeholder": "2026-ELEC5-03", "autocapitalize": "characters"})
    occupation_id = SelectField(_l("Occupation"), coerce=optional_int, choices=[],
                                validators=[InputRequired()])
    level = SelectField(_l("Level"), coerce=int, choices=[], default=5)
    work_type = StringField(_l("Work type or direction (if the occupation has them)"),
                            validators=[Optional(), Length(max=100)])
    components = MultiCheckboxField(_l("Components"), choices=list(COMPONENT_LABELS.items()),
                                    default=["theory", "practical"])
    requires_checkin = BooleanField(_l("Candidates must be checked in by a proctor before they start"),
                                    default=True)
    blueprint_id = SelectField(_l("Paper plan (blueprint)"), coerce=optional_int, choices=[])
    theory_start_at = DateTimeLocalField(_l("Theory exam starts"), format=LOCAL_FORMAT,
                                         validators=[Optional()])
    theory_hard_end_at = DateTimeLocalField(_l("Hard end (optional)"), format=LOCAL_FORMAT,
                                            validators=[Optional()])
    late_entry_minutes = IntegerField(_l("No entry after (minutes from the start)"), default=15,
                                      validators=[InputRequired(), NumberRange(0, 60)])
    earliest_handin_minutes = IntegerField(_l("No hand-in before (minutes)"), default=30,
                                           validators=[InputRequired(), NumberRange(0, 240)])
    practical_spec_version_id = SelectField(_l("Practical task specification"), coerce=optional_int,
                                            choices=[])
    practical_at = DateTimeLocalField(_l("Practical assessment begins"), format=LOCAL_FORMAT,
                                      validators=[Optional()])
    practical_place = StringField(_l("Practical assessment place"), validators=[Optional(), Length(max=300)])
    review_at = DateTimeLocalField(_l("Comprehensive review begins"), format=LOCAL_FORMAT,
                                   validators=[Optional()])
    review_place = StringField(_l("Comprehensive review place"), validators=[Optional(), Length(max=300)])
    enrolment_opens_at = DateTimeLocalField(_l("Enrolment opens"), format=LOCAL_FORMAT,
                                            validators=[Optional()])
    enrolment_closes_at = DateTimeLocalField(_l("Enrolment closes"), format=LOCAL_FORMAT,
                                             validators=[Optional()])
    rooms = FieldList(FormField(RoomForm), min_entries=1)
    supervisors = MultiCheckboxField(_l("Supervisors"), coerce=int, choices=[])
    notes = TextAreaField(_l("Notes (for staff)"), validators=[Optional(), Length(max=4000)],
                          render_kw={"rows": 3})


class DecisionForm(FlaskForm):
    reason = TextAreaField(_l("Reason (required for a rejection; the candidate sees it)"),
                           validators=[Optional(), Length(max=500)], render_kw={"rows": 2})


class AccommodationForm(FlaskForm):
    extra_minutes = IntegerField(_l("Extra minutes"), validators=[Optional(), NumberRange(0, 240)])
    time_multiplier = DecimalField(_l("Or a time multiplier"), places=2,
                                   validators=[Optional(), NumberRange(1, 3)],
                                   render_kw={"step": "0.05", "placeholder": "1.25"})
    accommodation_reason = StringField(_l("Reason"), validators=[Optional(), Length(max=300)])


class PlacementForm(FlaskForm):
    room_id = SelectField(_l("Room"), coerce=optional_int, choices=[])
    seat_no = IntegerField(_l("Seat (empty: the first free seat)"), validators=[Optional(), NumberRange(1, 1000)])


class GroupForm(FlaskForm):
    practical_group = SelectField(_l("Practical group"), coerce=optional_int, choices=[])


class ApplyForm(FlaskForm):
    years_in_occupation = DecimalField(_l("Years working in this occupation"), places=1,
                                       validators=[Optional(), NumberRange(0, 60)],
                                       render_kw={"step": "0.5", "inputmode": "decimal"})
    education = SelectField(_l("Highest education"),
                            choices=[("", _l("— choose —"))] + list(EDUCATION_LEVELS.items()),
                            validators=[Optional()])
    education_in_field = BooleanField(_l("My studies were in this occupation's field or a related one"))
    apprenticeship_completed = BooleanField(_l("I completed an apprenticeship in this occupation"))
    preparatory_technician = BooleanField(_l("I hold a preparatory technician certificate"))
    prior_certificate_number = StringField(_l("Number of the certificate I hold"),
                                           validators=[Optional(), Length(max=40)],
                                           render_kw={"autocomplete": "off", "spellcheck": "false"})
    prior_certificate_level = SelectField(_l("Its level"), coerce=optional_int, validators=[Optional()],
                                          choices=[])
    prior_certificate_occupation = StringField(_l("Its occupation"),
                                               validators=[Optional(), Length(max=100)])
    resit = BooleanField(_l("Sit only the components I failed last time (补考)"))
    pledge = BooleanField(_l("I declare that this information is true; false statements void the "
                             "application and any certificate."),
                          validators=[DataRequired(_l("Please confirm that the information is true."))])

    def evidence(self) -> dict:
        return {name: getattr(self, name).data for name in (
            "years_in_occupation", "education", "education_in_field", "apprenticeship_completed",
            "preparatory_technician", "prior_certificate_number", "prior_certificate_level",
            "prior_certificate_occupation")}


class RosterUploadForm(FlaskForm):
    file = FileField(_l("Roster (Excel .xlsx)"), validators=[DataRequired()],
                     render_kw={"accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})


class RosterConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])


class RelationForm(FlaskForm):
    candidate_id = HiddenField(validators=[DataRequired()])
    kind = SelectField(_l("Relationship"), choices=[(k, KIND_LABELS[k]) for k in RELATION_KINDS])
    note = StringField(_l("Details (optional)"), validators=[Optional(), Length(max=300)],
                       render_kw={"placeholder": _l("e.g. cousin; trained them in 2025")})


class CheckinForm(FlaskForm):
    code = StringField(_l("Ticket number or QR code"), validators=[DataRequired(), Length(max=80)],
                       render_kw={"autocomplete": "off", "inputmode": "text", "spellcheck": "false",
                                  "autocapitalize": "characters"})


# --- parsing what plain HTML inputs send (assessor table, policy editor) --------------------------

def assessor_assignment(formdata, assessor_ids: list[int]) -> tuple[dict[int, int], int | None, list[int]]:
    """(user → group, chief, panelists) from the assessor table's ``group-<id>``, ``chief`` and
    ``panelist-<id>`` inputs. Unknown ids and bad numbers are ignored (the service checks)."""
    groups: dict[int, int] = {}
    panelists = []
    for user_id in assessor_ids:
        value = (formdata.get(f"group-{user_id}") or "").strip()
        if value.isdigit() and int(value) > 0:
            groups[user_id] = int(value)
        if formdata.get(f"panelist-{user_id}"):
            panelists.append(user_id)
    chief = formdata.get("chief") or ""
    chief_id = int(chief) if chief.isdigit() and int(chief) in assessor_ids else None
    return groups, chief_id, panelists


#: Rows of the policy editor: existing alternatives plus this many empty ones.
EXTRA_POLICY_ROWS = 2


def rules_from_form(formdata, rows: int) -> list[list[dict]]:
    """Alternatives from the policy editor (``alt-<n>-<kind>`` inputs); empty rows are skipped."""
    rules = []
    for n in range(rows):
        conditions = []
        years = (formdata.get(f"alt-{n}-years") or "").strip()
        if years:
            try:
                value = float(years)
            except ValueError:
                value = -1
            conditions.append({"years": int(value) if value.is_integer() else value})
        level = (formdata.get(f"alt-{n}-prior_level") or "").strip()
        if level:
            conditions.append({"prior_level": int(level) if level.isdigit() else level})
        education = [e for e in formdata.getlist(f"alt-{n}-education") if e]
        if education:
            conditions.append({"education": education})
        for flag in ("in_field", "apprenticeship", "preparatory_technician"):
            if formdata.get(f"alt-{n}-{flag}"):
                conditions.append({flag: True})
        if conditions:
            rules.append(conditions)
    return rules


def rows_for_editor(rules: list[list[dict]]) -> list[dict]:
    """The alternatives as rows of the editor: ``{kind: value}`` per row, plus empty rows."""
    rows = []
    for alternative in rules:
        row = {}
        for condition in alternative:
            row.update(condition)
        rows.append(row)
    return rows + [{} for _ in range(EXTRA_POLICY_ROWS)]
