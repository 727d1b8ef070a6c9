"""Domain errors.

Services raise these; the handlers registered in ``register_error_handlers`` turn
them into a friendly page for browsers or a JSON body for the API, with the right
status code. Messages are already translated (services use ``gettext``) and are
safe to show to the user.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Problem:
    """One thing wrong with an input, and where it is (``"row 12, 答案"``, ``"line 40"``)."""

    message: str
    location: str | None = None

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message

    def as_dict(self) -> dict:
        return {"message": self.message, "location": self.location}


class DomainError(Exception):
    """Base of every error a service may raise on purpose."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, problems: list[Problem] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.problems: list[Problem] = list(problems or [])

    def as_dict(self) -> dict:
        body = {"error": self.code, "message": self.message}
        if self.problems:
            body["problems"] = [p.as_dict() for p in self.problems]
        return body


class ValidationFailed(DomainError):
    """The input is wrong; ``problems`` says where."""

    status = 422
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    """The object is not in a state that allows this (already submitted, already signed…)."""

    status = 409
    code = "conflict"


class Gone(DomainError):
    """The window for this action has closed (deadline passed, appeal period over)."""

    status = 410
    code = "gone"


@dataclass
class ProblemList:
    """Collects problems and raises them all at once (all-or-nothing validation)."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, message: str, location: str | None = None) -> None:
        self.problems.append(Problem(message, location))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def __len__(self) -> int:
        return len(self.problems)

    def raise_if_any(self, summary: str) -> None:
        if self.problems:
            raise ValidationFailed(summary, problems=self.problems)
