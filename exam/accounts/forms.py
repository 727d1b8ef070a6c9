from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, IntegerField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..core.auth import ORG_ROLES
from .idnumbers import EDUCATION_LEVELS, ID_TYPES

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "bank_editor": _l("Question-bank editor"),
    "proctor": _l("Proctor"),
    "assessor": _l("Assessor"),
    "supervisor": _l("Supervisor"),
    "candidate": _l("Candidate"),
    "regulator": _l("Regulator (read-only)"),
}


class LoginForm(FlaskForm):
    login = StringField(_l("Phone number or username"), validators=[DataRequired(), Length(max=64)],
                        render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Keep me signed in on this device"))
    next = HiddenField()


class RegistrationForm(FlaskForm):
    real_name = StringField(_l("Real name (as on your ID)"), validators=[DataRequired(), Length(max=50)],
                            render_kw={"autocomplete": "name"})
    id_type = SelectField(_l("ID type"), choices=list(ID_TYPES.items()), default="resident_id")
    id_number = StringField(_l("ID number"), validators=[DataRequired(), Length(max=40)],
                            render_kw={"autocomplete": "off", "spellcheck": "false"})
    phone = StringField(_l("Mobile phone"), validators=[DataRequired(), Length(max=20)],
                        render_kw={"autocomplete": "tel", "inputmode": "numeric"})
    username = StringField(_l("Username (optional)"), validators=[Optional(), Length(max=64)],
                           render_kw={"autocomplete": "username"})
    education = SelectField(_l("Highest education"),
                            choices=[("", _l("— choose —"))] + list(EDUCATION_LEVELS.items()),
                            validators=[Optional()])
    employer = StringField(_l("Employer (optional)"), validators=[Optional(), Length(max=200)])
    org_code = SelectField(_l("Assessment body"), validators=[Optional()], choices=[])
    photo = FileField(_l("Photo (1-inch, white background, JPEG or PNG, at most 2 MB)"),
                      render_kw={"accept": "image/jpeg,image/png"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=200)],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))],
                            render_kw={"autocomplete": "new-password"})
    pledge = BooleanField(_l("I confirm these details are true and belong to me."),
                          validators=[DataRequired(_l("Please confirm your details are true."))])


class ChooseOrganisationForm(FlaskForm):
    org_id = HiddenField(validators=[DataRequired()])
    next = HiddenField()


class LanguageForm(FlaskForm):
    lang = HiddenField(validators=[DataRequired()])
    next = HiddenField()


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=200)],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("new_password", _l("The passwords differ."))],
                            render_kw={"autocomplete": "new-password"})


class OwnPasswordForm(FlaskForm):
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=200)],
                                 render_kw={"autocomplete": "new-password", "autofocus": True})
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("new_password", _l("The passwords differ."))],
                            render_kw={"autocomplete": "new-password"})
    next = HiddenField()


class PhotoForm(FlaskForm):
    photo = FileField(_l("New photo"), validators=[DataRequired()],
                      render_kw={"accept": "image/jpeg,image/png"})


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class StaffUserForm(FlaskForm):
    real_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=50)])
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    phone = StringField(_l("Mobile phone (optional)"), validators=[Optional(), Length(max=20)])
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(min=8, max=200)],
                             render_kw={"autocomplete": "new-password"})
    roles = MultiCheckboxField(_l("Roles"), choices=[(r, ROLE_LABELS[r]) for r in ORG_ROLES if r != "candidate"])
    qualification_level = IntegerField(_l("Assessor's own skill level (1–5)"),
                                       validators=[Optional(), NumberRange(1, 5)])


class RolesForm(FlaskForm):
    roles = MultiCheckboxField(_l("Roles"), choices=[(r, ROLE_LABELS[r]) for r in ORG_ROLES])
    qualification_level = IntegerField(_l("Assessor's own skill level (1–5)"),
                                       validators=[Optional(), NumberRange(1, 5)])


class OrganisationForm(FlaskForm):
    name = StringField(_l("Registered name"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("English name"), validators=[Optional(), Length(max=200)])
    kind = SelectField(_l("Kind (certificate number position 1)"),
                       choices=[("Y", _l("Y — employer")), ("S", _l("S — social training and assessment organisation"))])
    body_code = StringField(_l("Body code (positions 2–5)"), validators=[DataRequired(), Length(min=4, max=4)])
    province_code = StringField(_l("Province code (positions 6–7)"), validators=[DataRequired(), Length(min=2, max=2)])
    site_code = StringField(_l("Site serial (positions 8–13)"), validators=[DataRequired(), Length(min=6, max=6)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=32)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    open_registration = BooleanField(_l("Candidates may register with this body"))
