"""Helpers shared by the domains' WTForms."""
from __future__ import annotations

from flask_wtf import FlaskForm

from .errors import DomainError


def apply_problems(form: FlaskForm, error: DomainError) -> list[str]:
    """Attach a service's problems to the form fields they name.

    Returns the messages that belong to no field (shown above the form).
    """
    general = []
    for problem in error.problems:
        field = getattr(form, problem.location, None) if problem.location else None
        if field is not None and hasattr(field, "errors"):
            if not isinstance(field.errors, list):
                field.errors = list(field.errors)
            field.errors.append(problem.message)
        else:
            general.append(str(problem))
    if not error.problems:
        general.append(error.message)
    return general
