from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class ReasonForm(FlaskForm):
    """Revoking or reissuing: the reason is recorded and shown in the audit trail."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)],
                           render_kw={"rows": 3})


class IssueForm(FlaskForm):
    """Issue certificates to every enrolment of a session that qualifies (no fields)."""


class BrandingForm(FlaskForm):
    logo = FileField(_l("Logo (PNG, shown above the title)"), render_kw={"accept": "image/png,image/jpeg"})
    seal = FileField(_l("Seal (PNG with a transparent background)"), render_kw={"accept": "image/png"})
    remove_logo = BooleanField(_l("Remove the logo"))
    remove_seal = BooleanField(_l("Remove the seal"))


class ConfirmIdForm(FlaskForm):
    id_number = StringField(_l("ID number of the person in front of you"),
                            validators=[DataRequired(), Length(max=40)],
                            render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "text"})
    k = HiddenField()
    s = HiddenField()


class LookupForm(FlaskForm):
    """A GET form: the answer is a page that can be bookmarked, no token needed."""

    class Meta:
        csrf = False

    number = StringField(_l("Certificate number"), validators=[DataRequired(), Length(max=40)],
                         render_kw={"autocomplete": "off", "spellcheck": "false",
                                    "placeholder": "Y000111010001264000001"})
    name = StringField(_l("Holder's name"), validators=[DataRequired(), Length(max=60)],
                       render_kw={"autocomplete": "off"})


class BulkForm(FlaskForm):
    file = FileField(_l("List of certificates (Excel .xlsx or CSV)"), validators=[Optional()],
                     render_kw={"accept": ".xlsx,.csv,text/csv,application/vnd.openxmlformats-"
                                          "officedocument.spreadsheetml.sheet"})
