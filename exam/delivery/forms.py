from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import Length, Optional


class StartForm(FlaskForm):
    access_code = StringField(_l("Access code"), validators=[Optional(), Length(max=32)],
                              render_kw={"autocomplete": "off", "autocapitalize": "characters",
                                         "spellcheck": "false"})
    pledge = BooleanField(_l("I have read the exam rules and accept the integrity pledge: I will "
                             "answer on my own, without help, materials or other devices."))
